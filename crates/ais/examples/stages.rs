//! Times the decoder's stages separately over a file of lines (profiling aid):
//! `cargo run --release --example stages -- FILE`.
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("file");
    let data = std::fs::read(path).unwrap();
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let n = lines.len() as f64;
    let t = Instant::now();
    let mut c = 0u64;
    for _ in 0..5 {
        for l in &data.split(|&b| b == b'\n').collect::<Vec<_>>() {
            c += l.len() as u64;
        }
    }
    println!(
        "split only      {:6.1} ns/line ({c})",
        t.elapsed().as_nanos() as f64 / n / 5.0
    );
    let t = Instant::now();
    let mut c = 0u64;
    for _ in 0..5 {
        for l in &lines {
            if let ais::nmea::LineKind::Sentences { start, .. } = ais::nmea::classify(l) {
                if let Some(Ok(s)) = ais::nmea::Sentences::new(l, start).next() {
                    c += s.payload.len() as u64;
                }
            }
        }
    }
    println!(
        "frame           {:6.1} ns/line ({c})",
        t.elapsed().as_nanos() as f64 / n / 5.0
    );
    let mut p = ais::bits::Payload::new();
    let t = Instant::now();
    let mut c = 0u64;
    for _ in 0..5 {
        for l in &lines {
            if let ais::nmea::LineKind::Sentences { start, .. } = ais::nmea::classify(l) {
                if let Some(Ok(s)) = ais::nmea::Sentences::new(l, start).next() {
                    if p.set(s.payload, s.fill_bits).is_ok() {
                        c += p.len_bits() as u64;
                    }
                }
            }
        }
    }
    println!(
        "frame+dearmor   {:6.1} ns/line ({c})",
        t.elapsed().as_nanos() as f64 / n / 5.0
    );
    let t = Instant::now();
    let mut c = 0u64;
    for _ in 0..5 {
        for l in &lines {
            if let ais::nmea::LineKind::Sentences { start, .. } = ais::nmea::classify(l) {
                if let Some(Ok(s)) = ais::nmea::Sentences::new(l, start).next() {
                    if p.set(s.payload, s.fill_bits).is_ok() {
                        if let Ok(m) = ais::decode(&p) {
                            black_box(&m);
                            c += 1;
                        }
                    }
                }
            }
        }
    }
    println!(
        "+decode         {:6.1} ns/line ({c})",
        t.elapsed().as_nanos() as f64 / n / 5.0
    );
    let t = Instant::now();
    let mut c = 0u64;
    for _ in 0..5 {
        let mut sink = |m: &ais::Message<'_>, meta: &ais::Meta| {
            black_box((m, meta));
            c += 1;
        };
        ais::stream::decode_all(&data, &mut sink);
    }
    println!(
        "stream decoder  {:6.1} ns/line ({c})",
        t.elapsed().as_nanos() as f64 / n / 5.0
    );
}
