#!/usr/bin/env python3
"""Cross-check Tidewatch's decoder against pyais, aiscat and (when installed) gpsd's gpsdecode,
field by field.

Every shared capture is decoded by `tidewatch decode --format jsonl --payload`. Each decoded
message's armored payload is re-wrapped as NMEA sentences and decoded by pyais and aiscat, and
every field the peer also decodes is compared after mapping names and "not available"
conventions (Tidewatch writes null; peers write sentinels such as heading 511 or lat 91).

Prints, per peer and message type: messages compared, messages identical on all common fields,
messages whose every difference falls in a known, documented class (EXPLAINED, each naming the
rule that decides it), and the fields that disagree with examples. Exit status 1 when the share
of messages that are identical or explained is below --min-agreement per cent for any peer.
"""
import argparse
import collections
import json
import math
import gzip
import pathlib
import shutil
import subprocess
import sys

import aiscat
import pyais

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "ais"


def sentences(payload, fill):
    """Armored payload -> NMEA sentences of at most 60 payload characters."""
    chunks = [payload[i:i + 60] for i in range(0, len(payload), 60)] or [""]
    out = []
    for k, c in enumerate(chunks):
        f = fill if k == len(chunks) - 1 else 0
        seq = "1" if len(chunks) > 1 else ""
        body = f"AIVDM,{len(chunks)},{k + 1},{seq},A,{c},{f}"
        cs = 0
        for ch in body:
            cs ^= ord(ch)
        out.append(f"!{body}*{cs:02X}")
    return out


def num(v):
    if isinstance(v, bool):
        return int(v)
    if hasattr(v, "value"):  # enums
        return v.value
    return v


def text(v):
    if v is None:
        return None
    v = str(v)
    if "@" in v:
        v = v[: v.index("@")]
    return v.rstrip()


# Tidewatch field -> (pyais name, aiscat name, kind, tolerance, na). kind: i exact int, f float
# with tolerance, b bool, t text. `na` is the set of peer values meaning "not available", or a
# predicate: Tidewatch writes null both for the standard's sentinel and for values outside the
# field's valid range (ITU-R M.1371-5 Annex 2, Table 45: lat +-90, lon +-180, COG < 360,
# heading < 360, SOG < 102.3; other values "should not be used"); peers pass those through.
def above(limit):
    return lambda v: v is not None and abs(float(v)) > limit


def at_least(limit):
    return lambda v: v is not None and float(v) >= limit


NA_LAT, NA_LON = above(90), above(180)
LATLON = {"lat": ("lat", "lat", "f", 1e-5, NA_LAT), "lon": ("lon", "lon", "f", 1e-5, NA_LON)}
COMMON = {"repeat": ("repeat", "repeat", "i", 0, set())}
DIMS = {k: (k, k, "i", 0, {0}) for k in ("to_bow", "to_stern", "to_port", "to_starboard")}
# Ship type 0 is "not available"; reserved codes (1-19, 100-255) are output as transmitted.
SHIPTYPE_NA = {0}


