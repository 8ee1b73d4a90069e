//! `tidewatch sample`: a small, deterministic, synthetic AIS feed made with the encoder (ships on
//! straight legs through the Singapore Strait, class A and B, static data, tag blocks with
//! receiver and time, and a few damaged lines). Cheap load for the ingest benchmark and tests:
//! `--vessels N` adds ships on random courses that ignore land. Realistic traffic with ground
//! truth is `tidewatch simulate`'s.

use ais::bits::AisText;
use ais::encode::{encode_payload, to_sentences, SentenceOptions};
use ais::msg::{
    ClassBPosition, Dimensions, Eta, Header, Message, PositionReport, RateOfTurn, StaticDataA,
    StaticDataB, StaticVoyage,
};
use ais::Mmsi;
use anyhow::{Context, Result};
use std::io::Write;

/// Arguments of `tidewatch sample`.
#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// Output file (`-` for stdout).
    #[arg(long, default_value = "-")]
    pub out: String,
    /// Minutes of traffic.
    #[arg(long, default_value_t = 30)]
    pub minutes: u32,
    /// Extra generated ships (class A, random courses across the northern Indian Ocean), for
    /// benchmarks at scale.
    #[arg(long, default_value_t = 0)]
    pub vessels: u32,
}

struct Ship {
    mmsi: u32,
    name: String,
    callsign: String,
    imo: Option<u32>,
    ship_type: u8,
    class_b: bool,
    lon: f64,
    lat: f64,
    sog_knots: f64,
    cog_deg: f64,
}

/// Start of the sample: 2026-01-15T00:00:00Z.
const T0_S: i64 = 1_768_435_200;

fn ships() -> Vec<Ship> {
    let s = |mmsi,
             name: &str,
             callsign: &str,
             imo,
             ship_type,
             class_b,
             lon,
             lat,
             sog_knots,
             cog_deg| Ship {
        mmsi,
        name: name.to_owned(),
        callsign: callsign.to_owned(),
        imo,
        ship_type,
        class_b,
        lon,
        lat,
        sog_knots,
        cog_deg,
    };
    vec![
        s(
            563_012_345,
            "STRAIT PIONEER",
            "9V1234",
            Some(9_734_567),
            70,
            false,
            103.70,
            1.20,
            14.0,
            80.0,
        ),
        s(
            477_123_456,
            "OCEAN LOTUS",
            "VRAB7",
            Some(9_812_345),
            80,
            false,
            104.20,
            1.26,
            12.5,
            255.0,
        ),
        s(
            419_001_234,
            "INS SAGAR",
            "AVSG",
            None,
            35,
            false,
            103.95,
            1.15,
            16.0,
            95.0,
        ),
        s(
            533_998_877,
            "MUTIARA BIRU",
            "9MAB2",
            Some(9_456_789),
            30,
            false,
            104.05,
            1.30,
            6.0,
            310.0,
        ),
        s(
            338_456_789,
            "BLUE HERON",
            "WDH1234",
            None,
            37,
            true,
            103.85,
            1.22,
            7.5,
            120.0,
        ),
        s(
            636_019_876,
            "LIBERTY STAR",
            "D5XY9",
            Some(9_701_234),
            89,
            false,
            104.40,
            1.24,
            11.0,
            262.0,
        ),
    ]
}

/// `n` ships with MMSIs of real MIDs, random positions, speeds and courses in a box over the
/// northern Indian Ocean (lon 50-95 E, lat 0-20 N; some start on land: this is load, not a
/// scenario).
fn generated(n: u32) -> Vec<Ship> {
    const MIDS: [u32; 8] = [419, 563, 477, 538, 636, 352, 370, 470];
    let mut rng = Lcg(0x6765_6e65_7261_7465);
    (0..n)
        .map(|k| {
            let mid = MIDS[(k % MIDS.len() as u32) as usize];
            Ship {
                mmsi: mid * 1_000_000 + 100_000 + k / MIDS.len() as u32,
                name: format!("SAMPLE {k:06}"),
                callsign: format!("SX{k:05}"),
                imo: Some(9_000_000 + k),
                ship_type: [70, 80, 30, 60][(k % 4) as usize],
                class_b: false,
                lon: 50.0 + rng.next() * 45.0,
                lat: rng.next() * 20.0,
                sog_knots: 5.0 + rng.next() * 15.0,
                cog_deg: rng.next() * 360.0,
            }
        })
        .collect()
}

/// Deterministic pseudo-random numbers (a 64-bit LCG; the sample must be byte-stable).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn tag(source: &str, time_s: i64) -> String {
    let body = format!("s:{source},c:{time_s}");
    let sum = ais::nmea::xor_checksum(body.as_bytes());
    format!("\\{body}*{sum:02X}\\")
}

