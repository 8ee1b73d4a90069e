#!/usr/bin/env node
// TEST FIXTURE SERVER: not Tidewatch's server. It serves the web map's built assets and answers
// the API contract's routes (/api/health, /api/vessels, /api/vessels/{mmsi}[/track],
// /api/events, /api/zones, /api/search, /api/stream) from fixture.json's invented vessels, so the
// browser test can run before (and without) crate `serve`. Loopback only, bounded lifetime.
//
// usage: node fixture-server.mjs ASSETS_DIR [PORT]
//   prints `listening http://127.0.0.1:PORT/` as its first line; PORT 0 (default) picks one.
// env:  FIXTURE_EXTRA_VESSELS=N  adds N generated vessels (load for the map; default 0)
//       FIXTURE_MAX_S=S          exits after S seconds (default 900)

import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, normalize, extname, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const assetsDir = process.argv[2];
const port = Number(process.argv[3] || 0);
if (!assetsDir || !existsSync(join(assetsDir, 'index.html'))) {
  console.error('usage: node fixture-server.mjs ASSETS_DIR [PORT]  (ASSETS_DIR holds index.html and assets/)');
  process.exit(2);
}
const fixture = JSON.parse(readFileSync(join(here, 'fixture.json'), 'utf8'));
const baseMs = Date.parse(fixture.base_time);
const fromMs = baseMs - fixture.history_h * 3600 * 1000;
const speed = fixture.data_seconds_per_second;
const startedWall = Date.now();
const maxS = Number(process.env.FIXTURE_MAX_S || 900);

const vessels = fixture.vessels.map((v) => ({ ...v }));
const extra = Number(process.env.FIXTURE_EXTRA_VESSELS || 0);
const categories = ['cargo', 'tanker', 'fishing', 'passenger', 'tug', 'pleasure', 'other', 'unknown', 'military', 'hsc', 'sailing'];
let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
for (let i = 0; i < extra; i += 1) {
  vessels.push({
    mmsi: 800000000 + i,
    name: `FIXTURE VESSEL ${i}`,
    callsign: null, imo: null, ship_type: null,
    ship_category: categories[i % categories.length], flag: null, class: 'A',
    length_m: null, beam_m: null, destination: null,
    at_base: [109 + rand() * 12, 5 + rand() * 17], cog_deg: rand() * 360, sog_knots: rand() * 18,
    identity_history: [],
  });
}
const byMmsi = new Map(vessels.map((v) => [v.mmsi, v]));

function dataNow() {
  return baseMs + (Date.now() - startedWall) * speed;
}

/** Dead reckoning from the vessel's position at base_time (flat earth; fine for a fixture). */
function positionAt(v, t) {
  const hours = (t - baseMs) / 3600000;
  const nm = (v.sog_knots || 0) * hours;
  const cog = ((v.cog_deg ?? 0) * Math.PI) / 180;
  const lat = v.at_base[1] + (nm / 60) * Math.cos(cog);
  const lon = v.at_base[0] + (nm / 60) * Math.sin(cog) / Math.cos((v.at_base[1] * Math.PI) / 180);
  return [lon, lat];
}

const iso = (ms) => new Date(ms).toISOString();

function category(v) { return v.ship_category; }

function vesselFeature(v, t) {
  const [lon, lat] = positionAt(v, t);
  return {
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [lon, lat] },
    properties: {
      mmsi: v.mmsi, name: v.name, callsign: v.callsign, imo: v.imo, ship_type: v.ship_type,
      ship_category: category(v), flag: v.flag, class: v.class, time: iso(t),
      sog_knots: v.sog_knots, cog_deg: v.cog_deg, heading_deg: v.heading_deg === undefined ? v.cog_deg : v.heading_deg,
      nav_status: v.sog_knots > 0.5 ? 0 : 1, length_m: v.length_m, destination: v.destination,
    },
  };
}

function parseBBox(s) {
  if (!s) return null;
  const parts = s.split(',').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isFinite(x))) return undefined;
  return parts;
}

function inBBox(b, lon, lat) {
  if (!b) return true;
  const [w, s, e, n] = b;
  if (lat < s || lat > n) return false;
  return w <= e ? lon >= w && lon <= e : lon >= w || lon <= e;
}

