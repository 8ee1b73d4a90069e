#!/usr/bin/env python3
"""Decodes a simulation's output with pyais (PyPI), an independent decoder, and checks it.

    pyais_check.py NMEA TRUTH_JSONL STATS_JSON

- every line pyais rejects is one the simulator damaged on purpose (the stats count them);
- every decoded field is in range (positions, speed, course, heading);
- each scripted vessel of the truth broadcasts the identity the scenario gave it (name, call
  sign, IMO, ship type) in its static reports (type 5, or 24 A and B for class B);
- the long-range (27), base station (4) and class B (18, 24) messages are there.

Prints a JSON summary; exits 1 when a check fails, 3 when pyais is not installed.
"""
import json
import sys
from collections import defaultdict

try:
    from pyais.stream import FileReaderStream
except ImportError as e:
    print(f"pyais not installed: {e}")
    sys.exit(3)


def main(nmea, truth_path, stats_path):
    stats = json.load(open(stats_path))
    damaged = sum(stats["damaged"].values())
    vessels = {}
    for line in open(truth_path):
        e = json.loads(line)
        if e["kind"] == "vessel":
            vessels[e["vessels"][0]["mmsi"]] = e
    by_type = defaultdict(int)
    identity = defaultdict(lambda: defaultdict(set))
    invalid = errors = decoded = 0
    problems = []
    for msg in FileReaderStream(nmea):
        if not msg.is_valid:
            invalid += 1
            continue
        try:
            d = msg.decode().asdict()
        except Exception:  # noqa: BLE001 - pyais raises several kinds on malformed payloads
            errors += 1
            continue
        decoded += 1
        t = d["msg_type"]
        by_type[t] += 1
        lat, lon = d.get("lat"), d.get("lon")
        if lat is not None and not (-90 <= lat <= 91 and -180 <= lon <= 181):
            problems.append(f"type {t} position {lat},{lon}")
        if t in (1, 2, 3, 18):
            if not (0 <= d["speed"] <= 102.3 and 0 <= d["course"] <= 360):
                problems.append(f"type {t} speed {d['speed']} course {d['course']}")
            if not (0 <= d["heading"] < 360 or d["heading"] == 511):
                problems.append(f"type {t} heading {d['heading']}")
        m = d["mmsi"]
        if m in vessels:
            if t == 5:
                identity[m]["name"].add(d["shipname"])
                identity[m]["callsign"].add(d["callsign"])
                identity[m]["imo"].add(d["imo"])
                identity[m]["ship_type"].add(int(d["ship_type"]))
            elif t == 24 and d.get("partno") == 0:
                identity[m]["name"].add(d["shipname"])
            elif t == 24:
                identity[m]["callsign"].add(d["callsign"])
                identity[m]["ship_type"].add(int(d["ship_type"]))
    wrong = []
    heard = 0
    for m, e in vessels.items():
        got = identity.get(m)
        if not got:
            continue  # never heard (out of coverage), nothing to compare
        heard += 1
        want = {
            "name": e["vessels"][0]["name"],
            "callsign": e["callsign"],
            "ship_type": e["ship_type"],
        }
        if "imo" in e and e["class"] == "A":
            want["imo"] = e["imo"]
        for k, v in want.items():
            if got[k] and v not in got[k]:
                wrong.append({"mmsi": m, "field": k, "want": v, "got": sorted(map(str, got[k]))[:3]})
    summary = {
        "decoded": decoded,
        "invalid_checksum": invalid,
        "decode_errors": errors,
        "damaged_by_simulator": damaged,
        "by_type": dict(sorted(by_type.items())),
        "scripted_vessels_heard": heard,
        "identity_mismatches": wrong[:10],
        "field_problems": problems[:10],
    }
    print(json.dumps(summary))
    ok = (
        decoded > 0
        and invalid + errors <= damaged
        and not wrong
        and not problems
        and heard > 0
        and all(by_type.get(t, 0) > 0 for t in (1, 4, 5, 18, 24, 27))
    )
    return ok


if __name__ == "__main__":
    sys.exit(0 if main(*sys.argv[1:4]) else 1)
