//! Decodes a file of NMEA lines in memory with one decoder and prints
//! `messages errors seconds` (seconds per pass over the file). Every decoder gets the same
//! treatment: the whole file is read first, then timed while it decodes every line and touches
//! every decoded message; a sample is as many passes as fill [`MIN_SAMPLE_S`], and the best of
//! the given number of samples is kept.

use std::hint::black_box;
use std::time::Instant;

/// Every timing sample spans at least this long, whatever the decoder's speed, so that a burst
/// of load from the machine's neighbours weighs the same on a fast decoder as on a slow one (a
/// 40 ms pass can be covered by one burst in all of its samples; a 400 ms one cannot).
const MIN_SAMPLE_S: f64 = 0.3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (which, path) = (args[1].as_str(), args[2].as_str());
    let samples: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let data = std::fs::read(path).expect("read input");
    std::panic::set_hook(Box::new(|_| {}));
    // One pass (also the warm-up) tells how many passes make a sample.
    let t = Instant::now();
    let (messages, errors) = decode_once(which, &data);
    let first = t.elapsed().as_secs_f64();
    let passes = ((MIN_SAMPLE_S / first.max(1e-6)).ceil() as usize).max(1);
    let mut best = f64::MAX;
    for _ in 0..samples {
        let t = Instant::now();
        for _ in 0..passes {
            black_box(decode_once(which, &data));
        }
        best = best.min(t.elapsed().as_secs_f64() / passes as f64);
    }
    println!("{messages} {errors} {best:.6}");
}

/// Decodes every line of `data` with one decoder, touching every message: `(messages, errors)`.
fn decode_once(which: &str, data: &[u8]) -> (u64, u64) {
    let (mut messages, mut errors) = (0u64, 0u64);
    match which {
        "tidewatch" => {
            let mut sink = |m: &tw::Message<'_>, meta: &tw::Meta| {
                black_box((m, meta));
                messages += 1;
            };
            let stats = tw::stream::decode_all(data, &mut sink);
            errors = stats.rejected_total();
        }
        "ais" => {
            let mut p = ais::AisParser::new();
            for line in data.split(|&b| b == b'\n') {
                if line.is_empty() {
                    continue;
                }
                match p.parse(line, true) {
                    Ok(ais::AisFragments::Complete(s)) => {
                        if let Some(m) = s.message {
                            black_box(&m);
                            messages += 1;
                        } else {
                            errors += 1;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => errors += 1,
                }
            }
        }
        "nmea-parser" => {
            let mut p = nmea_parser::NmeaParser::new();
            for line in data.split(|&b| b == b'\n') {
                let Ok(s) = std::str::from_utf8(line) else {
                    errors += 1;
                    continue;
                };
                if s.is_empty() {
                    continue;
                }
                // nmea-parser panics on some real input (type 26); count that as an error.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    p.parse_sentence(s)
                }));
                match r {
                    Ok(Ok(nmea_parser::ParsedMessage::Incomplete)) => {}
                    Ok(Ok(m)) => {
                        black_box(&m);
                        messages += 1;
                    }
                    Ok(Err(_)) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        p = nmea_parser::NmeaParser::new();
                    }
                }
            }
        }
        other => panic!("unknown decoder {other}"),
    }
    (messages, errors)
}