def fields_for(t, msg):
    f = dict(COMMON)
    if t in (1, 2, 3):
        f.update(LATLON)
        f.update({
            "status": ("status", "status", "i", 0, {15}),
            "speed": ("speed", "speed", "f", 0.051, at_least(102.3)),
            "accuracy": ("accuracy", "accuracy", "b", 0, set()),
            "course": ("course", "course", "f", 0.051, at_least(360)),
            "heading": ("heading", "heading", "i", 0, at_least(360)),
            "second": ("second", "second", "i", 0, {60}),
            "maneuver": ("maneuver", "maneuver", "i", 0, {0}),
            "raim": ("raim", "raim", "b", 0, set()),
            "radio": ("radio", "radio", "i", 0, set()),
        })
    elif t in (4, 11):
        f.update(LATLON)
        f.update({
            "accuracy": ("accuracy", "accuracy", "b", 0, set()),
            "epfd": ("epfd", "epfd", "i", 0, {0}),
            "raim": ("raim", "raim", "b", 0, set()),
            "radio": ("radio", "radio", "i", 0, set()),
        })
    elif t == 5:
        f.update(DIMS)
        f.update({
            "imo": ("imo", "imo", "i", 0, {0}),
            "ais_version": ("ais_version", "ais_version", "i", 0, set()),
            "callsign": ("callsign", "callsign", "t", 0, set()),
            "shipname": ("shipname", "shipname", "t", 0, set()),
            "shiptype": ("ship_type", "shiptype", "i", 0, SHIPTYPE_NA),
            "epfd": ("epfd", "epfd", "i", 0, {0}),
            "draught": ("draught", "draught", "f", 0.051, {0, 0.0}),
            "destination": ("destination", "destination", "t", 0, set()),
            "dte": ("dte", "dte", "b", 0, set()),
        })
    elif t == 9:
        f.update(LATLON)
        f.update({
            "alt": ("alt", "alt", "i", 0, {4095}),
            "speed": ("speed", "speed", "f", 0.5, at_least(1023)),
            "course": ("course", "course", "f", 0.051, at_least(360)),
            "second": ("second", "second", "i", 0, {60}),
            "dte": ("dte", "dte", "b", 0, set()),
            "assigned": ("assigned", "assigned", "b", 0, set()),
            "raim": ("raim", "raim", "b", 0, set()),
            "radio": ("radio", "radio", "i", 0, set()),
        })
    elif t in (18, 19):
        f.update(LATLON)
        f.update({
            "speed": ("speed", "speed", "f", 0.051, at_least(102.3)),
            "accuracy": ("accuracy", "accuracy", "b", 0, set()),
            "course": ("course", "course", "f", 0.051, at_least(360)),
            "heading": ("heading", "heading", "i", 0, at_least(360)),
            "second": ("second", "second", "i", 0, {60}),
            "raim": ("raim", "raim", "b", 0, set()),
            "assigned": ("assigned", "assigned", "b", 0, set()),
        })
        if t == 18:
            f.update({k: (k, k, "b", 0, set()) for k in ("cs", "display", "dsc", "band", "msg22")})
            f["radio"] = ("radio", "radio", "i", 0, set())
        else:
            f.update(DIMS)
            f.update({
                "shipname": ("shipname", "shipname", "t", 0, set()),
                "shiptype": ("ship_type", "shiptype", "i", 0, SHIPTYPE_NA),
                "epfd": ("epfd", "epfd", "i", 0, {0}),
                "dte": ("dte", "dte", "b", 0, set()),
            })
    elif t == 21:
        f.update(LATLON)
        f.update(DIMS)
        f.update({
            "aid_type": ("aid_type", "aid_type", "i", 0, set()),
            "name": ("full_name", "name", "t", 0, set()),
            "accuracy": ("accuracy", "accuracy", "b", 0, set()),
            "epfd": ("epfd", "epfd", "i", 0, {0}),
            "second": ("second", "second", "i", 0, {60}),
            "off_position": ("off_position", "off_position", "b", 0, set()),
            "raim": ("raim", "raim", "b", 0, set()),
            "virtual_aid": ("virtual_aid", "virtual_aid", "b", 0, set()),
            "assigned": ("assigned", "assigned", "b", 0, set()),
        })
    elif t == 24:
        if msg.get("part") == "A":
            f["shipname"] = ("shipname", "shipname", "t", 0, set())
        else:
            f.update({
                "shiptype": ("ship_type", "shiptype", "i", 0, SHIPTYPE_NA),
                "vendorid": ("vendorid", "vendorid", "t", 0, set()),
                "model": ("model", "model", "i", 0, set()),
                "serial": ("serial", "serial", "i", 0, set()),
                "callsign": ("callsign", "callsign", "t", 0, set()),
            })
            if "mothership_mmsi" in msg:
                f["mothership_mmsi"] = ("mothership_mmsi", "mothership_mmsi", "i", 0, set())
            else:
                f.update(DIMS)
    elif t == 27:
        f.update({
            "lat": ("lat", "lat", "f", 1e-4, NA_LAT),
            "lon": ("lon", "lon", "f", 1e-4, NA_LON),
            "status": ("status", "status", "i", 0, {15}),
            "accuracy": ("accuracy", "accuracy", "b", 0, set()),
            "speed": ("speed", "speed", "f", 0.01, {63}),
            "course": ("course", "course", "f", 0.01, at_least(360)),
            "raim": ("raim", "raim", "b", 0, set()),
            "gnss": ("gnss", "gnss", "b", 0, set()),
        })
    elif t == 6:
        f.update({k: (k, k, "i", 0, set()) for k in ("seqno", "dest_mmsi", "dac", "fid")})
        f["retransmit"] = ("retransmit", "retransmit", "b", 0, set())
    elif t == 8:
        f.update({k: (k, k, "i", 0, set()) for k in ("dac", "fid")})
    elif t in (7, 13):
        f.update({k: (k, k, "i", 0, set()) for k in ("mmsi1", "mmsi2", "mmsi3", "mmsi4")})
    elif t == 10:
        f["dest_mmsi"] = ("dest_mmsi", "dest_mmsi", "i", 0, set())
    elif t == 12:
        f.update({k: (k, k, "i", 0, set()) for k in ("seqno", "dest_mmsi")})
        f["retransmit"] = ("retransmit", "retransmit", "b", 0, set())
        f["text"] = ("text", "text", "t", 0, set())
    elif t == 14:
        f["text"] = ("text", "text", "t", 0, set())
    elif t == 15:
        f.update({k: (k, k, "i", 0, set()) for k in ("mmsi1", "type1_1", "offset1_1")})
    elif t == 16:
        f.update({k: (k, k, "i", 0, set()) for k in ("mmsi1", "offset1", "increment1")})
    elif t == 17:
        f.update({"lat": ("lat", "lat", "f", 1e-3, NA_LAT), "lon": ("lon", "lon", "f", 1e-3, NA_LON)})
    elif t == 20:
        f.update({k: (k, k, "i", 0, set()) for k in ("offset1", "number1", "timeout1", "increment1")})
    elif t == 22:
        f.update({k: (k, k, "i", 0, set()) for k in ("channel_a", "channel_b", "txrx")})
        f["power"] = ("power", "power", "b", 0, set())
    elif t == 23:
        f.update({k: (k, k, "i", 0, set()) for k in ("txrx", "interval", "quiet")})
    elif t in (25, 26):
        f.update({k: (k, k, "b", 0, set()) for k in ("addressed", "structured")})
    return f


