//! `tidewatch demo`: the South China Sea grey-zone scenario (with its background traffic)
//! simulated in accelerated real time through the whole pipeline — spool, fusion, segments,
//! detection, history, live picture — and served with the web map. The first line of output
//! is the map's URL.

use super::{feeds, Plan};
use crate::ingest::live::LiveOptions;
use crate::ingest::RunOptions;
use anyhow::{Context, Result};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `tidewatch demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = crate::ingest::parse_duration_ms)]
    run_for: Option<i64>,
    /// Port to serve on, on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Simulated time per real time (60: an hour a minute; the scenario is 72 hours).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Background vessels on the shipping lanes (default: the scenario's 400).
    #[arg(long)]
    vessels: Option<u32>,
    /// Store directory (default: a new directory under the system's temporary directory,
    /// printed at the start; query it afterwards with `tidewatch vessels --store DIR`).
    #[arg(long)]
    store: Option<PathBuf>,
    /// The scenario (built-in name or TOML file).
    #[arg(long, default_value = "scs-greyzone")]
    scenario: String,
    /// Progress lines on stderr (runs, detections).
    #[arg(long, short)]
    verbose: bool,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<()> {
    let store = match &args.store {
        Some(s) => s.clone(),
        None => {
            let wall = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            std::env::temp_dir().join(format!("tidewatch-demo-{wall}-{}", std::process::id()))
        }
    };
    let (source, scenario) = feeds::simulate(&feeds::SimSource {
        scenario: args.scenario.clone(),
        speed: args.speed,
        seed: None,
        vessels: args.vessels,
        hours: None,
        prefix: String::new(),
    })?;
    // The scenario's zones and watch list, as a user would have imported them.
    std::fs::create_dir_all(&store)
        .with_context(|| format!("cannot create {}", store.display()))?;
    let zones = crate::detecting::eval::scenario_zones(&scenario)?;
    let zones_path = store.join(crate::zones::STORE_ZONES_FILE);
    std::fs::write(&zones_path, detect::zones::import::to_geojson(&zones))
        .with_context(|| format!("cannot write {}", zones_path.display()))?;
    let watch_path = store.join("watchlist.json");
    std::fs::write(
        &watch_path,
        serde_json::to_string_pretty(&crate::detecting::eval::watch_entries(&scenario))?,
    )
    .with_context(|| format!("cannot write {}", watch_path.display()))?;

    // Land data for spoof_land and the shore conditions: fetched into the user cache on first
    // use (a few seconds, once); the demo runs without it if it cannot be had.
    if let Err(e) = pipeline::detecting::ensure_land() {
        eprintln!(
            "tidewatch: warning: no land data ({e:#}): {}",
            pipeline::detecting::WITHOUT_LAND
        );
    }
    let listen = SocketAddr::from(([127, 0, 0, 1], args.port));
    let store_shown = store.clone();
    let hours = (scenario.end_ms - scenario.start_ms) as f64 / 3_600_000.0;
    let speed = args.speed;
    let plan = Plan {
        store,
        listen,
        sources: vec![source],
        run: RunOptions {
            // Satellite partners deliver up to tens of minutes late (in scenario time).
            reorder_window_ms: 60 * 60_000,
            flush_rows: pipeline::ingest::DEFAULT_FLUSH_ROWS,
            assume_time: None,
            strict: true,
            detect: crate::detecting::DetectOptions {
                off: false,
                config: None,
                watchlist: Some(watch_path),
            },
        },
        live: LiveOptions {
            rotate: Duration::from_secs(5),
            run_for: args.run_for.map(|d| Duration::from_millis(d.max(0) as u64)),
            quiet: !args.verbose,
        },
        alerts_toml: DEMO_ALERTS.to_owned(),
        access: serve::AccessConfig::default(),
        tls: None,
        picture_slot: Default::default(),
        on_listen: Box::new(move |addr| {
            // The URL is the first line of output, whatever else follows.
            println!("http://{addr}/");
            let _ = std::io::stdout().flush();
            eprintln!(
                "Tidewatch demo: {} ({hours:.0} h simulated at {speed}x), store {}; Ctrl-C to stop",
                scenario.name,
                store_shown.display()
            );
        }),
    };
    super::execute(plan)
}

/// The demo's alert rules: every escort, shadowing, swarm and watch-list hit, on the stream.
const DEMO_ALERTS: &str = r#"
[[alert]]
name = "grey-zone activity"
types = ["escort", "shadowing", "swarm", "watchlist"]
"#;
