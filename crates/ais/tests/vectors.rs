//! Hand-made vectors: known sentences with field values checked against pyais and the gpsd
//! AIVDM document, and framing / reassembly / accounting cases.

use ais::msg::{AppData, Message, RateOfTurn};
use ais::stream::{Decoder, DecoderConfig, Meta, Stats};
use ais::Reject;

/// Decodes `input` and returns owned debug dumps of messages with their metadata.
fn run(input: &str) -> (Vec<(String, Meta)>, Stats) {
    run_cfg(input, DecoderConfig::default())
}

fn run_cfg(input: &str, cfg: DecoderConfig) -> (Vec<(String, Meta)>, Stats) {
    let mut out = Vec::new();
    let mut d = Decoder::new(cfg);
    let mut sink = |m: &Message<'_>, meta: &Meta| out.push((format!("{m:?}"), *meta));
    d.feed(input.as_bytes(), &mut sink);
    let stats = d.finish(&mut sink);
    assert!(stats.balanced(), "{stats:?}");
    (out, stats)
}

fn one(input: &str) -> Message<'static> {
    // Messages without borrowed data can be returned by value.
    let mut got = None;
    let mut d = Decoder::default();
    let mut sink = |m: &Message<'_>, _: &Meta| {
        got = Some(match m {
            Message::Position(p) => Message::Position(*p),
            Message::BaseStation(p) => Message::BaseStation(*p),
            Message::StaticVoyage(p) => Message::StaticVoyage(*p),
            Message::SarAircraft(p) => Message::SarAircraft(*p),
            Message::ClassBPosition(p) => Message::ClassBPosition(*p),
            Message::AidToNavigation(p) => Message::AidToNavigation(*p),
            Message::StaticDataA(p) => Message::StaticDataA(*p),
            Message::StaticDataB(p) => Message::StaticDataB(*p),
            Message::LongRange(p) => Message::LongRange(*p),
            other => panic!("unexpected {other:?}"),
        })
    };
    d.feed(input.as_bytes(), &mut sink);
    d.finish(&mut sink);
    got.expect("no message")
}

#[test]
fn type_1_gpsd_example() {
    let Message::Position(p) = one("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C\n") else {
        panic!()
    };
    assert_eq!(p.header.mmsi.0, 477553000);
    assert_eq!(p.nav_status, Some(5));
    assert_eq!(p.rot, Some(RateOfTurn::DegPerMin(0.0)));
    assert_eq!(p.sog_knots, Some(0.0));
    assert!((p.lon.unwrap() + 122.345833).abs() < 1e-6);
    assert!((p.lat.unwrap() - 47.582833).abs() < 1e-6);
    assert_eq!(p.cog_deg, Some(51.0));
    assert_eq!(p.heading_deg, Some(181));
    assert_eq!(p.second, Some(15));
    assert_eq!(p.maneuver, None);
    assert_eq!(p.radio, Some(149208));
}

#[test]
fn type_5_two_fragments() {
    let Message::StaticVoyage(s) = one(
        "!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E\n\
         !AIVDM,2,2,3,B,1@0000000000000,2*55\n",
    ) else {
        panic!()
    };
    assert_eq!(s.header.mmsi.0, 369190000);
    assert_eq!(s.imo, Some(6710932));
    assert_eq!(s.callsign.as_str(), "WDA9674");
    assert_eq!(s.shipname.as_str(), "MT.MITCHELL");
    assert_eq!(s.ship_type, Some(99));
    assert_eq!(s.dims.length_m(), Some(180));
    assert_eq!(s.dims.beam_m(), Some(20));
    assert_eq!(s.epfd, Some(1));
    assert_eq!(
        (s.eta.month, s.eta.day, s.eta.hour, s.eta.minute),
        (Some(1), Some(2), Some(8), Some(0))
    );
    assert_eq!(s.draught_m, Some(6.0));
    assert_eq!(s.destination.as_str(), "SEATTLE");
    assert!(!s.dte);
}

