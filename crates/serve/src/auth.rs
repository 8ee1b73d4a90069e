//! Who is asking, may they, and the record of it (issue 21): the layer every `/api/*` and
//! `/metrics` request passes before its handler.
//!
//! In order:
//!
//! 1. **Size.** A path and query over [`AccessConfig::max_uri_bytes`] is a 414, a body over
//!    [`AccessConfig::max_body_bytes`] a 413 (the API reads no bodies).
//! 2. **Mode.** With `auth = "required"` in the configuration, or as soon as the store has a
//!    principal (`tidewatch token create`), every request needs `Authorization: Bearer
//!    TOKEN`; `/api/stream` also takes `?access_token=TOKEN` (a browser's `EventSource` cannot
//!    send headers; the parameter is removed before anything is logged or audited). Without
//!    principals the server runs in **open mode**: one local user who sees everything, said
//!    at startup and in `/api/health` (`"auth": "open"`).
//! 3. **Authentication.** No token, a malformed one, or one that is not live: 401 with
//!    `WWW-Authenticate: Bearer`; the message says whether a token came, not why one was
//!    refused (unknown and revoked read alike). Counted, never audited.
//! 4. **Rate.** A token bucket per principal ([`AccessConfig::rate_per_s`] refill,
//!    [`AccessConfig::burst`] capacity; open mode shares one): an empty bucket is a 429
//!    with `Retry-After` in whole seconds. Not audited (that would let a flood cost an fsync a
//!    request).
//! 5. **Rights.** `/metrics` counts every source's data, so only a principal who may see
//!    every source (the default label and every labelled pattern), or a `monitor`, may read
//!    it: others get 403, audited. A `monitor` reads `/metrics` and `/api/health` (with the
//!    vessel count) and nothing else: 403, audited.
//! 6. **The read.** The handler gets the [`Caller`] and answers through its view; it reports
//!    the records it returned and withheld in the response's [`Audited`] extension.
//! 7. **Audit.** The entry (principal, partner, endpoint, parameters, returned, withheld) is
//!    appended to `audit.jsonl` and fsynced *before* the response is sent; an append that
//!    fails turns the answer into a 503 (a read is never answered unaudited).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use access::{Access, AuditLog, AuditRecord, Principal, SourceLabels, View};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::ApiError;
use crate::AppState;

/// When a token is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthSetting {
    /// As soon as the store has a principal (the default); open mode before.
    #[default]
    Auto,
    /// Always: a store without principals answers every read with 401.
    Required,
}

impl AuthSetting {
    /// Parses `auto` or `required`.
    pub fn parse(s: &str) -> Option<AuthSetting> {
        match s {
            "auto" => Some(AuthSetting::Auto),
            "required" => Some(AuthSetting::Required),
            _ => None,
        }
    }
}

/// Access settings of the server (the `[access]`-level fields of `tidewatch serve`'s
/// configuration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccessConfig {
    /// When a token is required (default [`AuthSetting::Auto`]).
    pub auth: AuthSetting,
    /// Requests a principal may make per second, sustained (default 20).
    pub rate_per_s: f64,
    /// Requests a principal may make at once (default 100).
    pub burst: f64,
    /// Longest path and query, bytes (default 4096).
    pub max_uri_bytes: usize,
    /// Largest request body, bytes (default 16 KiB; the API reads none).
    pub max_body_bytes: u64,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            auth: AuthSetting::Auto,
            rate_per_s: 20.0,
            burst: 100.0,
            max_uri_bytes: 4096,
            max_body_bytes: 16 * 1024,
        }
    }
}

/// Who is asking, as the handlers see it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal; `None` in open mode.
    pub principal: Option<Principal>,
    /// The labels in force for this request.
    pub labels: Arc<SourceLabels>,
    /// Whether the principal may not see some source (false: no filtering needed).
    pub restricted: bool,
}

impl Caller {
    /// Open mode: sees everything.
    pub fn open() -> Caller {
        Caller {
            principal: None,
            labels: Arc::new(SourceLabels::default()),
            restricted: false,
        }
    }