def is_na(na, v):
    v = num(v)
    return na(v) if callable(na) else v in na


def same(kind, ours, theirs, tol, na):
    if kind == "t":
        return (text(ours) or "") == (text(theirs) or "")
    if ours is None:
        return theirs is None or is_na(na, theirs) or (kind == "t" and text(theirs) == "")
    if theirs is None:
        return False
    if kind == "t":
        return text(ours) == text(theirs)
    if kind == "b":
        return bool(ours) == bool(num(theirs))
    try:
        a, b = float(ours), float(num(theirs))
    except (TypeError, ValueError):
        return False
    if kind == "f":
        # aiscat carries positions as 32-bit floats: allow their rounding.
        return math.isclose(a, b, abs_tol=tol + abs(b) * 2.5e-7)
    return a == b


# Disagreements whose cause is known, with the rule that decides them.
EXPLAINED = {
    "text_partial_char": "peer turns the trailing padding bits (< 6) into one more character; "
                         "ITU-R M.1371 six-bit text has whole 6-bit characters only",
    "partial_field": "peer reads an acknowledgement field that the message is too short to "
                     "hold (ITU-R M.1371 type 7/13: one to four 32-bit entries)",
    "type17_minutes": "pyais reports type 17 positions in minutes (raw / 10) instead of "
                      "degrees; the field is in 1/10 minute (ITU-R M.1371 Table 70)",
    "aton_name_join": "peer trims the 20-character name before appending the name extension; "
                      "the extension continues the full name field (ITU-R M.1371 Table 74)",
    "reserved_code": "pyais folds reserved enumeration codes into one value; Tidewatch keeps "
                     "the transmitted code",
    "text_leading_space": "peer keeps leading spaces of a text field; Tidewatch trims both ends "
                          "of a field (as pyais does), so padding does not split one identity "
                          "into two (the leading spaces of a type 21 name extension that "
                          "continues a full name are inside the name, and kept)",
    "aton_no_extension": "peer drops the type 21 name extension (bits 272-359) after a full "
                         "20-character name; the extension continues a full name (ITU-R M.1371 "
                         "Table 74, gpsd AIVDM)",
    "aton_full_name_ending_in_spaces": "peer (gpsd 3.22 and aiscat) trims the 20-character "
                                       "type 21 name before testing whether it is full, so a "
                                       "full name ending in spaces loses its extension; the "
                                       "field is full when it has no '@' padding (ITU-R "
                                       "M.1371 Table 74; newer gpsd tests it untrimmed)",
    "gpsd_type24_merged": "gpsd reports a type 24 part B with the name of the part A before it "
                          "as one message (its header from one of the two); Tidewatch reports "
                          "each part as sent",
    "fill_bits_mid_message": "peer drops the fill bits a producer wrote on a fragment that is "
                             "not the last, shifting the rest of the message; fill bits only "
                             "pad the end of a message, so Tidewatch ignores them there",
    "radio_cut_short": "peer reads a radio status from a class A frame cut short before its end "
                       "(163-167 bits, the fill bits reported wrong); those bits are incomplete, "
                       "so Tidewatch reports it not available",
    "vendorid_rev3": "gpsd reads the ITU-R M.1371-3 seven-character vendor id; revision 4 has "
                     "three characters, then the unit model and serial number (Tidewatch "
                     "decodes those)",
    "gpsd_degree_tenths": "gpsd prints type 17 and 27 positions with one decimal of a degree; "
                          "the fields are in 1/10 minute (ITU-R M.1371 Tables 70, 88), which "
                          "Tidewatch gives with six decimals",
    "aton_short_name_extension": "peer appends the type 21 name extension to a name that does not "
                                 "fill its 20 characters; the extension only continues a full "
                                 "name (ITU-R M.1371 Table 74, gpsd AIVDM), so Tidewatch keeps it "
                                 "apart in name_extension",
    "type17_unsigned": "pyais reads type 17 latitude/longitude as unsigned minutes; the fields "
                       "are signed 1/10 minutes (ITU-R M.1371 Table 70)",
}

