//! Issue 17: the application messages of types 6 and 8 that gpsd decodes (IMO 236 and 289,
//! DAC 1; inland AIS, DAC 200), beyond the met/hydro, text and inland ones in `gpsd.rs`.
//!
//! No capture holds one of these messages, so each test builds its payload field by field
//! with the bit writer, in the order of the layout in gpsd's AIVDM documentation and IALA's
//! ASM register, and checks its armoring against the sentence given to gpsd's decoder
//! (`gpsdecode` 3.22, Debian's gpsd-clients). Its expected values are what gpsdecode prints for
//! that sentence, in Tidewatch's conventions (`None` for the standard's "not available" values,
//! scaled units), except where a comment says where and why Tidewatch follows the standard
//! instead.

use ais::bits::{BitWriter, Payload};
use ais::msg::{AppData, Message, TargetId};

/// A type 6 from 211000001 to 2111240 with this DAC and FID; the application data follows.
fn t6(dac: u64, fid: u64) -> BitWriter {
    let mut w = BitWriter::new();
    w.u(6, 6)
        .u(2, 0)
        .u(30, 211_000_001)
        .u(2, 0)
        .u(30, 2_111_240);
    w.u(1, 0).u(1, 0).u(10, dac).u(6, fid);
    w
}

/// A type 8 from 2111240 with this DAC and FID.
fn t8(dac: u64, fid: u64) -> BitWriter {
    let mut w = BitWriter::new();
    w.u(6, 8)
        .u(2, 0)
        .u(30, 2_111_240)
        .u(2, 0)
        .u(10, dac)
        .u(6, fid);
    w
}

/// A coordinate in `per_degree` units, rounded.
fn raw(deg: f64, per_degree: f64) -> i64 {
    (deg * per_degree).round() as i64
}

fn decode(p: &Payload) -> Option<AppData> {
    match ais::decode(p) {
        Ok(Message::BinaryAddressed(b)) => b.app,
        Ok(Message::BinaryBroadcast(b)) => b.app,
        other => panic!("not a type 6 or 8: {other:?}"),
    }
}

/// The payload written, checked against the armored payload gpsdecode was given.
fn written(w: BitWriter, gpsd_input: &str) -> Payload {
    let p = w.finish();
    let mut armored = Vec::new();
    p.armor_into(&mut armored);
    assert_eq!(String::from_utf8(armored).unwrap(), gpsd_input);
    p
}

/// The application message of the payload written.
fn app(w: BitWriter, gpsd_input: &str) -> Option<AppData> {
    decode(&written(w, gpsd_input))
}

/// The payload's first `bits` bits (zero bits past its end).
fn resized(p: &Payload, bits: usize) -> Payload {
    let mut w = BitWriter::new();
    for k in 0..bits {
        let b = k < p.len_bits() && p.b(k);
        w.b(b);
    }
    w.finish()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6)
}

#[test]
fn issue17_imo236_dangerous_cargo_dac1_fid12() {
    let mut w = t6(1, 12);
    w.text(5, "DEHAM").u(4, 3).u(5, 14).u(5, 10).u(6, 30);
    w.text(5, "NLRTM").u(4, 3).u(5, 15).u(5, 24).u(6, 60);
    w.text(20, "PETROL")
        .text(4, "3")
        .u(13, 1203)
        .u(10, 500)
        .u(2, 2)
        .u(3, 0);
    let w_input = "639>Jh@0P=hP04h@DP4lo:N><BD==v?41E4Sk00000000000000<h002FKr@";
    let p = written(w, w_input);
    // gpsd: lastport DEHAM departure 03-14T10:30Z nextport NLRTM eta "03-15T24:60Z" (hour and
    // minute not available) dangerous PETROL imdcat 3 unid 1203 amount 500 unit 2.
    let Some(AppData::DangerousCargo236(c)) = decode(&p) else {
        panic!("not decoded")
    };
    assert_eq!(
        (c.last_port.as_str(), c.next_port.as_str()),
        ("DEHAM", "NLRTM")
    );
    let d = c.departure;
    assert_eq!(
        (d.month, d.day, d.hour, d.minute),
        (Some(3), Some(14), Some(10), Some(30))
    );
    let e = c.eta;
    assert_eq!(
        (e.month, e.day, e.hour, e.minute),
        (Some(3), Some(15), None, None)
    );
    assert_eq!(
        (c.dangerous.as_str(), c.imd_category.as_str()),
        ("PETROL", "3")
    );
    assert_eq!(
        (c.un_number, c.amount, c.unit),
        (Some(1203), Some(500), Some(2))
    );
    // gpsd's sample.aivdm: "Advertised as DAC 1, FID 12, but full of garbage" (168 bits).
    let mut g = Payload::new();
    g.set(b"63LBA4;WBevJ04k0=@E=B0td", 0).unwrap();
    assert_eq!(decode(&g), None);
    // Shorter than the layout: raw.
    assert_eq!(decode(&resized(&p, 356)), None);
}