pub fn run(args: SampleArgs) -> Result<()> {
    let mut out: Box<dyn Write> = if args.out == "-" {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(&args.out)
                .with_context(|| format!("cannot create {}", args.out))?,
        ))
    };
    let mut rng = Lcg(0x7469_6465_7761_7463);
    let mut fleet = ships();
    fleet.extend(generated(args.vessels));
    writeln!(
        out,
        "# Tidewatch synthetic sample: {} ships, {} minutes, Singapore Strait",
        fleet.len(),
        args.minutes
    )?;
    let mut seq = 0u8;
    let mut written = 0u64;
    let steps = args.minutes as i64 * 6;
    for step in 0..steps {
        let t = T0_S + step * 10;
        for (k, ship) in fleet.iter_mut().enumerate() {
            // Advance 10 s along the course (flat-earth step is fine over 10 s).
            let d_nm = ship.sog_knots * 10.0 / 3600.0;
            let rad = ship.cog_deg.to_radians();
            ship.lat += d_nm * rad.cos() / 60.0;
            ship.lon += d_nm * rad.sin() / (60.0 * ship.lat.to_radians().cos());
            let jitter = |r: &mut Lcg| (r.next() - 0.5) * 0.00002;
            let header = |t: u8| Header {
                msg_type: t,
                repeat: 0,
                mmsi: Mmsi(ship.mmsi),
            };
            let second = Some((t % 60) as u8);
            let mut msgs = Vec::new();
            if ship.class_b {
                if step % 3 == 0 {
                    msgs.push(Message::ClassBPosition(ClassBPosition::cs_unit(
                        header(18),
                        Some(ship.sog_knots as f32),
                        Some(ship.lon + jitter(&mut rng)),
                        Some(ship.lat + jitter(&mut rng)),
                        Some(ship.cog_deg as f32),
                        second,
                    )));
                }
                if step % 36 == 5 {
                    msgs.push(Message::StaticDataA(StaticDataA {
                        header: header(24),
                        shipname: AisText::from_str_lossy(&ship.name),
                    }));
                    msgs.push(Message::StaticDataB(StaticDataB {
                        header: header(24),
                        ship_type: Some(ship.ship_type),
                        vendor_id: AisText::from_str_lossy("TDW"),
                        model: 1,
                        serial: 4242,
                        callsign: AisText::from_str_lossy(&ship.callsign),
                        dims: Dimensions {
                            to_bow: Some(8),
                            to_stern: Some(4),
                            to_port: Some(2),
                            to_starboard: Some(2),
                        },
                        mothership_mmsi: None,
                    }));
                }
            } else {
                msgs.push(Message::Position(PositionReport {
                    header: header(1),
                    nav_status: Some(if ship.ship_type == 30 { 7 } else { 0 }),
                    rot: Some(RateOfTurn::DegPerMin(0.0)),
                    sog_knots: Some((ship.sog_knots + (rng.next() - 0.5) * 0.2) as f32),
                    accuracy: true,
                    lon: Some(ship.lon + jitter(&mut rng)),
                    lat: Some(ship.lat + jitter(&mut rng)),
                    cog_deg: Some(
                        ((ship.cog_deg + (rng.next() - 0.5) * 2.0) as f32).rem_euclid(360.0),
                    ),
                    heading_deg: Some(ship.cog_deg.round() as u16 % 360),
                    second,
                    maneuver: None,
                    raim: false,
                    radio: Some(33_000 + k as u32),
                }));
                if step % 36 == (k as i64 * 5) % 36 {
                    msgs.push(Message::StaticVoyage(StaticVoyage {
                        header: header(5),
                        ais_version: 2,
                        imo: ship.imo,
                        callsign: AisText::from_str_lossy(&ship.callsign),
                        shipname: AisText::from_str_lossy(&ship.name),
                        ship_type: Some(ship.ship_type),
                        dims: Dimensions {
                            to_bow: Some(150),
                            to_stern: Some(30),
                            to_port: Some(14),
                            to_starboard: Some(14),
                        },
                        epfd: Some(1),
                        eta: Eta {
                            month: Some(1),
                            day: Some(17),
                            hour: Some(6),
                            minute: Some(30),
                        },
                        draught_m: Some(9.5),
                        destination: AisText::from_str_lossy("SGSIN"),
                        dte: false,
                    }));
                }
            }
            for m in msgs {
                let payload = encode_payload(&m).context("encoding the sample")?;
                let mut lines = Vec::new();
                seq = (seq + 1) % 10;
                let channel = if rng.next() < 0.5 { b'A' } else { b'B' };
                to_sentences(
                    &payload,
                    &SentenceOptions {
                        channel,
                        seq_id: seq,
                        ..Default::default()
                    },
                    &mut lines,
                );
                let receiver = if ship.lon < 104.0 {
                    "sg-west"
                } else {
                    "sg-east"
                };
                for line in lines {
                    // One line in 400 is damaged in transit.
                    written += 1;
                    if written.is_multiple_of(400) {
                        let damaged = line.replacen('A', "B", 1).replacen(",0*", ",1*", 1);
                        writeln!(out, "{}{damaged}", tag(receiver, t))?;
                    } else {
                        writeln!(out, "{}{line}", tag(receiver, t))?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}
