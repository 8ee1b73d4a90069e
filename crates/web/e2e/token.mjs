#!/usr/bin/env node
// The web map on a server that needs tokens, opened without one (issue 21), in headless Debian
// Chromium (playwright-core).
//
// usage: node token.mjs URL TOKEN
// env:   TIDEWATCH_E2E_TIMEOUT_MS  how long each wait may take (default 60000)
//        TIDEWATCH_E2E_CHROMIUM    the browser (default /usr/bin/chromium)
//
// Answers the page's token prompt with TOKEN and checks: the page asks once, however many of
// its first requests were refused together; the live stream, refused before the token, then
// connects with it; vessels are listed. Prints one `ok`/`not ok` line per check and
// `N passed, N failed`; exits 1 on any failure.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node token.mjs URL TOKEN');
  process.exit(2);
}
const timeout = Number(process.env.TIDEWATCH_E2E_TIMEOUT_MS || 60000);
const executablePath = process.env.TIDEWATCH_E2E_CHROMIUM || '/usr/bin/chromium';

const results = [];
function check(name, ok, detail) {
  results.push({ name, ok });
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`);
  return ok;
}

const profile = mkdtempSync(join(tmpdir(), 'tidewatch-e2e-token-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
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
  let prompts = 0;
  page.on('dialog', (d) => {
    prompts += 1;
    d.accept(token);
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__tidewatch && window.__tidewatch.ready());
  const live = await page
    .waitForFunction(() => document.getElementById('status-conn').textContent === 'live')
    .then(() => true, () => false);
  const conn = await page.evaluate(() => document.getElementById('status-conn').textContent);
  check('the live stream connects with the token typed', live, `status ${conn}`);
  check('the page asks for the token once', prompts === 1, `${prompts} prompt(s)`);
  const vessels = await page.evaluate(() => window.__tidewatch.vesselCount());
  check('vessels are listed with the token', vessels > 0, `${vessels} vessels`);
} catch (e) {
  check('the page runs', false, e.message.split('\n')[0]);
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
