//! `tidewatch serve` and `tidewatch demo`: the live server.
//!
//! Threads: the configured sources (network feeds, file replays, the simulator) each produce
//! bytes on their own thread into their spool (durable: what reached it is accepted) and
//! through the tap to the live picture's decoder (`picture_feed`: the fast path, updated as
//! bytes arrive). The main thread ingests closed spool segments as ordinary runs (fusion,
//! segments, detection, history; `ingest::live::run_sources`) and hands each run's committed
//! events to the picture and the alert rules. The HTTP server (crate `serve`: API, stream,
//! web map) runs on a tokio runtime of its own threads and reads the picture and the store.
//!
//! Restart resumes from the store and the spool: segments a killed server left open are
//! ingested first, content hashes keep each from counting twice, and the picture seeds itself
//! from the store.

pub(crate) mod demo;
mod feeds;
mod link;
mod picture_feed;

use crate::ingest::live::{self, LiveOptions, LiveSource, Producer};
use crate::ingest::{RunOptions, Session};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Arguments of `tidewatch serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Store directory (created when missing).
    #[arg(long)]
    store: PathBuf,
    /// Server configuration (TOML: listen address, sources, detection, alerts; see
    /// `docs/serve.md`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, `HOST:PORT` (`127.0.0.1:8080`, `localhost:8080`, `[::]:8080`;
    /// overrides the configuration's `listen`).
    #[arg(long, value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// Stop after this long (default: until SIGTERM or Ctrl-C).
    #[arg(long = "for", value_parser = crate::ingest::parse_duration_ms)]
    run_for: Option<i64>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// `host:port`, default 127.0.0.1:8080 (a host name is resolved: `localhost:8080`).
    #[serde(default, deserialize_with = "listen_of")]
    listen: Option<SocketAddr>,
    /// How often received data is committed to the store, e.g. `10s`.
    commit_every: Option<String>,
    /// The ingest reorder window, e.g. `5m`.
    reorder_window: Option<String>,
    /// Detector configuration file.
    detect_config: Option<PathBuf>,
    /// Watch list file.
    watchlist: Option<PathBuf>,
    /// No detection.
    #[serde(default)]
    no_detect: bool,
    /// Live sources.
    #[serde(default)]
    source: Vec<SourceConfig>,
    /// Alert rules (the `alerts` crate's format), kept as TOML for it to read.
    #[serde(default)]
    alert: Vec<toml::Value>,
    /// Alert delivery settings.
    alerts: Option<toml::Value>,
    /// `auto` (the default: tokens required as soon as the store has a principal) or
    /// `required` (issue 21).
    auth: Option<String>,
    /// Requests per second a principal may make, sustained (default 20).
    rate_per_s: Option<f64>,
    /// Requests a principal may make at once (default 100).
    rate_burst: Option<f64>,
    /// TLS: PEM certificate chain and private key (both or neither; paths relative to this
    /// file).
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

/// One `[[source]]`: exactly one of `url`, `replay`, `simulate`, `link`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceConfig {
    /// Provenance label (default: from the address, file or scenario).
    name: Option<String>,
    /// `tcp://host:port` or `udp://addr:port`.
    url: Option<String>,
    /// A file to replay.
    replay: Option<String>,
    /// A scenario to simulate.
    simulate: Option<String>,
    /// Replay and simulation pace, times real time (default 1).
    speed: Option<f64>,
    /// Simulation: seed, background vessels, length in hours.
    seed: Option<u64>,
    vessels: Option<u32>,
    hours: Option<f64>,
    /// A partner's Tidewatch server to pull the releasable picture of (`https://host:port`).
    link: Option<String>,
    /// Link: the file holding the token its operator issued (relative to this file).
    token_file: Option<PathBuf>,
    /// Link: how far back the first pull reaches (default `24h`).
    backfill: Option<String>,
    /// Link: how often to ask for new rows once caught up (default `2s`).
    poll: Option<String>,
    /// Link: PEM certificate(s) to trust for an `https` upstream (relative to this file).
    tls_ca: Option<PathBuf>,
}

