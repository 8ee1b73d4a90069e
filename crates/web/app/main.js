// Tidewatch web map: the watch officer's screen. One page, four parts:
// - the map (MapLibre GL, offline basemap): vessels from /api/vessels, then live from the SSE
//   stream /api/stream, redrawn at most four times a second; zones; event locations; the
//   selected vessel's track;
// - the event feed (left): /api/events, then the stream's `event` messages; filters by type;
//   a click flies to the event and opens its first vessel;
// - the vessel panel (right): /api/vessels/{mmsi} and its /track;
// - the timeline (bottom): a slider over [data_from, data_time] of /api/health; moving it shows
//   the picture at that time (/api/vessels?at=), Play steps through history, Live returns.
// Times are the data's clock (data_time), never the browser's.

import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';
import { Map as MapLibreMap, NavigationControl, ScaleControl, Popup, setWorkerUrl } from 'maplibre-gl';
import { BASE_STYLE, addBasemap } from './basemap.js';
import { CATEGORIES, EVENT_COLOURS, addVesselImages, categoryColour, categoryKey, categoryLabel, eventColour } from './categories.js';
import { apiToken, debounce, esc, fmtDuration, fmtNumber, fmtTime, getJson, isoMs, parseTime, TOKEN_EVENT } from './api.js';

// MapLibre loads its worker module from beside this bundle (/assets/maplibre-gl-worker.mjs).
setWorkerUrl(new URL('maplibre-gl-worker.mjs', import.meta.url).href);

const FLUSH_MS = 250; // at most four redraws of the vessels a second
const HEALTH_MS = 5000;
const STALE_MS = 30 * 60 * 1000; // a vessel silent this long (data time) is drawn faded
const MAX_FEED = 400;
const STREAM_BBOX_MIN_ZOOM = 5; // below this the stream carries the whole picture

const $ = (id) => document.getElementById(id);

const state = {
  ready: false,
  live: new Map(), // mmsi -> GeoJSON Feature of the live picture
  displayed: [], // the features last given to the map (live or replay)
  displayedAt: null, // the replay time of `displayed`, null when live
  displayedByMmsi: new Map(),
  dirty: false,
  mode: 'live', // or 'replay'
  replayAt: null,
  replaySeq: 0,
  replayBusy: false,
  playTimer: null,
  dataFrom: null,
  dataTime: null,
  events: new Map(), // id -> GeoJSON Feature
  typesSeen: new Set(),
  typesOff: new Set(),
  selectedEvent: null,
  feedDirty: false,
  selected: null, // mmsi of the open panel
  panelSeq: 0,
  panelAround: undefined, // the event span the open panel's track is shown around, if opened from one
  stream: null,
  streamBBox: null, // [w, s, e, n] or null for everything
  badMessages: 0,
  framed: false, // the map has been fitted to the vessels, or the user moved it
  positionsIn: 0, // stream position messages received
  flushes: 0, // live redraws, and their cost on the main thread (ms)
  flushMsMax: 0,
  flushMsTotal: 0,
};

const map = new MapLibreMap({
  container: 'map',
  style: BASE_STYLE,
  center: [114, 14],
  zoom: 4.5,
  attributionControl: { compact: true, customAttribution: 'Tidewatch' },
  dragRotate: false,
  pitchWithRotate: false,
});
map.addControl(new NavigationControl({ showCompass: false }), 'top-left');
map.addControl(new ScaleControl({ unit: 'nautical' }), 'bottom-right');

// ---------------------------------------------------------------------------------------------
// Vessels

/** Properties the map draws from: icon by category and by whether a direction is known. */
function decorate(feature) {
  const p = feature.properties;
  const dir = p.heading_deg ?? p.cog_deg;
  p._icon = `${dir === null || dir === undefined ? 'dot' : 'arrow'}-${categoryKey(p.ship_category)}`;
  p._rot = dir ?? 0;
  p._t = parseTime(p.time);
  return feature;
}

/** A feature from /api/vessels into the live picture, unless the stream already has newer. */
function upsertSnapshot(feature) {
  const p = feature.properties;
  const have = state.live.get(p.mmsi);
  const t = parseTime(p.time);
  if (have && have.properties._t !== null && t !== null && have.properties._t > t) return;
  state.live.set(p.mmsi, decorate(feature));
  if (t !== null && (state.dataTime === null || t > state.dataTime)) state.dataTime = t;
}

function onPosition(m) {
  state.positionsIn += 1;
  if (typeof m.mmsi !== 'number' || !Number.isFinite(m.lat) || !Number.isFinite(m.lon)) {
    state.badMessages += 1;
    return;
  }
  let f = state.live.get(m.mmsi);
  if (!f) {
    f = { type: 'Feature', geometry: { type: 'Point', coordinates: [m.lon, m.lat] }, properties: { mmsi: m.mmsi } };
    state.live.set(m.mmsi, f);
  }
  const p = f.properties;
  const t = parseTime(m.time);
  if (p._t !== undefined && p._t !== null && t !== null && t < p._t) return; // older than what we show
  f.geometry = { type: 'Point', coordinates: [m.lon, m.lat] };
  p.time = m.time;
  p.sog_knots = m.sog_knots;
  p.cog_deg = m.cog_deg;
  p.heading_deg = m.heading_deg;
  if (m.ship_category) p.ship_category = m.ship_category;
  if (m.name) p.name = m.name;
  decorate(f);
  if (t !== null && (state.dataTime === null || t > state.dataTime)) state.dataTime = t;
  state.dirty = true;
}

