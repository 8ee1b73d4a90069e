//! Framing + reassembly + payload decoding on arbitrary bytes. Checks: no panic, the line
//! accounting balances, and splitting the input at an arbitrary point changes nothing.
#![no_main]

use ais::{Decoder, DecoderConfig, Message, Meta};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cfg = DecoderConfig {
        assembler: ais::assemble::AssemblerConfig { max_groups: 4, max_age_lines: 8 },
        ..DecoderConfig::default()
    };
    let mut whole = Vec::new();
    let mut d = Decoder::new(cfg);
    let mut sink = |m: &Message<'_>, meta: &Meta| whole.push(format!("{m:?}{meta:?}"));
    d.feed(data, &mut sink);
    let s1 = d.finish(&mut sink);
    assert!(s1.balanced(), "{s1:?}");

    let cut = if data.is_empty() { 0 } else { data[0] as usize % (data.len() + 1) };
    let mut split = Vec::new();
    let mut d = Decoder::new(cfg);
    let mut sink = |m: &Message<'_>, meta: &Meta| split.push(format!("{m:?}{meta:?}"));
    d.feed(&data[..cut], &mut sink);
    d.feed(&data[cut..], &mut sink);
    let s2 = d.finish(&mut sink);
    assert_eq!(s1, s2);
    assert_eq!(whole, split);
});