impl Config {
    pub(crate) fn read(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

fn duration(field: &str, v: &Option<String>, default_ms: i64) -> Result<i64> {
    match v {
        None => Ok(default_ms),
        Some(s) => {
            query::parse_duration_ms(s).map_err(|e| anyhow::anyhow!("{field} = \"{s}\": {e}"))
        }
    }
}

fn label_of(s: &SourceConfig, fallback: &str) -> String {
    s.name.clone().unwrap_or_else(|| {
        Path::new(fallback)
            .file_name()
            .map_or_else(|| fallback.to_owned(), |f| f.to_string_lossy().into_owned())
            .replace([':', '/'], "_")
    })
}

/// Builds the live sources of a configuration (paths relative to `base`).
fn sources(
    cfg: &Config,
    base: &Path,
    store: &Path,
    picture: &link::PictureSlot,
) -> Result<Vec<LiveSource>> {
    let mut out = Vec::new();
    for (i, s) in cfg.source.iter().enumerate() {
        // A name is the first part of its sources' labels (`NAME/station/talker`) and its
        // spool directory: no `/`, and `link:` is the links' own.
        if let Some(name) = &s.name {
            if name.is_empty()
                || name.contains(['/', '\\'])
                || name.chars().any(char::is_control)
                || (s.link.is_none() && name.starts_with(access::label::LINK_PREFIX))
            {
                bail!(
                    "source {} of the configuration: name {name:?} must be non-empty, without \
                     `/` or `\\`, and not begin with `{}` (a link's sources are named so)",
                    i + 1,
                    access::label::LINK_PREFIX
                );
            }
        }
        let n = [&s.url, &s.replay, &s.simulate, &s.link]
            .iter()
            .filter(|x| x.is_some())
            .count();
        if n != 1 {
            bail!(
                "source {} of the configuration: give exactly one of url, replay, simulate, link",
                i + 1
            );
        }
        if (s.url.is_some() || s.link.is_some())
            && (s.speed.is_some() || s.seed.is_some() || s.vessels.is_some() || s.hours.is_some())
        {
            bail!(
                "source {} of the configuration: speed, seed, vessels and hours belong to a \
                 replay or a simulation",
                i + 1
            );
        }
        if s.link.is_none()
            && (s.token_file.is_some()
                || s.backfill.is_some()
                || s.poll.is_some()
                || s.tls_ca.is_some())
        {
            bail!(
                "source {} of the configuration: token_file, backfill, poll and tls_ca belong to a link",
                i + 1
            );
        }
        if let Some(url) = &s.url {
            let addr = url.split_once("://").map_or("", |x| x.1);
            if !(url.starts_with("tcp://") || url.starts_with("udp://")) || !addr.contains(':') {
                bail!("source {url}: give tcp://host:port or udp://addr:port");
            }
            out.push(LiveSource {
                labels: vec![label_of(s, addr)],
                producer: Producer::Net(url.clone()),
            });
        } else if let Some(path) = &s.replay {
            out.push(feeds::replay(
                label_of(s, path),
                path.clone(),
                s.speed.unwrap_or(1.0),
            )?);
        } else if let Some(url) = &s.link {
            let Some(name) = s.name.clone() else {
                bail!("link {url}: give it a name (its sources become link:NAME/...)");
            };
            let Some(token_file) = &s.token_file else {
                bail!(
                    "link {url}: give token_file, the file holding the token its operator issued"
                );
            };
            let poll_ms = duration("poll", &s.poll, 2_000)?;
            out.push(link::source(
                link::LinkConfig {
                    name,
                    url: url.clone(),
                    token_file: base.join(token_file),
                    backfill_ms: duration("backfill", &s.backfill, 24 * 3_600_000)?,
                    poll: Duration::from_millis(poll_ms.clamp(100, 3_600_000) as u64),
                    tls_ca: s.tls_ca.as_ref().map(|p| base.join(p)),
                },
                store.to_owned(),
                picture.clone(),
            )?);
        } else if let Some(scenario) = &s.simulate {
            let (src, _) = feeds::simulate(&feeds::SimSource {
                scenario: scenario.clone(),
                speed: s.speed.unwrap_or(1.0),
                seed: s.seed,
                vessels: s.vessels,
                hours: s.hours,
                prefix: s.name.clone().unwrap_or_default(),
            })?;
            out.push(src);
        }
    }
    // Two sources under one name would share a spool directory and a provenance label.
    let mut seen = std::collections::BTreeSet::new();
    for l in out.iter().flat_map(|s| &s.labels) {
        if !seen.insert(l.as_str()) {
            bail!(
                "two sources of the configuration are named {l:?}: they would share a spool and \
                 a provenance label; give each its own name"
            );
        }
    }
    Ok(out)
}

/// Everything a server run needs, whoever (serve or demo) assembled it.
pub(crate) struct Plan {
    pub store: PathBuf,
    pub listen: SocketAddr,
    pub sources: Vec<LiveSource>,
    pub run: RunOptions,
    pub live: LiveOptions,
    /// Alert rules and delivery settings, as TOML text for the `alerts` crate (empty: none).
    pub alerts_toml: String,
    /// Called with the server's address once it listens (the demo prints its URL).
    pub on_listen: Box<dyn FnOnce(SocketAddr) + Send>,
    /// Authentication and rate limits (issue 21).
    pub access: serve::AccessConfig,
    /// TLS certificate chain and key (PEM), when the server speaks HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where sources that feed the live picture themselves (links) find it.
    pub picture_slot: link::PictureSlot,
}

/// A configuration value's error at its place: `FILE:LINE: ` before the message, the line
/// being the first that sets the key the message starts with (`commit_every = ...`), or, for
/// a `source N of the configuration: KEY ...` or an `alert rules: alert "NAME" (rule N),
/// field KEY: ...` message, the line of that `[[source]]` or `[[alert]]` table that sets KEY
/// (the table's header when none does).
fn located(e: anyhow::Error, file: &Path, text: &str) -> anyhow::Error {
    let msg = format!("{e:#}");
    let key_of = |m: &str| -> String {
        m.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let sets = |l: &str, key: &str| {
        !key.is_empty()
            && l.trim_start()
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
    };
    let lines: Vec<&str> = text.lines().collect();
    // The line setting `key` in the n-th (from 1) `[[table]]`, else that table's header.
    let in_table = |table: &str, n: usize, key: &str| {
        let header_line = format!("[[{table}]]");
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim() == header_line)
            .nth(n.saturating_sub(1))
            .map(|(header, _)| {
                lines[header + 1..]
                    .iter()
                    .take_while(|l| !l.trim_start().starts_with('['))
                    .enumerate()
                    .find(|(_, l)| sets(l, key))
                    .map_or(header + 1, |(i, _)| header + 2 + i)
            })
    };
    let source = msg
        .strip_prefix("source ")
        .and_then(|r| r.split_once(' '))
        .and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest)));
    let alert = msg
        .strip_prefix("alert rules: alert ")
        .and_then(|r| r.split_once("(rule "))
        .and_then(|(_, r)| r.split_once("), field "))
        .and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest)));
    let line = if let Some((n, rest)) = source {
        let key = key_of(
            rest.strip_prefix("of the configuration: ")
                .unwrap_or_default(),
        );
        in_table("source", n, &key)
    } else if let Some((n, rest)) = alert {
        in_table("alert", n, &key_of(rest))
    } else {
        let key = key_of(&msg);
        lines.iter().position(|l| sets(l, &key)).map(|i| i + 1)
    };
    match line {
        Some(n) => anyhow::anyhow!("{}:{n}: {msg}", file.display()),
        None => anyhow::anyhow!("{}: {msg}", file.display()),
    }
}

