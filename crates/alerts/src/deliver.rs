//! Webhook delivery: a few threads that POST each alert's JSON to its rule's webhooks.
//!
//! The rule: one *delivery* per (alert, webhook). An attempt that ends in a 2xx answer is
//! delivered. A connection error, a timeout, a malformed answer, a 5xx or a 429 is retried
//! after `backoff`, doubled after each failure up to `backoff_max` (a 429's or 503's
//! `Retry-After` seconds lengthen the wait, within `backoff_max`), until `max_attempts`
//! attempts; any other answer (3xx, other 4xx), a TLS failure (handshake, certificate) or a
//! request that cannot be made is not retried. A delivery that is not delivered is written
//! to the dead-letter log with its reason and attempt count.
//!
//! Memory is bounded: at most `queue_capacity` deliveries are held at once (queued, waiting
//! for a retry, or in flight); one more is dead-lettered at once as `queue_full`. A slow
//! webhook holds a thread for at most its timeout.
//!
//! Shutdown ([`Delivery::shutdown`]) goes on delivering and retrying for up to
//! `shutdown_grace`; a retry that would come after it, and whatever is still held when it
//! ends, is dead-lettered as `shutdown` (with the last failure, if any). Attempts in flight
//! finish first (each within its timeout). Deliveries held in memory when the process is
//! killed are lost: the alert is in the ledger, so it does not fire again.
//!
//! The dead-letter log is JSON lines, one per delivery: `{"dead_at", "reason", "status",
//! "attempts", "error", "rule", "url", "alert"}` (`status` only for `http_status`; headers
//! are not written, they may hold secrets). Each batch of lines is written with one `write`
//! and synced (`fsync`) before it counts.

use std::collections::{BinaryHeap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Settings, Webhook};
use crate::error::AlertsError;

/// Why a delivery was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeadReason {
    /// The delivery queue was full when the alert fired.
    QueueFull,
    /// Still pending when shutdown's grace ran out.
    Shutdown,
    /// The webhook answered with a status that is not 2xx (the last one is in `status`).
    HttpStatus,
    /// No connection (refused, unreachable, name not found, reset).
    Connect,
    /// An attempt took longer than the webhook's timeout.
    Timeout,
    /// The answer was not HTTP/1.1 as the client knows it.
    Protocol,
    /// TLS failed (certificate, handshake).
    Tls,
    /// The request could not be made (URL, headers).
    Request,
}

impl DeadReason {
    /// Every reason, in the order of [`Metrics::dead_lettered`].
    pub const ALL: [DeadReason; 8] = [
        DeadReason::QueueFull,
        DeadReason::Shutdown,
        DeadReason::HttpStatus,
        DeadReason::Connect,
        DeadReason::Timeout,
        DeadReason::Protocol,
        DeadReason::Tls,
        DeadReason::Request,
    ];

    /// The name in the dead-letter log and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadReason::QueueFull => "queue_full",
            DeadReason::Shutdown => "shutdown",
            DeadReason::HttpStatus => "http_status",
            DeadReason::Connect => "connect",
            DeadReason::Timeout => "timeout",
            DeadReason::Protocol => "protocol",
            DeadReason::Tls => "tls",
            DeadReason::Request => "request",
        }
    }
}

/// Delivery counters since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryMetrics {
    /// Deliveries accepted into the queue.
    pub enqueued: u64,
    /// Deliveries answered with a 2xx.
    pub delivered: u64,
    /// Attempts made (first tries and retries).
    pub attempts: u64,
    /// Attempts that failed and were scheduled again.
    pub retried: u64,
    /// Deliveries dead-lettered, by reason (in [`DeadReason::ALL`] order).
    pub dead_lettered: Vec<(DeadReason, u64)>,
    /// Dead-letter lines that could not be written (the delivery is lost).
    pub dead_letter_write_errors: u64,
    /// Deliveries held now (queued, waiting for a retry, or in flight).
    pub queued: u64,
}

impl DeliveryMetrics {
    /// Dead-lettered deliveries, all reasons.
    pub fn dead_lettered_total(&self) -> u64 {
        self.dead_lettered.iter().map(|(_, n)| n).sum()
    }

