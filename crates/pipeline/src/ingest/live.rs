//! Live feeds: `tcp://host:port` (a client that reconnects with backoff) and `udp://addr:port`
//! (a listener), spooled to disk and ingested in segments.
//!
//! Each feed's bytes are appended to `spool/<name>/<start-ms>.nmea.part` in the store and
//! fsynced every second: what reached the spool is *accepted*. Every `--rotate` interval (at a
//! line boundary) a segment is closed (fsynced and renamed to `.nmea`) and a new one begun. The
//! main loop ingests closed segments as ordinary runs, so content hashes make each segment count
//! exactly once; ingested segments move to `spool/<name>/ingested/`, the raw archive of the feed.
//! On start, `.part` files left by a killed process are closed and ingested first: nothing
//! accepted is lost. A multi-sentence message cut by a rotation is counted as orphan fragments.
//! Every received line is spooled unchanged after a line `#arrival_ms:<ms>` holding its
//! arrival time (a comment to NMEA readers). Ingest keeps the line's own time (tag block
//! `c:`, `$PGHP`, trailing epoch) as message time and uses the arrival time only for lines
//! without one, so a replayed 2012 feed stays in 2012; the arrival time is the receive time of
//! every report either way (`SourceRef::received_ms`; the position files have no column for
//! it, the spool archive in `ingested/` keeps it).
//!
//! SIGTERM or Ctrl-C ends a live ingest like `--for`: the receivers stop, the open segments
//! are closed and ingested, and the summary and `--stats` are written. A second signal ends
//! the process at once (the spool keeps what arrived; the next start ingests it).

use super::summary::Summary;
use super::{InputSpec, RunOptions, Session};
use anyhow::{bail, Context, Result};
use sources::net::{Backoff, Event, TcpFeed, UdpFeed};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// True for inputs that are live feeds.
pub fn is_live(input: &str) -> bool {
    input.starts_with("tcp://") || input.starts_with("udp://")
}

/// The open segment of one feed.
struct Spool {
    dir: PathBuf,
    file: Option<(File, PathBuf)>,
    opened: Instant,
    last_sync: Instant,
    dirty: bool,
    at_line_start: bool,
    rotate: Duration,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Spool {
    fn new(dir: PathBuf, rotate: Duration) -> Result<Spool> {
        fs::create_dir_all(dir.join("ingested"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Spool {
            dir,
            file: None,
            opened: Instant::now(),
            last_sync: Instant::now(),
            dirty: false,
            at_line_start: true,
            rotate,
        })
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            let path = self.dir.join(format!("{}.nmea.part", now_ms()));
            let f = OpenOptions::new().create(true).append(true).open(&path)?;
            sync_dir(&self.dir)?;
            self.file = Some((f, path));
            self.opened = Instant::now();
        }
        // Every line gets its arrival time on a line before it (see the module docs).
        let marker = format!(
            "{}{}\n",
            String::from_utf8_lossy(super::merge::ARRIVAL_MARKER),
            now_ms()
        );
        let mut stamped = Vec::with_capacity(bytes.len() + 64);
        let mut line_start = self.at_line_start;
        for &b in bytes {
            if line_start {
                stamped.extend_from_slice(marker.as_bytes());
            }
            stamped.push(b);
            line_start = b == b'\n';
        }
        if let Some((f, _)) = &mut self.file {
            f.write_all(&stamped)?;
            self.dirty = true;
            self.at_line_start = line_start;
        }
        Ok(())
    }

    /// Appends received bytes; rotates first at the last line end when the segment is due.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.file.is_some() && self.opened.elapsed() >= self.rotate {
            if self.at_line_start {
                self.close()?;
            } else if let Some(p) = bytes.iter().position(|&b| b == b'\n') {
                self.append(&bytes[..=p])?;
                self.close()?;
                return self.append(&bytes[p + 1..]);
            }
        }
        self.append(bytes)
    }

    /// Ends an unfinished line (a dropped connection), so it cannot join the next one.
    fn end_line(&mut self) -> std::io::Result<()> {
        if !self.at_line_start {
            self.append(b"\n")?;
        }
        Ok(())
    }

    /// Fsyncs once a second; closes a due segment that sits at a line end.
    fn tick(&mut self) -> std::io::Result<()> {
        if self.dirty && self.last_sync.elapsed() >= Duration::from_secs(1) {
            if let Some((f, _)) = &self.file {
                f.sync_data()?;
            }
            self.dirty = false;
            self.last_sync = Instant::now();
        }
        if self.file.is_some() && self.at_line_start && self.opened.elapsed() >= self.rotate {
            self.close()?;
        }
        Ok(())
    }

    /// Closes the segment: fsync, rename to `.nmea`.
    fn close(&mut self) -> std::io::Result<()> {
        if let Some((f, part)) = self.file.take() {
            f.sync_all()?;
            close_part(&part)?;
        }
        self.dirty = false;
        Ok(())
    }
}

