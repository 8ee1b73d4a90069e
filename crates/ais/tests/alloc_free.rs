//! The decode path allocates nothing per sentence: after a warm-up (buffers and reassembly
//! slots reach their working size), decoding thousands more lines allocates zero times.
//!
//! Without the test harness (`harness = false`): the allocator's counts are the process's,
//! and libtest's main thread allocates at moments of its own while a test runs.

use ais::stream::{Decoder, Meta};
use ais::Message;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn input(copies: usize) -> Vec<u8> {
    let block: &[&str] = &[
        "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C",
        "\\s:rEV02,c:1334337317*58\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F",
        "!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E",
        "!AIVDM,2,2,3,B,1@0000000000000,2*55",
        "\\si:AISD*3F\\",
        "$PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B*5C",
        "!AIVDM,1,1,,B,13:BuN001=15mQFOjcOBG1p800SK,0*7B",
        "!AIVDM,1,1,,A,B5NIeAP00=qmw14cRKvQSwm5WP06,0*51",
        "!AIVDM,1,1,,B,8>h8nkP0Glr=<hFI0D6??wvlFR06EuOwgwl?wnSwe7wvlOw?sAwwnSGmwvh0,0*17",
        // Application messages with arrays (issue 17): VTS targets, a route, cargos.
        "!AIVDM,1,1,,A,8020o200D@00r=1l02v4407PN1sN3909QT0002vKP?pCl5`twh,4*35",
        "!AIVDM,1,1,,A,8020o200Fh38U<LP07PH4dBh7K::02Ikh3eU501>g41njRP,0*1D",
        "!AIVDM,1,1,,A,639>Jh@0P=hP05U<PAu13rC7m0,5*77",
        "# a comment",
        "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*00",
    ];
    let mut v = Vec::new();
    for _ in 0..copies {
        for l in block {
            v.extend_from_slice(l.as_bytes());
            v.push(b'\n');
        }
    }
    v
}

fn main() {
    decoding_allocates_nothing_after_warm_up();
    println!("decoding_allocates_nothing_after_warm_up: ok");
}

fn decoding_allocates_nothing_after_warm_up() {
    let warm = input(100);
    let data = input(2000);
    let mut d = Decoder::default();
    let mut n = 0u64;
    let mut sink = |m: &Message<'_>, meta: &Meta| {
        std::hint::black_box((m, meta));
        n += 1;
    };
    d.feed(&warm, &mut sink);
    let region = Region::new(GLOBAL);
    d.feed(&data, &mut sink);
    let stats = region.change();
    assert!(n > 10_000);
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.reallocations, 0, "{stats:?}");
}
