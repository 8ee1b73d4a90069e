// HTTP helpers and formatting shared by the modules. Every request goes to the page's own origin.

const TOKEN_KEY = 'tidewatch-token';

// A token given in the page's fragment (`#token=tw_...`, never sent to the server by the
// browser) is kept for this tab and taken out of the address bar.
(function takeTokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, '', window.location.pathname + window.location.search);
})();

/** The API token of this tab (issue 21), or '' when the server runs open. */
export function apiToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/** The event the page hears when a token is given at the prompt (the stream reconnects). */
export const TOKEN_EVENT = 'tidewatch-token';

/** Asks for a token (the server answered 401 to a request sent with `sentWith`); true when
 * there is a new one to try. Requests that went out together get their 401s together: the
 * first asks, and the others try the token it got instead of asking again. */
function askToken(sentWith) {
  if (apiToken() !== sentWith) return true;
  const t = window.prompt('This Tidewatch server needs an API token (tidewatch token create):');
  if (!t) return false;
  sessionStorage.setItem(TOKEN_KEY, t.trim());
  window.dispatchEvent(new Event(TOKEN_EVENT));
  return true;
}

/** GET a JSON document; throws an Error carrying the API's `message` on a 4xx/5xx. A 401
 * asks for a token once and tries again. */
export async function getJson(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const send = (t) => fetch(url, t ? { headers: { Authorization: `Bearer ${t}` } } : undefined);
  const sentWith = apiToken();
  let response = await send(sentWith);
  if (response.status === 401 && askToken(sentWith)) response = await send(apiToken());
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
