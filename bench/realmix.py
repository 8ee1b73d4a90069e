#!/usr/bin/env python3
"""Builds a real-mix ingest input from the shared captures (../shared/data/ais).

Every complete AIS message of the captures (single sentences and whole multi-part groups, as
they were received) is replayed as a fusion centre receives it from many partners:

- tag-blocked lines `\\s:stNN,c:SECONDS*hh\\!AIVDM...` from 50 coastal stations, the receive
  time advancing one second every 100 lines; message time is that receive time refined by the
  report's own UTC second, so reports are up to +-30 s out of order, as real feeds are;
- a coastal station hears the vessels in its area: the sea is cut into 0.5-degree cells, each
  cell covered by one of the 50 stations (a fixed hash), and a message goes to the station of
  the cell of the vessel's latest position (static reports too; a vessel with no position
  yet: a station from its MMSI); `--random-stations` draws a station per message instead (every
  vessel heard by every station: the worst case for per-station provenance);
- 30 % of messages heard by a second station too (a copy a few lines later, up to 2 s later):
  the next station by number after the area's (a random one with `--random-stations`);
- 10 % also delivered by one of three satellites 5-40 minutes late (placed that far down the
  file, with their receive time near the original);
- the captures are replayed in passes until the wanted number of lines is reached (the same
  vessels again, about 25 minutes of message time later; `--new-vessels` moves each pass's
  MMSIs instead, re-encoding the payload and its checksum, for a picture with many more
  vessels).

    bench/realmix.py OUT.nmea [--lines 1000000] [--seed 1] [--new-vessels] [--random-stations]

Deterministic for a seed. Written for the ingest benchmark (bench/ingest); the captures stay
in ../shared and are never copied into the repository.
"""
import argparse
import gzip
import pathlib
import random
import re

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "ais"
SENTENCE = re.compile(rb"!([A-Z]{2})(VD[MO]),(\d),(\d),(\d?),([AB12]?),([0-9:;<=>?@A-W`a-w]*),(\d)\*[0-9A-Fa-f]{2}")
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def checksum(body: str) -> str:
    c = 0
    for ch in body:
        c ^= ord(ch)
    return f"{c:02X}"


def messages():
    """Complete messages of every capture, as lists of (talker, kind, count, num, seq, chan,
    payload, fill), in capture order."""
    out = []
    for path in sorted(DATA.rglob("*")):
        if not path.is_file() or path.suffix in (".csv", ".md") or path.name == "README.md":
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        group = []
        for m in SENTENCE.finditer(data):
            f = [x.decode() for x in m.groups()]
            count, num = int(f[2]), int(f[3])
            if num == 1:
                group = [f]
            elif group and num == len(group) + 1 and int(group[0][2]) == count:
                group.append(f)
            else:
                group = []
                continue
            if len(group) == count:
                out.append(group)
                group = []
    return out


def bits_of(payload):
    v = 0
    for ch in payload:
        c = ord(ch) - 48
        if c > 40:
            c -= 8
        v = (v << 6) | c
    return v, 6 * len(payload)


def armor(v, n):
    chars = []
    for shift in range(n - 6, -1, -6):
        c = (v >> shift) & 63
        chars.append(chr(c + 48 if c < 40 else c + 56))
    return "".join(chars)


def with_mmsi(payload, shift):
    """The payload with its MMSI (bits 8-37) moved by `shift` (kept nine digits)."""
    if shift == 0 or len(payload) < 7:
        return payload
    v, n = bits_of(payload)
    mmsi = (v >> (n - 38)) & ((1 << 30) - 1)
    new = 100_000_000 + (mmsi + shift) % 900_000_000
    mask = ((1 << 30) - 1) << (n - 38)
    v = (v & ~mask) | (new << (n - 38))
    return armor(v, n)


def position(payload):
    """(lat, lon) of a position report (types 1-3, 18, 19), or None."""
    if not payload:
        return None
    kind = ord(payload[0]) - 48
    if kind > 40:
        kind -= 8
    if kind in (1, 2, 3):
        lon_at = 61
    elif kind in (18, 19):
        lon_at = 57
    else:
        return None
    v, n = bits_of(payload)
    if n < lon_at + 55:
        return None

    def signed(at, width):
        x = (v >> (n - at - width)) & ((1 << width) - 1)
        return x - (1 << width) if x >> (width - 1) else x

    lon = signed(lon_at, 28) / 600_000
    lat = signed(lon_at + 28, 27) / 600_000
    if abs(lat) > 90 or abs(lon) > 180:
        return None
    return lat, lon


def coverage(pool, n_stations):
    """Per message of the pool, the index of the station whose area holds the vessel's latest
    position (0.5-degree cells, each given to a station by a fixed hash)."""
    cell_of = {}
    out = []
    for group in pool:
        v, _ = bits_of(group[0][6][:7])
        mmsi = (v >> 4) & ((1 << 30) - 1) if len(group[0][6]) >= 7 else 0
        p = position(group[0][6]) if len(group) == 1 else None
        if p is not None:
            cell_of[mmsi] = (int((p[0] + 90) * 2), int((p[1] + 180) * 2))
        cell = cell_of.get(mmsi)
        if cell is None:
            out.append(mmsi % n_stations)
        else:
            out.append((cell[0] * 73_856_093 ^ cell[1] * 19_349_663) % n_stations)
    return out


def line(station, t_s, f, payload):
    tag = f"s:{station},c:{t_s}"
    body = f"{f[0]}{f[1]},{f[2]},{f[3]},{f[4]},{f[5]},{payload},{f[7]}"
    return f"\\{tag}*{checksum(tag)}\\!{body}*{checksum(body)}\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--new-vessels", action="store_true",
                    help="each pass moves the MMSIs: other vessels")
    ap.add_argument("--random-stations", action="store_true",
                    help="a random station per message instead of the station of the area")
    a = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"realmix: {DATA} not found (the shared captures sit beside the repository)")
    rng = random.Random(a.seed)
    pool = messages()
    stations = [f"st{i:02d}" for i in range(50)]
    area = coverage(pool, len(stations))
    out = []  # (delivery key in lines, sequence, text)
    n = 0
    pass_no = 0
    while n < a.lines:
        shift = pass_no * 7_919_000 if a.new_vessels else 0
        for group, home in zip(pool, area):
            if n >= a.lines:
                break
            t_s = T0 + n // 100
            first = with_mmsi(group[0][6], shift)
            payloads = [first] + [g[6] for g in group[1:]]
            st = rng.choice(stations) if a.random_stations else stations[home]
            for f, p in zip(group, payloads):
                out.append((n, len(out), line(st, t_s, f, p)))
                n += 1
            if rng.random() < 0.3:
                st2 = (rng.choice(stations) if a.random_stations
                       else stations[(home + 1) % len(stations)])
                later = n + rng.randrange(0, 200)
                dt = rng.randrange(0, 3)
                for f, p in zip(group, payloads):
                    out.append((later, len(out), line(st2, t_s + dt, f, p)))
                    n += 1
            if rng.random() < 0.1:
                sat = f"sat{rng.randrange(3)}"
                delay_s = rng.randrange(300, 2400)
                dt = rng.randrange(0, 60)
                for f, p in zip(group, payloads):
                    out.append((n + delay_s * 100, len(out), line(sat, t_s + dt, f, p)))
                    n += 1
        pass_no += 1
    out.sort()
    with open(a.out, "w") as fh:
        fh.writelines(text for _, _, text in out)
    print(f"realmix: {len(out)} lines from {len(pool)} messages of the shared captures, "
          f"{pass_no} passes -> {a.out}")


if __name__ == "__main__":
    main()