#[test]
fn type_24_parts() {
    let Message::StaticDataA(a) = one("!AIVDM,1,1,,A,H42O55i18tMET00000000000000,2*6D\n") else {
        panic!()
    };
    assert_eq!(
        (a.header.mmsi.0, a.shipname.as_str()),
        (271041815, "PROGUY")
    );
    let Message::StaticDataB(b) = one("!AIVDM,1,1,,A,H42O55lti4hhhilD3nink000?050,0*40\n") else {
        panic!()
    };
    assert_eq!(b.ship_type, Some(60));
    assert_eq!(b.vendor_id.as_str(), "1D0");
    assert_eq!((b.model, b.serial), (12, 199796));
    assert_eq!(b.callsign.as_str(), "TC6163");
    assert_eq!((b.dims.to_bow, b.dims.to_stern), (None, Some(15)));
    assert_eq!(b.mothership_mmsi, None);
}

#[test]
fn type_27_long_range() {
    let Message::LongRange(l) = one("!AIVDM,1,1,,B,KC5E2b@U19PFdLbL,0*00\n") else {
        panic!()
    };
    assert_eq!((l.header.mmsi.0, l.header.repeat), (206914217, 1));
    assert_eq!(l.nav_status, Some(2));
    assert!((l.lon.unwrap() - 137.023333).abs() < 1e-5);
    assert!((l.lat.unwrap() - 4.84).abs() < 1e-9);
    assert_eq!((l.sog_knots, l.cog_deg), (Some(57), Some(167)));
}

#[test]
fn type_4_9_18_21() {
    let Message::BaseStation(b) = one("!AIVDM,1,1,,A,403OtUAv6gEcaoNubBCQ2wO028HW,0*17\n") else {
        panic!()
    };
    assert_eq!(b.time_ms(), Some(1_509_399_821_000));
    assert_eq!(b.epfd, Some(15));
    let Message::SarAircraft(s) = one("!AIVDM,1,1,,B,91b55wi;hbOS@OdQAC062Ch2089h,0*30\n") else {
        panic!()
    };
    assert_eq!(
        (s.altitude_m, s.sog_knots, s.cog_deg),
        (Some(303), Some(42), Some(154.5))
    );
    assert!(s.dte);
    let Message::ClassBPosition(c) = one("!AIVDM,1,1,,A,B5NIeAP00=qmw14cRKvQSwm5WP06,0*51\n")
    else {
        panic!()
    };
    assert_eq!(
        (c.header.mmsi.0, c.heading_deg, c.cog_deg),
        (367422790, None, Some(258.4))
    );
    assert!(c.cs && c.dsc && c.band && c.raim && !c.msg22);
    let Message::AidToNavigation(a) =
        one("!AIVDM,1,1,,B,E>kb9O9aS@7PUh10dh19@;0Tah2cWrfP:l?M`00003vP100,0*01\n")
    else {
        panic!()
    };
    assert_eq!(a.name.as_str(), "SF OAK BAY BR VAIS E");
    assert_eq!((a.aid_type, a.epfd, a.second), (19, Some(7), Some(61)));
    assert!(a.virtual_aid);
}

#[test]
fn type_8_meteo_hydro() {
    let mut app = None;
    let mut sink = |m: &Message<'_>, _: &Meta| {
        if let Message::BinaryBroadcast(b) = m {
            app = b.app;
        }
    };
    let s = ais::stream::decode_all(
        b"!AIVDM,1,1,,B,8>h8nkP0Glr=<hFI0D6??wvlFR06EuOwgwl?wnSwe7wvlOw?sAwwnSGmwvh0,0*26\n",
        &mut sink,
    );
    assert_eq!(s.messages, 1);
    let Some(AppData::MeteoHydro(w)) = app else {
        panic!("not decoded")
    };
    assert!((w.lon.unwrap() - 171.5985).abs() < 1e-4);
    assert!((w.lat.unwrap() - 12.2283).abs() < 1e-4);
    assert!(w.accuracy);
    assert_eq!((w.day, w.hour, w.minute), (None, None, None));
    assert_eq!(
        (w.wind_speed_knots, w.wind_dir_deg, w.humidity_pct),
        (None, None, None)
    );
    assert_eq!(w.air_temp_c, None);
    assert_eq!(w.dew_point_c, None);
    assert_eq!(w.pressure_hpa, None);
    assert_eq!(w.visibility_nm, None);
    assert_eq!(w.water_level_m, None); // 4001 = not available
    assert_eq!(w.wave_height_m, None);
    assert_eq!(
        (
            w.sea_state,
            w.water_temp_c,
            w.precipitation,
            w.salinity,
            w.ice
        ),
        (None, None, None, None, None)
    );
}