function setVesselData(features, at) {
  state.displayedAt = at ?? null;
  const now = state.mode === 'replay' ? state.replayAt : state.dataTime;
  // The map gets only what it draws from (position, icon, rotation, staleness): MapLibre copies
  // the whole collection to its worker at every update, so slim features keep thousands cheap.
  const slim = new Array(features.length);
  const byMmsi = new Map();
  for (let i = 0; i < features.length; i += 1) {
    const f = features[i];
    const p = f.properties;
    byMmsi.set(p.mmsi, f);
    const stale = now !== null && p._t !== null && now - p._t > STALE_MS ? 1 : 0;
    slim[i] = { type: 'Feature', geometry: f.geometry, properties: { mmsi: p.mmsi, _icon: p._icon, _rot: p._rot, _stale: stale } };
  }
  state.displayed = features;
  state.displayedByMmsi = byMmsi;
  const source = map.getSource('vessels');
  if (source) source.setData({ type: 'FeatureCollection', features: slim });
  $('status-count').textContent = features.length.toLocaleString('en-US');
}

function flush() {
  // A redraw waits while the map is still working on the previous one (a slow GPU, or software
  // GL): updates are coalesced instead of queued, so panning and clicks stay responsive.
  if (state.mode === 'live' && state.dirty && state.ready && map.isSourceLoaded('vessels')) {
    // a picture that was empty at start is framed when its first vessels arrive, unless the
    // user has moved the map meanwhile
    if (!state.framed && state.live.size > 0) {
      state.framed = true;
      fitToVessels();
    }
    const t0 = performance.now();
    state.dirty = false;
    setVesselData(Array.from(state.live.values()));
    refreshPanelPosition();
    const ms = performance.now() - t0;
    state.flushes += 1;
    state.flushMsMax = Math.max(state.flushMsMax, ms);
    state.flushMsTotal += ms;
  }
  $('status-time').textContent = fmtTime(state.mode === 'replay' ? state.replayAt : state.dataTime);
  if (state.mode === 'live') syncSliderToLive();
  if (state.feedDirty) renderFeed();
}

// ---------------------------------------------------------------------------------------------
// The stream

function streamUrl() {
  const params = new URLSearchParams();
  if (state.streamBBox) params.set('bbox', state.streamBBox.map((v) => v.toFixed(4)).join(','));
  // EventSource cannot send headers: the stream alone takes the token as a parameter.
  const token = apiToken();
  if (token) params.set('access_token', token);
  const qs = params.toString();
  return `/api/stream${qs ? `?${qs}` : ''}`;
}

function setConn(text, cls) {
  const el = $('status-conn');
  el.textContent = text;
  el.className = `conn ${cls}`;
}

function parseMessage(message) {
  try {
    return JSON.parse(message.data);
  } catch (_) {
    state.badMessages += 1;
    console.warn('tidewatch: a stream message that is not JSON was skipped', message.type);
    return null;
  }
}

function connectStream() {
  if (state.stream) state.stream.close();
  const es = new EventSource(streamUrl());
  state.stream = es;
  let dropped = false;
  es.addEventListener('open', () => {
    setConn('live', 'up');
    // Back after a drop (the server drops a client that falls behind): what was missed meanwhile
    // is read again, the picture and the events.
    if (dropped) {
      dropped = false;
      loadLiveSnapshot();
      loadEvents();
    }
  });
  es.addEventListener('error', () => {
    dropped = true;
    setConn(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting', 'down');
  });
  es.addEventListener('position', (m) => {
    const data = parseMessage(m);
    if (data) onPosition(data);
  });
  es.addEventListener('event', (m) => {
    const data = parseMessage(m);
    if (data) onStreamEvent(data);
  });
  es.addEventListener('alert', (m) => {
    const data = parseMessage(m);
    if (data) onAlert(data);
  });
}

function viewportBBox() {
  if (map.getZoom() < STREAM_BBOX_MIN_ZOOM) return null;
  const b = map.getBounds();
  let w = b.getWest();
  let e = b.getEast();
  const s = b.getSouth();
  const n = b.getNorth();
  const padLon = (e - w) * 0.5;
  const padLat = (n - s) * 0.5;
  w -= padLon;
  e += padLon;
  if (e - w >= 360) return null;
  const wrap = (lon) => ((((lon + 180) % 360) + 360) % 360) - 180;
  return [wrap(w), Math.max(-90, s - padLat), wrap(e), Math.min(90, n + padLat)];
}

function boxContains(outer, inner) {
  if (outer === null) return true;
  if (inner === null) return false;
  // boxes crossing the antimeridian (west > east) are not compared: reconnect
  if (outer[0] > outer[2] || inner[0] > inner[2]) return false;
  return outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];
}

