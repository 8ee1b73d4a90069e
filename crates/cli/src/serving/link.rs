//! The downstream side of a link between partners' servers (issue 21, item 4): a
//! `[[source]] link = "https://upstream:8443"` pulls the upstream's releasable picture as a
//! source. The upstream side is `serve::link` (`/api/link/positions`); `docs/sharing.md` has
//! the design.
//!
//! Two threads. The live one follows the upstream's `/api/link/stream` (every position of a
//! released source as the upstream's picture takes it, with its source and label) onto this
//! server's live picture, reconnecting with backoff. The durable one, below, makes history.
//! The puller asks for pages in the upstream's commit order (a cursor, so a late report the
//! upstream commits after newer ones still comes), starting with the history since the
//! `backfill` bound, then every `poll` interval for what the upstream committed since. Each
//! page is spooled whole (fsynced, renamed: accepted whole or not at all) and ingested like a
//! closed segment; the cursor moves only after its page is spooled, so a killed server pulls
//! at most one page again, which fusion keeps from doubling. Each page's positions also go to
//! the live picture at once.
//!
//! Every upstream source `S` becomes the source `link:NAME/S` here, and its label is the one
//! the upstream sent (the originator's releasability): set by the link in the store's access
//! rules before the page's rows are spooled, refused to `tidewatch source label`, and a
//! `link:` source without one is withheld. The token is read from a file and never logged.

use crate::ingest::link_file::{self, Header, Line, LinkClaim, LinkPosition};
use crate::ingest::live::{FeedWriter, LiveSource, Producer, LINK_PAGE_EXT};
use crate::ingest::report::TimeBounds;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serve::{LivePosition, LiveStatic, Picture};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The live picture, once the server has made it (sources are built before it).
pub(crate) type PictureSlot = Arc<OnceLock<Arc<Picture>>>;

/// Positions asked for per page.
const PAGE_LIMIT: usize = 10_000;
/// How long one request of the live stream may last: an upstream gone silent (a network cut
/// that leaves the connection open) is noticed within it, and a healthy stream is followed
/// again at once when it ends.
const LIVE_RECYCLE: Duration = Duration::from_secs(60);
/// The longest wait between failed pulls.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One configured link.
#[derive(Debug, Clone)]
pub(crate) struct LinkConfig {
    /// The link's name: its sources are `link:NAME/...`.
    pub name: String,
    /// The upstream server's base URL (`http://` or `https://`).
    pub url: String,
    /// The file holding the token the upstream issued (`--kind system`).
    pub token_file: PathBuf,
    /// How far back the first pull reaches, ms.
    pub backfill_ms: i64,
    /// How often to ask for new rows once caught up.
    pub poll: Duration,
    /// PEM certificate(s) to trust for an `https` upstream (its own or its CA's).
    pub tls_ca: Option<PathBuf>,
}

/// Where the link has got to, kept in its spool directory.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Progress {
    /// The upstream it refers to.
    url: String,
    /// The next page's cursor (`PART:ROW`).
    cursor: String,
    /// The backfill bound, ms (fixed for the life of the link: cursors count rows after it).
    since_ms: i64,
    /// The upstream sources released to this link as of the last page (`None` before the
    /// first page, or in a progress file of an earlier version).
    #[serde(default)]
    released: Option<BTreeSet<String>>,
    /// Sources released after the link had read past rows they heard: their history, pulled
    /// once the link is caught up, oldest first.
    #[serde(default)]
    backfills: Vec<Backfill>,
    /// Where the link's late sources continue (`/api/link/late`, `RUN:SKIP`): copies of
    /// transmissions the upstream stored in a run after the row's, which a page pulled
    /// before did not carry. `None` until the first answer sets where to start.
    #[serde(default)]
    late: Option<String>,
}

/// The history of sources released to the link after it had passed their rows: the rows they
/// heard since the backfill bound, up to the cursor where the link first saw them released
/// (from there on the ordinary pages carry them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Backfill {
    /// Upstream source names.
    sources: Vec<String>,
    /// The next page's cursor.
    cursor: String,
    /// Where the backfill ends.
    until: String,
}

const PROGRESS_FILE: &str = "link-progress.json";