#[test]
fn tag_block_time_source_and_group() {
    let (msgs, stats) = run(
        "\\g:1-2-3985,s:rEV02,c:1334337317*2D\\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0*70\n\
         \\g:2-2-3985*5A\\!AIVDM,2,2,9,B,PFRC88888888880,2*29\n",
    );
    assert_eq!(stats.messages, 1);
    assert_eq!(stats.lines_in_messages, 2);
    let meta = msgs[0].1;
    assert_eq!(meta.rx_time_ms, Some(1_334_337_317_000));
    assert_eq!(meta.source.unwrap().as_str(), "rEV02");
    assert_eq!(meta.fragments, 2);
}

#[test]
fn dma_tag_line_and_pghp_before() {
    let (msgs, stats) = run(
        "\\si:AISD*3F\\\n$PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B*5C\n\
         !AIVDM,1,1,,B,13:BuN001=15mQFOjcOBG1p800SK,0*7B\n",
    );
    assert_eq!(
        (stats.lines, stats.lines_in_messages, stats.messages),
        (3, 3, 1)
    );
    assert_eq!(msgs[0].1.source.unwrap().as_str(), "AISD");
    assert_eq!(msgs[0].1.rx_time_ms, Some(1_412_267_403_887));
}

#[test]
fn pghp_after_its_sentence_and_shuffled() {
    // The $PGHP names the checksum of the sentence it annotates (AMSA augmented feeds). The
    // second sentence is a type 1 made to have checksum 4D (the capture's own sentence there is
    // a 192-bit type 25, longer than type 25 allows: rejected since issue 17).
    let (msgs, stats) = run(
        "!AIVDM,1,1,,A,144gjIP0085KKPQHMPjT81Sb1PSL,0*22,1328133720087\n\
         $PGHP,1,2012,2,1,20,19,5,651,316,2,316000002,1AIS_S,22*4B,1328133720089\n\
         $PGHP,1,2012,2,1,20,19,50,907,316,2,316000002,1AIS_S,4D*07,1328133720099\n\
         $PGHP,1,2012,2,1,20,19,51,720,316,2,316000002,1AIS_S,35*7B,1328133720099\n\
         !AIVDM,1,1,,A,13F=qV8P1T5GF7uK6=Acfww@28GG,0*4D,1328133720099\n\
         !AIVDM,1,1,,A,13F=qV8P1T5GF7uK6=Acfww@28G?,0*35,1328133720100\n",
    );
    assert_eq!(stats.lines, 6);
    assert_eq!(stats.lines_in_messages, 6, "{stats:?}");
    assert_eq!(msgs[0].1.rx_time_ms, Some(1_328_127_545_651));
    assert_eq!(msgs[1].1.rx_time_ms, Some(1_328_127_590_907));
    assert_eq!(msgs[2].1.rx_time_ms, Some(1_328_127_591_720));
}

#[test]
fn trailer_time_when_nothing_better() {
    let (msgs, _) = run("!AIVDM,1,1,,A,15B4FT5000JRP>PE6E68Nbkl0PS5,0*70,b003669794,1272412827\n");
    assert_eq!(msgs[0].1.rx_time_ms, Some(1_272_412_827_000));
    assert_eq!(msgs[0].1.source.unwrap().as_str(), "b003669794");
}