function eventFeature(e) {
  const { lat, lon, after_s: _, ...props } = e;
  return { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { ...props, detail: { ...props, lat, lon } } };
}

function liveEventsDue() {
  const elapsed = (Date.now() - startedWall) / 1000;
  return fixture.live_events.filter((e) => e.after_s <= elapsed);
}

function send(res, status, body, type = 'application/json') {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(data);
}

const bad = (res, code, message) => send(res, 400, { error: code, message });

const CONTENT_TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

function serveStatic(res, path) {
  const rel = path === '/' ? 'index.html' : normalize(path).replace(/^[/\\]+/, '');
  if (rel.startsWith('..') || !(rel === 'index.html' || rel.startsWith('assets/'))) return false;
  const file = join(assetsDir, rel);
  if (!existsSync(file) || !statSync(file).isFile()) return false;
  send(res, 200, readFileSync(file), CONTENT_TYPES[extname(file)] || 'application/octet-stream');
  return true;
}

const streams = new Set();

function handleStream(req, res, url) {
  const bbox = parseBBox(url.searchParams.get('bbox'));
  if (bbox === undefined) return bad(res, 'bad_bbox', 'bbox must be min_lon,min_lat,max_lon,max_lat');
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': tidewatch test fixture stream\n\n');
  const opened = Date.now();
  const sentEvents = new Set();
  const tick = () => {
    const t = dataNow();
    for (const v of vessels) {
      const [lon, lat] = positionAt(v, t);
      if (!inBBox(bbox, lon, lat)) continue;
      const heading = v.heading_deg === undefined ? v.cog_deg : v.heading_deg;
      res.write(`event: position\ndata: ${JSON.stringify({ mmsi: v.mmsi, time: iso(t), lat, lon, sog_knots: v.sog_knots, cog_deg: v.cog_deg, heading_deg: heading, ship_category: category(v), name: v.name })}\n\n`);
    }
    const elapsed = (Date.now() - opened) / 1000;
    for (const e of fixture.live_events) {
      if (e.after_s <= elapsed && !sentEvents.has(e.id)) {
        sentEvents.add(e.id);
        const { after_s: _, ...props } = e;
        res.write(`event: event\ndata: ${JSON.stringify({ ...props, detail: { ...props } })}\n\n`);
      }
    }
    for (const a of fixture.live_alerts || []) {
      const key = `alert-${a.rule}-${a.event_id}`;
      const ev = fixture.live_events.find((e) => e.id === a.event_id);
      if (ev && a.after_s <= elapsed && !sentEvents.has(key)) {
        sentEvents.add(key);
        const { after_s: _, lat: __, lon: ___, ...props } = ev;
        res.write(`event: alert\ndata: ${JSON.stringify({ rule: a.rule, event: { ...props, detail: { ...props, lat: ev.lat, lon: ev.lon } } })}\n\n`);
      }
    }
  };
  const timer = setInterval(tick, 1000);
  tick();
  const client = { res, timer };
  streams.add(client);
  req.on('close', () => {
    clearInterval(timer);
    streams.delete(client);
  });
}

function track(v, from, to) {
  const coords = [];
  const step = 5 * 60 * 1000;
  for (let t = from; t <= to; t += step) coords.push(positionAt(v, t));
  coords.push(positionAt(v, to));
  return {
    type: 'FeatureCollection',
    features: [{ type: 'Feature', geometry: { type: 'LineString', coordinates: coords }, properties: { segment: 1, from: iso(from), to: iso(to), points: coords.length } }],
  };
}