/// `x.nmea.part` → `x.nmea`, durably.
fn close_part(part: &Path) -> std::io::Result<()> {
    let done = part.with_extension("");
    fs::rename(part, &done)?;
    sync_dir(part.parent().unwrap_or(Path::new(".")))
}

/// A spool directory name from a feed name.
fn dir_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Bytes a feed received, handed on before (or whatever) the spool makes of them: the live
/// picture decodes them at once, while the spool makes them durable. Called with the feed's
/// index in the order feeds were given.
pub type Tap = Arc<dyn Fn(usize, &[u8]) + Send + Sync>;

/// One feed's way into its spool (and the tap).
pub struct FeedWriter {
    index: usize,
    spool: Arc<Mutex<Spool>>,
    tap: Option<Tap>,
}

impl std::fmt::Debug for FeedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedWriter")
            .field("index", &self.index)
            .finish()
    }
}

impl FeedWriter {
    /// Spools received bytes (what reached the spool is accepted), then taps them.
    pub fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        lock(&self.spool).write(bytes)?;
        if let Some(t) = &self.tap {
            t(self.index, bytes);
        }
        Ok(())
    }

    /// Ends an unfinished line (a dropped connection), so it cannot join the next one.
    pub fn end_line(&self) -> std::io::Result<()> {
        lock(&self.spool).end_line()
    }

    /// Spools a whole file the feed produced at once (a partner link's page, see
    /// `link_file`): written beside the segments as `<ms>-<n>.<ext>.part`, fsynced and renamed,
    /// so it is accepted whole or not at all; ingested like a closed segment. Not tapped.
    pub fn write_file(&self, ext: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let dir = lock(&self.spool).dir.clone();
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let done = dir.join(format!("{}-{n:06}.{ext}", now_ms()));
        let part = done.with_extension(format!("{ext}.part"));
        let mut f = File::create(&part)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&part, &done)?;
        sync_dir(&dir)?;
        Ok(done)
    }

    /// The feed's spool directory.
    pub fn dir(&self) -> PathBuf {
        lock(&self.spool).dir.clone()
    }
}

/// Produces the bytes of one or more feeds (one `FeedWriter` each, in order) until the flag
/// is set; runs on its own thread.
pub type ProduceFn = Box<dyn FnOnce(Vec<FeedWriter>, Arc<AtomicBool>) + Send>;

/// Where a live source's bytes come from.
pub enum Producer {
    /// `tcp://host:port` (a client) or `udp://addr:port` (a listener).
    Net(String),
    /// Made in this process (file replay, the simulator).
    Custom(ProduceFn),
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Producer::Net(u) => write!(f, "Net({u})"),
            Producer::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// A live source: its producer and the provenance labels of the feeds it makes (a network
/// feed makes one; the simulator one per partner).
#[derive(Debug)]
pub struct LiveSource {
    pub producer: Producer,
    pub labels: Vec<String>,
}

/// How live feeds are run.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Close a spool segment and ingest it this often.
    pub rotate: Duration,
    /// Stop after this long.
    pub run_for: Option<Duration>,
    /// No progress lines on stderr.
    pub quiet: bool,
}

struct LiveFeed {
    /// Provenance label (and spool directory name).
    label: String,
    spool: Arc<Mutex<Spool>>,
}