#[test]
fn interleaved_and_out_of_order_fragments() {
    let a1 = "!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E";
    let a2 = "!AIVDM,2,2,3,B,1@0000000000000,2*55";
    let b1 = "!AIVDM,2,1,4,A,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3A";
    let b2 = "!AIVDM,2,2,4,A,1@0000000000000,2*51";
    let single = "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C";
    let (msgs, stats) = run(&format!("{a1}\n{b2}\n{single}\n{b1}\n{a2}\n"));
    assert_eq!(stats.messages, 3);
    assert_eq!(stats.lines_in_messages, 5);
    assert!(
        msgs.iter()
            .filter(|(d, _)| d.contains("MT.MITCHELL"))
            .count()
            == 2
    );
}

#[test]
fn orphans_duplicates_and_pending_are_counted() {
    let a1 = "!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E";
    let a2 = "!AIVDM,2,2,3,B,1@0000000000000,2*55";
    // a1, a1 again (restarts the group: the first copy is an orphan), a2 completes; a2 arriving
    // first opens a group (out of order), its copy is a duplicate, a1 completes; a lone a1
    // stays pending.
    let (_, stats) = run(&format!("{a1}\n{a1}\n{a2}\n{a2}\n{a2}\n{a1}\n{a1}\n"));
    assert_eq!(stats.messages, 2);
    assert_eq!(stats.rejected(Reject::OrphanFragment), 1);
    assert_eq!(stats.rejected(Reject::DuplicateFragment), 1);
    assert_eq!(stats.pending_fragments, 1);
    assert_eq!(stats.lines, 7);
}

#[test]
fn orphan_flood_is_bounded() {
    let cfg = DecoderConfig {
        assembler: ais::assemble::AssemblerConfig {
            max_groups: 16,
            max_age_lines: 100_000,
            ..Default::default()
        },
        ..DecoderConfig::default()
    };
    let mut input = String::new();
    for k in 0..10_000u32 {
        // Distinct tag-block groups that never complete.
        let tag_body = format!("g:1-2-{k}");
        let sum = tag_body.bytes().fold(0u8, |a, b| a ^ b);
        input.push_str(&format!(
            "\\{tag_body}*{sum:02X}\\!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E\n"
        ));
    }
    let (_, stats) = run_cfg(&input, cfg);
    assert_eq!(stats.rejected(Reject::OrphanFragment), 10_000 - 16);
    assert_eq!(stats.pending_fragments, 16);
}

#[test]
fn every_kind_of_bad_line_is_counted() {
    let input = "# comment\n\
                 $GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D\n\
                 !AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5D\n\
                 !AIVDM,1,1,,B,,0*25\n\
                 !AIVDM,x,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*15\n\
                 !AIVDM,1,1,,B,177KQ,0*0E\n\
                 !AIVDM,1,1,,A,0000000000000000000000000000,0*26\n\
                 !AIVDM,2,2,7,B,1@0000000000000,2*51\n\
                 \\c:1354719388*56\\\n\
                 \n\
                 garbage\n";
    let (_, stats) = run(input);
    assert_eq!(stats.lines, 10);
    assert_eq!(stats.messages, 0);
    for (reason, n) in [
        (Reject::Comment, 1),
        (Reject::NotAis, 2),
        (Reject::BadChecksum, 1),
        (Reject::EmptyPayload, 1),
        (Reject::BadFraming, 1),
        (Reject::BadPayloadLength, 1),
        (Reject::UnknownType, 1),
        (Reject::OrphanMetadata, 1),
    ] {
        assert_eq!(stats.rejected(reason), n, "{reason}: {stats:?}");
    }
    assert_eq!(stats.pending_fragments, 1);
}