# Ship type codes ITU-R M.1371 Table 53 marks "reserved for future use" within a class.
RESERVED_SHIPTYPES = set(range(25, 30)) | {38, 39} | set(range(45, 49)) | set(range(65, 69)) | \
    set(range(75, 79)) | set(range(85, 89)) | set(range(95, 99)) | {56, 57}


def explain(t, field, ours, theirs, msg, peer_msg=None):
    theirs = num(theirs)
    if t == 24 and peer_msg is not None and "part" not in peer_msg and "shipname" in peer_msg \
            and "shiptype" in peer_msg and msg.get("part") in ("A", "B") and field == "repeat":
        return "gpsd_type24_merged"
    if t == 21 and field == "name" and msg.get("fragments", 1) > 1 and isinstance(theirs, str) \
            and ours is not None and text(ours)[:20] == text(theirs)[:20] != text(ours):
        return "fill_bits_mid_message"
    if isinstance(theirs, str) and isinstance(ours, str) and len(text(theirs)) == len(text(ours)) + 1:
        if text(theirs)[:-1].rstrip() == text(ours) or text(theirs)[:-1] == text(ours):
            return "text_partial_char"
    if t in (7, 13) and field.startswith("mmsi") and ours is None:
        return "partial_field"
    if t == 17 and field in ("lat", "lon") and theirs is not None:
        limit = 90 if field == "lat" else 180
        if ours is None and abs(float(theirs)) / 60 > limit:
            return "type17_minutes"
        if ours is not None and math.isclose(float(ours) * 60, float(theirs), abs_tol=0.1):
            return "type17_minutes"
        bits = 17 if field == "lat" else 18
        if ours is not None and round(float(ours) * 600) % (1 << bits) == round(float(theirs) * 10):
            return "type17_unsigned"
    if t == 21 and field == "name" and isinstance(theirs, str) and ours is not None:
        if text(ours).replace(" ", "") == text(theirs).replace(" ", ""):
            return "aton_name_join"
    if t == 23 and field == "interval":
        return "reserved_code"
    if field == "shiptype" and ours is not None and (ours in RESERVED_SHIPTYPES or not 20 <= ours <= 99):
        # pyais folds both the reserved codes of a class and the reserved ranges (1-19,
        # 100-255) into one value.
        return "reserved_code"
    if isinstance(theirs, str) and ours is not None and theirs.strip() == text(ours) and theirs != theirs.lstrip():
        return "text_leading_space"
    if t == 21 and field == "name" and isinstance(theirs, str) and msg.get("name_extension"):
        joined = (text(ours) or "") + msg["name_extension"]
        if text(theirs) == joined or (text(theirs).startswith(joined) and len(text(theirs)) == len(joined) + 1):
            return "aton_short_name_extension"
    if t == 21 and field == "name" and isinstance(theirs, str) and ours is not None:
        if len(text(theirs)) == 20 and len(text(ours)) > 20 and text(ours).startswith(text(theirs)):
            return "aton_no_extension"
    if t == 21 and field == "name" and isinstance(theirs, str) and ours is not None:
        if len(text(theirs)) < 20 < len(text(ours)) and text(ours).startswith(text(theirs)):
            return "aton_full_name_ending_in_spaces"
    if t in (1, 2, 3) and field == "radio" and ours is None:
        bits = len(msg["payload"]) * 6 - msg["fill_bits"]
        if 163 <= bits < 168:
            return "radio_cut_short"
    if t == 24 and field == "vendorid" and isinstance(theirs, str) and ours is not None:
        if len(text(theirs)) <= 7 and text(theirs).startswith(text(ours)):
            return "vendorid_rev3"
    if t in (17, 27) and field in ("lat", "lon") and ours is not None and isinstance(theirs, (int, float)):
        if abs(float(ours) - float(theirs)) <= 0.05 + 1e-9:
            return "gpsd_degree_tenths"
    return None