    /// The view to filter through; `None` when the caller sees every source.
    pub fn view(&self) -> Option<View<'_>> {
        match (&self.principal, self.restricted) {
            (Some(p), true) => Some(View::new(p, &self.labels)),
            _ => None,
        }
    }
}

/// Whether `p` may see every source under `labels` (the default label and every pattern's).
pub fn sees_all(p: &Principal, labels: &SourceLabels) -> bool {
    p.may_see(labels.default_label()) && labels.patterns().iter().all(|(_, l)| p.may_see(l))
}

/// What a handler returned and withheld, for the audit entry (a response extension).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Audited {
    /// Records in the response.
    pub returned: u64,
    /// Records the caller's view kept out of it.
    pub withheld: u64,
}

/// A response with its audit counts.
pub(crate) fn audited(mut r: Response, returned: usize, withheld: usize) -> Response {
    r.extensions_mut().insert(Audited {
        returned: returned as u64,
        withheld: withheld as u64,
    });
    r
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

type AuditReply = std::sync::mpsc::SyncSender<Result<(), String>>;

enum AuditSink {
    /// The directory is not a store: nothing stored, nothing to record (open mode only).
    NoStore,
    /// The writer thread (group commit: the entries waiting when it wakes are appended with
    /// one write and one fsync, and each request is answered once its entry is durable).
    Log {
        tx: Mutex<Option<std::sync::mpsc::Sender<(AuditRecord, AuditReply)>>>,
        thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    },
}

/// Entries appended with one fsync, at most.
const AUDIT_BATCH: usize = 256;

fn audit_writer(mut log: AuditLog, rx: std::sync::mpsc::Receiver<(AuditRecord, AuditReply)>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < AUDIT_BATCH {
            match rx.try_recv() {
                Ok(x) => batch.push(x),
                Err(_) => break,
            }
        }
        let recs: Vec<AuditRecord> = batch.iter().map(|(r, _)| r.clone()).collect();
        let result = log
            .append_batch(&recs)
            .map(|_| ())
            .map_err(|e| e.to_string());
        for (_, reply) in batch {
            let _ = reply.send(result.clone());
        }
    }
}

/// How long one entry may stand for a run of repeated empty reads ([`access::Repeats`]): a
/// partner link asking every 2 s whether anything is new writes two entries per endpoint in
/// ten minutes (the run's first read, then its count), not 300.
const REPEAT_SPAN_MS: i64 = 10 * 60 * 1000;

/// Runs counted at once, at most (one per principal and endpoint; more are written out).
const MAX_RUNS: usize = 4096;

/// A run of identical reads answered empty, being counted.
#[derive(Debug)]
struct Run {
    /// The run's first read, whose own entry was written before it was answered.
    first: AuditRecord,
    /// Reads after it, and the times of the first and the last of them.
    count: u64,
    first_ms: i64,
    last_ms: i64,
}

impl Run {
    /// The entry that stands for the reads after the first (none when there were none).
    fn entry(self) -> Option<AuditRecord> {
        (self.count > 0).then_some(AuditRecord {
            time_ms: self.last_ms,
            repeats: Some(access::Repeats {
                count: self.count,
                first_ms: self.first_ms,
            }),
            ..self.first
        })
    }

    /// Whether `rec` is one more read of this run at its time.
    fn repeated_by(&self, rec: &AuditRecord) -> bool {
        is_empty_read(rec)
            && rec.partner == self.first.partner
            && rec.params == self.first.params
            && rec.time_ms - self.first.time_ms < REPEAT_SPAN_MS
    }
}

/// A read served with nothing returned or withheld.
fn is_empty_read(rec: &AuditRecord) -> bool {
    rec.status.is_none() && rec.returned == 0 && rec.withheld == 0 && rec.repeats.is_none()
}