#[test]
fn crlf_and_split_feeding() {
    let text = "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C\r\n!AIVDM,1,1,,A,B5NIeAP00=qmw14cRKvQSwm5WP06,0*51\r\n";
    let (whole, s1) = run(text);
    let mut d = Decoder::default();
    let mut parts = Vec::new();
    let mut sink = |m: &Message<'_>, meta: &Meta| parts.push((format!("{m:?}"), *meta));
    for b in text.as_bytes() {
        d.feed(std::slice::from_ref(b), &mut sink);
    }
    let s2 = d.finish(&mut sink);
    assert_eq!(whole, parts);
    assert_eq!(s1, s2);
}

#[test]
fn concatenated_sentences_on_one_line() {
    let (msgs, stats) = run(
        "\\c:1662052384,s:FM112*00\\!AIVDM,2,1,1,A,502CuBh0000000000000000000000000000000000000040Ht00000000000,0*37\\c:1662052384,s:FM112*00\\!AIVDM,2,2,1,A,00000000000,2*25\n",
    );
    assert_eq!(
        (stats.lines, stats.messages, stats.lines_in_messages),
        (1, 1, 1)
    );
    assert_eq!(msgs[0].1.source.unwrap().as_str(), "FM112");
    assert_eq!(stats.warnings.tag_checksum_absent, 2);
}

/// Inputs that once crashed the decoder (found by `fuzz/`), kept as regression tests.
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        let data = std::fs::read(f.path()).unwrap();
        let mut d = Decoder::default();
        let mut sink = |_: &Message<'_>, _: &Meta| {};
        d.feed(&data, &mut sink);
        let s = d.finish(&mut sink);
        assert!(s.balanced(), "{}: {s:?}", f.path().display());
    }
}

/// Regression (issue 2): a second fragment whose first was lost must not be completed by the
/// next message's first fragment (NMEA sequence ids repeat). Seen in the AISHub capture.
#[test]
fn lost_first_fragment_does_not_mispair() {
    let x2 = "!AIVDM,2,2,1,A,1@0000000000000,2*54";
    let filler = "!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C";
    let y1 = "!AIVDM,2,1,1,A,53AIc201w28pu`AN3:1@Pu:1:22222222222220Q80D:44f70;DmjCSmBThj,0*64";
    let y2 = "!AIVDM,2,2,1,A,AH888888880,2*2C";
    let input = format!("{x2}\n{filler}\n{filler}\n{filler}\n{filler}\n{filler}\n{y1}\n{y2}\n");
    let (msgs, stats) = run(&input);
    assert_eq!(stats.messages, 6);
    assert_eq!(stats.rejected(Reject::OrphanFragment), 1);
    assert!(
        msgs.iter().any(|(d, _)| d.contains("SWINOUJSCIE")),
        "{msgs:?}"
    );
}

/// Fragments heard by two receivers of a merged feed, interleaved with the same sequence id,
/// are reassembled per receiver.
#[test]
fn interleaved_receivers_do_not_mix() {
    fn tagged(src: &str, sentence: &str) -> String {
        let body = format!("s:{src}");
        let sum = body.bytes().fold(0u8, |a, b| a ^ b);
        format!("\\{body}*{sum:02X}\\{sentence}")
    }
    let a1 = "!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E";
    let a2 = "!AIVDM,2,2,3,B,1@0000000000000,2*55";
    let b1 = "!AIVDM,2,1,3,B,53AIc201w28pu`AN3:1@Pu:1:22222222222220Q80D:44f70;DmjCSmBThj,0*65";
    let b2 = "!AIVDM,2,2,3,B,AH888888880,2*2D";
    let input = [
        tagged("r1", a1),
        tagged("r2", b1),
        tagged("r2", b2),
        tagged("r1", a2),
    ]
    .join("\n");
    let (msgs, stats) = run(&(input + "\n"));
    assert_eq!(stats.messages, 2, "{stats:?}");
    assert!(msgs
        .iter()
        .any(|(d, m)| d.contains("MT.MITCHELL") && m.source.unwrap().as_str() == "r1"));
    assert!(msgs
        .iter()
        .any(|(d, m)| d.contains("SWINOUJSCIE") && m.source.unwrap().as_str() == "r2"));
}
