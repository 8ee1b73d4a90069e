#!/usr/bin/env node
// Browser end-to-end test of the Tidewatch web map, in headless Debian Chromium (playwright-core).
//
// usage: node run.mjs URL SCREENSHOT_PATH
// env:   TIDEWATCH_E2E_EVENT       event type that must appear in the feed (default escort)
//        TIDEWATCH_E2E_TIMEOUT_MS  how long each wait may take (default 60000)
//        TIDEWATCH_E2E_CHROMIUM    the browser (default /usr/bin/chromium)
//
// Checks, in order: the page loads with no console errors; vessels render (MapLibre's rendered
// features); clicking a drawn vessel opens its panel with its MMSI; an event of the given type
// appears in the feed and clicking it opens one of its vessels, with its track around the
// event; moving the replay slider
// changes the picture (positions at T differ from live) and Live returns; a screenshot is saved.
// Prints one `ok`/`not ok` line per check and `N passed, N failed`; exits 1 on any failure.

import { check, finish, inBrowser, timeout } from './harness.mjs';

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node run.mjs URL SCREENSHOT_PATH');
  process.exit(2);
}
const eventType = process.env.TIDEWATCH_E2E_EVENT || 'escort';

const consoleErrors = [];
await inBrowser(async (page) => {
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
  const hook = (expr) => page.evaluate(expr);

  // 1. loads
  const started = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__tidewatch && window.__tidewatch.ready());
  check('page loads and the map starts', true, `${Date.now() - started} ms`);
  check('no vessel panel before a vessel is chosen', !(await page.locator('[data-testid=vessel-panel]').isVisible()));

  // 2. vessels render
  await page.waitForFunction(() => window.__tidewatch.vesselCount() > 0);
  const drawn = await hook(() => window.__tidewatch.vesselCount());
  const live = await hook(() => window.__tidewatch.liveCount());
  check('vessels render', drawn > 0, `${drawn} drawn of ${live} in the live picture`);

  // 3. click a drawn vessel (a real mouse click on the canvas); vessels move, so retry
  const mapBox = await page.locator('#map').boundingBox();
  let clicked = null;
  for (let attempt = 0; attempt < 6 && clicked === null; attempt += 1) {
    const candidates = await hook(() => window.__tidewatch.renderedVessels());
    const inside = candidates.filter((v) => v.x > mapBox.x + 60 && v.x < mapBox.x + mapBox.width - 380
      && v.y > mapBox.y + 60 && v.y < mapBox.y + mapBox.height - 140);
    const target = (inside.length ? inside : candidates)[attempt % Math.max(1, (inside.length ? inside : candidates).length)];
    if (!target) break;
    await page.mouse.click(target.x, target.y);
    try {
      await page.waitForFunction((m) => {
        const panel = document.querySelector('[data-testid=vessel-panel]');
        return panel && panel.checkVisibility() && document.querySelector('[data-testid=vessel-mmsi]').textContent === String(m)
          && !/Loading/.test(document.querySelector('#vessel-body').textContent);
      }, target.mmsi, { timeout: 5000 });
      clicked = target.mmsi;
    } catch (_) {
      // moved away from the click or another vessel was nearer: try again
    }
  }
  check('clicking a vessel opens its panel with its MMSI', clicked !== null, clicked === null ? 'no click hit' : `MMSI ${clicked}`);

  // 3b. search by MMSI finds a vessel and Enter opens it
  const anyMmsi = clicked ?? Number(Object.keys(await hook(() => window.__tidewatch.livePositions()))[0]);
  await page.locator('[data-testid=vessel-close]').click();
  await page.locator('[data-testid=search-input]').fill(String(anyMmsi));
  let found = false;
  try {
    await page.locator(`[data-testid=search-result][data-mmsi="${anyMmsi}"]`).waitFor({ state: 'visible', timeout: 10000 });
    await page.keyboard.press('Enter');
    await page.waitForFunction((m) => document.querySelector('[data-testid=vessel-panel]').checkVisibility()
      && document.querySelector('[data-testid=vessel-mmsi]').textContent === String(m), anyMmsi, { timeout: 10000 });
    found = true;
  } catch (_) {
    found = false;
  }
  check('searching an MMSI finds the vessel and opens it', found, `MMSI ${anyMmsi}`);

  // 4. an event of the given type appears in the feed; clicking it opens one of its vessels
  const item = page.locator(`[data-testid=event-item][data-type="${eventType}"]`).first();
  let eventSeen = false;
  try {
    await item.waitFor({ state: 'visible' });
    eventSeen = true;
  } catch (_) {
    eventSeen = false;
  }
  check(`an ${eventType} event appears in the feed`, eventSeen);
  if (eventSeen) {
    // The feed re-renders as events arrive: click this event by its id, not whichever item
    // is first by then (a newer escort, with other vessels).
    const id = await item.getAttribute('data-id');
    const mmsis = (await item.getAttribute('data-mmsis')) || '';
    await page.locator('[data-testid=vessel-close]').click();
    await page.waitForFunction(() => !document.querySelector('[data-testid=vessel-panel]').checkVisibility());
    await page.locator(`[data-testid=event-item][data-id="${id}"]`).click();
    let opened = false;
    try {
      await page.waitForFunction((list) => {
        const m = document.querySelector('[data-testid=vessel-mmsi]').textContent;
        return document.querySelector('[data-testid=vessel-panel]').checkVisibility() && list.split(',').includes(m);
      }, mmsis, { timeout: 10000 });
      opened = true;
    } catch (_) {
      opened = false;
    }
    check('clicking the event opens one of its vessels', opened, `vessels ${mmsis}`);
    // Its track is shown around the event (which may lie anywhere in the history).
    let around = false;
    try {
      await page.waitForFunction(() => {
        const body = document.querySelector('#vessel-body');
        return body.textContent.includes('Track (around the event)') && body.querySelector('[data-testid=vessel-track]');
      }, null, { timeout: 10000 });
      around = true;
    } catch (_) {
      around = false;
    }
    check("the event's vessel shows its track around the event", around);

    // the type filter hides that type's items and brings them back
    const filter = page.locator(`[data-testid=event-filter][data-type="${eventType}"]`);
    await filter.click();
    let filtered = false;
    try {
      await page.waitForFunction((t) => !document.querySelector(`[data-testid=event-item][data-type="${t}"]`), eventType, { timeout: 5000 });
      await filter.click();
      await item.waitFor({ state: 'visible', timeout: 5000 });
      filtered = true;
    } catch (_) {
      filtered = false;
    }
    check(`the ${eventType} filter hides and restores its events`, filtered);
  }

  // 5. the replay slider: a click 30% along it shows the picture of that past time: no position
  //    newer than the slider's time, and vessels more than ~200 m from where they are live now
  const slider = await page.locator('[data-testid=time-slider]').boundingBox();
  await page.mouse.click(slider.x + slider.width * 0.3, slider.y + slider.height / 2);
  let replayOk = false;
  let detail = '';
  try {
    await page.waitForFunction(() => window.__tidewatch.mode() === 'replay' && !window.__tidewatch.replayBusy()
      && window.__tidewatch.displayedAt() !== null && window.__tidewatch.displayedAt() === window.__tidewatch.replayAt(),
    null, { timeout });
    const at = await hook(() => window.__tidewatch.replayAt());
    const shown = await hook(() => window.__tidewatch.displayedPositions());
    const newest = await hook(() => window.__tidewatch.displayedNewestTime());
    const livePositions = await hook(() => window.__tidewatch.livePositions());
    let moved = 0;
    let compared = 0;
    for (const [mmsi, [lon, lat]] of Object.entries(shown)) {
      const now = livePositions[mmsi];
      if (!now) continue;
      compared += 1;
      if (Math.abs(now[0] - lon) > 0.002 || Math.abs(now[1] - lat) > 0.002) moved += 1;
    }
    replayOk = moved > 0 && newest !== null && newest <= at;
    detail = `at ${new Date(at).toISOString()}: ${moved} of ${compared} vessels over 0.002° from live, newest position ${newest === null ? 'none' : new Date(newest).toISOString()}`;
  } catch (e) {
    detail = `no replay picture: ${e.message.split('\n')[0]}`;
  }
  check('moving the replay slider changes the picture', replayOk, detail);

  // Play steps the replay forward; Pause stops it
  const before = await hook(() => window.__tidewatch.replayAt());
  await page.locator('[data-testid=play-button]').click();
  let played = false;
  try {
    await page.waitForFunction((t) => window.__tidewatch.mode() === 'replay' && window.__tidewatch.displayedAt() !== null
      && window.__tidewatch.displayedAt() > t, before, { timeout: 15000 });
    played = true;
  } catch (_) {
    played = false;
  }
  await page.locator('[data-testid=play-button]').click();
  const label = (await page.locator('[data-testid=play-button]').textContent()).trim();
  check('Play advances the replay and Pause stops it', played && /Play/.test(label), `after Pause the button reads "${label}"`);

  await page.locator('[data-testid=live-button]').click();
  await page.waitForFunction(() => window.__tidewatch.mode() === 'live');
  const badge = await page.locator('[data-testid=mode-badge]').textContent();
  check('Live returns to the stream', badge.trim() === 'LIVE');

  // 6. screenshot (live, the whole picture, with the feed and the selected vessel's panel and track)
  await hook(() => window.__tidewatch.fitAll());
  await page.waitForTimeout(1500);
  await page.screenshot({ path: screenshot });
  check('screenshot saved', true, screenshot);

  check('no console errors', consoleErrors.length === 0, consoleErrors.slice(0, 5).join(' | '));
});
if (consoleErrors.length) console.log(`console errors: ${consoleErrors.slice(0, 5).join(' | ')}`);
finish();