    /// Dead-lettered deliveries for one reason.
    pub fn dead_lettered_for(&self, reason: DeadReason) -> u64 {
        self.dead_lettered
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }
}

#[derive(Debug)]
struct Job {
    body: Arc<str>,
    rule: Arc<str>,
    hook: Arc<Webhook>,
    attempts: u32,
    last: Option<Failure>,
}

#[derive(Debug, Clone)]
struct Failure {
    reason: DeadReason,
    status: Option<u16>,
    detail: String,
    retry: bool,
    retry_after: Option<Duration>,
}

#[derive(Debug)]
struct Waiting {
    due: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Waiting {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.seq) == (o.due, o.seq)
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Waiting {
    // Reversed: the heap's top is the earliest due.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.due, o.seq).cmp(&(self.due, self.seq))
    }
}

#[derive(Debug, Default)]
struct Queue {
    ready: VecDeque<Job>,
    waiting: BinaryHeap<Waiting>,
    in_flight: usize,
    seq: u64,
    closing: Option<Instant>,
}

impl Queue {
    fn held(&self) -> usize {
        self.ready.len() + self.waiting.len() + self.in_flight
    }
}

#[derive(Debug, Default)]
struct Counters {
    enqueued: AtomicU64,
    delivered: AtomicU64,
    attempts: AtomicU64,
    retried: AtomicU64,
    dead: [AtomicU64; DeadReason::ALL.len()],
    dead_letter_write_errors: AtomicU64,
}

#[derive(Debug)]
struct DeadLetter {
    path: PathBuf,
    file: File,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    dead: Mutex<DeadLetter>,
    counters: Counters,
    agent: ureq::Agent,
    max_attempts: u32,
    backoff: Duration,
    backoff_max: Duration,
    capacity: usize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("counters", &self.counters)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked left the data consistent (each step is a push or a pop).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The delivery threads and their queue.
#[derive(Debug)]
pub struct Delivery {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    grace: Duration,
}

impl Delivery {
    /// Opens the dead-letter log (created if missing, with its directory) and starts the
    /// threads.
    pub fn start(settings: &Settings, dead_letter: &Path) -> Result<Delivery, AlertsError> {
        if let Some(parent) = dead_letter.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| AlertsError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(dead_letter)
            .map_err(|source| AlertsError::Io {
                path: dead_letter.to_owned(),
                source,
            })?;
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .user_agent(concat!("tidewatch-alerts/", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            dead: Mutex::new(DeadLetter {
                path: dead_letter.to_owned(),
                file,
            }),
            counters: Counters::default(),
            agent,
            max_attempts: settings.max_attempts.max(1),
            backoff: settings.backoff,
            backoff_max: settings.backoff_max,
            capacity: settings.queue_capacity.max(1),
        });
        let mut workers = Vec::new();
        for i in 0..settings.workers.max(1) {
            let sh = Arc::clone(&shared);
            let h = std::thread::Builder::new()
                .name(format!("alerts-webhook-{i}"))
                .spawn(move || worker(&sh));
            match h {
                Ok(h) => workers.push(h),
                Err(e) => {
                    let mut d = Delivery {
                        shared,
                        workers,
                        grace: Duration::ZERO,
                    };
                    d.shutdown();
                    return Err(AlertsError::Thread(e));
                }
            }
        }
        Ok(Delivery {
            shared,
            workers,
            grace: settings.shutdown_grace,
        })
    }