function route(req, res) {
  const url = new URL(req.url, 'http://fixture.invalid');
  const path = url.pathname;
  const q = url.searchParams;
  const now = dataNow();
  if (req.method !== 'GET') return send(res, 405, { error: 'method_not_allowed', message: `${req.method} is not served` });
  if (path === '/api/health') {
    return send(res, 200, { status: 'ok', version: '0.1.0-fixture', uptime_s: (Date.now() - startedWall) / 1000, data_time: iso(now), data_from: iso(fromMs), vessels: vessels.length, lag_ms: 5 });
  }
  if (path === '/api/vessels') {
    const bbox = parseBBox(q.get('bbox'));
    if (bbox === undefined) return bad(res, 'bad_bbox', 'bbox must be min_lon,min_lat,max_lon,max_lat');
    let t = now;
    if (q.get('at')) {
      t = Date.parse(q.get('at'));
      if (!Number.isFinite(t)) return bad(res, 'bad_time', `cannot read the time ${q.get('at')}`);
      if (t < fromMs) return send(res, 200, { type: 'FeatureCollection', features: [] });
      t = Math.min(t, now);
    }
    const limit = Math.min(Number(q.get('limit') || 10000), 100000);
    const features = vessels.map((v) => vesselFeature(v, t)).filter((f) => inBBox(bbox, ...f.geometry.coordinates)).slice(0, limit);
    return send(res, 200, { type: 'FeatureCollection', features });
  }
  const m = path.match(/^\/api\/vessels\/(\d+)(\/track)?$/);
  if (m) {
    const v = byMmsi.get(Number(m[1]));
    if (!v) return send(res, 404, { error: 'unknown_mmsi', message: `no vessel with MMSI ${m[1]}` });
    if (m[2]) {
      const to = q.get('to') ? Date.parse(q.get('to')) : now;
      const from = q.get('from') ? Date.parse(q.get('from')) : to - 24 * 3600 * 1000;
      if (!Number.isFinite(from) || !Number.isFinite(to)) return bad(res, 'bad_time', 'from and to must be times');
      if (to - from > 366 * 86400 * 1000) return bad(res, 'range_too_long', 'a track range is at most 366 days');
      return send(res, 200, track(v, Math.max(from, fromMs), Math.min(to, now)));
    }
    const f = vesselFeature(v, now);
    const p = f.properties;
    const events = [...fixture.events, ...liveEventsDue()].filter((e) => e.mmsis.includes(v.mmsi)).map((e) => eventFeature(e).properties);
    return send(res, 200, {
      mmsi: v.mmsi, name: v.name, callsign: v.callsign, imo: v.imo, ship_type: v.ship_type, ship_category: category(v),
      flag: v.flag, class: v.class, length_m: v.length_m, beam_m: v.beam_m, destination: v.destination,
      position: { time: p.time, lat: f.geometry.coordinates[1], lon: f.geometry.coordinates[0], sog_knots: p.sog_knots, cog_deg: p.cog_deg, heading_deg: p.heading_deg, nav_status: p.nav_status },
      identity_history: v.identity_history, events,
    });
  }
  if (path === '/api/events') {
    const type = q.get('type');
    const limit = Math.min(Number(q.get('limit') || 200), 5000);
    const features = fixture.events.filter((e) => !type || e.type === type).map(eventFeature).slice(0, limit);
    return send(res, 200, { type: 'FeatureCollection', features });
  }
  if (path === '/api/zones') {
    return send(res, 200, {
      type: 'FeatureCollection',
      features: fixture.zones.map((z) => ({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [z.polygon] }, properties: { name: z.name, kind: z.kind } })),
    });
  }
  if (path === '/api/search') {
    const text = (q.get('q') || '').trim().toLowerCase();
    if (!text) return bad(res, 'bad_query', 'q is required');
    const limit = Math.min(Number(q.get('limit') || 20), 100);
    const results = vessels.filter((v) => (v.name || '').toLowerCase().includes(text) || (v.callsign || '').toLowerCase().includes(text)
      || String(v.mmsi).startsWith(text) || (v.imo !== null && String(v.imo).startsWith(text)))
      .slice(0, limit)
      .map((v) => ({ mmsi: v.mmsi, name: v.name, callsign: v.callsign, imo: v.imo, flag: v.flag, ship_category: category(v) }));
    return send(res, 200, { results });
  }
  if (path === '/api/stream') return handleStream(req, res, url);
  if (serveStatic(res, path)) return undefined;
  return send(res, 404, { error: 'not_found', message: `no route ${path}` });
}

const server = createServer((req, res) => {
  try {
    route(req, res);
  } catch (e) {
    send(res, 500, { error: 'fixture_bug', message: String(e) });
  }
});

function shutdown() {
  for (const { res, timer } of streams) {
    clearInterval(timer);
    res.end();
  }
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
setTimeout(shutdown, maxS * 1000).unref();

server.listen(port, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}/`);
});