/// The server's access state: the store's rules, the audit log's writer, the rate buckets.
pub struct Gate {
    access: Option<Access>,
    audit: AuditSink,
    /// Runs of repeated empty reads, by principal and endpoint (see [`Gate::append_read`]).
    runs: Mutex<HashMap<(String, String), Run>>,
    config: AccessConfig,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Requests refused with 401.
    pub(crate) unauthenticated: AtomicU64,
    /// Requests refused with 429.
    pub(crate) limited: AtomicU64,
    /// Requests refused with 403.
    pub(crate) forbidden: AtomicU64,
    /// Whether tokens were required at the last request (or at start): a change is logged.
    was_required: AtomicBool,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("access", &self.access)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Drop for Gate {
    /// Ends the audit writer (after the entries sent) and waits for it, so its lock on the
    /// log is released when the gate is gone.
    fn drop(&mut self) {
        // The counts of runs still open go on record before the writer ends.
        let open: Vec<AuditRecord> =
            std::mem::take(self.runs.get_mut().unwrap_or_else(|e| e.into_inner()))
                .into_values()
                .filter_map(Run::entry)
                .collect();
        if let Err(e) = self.append_all(open) {
            eprintln!(
                "serve: the counts of repeated reads could not be recorded: {}",
                e.message
            );
        }
        if let AuditSink::Log { tx, thread } = &self.audit {
            drop(tx.lock().unwrap_or_else(|e| e.into_inner()).take());
            if let Some(t) = thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = t.join();
            }
        }
    }
}

fn now_ms() -> i64 {
    crate::picture::wall_ms()
}

impl Gate {
    /// The gate of the store in `store_dir`: its access rules and its audit log's writer (the
    /// writer lock is held while the gate lives). A directory that is not a store has neither
    /// and runs open (unless `auth = "required"`, which then refuses every read).
    pub fn open(store_dir: &Path, config: AccessConfig) -> Result<Gate, access::AccessError> {
        let is_store = store_dir.join("manifest.jsonl").is_file();
        let (access, audit) = if is_store {
            let a = Access::open(store_dir)?;
            let (log, torn) = AuditLog::open(store_dir, now_ms())?;
            if let Some(t) = torn {
                eprintln!(
                    "serve: the audit log ended in a torn line ({} bytes at {}); kept in {}",
                    t.bytes,
                    t.offset,
                    t.saved_to.display()
                );
            }
            let (tx, rx) = std::sync::mpsc::channel();
            let thread = std::thread::Builder::new()
                .name("serve-audit".to_owned())
                .spawn(move || audit_writer(log, rx))?;
            (
                Some(a),
                AuditSink::Log {
                    tx: Mutex::new(Some(tx)),
                    thread: Mutex::new(Some(thread)),
                },
            )
        } else {
            (None, AuditSink::NoStore)
        };
        let gate = Gate {
            access,
            audit,
            runs: Mutex::new(HashMap::new()),
            config,
            buckets: Mutex::new(HashMap::new()),
            unauthenticated: AtomicU64::new(0),
            limited: AtomicU64::new(0),
            forbidden: AtomicU64::new(0),
            was_required: AtomicBool::new(false),
        };
        // The mode at start is the server's to say; changes after it are the gate's.
        gate.was_required.store(gate.required(), Ordering::Relaxed);
        Ok(gate)
    }

    /// The settings.
    pub fn config(&self) -> &AccessConfig {
        &self.config
    }

