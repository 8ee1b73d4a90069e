// The offline basemap: land and country borders from the `world-atlas` npm package (Natural
// Earth 1:50m, TopoJSON) converted with `topojson-client` in the browser, plus a graticule. No
// tile server, no glyphs, no network: the style has no `glyphs` and no text layers.

import { feature, mesh } from 'topojson-client';
import countries from 'world-atlas/countries-50m.json';

export const BASE_STYLE = {
  version: 8,
  sources: {},
  layers: [{ id: 'sea', type: 'background', paint: { 'background-color': '#0a1826' } }],
};

function graticule(stepDeg) {
  const lines = [];
  for (let lon = -180; lon <= 180; lon += stepDeg) {
    const coords = [];
    for (let lat = -80; lat <= 80; lat += 2) coords.push([lon, lat]);
    lines.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: coords } });
  }
  for (let lat = -80; lat <= 80; lat += stepDeg) {
    const coords = [];
    for (let lon = -180; lon <= 180; lon += 2) coords.push([lon, lat]);
    lines.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: coords } });
  }
  return { type: 'FeatureCollection', features: lines };
}

export function addBasemap(map) {
  map.addSource('graticule', { type: 'geojson', data: graticule(10) });
  map.addSource('land', {
    type: 'geojson',
    data: feature(countries, countries.objects.land),
    attribution: 'Natural Earth via world-atlas',
  });
  map.addSource('borders', {
    type: 'geojson',
    data: mesh(countries, countries.objects.countries, (a, b) => a !== b),
  });
  map.addLayer({ id: 'graticule', type: 'line', source: 'graticule', paint: { 'line-color': '#15293d', 'line-width': 0.6 } });
  map.addLayer({ id: 'land', type: 'fill', source: 'land', paint: { 'fill-color': '#1d2936' } });
  map.addLayer({ id: 'coast', type: 'line', source: 'land', paint: { 'line-color': '#34475c', 'line-width': 0.8 } });
  map.addLayer({
    id: 'borders', type: 'line', source: 'borders',
    paint: { 'line-color': '#3b4b5e', 'line-width': 0.6, 'line-dasharray': [3, 2] },
  });
}