def peer_pyais(lines):
    try:
        return pyais.decode(*lines).asdict()
    except Exception as e:  # noqa: BLE001 - a peer's failure is a result
        return {"__error__": str(e)}


def peer_aiscat(lines):
    try:
        return aiscat.decode(*lines)
    except Exception as e:  # noqa: BLE001
        return {"__error__": str(e)}


GPSDECODE = shutil.which("gpsdecode")


# gpsd writes the type 27 navigation status as its text; its type 1-3 reports give both the
# number and the text, so the texts seen there map it back.
GPSD_STATUS = {}


def run_gpsdecode(data, unscaled=False):
    """gpsd's decoder over NMEA text: one JSON object per message it accepts (scaled, unless
    `unscaled`)."""
    cmd = [GPSDECODE, "-u"] if unscaled else [GPSDECODE]
    out = subprocess.run(cmd, input=data, capture_output=True, check=False).stdout
    res = []
    for line in out.splitlines():
        try:
            res.append(json.loads(line))
        except ValueError:
            pass
    for m in res:
        if m.get("type") in (1, 2, 3) and "status_text" in m:
            GPSD_STATUS[m["status_text"]] = m.get("status")
    for m in res:
        if m.get("type") == 27 and isinstance(m.get("status"), str):
            m["status"] = GPSD_STATUS.get(m["status"], m["status"])
        # gpsd writes "nan" for some "not available" values (speed 1023, altitude 4095), and
        # "fast" for a speed of 102.2 knots or more (raw 1022).
        for k, v in list(m.items()):
            if v == "nan":
                m[k] = None
            elif k == "speed" and v == "fast":
                m[k] = 102.2
    return res


