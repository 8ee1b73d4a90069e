//! `tidewatch eval`: simulate a scenario, ingest it with detection as a user would (zones
//! imported into the store, watch-listed vessels in a watch-list file), and score the stored
//! events against the scenario's ground truth.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;
use detect::score::{self, Truth};
use detect::world::ZoneKind;
use detect::zones::Zone;
use detect::{Event, WatchEntry};
use store::EventQuery;

/// Arguments of `tidewatch eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A built-in scenario name (scs-greyzone, ior-shadow-fleet, ior-traffic) or a scenario
    /// TOML file.
    scenario: String,
    /// Seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulate only this many hours (default: the scenario's length).
    #[arg(long)]
    hours: Option<f64>,
    /// Background vessels (default: the scenario's).
    #[arg(long)]
    vessels: Option<u32>,
    /// Detector configuration (TOML) for the ingest.
    #[arg(long, value_name = "FILE")]
    detect_config: Option<PathBuf>,
    /// Write the scores as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Build the store (and the simulated input, truth, zones and watch list) in this
    /// directory and keep it, so `tidewatch events --store DIR/store` can be scored again.
    #[arg(long)]
    keep: Option<PathBuf>,
}

/// Runs `tidewatch eval`.
pub fn run(a: EvalArgs) -> Result<()> {
    let tmp;
    let dir: &Path = match &a.keep {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            if d.join("store").exists() {
                bail!(
                    "{} already holds a store: --keep needs a new or empty directory",
                    d.display()
                );
            }
            d
        }
        None => {
            tmp = TempDir::new()?;
            &tmp.0
        }
    };
    let exe = std::env::current_exe().context("cannot find the tidewatch executable")?;
    let nmea = dir.join("sim.nmea");
    let truth_path = dir.join("truth.jsonl");
    let store = dir.join("store");

    // 1. Simulate.
    let mut sim = Command::new(&exe);
    sim.arg("simulate")
        .arg(&a.scenario)
        .arg("--out")
        .arg(&nmea)
        .arg("--truth")
        .arg(&truth_path)
        .arg("--quiet");
    if let Some(s) = a.seed {
        sim.args(["--seed", &s.to_string()]);
    }
    if let Some(h) = a.hours {
        sim.args(["--hours", &h.to_string()]);
    }
    if let Some(v) = a.vessels {
        sim.args(["--vessels", &v.to_string()]);
    }
    run_step(&mut sim, "simulate")?;

    // 2. The scenario's zones and watch list, as files a user would have.
    let text = crate::simulate::scenario_text(&a.scenario)?;
    let overrides = sim::scenario::Overrides {
        seed: a.seed,
        vessels: a.vessels,
        hours: a.hours,
        ..sim::scenario::Overrides::default()
    };
    let scenario = sim::scenario::Scenario::from_toml(&text, &overrides)
        .map_err(|e| anyhow::anyhow!("scenario {}: {e}", a.scenario))?;
    let zones = scenario_zones(&scenario)?;
    let zones_path = dir.join("zones.geojson");
    std::fs::write(&zones_path, detect::zones::import::to_geojson(&zones))
        .with_context(|| format!("cannot write {}", zones_path.display()))?;
    run_step(
        Command::new(&exe)
            .args(["zones", "import"])
            .arg(&zones_path)
            .arg("--store")
            .arg(&store),
        "zones import",
    )?;
    let watch = watch_entries(&scenario);
    let watch_path = dir.join("watchlist.json");
    std::fs::write(&watch_path, serde_json::to_string_pretty(&watch)?)
        .with_context(|| format!("cannot write {}", watch_path.display()))?;

    // 3. Land data (spoof_land and the shore conditions of loitering and AIS gaps need it):
    // fetched into the user cache on first use, as `tidewatch zones land` does.
    let land = match pipeline::detecting::ensure_land() {
        Ok((_, source)) => Some(source),
        Err(e) => {
            eprintln!(
                "tidewatch: warning: no land data ({e:#}): {}; the scores of spoof_land, \
                 loitering and ais_gap are not those of a run with it",
                pipeline::detecting::WITHOUT_LAND
            );
            None
        }
    };

    // 4. Ingest with detection.
    let mut ingest = Command::new(&exe);
    ingest
        .arg("ingest")
        .arg(&nmea)
        .arg("--store")
        .arg(&store)
        .arg("--watchlist")
        .arg(&watch_path)
        // Satellite partners deliver up to tens of minutes late: placed in order, not dropped.
        .args(["--reorder-window", "60m"])
        .arg("--quiet");
    if let Some(c) = &a.detect_config {
        ingest.arg("--detect-config").arg(c);
    }
    run_step(&mut ingest, "ingest")?;

    // 5. Score the stored events.
    let events = stored_events(&store)?;
    let mut truth = read_truth(&truth_path)?;
    let heard = received_times(&store, &truth)?;
    score::assess(&mut truth, |mmsi, from_ms, to_ms| {
        heard.get(&mmsi).is_some_and(|times| {
            let i = times.partition_point(|&t| t < from_ms);
            times.get(i).is_some_and(|&t| t <= to_ms)
        })
    });
    let scores = score::score(&events, &truth);
    print!("{}", score::table(&scores));
    if let Some(p) = &a.json {
        std::fs::write(
            p,
            format!("{:#}\n", scores_json(&a.scenario, land.as_deref(), &scores)),
        )
        .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(d) = &a.keep {
        eprintln!(
            "eval: kept {} (store: {}, truth: {})",
            d.display(),
            store.display(),
            truth_path.display()
        );
    }
    Ok(())
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!("tidewatch-eval-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_step(c: &mut Command, what: &str) -> Result<()> {
    let st = c
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot run tidewatch {what}"))?;
    if !st.success() {
        bail!("tidewatch {what} failed ({st})");
    }
    Ok(())
}

/// The scenario's zones and its ports' areas (circles of at least 3 km, GFW's port entry
/// radius: [`sim::scenario::Port::area`]), the outlines the simulator records visits to.
pub(crate) fn scenario_zones(s: &sim::scenario::Scenario) -> Result<Vec<Zone>> {
    let mut out = Vec::new();
    for z in s.zones.iter().chain(&s.port_areas) {
        let kind: ZoneKind = z.kind.parse().unwrap_or(ZoneKind::AreaOfInterest);
        let ring: Vec<[f64; 2]> = z.polygon.exterior().coords().map(|c| [c.x, c.y]).collect();
        let zone = Zone::from_polygon(&z.name, kind, None, &ring)
            .map_err(|e| anyhow::anyhow!("scenario zone {}: {e}", z.name))?;
        out.push(zone.with_note(z.note.clone()));
    }
    Ok(out)
}

/// One watch-list entry per identity of each watch-listed vessel (MMSI and IMO).
pub(crate) fn watch_entries(s: &sim::scenario::Scenario) -> Vec<WatchEntry> {
    let mut out: Vec<WatchEntry> = Vec::new();
    for v in &s.vessels {
        let Some(reason) = &v.watchlist else { continue };
        let ids =
            std::iter::once(&v.identity).chain(v.identity_changes.iter().map(|c| &c.identity));
        for i in ids {
            if out.iter().any(|e| e.mmsi == Some(i.mmsi)) {
                continue;
            }
            out.push(WatchEntry {
                mmsi: Some(i.mmsi),
                imo: i.imo,
                name: None,
                reason: reason.clone(),
            });
        }
    }
    out
}

/// Every event stored in the store at `dir`.
pub fn stored_events(dir: &Path) -> Result<Vec<Event>> {
    let reg = store::RegistryDb::open(&dir.join("registry.sqlite"))
        .with_context(|| format!("cannot open registry in {}", dir.display()))?;
    reg.events(&EventQuery::default())?
        .iter()
        .map(|r| {
            serde_json::from_str::<Event>(&r.json)
                .with_context(|| format!("stored event {} is unreadable", r.id))
        })
        .collect()
}

/// The times of every stored position and identity value of the vessels named in `truth`,
/// sorted, by MMSI (what was received: whether a truth record was observable at all).
fn received_times(dir: &Path, truth: &[Truth]) -> Result<rustc_hash::FxHashMap<u32, Vec<i64>>> {
    let mut out: rustc_hash::FxHashMap<u32, Vec<i64>> = truth
        .iter()
        .flat_map(|t| t.mmsis.iter().map(|&m| (m, Vec::new())))
        .collect();
    let reg = store::RegistryDb::open(&dir.join("registry.sqlite"))
        .with_context(|| format!("cannot open registry in {}", dir.display()))?;
    for (m, times) in out.iter_mut() {
        times.extend(reg.history(*m)?.iter().map(|h| h.time_ms));
    }
    let st = store::Store::open_read_only(dir)
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    for f in st.files() {
        let path = dir.join(&f.file);
        store::visit_geoparquet(&path, i64::MIN, i64::MAX, |r| {
            if let Some(v) = out.get_mut(&r.mmsi) {
                v.push(r.time_ms);
            }
        })
        .with_context(|| format!("cannot read {}", path.display()))?;
    }
    for v in out.values_mut() {
        v.sort_unstable();
    }
    Ok(out)
}

fn read_truth(path: &Path) -> Result<Vec<Truth>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match score::parse_truth_line(line) {
            Ok(Some(t)) => out.push(t),
            Ok(None) => {}
            Err(e) => bail!("{}: line {}: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}

fn scores_json(
    scenario: &str,
    land: Option<&str>,
    scores: &std::collections::BTreeMap<String, score::KindScore>,
) -> serde_json::Value {
    let kinds: serde_json::Map<String, serde_json::Value> = scores
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::json!({
                    "truth": v.truth,
                    "detected": v.detected,
                    "true_positives": v.true_positives,
                    "found": v.found,
                    "precision": v.precision,
                    "recall": v.recall,
                    "observable": v.observable,
                    "found_observable": v.found_observable,
                    "recall_observable": v.recall_observable,
                }),
            )
        })
        .collect();
    serde_json::json!({"scenario": scenario, "land": land, "kinds": kinds})
}