fn lock(s: &Mutex<Spool>) -> std::sync::MutexGuard<'_, Spool> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Receives a network feed into its spool until `stop`.
fn receive(url: String, feed: FeedWriter, stop: Arc<AtomicBool>, quiet: bool) {
    let say = |m: String| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    let fail = |e: std::io::Error| {
        eprintln!("tidewatch: error: cannot write the spool of {url}: {e}");
        std::process::exit(1);
    };
    if let Some(addr) = url.strip_prefix("tcp://") {
        let mut tcp = TcpFeed::new(
            addr,
            Backoff {
                timeout: Duration::from_secs(5),
                // Returns to check `stop` twice a second; a quiet feed stays connected.
                poll: Duration::from_millis(500),
                ..Backoff::default()
            },
        );
        while !stop.load(Ordering::Relaxed) {
            match tcp.next_event() {
                Event::Data(d) => feed.write(&d).unwrap_or_else(fail),
                Event::Connected(p) => say(format!("{url}: connected to {p}")),
                Event::Disconnected { reason, .. } => {
                    say(format!("{url}: disconnected ({reason})"));
                    feed.end_line().unwrap_or_else(fail);
                }
                Event::Backoff(w) if w.is_zero() => say(format!("{url}: cannot connect; retrying")),
                Event::Backoff(w) => say(format!("{url}: cannot connect; retrying in {w:?}")),
                Event::Idle => {}
            }
        }
    } else if let Some(addr) = url.strip_prefix("udp://") {
        let mut udp = match UdpFeed::bind(addr) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("tidewatch: error: cannot listen on {url}: {e}");
                std::process::exit(1);
            }
        };
        while !stop.load(Ordering::Relaxed) {
            match udp.recv(Duration::from_millis(200)) {
                Ok(Some((d, _))) => feed.write(&d).unwrap_or_else(fail),
                Ok(None) => {}
                Err(e) => say(format!("{url}: receive error ({e})")),
            }
        }
    }
}

/// The extension of a partner link's pages in its spool (`FeedWriter::write_file`).
pub const LINK_PAGE_EXT: &str = "jsonl";

/// Removes a link page left half-written by a killed process: the link had not moved its
/// cursor past it, so it pulls the page again.
fn remove_torn_pages(dir: &Path) -> std::io::Result<()> {
    for e in fs::read_dir(dir)?.flatten() {
        let p = e.path();
        if p.to_string_lossy().ends_with(".jsonl.part") {
            fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// Closed segments waiting to be ingested, oldest first, with their feed's label.
fn closed_segments(feeds: &[LiveFeed]) -> Result<Vec<InputSpec>> {
    let mut out = Vec::new();
    for f in feeds {
        let dir = lock(&f.spool).dir.clone();
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "nmea" || x == LINK_PAGE_EXT)
            })
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|p| InputSpec {
            path: p.to_string_lossy().into_owned(),
            label: f.label.clone(),
        }));
    }
    Ok(out)
}

/// The live sources of `tidewatch ingest tcp://... udp://...`.
pub fn net_sources(inputs: &[String]) -> Result<Vec<LiveSource>> {
    let mut out = Vec::new();
    for i in inputs {
        let (name, url) = super::parse_spec(i);
        let addr = url.split_once("://").map_or("", |x| x.1);
        if addr.is_empty() || !addr.contains(':') {
            bail!(
                "{url}: give host:port (for example tcp://127.0.0.1:5631 or udp://0.0.0.0:10110)"
            );
        }
        out.push(LiveSource {
            labels: vec![name.unwrap_or_else(|| dir_name(addr))],
            producer: Producer::Net(url),
        });
    }
    Ok(out)
}

/// Installs the SIGTERM and Ctrl-C handlers: the first sets the returned flag (an orderly
/// end), a second ends the process at once.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let signalled = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, signalled.clone())
            .context("cannot install a signal handler")?;
        signal_hook::flag::register(sig, signalled.clone())
            .context("cannot install a signal handler")?;
    }
    Ok(signalled)
}

