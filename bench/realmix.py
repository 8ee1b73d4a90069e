#!/usr/bin/env python3
"""Builds a real-mix ingest input from the shared captures (../shared/data/ais).

Every complete AIS message of the captures (single sentences and whole multi-part groups, as
they were received) is replayed as a fusion centre receives it from many partners:

- tag-blocked lines `\\s:stNN,c:SECONDS*hh\\!AIVDM...` from 50 coastal stations, the receive
  time advancing one second every 100 lines; message time is that receive time refined by the
  report's own UTC second, so reports are up to +-30 s out of order, as real feeds are;
- 30 % of messages heard by a second station too (a copy a few lines later, up to 2 s later);
- 10 % also delivered by one of three satellites 5-40 minutes late (placed that far down the
  file, with their receive time near the original);
- the captures are replayed in passes until the wanted number of lines is reached (the same
  vessels again, about 25 minutes of message time later; `--new-vessels` moves each pass's
  MMSIs instead, re-encoding the payload and its checksum, for a picture with many more
  vessels).

    bench/realmix.py OUT.nmea [--lines 1000000] [--seed 1] [--new-vessels]

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
    a = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"realmix: {DATA} not found (the shared captures sit beside the repository)")
    rng = random.Random(a.seed)
    pool = messages()
    stations = [f"st{i:02d}" for i in range(50)]
    out = []  # (delivery key in lines, sequence, text)
    n = 0
    pass_no = 0
    while n < a.lines:
        shift = pass_no * 7_919_000 if a.new_vessels else 0
        for group in pool:
            if n >= a.lines:
                break
            t_s = T0 + n // 100
            first = with_mmsi(group[0][6], shift)
            payloads = [first] + [g[6] for g in group[1:]]
            st = rng.choice(stations)
            for f, p in zip(group, payloads):
                out.append((n, len(out), line(st, t_s, f, p)))
                n += 1
            if rng.random() < 0.3:
                st2 = rng.choice(stations)
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