const onViewportChange = debounce(async () => {
  const wanted = viewportBBox();
  const tight = wanted === null ? null : (() => {
    const b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
  })();
  if (wanted !== null && boxContains(state.streamBBox, tight)) return;
  if (wanted === null && state.streamBBox === null) return;
  state.streamBBox = wanted;
  connectStream();
  await loadLiveSnapshot();
}, 600);

async function loadLiveSnapshot() {
  try {
    const params = { limit: 100000 };
    if (state.streamBBox) params.bbox = state.streamBBox.map((v) => v.toFixed(4)).join(',');
    const fc = await getJson('/api/vessels', params);
    for (const f of fc.features || []) upsertSnapshot(f);
    state.dirty = true;
  } catch (e) {
    console.warn('tidewatch: live picture not loaded:', e.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Health and the timeline

async function pollHealth() {
  try {
    const h = await getJson('/api/health');
    const from = parseTime(h.data_from);
    const to = parseTime(h.data_time);
    if (from !== null) state.dataFrom = from;
    if (to !== null && (state.dataTime === null || to > state.dataTime)) state.dataTime = to;
    $('status-lag').textContent = h.lag_ms === undefined || h.lag_ms === null ? '-' : `${Math.round(h.lag_ms)} ms`;
    updateSliderRange();
  } catch (e) {
    console.warn('tidewatch: health not read:', e.message);
  }
}

function updateSliderRange() {
  if (state.dataFrom === null || state.dataTime === null) return;
  const slider = $('time-slider');
  slider.min = String(state.dataFrom);
  slider.max = String(Math.max(state.dataTime, state.dataFrom + 1));
  $('time-from').textContent = fmtTime(state.dataFrom);
  $('time-to').textContent = fmtTime(state.dataTime);
}

function syncSliderToLive() {
  if (state.dataTime === null) return;
  const slider = $('time-slider');
  if (Number(slider.max) < state.dataTime) slider.max = String(state.dataTime);
  slider.value = slider.max;
  $('time-to').textContent = fmtTime(state.dataTime);
}

function setModeUi() {
  const badge = $('mode-badge');
  const live = state.mode === 'live';
  badge.textContent = live ? 'LIVE' : 'REPLAY';
  badge.className = `badge ${live ? 'live' : 'replay'}`;
  $('live-button').classList.toggle('active', live);
  $('time-slider').classList.toggle('replaying', !live);
  $('time-label').textContent = live ? 'LIVE' : fmtTime(state.replayAt);
  $('play-button').innerHTML = state.playTimer ? '&#10074;&#10074; Pause' : '&#9654; Play';
}

async function showReplay(at) {
  state.mode = 'replay';
  state.replayAt = at;
  setModeUi();
  const seq = ++state.replaySeq;
  state.replayBusy = true;
  try {
    const fc = await getJson('/api/vessels', { at: isoMs(at), limit: 100000 });
    if (seq !== state.replaySeq || state.mode !== 'replay') return;
    setVesselData((fc.features || []).map(decorate), at);
    $('status-time').textContent = fmtTime(at);
  } catch (e) {
    console.warn('tidewatch: picture at', isoMs(at), 'not loaded:', e.message);
  } finally {
    if (seq === state.replaySeq) state.replayBusy = false;
  }
}

const replayFromSlider = debounce(() => {
  const at = Number($('time-slider').value);
  if (state.dataTime !== null && at >= state.dataTime) goLive();
  else showReplay(at);
}, 150);

function stopPlaying() {
  if (state.playTimer) clearInterval(state.playTimer);
  state.playTimer = null;
  setModeUi();
}

function togglePlay() {
  if (state.playTimer) {
    stopPlaying();
    return;
  }
  if (state.dataFrom === null || state.dataTime === null) return;
  let at = state.mode === 'replay' ? state.replayAt : state.dataFrom;
  if (at >= state.dataTime) at = state.dataFrom;
  state.playTimer = setInterval(() => {
    if (state.replayBusy) return; // one picture at a time
    const speed = Number($('replay-speed').value) || 300;
    at += speed * 1000;
    if (at >= state.dataTime) {
      goLive();
      return;
    }
    $('time-slider').value = String(at);
    showReplay(at);
  }, 1000);
  showReplay(at);
}

function goLive() {
  stopPlaying();
  state.mode = 'live';
  state.replayAt = null;
  state.replaySeq += 1;
  state.replayBusy = false;
  setModeUi();
  setVesselData(Array.from(state.live.values()));
  syncSliderToLive();
  if (state.selected !== null) openVessel(state.selected, { fly: false, around: state.panelAround });
}

// ---------------------------------------------------------------------------------------------
// Events

function eventFeature(props, lon, lat) {
  return {
    type: 'Feature',
    geometry: Number.isFinite(lon) && Number.isFinite(lat) ? { type: 'Point', coordinates: [lon, lat] } : null,
    properties: props,
  };
}

function upsertEvent(feature, fresh) {
  const p = feature.properties;
  if (p.id === undefined || p.id === null) return;
  p._fresh = fresh;
  p._start = parseTime(p.start);
  state.events.set(String(p.id), feature);
  if (!state.typesSeen.has(p.type)) {
    state.typesSeen.add(p.type);
    renderFilters();
  }
  state.feedDirty = true;
}

function onStreamEvent(m) {
  const { lat, lon, ...props } = m;
  upsertEvent(eventFeature(props, lon, lat), true);
  if (state.selected !== null && (props.mmsis || []).includes(state.selected)) openVessel(state.selected, { fly: false, around: state.panelAround });
}

function onAlert(m) {
  const ev = m.event || {};
  if (ev.id !== undefined && !state.events.has(String(ev.id))) {
    const lat = ev.lat ?? ev.detail?.lat;
    const lon = ev.lon ?? ev.detail?.lon;
    upsertEvent(eventFeature({ ...ev }, lon, lat), true);
  }
  const banner = $('alert-banner');
  banner.innerHTML = `<strong>ALERT ${esc(m.rule)}</strong><br>${esc(ev.summary || ev.type || '')}`;
  banner.dataset.eventId = ev.id === undefined ? '' : String(ev.id);
  banner.hidden = false;
  clearTimeout(onAlert.timer);
  onAlert.timer = setTimeout(() => { banner.hidden = true; }, 30000);
}

function visibleEvents() {
  return Array.from(state.events.values())
    .filter((f) => !state.typesOff.has(f.properties.type))
    .sort((a, b) => (b.properties._start ?? 0) - (a.properties._start ?? 0));
}

function renderFilters() {
  const box = $('event-filters');
  box.innerHTML = '';
  for (const type of Array.from(state.typesSeen).sort()) {
    const label = document.createElement('label');
    label.className = `filter${state.typesOff.has(type) ? ' off' : ''}`;
    label.dataset.testid = 'event-filter';
    label.dataset.type = type;
    label.innerHTML = `<input type="checkbox" ${state.typesOff.has(type) ? '' : 'checked'}><span class="swatch" style="background:${eventColour(type)}"></span>${esc(type.replace(/_/g, ' '))}`;
    label.querySelector('input').addEventListener('change', (e) => {
      if (e.target.checked) state.typesOff.delete(type);
      else state.typesOff.add(type);
      label.classList.toggle('off', !e.target.checked);
      state.feedDirty = true;
    });
    box.appendChild(label);
  }
}

function renderFeed() {
  state.feedDirty = false;
  const events = visibleEvents();
  const list = $('event-list');
  const items = [];
  for (const f of events.slice(0, MAX_FEED)) {
    const p = f.properties;
    const li = document.createElement('li');
    li.className = `event-item${p._fresh ? ' fresh' : ''}${String(p.id) === state.selectedEvent ? ' selected' : ''}`;
    li.dataset.testid = 'event-item';
    li.dataset.type = p.type;
    li.dataset.id = String(p.id);
    li.dataset.mmsis = (p.mmsis || []).join(',');
    li.style.borderLeftColor = eventColour(p.type);
    const span = p.end ? fmtDuration(parseTime(p.end) - p._start) : '';
    li.innerHTML = `<div class="row"><span class="type" style="color:${eventColour(p.type)}">${esc(p.type.replace(/_/g, ' '))}${p.open ? '<span class="open">OPEN</span>' : ''}</span><span class="time">${esc(fmtTime(p._start))}</span></div>`
      + `<div class="summary">${esc(p.summary || '')}${span ? ` <span class="muted">(${esc(span)})</span>` : ''}</div>`;
    p._fresh = false;
    items.push(li);
  }
  list.replaceChildren(...items);
  $('feed-count').textContent = `${events.length.toLocaleString('en-US')}${events.length > MAX_FEED ? ` (newest ${MAX_FEED})` : ''}`;
  const source = map.getSource('events');
  if (source) {
    // only what the layers draw from (the event's `detail` stays in the page)
    const slim = events.filter((f) => f.geometry).map((f) => ({
      type: 'Feature', geometry: f.geometry, properties: { id: String(f.properties.id), type: f.properties.type, open: f.properties.open === true },
    }));
    source.setData({ type: 'FeatureCollection', features: slim });
  }
}

function selectEvent(id) {
  const f = state.events.get(String(id));
  if (!f) return;
  state.selectedEvent = String(id);
  state.feedDirty = true;
  map.setFilter('event-selected', ['==', ['to-string', ['get', 'id']], String(id)]);
  if (f.geometry) map.flyTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 9), speed: 1.6 });
  const p = f.properties;
  const mmsis = p.mmsis || [];
  // An MMSI change lists the old number, then the new: the vessel is the new one.
  const mmsi = p.type === 'identity_change' ? mmsis[mmsis.length - 1] : mmsis[0];
  const start = parseTime(p.start);
  const end = parseTime(p.end) ?? start;
  // The track around the event, wherever it lies in the history (not the last 24 h).
  const around = start === null ? undefined : { start, end };
  if (mmsi !== undefined) openVessel(mmsi, { fly: false, around });
}