/// Runs `tidewatch serve`.
pub fn run(args: ServeArgs) -> Result<()> {
    let cfg = match &args.config {
        Some(p) => Config::read(p)?,
        None => Config::default(),
    };
    let plan = plan_of(&args, &cfg).map_err(|e| match &args.config {
        Some(p) => located(e, p, &std::fs::read_to_string(p).unwrap_or_default()),
        None => e,
    })?;
    execute(plan)
}

/// A listen address: `IP:PORT`, or `HOST:PORT` with a host name this machine resolves (its
/// first IPv4 address, else its first address: `localhost` is 127.0.0.1).
pub(crate) fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    if !s.contains(':') {
        return Err(format!("{s:?}: expected HOST:PORT, e.g. 127.0.0.1:8080"));
    }
    let addrs: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| format!("{s:?}: expected HOST:PORT, e.g. 127.0.0.1:8080 ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{s:?}: the host name resolves to no address"))
}

fn listen_of<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let s = String::deserialize(d)?;
    parse_listen(&s).map(Some).map_err(serde::de::Error::custom)
}

/// The plan of a `tidewatch serve` run from its arguments and configuration.
fn plan_of(args: &ServeArgs, cfg: &Config) -> Result<Plan> {
    let base = args
        .config
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let rel = |p: &Option<PathBuf>| p.as_ref().map(|p| base.join(p));
    let listen = args
        .listen
        .or(cfg.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let quiet = args.quiet;
    let mut access = serve::AccessConfig::default();
    if let Some(a) = &cfg.auth {
        access.auth = serve::AuthSetting::parse(a)
            .with_context(|| format!("auth = \"{a}\": give \"auto\" or \"required\""))?;
    }
    for (name, v, dst) in [
        ("rate_per_s", cfg.rate_per_s, &mut access.rate_per_s),
        ("rate_burst", cfg.rate_burst, &mut access.burst),
    ] {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                bail!("{name} = {v}: give a number above zero");
            }
            *dst = v;
        }
    }
    let tls = match (rel(&cfg.tls_cert), rel(&cfg.tls_key)) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => bail!("give both tls_cert and tls_key, or neither"),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    if !cfg.no_detect && !pipeline::detecting::land_cached() {
        eprintln!(
            "tidewatch: warning: no land data: {}",
            pipeline::detecting::WITHOUT_LAND
        );
    }
    let alerts_toml = alerts_text(cfg)?;
    // Checked here, so that a mistake in a rule is told at its line of the file.
    alerts::AlertsConfig::from_toml(&alerts_toml)
        .map_err(|e| anyhow::anyhow!("alert rules: {e}"))?;
    let picture_slot = link::PictureSlot::default();
    let plan = Plan {
        store: args.store.clone(),
        listen,
        sources: sources(cfg, base, &args.store, &picture_slot)?,
        picture_slot,
        run: RunOptions {
            reorder_window_ms: duration("reorder_window", &cfg.reorder_window, 5 * 60_000)?,
            flush_rows: pipeline::ingest::DEFAULT_FLUSH_ROWS,
            assume_time: None,
            strict: true,
            detect: crate::detecting::DetectOptions {
                off: cfg.no_detect,
                config: rel(&cfg.detect_config),
                watchlist: rel(&cfg.watchlist),
            },
        },
        live: LiveOptions {
            rotate: Duration::from_millis(
                duration("commit_every", &cfg.commit_every, 10_000)?.max(100) as u64,
            ),
            run_for: args.run_for.map(|d| Duration::from_millis(d.max(0) as u64)),
            quiet,
        },
        alerts_toml,
        on_listen: Box::new(move |a| {
            if !quiet {
                eprintln!("serving {scheme}://{a}/");
            }
        }),
        access,
        tls,
    };
    Ok(plan)
}