/// Runs live sources until `stop` is set (or `run_for` passes): spools what they produce,
/// ingests each closed segment as a run (calling `on_run` with its accounting after its
/// commit), and at the end closes and ingests the open segments. Returns the accounting of
/// all runs.
pub fn run_sources(
    session: &mut Session,
    sources: Vec<LiveSource>,
    opts: &RunOptions,
    live: &LiveOptions,
    stop: &Arc<AtomicBool>,
    tap: Option<Tap>,
    on_run: &mut dyn FnMut(&Summary),
) -> Result<Summary> {
    let mut feeds = Vec::new();
    let mut producers = Vec::new();
    for src in sources {
        let mut writers = Vec::new();
        for label in src.labels {
            let dir = session.dir().join("spool").join(dir_name(&label));
            // Segments a killed process left open hold accepted data: close them first.
            if dir.is_dir() {
                for e in fs::read_dir(&dir)?.flatten() {
                    let p = e.path();
                    if p.to_string_lossy().ends_with(".nmea.part") {
                        close_part(&p)?;
                    }
                }
                remove_torn_pages(&dir)?;
            }
            let spool = Arc::new(Mutex::new(Spool::new(dir, live.rotate)?));
            writers.push(FeedWriter {
                index: feeds.len(),
                spool: spool.clone(),
                tap: tap.clone(),
            });
            feeds.push(LiveFeed { label, spool });
        }
        producers.push((src.producer, writers));
    }
    // Spools of feeds no longer configured may still hold accepted data (a killed process's
    // open segment, closed segments not yet ingested): ingest them too, under their names.
    let spool_root = session.dir().join("spool");
    if spool_root.is_dir() {
        let known: Vec<String> = feeds.iter().map(|f| dir_name(&f.label)).collect();
        let mut orphans: Vec<PathBuf> = fs::read_dir(&spool_root)
            .with_context(|| format!("cannot read {}", spool_root.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| !known.iter().any(|k| n == k.as_str()))
            })
            .collect();
        orphans.sort();
        for dir in orphans {
            for e in fs::read_dir(&dir)?.flatten() {
                let p = e.path();
                if p.to_string_lossy().ends_with(".nmea.part") {
                    close_part(&p)?;
                }
            }
            remove_torn_pages(&dir)?;
            let label = dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let spool = Arc::new(Mutex::new(Spool::new(dir, live.rotate)?));
            feeds.push(LiveFeed { label, spool });
        }
    }
    // The producers stop on their own flag, set once the loop below decides to end.
    let halt = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for (producer, mut writers) in producers {
        let halt = halt.clone();
        let quiet = live.quiet;
        let (name, in_process) = match &producer {
            Producer::Net(u) => (format!("feed {u}"), false),
            Producer::Custom(_) => ("feed".to_owned(), true),
        };
        threads.push((
            std::thread::Builder::new()
                .name(name)
                .spawn(move || match producer {
                    Producer::Net(url) => {
                        if let Some(w) = writers.pop() {
                            receive(url, w, halt, quiet);
                        }
                    }
                    Producer::Custom(f) => f(writers, halt),
                })
                .context("cannot start a feed thread")?,
            in_process,
        ));
    }
    let started = Instant::now();
    let mut total = Summary::default();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let signal = stop.load(Ordering::Relaxed);
        let ending = signal || live.run_for.is_some_and(|d| started.elapsed() >= d);
        if ending {
            halt.store(true, Ordering::Relaxed);
            // In-process producers stop at once and their last bytes must be spooled before
            // the segments close; network receivers are left to stop on their own (what
            // they still receive stays in the spool for the next start).
            for (t, in_process) in threads.drain(..) {
                if in_process {
                    let _ = t.join();
                }
            }
            if signal && !live.quiet {
                eprintln!("stopping: closing and ingesting the open spool segments");
            }
        }
        for f in &feeds {
            let mut s = lock(&f.spool);
            if ending {
                s.end_line()?;
                s.close()?;
            } else {
                s.tick()?;
            }
        }
        let segments = closed_segments(&feeds)?;
        if !segments.is_empty() {
            // A segment that cannot be read stops the ingest (it stays in the spool for the
            // next start): going on would move it to `ingested/` unread.
            let strict = RunOptions {
                strict: true,
                ..opts.clone()
            };
            let mut sum = session.ingest(segments.clone(), &strict)?;
            // Reports of every format (NMEA messages, CSV and link rows); a run that took none
            // (an idle feed's empty segment) says nothing.
            if !live.quiet && sum.observations > 0 {
                eprintln!(
                    "run {}: {} segment(s), {} reports, {} positions, {} vessels",
                    sum.run,
                    segments.len(),
                    sum.observations,
                    sum.written.positions,
                    sum.vessels_touched
                );
            }
            for s in &segments {
                let p = Path::new(&s.path);
                if let (Some(dir), Some(name)) = (p.parent(), p.file_name()) {
                    fs::rename(p, dir.join("ingested").join(name))
                        .with_context(|| format!("cannot move {}", p.display()))?;
                }
            }
            on_run(&sum);
            sum.events.clear();
            total.absorb(&sum);
        }
        if ending {
            break;
        }
    }
    Ok(total)
}