    /// What to log when whether tokens are required has changed since the last request (or
    /// the start): the first token created while the server runs closes open mode, which the
    /// operator should see in the log. (Revoking tokens leaves their principals, so tokens
    /// stay required; open mode comes back only if the access rules lose every principal.)
    /// `required` is [`Gate::required`] now (asked once per request: it reads the access
    /// database's version).
    pub fn mode_change(&self, required: bool) -> Option<&'static str> {
        (self.was_required.swap(required, Ordering::Relaxed) != required).then_some(if required {
            "access: a principal now exists: tokens are required from this request on \
             (Authorization: Bearer TOKEN); every read is audited"
        } else {
            "access: OPEN MODE again: no principal is left, so anyone who can reach the server \
             sees everything"
        })
    }

    /// Whether requests need a token now.
    pub fn required(&self) -> bool {
        self.config.auth == AuthSetting::Required
            || self.access.as_ref().is_some_and(Access::has_principals)
    }

    /// The store's access rules (`None` when the directory is not a store).
    pub fn access(&self) -> Option<&Access> {
        self.access.as_ref()
    }

    /// The labels in force (fail closed: unreadable rules label everything `WITHHELD`).
    pub fn labels(&self) -> Arc<SourceLabels> {
        match &self.access {
            Some(a) => a.current_labels().unwrap_or_else(|e| {
                eprintln!("serve: access rules unreadable, everything withheld: {e}");
                Arc::new(SourceLabels::default())
            }),
            None => Arc::new(SourceLabels::default()),
        }
    }

    /// Takes a request from `key`'s bucket; `Err(seconds)` to wait when it is empty.
    fn take(&self, key: &str) -> Result<(), u64> {
        let (rate, burst) = (self.config.rate_per_s.max(1e-3), self.config.burst.max(1.0));
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() > 100_000 {
            // Principals are few; a map this large is stale entries: start afresh.
            b.clear();
        }
        let now = Instant::now();
        let e = b.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        e.tokens = (e.tokens + now.duration_since(e.at).as_secs_f64() * rate).min(burst);
        e.at = now;
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - e.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// Appends one audit entry now (blocking: an fsync).
    pub fn append_now(&self, rec: &AuditRecord) -> Result<(), ApiError> {
        self.append_all(vec![rec.clone()])
    }

    /// Records a read answered through the gate. A read identical to the one before it from
    /// the same principal on the same endpoint (same partner and parameters), both answered
    /// empty, is counted instead of written: the first read of such a run has its entry, and
    /// the run's count is written as one entry ([`access::Repeats`]) when a different read by
    /// that principal on that endpoint comes, when the run is [`REPEAT_SPAN_MS`] old (at the
    /// next read by anyone), or when the server stops. Everything else is written before it
    /// is answered (blocking: an fsync).
    pub fn append_read(&self, rec: AuditRecord) -> Result<(), ApiError> {
        let key = (rec.principal.clone(), rec.endpoint.clone());
        let mut out = Vec::new();
        {
            let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = runs.get_mut(&key).filter(|r| r.repeated_by(&rec)) {
                if r.count == 0 {
                    r.first_ms = rec.time_ms;
                }
                r.count += 1;
                r.last_ms = rec.time_ms;
                return Ok(());
            }
            let now = rec.time_ms;
            let ended: Vec<(String, String)> = runs
                .iter()
                .filter(|(k, r)| {
                    **k == key || now - r.first.time_ms >= REPEAT_SPAN_MS || runs.len() >= MAX_RUNS
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in ended {
                out.extend(runs.remove(&k).and_then(Run::entry));
            }
        }
        out.sort_by_key(|r| r.time_ms);
        let empty = is_empty_read(&rec);
        out.push(rec.clone());
        self.append_all(out)?;
        if empty {
            // Counted only once its first read is on record.
            let first = Run {
                first: rec,
                count: 0,
                first_ms: 0,
                last_ms: 0,
            };
            self.runs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, first);
        }
        Ok(())
    }

    /// Appends entries in order, each durable before this returns (blocking: an fsync).
    fn append_all(&self, recs: Vec<AuditRecord>) -> Result<(), ApiError> {
        let AuditSink::Log { tx, .. } = &self.audit else {
            return Ok(());
        };
        if recs.is_empty() {
            return Ok(());
        }
        let refused = |e: &dyn std::fmt::Display| {
            eprintln!("serve: audit append failed, read refused: {e}");
            ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "audit_unavailable",
                message: "the read could not be recorded, so it is not answered".to_owned(),
            }
        };
        let mut waits = Vec::with_capacity(recs.len());
        {
            let tx = tx.lock().unwrap_or_else(|e| e.into_inner());
            let Some(tx) = tx.as_ref() else {
                return Err(refused(&"the audit writer has stopped"));
            };
            for rec in recs {
                let (reply, wait) = std::sync::mpsc::sync_channel(1);
                if tx.send((rec, reply)).is_err() {
                    return Err(refused(&"the audit writer has stopped"));
                }
                waits.push(wait);
            }
        }
        for wait in waits {
            match wait.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(refused(&e)),
                Err(e) => return Err(refused(&e)),
            }
        }
        Ok(())
    }
}

