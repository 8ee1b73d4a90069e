//! Property tests: no input panics or unbalances the accounting; feeding in pieces equals
//! feeding whole; encode -> decode round-trips every encodable type (and the encoder's fast
//! path writes what its general path writes); a flipped bit never yields
//! a different message.

use ais::bits::{BitWriter, Payload};
use ais::encode::{encode_armored, encode_payload, to_sentences, Armored, SentenceOptions};
use ais::stream::{Decoder, DecoderConfig, Meta, Stats};
use ais::Message;
use proptest::prelude::*;

fn decode_dump(data: &[u8]) -> (Vec<String>, Stats) {
    let mut out = Vec::new();
    let mut d = Decoder::default();
    let mut sink = |m: &Message<'_>, meta: &Meta| out.push(format!("{m:?} {meta:?}"));
    d.feed(data, &mut sink);
    let s = d.finish(&mut sink);
    (out, s)
}

/// Lines that look like what feeds carry, valid and broken.
fn nmea_line() -> impl Strategy<Value = String> {
    let valid = prop_oneof![
        Just("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C".to_owned()),
        Just("!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E".to_owned()),
        Just("!AIVDM,2,2,3,B,1@0000000000000,2*55".to_owned()),
        Just("\\g:1-2-3985,s:rEV02,c:1334337317*2D\\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0*70".to_owned()),
        Just("\\g:2-2-3985*5A\\!AIVDM,2,2,9,B,PFRC88888888880,2*29".to_owned()),
        Just("\\si:AISD*3F\\".to_owned()),
        Just("$PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B*5C".to_owned()),
        Just("!AIVDM,1,1,,B,13:BuN001=15mQFOjcOBG1p800SK,0*7B".to_owned()),
        Just("!AIVDM,1,1,,A,144gjIP0085KKPQHMPjT81Sb1PSL,0*22,1328133720087".to_owned()),
        Just("# comment".to_owned()),
        Just(String::new()),
    ];
    prop_oneof![
        4 => valid.clone(),
        // Mutations of valid lines: truncation, byte replacement.
        2 => (valid.clone(), any::<usize>()).prop_map(|(s, k)| s[..k % (s.len() + 1)].to_owned()),
        2 => (valid, any::<usize>(), any::<u8>()).prop_map(|(s, k, b)| {
            let mut v = s.into_bytes();
            if !v.is_empty() {
                let i = k % v.len();
                v[i] = b;
            }
            String::from_utf8_lossy(&v).into_owned()
        }),
        1 => "[ -~]{0,90}",
    ]
}

