// What the browser checks share: the `ok`/`not ok` report and headless Debian Chromium
// (playwright-core) in a fresh profile.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long each wait may take (TIDEWATCH_E2E_TIMEOUT_MS, default 60000). */
export const timeout = Number(process.env.TIDEWATCH_E2E_TIMEOUT_MS || 60000);

const results = [];

/** Records and prints one check; returns `ok`. */
export function check(name, ok, detail) {
  results.push({ name, ok });
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`);
  return ok;
}

/** Runs `body(page)` in a fresh headless browser (TIDEWATCH_E2E_CHROMIUM, default
 * /usr/bin/chromium); an exception is a failed check. */
export async function inBrowser(body) {
  const profile = mkdtempSync(join(tmpdir(), 'tidewatch-e2e-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.TIDEWATCH_E2E_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        '--no-sandbox',
        '--use-angle=swiftshader',
        '--enable-unsafe-swiftshader',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(timeout);
    await body(page);
  } catch (e) {
    check('run completed', false, e.message.split('\n')[0]);
  } finally {
    if (context) await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Prints `N passed, N failed` and exits 1 on any failure. */
export function finish() {
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
