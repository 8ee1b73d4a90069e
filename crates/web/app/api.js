// HTTP helpers and formatting shared by the modules. Every request goes to the page's own origin.

/** GET a JSON document; throws an Error carrying the API's `message` on a 4xx/5xx. */
export async function getJson(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const response = await fetch(url);
  if (!response.ok) {
    let reason = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.message) reason = `${body.error || response.status}: ${body.message}`;
    } catch (_) {
      // not JSON: keep the status line
    }
    const error = new Error(`${url.pathname}: ${reason}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

/** Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SSZ` (UTC), or '-' */
export function fmtTime(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** ISO 8601 UTC with milliseconds, the API's query form. */
export function isoMs(ms) {
  return new Date(ms).toISOString();
}

export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return '-';
  const minutes = Math.round(ms / 60000);
  if (minutes < 60) return `${minutes} min`;
  const hours = minutes / 60;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} d`;
}

export function fmtNumber(v, digits, unit) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '-';
  return `${Number(v).toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

/** Text for HTML: everything from the API is escaped before it reaches innerHTML. */
export function esc(value) {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