/// An audit record of a read by `caller`.
pub(crate) fn record_of(
    caller: &Caller,
    endpoint: &str,
    params: Value,
    returned: u64,
    withheld: u64,
) -> AuditRecord {
    let (principal, partner) = match &caller.principal {
        Some(p) => (p.name.clone(), p.partner.to_string()),
        None => ("(open mode)".to_owned(), "-".to_owned()),
    };
    AuditRecord {
        time_ms: now_ms(),
        principal,
        partner,
        endpoint: endpoint.to_owned(),
        params,
        returned,
        withheld,
        status: None,
        repeats: None,
    }
}

/// The query's parameters as a JSON object (`access_token` left out).
fn params_of(query: Option<&str>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in serde_urlencoded_pairs(query.unwrap_or("")) {
        if k == "access_token" {
            continue;
        }
        m.insert(k, Value::String(v));
    }
    Value::Object(m)
}

/// `application/x-www-form-urlencoded` pairs, decoded (bad escapes kept as written).
fn serde_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    fn dec(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit() =>
                {
                    let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                    out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

fn refuse(status: StatusCode, code: &'static str, message: &str) -> Response {
    ApiError {
        status,
        code,
        message: message.to_owned(),
    }
    .into_response()
}

/// The token of a request: the `Authorization` header, or `access_token` for the stream.
fn token_of<'r>(req: &'r Request, pairs: &'r [(String, String)]) -> Option<&'r str> {
    if let Some(h) = req.headers().get(header::AUTHORIZATION) {
        return h.to_str().ok().and_then(access::bearer);
    }
    if req.uri().path() == "/api/stream" {
        return pairs
            .iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.as_str());
    }
    None
}

/// The `access_token` parameter taken out of the request's query (the handlers take no such
/// parameter, and nothing after this layer sees the token).
fn strip_token(req: &mut Request) {
    let Some(q) = req.uri().query() else { return };
    if !q
        .split('&')
        .any(|p| p.starts_with("access_token=") || p == "access_token")
    {
        return;
    }
    let kept: Vec<&str> = q
        .split('&')
        .filter(|p| !(p.starts_with("access_token=") || *p == "access_token"))
        .collect();
    let path = req.uri().path().to_owned();
    let pq = if kept.is_empty() {
        path
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(p) = pq.parse() {
        parts.path_and_query = Some(p);
        if let Ok(u) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = u;
        }
    }
}

/// The layer (see the module docs).
pub(crate) async fn layer(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let gated = path.starts_with("/api/") || path == "/metrics";
    let cfg = s.gate.config;
    // 1. Size (every route).
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > cfg.max_uri_bytes {
        return refuse(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            &format!(
                "the path and query are longer than {} bytes",
                cfg.max_uri_bytes
            ),
        );
    }
    let body_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if body_len.is_some_and(|n| n > cfg.max_body_bytes) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!("request bodies are limited to {} bytes", cfg.max_body_bytes),
        );
    }
    if !gated {
        return next.run(req).await;
    }
    let gate = s.gate.clone();
    let pairs = serde_urlencoded_pairs(req.uri().query().unwrap_or(""));
    // 2-3. Mode and authentication.
    let required = gate.required();
    if let Some(m) = gate.mode_change(required) {
        eprintln!("{m}");
    }
    let caller = if required {
        let sent = token_of(&req, &pairs);
        let principal = sent.and_then(|t| gate.access().and_then(|a| a.authenticate(t)));
        let Some(p) = principal else {
            gate.unauthenticated.fetch_add(1, Ordering::Relaxed);
            // Whether a token came is told; why one was not accepted is not.
            let why = if sent.is_some() {
                "the token sent is not accepted (unknown, revoked or mistyped)"
            } else {
                "this server needs a token: send Authorization: Bearer TOKEN"
            };
            let mut r = refuse(StatusCode::UNAUTHORIZED, "unauthorized", why);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tidewatch\""),
            );
            return r;
        };
        let labels = gate.labels();
        // A monitor reads the counts of every source and nothing else (step 5).
        let restricted = p.kind != access::PrincipalKind::Monitor && !sees_all(&p, &labels);
        Caller {
            principal: Some(p),
            labels,
            restricted,
        }
    } else {
        Caller::open()
    };
    strip_token(&mut req);
    // 4. Rate.
    let key = caller
        .principal
        .as_ref()
        .map_or_else(|| "(open mode)".to_owned(), |p| format!("#{}", p.id));
    if let Err(wait_s) = gate.take(&key) {
        gate.limited.fetch_add(1, Ordering::Relaxed);
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &format!("too many requests; try again in {wait_s} s"),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait_s));
        return r;
    }
    let params = params_of(req.uri().query());
    // 5. Rights.
    let monitor = caller
        .principal
        .as_ref()
        .is_some_and(|p| p.kind == access::PrincipalKind::Monitor);
    let refusal = if path == "/metrics" && caller.restricted {
        Some(
            "the metrics count every source's data; this principal may not see every source \
             (a token of kind monitor reads them)",
        )
    } else if monitor && path != "/metrics" && path != "/api/health" {
        Some("a monitor token reads /metrics and /api/health only")
    } else {
        None
    };
    if let Some(why) = refusal {
        gate.forbidden.fetch_add(1, Ordering::Relaxed);
        let mut rec = record_of(&caller, &path, params, 0, 0);
        rec.status = Some(StatusCode::FORBIDDEN.as_u16());
        let g = gate.clone();
        if let Err(e) = crate::api::blocking(move || g.append_now(&rec)).await {
            return e.into_response();
        }
        return refuse(StatusCode::FORBIDDEN, "forbidden", why);
    }
    // 6. The read.
    req.extensions_mut().insert(caller.clone());
    let response = next.run(req).await;
    // 7. Audit, before the response goes.
    if path == "/api/stream" && response.status().is_success() {
        // The stream appends its opening entry itself, before its first byte.
        return response;
    }
    let a = response
        .extensions()
        .get::<Audited>()
        .copied()
        .unwrap_or_default();
    let mut rec = record_of(&caller, &path, params, a.returned, a.withheld);
    // A refused or failed read is on the record as such, not as an empty answer.
    if !response.status().is_success() {
        rec.status = Some(response.status().as_u16());
    }
    match crate::api::blocking(move || gate.append_read(rec)).await {
        Ok(()) => response,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(time_ms: i64, principal: &str, after: &str, returned: u64) -> AuditRecord {
        AuditRecord {
            time_ms,
            principal: principal.to_owned(),
            partner: "FRA".to_owned(),
            endpoint: "/api/link/positions".to_owned(),
            params: serde_json::json!({ "after": after }),
            returned,
            withheld: 0,
            status: None,
            repeats: None,
        }
    }

    /// An empty store directory named for the test (removed when the guard is dropped), its
    /// path, and its gate.
    fn store_gate(name: &str) -> (tempfile::TempDir, std::path::PathBuf, Gate) {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("tw-gate-{name}-"))
            .tempdir()
            .unwrap();
        let dir = tmp.path().to_owned();
        std::fs::write(dir.join("manifest.jsonl"), "").unwrap();
        let gate = Gate::open(&dir, AccessConfig::default()).unwrap();
        (tmp, dir, gate)
    }

    /// An entry as the test compares it: time, principal, `after`, returned, repeats.
    type Logged = (i64, String, String, u64, Option<(u64, i64)>);

    /// Each entry of the store's log.
    fn logged(dir: &Path) -> Vec<Logged> {
        let path = dir.join(access::audit::AUDIT_LOG);
        assert!(access::audit::verify(&path, None).unwrap().ok());
        access::audit::read(&path, &access::AuditFilter::default())
            .unwrap()
            .0
            .into_iter()
            .map(|e| {
                let r = e.record;
                (
                    r.time_ms,
                    r.principal,
                    r.params["after"].as_str().unwrap_or("").to_owned(),
                    r.returned,
                    r.repeats.map(|x| (x.count, x.first_ms)),
                )
            })
            .collect()
    }

    #[test]
    fn the_gate_says_when_the_first_token_closes_open_mode() {
        let (_tmp, dir, gate) = store_gate("mode");
        assert!(!gate.required());
        assert_eq!(
            gate.mode_change(gate.required()),
            None,
            "the start is logged by the server"
        );
        let a = Access::open(&dir).unwrap();
        let (info, _) = a
            .create_token(
                &access::NewToken {
                    name: "ann".to_owned(),
                    partner: access::label::Name::parse("IND").unwrap(),
                    groups: Default::default(),
                    kind: None,
                },
                0,
            )
            .unwrap();
        let closed = gate.mode_change(gate.required()).expect("open mode closed");
        assert!(closed.contains("tokens are required"), "{closed}");
        assert_eq!(gate.mode_change(gate.required()), None, "said once");
        // Revoking the only token leaves its principal: tokens stay required (fail closed).
        assert!(a.revoke_token(info.id, 1).unwrap());
        assert!(gate.required());
        assert_eq!(gate.mode_change(gate.required()), None);
    }

    #[test]
    fn repeated_empty_reads_are_counted_in_one_entry_and_everything_else_is_written() {
        let (_tmp, dir, gate) = store_gate("runs");
        let s = 1_000;
        // A link caught up at 7:0 asks every 2 s; the third and later asks are repeats.
        for t in 0..5 {
            gate.append_read(poll(t * 2 * s, "fra-link", "7:0", 0))
                .unwrap();
        }
        // Another principal's identical asks are its own run.
        gate.append_read(poll(3 * s, "ind-link", "7:0", 0)).unwrap();
        gate.append_read(poll(5 * s, "ind-link", "7:0", 0)).unwrap();
        // New rows: the run ends (its count first), the read is written, the next ask starts a
        // new run at the new cursor.
        gate.append_read(poll(10 * s, "fra-link", "7:0", 40))
            .unwrap();
        gate.append_read(poll(12 * s, "fra-link", "7:40", 0))
            .unwrap();
        gate.append_read(poll(14 * s, "fra-link", "7:40", 0))
            .unwrap();
        let before_stop = logged(&dir);
        assert_eq!(
            before_stop,
            [
                (0, "fra-link".into(), "7:0".into(), 0, None),
                (3 * s, "ind-link".into(), "7:0".into(), 0, None),
                (8 * s, "fra-link".into(), "7:0".into(), 0, Some((4, 2 * s))),
                (10 * s, "fra-link".into(), "7:0".into(), 40, None),
                (12 * s, "fra-link".into(), "7:40".into(), 0, None),
            ]
        );
        // A run is written once it spans REPEAT_SPAN_MS, at the next read by anyone: a link
        // asking every 2 s for 25 minutes writes a few entries, not 750.
        let t0 = 20 * s;
        for i in 0..750 {
            gate.append_read(poll(t0 + i * 2 * s, "usa-link", "9:0", 0))
                .unwrap();
        }
        let usa = |all: &[Logged]| all.iter().filter(|e| e.1 == "usa-link").count();
        // Three runs (0-10, 10-20, 20-25 minutes): each first ask, and the counts of the two
        // that spanned ten minutes.
        assert_eq!(usa(&logged(&dir)), 5);
        // The other principals' runs went quiet: written once ten minutes old.
        assert_eq!(logged(&dir).len() - before_stop.len(), 7);
        // The server's stop writes the counts still open.
        drop(gate);
        let all = logged(&dir);
        let counted: u64 = all
            .iter()
            .filter(|e| e.1 == "usa-link")
            .map(|e| e.4.map_or(1, |r| r.0))
            .sum();
        assert_eq!(
            counted, 750,
            "every ask is on record, one by one or in a count"
        );
        assert!(all.contains(&(5 * s, "ind-link".into(), "7:0".into(), 0, Some((1, 5 * s)))));
        assert!(all.contains(&(
            14 * s,
            "fra-link".into(),
            "7:40".into(),
            0,
            Some((1, 14 * s))
        )));
    }

    #[test]
    fn query_pairs_are_decoded_and_the_token_is_never_a_parameter() {
        let v = params_of(Some("bbox=1%2C2&access_token=tw_x&q=a+b"));
        assert_eq!(v, serde_json::json!({"bbox": "1,2", "q": "a b"}));
        assert_eq!(
            serde_urlencoded_pairs("a=%zz&b"),
            [
                ("a".to_owned(), "%zz".to_owned()),
                ("b".to_owned(), String::new())
            ]
        );
    }
}