/// The alert part of a configuration, as TOML text.
fn alerts_text(cfg: &Config) -> Result<String> {
    let mut t = toml::map::Map::new();
    if !cfg.alert.is_empty() {
        t.insert("alert".to_owned(), toml::Value::Array(cfg.alert.clone()));
    }
    if let Some(a) = &cfg.alerts {
        t.insert("alerts".to_owned(), a.clone());
    }
    if t.is_empty() {
        return Ok(String::new());
    }
    toml::to_string(&toml::Value::Table(t)).context("alert configuration")
}

/// The alert rules of a plan, their ledger opened in the store (under its writer lock). A
/// first start records the stored events without firing (no alert storm over the history); a
/// restart hands them in again, so an event committed just before a crash still alerts once.
fn open_alerts(plan: &Plan) -> Result<Option<alerts::Alerts>> {
    if plan.alerts_toml.is_empty() {
        return Ok(None);
    }
    let cfg = alerts::AlertsConfig::from_toml(&plan.alerts_toml)
        .map_err(|e| anyhow::anyhow!("alert rules: {e}"))?;
    // A rule on a zone the store does not have could never fire: refused, as any mistake in
    // a rule is (zones are read when the server starts).
    // Their names only: the zone file is read without building its index.
    let zones_file = plan.store.join(pipeline::detecting::STORE_ZONES_FILE);
    let known: Vec<String> = if zones_file.exists() {
        detect::zones::import::load_file(
            &zones_file,
            &detect::zones::import::PropertyMap::default(),
        )
        .with_context(|| format!("zones {}", zones_file.display()))?
        .into_iter()
        .map(|z| z.info.name)
        .collect()
    } else {
        Vec::new()
    };
    if let Some((rule, zone)) = cfg.unknown_zones(&known).first() {
        let have = if known.is_empty() {
            "it has none; `tidewatch zones import` adds them".to_owned()
        } else {
            format!("its zones: {}", known.join(", "))
        };
        anyhow::bail!(
            "alert rule {rule:?} names zone {zone:?}, which the store {} does not have ({have})",
            plan.store.display()
        );
    }
    let mut a =
        alerts::Alerts::open(cfg, &plan.store).map_err(|e| anyhow::anyhow!("alerts: {e}"))?;
    let reg = store::RegistryDb::open(&plan.store.join("registry.sqlite"))
        .with_context(|| format!("cannot open the registry of {}", plan.store.display()))?;
    let stored = reg.events(&store::EventQuery::default())?;
    if a.ledger_was_new() {
        a.remember(&stored);
    } else {
        let fired = a.on_events(&stored);
        if !fired.is_empty() {
            eprintln!(
                "alerts: {} alert(s) of events stored before the restart",
                fired.len()
            );
        }
    }
    Ok(Some(a))
}

