//! Runs the stream decoder over a file once (profiling aid for callgrind).
fn main() {
    let path = std::env::args().nth(1).expect("file");
    let data = std::fs::read(path).unwrap();
    let mut c = 0u64;
    let mut sink = |m: &ais::Message<'_>, meta: &ais::Meta| {
        std::hint::black_box((m, meta));
        c += 1;
    };
    let s = ais::stream::decode_all(&data, &mut sink);
    println!("{c} {}", s.lines);
}