/// The fast lane takes the common line shapes (else the property below would hold vacuously).
#[test]
fn fast_lane_takes_the_usual_lines() {
    for line in [
        "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C\n",
        "!AIVDM,1,1,,B,13:BuN001=15mQFOjcOBG1p800SK,0*7B\r\n",
        "!BSVDM,1,1,0,1,13:BuN001=15mQFOjcOBG1p800SK,0*21\n$PGHP",
        "!AIVDO,1,1,,,B5NJ;PP005l4ot5Isbl03wsUkP06,0*35\n",
        "!AIVDM,1,1,,A,144gjIP0085KKPQHMPjT81Sb1PSL,0*22,1328133720087\n",
        "\\s:42809,c:1635731889,t:1635731965*6A\\!AIVDM,1,1,,,403t>B1vFhQr5`NonbBw?>G00<0n,0*7B\n",
        "!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E\n",
    ] {
        // The next line's start (the fast lane reads whole sixteen-byte blocks).
        let line = format!("{line}!AIVDM,1,1,,B,1");
        let mut p = Payload::new();
        let got = ais::nmea::frame_line(line.as_bytes(), &mut p);
        assert!(got.is_some(), "{line:?}");
        let (f, len) = got.unwrap();
        let s = f.sentence();
        assert_eq!(len, line.find('\n').unwrap() + 1, "{line:?}");
        let mut general = Payload::new();
        general.set(s.payload, s.fill_bits).unwrap();
        assert_eq!(p.len_bits(), general.len_bits(), "{line:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let (_, s) = decode_dump(&data);
        prop_assert!(s.balanced(), "{:?}", s);
    }

    #[test]
    fn nmea_like_input_balances_and_splits(
        lines in proptest::collection::vec(nmea_line(), 0..60),
        cut in any::<usize>(),
        crlf in any::<bool>(),
    ) {
        let sep = if crlf { "\r\n" } else { "\n" };
        let text = lines.join(sep);
        let (whole, s1) = decode_dump(text.as_bytes());
        prop_assert!(s1.balanced(), "{:?}", s1);
        let nonempty = text.split('\n').filter(|l| !l.trim().is_empty()).count() as u64;
        prop_assert_eq!(s1.lines, nonempty);
        // Same result when the input arrives in pieces of any size.
        let bytes = text.as_bytes();
        let mut cuts: Vec<usize> = (0..8).map(|k| cut.rotate_left(k * 8) % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut out = Vec::new();
        let mut d = Decoder::default();
        let mut sink = |m: &Message<'_>, meta: &Meta| out.push(format!("{m:?} {meta:?}"));
        let mut prev = 0;
        for c in cuts {
            d.feed(&bytes[prev..c], &mut sink);
            prev = c;
        }
        d.feed(&bytes[prev..], &mut sink);
        let s2 = d.finish(&mut sink);
        prop_assert_eq!(s1, s2);
        prop_assert_eq!(whole, out);
    }

    /// The framing fast lane accepts only lines the general path frames the same way, and
    /// de-armors them to the same bits.
    #[test]
    fn fast_lane_agrees_with_general_framing(
        line in nmea_line(),
        crlf in any::<bool>(),
        next in prop_oneof![Just(""), Just("!AIVDM"), Just("$PGHP,1")],
    ) {
        // One line (mutations may have planted a newline).
        prop_assume!(!line.contains('\n'));
        let text = format!("{line}{}{next}", if crlf { "\r\n" } else { "\n" });
        let mut fast = Payload::new();
        if let Some((framed, len)) = ais::nmea::frame_line(text.as_bytes(), &mut fast) {
            let f = framed.sentence();
            prop_assert_eq!(len, line.len() + if crlf { 2 } else { 1 });
            let l = ais::nmea::trim(line.as_bytes());
            let ais::nmea::LineKind::Sentences { start, prefix_time_ms: None } = ais::nmea::classify(l) else {
                panic!("fast lane took a line the general path does not see as a sentence");
            };
            let mut it = ais::nmea::Sentences::new(l, start);
            let s = it.next().expect("one sentence").expect("framed");
            prop_assert!(it.next().is_none());
            prop_assert_eq!(s, f);
            let mut general = Payload::new();
            if s.total == 1 {
                prop_assert!(general.set(s.payload, s.fill_bits).is_ok());
                prop_assert_eq!(fast.len_bits(), general.len_bits());
                let (mut a, mut b) = (vec![0u8; 400], vec![0u8; 400]);
                prop_assert_eq!(fast.armor_to(&mut a), general.armor_to(&mut b));
                prop_assert_eq!(a, b);
            }
        }
    }

    /// Decoding with the fast lane gives what the general path alone gives: the same events,
    /// in the same order, and the same accounting.
    #[test]
    fn fast_lane_changes_no_result(
        lines in proptest::collection::vec(nmea_line(), 0..60),
        crlf in any::<bool>(),
    ) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        let run = |general_path_only: bool| {
            let mut out = Vec::new();
            let mut d = Decoder::new(DecoderConfig { general_path_only, ..DecoderConfig::default() });
            let mut sink = |m: &Message<'_>, meta: &Meta| out.push(format!("{m:?} {meta:?}"));
            d.feed(text.as_bytes(), &mut sink);
            let s = d.finish(&mut sink);
            (out, s)
        };
        prop_assert_eq!(run(false), run(true));
    }

    #[test]
    fn application_payloads_of_the_decoded_dac_fids_never_panic(
        which in 0usize..25,
        len in 0usize..=1008,
        bits in proptest::collection::vec(any::<bool>(), 1008),
    ) {
        // Issue 17: every DAC/FID Tidewatch decodes, with any content and any length.
        let (t, dac, fid) = [
            (6, 1, 12), (6, 1, 14), (6, 1, 15), (6, 1, 16), (6, 1, 18), (6, 1, 20), (6, 1, 25),
            (6, 1, 28), (6, 1, 30), (6, 1, 32), (6, 200, 21), (6, 200, 22), (6, 200, 55),
            (8, 1, 11), (8, 1, 13), (8, 1, 15), (8, 1, 16), (8, 1, 17), (8, 1, 19), (8, 1, 27),
            (8, 1, 29), (8, 1, 31), (8, 200, 10), (8, 200, 23), (8, 200, 24),
        ][which];
        let header = if t == 6 { 88 } else { 56 };
        let mut w = BitWriter::new();
        w.u(6, t);
        for &b in &bits[6..header - 16] { w.b(b); }
        w.u(10, dac).u(6, fid);
        for &b in &bits[header..len.max(header)] { w.b(b); }
        let p: Payload = w.finish();
        let app = match ais::decode(&p) {
            Ok(Message::BinaryAddressed(b)) => b.app,
            Ok(Message::BinaryBroadcast(b)) => b.app,
            other => panic!("{other:?}"),
        };
        // What decodes was read from inside the payload: the arrays hold whole elements.
        use ais::msg::AppData;
        let n = p.len_bits();
        match app {
            Some(AppData::TidalWindow236(w)) => prop_assert!(97 + 93 * w.windows().len() <= n),
            Some(AppData::TidalWindow(w)) => prop_assert!(97 + 88 * w.windows().len() <= n),
            Some(AppData::DangerousCargo(c)) => prop_assert!(100 + 17 * c.cargos().len() <= n),
            Some(AppData::Route(r)) => {
                prop_assert!(header + 61 + 55 * r.waypoints().len() <= n);
                prop_assert!((1..=16).contains(&r.waypoints().len()));
            }
            Some(AppData::VtsTargets(v)) => prop_assert!(56 + 120 * v.targets().len() <= n),
            _ => {}
        }
        // And it is written out as well as read (every field's Debug form).
        let _ = format!("{app:?}");
    }

    #[test]
    fn encode_decode_round_trip(
        kind in 0usize..13,
        bits in proptest::collection::vec(any::<bool>(), 424),
        seq in 0u8..10,
    ) {
        // (type, length in bits, type 24 part number)
        let (t, len, part) = [
            (1, 168, None), (2, 168, None), (3, 168, None), (4, 168, None), (5, 424, None),
            (9, 168, None), (11, 168, None), (18, 168, None), (19, 312, None), (21, 272, None),
            (24, 160, Some(0)), (24, 168, Some(1)), (27, 96, None),
        ][kind];
        let mut w = BitWriter::new();
        w.u(6, t);
        let mut k = 6;
        if let Some(p) = part {
            for &b in &bits[6..38] { w.b(b); }
            w.u(2, p);
            k = 40;
        }
        for &b in &bits[k..len] { w.b(b); }
        let p: Payload = w.finish();
        let m1 = ais::decode(&p);
        prop_assume!(m1.is_ok());
        let m1 = m1.unwrap();
        let encoded = encode_payload(&m1).expect("encodable");
        // The stack-built fast path of the one-slot reports writes the same characters.
        let (mut scratch, mut fast) = (BitWriter::new(), Armored::default());
        encode_armored(&m1, &mut scratch, &mut fast).expect("encodable");
        let general = Armored::new(&encoded);
        prop_assert_eq!(fast.chars(), general.chars());
        prop_assert_eq!(fast.fill_bits(), general.fill_bits());
        let mut lines = Vec::new();
        to_sentences(&encoded, &SentenceOptions { seq_id: seq, ..SentenceOptions::default() }, &mut lines);
        for l in &lines {
            prop_assert!(l.len() <= 80, "sentence too long: {}", l);
        }
        let text = lines.join("\n") + "\n";
        let (msgs, s) = decode_dump(text.as_bytes());
        prop_assert_eq!(s.messages, 1, "{:?} {:?}", lines, s);
        let m1_dump = format!("{m1:?}");
        prop_assert!(msgs[0].starts_with(&m1_dump), "\n{}\n{}", m1_dump, msgs[0]);
    }

    #[test]
    fn flipped_bit_never_yields_another_message(
        bits in proptest::collection::vec(any::<bool>(), 168),
        byte in any::<usize>(),
        bit in 0u8..8,
    ) {
        let mut w = BitWriter::new();
        w.u(6, 1);
        for &b in &bits[6..] { w.b(b); }
        let p = w.finish();
        let m = ais::decode(&p).unwrap();
        let mut lines = Vec::new();
        to_sentences(&encode_payload(&m).unwrap(), &SentenceOptions::default(), &mut lines);
        let original = decode_dump(lines[0].as_bytes()).0;
        prop_assert_eq!(original.len(), 1);
        let mut v = lines[0].clone().into_bytes();
        let i = byte % v.len();
        v[i] ^= 1 << bit;
        let (msgs, s) = decode_dump(&v);
        prop_assert!(s.balanced());
        // Either rejected, or (a case flip of a checksum hex digit) the very same message.
        prop_assert!(msgs.is_empty() || msgs == original, "{:?}", String::from_utf8_lossy(&v));
    }
}
