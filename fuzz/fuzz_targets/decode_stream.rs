//! Framing + reassembly + payload decoding on arbitrary bytes. Checks: no panic, the line
//! accounting balances, feeding the input in pieces changes nothing, and the fast lane gives
//! what the general path alone gives.
#![no_main]

use ais::{Decoder, DecoderConfig, Message, Meta};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cfg = DecoderConfig {
        assembler: ais::assemble::AssemblerConfig {
            max_groups: 4,
            max_age_lines: 8,
            reorder_lines: 2,
        },
        ..DecoderConfig::default()
    };
    let mut whole = Vec::new();
    let mut d = Decoder::new(cfg);
    let mut sink = |m: &Message<'_>, meta: &Meta| whole.push(format!("{m:?}{meta:?}"));
    d.feed(data, &mut sink);
    let s1 = d.finish(&mut sink);
    assert!(s1.balanced(), "{s1:?}");

    // Piece sizes from the first bytes of the input.
    let mut split = Vec::new();
    let mut d = Decoder::new(cfg);
    let mut sink = |m: &Message<'_>, meta: &Meta| split.push(format!("{m:?}{meta:?}"));
    let mut at = 0;
    let mut k = 0;
    while at < data.len() {
        let step = 1 + data.get(k).copied().unwrap_or(255) as usize;
        let end = (at + step).min(data.len());
        d.feed(&data[at..end], &mut sink);
        at = end;
        k += 1;
    }
    let s2 = d.finish(&mut sink);
    assert_eq!(s1, s2);
    assert_eq!(whole, split);

    let mut general = Vec::new();
    let mut d = Decoder::new(DecoderConfig {
        general_path_only: true,
        ..cfg
    });
    let mut sink = |m: &Message<'_>, meta: &Meta| general.push(format!("{m:?}{meta:?}"));
    d.feed(data, &mut sink);
    let s3 = d.finish(&mut sink);
    assert_eq!(s1, s3);
    assert_eq!(whole, general);
});
