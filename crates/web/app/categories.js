// Ship categories (the API's `ship_category`), their colours, and the vessel symbols drawn at run
// time: an arrow for a vessel with a heading or course (rotated by the map), a diamond without.

export const CATEGORIES = [
  ['cargo', 'Cargo', '#4caf50'],
  ['tanker', 'Tanker', '#ff7043'],
  ['passenger', 'Passenger', '#29b6f6'],
  ['fishing', 'Fishing', '#ffb300'],
  ['military', 'Military', '#ff2d95'],
  ['law_enforcement', 'Law enforcement', '#2f7bff'],
  ['tug', 'Tug', '#00bfa5'],
  ['hsc', 'High speed craft', '#ffee58'],
  ['sailing', 'Sailing', '#b0bec5'],
  ['pleasure', 'Pleasure', '#ce93d8'],
  ['other', 'Other', '#a1887f'],
  ['unknown', 'Unknown', '#8a8f98'],
];

const COLOUR = new Map(CATEGORIES.map(([k, , c]) => [k, c]));
const LABEL = new Map(CATEGORIES.map(([k, l]) => [k, l]));

export function categoryColour(category) {
  return COLOUR.get(category) || COLOUR.get('unknown');
}

export function categoryLabel(category) {
  return LABEL.get(category) || category || 'Unknown';
}

/** The known category, or 'unknown' (so every feature has an icon). */
export function categoryKey(category) {
  return COLOUR.has(category) ? category : 'unknown';
}

const SIZE = 40; // pixels of the image, drawn at pixelRatio 2: 20 CSS pixels on the map

function draw(shape, colour) {
  const canvas = document.createElement('canvas');
  canvas.width = SIZE;
  canvas.height = SIZE;
  const g = canvas.getContext('2d');
  g.beginPath();
  if (shape === 'arrow') {
    // pointing north; the map rotates it by heading (else course)
    g.moveTo(SIZE / 2, 3);
    g.lineTo(SIZE - 9, SIZE - 5);
    g.lineTo(SIZE / 2, SIZE - 13);
    g.lineTo(9, SIZE - 5);
  } else {
    g.moveTo(SIZE / 2, 9);
    g.lineTo(SIZE - 9, SIZE / 2);
    g.lineTo(SIZE / 2, SIZE - 9);
    g.lineTo(9, SIZE / 2);
  }
  g.closePath();
  g.fillStyle = colour;
  g.fill();
  g.lineWidth = 2.5;
  g.strokeStyle = 'rgba(5, 10, 16, 0.9)';
  g.stroke();
  return g.getImageData(0, 0, SIZE, SIZE);
}

/** Adds `arrow-<category>` and `dot-<category>` for every category to the map's sprite. */
export function addVesselImages(map) {
  for (const [key, , colour] of CATEGORIES) {
    map.addImage(`arrow-${key}`, draw('arrow', colour), { pixelRatio: 2 });
    map.addImage(`dot-${key}`, draw('dot', colour), { pixelRatio: 2 });
  }
}

export const EVENT_COLOURS = {
  escort: '#ff2d95',
  shadowing: '#ff5a5f',
  encounter: '#ffb300',
  loitering: '#ffd54f',
  close_approach: '#ff7043',
  swarm: '#e040fb',
  survey: '#7c4dff',
  zone_visit: '#3fb6ff',
  port_call: '#4caf50',
  ais_gap: '#90a4ae',
  spoof_jump: '#ff1744',
  spoof_land: '#ff1744',
  spoof_circle: '#ff1744',
  shared_mmsi: '#f50057',
  identity_change: '#18ffff',
  watchlist: '#ff9100',
  dark_vessel: '#ffffff',
};

export function eventColour(type) {
  return EVENT_COLOURS[type] || '#b0bec5';
}