/// Fires the rules on a run's committed events and puts the alerts on the stream.
fn raise(a: &mut alerts::Alerts, events: &[store::EventRow], picture: &serve::Picture) {
    for alert in a.on_events(events) {
        let id = alert.event.get("id").and_then(|v| v.as_str()).unwrap_or("");
        if let Some(row) = events.iter().find(|e| e.id == id) {
            let fired = (alert.stage.as_str(), alert.fired_at.as_str());
            picture.on_alert(&alert.rule, Some(fired), row);
        }
    }
}

/// How often the registry is asked for events other writers put there.
const EXTERNAL_POLL: Duration = Duration::from_secs(2);

/// The alert rules, shared by the commits' callback and [`watch_external`].
type SharedAlerts = Arc<Mutex<Option<alerts::Alerts>>>;

/// Events another writer puts in the registry: a satellite radar's dark vessels from
/// `tidewatch sar --write` run beside the server, or a partner link's (its puller writes them
/// itself). No run of this server made them, so its commits do not carry them to the live
/// picture: every [`EXTERNAL_POLL`] the registry's events of the external types are compared
/// with those seen, and the new or changed ones go to the picture (its recent events and the
/// stream) and through the alert rules. Those in the registry when the server starts are not
/// sent again (the alert rules were handed them at start). Runs until `stop`.
fn watch_external(
    store: &Path,
    picture: &serve::Picture,
    alerts: &SharedAlerts,
    stop: &AtomicBool,
) {
    let path = store.join("registry.sqlite");
    // One connection for the server's life; the events are read again only when another
    // connection has committed since (SQLite's `data_version`).
    let mut reg: Option<store::RegistryDb> = None;
    let mut version = None;
    let mut seen: Option<std::collections::HashMap<String, String>> = None;
    let mut warned = false;
    while !stop.load(Ordering::Relaxed) {
        let mut look = || -> Result<Option<Vec<store::EventRow>>> {
            if reg.is_none() && path.exists() {
                reg = Some(store::RegistryDb::open(&path)?);
            }
            let Some(r) = &reg else {
                return Ok(Some(Vec::new()));
            };
            let v = r.data_version()?;
            if version == Some(v) {
                return Ok(None);
            }
            let mut out = Vec::new();
            for kind in detect::EventType::EXTERNAL {
                out.extend(r.events(&store::EventQuery {
                    kind: Some(kind.as_str().to_owned()),
                    ..Default::default()
                })?);
            }
            version = Some(v);
            Ok(Some(out))
        };
        match look() {
            Ok(None) => {}
            Ok(Some(now)) => {
                warned = false;
                let fresh: Vec<store::EventRow> = match &seen {
                    None => Vec::new(),
                    Some(seen) => now
                        .iter()
                        .filter(|e| seen.get(&e.id) != Some(&e.json))
                        .cloned()
                        .collect(),
                };
                // Withdrawn by their writer (a detection matched to AIS since, one a link no
                // longer brings), including before the first look: the picture loaded its
                // recent events from the registry at start.
                let ids: std::collections::HashSet<&str> =
                    now.iter().map(|e| e.id.as_str()).collect();
                picture.forget_events(|e| {
                    detect::EventType::EXTERNAL
                        .iter()
                        .any(|k| k.as_str() == e.kind)
                        && !ids.contains(e.id.as_str())
                });
                if !fresh.is_empty() {
                    picture.on_events(&fresh);
                    let mut a = alerts.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(a) = a.as_mut() {
                        raise(a, &fresh, picture);
                    }
                }
                seen = Some(now.into_iter().map(|e| (e.id, e.json)).collect());
            }
            Err(e) => {
                reg = None;
                version = None;
                if !warned {
                    eprintln!(
                        "tidewatch: warning: cannot read the registry's dark vessels ({e:#}); \
                         trying again"
                    );
                    warned = true;
                }
            }
        }
        let mut slept = Duration::ZERO;
        while slept < EXTERNAL_POLL && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            slept += Duration::from_millis(100);
        }
    }
}