async function loadEvents() {
  try {
    const fc = await getJson('/api/events', { limit: 500 });
    for (const f of fc.features || []) {
      const coords = f.geometry && f.geometry.coordinates;
      upsertEvent(eventFeature(f.properties, coords && coords[0], coords && coords[1]), false);
    }
  } catch (e) {
    console.warn('tidewatch: events not loaded:', e.message);
  }
}

// ---------------------------------------------------------------------------------------------
// The vessel panel

const NAV_STATUS = [
  'under way using engine', 'at anchor', 'not under command', 'restricted manoeuvrability',
  'constrained by draught', 'moored', 'aground', 'engaged in fishing', 'under way sailing',
  'reserved (HSC)', 'reserved (WIG)', 'power-driven towing astern', 'power-driven pushing ahead',
  'reserved', 'AIS-SART / MOB / EPIRB', 'undefined',
];

function kv(rows) {
  return `<dl class="kv">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function val(v) {
  return v === null || v === undefined || v === '' ? '<span class="muted">-</span>' : esc(v);
}

function renderPanel(v, track, trackTitle) {
  const pos = v.position;
  const cat = v.ship_category || 'unknown';
  const rows = [
    ['Name', val(v.name)],
    ['Call sign', val(v.callsign)],
    ['IMO', val(v.imo)],
    ['Flag', val(v.flag)],
    ['Type', `<span class="cat-chip" style="background:${categoryColour(cat)}">${esc(categoryLabel(cat))}</span> <span class="muted">${v.ship_type ?? ''}</span>`],
    ['Class', val(v.class)],
    ['Size', v.length_m ? esc(`${fmtNumber(v.length_m, 0)} x ${fmtNumber(v.beam_m, 0)} m`) : val(null)],
    ['Destination', val(v.destination)],
  ];
  const posRows = pos ? [
    ['Time', esc(fmtTime(parseTime(pos.time)))],
    ['Position', esc(`${fmtNumber(pos.lat, 5)}, ${fmtNumber(pos.lon, 5)}`)],
    ['Speed', esc(fmtNumber(pos.sog_knots, 1, 'kn'))],
    ['Course', esc(fmtNumber(pos.cog_deg, 1, '°'))],
    ['Heading', esc(fmtNumber(pos.heading_deg, 0, '°'))],
    ['Status', val(pos.nav_status === null || pos.nav_status === undefined ? null : NAV_STATUS[pos.nav_status] || pos.nav_status)],
  ] : [['Position', '<span class="muted">none received</span>']];
  const history = v.identity_history || [];
  const historyHtml = history.length
    ? `<table class="history" data-testid="identity-history"><tbody>${history.map((h) => `<tr><td class="muted">${esc(fmtTime(parseTime(h.time)))}</td><td>${esc(h.field)}</td><td>${val(h.old)} &rarr; ${val(h.new)}</td></tr>`).join('')}</tbody></table>`
    : '<div class="muted" data-testid="identity-history">No identity changes recorded</div>';
  const events = v.events || [];
  const eventsHtml = events.length
    ? `<ul class="panel-events" data-testid="vessel-events">${events.map((e) => `<li data-id="${esc(e.id)}"><span style="color:${eventColour(e.type)}">${esc(e.type)}</span> <span class="muted">${esc(fmtTime(parseTime(e.start)))}</span><br>${esc(e.summary || '')}</li>`).join('')}</ul>`
    : '<div class="muted" data-testid="vessel-events">No events</div>';
  let trackHtml = '<div class="muted">No track in range</div>';
  if (track) {
    const segs = track.features || [];
    const points = segs.reduce((n, f) => n + (f.properties?.points || 0), 0);
    if (segs.length) trackHtml = `<div data-testid="vessel-track">${segs.length} segment${segs.length === 1 ? '' : 's'}, ${points.toLocaleString('en-US')} positions</div>`;
  }
  $('vessel-body').innerHTML = `${kv(rows)}<div class="section-title">Last position</div><div id="panel-position">${kv(posRows)}</div>`
    + `<div class="section-title">Track (${esc(trackTitle)})</div>${trackHtml}`
    + `<div class="section-title">Identity history</div>${historyHtml}`
    + `<div class="section-title">Recent events</div>${eventsHtml}`;
  for (const li of $('vessel-body').querySelectorAll('.panel-events li')) {
    li.addEventListener('click', () => {
      if (state.events.has(li.dataset.id)) selectEvent(li.dataset.id);
    });
  }
}

/** Track span shown around an event: this much before its start and after its end. */
const EVENT_TRACK_MARGIN_MS = 6 * 3600 * 1000;
/** The API's longest track range is 366 days. */
const MAX_TRACK_RANGE_MS = 365 * 24 * 3600 * 1000;

async function openVessel(mmsi, { fly, around }) {
  mmsi = Number(mmsi);
  // Kept for the panel's refreshes (a new position or event of the vessel).
  state.panelAround = around;
  const seq = ++state.panelSeq;
  const known = state.live.get(mmsi);
  state.selected = mmsi;
  map.setFilter('vessel-selected', ['==', ['get', 'mmsi'], mmsi]);
  $('vessel-panel').hidden = false;
  $('vessel-mmsi').textContent = String(mmsi);
  if (!$('vessel-name').dataset.mmsi || Number($('vessel-name').dataset.mmsi) !== mmsi) {
    $('vessel-name').textContent = known?.properties.name || 'Unnamed vessel';
    $('vessel-name').dataset.mmsi = String(mmsi);
    $('vessel-body').innerHTML = '<div class="muted">Loading...</div>';
  }
  let range = state.mode === 'replay' ? { from: isoMs(state.replayAt - 24 * 3600 * 1000), to: isoMs(state.replayAt) } : {};
  let trackTitle = state.mode === 'replay' ? '24 h to replay time' : 'last 24 h';
  if (around) {
    const to = around.end + EVENT_TRACK_MARGIN_MS;
    const from = Math.max(around.start - EVENT_TRACK_MARGIN_MS, to - MAX_TRACK_RANGE_MS);
    range = { from: isoMs(from), to: isoMs(to) };
    trackTitle = 'around the event';
  }
  const [vessel, track] = await Promise.allSettled([
    getJson(`/api/vessels/${mmsi}`),
    getJson(`/api/vessels/${mmsi}/track`, range),
  ]);
  if (seq !== state.panelSeq) return;
  if (vessel.status === 'rejected') {
    $('vessel-body').innerHTML = `<div class="muted">${esc(vessel.reason.status === 404 ? 'Unknown vessel' : vessel.reason.message)}</div>`;
    return;
  }
  const v = vessel.value;
  $('vessel-name').textContent = v.name || 'Unnamed vessel';
  const trackFc = track.status === 'fulfilled' ? track.value : null;
  if (track.status === 'rejected') console.warn('tidewatch: track not loaded:', track.reason.message);
  renderPanel(v, trackFc, trackTitle);
  const source = map.getSource('track');
  if (source) source.setData(trackFc || { type: 'FeatureCollection', features: [] });
  if (fly) {
    const at = v.position ? [v.position.lon, v.position.lat] : known?.geometry.coordinates;
    if (at) map.flyTo({ center: at, zoom: Math.max(map.getZoom(), 9), speed: 1.6 });
  }
}

function refreshPanelPosition() {
  if (state.selected === null || state.mode !== 'live') return;
  const f = state.live.get(state.selected);
  const el = document.getElementById('panel-position');
  if (!f || !el) return;
  const p = f.properties;
  const [lon, lat] = f.geometry.coordinates;
  const cells = el.querySelectorAll('dd');
  if (cells.length < 5) return;
  cells[0].textContent = fmtTime(p._t);
  cells[1].textContent = `${fmtNumber(lat, 5)}, ${fmtNumber(lon, 5)}`;
  cells[2].textContent = fmtNumber(p.sog_knots, 1, 'kn');
  cells[3].textContent = fmtNumber(p.cog_deg, 1, '°');
  cells[4].textContent = fmtNumber(p.heading_deg, 0, '°');
}

function closePanel() {
  state.selected = null;
  state.panelSeq += 1;
  $('vessel-panel').hidden = true;
  $('vessel-name').dataset.mmsi = '';
  map.setFilter('vessel-selected', ['==', ['get', 'mmsi'], -1]);
  const source = map.getSource('track');
  if (source) source.setData({ type: 'FeatureCollection', features: [] });
}

// ---------------------------------------------------------------------------------------------
// Search

function renderSearch(results, q) {
  const list = $('search-results');
  list.hidden = false;
  if (!results.length) {
    list.innerHTML = `<li class="empty">No vessel matches "${esc(q)}"</li>`;
    return;
  }
  list.innerHTML = results.map((r) => `<li data-testid="search-result" data-mmsi="${esc(r.mmsi)}">`
    + `<span class="cat-chip" style="background:${categoryColour(r.ship_category)}">${esc(categoryLabel(r.ship_category))}</span>`
    + `<span>${esc(r.name || 'Unnamed')}</span><span class="muted mono">${esc(r.mmsi)}${r.imo ? ` IMO ${esc(r.imo)}` : ''}${r.flag ? ` ${esc(r.flag)}` : ''}</span></li>`).join('');
  for (const li of list.querySelectorAll('li[data-mmsi]')) {
    li.addEventListener('mousedown', (e) => {
      e.preventDefault();
      pickSearchResult(li.dataset.mmsi);
    });
  }
}

function pickSearchResult(mmsi) {
  $('search-results').hidden = true;
  $('search').value = '';
  $('search').blur();
  openVessel(Number(mmsi), { fly: true });
}

let searchSeq = 0;
const runSearch = debounce(async () => {
  const q = $('search').value.trim();
  const seq = ++searchSeq;
  if (!q) {
    $('search-results').hidden = true;
    return;
  }
  try {
    const answer = await getJson('/api/search', { q, limit: 20 });
    if (seq === searchSeq) renderSearch(answer.results || [], q);
  } catch (e) {
    console.warn('tidewatch: search failed:', e.message);
  }
}, 200);

// ---------------------------------------------------------------------------------------------
// Map layers and interaction

function addLayers() {
  addBasemap(map);
  addVesselImages(map);
  const empty = { type: 'FeatureCollection', features: [] };
  map.addSource('zones', { type: 'geojson', data: empty });
  map.addSource('track', { type: 'geojson', data: empty });
  map.addSource('events', { type: 'geojson', data: empty });
  map.addSource('vessels', { type: 'geojson', data: empty });
  // zone kinds as `tidewatch zones` knows them; any other kind is drawn grey
  // (detect::zones::ZoneKind::as_str)
  const zoneColour = ['match', ['get', 'kind'], 'eez', '#3fb6ff', 'territorial_sea', '#2f7bff', 'port', '#4caf50',
    'anchorage', '#00bfa5', 'area_of_interest', '#ffb300', 'energy_installation', '#e040fb', '#90a4ae'];
  map.addLayer({ id: 'zones-fill', type: 'fill', source: 'zones', paint: { 'fill-color': zoneColour, 'fill-opacity': 0.07 } });
  map.addLayer({
    id: 'zones-line', type: 'line', source: 'zones',
    paint: { 'line-color': zoneColour, 'line-opacity': 0.6, 'line-width': 1.2, 'line-dasharray': [4, 2] },
  });
  map.addLayer({
    id: 'track-line', type: 'line', source: 'track',
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: { 'line-color': '#ffffff', 'line-width': 2, 'line-opacity': 0.85 },
  });
  map.addLayer({
    id: 'event-points', type: 'circle', source: 'events',
    paint: {
      'circle-radius': 6,
      'circle-color': 'rgba(0,0,0,0)',
      'circle-stroke-width': 1.5,
      'circle-stroke-color': ['match', ['get', 'type'], ...Object.entries(EVENT_COLOURS).flat(), '#b0bec5'],
      'circle-stroke-opacity': ['case', ['==', ['get', 'open'], true], 1, 0.45],
    },
  });
  map.addLayer({
    id: 'event-selected', type: 'circle', source: 'events',
    filter: ['==', ['get', 'id'], '__none__'],
    paint: { 'circle-radius': 16, 'circle-color': 'rgba(255,255,255,0.08)', 'circle-stroke-width': 2, 'circle-stroke-color': '#ffffff' },
  });
  map.addLayer({
    id: 'vessel-selected', type: 'circle', source: 'vessels',
    filter: ['==', ['get', 'mmsi'], -1],
    paint: { 'circle-radius': 14, 'circle-color': 'rgba(255,255,255,0.1)', 'circle-stroke-width': 2, 'circle-stroke-color': '#ffffff' },
  });
  map.addLayer({
    id: 'vessels', type: 'symbol', source: 'vessels',
    layout: {
      'icon-image': ['get', '_icon'],
      'icon-rotate': ['get', '_rot'],
      'icon-rotation-alignment': 'map',
      'icon-allow-overlap': true,
      'icon-ignore-placement': true,
      'icon-size': ['interpolate', ['linear'], ['zoom'], 2, 0.6, 6, 0.85, 9, 1.0, 13, 1.3],
    },
    paint: { 'icon-opacity': ['case', ['==', ['get', '_stale'], 1], 0.4, 1] },
  });
}

/** The vessels drawn within `radius` pixels of a point, nearest first. */
function vesselsNear(point, radius) {
  const features = map.queryRenderedFeatures(
    [[point.x - radius, point.y - radius], [point.x + radius, point.y + radius]],
    { layers: ['vessels'] },
  );
  return features
    .map((f) => {
      const p = map.project(f.geometry.coordinates);
      return { f, d: (p.x - point.x) ** 2 + (p.y - point.y) ** 2 };
    })
    .sort((a, b) => a.d - b.d)
    .map((x) => x.f);
}

const hover = new Popup({ closeButton: false, closeOnClick: false, offset: 12, className: 'hover-popup' });

function setupInteraction() {
  map.on('click', (e) => {
    const vessels = vesselsNear(e.point, 8);
    if (vessels.length) {
      openVessel(vessels[0].properties.mmsi, { fly: false });
      return;
    }
    const events = map.queryRenderedFeatures(e.point, { layers: ['event-points'] });
    if (events.length) {
      selectEvent(events[0].properties.id);
      return;
    }
    const zones = map.queryRenderedFeatures(e.point, { layers: ['zones-fill'] });
    if (zones.length) {
      const z = zones[0].properties;
      new Popup({ offset: 6 }).setLngLat(e.lngLat)
        .setHTML(`<strong>${esc(z.name || 'Zone')}</strong><br><span class="muted">${esc(z.kind || '')}</span>`)
        .addTo(map);
    }
  });
  map.on('mousemove', (e) => {
    const vessels = vesselsNear(e.point, 6);
    map.getCanvas().style.cursor = vessels.length ? 'pointer' : '';
    if (!vessels.length) {
      hover.remove();
      return;
    }
    const shown = state.displayedByMmsi.get(vessels[0].properties.mmsi);
    if (!shown) return;
    const p = shown.properties;
    hover.setLngLat(shown.geometry.coordinates)
      .setHTML(`<strong>${esc(p.name || 'Unnamed')}</strong> <span class="muted">${esc(p.mmsi)}</span><br>`
        + `${esc(categoryLabel(p.ship_category))} &middot; ${esc(fmtNumber(p.sog_knots, 1, 'kn'))} &middot; ${esc(fmtTime(p._t))}`)
      .addTo(map);
  });
  map.on('mouseout', () => hover.remove());
  map.on('moveend', onViewportChange);
  map.on('movestart', (e) => {
    if (e.originalEvent) state.framed = true; // a user's pan or zoom, not ours
  });
}

function setupUi() {
  $('vessel-close').addEventListener('click', closePanel);
  $('search').addEventListener('input', runSearch);
  $('search').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') $('search-results').hidden = true;
    if (e.key === 'Enter') {
      const first = $('search-results').querySelector('li[data-mmsi]');
      if (first) pickSearchResult(first.dataset.mmsi);
    }
  });
  $('search').addEventListener('blur', () => setTimeout(() => { $('search-results').hidden = true; }, 150));
  $('time-slider').addEventListener('input', () => {
    stopPlaying();
    const at = Number($('time-slider').value);
    state.mode = 'replay';
    state.replayAt = at;
    state.replayBusy = true; // until the picture at `at` is on the map
    setModeUi();
    replayFromSlider();
  });
  $('event-list').addEventListener('click', (e) => {
    const li = e.target.closest('.event-item');
    if (li) selectEvent(li.dataset.id);
  });
  $('play-button').addEventListener('click', togglePlay);
  $('live-button').addEventListener('click', goLive);
  $('alert-banner').addEventListener('click', () => {
    const id = $('alert-banner').dataset.eventId;
    if (id) selectEvent(id);
  });
  const legend = $('legend');
  legend.innerHTML = CATEGORIES.map(([, label, colour]) => `<span class="item"><span class="swatch" style="background:${colour}"></span>${esc(label)}</span>`).join('');
}

function fitToVessels() {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  for (const f of state.live.values()) {
    const [lon, lat] = f.geometry.coordinates;
    w = Math.min(w, lon); e = Math.max(e, lon); s = Math.min(s, lat); n = Math.max(n, lat);
  }
  if (!Number.isFinite(w)) return;
  if (e - w < 0.05 && n - s < 0.05) {
    map.jumpTo({ center: [(w + e) / 2, (s + n) / 2], zoom: 10 });
  } else {
    const right = $('vessel-panel').hidden ? 40 : 40 + $('vessel-panel').offsetWidth;
    map.fitBounds([[w, s], [e, n]], { padding: { top: 40, bottom: 40, left: 40, right }, maxZoom: 10, animate: false });
  }
}

async function start() {
  setupUi();
  addLayers();
  setupInteraction();
  // A token typed at the prompt: the stream (refused without one) connects with it.
  window.addEventListener(TOKEN_EVENT, () => connectStream());
  connectStream();
  await Promise.all([pollHealth(), loadLiveSnapshot(), loadEvents(), (async () => {
    try {
      map.getSource('zones').setData(await getJson('/api/zones'));
    } catch (e) {
      console.warn('tidewatch: zones not loaded:', e.message);
    }
  })()]);
  if (state.live.size > 0) {
    fitToVessels();
    state.framed = true;
  }
  state.ready = true;
  state.dirty = true;
  flush();
  setInterval(flush, FLUSH_MS);
  setInterval(pollHealth, HEALTH_MS);
}

map.on('load', () => {
  start().catch((e) => console.error('tidewatch: the map could not start:', e));
});

// Test hook for the browser end-to-end test (crates/web/e2e/run.mjs); read-only views of state.
window.__tidewatch = {
  ready: () => state.ready && map.loaded(),
  mode: () => state.mode,
  liveCount: () => state.live.size,
  displayedCount: () => state.displayed.length,
  /** Distinct vessels MapLibre has drawn in the viewport. */
  vesselCount: () => new Set(map.queryRenderedFeatures({ layers: ['vessels'] }).map((f) => f.properties.mmsi)).size,
  /** Drawn vessels with their page coordinates, for clicking. */
  renderedVessels: () => {
    const rect = map.getCanvas().getBoundingClientRect();
    const seen = new Set();
    const out = [];
    for (const f of map.queryRenderedFeatures({ layers: ['vessels'] })) {
      if (seen.has(f.properties.mmsi)) continue;
      seen.add(f.properties.mmsi);
      const p = map.project(f.geometry.coordinates);
      out.push({ mmsi: f.properties.mmsi, x: rect.left + p.x, y: rect.top + p.y });
    }
    return out;
  },
  /** mmsi -> [lon, lat] of the picture on the map now (live or replay). */
  displayedPositions: () => Object.fromEntries(state.displayed.map((f) => [f.properties.mmsi, f.geometry.coordinates])),
  livePositions: () => Object.fromEntries(Array.from(state.live.values()).map((f) => [f.properties.mmsi, f.geometry.coordinates])),
  replayAt: () => state.replayAt,
  /** The newest position time (ms) in the picture on the map. */
  displayedNewestTime: () => state.displayed.reduce((m, f) => (f.properties._t !== null && (m === null || f.properties._t > m) ? f.properties._t : m), null),
  /** The time of the picture on the map: null when live. */
  displayedAt: () => state.displayedAt,
  replayBusy: () => state.replayBusy,
  selected: () => state.selected,
  eventCount: (type) => Array.from(state.events.values()).filter((f) => !type || f.properties.type === type).length,
  badMessages: () => state.badMessages,
  /** Stream and redraw counters: positions in, live redraws and their main-thread cost. */
  stats: () => ({
    positionsIn: state.positionsIn, flushes: state.flushes, flushMsMax: state.flushMsMax,
    flushMsMean: state.flushes ? state.flushMsTotal / state.flushes : 0,
  }),
  /** Frames every live vessel (for a screenshot of the whole picture). */
  fitAll: () => fitToVessels(),
  map,
};