def armor(bits):
    """A bit string armored as an AIS payload, with its fill bits."""
    fill = -len(bits) % 6
    bits += "0" * fill
    out = []
    for i in range(0, len(bits), 6):
        v = int(bits[i:i + 6], 2)
        out.append(chr(v + 48 if v < 40 else v + 56))
    return "".join(out), fill


MARK_TEXT = "TWMARK"


def marker(k):
    """A type 14 (safety broadcast) whose MMSI is `k` and text MARK_TEXT: put between messages
    so that gpsdecode's output, which skips what it rejects, can be cut back into messages."""
    six = {c: i for i, c in enumerate("@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?")}
    bits = format(14, "06b") + "00" + format(k, "030b") + "00"
    bits += "".join(format(six[c], "06b") for c in MARK_TEXT)
    return sentences(*armor(bits))


def peer_gpsd_batch(msgs):
    """Every message of a file re-wrapped and decoded by one gpsdecode run, each followed by a
    marker message; gpsd writes nothing for what it rejects, so what it writes between two
    markers is the decode of the message before the second. Returns one decode (or an error)
    per message."""
    text = "".join(
        l + "\n"
        for k, m in enumerate(msgs)
        for l in sentences(m["payload"], m["fill_bits"]) + marker(k)
    )
    def cut(decoded):
        res = [{"__error__": "not decoded by gpsdecode"} for _ in msgs]
        pending = None
        for m in decoded:
            if m.get("type") == 14 and m.get("text") == MARK_TEXT:
                if pending is not None and m.get("mmsi", -1) < len(msgs):
                    res[m["mmsi"]] = pending
                pending = None
            else:
                pending = m
        return res

    res = cut(run_gpsdecode(text.encode()))
    # The type 27 navigation status is text in gpsd's scaled output (several codes share one
    # text): take the number from its unscaled output.
    if any(m["type"] == 27 for m in msgs):
        raw = cut(run_gpsdecode(text.encode(), unscaled=True))
        for k, m in enumerate(res):
            if m.get("type") == 27 and "status" in raw[k]:
                m["status"] = raw[k]["status"]
    return res


