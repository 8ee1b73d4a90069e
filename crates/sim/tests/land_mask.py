#!/usr/bin/env python3
"""Land-mask checks for the simulator, with the 30-arc-second mask of PyPI `global-land-mask`.

    land_mask.py lanes LANES_TOML
        Every lane leg (great circle, sampled every 300 m along and every 250 m across its
        full half width plus 600 m on both sides), and every port anchorage (centre, half radius, radius),
        must be at sea.
    land_mask.py positions DECODED_CSV TRUTH_JSONL
        Every vessel position (types 1-3, 18, 19, 27) decoded from a simulation must be at sea,
        except those a `spoof_land` truth event says were reported on land, which must all be
        on land.

Prints a JSON summary; exits 1 when a check fails, 3 when the mask is not installed.
"""
import csv
import json
import math
import sys
from datetime import datetime

try:
    import numpy as np
    from global_land_mask import globe
except ImportError as e:  # the caller skips the test
    print(f"global-land-mask not installed: {e}")
    sys.exit(3)

R = 6371008.8


def dest(lat, lon, brg, d):
    la, lo, b, a = math.radians(lat), math.radians(lon), math.radians(brg), d / R
    la2 = math.asin(math.sin(la) * math.cos(a) + math.cos(la) * math.sin(a) * math.cos(b))
    lo2 = lo + math.atan2(math.sin(b) * math.sin(a) * math.cos(la), math.cos(a) - math.sin(la) * math.sin(la2))
    return math.degrees(la2), math.degrees(lo2)


def bearing(lat1, lon1, lat2, lon2):
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def dist(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * R * math.asin(math.sqrt(a))


def dest_np(lat, lon, brg, d):
    la, lo, b, a = np.radians(lat), np.radians(lon), np.radians(brg), d / R
    la2 = np.arcsin(np.sin(la) * np.cos(a) + np.cos(la) * np.sin(a) * np.cos(b))
    lo2 = lo + np.arctan2(np.sin(b) * np.sin(a) * np.cos(la), np.cos(a) - np.sin(la) * np.sin(la2))
    return np.degrees(la2), np.degrees(lo2)


def lanes(path):
    import tomllib

    data = tomllib.load(open(path, "rb"))
    bad = []
    samples = 0
    for lane in data.get("lane", []):
        pts = lane["points"]
        for i in range(len(pts) - 1):
            (lo1, la1, w1), (lo2, la2, w2) = pts[i], pts[i + 1]
            length, b = dist(la1, lo1, la2, lo2), bearing(la1, lo1, la2, lo2)
            n = max(2, int(length / 300))
            f = np.linspace(0.0, 1.0, n + 1)
            la, lo = dest_np(np.full_like(f, la1), np.full_like(f, lo1), np.full_like(f, b), length * f)
            # Local direction toward the leg's end (the great circle's bearing changes).
            p1, p2, dl = np.radians(la), math.radians(la2), np.radians(lo2 - lo)
            bb = np.degrees(np.arctan2(np.sin(dl) * math.cos(p2), np.cos(p1) * math.sin(p2) - np.sin(p1) * math.cos(p2) * np.cos(dl)))
            bb[-1] = b
            w = (w1 + (w2 - w1) * f) * 1852 + 600
            across = np.linspace(-1.0, 1.0, max(3, int(2 * w.max() / 250) + 1))
            for x in across:
                qa, qo = dest_np(la, lo, bb + 90, w * x)
                land = globe.is_land(qa, qo)
                samples += len(qa)
                for k in np.flatnonzero(land)[:3]:
                    bad.append({"lane": lane["name"], "leg": i, "lat": round(float(qa[k]), 4), "lon": round(float(qo[k]), 4), "across": round(float(x), 2)})
    for port in data.get("port", []):
        lo, la = port["anchorage"]
        r = port.get("radius_nm", 1) * 1852
        for brg in range(0, 360, 15):
            for rr in (0, r / 2, r):
                q = dest(la, lo, brg, rr) if rr else (la, lo)
                samples += 1
                if globe.is_land(*q):
                    bad.append({"port": port["code"], "lat": round(q[0], 4), "lon": round(q[1], 4)})
    legs = sorted({(b["lane"], b["leg"]) for b in bad if "lane" in b})
    print(json.dumps({"samples": samples, "on_land": len(bad), "legs": legs, "examples": bad[:20]}))
    return not bad


def ms(iso):
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def positions(csv_path, truth_path):
    spoof = []
    for line in open(truth_path):
        e = json.loads(line)
        if e["kind"] == "spoof_land":
            spoof.append((e["vessels"][0]["mmsi"], ms(e["start"]) - 1000, ms(e["end"]) + 1000))
    lats, lons, spoofed = [], [], []
    for row in csv.DictReader(open(csv_path)):
        if row["msg_type"] not in ("1", "2", "3", "18", "19", "27") or not row["lat"] or not row["lon"]:
            continue
        lats.append(float(row["lat"]))
        lons.append(float(row["lon"]))
        t = ms(row["rx_time"]) if row["rx_time"] else 0
        m = int(row["mmsi"])
        spoofed.append(any(m == sm and a <= t <= b for sm, a, b in spoof))
    lats, lons, spoofed = np.array(lats), np.array(lons), np.array(spoofed, dtype=bool)
    land = globe.is_land(lats, lons) if len(lats) else np.array([], dtype=bool)
    wrong = land & ~spoofed
    spoof_at_sea = spoofed & ~land
    examples = [{"lat": float(lats[i]), "lon": float(lons[i])} for i in np.flatnonzero(wrong)[:10]]
    print(json.dumps({
        "positions": int(len(lats)),
        "on_land": int(wrong.sum()),
        "spoofed_on_land": int((spoofed & land).sum()),
        "spoofed_at_sea": int(spoof_at_sea.sum()),
        "examples": examples,
    }))
    return not wrong.any() and not spoof_at_sea.any() and (not spoof or spoofed.any())


if __name__ == "__main__":
    ok = lanes(sys.argv[2]) if sys.argv[1] == "lanes" else positions(sys.argv[2], sys.argv[3])
    sys.exit(0 if ok else 1)
