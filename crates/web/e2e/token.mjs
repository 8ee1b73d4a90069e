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

import { check, finish, inBrowser } from './harness.mjs';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node token.mjs URL TOKEN');
  process.exit(2);
}

await inBrowser(async (page) => {
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
  // Drawn once the picture's answer (asked again with the token) is rendered.
  await page
    .waitForFunction(() => window.__tidewatch.vesselCount() > 0)
    .catch(() => {});
  const vessels = await page.evaluate(() => window.__tidewatch.vesselCount());
  check('vessels are listed with the token', vessels > 0, `${vessels} vessels`);
});
finish();