/// The page `/api/link/positions` answers.
#[derive(Debug, Deserialize)]
struct Page {
    positions: Vec<LinkPosition>,
    #[serde(default)]
    claims: Vec<LinkClaim>,
    /// Every source the upstream releases to this link, with its label now (`None` from an
    /// upstream that does not send it).
    #[serde(default)]
    labels: Option<Vec<link_file::LinkSource>>,
    next: String,
    more: bool,
    /// The upstream's newest committed run (`None` from an upstream that does not send it).
    #[serde(default)]
    last_run: Option<u64>,
}

/// The answer of `/api/link/events`.
#[derive(Debug, Deserialize)]
struct ExternalEvents {
    #[serde(default)]
    events: Vec<ExternalEvent>,
    complete: bool,
    /// The set is the one of `known` (then `events` is empty).
    #[serde(default)]
    unchanged: bool,
    /// The answer's digest, to send back as `known`.
    #[serde(default)]
    digest: Option<String>,
}

/// One event of `/api/link/events`: the upstream's stored event and its sources' labels.
#[derive(Debug, Deserialize)]
struct ExternalEvent {
    event: serde_json::Value,
    sources: Vec<link_file::LinkSource>,
}

/// The link's token as its file holds it now: an operator replaces a revoked token in the
/// file and the link takes it at its next request, without a restart. `last` (the token it
/// had) when the file cannot be read or is empty.
fn token_now(cfg: &LinkConfig, last: &str) -> String {
    match std::fs::read_to_string(&cfg.token_file) {
        Ok(t) if !t.trim().is_empty() => t.trim().to_owned(),
        _ => last.to_owned(),
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The live source of a link: one feed, `link:NAME`.
pub(crate) fn source(cfg: LinkConfig, store: PathBuf, picture: PictureSlot) -> Result<LiveSource> {
    if !(cfg.url.starts_with("http://") || cfg.url.starts_with("https://")) {
        bail!(
            "link {}: give the upstream as http://host:port or https://host:port",
            cfg.url
        );
    }
    if cfg.name.is_empty()
        || cfg.name.contains(['/', ':'])
        || cfg.name.contains(char::is_whitespace)
    {
        bail!(
            "link {}: give it a name without `/`, `:` or spaces (its sources are link:NAME/...)",
            cfg.url
        );
    }
    let token = std::fs::read_to_string(&cfg.token_file)
        .with_context(|| {
            format!(
                "link {}: cannot read token_file {}",
                cfg.name,
                cfg.token_file.display()
            )
        })?
        .trim()
        .to_owned();
    if token.is_empty() {
        bail!(
            "link {}: token_file {} is empty",
            cfg.name,
            cfg.token_file.display()
        );
    }
    let agent = agent(&cfg)?;
    let label = format!("{}{}", access::label::LINK_PREFIX, cfg.name);
    Ok(LiveSource {
        labels: vec![label.clone()],
        producer: Producer::Custom(Box::new(move |mut writers: Vec<FeedWriter>, halt| {
            let live = LiveLink {
                cfg: cfg.clone(),
                feed: label.clone(),
                token: token.clone(),
                agent: agent.clone(),
                picture: picture.clone(),
                store: store.clone(),
            };
            // Detached: a read may wait for the upstream's next frame; the process ending ends it.
            let stop = halt.clone();
            let _ = std::thread::Builder::new()
                .name(format!("link-live {}", cfg.name))
                .spawn(move || live.run(&stop));
            if let Some(w) = writers.pop() {
                let mut link = Puller {
                    cfg,
                    feed: label,
                    token,
                    agent,
                    picture,
                    store,
                    labels_set: HashMap::new(),
                    external: HashMap::new(),
                    external_sources: HashSet::new(),
                    external_digest: None,
                };
                link.run(&w, &halt);
            }
        })),
    })
}

fn agent(cfg: &LinkConfig) -> Result<ureq::Agent> {
    let mut b = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .user_agent(concat!("tidewatch-link/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &cfg.tls_ca {
        let pem = std::fs::read(ca)
            .with_context(|| format!("link {}: cannot read tls_ca {}", cfg.name, ca.display()))?;
        let certs = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("link {}: tls_ca {}: {e}", cfg.name, ca.display()))?;
        if certs.is_empty() {
            bail!(
                "link {}: tls_ca {} holds no certificate",
                cfg.name,
                ca.display()
            );
        }
        b = b.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
                .build(),
        );
    }
    Ok(ureq::Agent::new_with_config(b.build()))
}

struct Puller {
    cfg: LinkConfig,
    /// `link:NAME`.
    feed: String,
    token: String,
    agent: ureq::Agent,
    picture: PictureSlot,
    store: PathBuf,
    /// Labels this link has set, by pattern (set again only when the upstream's change).
    labels_set: HashMap<String, String>,
    /// The upstream's external events (dark vessels) held here, by id here: their JSON.
    external: HashMap<String, String>,
    /// The sources of those events (`link:NAME/S`): their labels come with the events, not
    /// with the pages of positions.
    external_sources: HashSet<String>,
    /// The digest of the last set taken, sent as `known` (the upstream then answers
    /// `unchanged` instead of the set).
    external_digest: Option<String>,
}

impl Puller {
    fn say(&self, m: &str) {
        eprintln!("link {}: {m}", self.cfg.name);
    }

    fn run(&mut self, w: &FeedWriter, halt: &AtomicBool) {
        let dir = w.dir();
        let mut progress = match load(&dir, &self.cfg.url) {
            Some(p) => p,
            None => Progress {
                url: self.cfg.url.clone(),
                cursor: "0:0".to_owned(),
                since_ms: wall_ms() - self.cfg.backfill_ms,
                released: None,
                backfills: Vec::new(),
                late: None,
            },
        };
        for b in &progress.backfills {
            self.say(&format!(
                "resuming the history of {} (at {} of {})",
                b.sources.join(", "),
                b.cursor,
                b.until
            ));
        }
        let access = match access::Access::open(&self.store) {
            Ok(a) => a,
            Err(e) => {
                self.say(&format!(
                    "cannot open the store's access rules ({e}); the link stops"
                ));
                return;
            }
        };
        if let Err(e) = self.load_external() {
            self.say(&format!(
                "cannot read the dark vessels it took before ({e:#}); the link stops"
            ));
            return;
        }
        let zones = match crate::detecting::store_zones(&self.store) {
            Ok(z) => z,
            Err(e) => {
                self.say(&format!(
                    "cannot read the store's zones ({e:#}); the link stops"
                ));
                return;
            }
        };
        let mut backoff = Duration::from_secs(1);
        let mut failing = false;
        while !halt.load(Ordering::Relaxed) {
            match self.step(&mut progress, w, &access, &zones) {
                Ok(caught_up) => {
                    if failing {
                        self.say("connected again");
                        failing = false;
                    }
                    backoff = Duration::from_secs(1);
                    if caught_up {
                        sleep(self.cfg.poll, halt);
                    }
                }
                Err(e) => {
                    if !failing {
                        self.say(&format!(
                            "{e}; retrying in {backoff:?}, then less often up to every minute"
                        ));
                    }
                    failing = true;
                    sleep(backoff, halt);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Pulls and takes the next page; once caught up, a page of the oldest backfill, or else
    /// the dark vessels. True when there is nothing more to pull until the next poll.
    fn step(
        &mut self,
        progress: &mut Progress,
        w: &FeedWriter,
        access: &access::Access,
        zones: &detect::zones::ZoneSet,
    ) -> Result<bool, String> {
        let dir = w.dir();
        if progress.late.is_none() {
            // Where late sources start: past the upstream's newest run now (the pages read
            // from here on merge those stored before).
            let start: Page = self.get("/api/link/late")?;
            progress.late = Some(start.next);
            self.save_or_stop(&dir, progress);
        }
        let page = self.pull(progress)?;
        let newest_run = page.last_run;
        self.take_or_stop(&page, w, access);
        let start = std::mem::replace(&mut progress.cursor, page.next.clone());
        if let Some(labels) = &page.labels {
            let now: BTreeSet<String> = labels.iter().map(|s| s.source.clone()).collect();
            if let Some(before) = &progress.released {
                let new: Vec<String> = now.difference(before).cloned().collect();
                if !new.is_empty() && start != "0:0" {
                    self.say(&format!(
                        "{} upstream source(s) newly released to it ({}); their history since \
                         the backfill bound comes once the link is caught up",
                        new.len(),
                        new.join(", ")
                    ));
                    progress.backfills.push(Backfill {
                        sources: new,
                        cursor: "0:0".to_owned(),
                        until: start,
                    });
                }
            }
            progress.released = Some(now);
        }
        self.save_or_stop(&dir, progress);
        if page.more {
            return Ok(false);
        }
        if let Some(b) = progress.backfills.first() {
            let page = self.pull_backfill(progress, b)?;
            self.take_or_stop(&page, w, access);
            if page.more {
                progress.backfills[0].cursor = page.next;
            } else {
                let done = progress.backfills.remove(0);
                self.say(&format!("took the history of {}", done.sources.join(", ")));
            }
            self.save_or_stop(&dir, progress);
            return Ok(false);
        }
        // Caught up with the positions: late copies of rows pulled before ...
        // Asked only when the upstream has committed a run since (each request is an entry
        // in its audit log).
        let late_run = progress
            .late
            .as_deref()
            .and_then(|c| c.split(':').next()?.parse::<u64>().ok());
        if let Some(after) = progress
            .late
            .clone()
            .filter(|_| late_run.is_none_or(|r| newest_run.is_none_or(|n| n >= r)))
        {
            let page: Page = self.get(&format!("/api/link/late?after={after}"))?;
            if page.next != after {
                self.take_or_stop(&page, w, access);
                progress.late = Some(page.next.clone());
                self.save_or_stop(&dir, progress);
            }
            if page.more {
                return Ok(false);
            }
        }
        // ... and the dark vessels of the same period.
        if let Err(e) = self.sync_external(progress, access, zones) {
            self.say(&format!("dark vessels not taken this time: {e}"));
        }
        Ok(true)
    }

    /// Takes a page; a spool that cannot be written stops the server (what the link holds
    /// is not accepted, and the cursor stays).
    fn take_or_stop(&mut self, page: &Page, w: &FeedWriter, access: &access::Access) {
        if let Err(e) = self.take(page, w, access) {
            eprintln!("tidewatch: error: link {}: {e:#}", self.cfg.name);
            std::process::exit(1);
        }
    }

    /// Saves the link's progress, or stops the server.
    fn save_or_stop(&self, dir: &Path, p: &Progress) {
        if let Err(e) = save(dir, p) {
            eprintln!(
                "tidewatch: error: link {}: cannot save its progress: {e}",
                self.cfg.name
            );
            std::process::exit(1);
        }
    }

    /// A page of a backfill: the rows its sources heard from its cursor to its end.
    fn pull_backfill(&self, p: &Progress, b: &Backfill) -> Result<Page, String> {
        let sources = serde_json::to_string(&b.sources).map_err(|e| e.to_string())?;
        self.get(&format!(
            "/api/link/positions?cursor={}&until={}&since={}&limit={PAGE_LIMIT}&sources={}",
            b.cursor,
            b.until,
            query::iso8601_ms(p.since_ms),
            percent_encoding::utf8_percent_encode(&sources, percent_encoding::NON_ALPHANUMERIC)
        ))
    }

    fn pull(&self, p: &Progress) -> Result<Page, String> {
        self.get(&format!(
            "/api/link/positions?cursor={}&since={}&limit={PAGE_LIMIT}",
            p.cursor,
            query::iso8601_ms(p.since_ms)
        ))
    }

    /// Asks the upstream for `path` with the link's token; its JSON answer.
    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let url = format!("{}{path}", self.cfg.url.trim_end_matches('/'));
        let mut answer = self
            .agent
            .get(&url)
            .header(
                "authorization",
                &format!("Bearer {}", token_now(&self.cfg, &self.token)),
            )
            .call()
            .map_err(|e| format!("cannot reach {}: {e}", self.cfg.url))?;
        let status = answer.status().as_u16();
        let body = answer
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("{}: cannot read the answer: {e}", self.cfg.url))?;
        match status {
            200 => serde_json::from_str(&body)
                .map_err(|e| format!("{}: the answer is not a link's: {e}", self.cfg.url)),
            401 => Err(format!(
                "{} refused the token (HTTP 401): ask its operator for a new one and put it in \
                 the link's token_file (read again at every request)",
                self.cfg.url
            )),
            403 => Err(format!(
                "{} refused the link (HTTP 403): the token must be a system principal's",
                self.cfg.url
            )),
            s => Err(format!("{} answered HTTP {s}", self.cfg.url)),
        }
    }

    /// Sets the labels of the page's sources, spools the page, and shows its positions.
    fn take(&mut self, page: &Page, w: &FeedWriter, access: &access::Access) -> Result<()> {
        if let Some(released) = &page.labels {
            self.follow_labels(released, access)?;
        }
        if page.positions.is_empty() && page.claims.is_empty() {
            return Ok(());
        }
        // Labels first: a row is never in the store before its source's label.
        let sources = page
            .positions
            .iter()
            .flat_map(|p| p.sources.iter())
            .chain(page.claims.iter().map(|c| &c.source));
        for s in sources {
            self.set_label(
                &link_file::source_name(&self.feed, &s.source),
                &s.label,
                access,
            )?;
        }
        let mut positions = page.positions.clone();
        positions.sort_by_key(|p| (p.time_ms, p.mmsi));
        let mut text = serde_json::to_string(&Header {
            tidewatch_link: 1,
            feed: self.feed.clone(),
        })?;
        text.push('\n');
        for c in &page.claims {
            text.push_str(&serde_json::to_string(&Line::Claim(c.clone()))?);
            text.push('\n');
        }
        for p in positions {
            text.push_str(&serde_json::to_string(&Line::Position(p))?);
            text.push('\n');
        }
        w.write_file(LINK_PAGE_EXT, text.as_bytes())
            .context("cannot spool a page")?;
        if let Some(picture) = self.picture.get() {
            self.show(picture, page);
        }
        Ok(())
    }

    /// Gives `pattern` (a source of this link) the upstream's `label`, unless this link set
    /// that label last. A label this version cannot read is withheld, never widened.
    fn set_label(&mut self, pattern: &str, label: &str, access: &access::Access) -> Result<()> {
        if self.labels_set.get(pattern).map(String::as_str) == Some(label) {
            return Ok(());
        }
        let l = access::Releasability::parse(label).unwrap_or(access::Releasability::Withheld);
        access
            .set_label(pattern, &l, wall_ms())
            .with_context(|| format!("cannot set the label of {pattern}"))?;
        if let Some(before) = self.labels_set.insert(pattern.to_owned(), label.to_owned()) {
            self.say(&format!(
                "{pattern} labelled {l} (was {before}), as upstream"
            ));
        }
        Ok(())
    }

    /// The upstream's dark vessels this link took before (events of the external types whose
    /// every source is this link's).
    fn load_external(&mut self) -> Result<()> {
        let path = self.store.join("registry.sqlite");
        if !path.exists() {
            return Ok(());
        }
        let reg = store::RegistryDb::open(&path)?;
        let prefix = format!("{}/", self.feed);
        for kind in detect::EventType::EXTERNAL {
            for e in reg.events(&store::EventQuery {
                kind: Some(kind.as_str().to_owned()),
                ..Default::default()
            })? {
                let v: serde_json::Value = serde_json::from_str(&e.json).unwrap_or_default();
                let sources: Vec<&str> = v["sources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str())
                    .collect();
                if sources.is_empty() || !sources.iter().all(|s| s.starts_with(&prefix)) {
                    continue;
                }
                self.external_sources
                    .extend(sources.iter().map(|s| (*s).to_owned()));
                self.external.insert(e.id, e.json);
            }
        }
        Ok(())
    }

    /// Takes the upstream's dark vessels (`/api/link/events`: the whole set released to this
    /// link since the backfill bound) into the registry under this link's sources, each
    /// source labelled as upstream, the zones this store's; withdraws those no longer in the
    /// set (matched to AIS upstream since, or no longer released). Writes only what changed.
    fn sync_external(
        &mut self,
        p: &Progress,
        access: &access::Access,
        zones: &detect::zones::ZoneSet,
    ) -> Result<(), String> {
        let known = self
            .external_digest
            .as_ref()
            .map(|d| format!("&known={d}"))
            .unwrap_or_default();
        let answer: ExternalEvents = self.get(&format!(
            "/api/link/events?since={}{known}",
            query::iso8601_ms(p.since_ms)
        ))?;
        if answer.unchanged {
            return Ok(());
        }
        let mut rows = Vec::new();
        let mut ids = HashSet::new();
        let mut sources_now = HashSet::new();
        for x in answer.events {
            let Some(row) = self.external_row(x.event, zones) else {
                continue;
            };
            for s in &x.sources {
                let pattern = link_file::source_name(&self.feed, &s.source);
                self.set_label(&pattern, &s.label, access)
                    .map_err(|e| format!("{e:#}"))?;
                sources_now.insert(pattern);
            }
            ids.insert(row.id.clone());
            if self.external.get(&row.id) != Some(&row.json) {
                rows.push(row);
            }
        }
        let withdrawn: Vec<String> = if answer.complete {
            self.external
                .keys()
                .filter(|id| !ids.contains(*id))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        // A source whose events are all gone (no longer released) is withheld here too.
        if answer.complete {
            for gone in self.external_sources.clone() {
                if !sources_now.contains(&gone) {
                    self.set_label(&gone, &access::Releasability::Withheld.to_string(), access)
                        .map_err(|e| format!("{e:#}"))?;
                }
            }
            self.external_sources = sources_now;
        } else {
            self.external_sources.extend(sources_now);
        }
        if rows.is_empty() && withdrawn.is_empty() {
            self.external_digest = answer.digest;
            return Ok(());
        }
        let mut reg = store::RegistryDb::open(&self.store.join("registry.sqlite"))
            .map_err(|e| e.to_string())?;
        let (new, gone) = reg
            .add_events(&rows, &withdrawn)
            .map_err(|e| e.to_string())?;
        for r in rows {
            self.external.insert(r.id, r.json);
        }
        for id in &withdrawn {
            self.external.remove(id);
        }
        self.external_digest = answer.digest;
        self.say(&format!(
            "dark vessels: {new} new, {gone} withdrawn upstream or no longer released"
        ));
        Ok(())
    }

    /// An upstream external event as stored here: its id derived from the link and the
    /// upstream's id (kept as `upstream_id`), its sources this link's, its zones this
    /// store's. `None` for what is no event of an external type.
    fn external_row(
        &self,
        mut e: serde_json::Value,
        zones: &detect::zones::ZoneSet,
    ) -> Option<store::EventRow> {
        let kind = *detect::EventType::EXTERNAL
            .iter()
            .find(|k| e["type"].as_str() == Some(k.as_str()))?;
        let start_ms = e["start_ms"].as_i64()?;
        let (lat, lon) = (e["lat"].as_f64()?, e["lon"].as_f64()?);
        let upstream_id = e["id"].as_str()?.to_owned();
        let id = detect::EventId::derive(
            kind,
            &[],
            start_ms,
            &format!("{}\n{upstream_id}", self.feed),
        )
        .to_string();
        let sources: Vec<String> = e["sources"]
            .as_array()?
            .iter()
            .filter_map(|s| s.as_str())
            .map(|s| link_file::source_name(&self.feed, s))
            .collect();
        if sources.is_empty() {
            return None;
        }
        let mut at = Vec::new();
        zones.zones_at(lat, lon, &mut at);
        let names: Vec<String> = at
            .iter()
            .map(|&i| zones.zones()[i as usize].name().to_owned())
            .collect();
        let end_ms = e["end_ms"].as_i64();
        let open = e["open"].as_bool().unwrap_or(false);
        e["id"] = id.clone().into();
        e["upstream_id"] = upstream_id.into();
        e["sources"] = sources.into();
        e["zones"] = names.clone().into();
        Some(store::EventRow {
            id,
            kind: kind.as_str().to_owned(),
            start_ms,
            end_ms,
            open,
            mmsis: Vec::new(),
            zones: names,
            json: e.to_string(),
        })
    }

    /// Follows the upstream's labels for every source of this link: each released source gets
    /// the label the upstream gives it now, and a source of this link the upstream no longer
    /// releases is withheld here (its rows stay in the store, seen by no one), whether or not
    /// it sends anything more.
    fn follow_labels(
        &mut self,
        released: &[link_file::LinkSource],
        access: &access::Access,
    ) -> Result<()> {
        let mut wanted: HashMap<String, String> = released
            .iter()
            .map(|s| {
                (
                    link_file::source_name(&self.feed, &s.source),
                    s.label.clone(),
                )
            })
            .collect();
        let prefix = format!("{}/", self.feed);
        let current: HashMap<String, String> = access
            .label_rows()?
            .into_iter()
            .filter(|r| {
                r.pattern.starts_with(&prefix) && !self.external_sources.contains(&r.pattern)
            })
            .map(|r| (r.pattern, r.label.to_string()))
            .collect();
        for pattern in current.keys() {
            if !wanted.contains_key(pattern) {
                wanted.insert(pattern.clone(), access::Releasability::Withheld.to_string());
            }
        }
        for (pattern, label) in wanted {
            // Compared with the store's label (the live side sets labels too), not with what
            // this side set last.
            match current.get(&pattern) {
                Some(now) => self.labels_set.insert(pattern.clone(), now.clone()),
                None => self.labels_set.remove(&pattern),
            };
            self.set_label(&pattern, &label, access)?;
        }
        Ok(())
    }

    /// The page's positions and identities on the live picture, under their link sources.
    fn show(&self, picture: &Picture, page: &Page) {
        let bounds = TimeBounds::at(wall_ms());
        for c in &page.claims {
            if !bounds.contains(c.last_ms) {
                continue;
            }
            let mut s = LiveStatic {
                mmsi: c.mmsi,
                time_ms: c.last_ms,
                name: None,
                callsign: None,
                imo: None,
                ship_type: None,
                length_m: None,
                beam_m: None,
                destination: None,
                source: link_file::source_name(&self.feed, &c.source.source),
            };
            match c.field.as_str() {
                "name" => s.name = Some(c.value.clone()),
                "callsign" => s.callsign = Some(c.value.clone()),
                "destination" => s.destination = Some(c.value.clone()),
                "imo" => s.imo = c.value.parse().ok(),
                "ship_type" => s.ship_type = c.value.parse().ok(),
                "dimensions" => {
                    if let Some((l, b)) = c.value.split_once('x') {
                        s.length_m = l.parse().ok();
                        s.beam_m = b.parse().ok();
                    }
                }
                _ => continue,
            }
            picture.on_static(s);
        }
        for p in &page.positions {
            if !bounds.contains(p.time_ms) {
                picture.on_reject("time_out_of_range", 1);
                continue;
            }
            for s in &p.sources {
                picture.on_position(LivePosition {
                    mmsi: p.mmsi,
                    time_ms: p.time_ms,
                    lat: p.lat,
                    lon: p.lon,
                    sog_knots: p.sog_knots,
                    cog_deg: p.cog_deg,
                    heading_deg: p.heading_deg.map(f32::from),
                    nav_status: p.nav_status,
                    class: match p.msg_type {
                        1..=3 => Some('A'),
                        18 | 19 => Some('B'),
                        _ => None,
                    },
                    source: link_file::source_name(&self.feed, &s.source),
                });
            }
        }
    }
}

/// The live side: the upstream's link stream onto the picture.
struct LiveLink {
    cfg: LinkConfig,
    feed: String,
    token: String,
    agent: ureq::Agent,
    picture: PictureSlot,
    store: PathBuf,
}

/// One frame of `/api/link/stream`.
#[derive(Debug, Deserialize)]
struct LiveFrame {
    source: String,
    label: String,
    position: LiveFramePosition,
}

#[derive(Debug, Deserialize)]
struct LiveFramePosition {
    mmsi: u32,
    time: String,
    lat: f64,
    lon: f64,
    sog_knots: Option<f32>,
    cog_deg: Option<f32>,
    heading_deg: Option<f32>,
}

impl LiveLink {
    fn run(&self, halt: &AtomicBool) {
        let Ok(access) = access::Access::open(&self.store) else {
            return;
        };
        let mut labels_set: HashMap<String, String> = HashMap::new();
        let mut backoff = Duration::from_secs(1);
        while !halt.load(Ordering::Relaxed) {
            let started = std::time::Instant::now();
            match self.follow(halt, &access, &mut labels_set) {
                // Ended by its time limit after a while: followed again at once, quietly.
                Ok(()) if started.elapsed() >= Duration::from_secs(5) => {
                    backoff = Duration::from_secs(1);
                    continue;
                }
                Ok(()) => {}
                Err(e) => eprintln!(
                    "link {} (live): {e}; retrying in {backoff:?}",
                    self.cfg.name
                ),
            }
            // A stream that lasted resets the wait; one refused at once backs off.
            if started.elapsed() > Duration::from_secs(60) {
                backoff = Duration::from_secs(1);
            }
            sleep(backoff, halt);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn follow(
        &self,
        halt: &AtomicBool,
        access: &access::Access,
        labels_set: &mut HashMap<String, String>,
    ) -> Result<(), String> {
        use std::io::BufRead;
        let url = format!("{}/api/link/stream", self.cfg.url.trim_end_matches('/'));
        let answer = self
            .agent
            .get(&url)
            .header(
                "authorization",
                &format!("Bearer {}", token_now(&self.cfg, &self.token)),
            )
            .config()
            .timeout_global(None)
            .timeout_recv_body(Some(LIVE_RECYCLE))
            .build()
            .call()
            .map_err(|e| format!("cannot reach {}: {e}", self.cfg.url))?;
        let status = answer.status().as_u16();
        if status != 200 {
            return Err(format!(
                "{} answered HTTP {status} to the link stream",
                self.cfg.url
            ));
        }
        let reader = std::io::BufReader::new(answer.into_body().into_reader());
        for line in reader.lines() {
            if halt.load(Ordering::Relaxed) {
                return Ok(());
            }
            let line = match line {
                Ok(l) => l,
                // The stream's time limit (`LIVE_RECYCLE`): a planned end, not a failure.
                Err(e)
                    if e.get_ref()
                        .and_then(|x| x.downcast_ref::<ureq::Error>())
                        .is_some_and(|u| matches!(u, ureq::Error::Timeout(_))) =>
                {
                    return Ok(())
                }
                Err(e) => return Err(format!("the link stream ended: {e}")),
            };
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            let Ok(f) = serde_json::from_str::<LiveFrame>(data) else {
                continue;
            };
            let source = link_file::source_name(&self.feed, &f.source);
            if labels_set.get(&source) != Some(&f.label) {
                let label = access::Releasability::parse(&f.label)
                    .unwrap_or(access::Releasability::Withheld);
                if access.set_label(&source, &label, wall_ms()).is_err() {
                    continue;
                }
                labels_set.insert(source.clone(), f.label.clone());
            }
            let Some(picture) = self.picture.get() else {
                continue;
            };
            let Ok(time_ms) = query::parse_time_at(&f.position.time, 0) else {
                continue;
            };
            if !TimeBounds::at(wall_ms()).contains(time_ms) {
                picture.on_reject("time_out_of_range", 1);
                continue;
            }
            let p = f.position;
            picture.on_position(LivePosition {
                mmsi: p.mmsi,
                time_ms,
                lat: p.lat,
                lon: p.lon,
                sog_knots: p.sog_knots,
                cog_deg: p.cog_deg,
                heading_deg: p.heading_deg,
                nav_status: None,
                class: None,
                source,
            });
        }
        Err("the link stream ended".to_owned())
    }
}

/// Sleeps up to `d`, waking early when `halt` is set.
fn sleep(d: Duration, halt: &AtomicBool) {
    let end = std::time::Instant::now() + d;
    while !halt.load(Ordering::Relaxed) {
        let now = std::time::Instant::now();
        if now >= end {
            break;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(100)));
    }
}

fn load(dir: &Path, url: &str) -> Option<Progress> {
    let text = std::fs::read_to_string(dir.join(PROGRESS_FILE)).ok()?;
    let p: Progress = serde_json::from_str(&text).ok()?;
    // Another upstream's cursor means nothing here: start over (fusion keeps rows single).
    (p.url == url).then_some(p)
}

/// Writes the progress durably (temporary file, fsync, rename, directory fsync).
fn save(dir: &Path, p: &Progress) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("{PROGRESS_FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(
        serde_json::to_string(p)
            .map_err(std::io::Error::other)?
            .as_bytes(),
    )?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(PROGRESS_FILE))?;
    std::fs::File::open(dir)?.sync_all()
}