#[test]
fn issue17_imo236_tidal_window_dac1_fid14() {
    let mut w = t6(1, 14);
    w.u(4, 6).u(5, 21);
    for k in 0..2 {
        w.i(27, raw(53.5 + k as f64 / 100.0, 600_000.0))
            .i(28, raw(8.5, 600_000.0));
        w.u(5, 10)
            .u(6, 15)
            .u(5, 12 + 12 * k)
            .u(6, 45)
            .u(9, 270)
            .u(7, 25 + 102 * k);
    }
    let p = written(w, "639>Jh@0P=hP04qbWakb04oAp57deQiTu?<80Vr?0`w5d>wP");
    // gpsd scales IMO 236's 1/10000-minute positions as 1/1000 minute (lon 85.0, lat 535.0)
    // and adds an all-zero third window that is not in the payload; the rest agrees: month 6
    // day 21, from 10:15 to 12:45, cdir 270, cspeed 2.5; the second window's to_hour 24 and
    // cspeed 12.7 (raw 127) are "not available".
    let Some(AppData::TidalWindow236(t)) = decode(&p) else {
        panic!("not decoded")
    };
    assert_eq!((t.month, t.day), (Some(6), Some(21)));
    let ws = t.windows();
    assert_eq!(ws.len(), 2);
    assert!(close(ws[0].lon, 8.5) && close(ws[0].lat, 53.5) && close(ws[1].lat, 53.51));
    assert_eq!(
        (
            ws[0].from_hour,
            ws[0].from_minute,
            ws[0].to_hour,
            ws[0].to_minute
        ),
        (Some(10), Some(15), Some(12), Some(45))
    );
    assert_eq!(
        (ws[0].current_dir_deg, ws[0].current_speed_knots),
        (Some(270), Some(2.5))
    );
    assert_eq!((ws[1].to_hour, ws[1].current_speed_knots), (None, None));
    // One window's worth of bits less: one window; less than one window: raw.
    let one = resized(&p, 97 + 93);
    match decode(&one) {
        Some(AppData::TidalWindow236(t)) => assert_eq!(t.windows().len(), 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(decode(&resized(&p, 97 + 92)), None);
}

#[test]
fn issue17_imo236_air_draught_dac1_fid15() {
    // Type 8, 72 bits: air draught 11 bits at 56 in 0.1 m (IALA ASM register; gpsd prints the
    // raw 345).
    let mut w = t8(1, 15);
    w.u(11, 345).u(5, 0);
    let Some(AppData::AirDraught(a)) = app(w, "8020o200CjdP") else {
        panic!("not decoded")
    };
    assert_eq!(a.air_draught_m, Some(34.5));
    // Type 6: the air draught follows the destination, at 88 (gpsd reads bit 56, inside the
    // destination MMSI, and prints 1761).
    let mut w = t6(1, 15);
    w.u(11, 345).u(5, 0);
    let Some(AppData::AirDraught(a)) = app(w, "639>Jh@0P=hP04tc80") else {
        panic!("not decoded")
    };
    assert_eq!(a.air_draught_m, Some(34.5));
    // 0 is not available.
    let mut w = t8(1, 15);
    w.u(11, 0).u(5, 0);
    let p = w.finish();
    assert_eq!(
        decode(&p),
        Some(AppData::AirDraught(ais::msg::AirDraught {
            air_draught_m: None
        }))
    );
}

#[test]
fn issue17_persons_on_board_dac1_fid16() {
    // IMO 289, type 6, 136 bits: persons 13 bits at 88 (gpsd tests the data length, not the
    // message length, against 136, so it reads bit 55 and prints 3522).
    let mut w = t6(1, 16);
    w.u(13, 123).u(35, 0);
    let Some(AppData::PersonsOnBoard(n)) = app(w, "639>Jh@0P=hP0503n000000") else {
        panic!("not decoded")
    };
    assert_eq!(n.persons, Some(123));
    // IMO 236, 72 bits and no destination, so a type 8 layout: persons at 56 (gpsd keeps it
    // raw).
    let mut w = t8(1, 16);
    w.u(13, 77).u(3, 0);
    let Some(AppData::PersonsOnBoard(n)) = app(w, "8020o200D09`") else {
        panic!("not decoded")
    };
    assert_eq!(n.persons, Some(77));
    // The 240-bit type 8 FID 16 of the AISHub capture (IMO 236 VTS targets) stays raw.
    let mut w = t8(1, 16);
    w.u(32, 0xe4a2_8480)
        .u(32, 0x22ce_aa0a)
        .u(32, 0)
        .u(32, 0)
        .u(32, 0)
        .u(24, 0);
    let p = w.finish();
    assert_eq!(p.len_bits(), 240);
    assert_eq!(decode(&p), None);
}

#[test]
fn issue17_imo289_clearance_time_dac1_fid18() {
    let mut w = t6(1, 18);
    w.u(10, 5).u(4, 7).u(5, 20).u(5, 13).u(6, 40);
    w.text(20, "ROTTERDAM").text(5, "NLRTM");
    w.i(25, raw(4.1, 60_000.0))
        .i(24, raw(51.9, 60_000.0))
        .u(43, 0);
    let p = written(
        w,
        "639>Jh@0P=hP0581G`nQ8uA@E8@4l00000000000pi9@l1p7PGhPP0000000",
    );
    // gpsd: linkage 5 arrival 07-20T13:40Z portname ROTTERDAM destination NLRTM lon 4.1000
    // lat 51.9000.
    let Some(AppData::ClearanceTime(c)) = decode(&p) else {
        panic!("not decoded")
    };
    assert_eq!(c.linkage, Some(5));
    let t = c.time;
    assert_eq!(
        (t.month, t.day, t.hour, t.minute),
        (Some(7), Some(20), Some(13), Some(40))
    );
    assert_eq!(
        (c.port_berth.as_str(), c.destination.as_str()),
        ("ROTTERDAM", "NLRTM")
    );
    assert!(close(c.lon, 4.1) && close(c.lat, 51.9));
    // gpsd's sample.aivdm: "Advertised as DAC 1, FID 18, but full of 0" (168 bits): raw.
    let mut g = Payload::new();
    g.set(b"6h2E3MDrDRiB0580@00000000000", 0).unwrap();
    assert_eq!(decode(&g), None);
    // The spare bits may be missing; the position may not.
    assert!(decode(&resized(&p, 317)).is_some());
    assert_eq!(decode(&resized(&p, 316)), None);
}

#[test]
fn issue17_imo289_berthing_data_dac1_fid20() {
    let mut w = t6(1, 20);
    w.u(10, 9)
        .u(9, 300)
        .u(8, 125)
        .u(3, 2)
        .u(4, 8)
        .u(5, 2)
        .u(5, 6)
        .u(6, 30)
        .u(1, 1);
    for k in 0..26 {
        w.u(2, k % 4);
    }
    w.text(20, "BERTH 7")
        .i(25, raw(4.1, 60_000.0))
        .i(24, raw(51.9, 60_000.0));
    // gpsd: linkage 9 berth_length 300 berth_depth 12.5 position 2 arrival "8-2T6:30"
    // availability 1, agent 0 fuel 1 chandler 2 stevedore 3 ... future2 1, berth_name
    // "BERTH 7", berth_lon 4.1000 berth_lat 51.9000.
    let Some(AppData::Berthing(b)) = app(
        w,
        "639>Jh@0P=hP05@2IHvb16NSHn=SHn=R4:T`A1f00000000000000t3h;p@@",
    ) else {
        panic!("not decoded")
    };
    assert_eq!(b.linkage, Some(9));
    assert_eq!((b.berth_length_m, b.berth_depth_m), (Some(300), Some(12.5)));
    assert_eq!(b.mooring_position, Some(2));
    let t = b.time;
    assert_eq!(
        (t.month, t.day, t.hour, t.minute),
        (Some(8), Some(2), Some(6), Some(30))
    );
    assert!(b.services_known);
    assert_eq!(&b.services[..5], &[0, 1, 2, 3, 0]);
    assert_eq!(b.services[25], 1);
    assert_eq!(b.berth_name.as_str(), "BERTH 7");
    assert!(close(b.lon, 4.1) && close(b.lat, 51.9));
}

#[test]
fn issue17_imo289_dangerous_cargo_dac1_fid25() {
    let mut w = t6(1, 25);
    w.u(2, 1).u(10, 200);
    for k in 0..3 {
        w.u(4, k + 1).u(13, 1000 + k);
    }
    let p = written(w, "639>Jh@0P=hP05U<PAu13rC7m0");
    // gpsd: unit 1 amount 200 cargos [{code 1 subtype 1000}, {2, 1001}, {3, 1002}].
    let Some(AppData::DangerousCargo(c)) = decode(&p) else {
        panic!("not decoded")
    };
    assert_eq!((c.unit, c.amount), (Some(1), Some(200)));
    let codes: Vec<_> = c.cargos().iter().map(|c| (c.code, c.subtype)).collect();
    assert_eq!(
        codes,
        vec![
            (Some(1), Some(1000)),
            (Some(2), Some(1001)),
            (Some(3), Some(1002))
        ]
    );
    // Up to 7 bits after the last cargo are padding (a sender pads to a byte); more are a
    // cargo cut short, and the message stays raw (gpsd reads a cargo from them).
    match decode(&resized(&p, 100 + 17 * 2 + 7)) {
        Some(AppData::DangerousCargo(c)) => assert_eq!(c.cargos().len(), 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(decode(&resized(&p, 100 + 17 * 2 + 8)), None);
    assert_eq!(decode(&resized(&p, 116)), None);
}

#[test]
fn issue17_imo289_route_information_dac1_fid28_and_fid27() {
    let mut w = t6(1, 28);
    w.u(10, 3)
        .u(3, 1)
        .u(5, 2)
        .u(4, 5)
        .u(5, 6)
        .u(5, 7)
        .u(6, 8)
        .u(18, 120)
        .u(5, 2);
    for k in 0..2 {
        w.i(28, raw(4.1 + k as f64 / 10.0, 600_000.0))
            .i(27, raw(-51.9, 600_000.0));
    }
    let p = written(w, "639>Jh@0P=hP05h0j9C7801p41;4d69=MP0VLt34Vfh0");
    // gpsd: linkage 3 sender 1 rtype 2 start 05-06T07:08Z duration 120 waypoints
    // [{4.1, -51.9}, {4.2, -51.9}].
    let Some(AppData::Route(r)) = decode(&p) else {
        panic!("not decoded")
    };
    assert_eq!((r.linkage, r.sender, r.route_type), (Some(3), 1, 2));
    let s = r.start;
    assert_eq!(
        (s.month, s.day, s.hour, s.minute),
        (Some(5), Some(6), Some(7), Some(8))
    );
    assert_eq!(r.duration_min, Some(120));
    let wp: Vec<_> = r.waypoints().iter().map(|w| (w.lon(), w.lat())).collect();
    assert_eq!(wp.len(), 2);
    assert!(close(wp[0].0, 4.1) && close(wp[1].0, 4.2) && close(wp[1].1, -51.9));
    // A waypoint count the payload cannot hold stays raw (gpsd reads past the end).
    assert_eq!(decode(&resized(&p, 149 + 55)), None);

    let mut w = t8(1, 27);
    w.u(10, 3)
        .u(3, 1)
        .u(5, 2)
        .u(4, 5)
        .u(5, 6)
        .u(5, 7)
        .u(6, 8)
        .u(18, 120)
        .u(5, 3);
    for k in 0..3 {
        w.i(28, raw(4.1 + k as f64 / 10.0, 600_000.0))
            .i(27, raw(51.9, 600_000.0));
    }
    // gpsd: the same header, waypoints [{4.1, 51.9}, {4.2, 51.9}, {4.3, 51.9}].
    let Some(AppData::Route(r)) = app(w, "8020o200Fh38U<LP07PH4dBh7K::02Ikh3eU501>g41njRP") else {
        panic!("not decoded")
    };
    assert_eq!(r.waypoints().len(), 3);
    assert!(close(r.waypoints()[2].lon(), 4.3) && close(r.waypoints()[2].lat(), 51.9));
}

#[test]
fn issue17_imo289_tidal_window_dac1_fid32() {
    let mut w = t6(1, 32);
    w.u(4, 6).u(5, 21);
    for k in 0..3u64 {
        w.i(25, raw(-8.5, 60_000.0))
            .i(24, raw(53.5 + k as f64 / 100.0, 60_000.0));
        w.u(5, 10).u(6, 15).u(5, 12).u(6, 45 + 15 * k);
        w.u(9, 270u64.wrapping_sub(270 * k)).u(8, 25 + 230 * k);
    }
    let p = written(
        w,
        "639>Jh@0P=hP061bwPol33s457deQhkv3O@<?m`DNkh0Owp=u0hwt1As2oUjP",
    );
    // gpsd: month 6 day 21; lon -8.5, lat 53.50/53.51/53.52; 10:15 to 12:45, 12:60 and 12:11
    // (the writer keeps the low 6 bits of 75); cdir 270, 0 and 242; cspeed 2.5, 25.5 (raw
    // 255, not available) and 22.9; and a fourth, all-zero window that is not in the payload.
    let Some(AppData::TidalWindow(t)) = decode(&p) else {
        panic!("not decoded")
    };
    assert_eq!((t.month, t.day), (Some(6), Some(21)));
    let ws = t.windows();
    assert_eq!(ws.len(), 3);
    assert!(close(ws[0].lon, -8.5) && close(ws[2].lat, 53.52));
    assert_eq!(
        ws.iter().map(|w| w.to_minute).collect::<Vec<_>>(),
        vec![Some(45), None, Some(11)]
    );
    assert_eq!(
        ws.iter().map(|w| w.current_dir_deg).collect::<Vec<_>>(),
        vec![Some(270), Some(0), Some(242)]
    );
    assert_eq!(
        ws.iter().map(|w| w.current_speed_knots).collect::<Vec<_>>(),
        vec![Some(2.5), None, Some(22.9)]
    );
}

#[test]
fn issue17_imo236_fairway_closed_dac1_fid13() {
    let mut w = t8(1, 13);
    w.text(20, "ACCIDENT")
        .text(20, "BUOY 12")
        .text(20, "BUOY 14");
    w.u(10, 500).u(2, 1);
    // Day before month in both times.
    w.u(5, 3)
        .u(4, 4)
        .u(5, 6)
        .u(6, 7)
        .u(5, 8)
        .u(4, 9)
        .u(5, 10)
        .u(6, 11)
        .u(4, 0);
    // gpsd: reason ACCIDENT closefrom "BUOY 12" closeto "BUOY 14" radius 500 extunit 1
    // from 04-03T06:07 to 09-08T10:11.
    let Some(AppData::FairwayClosed(c)) = app(
        w,
        "8020o200C@@hjA1CU0000000000000UCnH<LP0000000000000UCnH<M00000000000007lA`HM4b;0",
    ) else {
        panic!("not decoded")
    };
    assert_eq!(
        (
            c.reason.as_str(),
            c.close_from.as_str(),
            c.close_to.as_str()
        ),
        ("ACCIDENT", "BUOY 12", "BUOY 14")
    );
    assert_eq!((c.radius, c.radius_unit), (Some(500), 1));
    let (f, t) = (c.from, c.to);
    assert_eq!(
        (f.month, f.day, f.hour, f.minute),
        (Some(4), Some(3), Some(6), Some(7))
    );
    assert_eq!(
        (t.month, t.day, t.hour, t.minute),
        (Some(9), Some(8), Some(10), Some(11))
    );
}

#[test]
fn issue17_imo289_vts_targets_dac1_fid17() {
    // IMO 289 Table 6.2 (and IALA's ASM register): 120-bit targets with an 8-bit speed over
    // ground, 176-536 bits. gpsd reads 122-bit targets with a 10-bit speed, so it agrees on the
    // first target up to the speed (it prints 50 for this one) and not after.
    let mut w = t8(1, 17);
    w.u(2, 0).u(42, 244_123_456).u(4, 0);
    w.i(24, raw(51.9, 60_000.0)).i(25, raw(4.1, 60_000.0));
    w.u(9, 123).u(6, 30).u(8, 12);
    w.u(2, 2).text(7, "PBXY").u(4, 0);
    w.i(24, raw(52.0, 60_000.0)).i(25, raw(-4.2, 60_000.0));
    w.u(9, 360).u(6, 60).u(8, 255);
    let p = written(w, "8020o200D@00r=1l02v4407PN1sN3909QT0002vKP?pCl5`twh");
    // gpsd: idtype 0 mmsi "244123456" lat 51.9000 lon 4.1000 course 123 second 30.
    let Some(AppData::VtsTargets(v)) = decode(&p) else {
        panic!("not decoded")
    };
    let ts = v.targets();
    assert_eq!(ts.len(), 2);
    assert_eq!(ts[0].id, TargetId::Mmsi(244_123_456));
    assert!(close(ts[0].lat(), 51.9) && close(ts[0].lon(), 4.1));
    assert_eq!(
        (ts[0].course_deg, ts[0].second, ts[0].speed_knots),
        (Some(123), Some(30), Some(12))
    );
    let TargetId::CallSign(c) = ts[1].id else {
        panic!("{:?}", ts[1].id)
    };
    assert_eq!(c.as_str(), "PBXY");
    assert!(close(ts[1].lat(), 52.0) && close(ts[1].lon(), -4.2));
    assert_eq!(
        (ts[1].course_deg, ts[1].second, ts[1].speed_knots),
        (None, None, None)
    );
    // Less than one target: raw.
    assert_eq!(decode(&resized(&p, 175)), None);
}

#[test]
fn issue17_imo289_marine_traffic_signal_dac1_fid19() {
    let mut w = t8(1, 19);
    w.u(10, 4).text(20, "LOCK IJMUIDEN");
    w.i(25, raw(4.6, 60_000.0)).i(24, raw(52.46, 60_000.0));
    w.u(2, 1).u(5, 3).u(5, 14).u(6, 20).u(5, 5).u(102, 0);
    // gpsd: linkage 4 station "LOCK IJMUIDEN" lon 4.6000 lat 52.4600 status 1 signal 3
    // hour 14 minute 20 nextsignal 5.
    let Some(AppData::TrafficSignal(s)) = app(
        w,
        "8020o200Dh4<?3;P9:=E945>00000000Qd@60>`8o:500000000000000000",
    ) else {
        panic!("not decoded")
    };
    assert_eq!((s.linkage, s.station.as_str()), (Some(4), "LOCK IJMUIDEN"));
    assert!(close(s.lon, 4.6) && close(s.lat, 52.46));
    assert_eq!(
        (s.status, s.signal, s.next_signal),
        (Some(1), Some(3), Some(5))
    );
    assert_eq!((s.hour, s.minute), (Some(14), Some(20)));
}

#[test]
fn issue17_inland_eta_and_rta_dac200_fid21_fid22() {
    let mut w = t6(200, 21);
    w.text(2, "NL")
        .text(3, "RTM")
        .text(5, "00001")
        .text(5, "TERM1")
        .text(5, "01234");
    w.u(4, 5)
        .u(5, 6)
        .u(5, 7)
        .u(6, 8)
        .u(3, 2)
        .u(12, 1234)
        .u(5, 0);
    // gpsd: country NL locode RTM section 00001 terminal TERM1 hectometre 01234 eta
    // "5-6T7:8" tugs 2 airdraught 1234 (centimetres).
    let Some(AppData::InlandEta(s)) = app(w, "639>Jh@0P=hP<QDpi9@o33335@E8o737;?AC78BJ@0") else {
        panic!("not decoded")
    };
    assert_eq!(
        (s.country.as_str(), s.locode.as_str(), s.section.as_str()),
        ("NL", "RTM", "00001")
    );
    assert_eq!(
        (s.terminal.as_str(), s.hectometre.as_str()),
        ("TERM1", "01234")
    );
    let t = s.time;
    assert_eq!(
        (t.month, t.day, t.hour, t.minute),
        (Some(5), Some(6), Some(7), Some(8))
    );
    assert_eq!(
        (s.tugs, s.air_draught_m, s.status),
        (Some(2), Some(12.34), None)
    );

    let mut w = t6(200, 22);
    w.text(2, "NL")
        .text(3, "RTM")
        .text(5, "00001")
        .text(5, "TERM1")
        .text(5, "01234");
    w.u(4, 5).u(5, 6).u(5, 7).u(6, 8).u(2, 1).u(2, 0);
    // gpsd: the same fields, status 1 (limited operation).
    let p = written(w, "639>Jh@0P=hP<QHpi9@o33335@E8o737;?AC78@");
    let Some(AppData::InlandRta(s)) = decode(&p) else {
        panic!("not decoded")
    };
    assert_eq!((s.status, s.tugs, s.air_draught_m), (Some(1), None, None));
    // Fixed lengths (gpsd): one bit more or less is raw.
    assert_eq!(decode(&resized(&p, 231)), None);
    assert_eq!(decode(&resized(&p, 233)), None);
}

#[test]
fn issue17_inland_emma_warning_dac200_fid23() {
    let mut w = t8(200, 23);
    w.u(8, 24).u(4, 5).u(5, 6).u(8, 24).u(4, 5).u(5, 7);
    w.u(5, 8).u(6, 9).u(5, 10).u(6, 11);
    w.i(28, raw(4.5, 600_000.0)).i(27, raw(51.9, 600_000.0));
    w.i(28, raw(4.6, 600_000.0)).i(27, raw(52.0, 600_000.0));
    w.u(4, 3).i(9, -5).i(9, 12).u(2, 2).u(4, 7).u(6, 0);
    // gpsd: start "2024-05-08T09:06" (it prints the start's hour, minute and day in the
    // wrong places: the fields are 2024-05-06 08:09), end "2024-05-07T10:11", start_lon 4.5
    // start_lat 51.9 end_lon 4.6 end_lat 52.0 type 3 min -5 max 12 class 2 wind 7.
    let Some(AppData::EmmaWarning(e)) = app(w, "8020o20j5iQC32W@B`d2Tjp3eU501D>`1o1<0?uPjL0")
    else {
        panic!("not decoded")
    };
    assert_eq!((e.start_year, e.end_year), (Some(24), Some(24)));
    let (s, t) = (e.start, e.end);
    assert_eq!(
        (s.month, s.day, s.hour, s.minute),
        (Some(5), Some(6), Some(8), Some(9))
    );
    assert_eq!(
        (t.month, t.day, t.hour, t.minute),
        (Some(5), Some(7), Some(10), Some(11))
    );
    assert!(close(e.start_lon, 4.5) && close(e.start_lat, 51.9));
    assert!(close(e.end_lon, 4.6) && close(e.end_lat, 52.0));
    assert_eq!(
        (e.weather_type, e.min, e.max, e.intensity, e.wind),
        (Some(3), -5, 12, 2, Some(7))
    );
}

#[test]
fn issue17_inland_water_levels_dac200_fid24() {
    let mut w = t8(200, 24);
    w.text(2, "DE");
    for k in 0..4 {
        w.u(11, 100 + k).i(14, -20 + 100 * k as i64);
    }
    // gpsd: country DE gauges [{id 100 level -20}, {101, 80}, {102, 180}, {103, 280}]
    // (centimetres).
    let Some(AppData::WaterLevels(l)) = app(w, "8020o20j611@jOuPI@50<h5`6L4H") else {
        panic!("not decoded")
    };
    assert_eq!(l.country.as_str(), "DE");
    let g: Vec<_> = l.gauges.iter().map(|g| (g.id, g.level_m)).collect();
    assert_eq!(
        g,
        vec![
            (Some(100), -0.2),
            (Some(101), 0.8),
            (Some(102), 1.8),
            (Some(103), 2.8)
        ]
    );
}

#[test]
fn issue17_implausible_times_keep_the_message_raw() {
    // A berthing time in month 13 is not one: the message stays raw (gpsd AIVDM: "decoders
    // should perform range validation on the structured fields").
    let mut w = t6(1, 18);
    w.u(10, 5).u(4, 13).u(5, 20).u(5, 13).u(6, 40);
    w.text(20, "ROTTERDAM")
        .text(5, "NLRTM")
        .u(25, 0)
        .u(24, 0)
        .u(43, 0);
    let p = w.finish();
    assert_eq!(p.len_bits(), 360);
    assert_eq!(decode(&p), None);
}
