//! Frames every line of a file once (profiling aid for callgrind).
fn main() {
    let path = std::env::args().nth(1).expect("file");
    let data = std::fs::read(path).unwrap();
    let mut c = 0u64;
    for l in data.split(|&b| b == b'\n') {
        if let ais::nmea::LineKind::Sentences { start, .. } = ais::nmea::classify(l) {
            if let Some(Ok(s)) = ais::nmea::Sentences::new(l, start).next() {
                c += s.payload.len() as u64;
            }
        }
    }
    println!("{c}");
}
