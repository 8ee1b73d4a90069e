//! `tidewatch simulate`: runs a scenario (built-in name or TOML file) and writes the raw AIS as
//! partners would deliver it, the ground truth as JSON lines, and an accounting.
//!
//! Outputs: a file (`.gz` compressed), `-` for stdout, a path with `{partner}` for one file
//! per partner, `tcp://ADDR` (a server that feeds every client that connects, as AIS-catcher
//! does) or `udp://ADDR` (datagrams to that address). With `--realtime` or `--speed X` lines
//! are paced by their delivery time; otherwise they are written as fast as they are made.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map, Value as Json};
use sim::radio::Line;
use sim::truth::{TruthEvent, Value};
use sim::{Batch, Overrides, Scenario, Simulation, Summary};
use std::io::{IsTerminal, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Arguments of `tidewatch simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// A built-in scenario (scs-greyzone, ior-shadow-fleet, ior-traffic) or a TOML file.
    pub scenario: String,
    /// Where the NMEA goes: FILE (`.gz` compressed), `-` (stdout), a path containing
    /// `{partner}` (one file per partner), tcp://ADDR (serve clients) or udp://HOST:PORT.
    #[arg(long, default_value = "-")]
    pub out: String,
    /// Write the ground truth here (JSON lines).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Background vessels (default: the scenario's).
    #[arg(long)]
    pub vessels: Option<u32>,
    /// Length in hours (default: the scenario's).
    #[arg(long)]
    pub hours: Option<f64>,
    /// Start time: RFC 3339, a date, now-6h, or Unix seconds (default: the scenario's; with
    /// --realtime or --speed, now).
    #[arg(long)]
    pub start: Option<String>,
    /// `all` adds a receiver network that hears every transmission (partner NET, station
    /// `network`): dense coverage for large benchmark inputs.
    #[arg(long, value_parser = ["scenario", "all"], default_value = "scenario")]
    pub coverage: String,
    /// Emit in real time.
    #[arg(long)]
    pub realtime: bool,
    /// Emit at X times real time.
    #[arg(long)]
    pub speed: Option<f64>,
    /// Write the accounting as JSON to this file.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the scenario's TOML (a template for your own) and exit.
    #[arg(long)]
    pub print: bool,
    /// No summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub(crate) fn scenario_text(name: &str) -> Result<String> {
    if let Some(t) = sim::scenario::builtin(name) {
        return Ok(t.to_owned());
    }
    let path = std::path::Path::new(name);
    if path.exists() {
        return std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"));
    }
    let known: Vec<&str> = sim::scenario::BUILTIN.iter().map(|b| b.0).collect();
    bail!(
        "no scenario \"{name}\": not a built-in one ({}) and no such file",
        known.join(", ")
    )
}

/// Where lines go.
enum Out {
    One(Box<dyn Write>),
    PerPartner(Vec<Box<dyn Write>>),
    Tcp(Arc<Mutex<Vec<TcpStream>>>),
    Udp(UdpSocket, String),
}

fn create(path: &str) -> Result<Box<dyn Write>> {
    let f = std::fs::File::create(path).with_context(|| format!("cannot create {path}"))?;
    let w = std::io::BufWriter::with_capacity(1 << 20, f);
    if path.ends_with(".gz") {
        Ok(Box::new(flate2::write::GzEncoder::new(
            w,
            flate2::Compression::fast(),
        )))
    } else {
        Ok(Box::new(w))
    }
}

impl Out {
    fn open(spec: &str, scenario: &Scenario, quiet: bool) -> Result<Out> {
        if let Some(addr) = spec.strip_prefix("tcp://") {
            let listener =
                TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
            let clients = Arc::new(Mutex::new(Vec::new()));
            if !quiet {
                eprintln!(
                    "tidewatch simulate: waiting for a client on tcp://{}",
                    listener.local_addr()?
                );
            }
            // The run starts with the first client; later ones join as they connect.
            let (first, _) = listener.accept().context("accepting the first client")?;
            let _ = first.set_nodelay(true);
            clients
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .push(first);
            let shared = Arc::clone(&clients);
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let _ = stream.set_nodelay(true);
                    if let Ok(mut c) = shared.lock() {
                        c.push(stream);
                    }
                }
            });
            return Ok(Out::Tcp(clients));
        }
        if let Some(addr) = spec.strip_prefix("udp://") {
            let socket = UdpSocket::bind("0.0.0.0:0").context("opening a UDP socket")?;
            return Ok(Out::Udp(socket, addr.to_owned()));
        }
        if spec == "-" {
            return Ok(Out::One(Box::new(std::io::BufWriter::with_capacity(
                1 << 20,
                std::io::stdout(),
            ))));
        }
        if spec.contains("{partner}") {
            let mut files = Vec::new();
            for p in &scenario.partners {
                files.push(create(&spec.replace("{partner}", &p.name))?);
            }
            return Ok(Out::PerPartner(files));
        }
        Ok(Out::One(create(spec)?))
    }

    /// Writes lines `lines` of `batch`.
    fn write(&mut self, batch: &Batch, lines: &[Line]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        match self {
            Out::One(w) => {
                let a = lines[0].offset as usize;
                let last = lines[lines.len() - 1];
                w.write_all(&batch.buf[a..(last.offset + last.len) as usize])?;
            }
            Out::PerPartner(files) => {
                for l in lines {
                    files[l.partner as usize].write_all(batch.bytes(l))?;
                }
            }
            Out::Tcp(clients) => {
                let a = lines[0].offset as usize;
                let last = lines[lines.len() - 1];
                let bytes = &batch.buf[a..(last.offset + last.len) as usize];
                let mut c = clients.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                // A client that cannot keep up or has gone is dropped, as feeds do.
                c.retain_mut(|s| {
                    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
                    s.write_all(bytes).is_ok()
                });
            }
            Out::Udp(socket, addr) => {
                for l in lines {
                    socket
                        .send_to(batch.bytes(l), addr.as_str())
                        .with_context(|| format!("sending to udp://{addr}"))?;
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        match self {
            Out::One(w) => w.flush()?,
            Out::PerPartner(files) => {
                for f in files {
                    f.flush()?;
                }
            }
            Out::Tcp(_) | Out::Udp(..) => {}
        }
        Ok(())
    }
}

pub fn run(args: SimulateArgs) -> Result<()> {
    let text = scenario_text(&args.scenario)?;
    if args.print {
        print!("{text}");
        return Ok(());
    }
    let speed = match (args.realtime, args.speed) {
        (_, Some(x)) if !(x > 0.0 && x.is_finite()) => bail!("--speed must be a positive number"),
        (_, Some(x)) => Some(x),
        (true, None) => Some(1.0),
        (false, None) => None,
    };
    let start_ms = match &args.start {
        Some(s) => Some(query::parse_time(s).with_context(|| format!("--start \"{s}\""))?),
        None if speed.is_some() => Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64 * 1000),
        ),
        None => None,
    };
    let overrides = Overrides {
        seed: args.seed,
        vessels: args.vessels,
        hours: args.hours,
        start_ms,
        full_coverage: args.coverage == "all",
    };
    let label = args.scenario.clone();
    let scenario = Scenario::from_toml(&text, &overrides)
        .map_err(|e| anyhow::anyhow!("scenario {label}: {e}"))?;
    let live = args.out.starts_with("tcp://") || args.out.starts_with("udp://");
    if live && speed.is_none() {
        bail!("tcp:// and udp:// outputs are paced: add --realtime or --speed X");
    }
    let mut out = Out::open(&args.out, &scenario, args.quiet)?;
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let sim = Simulation::new(&scenario, threads);
    let progress = if speed.is_none() && !args.quiet && std::io::stderr().is_terminal() {
        let pb =
            ProgressBar::with_draw_target(Some(sim.windows() + 1), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template("simulating {bar:30} {pos}/{len} min {msg} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let began = Instant::now();
    let mut lines_written = 0u64;
    let summary = sim.run(|batch| -> Result<()> {
        match speed {
            None => out.write(batch, &batch.lines)?,
            Some(x) => {
                // Each line when its delivery time comes, scaled.
                let mut k = 0;
                while k < batch.lines.len() {
                    let due = |l: &Line| {
                        began
                            + Duration::from_secs_f64(
                                ((l.deliver_ms - scenario.start_ms) as f64 / 1000.0 / x).max(0.0),
                            )
                    };
                    let now = Instant::now();
                    let mut j = k;
                    while j < batch.lines.len() && due(&batch.lines[j]) <= now {
                        j += 1;
                    }
                    if j > k {
                        out.write(batch, &batch.lines[k..j])?;
                        out.flush()?;
                        k = j;
                    } else {
                        std::thread::sleep(due(&batch.lines[k]) - now);
                    }
                }
                // The window's end, so time advances even through quiet stretches.
                let end = began
                    + Duration::from_secs_f64(
                        ((batch.end_ms - scenario.start_ms) as f64 / 1000.0 / x).max(0.0),
                    );
                let now = Instant::now();
                if end > now {
                    std::thread::sleep(end - now);
                }
            }
        }
        lines_written += batch.lines.len() as u64;
        progress.inc(1);
        progress.set_message(format!("{lines_written} lines"));
        Ok(())
    })?;
    out.flush()?;
    drop(out);
    progress.finish_and_clear();
    let elapsed = began.elapsed().as_secs_f64();
    if let Some(path) = &args.truth {
        write_truth(path, &summary.truth)?;
    }
    let stats = stats_json(&scenario, &summary, elapsed, threads);
    if let Some(path) = &args.stats {
        std::fs::write(path, format!("{stats:#}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !args.quiet {
        eprintln!("{}", summary_text(&scenario, &summary, elapsed));
    }
    Ok(())
}

fn iso(ms: i64) -> String {
    let mut b = Vec::with_capacity(24);
    crate::output::iso8601_ms(ms, &mut b);
    String::from_utf8_lossy(&b).into_owned()
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// One truth event as JSON.
pub fn truth_json(e: &TruthEvent) -> Json {
    let mut m = Map::new();
    m.insert("kind".into(), json!(e.kind));
    m.insert("start".into(), json!(iso(e.start_ms)));
    m.insert("end".into(), json!(iso(e.end_ms)));
    m.insert("duration_s".into(), json!((e.end_ms - e.start_ms) / 1000));
    m.insert("open".into(), json!(e.open));
    m.insert("lat".into(), json!(round6(e.position.lat)));
    m.insert("lon".into(), json!(round6(e.position.lon)));
    let vessels: Vec<Json> = e
        .vessels
        .iter()
        .map(|v| json!({"mmsi": v.mmsi, "id": v.id, "name": v.name}))
        .collect();
    m.insert("vessels".into(), Json::Array(vessels));
    for (k, v) in &e.details {
        let j = match v {
            Value::Int(i) => json!(i),
            Value::Num(x) => json!(x),
            Value::Text(s) => json!(s),
            Value::Bool(b) => json!(b),
            Value::Time(t) => json!(iso(*t)),
            Value::Pos(p) => json!([round6(p.lon), round6(p.lat)]),
        };
        m.insert((*k).to_owned(), j);
    }
    Json::Object(m)
}

fn write_truth(path: &PathBuf, truth: &[TruthEvent]) -> Result<()> {
    let f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for e in truth {
        serde_json::to_writer(&mut w, &truth_json(e))?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

fn truth_counts(truth: &[TruthEvent]) -> std::collections::BTreeMap<&'static str, u64> {
    let mut m = std::collections::BTreeMap::new();
    for e in truth {
        *m.entry(e.kind).or_insert(0) += 1;
    }
    m
}

fn stats_json(scenario: &Scenario, s: &Summary, elapsed_s: f64, threads: usize) -> Json {
    let c = &s.counters;
    let by_type: Map<String, Json> = c
        .transmissions
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| (t.to_string(), json!(n)))
        .collect();
    let stations: Vec<&str> = scenario
        .receivers
        .iter()
        .map(|r| r.name.as_str())
        .chain(scenario.satellites.iter().map(|s| s.name.as_str()))
        .collect();
    let by_station: Map<String, Json> = stations
        .iter()
        .zip(c.lines_by_station.iter())
        .map(|(n, v)| ((*n).to_owned(), json!(v)))
        .collect();
    let mut by_partner: std::collections::BTreeMap<&str, u64> = Default::default();
    for (i, n) in c.lines_by_station.iter().enumerate() {
        let p = if i < scenario.receivers.len() {
            scenario.receivers[i].partner
        } else {
            scenario.satellites[i - scenario.receivers.len()].partner
        };
        *by_partner.entry(&scenario.partners[p].name).or_insert(0) += n;
    }
    json!({
        "scenario": scenario.name,
        "seed": scenario.seed,
        "start": iso(scenario.start_ms),
        "end": iso(scenario.end_ms),
        "vessels": s.vessels,
        "transmissions": c.total_transmissions(),
        "transmissions_by_type": by_type,
        "lines": c.lines,
        "lines_by_partner": by_partner,
        "lines_by_station": by_station,
        "coastal_heard": c.coastal_heard,
        "coastal_missed": c.coastal_missed,
        "satellite_heard": c.satellite_heard,
        "satellite_missed": c.satellite_missed,
        "damaged": {
            "bad_checksum": c.damaged_checksum,
            "cut_line": c.damaged_cut,
            "lost_fragment": c.lost_fragments,
        },
        "truth": truth_counts(&s.truth),
        "threads": threads,
        "elapsed_s": (elapsed_s * 1000.0).round() / 1000.0,
        "lines_per_s": (c.lines as f64 / elapsed_s.max(1e-9)).round(),
    })
}

fn summary_text(scenario: &Scenario, s: &Summary, elapsed_s: f64) -> String {
    let c = &s.counters;
    let mut t = format!(
        "tidewatch simulate {}: {} vessels, {} transmissions, {} lines in {:.2} s ({:.2} M lines/s)\n",
        scenario.name,
        s.vessels,
        c.total_transmissions(),
        c.lines,
        elapsed_s,
        c.lines as f64 / elapsed_s.max(1e-9) / 1e6
    );
    t.push_str(&format!(
        "  heard: coastal {} (missed {}), satellite {} (missed {}); damaged: {} bad checksum, {} cut, {} lost fragments\n",
        c.coastal_heard, c.coastal_missed, c.satellite_heard, c.satellite_missed,
        c.damaged_checksum, c.damaged_cut, c.lost_fragments
    ));
    let counts: Vec<String> = truth_counts(&s.truth)
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    t.push_str(&format!("  truth: {}", counts.join(", ")));
    t
}