    /// Queues one delivery per webhook of `body` (an alert's JSON); what does not fit is
    /// dead-lettered as `queue_full`.
    pub fn submit(&self, rule: &Arc<str>, hooks: &[Arc<Webhook>], body: &Arc<str>) {
        let mut overflow = Vec::new();
        {
            let mut q = lock(&self.shared.queue);
            for hook in hooks {
                let job = Job {
                    body: Arc::clone(body),
                    rule: Arc::clone(rule),
                    hook: Arc::clone(hook),
                    attempts: 0,
                    last: None,
                };
                if q.closing.is_some() {
                    overflow.push((job, DeadReason::Shutdown));
                } else if q.held() >= self.shared.capacity {
                    overflow.push((job, DeadReason::QueueFull));
                } else {
                    q.ready.push_back(job);
                    self.shared
                        .counters
                        .enqueued
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.shared.wake.notify_all();
        self.shared.dead_letter(overflow);
    }

    /// A handle that reads the counters from any thread.
    pub fn probe(&self) -> Probe {
        Probe(Arc::clone(&self.shared))
    }

    /// Stops taking deliveries, goes on for up to the shutdown grace, dead-letters the rest,
    /// and joins the threads. Calling it again does nothing.
    pub fn shutdown(&mut self) {
        {
            let mut q = lock(&self.shared.queue);
            if q.closing.is_none() {
                q.closing = Some(Instant::now() + self.grace);
            }
        }
        self.shared.wake.notify_all();
        for h in self.workers.drain(..) {
            // A worker that panicked has nothing left to hand over.
            let _ = h.join();
        }
        // Threads that never started (a failed spawn) leave their jobs: dead-letter them.
        let rest = {
            let mut q = lock(&self.shared.queue);
            let mut rest: Vec<Job> = q.ready.drain(..).collect();
            rest.extend(std::mem::take(&mut q.waiting).into_iter().map(|w| w.job));
            rest
        };
        self.shared.dead_letter(
            rest.into_iter()
                .map(|j| (j, DeadReason::Shutdown))
                .collect(),
        );
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Reads the delivery counters.
#[derive(Debug, Clone)]
pub struct Probe(Arc<Shared>);

impl Probe {
    /// Counters and the number held now.
    pub fn metrics(&self) -> DeliveryMetrics {
        let c = &self.0.counters;
        let held = lock(&self.0.queue).held();
        DeliveryMetrics {
            enqueued: c.enqueued.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            attempts: c.attempts.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            dead_lettered: DeadReason::ALL
                .iter()
                .zip(&c.dead)
                .map(|(r, n)| (*r, n.load(Ordering::Relaxed)))
                .collect(),
            dead_letter_write_errors: c.dead_letter_write_errors.load(Ordering::Relaxed),
            queued: held as u64,
        }
    }
}

fn worker(sh: &Shared) {
    let mut q = lock(&sh.queue);
    loop {
        let now = Instant::now();
        if let Some(deadline) = q.closing {
            // Retries that would come after the grace are given up now, and everything held
            // once it has run out.
            let mut give_up = Vec::new();
            if now >= deadline {
                give_up.extend(q.ready.drain(..));
            }
            while q
                .waiting
                .peek()
                .is_some_and(|w| w.due > deadline || now >= deadline)
            {
                if let Some(w) = q.waiting.pop() {
                    give_up.push(w.job);
                }
            }
            if !give_up.is_empty() {
                drop(q);
                sh.dead_letter(
                    give_up
                        .into_iter()
                        .map(|j| (j, DeadReason::Shutdown))
                        .collect(),
                );
                q = lock(&sh.queue);
                continue;
            }
            if q.ready.is_empty() && q.waiting.is_empty() {
                sh.wake.notify_all();
                return;
            }
        }
        let job = if q.waiting.peek().is_some_and(|w| w.due <= now) {
            q.waiting.pop().map(|w| w.job)
        } else {
            q.ready.pop_front()
        };
        let Some(mut job) = job else {
            let until = match (q.waiting.peek().map(|w| w.due), q.closing) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            q = match until {
                Some(t) => {
                    sh.wake
                        .wait_timeout(q, t.saturating_duration_since(now))
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => sh.wake.wait(q).unwrap_or_else(|e| e.into_inner()),
            };
            continue;
        };
        q.in_flight += 1;
        drop(q);
        job.attempts += 1;
        sh.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let outcome = post(&sh.agent, &job);
        let mut dead = None;
        q = lock(&sh.queue);
        q.in_flight -= 1;
        match outcome {
            Ok(()) => {
                sh.counters.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err(f) => {
                let retry = f.retry && job.attempts < sh.max_attempts;
                let reason = f.reason;
                let wait = backoff(sh, job.attempts, f.retry_after);
                job.last = Some(f);
                if !retry {
                    dead = Some((job, reason));
                } else {
                    let due = Instant::now() + wait;
                    match q.closing {
                        Some(deadline) if due > deadline => {
                            dead = Some((job, DeadReason::Shutdown));
                        }
                        _ => {
                            sh.counters.retried.fetch_add(1, Ordering::Relaxed);
                            q.seq += 1;
                            let seq = q.seq;
                            q.waiting.push(Waiting { due, seq, job });
                        }
                    }
                }
            }
        }
        if let Some(d) = dead {
            drop(q);
            sh.dead_letter(vec![d]);
            q = lock(&sh.queue);
        }
        sh.wake.notify_all();
    }
}

/// The wait after the `attempts`-th failed attempt.
fn backoff(sh: &Shared, attempts: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = sh
        .backoff
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    doubled
        .max(retry_after.unwrap_or_default())
        .min(sh.backoff_max)
}

/// The most of an answer's body read (and dropped) so its connection can be reused.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

fn post(agent: &ureq::Agent, job: &Job) -> Result<(), Failure> {
    let hook = &job.hook;
    let mut req = agent
        .post(hook.url.as_str())
        .config()
        .timeout_global(Some(hook.timeout))
        .build();
    if !hook
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/json");
    }
    for (k, v) in &hook.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    match req.send(job.body.as_bytes()) {
        Ok(mut answer) => {
            let status = answer.status().as_u16();
            let retry_after = answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            // Only to free the connection; a body that cannot be read changes nothing.
            let _ = answer
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_vec();
            if (200..300).contains(&status) {
                return Ok(());
            }
            Err(Failure {
                reason: DeadReason::HttpStatus,
                status: Some(status),
                detail: format!("answered HTTP {status}"),
                retry: status == 429 || status >= 500,
                retry_after,
            })
        }
        Err(e) => {
            use ureq::Error as E;
            let (reason, retry) = match &e {
                E::Timeout(_) => (DeadReason::Timeout, true),
                E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                    (DeadReason::Timeout, true)
                }
                // rustls reports a failed handshake or certificate as invalid data on the
                // stream: a configuration fault, not a passing one.
                E::Io(io)
                    if io.kind() == std::io::ErrorKind::InvalidData
                        && hook.url.starts_with("https:") =>
                {
                    (DeadReason::Tls, false)
                }
                E::Io(_) | E::ConnectionFailed | E::HostNotFound => (DeadReason::Connect, true),
                E::Protocol(_) => (DeadReason::Protocol, true),
                E::Tls(_) | E::Pem(_) | E::Rustls(_) => (DeadReason::Tls, false),
                _ => (DeadReason::Request, false),
            };
            Err(Failure {
                reason,
                status: None,
                detail: e.to_string(),
                retry,
                retry_after: None,
            })
        }
    }
}

impl Shared {
    fn dead_letter(&self, jobs: Vec<(Job, DeadReason)>) {
        if jobs.is_empty() {
            return;
        }
        let at = crate::rfc3339_now();
        let mut out = String::new();
        for (job, reason) in &jobs {
            let (status, detail) = match &job.last {
                Some(f) => (f.status, f.detail.as_str()),
                None => (None, ""),
            };
            let head = serde_json::json!({
                "dead_at": at,
                "reason": reason.as_str(),
                "status": if *reason == DeadReason::HttpStatus { status } else { None },
                "attempts": job.attempts,
                "error": detail,
                "rule": &*job.rule,
                "url": job.hook.url,
            });
            let head = head.to_string();
            // `head` is an object: splice the alert's JSON in as its last field.
            out.push_str(&head[..head.len() - 1]);
            out.push_str(",\"alert\":");
            out.push_str(&job.body);
            out.push_str("}\n");
        }
        let written = {
            let mut d = lock(&self.dead);
            d.file
                .write_all(out.as_bytes())
                .and_then(|()| d.file.sync_data())
                .map_err(|e| (d.path.clone(), e))
        };
        match written {
            Ok(()) => {
                for (_, reason) in &jobs {
                    self.counters.dead[*reason as usize].fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                self.counters
                    .dead_letter_write_errors
                    .fetch_add(jobs.len() as u64, Ordering::Relaxed);
            }
        }
    }
}
