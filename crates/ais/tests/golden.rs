//! Golden tests over the real captures in `../shared/data/ais` (read in place, never copied).
//!
//! For every capture, the expected file `tests/golden/<dir>__<file>.txt` holds the exact line
//! accounting, the message count per type, the decoded dump of the first messages, and a hash
//! of the dump of every message. Refresh with `UPDATE_EXPECT=1 cargo test --test golden`.
//! Skips with a message when `../shared` is absent (a fresh clone without the data).

use ais::bits::Payload;
use ais::stream::{Decoder, DecoderConfig, Meta, Sink, Stats};
use ais::{Message, Reject};
use std::fmt::Write;
use std::io::Read;
use std::path::{Path, PathBuf};

fn data_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ais");
    d.is_dir().then_some(d)
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in std::fs::read_dir(dir).unwrap().flatten() {
        if sub.path().is_dir() {
            for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
                let p = f.path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if p.is_file() && !name.ends_with(".csv") && !name.ends_with(".md") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files
}

fn read(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

fn fnv(h: &mut u64, s: &str) {
    for b in s.bytes() {
        *h = (*h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
}

/// The golden dump of one capture.
fn dump(data: &[u8]) -> (String, Stats) {
    const SHOWN: usize = 5;
    let mut shown = String::new();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut n = 0usize;
    let mut d = Decoder::default();
    let mut sink = |m: &Message<'_>, meta: &Meta| {
        let line = format!(
            "{}: t={:?} src={:?} ch={:?} frags={} {m:?}",
            meta.line,
            meta.rx_time_ms,
            meta.source.map(|s| s.as_str().to_owned()),
            meta.channel.map(char::from),
            meta.fragments
        );
        fnv(&mut hash, &line);
        if n < SHOWN {
            shown.push_str(&line);
            shown.push('\n');
        }
        n += 1;
    };
    d.feed(data, &mut sink);
    let s = d.finish(&mut sink);
    let mut out = String::new();
    writeln!(out, "lines {}", s.lines).unwrap();
    writeln!(out, "messages {}", s.messages).unwrap();
    writeln!(out, "lines_in_messages {}", s.lines_in_messages).unwrap();
    for r in Reject::ALL {
        if s.rejected(r) > 0 {
            writeln!(out, "rejected {} {}", r.as_str(), s.rejected(r)).unwrap();
        }
    }
    writeln!(out, "pending_fragments {}", s.pending_fragments).unwrap();
    let types: Vec<String> = (1..28)
        .filter(|&t| s.by_type[t] > 0)
        .map(|t| format!("{t}:{}", s.by_type[t]))
        .collect();
    writeln!(out, "types {}", types.join(" ")).unwrap();
    writeln!(out, "warnings {:?}", s.warnings).unwrap();
    writeln!(out, "dump_hash {hash:016x}").unwrap();
    writeln!(out, "--- first {} messages", n.min(SHOWN)).unwrap();
    out.push_str(&shown);
    (out, s)
}

#[test]
fn golden_captures() {
    let Some(dir) = data_dir() else {
        eprintln!("skipping golden captures: ../shared/data/ais not found beside the repository");
        return;
    };
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let files = captures(&dir);
    assert!(
        files.len() >= 30,
        "expected the shared captures, found {}",
        files.len()
    );
    for f in files {
        let rel = f
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('/', "__");
        let (got, stats) = dump(&read(&f));
        assert!(stats.balanced(), "{rel}: {stats:?}");
        let expect_path = golden.join(format!("{rel}.txt"));
        if update {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&expect_path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expect_path) {
            Ok(want) if want == got => {}
            Ok(want) => {
                let diff = want
                    .lines()
                    .zip(got.lines())
                    .find(|(a, b)| a != b)
                    .map(|(a, b)| format!("\n  want: {a}\n  got:  {b}"))
                    .unwrap_or_default();
                failures.push(format!("{rel}: differs{diff}"));
            }
            Err(_) => failures.push(format!(
                "{rel}: no expected file (run with UPDATE_EXPECT=1)"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

/// Facts about the captures documented in `shared/data/ais/README.md`, checked independently of
/// the golden files.
#[test]
fn documented_capture_facts() {
    let Some(dir) = data_dir() else {
        eprintln!("skipping capture facts: ../shared/data/ais not found beside the repository");
        return;
    };
    let stats = |rel: &str| dump(&read(&dir.join(rel))).1;
    // Every message of these clean captures decodes and every line lands in a message.
    for rel in [
        "kystverket/Ais1000Lines.nm4",
        "gfw-ais-tools/mixed_types.nmea",
        "gfw-ais-tools/multi-part.nmea",
        "amsa-risky/exact-earth-with-tag-block.txt",
        "dma-aislib/stream_example.txt",
        "dma-aislib/ais250.txt",
    ] {
        let s = stats(rel);
        assert_eq!(s.lines, s.lines_in_messages, "{rel}: {s:?}");
    }
    assert_eq!(stats("kystverket/Ais1000Lines.nm4").messages, 877);
    assert_eq!(stats("gfw-ais-tools/multi-part.nmea").messages, 43);
    assert_eq!(stats("dma-aislib/ais250.txt").messages, 243);
    // pyais' sample: 100 empty payloads and 20 first fragments without a second.
    let s = stats("pyais/nmea_data_sample.txt");
    assert_eq!(s.rejected(Reject::EmptyPayload), 100);
    assert_eq!(s.rejected(Reject::OrphanFragment) + s.pending_fragments, 20);
    // GFW's error sample: two bad checksums.
    assert_eq!(
        stats("gfw-ais-tools/errors.nmea").rejected(Reject::BadChecksum),
        2
    );
}

/// Everything a decoder tells its sink, in order.
#[derive(Default)]
struct Log(Vec<String>);

impl Sink for Log {
    fn message(&mut self, m: &Message<'_>, meta: &Meta) {
        self.0.push(format!("{m:?} {meta:?}"));
    }
    fn payload(&mut self, p: &Payload) {
        let mut armored = Vec::new();
        let fill = p.armor_into(&mut armored);
        self.0
            .push(format!("{} {fill}", String::from_utf8_lossy(&armored)));
    }
    fn reject(&mut self, reason: Reject, line: u64) {
        self.0.push(format!("reject {} at {line}", reason.as_str()));
    }
}

/// The full event log and accounting of decoding `data`, fed in blocks of `block` bytes.
fn log(data: &[u8], general_path_only: bool, block: usize) -> (Vec<String>, Stats) {
    let mut d = Decoder::new(DecoderConfig {
        general_path_only,
        ..DecoderConfig::default()
    });
    let mut sink = Log::default();
    for piece in data.chunks(block) {
        d.feed(piece, &mut sink);
    }
    let s = d.finish(&mut sink);
    (sink.0, s)
}

/// The fast lane changes nothing: every capture gives the same messages, metadata, payload
/// bits, rejects (with their lines) and accounting with it as with the general path alone,
/// whole and fed in odd-sized blocks.
#[test]
fn fast_lane_equals_general_path_on_every_capture() {
    let Some(dir) = data_dir() else {
        eprintln!("skipping fast-lane check: ../shared/data/ais not found beside the repository");
        return;
    };
    for f in captures(&dir) {
        let data = read(&f);
        let general = log(&data, true, usize::MAX);
        assert!(general.1.lines > 0, "{}", f.display());
        for block in [usize::MAX, 4093, 97] {
            let fast = log(&data, false, block);
            assert_eq!(fast.1, general.1, "{} (blocks of {block})", f.display());
            if let Some(k) =
                (0..fast.0.len().max(general.0.len())).find(|&k| fast.0.get(k) != general.0.get(k))
            {
                panic!(
                    "{} (blocks of {block}), event {k}:\n  fast:    {:?}\n  general: {:?}",
                    f.display(),
                    fast.0.get(k),
                    general.0.get(k)
                );
            }
        }
    }
}

#[test]
fn a_quiet_feeds_last_line_is_decoded_when_flushed_and_nothing_is_lost() {
    // A sentence line is held until the next line starts (it may be followed by its $PGHP);
    // a live feed that goes quiet flushes it. An unfinished line and a half-assembled
    // two-sentence message stay pending, and decode once the rest comes.
    let one = b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n";
    let mut d = Decoder::new(DecoderConfig::default());
    let mut sink = Log::default();
    d.feed(one, &mut sink);
    assert!(sink.0.is_empty(), "held for a possible $PGHP: {:?}", sink.0);
    d.flush_held(&mut sink);
    assert_eq!(
        sink.0.iter().filter(|l| l.contains("mmsi")).count(),
        1,
        "{:?}",
        sink.0
    );
    // Nothing twice, and the decoder goes on.
    d.flush_held(&mut sink);
    let part1 = b"!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E\n";
    let part2 = b"!AIVDM,2,2,3,B,1@0000000000000,2*55\n";
    d.feed(part1, &mut sink);
    d.feed(b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb0", &mut sink);
    d.flush_held(&mut sink);
    let before = sink.0.len();
    d.feed(b"69D,0*24\n", &mut sink);
    d.feed(part2, &mut sink);
    let stats = d.finish(&mut sink);
    let messages = sink.0.iter().filter(|l| l.contains("mmsi")).count();
    assert_eq!(messages, 3, "{:?}", &sink.0[before..]);
    assert_eq!(stats.pending_fragments, 0);
    assert!(
        !sink.0.iter().any(|l| l.starts_with("reject")),
        "{:?}",
        sink.0
    );
}