def peer_stream(name, path):
    """Messages a peer decodes from the file with its own reader (its framing/reassembly)."""
    out = []
    if name == "gpsd":
        raw = path.read_bytes()
        return run_gpsdecode(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    if name == "pyais":
        from pyais.stream import FileReaderStream
        for m in FileReaderStream(str(path)):
            try:
                out.append(m.decode().asdict())
            except Exception:  # noqa: BLE001 - counted as not decoded
                pass
    else:
        for d in aiscat.from_file(str(path)):
            out.append(d)
    return out


def align(ours, theirs, window=64):
    """Pairs messages of two in-order streams by (type, mmsi), resynchronising after gaps."""
    return [(ours[i], theirs[j]) for i, j in align_index(ours, theirs, window)]


def align_index(ours, theirs, window=64):
    """The index pairs of [`align`]."""
    def pos(m):
        # Coarse position (0.01 degree) tells apart the many reports of one vessel.
        lat = m.get("lat")
        return round(float(lat), 2) if isinstance(lat, (int, float)) and abs(lat) <= 90 else None

    def sec(m):
        # The second of a position report (a base station's time second is not compared: not
        # every peer reports it apart).
        if num(m.get("msg_type", m.get("type"))) in (4, 11):
            return None
        v = num(m.get("second"))
        return None if v in (None, 60) else v

    key_o = [(m["type"], m["mmsi"], pos(m), sec(m)) for m in ours]
    key_t = [(num(m.get("msg_type", m.get("type"))), m.get("mmsi"), pos(m), sec(m)) for m in theirs]
    i = j = 0
    pairs = []
    while i < len(ours) and j < len(theirs):
        if key_o[i] == key_t[j]:
            pairs.append((i, j))
            i += 1
            j += 1
            continue
        # Skip whichever side has an extra message (a reject on the other side).
        ahead_t = next((d for d in range(1, window) if j + d < len(theirs) and key_t[j + d] == key_o[i]), None)
        ahead_o = next((d for d in range(1, window) if i + d < len(ours) and key_o[i + d] == key_t[j]), None)
        if ahead_t is not None and (ahead_o is None or ahead_t <= ahead_o):
            j += ahead_t
        elif ahead_o is not None:
            i += ahead_o
        else:
            i += 1
            j += 1
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tidewatch", default=str(HERE.parent / "target" / "release" / "tidewatch"))
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--min-agreement", type=float, default=0.0)
    ap.add_argument("--examples", type=int, default=2)
    ap.add_argument("--no-gpsd", action="store_true", help="skip gpsdecode even when installed")
    args = ap.parse_args()

    data = pathlib.Path(args.data)
    files = sorted(p for p in data.glob("*/*") if p.suffix != ".csv" and p.name != "README.md")
    peers = {"pyais": peer_pyais, "aiscat": peer_aiscat}
    if GPSDECODE and not args.no_gpsd:
        peers["gpsd"] = None  # decoded a file at a time (peer_gpsd_batch)
    # peer -> type -> counters
    total = {p: collections.defaultdict(collections.Counter) for p in peers}
    diffs = {p: collections.defaultdict(collections.Counter) for p in peers}
    examples = {p: collections.defaultdict(list) for p in peers}
    for f in files:
        out = subprocess.run(
            [args.tidewatch, "decode", str(f), "--format", "jsonl", "--payload", "--quiet"],
            check=True, capture_output=True,
        ).stdout
        msgs = [json.loads(raw) for raw in out.splitlines()]
        by_gpsd = peer_gpsd_batch(msgs) if "gpsd" in peers else None
        for k, msg in enumerate(msgs):
            t = msg["type"]
            lines = sentences(msg["payload"], msg["fill_bits"])
            for name, dec in peers.items():
                theirs = by_gpsd[k] if name == "gpsd" else dec(lines)
                c = total[name][t]
                c["messages"] += 1
                if "__error__" in theirs:
                    c["peer_rejects"] += 1
                    if len(examples[name][(t, "peer_reject")]) < args.examples:
                        examples[name][(t, "peer_reject")].append((f.name, theirs["__error__"], lines[0]))
                    continue
                c["compared"] += 1
                ok = theirs.get("mmsi") == msg["mmsi"] and num(theirs.get("msg_type", theirs.get("type"))) == t
                bad_fields = [] if ok else ["mmsi/type"]
                for ours_key, (pk, ak, kind, tol, na) in fields_for(t, msg).items():
                    peer_key = pk if name == "pyais" else ak
                    if ours_key not in msg or peer_key not in theirs:
                        continue
                    c["fields"] += 1
                    if not same(kind, msg[ours_key], theirs[peer_key], tol, na):
                        bad_fields.append(ours_key)
                unexplained = []
                for b in bad_fields:
                    peer_key = fields_for(t, msg).get(b, (b, b))[0 if name == "pyais" else 1]
                    why = explain(t, b, msg.get(b), theirs.get(peer_key), msg, theirs)
                    diffs[name][t][f"{b}" + (f" [{why}]" if why else "")] += 1
                    if why is None:
                        unexplained.append(b)
                    key = (t, b if why else b + " UNEXPLAINED")
                    if len(examples[name][key]) < args.examples:
                        examples[name][key].append(
                            (f.name, f"ours={msg.get(b)!r} theirs={theirs.get(peer_key)!r}"
                             + (f" [{why}]" if why else ""), lines[0]))
                if not bad_fields:
                    c["identical"] += 1
                elif not unexplained:
                    c["explained"] += 1

    # End to end: each peer reads the capture itself (its own framing and reassembly); messages
    # are paired in order and compared on the same fields.
    stream = {p: collections.defaultdict(collections.Counter) for p in peers}
    stream_examples = {p: [] for p in peers}
    for f in files:
        ours = [json.loads(l) for l in subprocess.run(
            [args.tidewatch, "decode", str(f), "--format", "jsonl", "--payload", "--quiet"],
            check=True, capture_output=True).stdout.splitlines()]
        for name in peers:
            try:
                theirs = peer_stream(name, f)
            except Exception as e:  # noqa: BLE001
                print(f"{name} cannot read {f.name}: {e}")
                continue
            for msg, th in align(ours, theirs):
                t = msg["type"]
                c = stream[name][t]
                c["paired"] += 1
                bad = []
                for ours_key, (pk, ak, kind, tol, na) in fields_for(t, msg).items():
                    peer_key = pk if name == "pyais" else ak
                    if ours_key in msg and peer_key in th and not same(kind, msg[ours_key], th[peer_key], tol, na):
                        if explain(t, ours_key, msg[ours_key], th[peer_key], msg, th) is None:
                            bad.append(ours_key)
                if bad:
                    c["unexplained"] += 1
                    if len(stream_examples[name]) < args.examples * 5:
                        stream_examples[name].append((f.name, t, bad, msg.get("mmsi")))
                else:
                    c["agree"] += 1
    for name in peers:
        tot = collections.Counter()
        for c in stream[name].values():
            tot.update(c)
        pct = 100.0 * tot["agree"] / max(1, tot["paired"])
        print(f"\n== {name} end to end (peer reads the captures itself): {tot['paired']} messages paired, "
              f"{tot['agree']} identical or explained ({pct:.3f}%), {tot['unexplained']} unexplained")
        for e in stream_examples[name]:
            print(f"   unexplained: {e[0]} type {e[1]} mmsi {e[3]}: {', '.join(e[2])}")

    worst = 100.0
    for name in peers:
        print(f"\n== {name}: messages identical on all fields both decode, per type")
        print(f"{'type':>4} {'messages':>9} {'compared':>9} {'identical':>9} {'agree%':>8} {'explained':>9} {'peer rejects':>12}  disagreeing fields")
        sums = collections.Counter()
        for t in sorted(total[name]):
            c = total[name][t]
            sums.update(c)
            pct = 100.0 * c["identical"] / c["compared"] if c["compared"] else 100.0
            fields = ", ".join(f"{k}:{v}" for k, v in diffs[name][t].most_common())
            print(f"{t:>4} {c['messages']:>9} {c['compared']:>9} {c['identical']:>9} {pct:>8.3f} {c['explained']:>9} {c['peer_rejects']:>12}  {fields}")
        pct = 100.0 * sums["identical"] / sums["compared"] if sums["compared"] else 100.0
        print(f" all {sums['messages']:>9} {sums['compared']:>9} {sums['identical']:>9} {pct:>8.3f} {sums['explained']:>9} {sums['peer_rejects']:>12}")
        unexplained = sums["compared"] - sums["identical"] - sums["explained"]
        ok_pct = 100.0 * (sums["compared"] - unexplained) / max(1, sums["compared"])
        worst = min(worst, ok_pct)
        print(f"     identical or explained: {ok_pct:.3f}%; unexplained: {unexplained}")
        for key, ex in sorted(examples[name].items(), key=lambda kv: str(kv[0])):
            for e in ex:
                print(f"   example type {key[0]} {key[1]}: {e[0]}: {e[1]}  {e[2][:90]}")
    print("\nExplained classes:")
    for k, v in EXPLAINED.items():
        print(f"  {k}: {v}")
    if worst < args.min_agreement:
        print(f"\nagreement (identical or explained) {worst:.3f}% is below {args.min_agreement}%")
        return 1
    print(f"\nminimum agreement (identical or explained) over peers: {worst:.3f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