/// Runs a server plan until its end (`--for`, SIGTERM, Ctrl-C).
pub(crate) fn execute(plan: Plan) -> Result<()> {
    let mut session = Session::open(&plan.store)?;
    let picture = serve::Picture::new(&plan.store);
    let _ = plan.picture_slot.set(picture.clone());
    let alerts: SharedAlerts = Arc::new(Mutex::new(open_alerts(&plan)?));

    // The HTTP server, on its own runtime.
    let stop = live::stop_on_signals()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("serve")
        .enable_all()
        .build()
        .context("cannot start the server runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(plan.listen))
        .with_context(|| format!("cannot listen on {}", plan.listen))?;
    let addr = listener.local_addr()?;
    let mut state = serve::AppState::with_access(picture.clone(), &plan.store, plan.access)
        .map_err(|e| anyhow::anyhow!("access rules of {}: {e}", plan.store.display()))?;
    state.assets = Some(web::asset);
    if let Some(a) = alerts.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        let handle = a.metrics_handle();
        state.extra_metrics = Some(serve::ExtraMetrics(Arc::new(move |out: &mut String| {
            handle.metrics().write_prometheus(out);
        })));
    }
    if state.gate.required() {
        eprintln!("access: tokens required (Authorization: Bearer TOKEN); every read is audited");
    } else {
        eprintln!(
            "access: OPEN MODE: no tokens are defined, so anyone who can reach {addr} sees \
             everything; `tidewatch token create` makes the server require tokens"
        );
    }
    let tls = match &plan.tls {
        Some((c, k)) => Some(serve::tls_config(c, k).map_err(|e| anyhow::anyhow!("TLS: {e}"))?),
        None => None,
    };
    let server_stop = Arc::new(AtomicBool::new(false));
    let shutdown = {
        let (stop, server_stop) = (stop.clone(), server_stop.clone());
        async move {
            while !stop.load(Ordering::Relaxed) && !server_stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let server = match tls {
        Some(t) => runtime.spawn(serve::serve_tls(listener, t, state, shutdown)),
        None => runtime.spawn(serve::serve(listener, state, shutdown)),
    };
    (plan.on_listen)(addr);

    // The fast path to the picture, then the sources and the durable path on this thread.
    let labels: Vec<String> = plan.sources.iter().flat_map(|s| s.labels.clone()).collect();
    let tap =
        picture_feed::start(labels, picture.clone()).context("cannot start the live decoder")?;
    let watcher = {
        let (store, picture, alerts, stop) = (
            plan.store.clone(),
            picture.clone(),
            alerts.clone(),
            server_stop.clone(),
        );
        std::thread::Builder::new()
            .name("external-events".to_owned())
            .spawn(move || watch_external(&store, &picture, &alerts, &stop))
            .context("cannot start the thread that watches for dark vessels")?
    };
    let result = live::run_sources(
        &mut session,
        plan.sources,
        &plan.run,
        &plan.live,
        &stop,
        Some(tap),
        &mut |sum| {
            picture.on_events(&sum.events);
            if let Some(a) = alerts.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                raise(a, &sum.events, &picture);
            }
        },
    );
    server_stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    let taken = alerts.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(a) = taken {
        a.shutdown();
    }
    match runtime.block_on(server) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("tidewatch: warning: the server ended with an error: {e}"),
        Err(e) => eprintln!("tidewatch: warning: the server task failed: {e}"),
    }
    runtime.shutdown_timeout(Duration::from_secs(2));
    let total = result?;
    if !plan.live.quiet {
        eprintln!(
            "served: {} run(s), {} messages, {} positions stored",
            total.run, total.decode.messages, total.written.positions
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_address_may_name_its_host() {
        assert_eq!(
            parse_listen("127.0.0.1:8080"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 8080)))
        );
        assert_eq!(
            parse_listen("localhost:9000"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 9000)))
        );
        assert!(parse_listen("[::1]:8080").unwrap().is_ipv6());
        for bad in [
            "localhost",
            "8080",
            "localhost:http-alt-nope",
            "",
            "127.0.0.1:99999",
        ] {
            let e = parse_listen(bad).unwrap_err();
            assert!(
                e.contains("HOST:PORT") || e.contains("resolves"),
                "{bad}: {e}"
            );
        }
        let c: Config = toml::from_str("listen = \"localhost:8081\"").unwrap();
        assert_eq!(c.listen, Some(SocketAddr::from(([127, 0, 0, 1], 8081))));
        let e = toml::from_str::<Config>("listen = \"nowhere\"").unwrap_err();
        assert!(e.to_string().contains("HOST:PORT"), "{e}");
    }
}
