//! The live stream (`GET /api/stream`, Server-Sent Events) and its fan-out.
//!
//! The picture serialises each update once (the whole SSE frame) and hands it to the [`Hub`],
//! which gathers positions into batches (sent when [`BATCH`] are waiting or the oldest has
//! waited [`BATCH_WAIT`]; events and alerts at once). Clients who may see every source are
//! served by the hub's routing thread (`tidewatch-stream`): it sorts each batch's positions
//! into a grid of [`CELL_DEG`]° cells and hands each client only the cells its bbox touches
//! (a client without a bbox, or with one over [`MAX_CELLS`] cells, is offered everything), so
//! a thousand viewports cost about what their positions cost, not a thousand passes over every
//! batch. Clients whose view is restricted (issue 21) take each batch from a
//! `tokio::sync::broadcast` channel in a task of their own, through their view. Either way
//! what the client's filters pass (positions inside its bbox, events of its types) is appended
//! to the client's own bounded queue, one lock per batch; the response body takes from that
//! queue as fast as the client's socket accepts. A slow client's
//! queue grows: when it passes half of [`StreamConfig::queue_items`], its positions are
//! coalesced to the latest per MMSI (counted as `thinned`); when coalescing cannot bring it
//! below full (more distinct vessels and events waiting than it holds), or the client has
//! taken nothing for [`StreamConfig::stall_timeout`] while updates wait, the client is dropped
//! (its response ends; counted as `dropped` with the reason). So a client's memory is at most
//! its queue of shared frames, whatever it does.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use serde_json::Value;
use tokio::sync::{broadcast, Notify};

/// Positions gathered before a batch goes to the clients.
pub const BATCH: usize = 256;
/// The longest a position waits for its batch (checked at the next update, and by the
/// server's flush tick).
pub const BATCH_WAIT: Duration = Duration::from_millis(10);
/// Batches the broadcast channel holds for a client task that fell behind (and the routing
/// thread's channel holds before it counts batches as lost).
const CHANNEL_BATCHES: usize = 4096;
/// The routing grid's cell size, degrees.
pub const CELL_DEG: f64 = 10.0;
/// A bbox over more cells than this is offered every position (checking each is cheaper).
pub const MAX_CELLS: usize = 64;
const GRID_ROWS: usize = 18;
const GRID_COLS: usize = 36;

/// The routing grid's cell of a position.
fn cell_of(lat: f64, lon: f64) -> usize {
    let row = ((lat + 90.0) / CELL_DEG)
        .floor()
        .clamp(0.0, (GRID_ROWS - 1) as f64) as usize;
    let col = ((lon + 180.0) / CELL_DEG)
        .floor()
        .clamp(0.0, (GRID_COLS - 1) as f64) as usize;
    row * GRID_COLS + col
}

/// The cells a bbox touches, `None` when it touches more than [`MAX_CELLS`].
fn cells_of(b: &query::BBox) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for [w, s, e, n] in b.parts() {
        let (lo, hi) = (cell_of(s, w), cell_of(n, e));
        let (r0, c0, r1, c1) = (
            lo / GRID_COLS,
            lo % GRID_COLS,
            hi / GRID_COLS,
            hi % GRID_COLS,
        );
        for r in r0..=r1 {
            for c in c0..=c1 {
                out.push(r * GRID_COLS + c);
                if out.len() > MAX_CELLS {
                    return None;
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// A client served by the routing thread.
struct OpenClient {
    filter: Filter,
    /// The cells its bbox touches (`None`: every position is offered).
    cells: Option<Vec<usize>>,
    queue: Arc<ClientQueue>,
}

enum RouterMsg {
    Join(OpenClient),
    Batch(Arc<[Update]>),
}

/// The routing thread: hands each batch to the open clients by cell.
fn route_loop(rx: std::sync::mpsc::Receiver<RouterMsg>, open: Arc<AtomicU64>) {
    let mut clients: Vec<OpenClient> = Vec::new();
    let mut by_cell: Vec<Vec<u32>> = vec![Vec::new(); GRID_ROWS * GRID_COLS];
    let mut touched: Vec<usize> = Vec::new();
    let mut others: Vec<u32> = Vec::new();
    let mut picked: Vec<u32> = Vec::new();
    while let Ok(msg) = rx.recv() {
        let batch = match msg {
            RouterMsg::Join(c) => {
                clients.push(c);
                continue;
            }
            RouterMsg::Batch(b) => b,
        };
        for c in touched.drain(..) {
            by_cell[c].clear();
        }
        others.clear();
        for (i, u) in batch.iter().enumerate() {
            if u.kind == Kind::Position {
                let c = cell_of(u.lat, u.lon);
                if by_cell[c].is_empty() {
                    touched.push(c);
                }
                by_cell[c].push(i as u32);
            } else {
                others.push(i as u32);
            }
        }
        clients.retain(|c| {
            let ok = match &c.cells {
                None => c.queue.push_all(batch.iter().filter(|u| c.filter.takes(u))),
                Some(cells) => {
                    picked.clear();
                    picked.extend_from_slice(&others);
                    for &cell in cells {
                        picked.extend_from_slice(&by_cell[cell]);
                    }
                    // In batch order: coalescing keeps each vessel's latest.
                    picked.sort_unstable();
                    c.queue.push_all(
                        picked
                            .iter()
                            .map(|&i| &batch[i as usize])
                            .filter(|u| c.filter.takes(u)),
                    )
                }
            };
            if !ok {
                c.queue.close(None);
                open.fetch_sub(1, Ordering::Relaxed);
            }
            ok
        });
    }
}

/// How the stream treats its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Updates a client's queue holds (default 8192); positions are coalesced when it passes
    /// half, and the client is dropped when it is full after coalescing.
    pub queue_items: usize,
    /// A client that takes nothing for this long while updates wait is dropped (default 30 s).
    pub stall_timeout: Duration,
    /// A comment line is sent after this long without updates (default 15 s).
    pub keep_alive: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            queue_items: 8192,
            stall_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Position,
    Event,
    Alert,
}

/// One update, serialised once as its SSE frame and shared by every client.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    pub(crate) kind: Kind,
    pub(crate) mmsi: u32,
    lat: f64,
    lon: f64,
    event_type: Option<Arc<str>>,
    pub(crate) frame: Bytes,
    /// A position: the vessel's newest (open clients take only these).
    pub(crate) newest: bool,
    /// A position's source (issue 21), and its frame with the identity that source reported,
    /// for clients who see only some sources (made only while such clients are connected).
    pub(crate) source: Option<(Arc<str>, Bytes)>,
    /// An event or alert's event, for clients whose view must decide and redact it.
    pub(crate) row: Option<Arc<store::EventRow>>,
    /// An alert's fields but its event (`rule`, `stage`, `fired_at`): a view that redacts the
    /// event rebuilds the frame from them.
    pub(crate) alert: Option<Arc<serde_json::Map<String, Value>>>,
}

fn frame(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

fn frame_json(name: &str, json: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

impl Update {
    #[cfg(test)]
    pub(crate) fn position(mmsi: u32, lat: f64, lon: f64, data: &Value) -> Update {
        Update::position_json(mmsi, lat, lon, &data.to_string())
    }

    /// A position whose data is JSON text already.
    pub(crate) fn position_json(mmsi: u32, lat: f64, lon: f64, json: &str) -> Update {
        Update {
            kind: Kind::Position,
            mmsi,
            lat,
            lon,
            event_type: None,
            frame: frame_json("position", json),
            newest: true,
            source: None,
            row: None,
            alert: None,
        }
    }

    /// A position's source and the frame for clients who see only some sources.
    pub(crate) fn set_source_json(&mut self, source: Arc<str>, json: &str) {
        self.source = Some((source, frame_json("position", json)));
    }

    /// The same update with another frame (a client's redacted copy).
    pub(crate) fn with_frame(&self, name: &str, data: &Value) -> Update {
        Update {
            frame: frame(name, data),
            ..self.clone()
        }
    }

    pub(crate) fn event(kind: &str, data: &Value) -> Update {
        Update {
            kind: Kind::Event,
            mmsi: 0,
            lat: 0.0,
            lon: 0.0,
            event_type: Some(kind.into()),
            frame: frame("event", data),
            newest: true,
            source: None,
            row: None,
            alert: None,
        }
    }

    pub(crate) fn alert(data: &Value) -> Update {
        Update {
            kind: Kind::Alert,
            mmsi: 0,
            lat: 0.0,
            lon: 0.0,
            event_type: None,
            frame: frame("alert", data),
            newest: true,
            source: None,
            row: None,
            alert: None,
        }
    }
}

/// What a client asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub bbox: Option<query::BBox>,
    pub types: Option<Vec<String>>,
    /// Positions only: no events or alerts (an NMEA stream).
    pub positions_only: bool,
}

impl Filter {
    /// Whether a position at the update's place is inside the client's box.
    pub(crate) fn in_box(&self, u: &Update) -> bool {
        self.bbox.is_none_or(|b| b.contains(u.lon, u.lat))
    }

    pub(crate) fn takes(&self, u: &Update) -> bool {
        match u.kind {
            Kind::Position => u.newest && self.in_box(u),
            _ if self.positions_only => false,
            Kind::Event => self.types.as_ref().is_none_or(|t| {
                u.event_type
                    .as_deref()
                    .is_some_and(|k| t.iter().any(|x| x == k))
            }),
            Kind::Alert => true,
        }
    }
}

/// Stream counters for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct StreamCounters {
    pub clients: AtomicU64,
    pub connections: AtomicU64,
    pub sent: AtomicU64,
    pub thinned: AtomicU64,
    pub lagged: AtomicU64,
    pub dropped: Mutex<BTreeMap<&'static str, u64>>,
    pub batches: AtomicU64,
}

#[derive(Debug)]
struct Pending {
    items: Vec<Update>,
    first_at: Option<Instant>,
}

/// The fan-out from the picture to the clients (see the module docs).
#[derive(Debug)]
pub(crate) struct Hub {
    pending: Mutex<Pending>,
    tx: broadcast::Sender<Arc<[Update]>>,
    pub counters: Arc<StreamCounters>,
    /// Every client's queue, to end them all at shutdown.
    queues: Mutex<Vec<std::sync::Weak<ClientQueue>>>,
    /// Clients connected whose view is restricted (issue 21).
    restricted: Arc<AtomicU64>,
    /// The routing thread's channel, once an open client has come.
    router: Mutex<Option<std::sync::mpsc::SyncSender<RouterMsg>>>,
    /// Clients the routing thread serves.
    open: Arc<AtomicU64>,
}

impl std::fmt::Debug for RouterMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RouterMsg::Join(_) => "Join",
            RouterMsg::Batch(_) => "Batch",
        })
    }
}

impl Hub {
    pub(crate) fn new() -> Hub {
        let (tx, _) = broadcast::channel(CHANNEL_BATCHES);
        Hub {
            pending: Mutex::new(Pending {
                items: Vec::with_capacity(BATCH),
                first_at: None,
            }),
            tx,
            counters: Arc::default(),
            queues: Mutex::new(Vec::new()),
            restricted: Arc::default(),
            router: Mutex::new(None),
            open: Arc::default(),
        }
    }

    /// Hands a message to the routing thread (started at the first open client); false when
    /// its channel is full.
    fn to_router(&self, msg: RouterMsg) -> bool {
        let mut r = self.router.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel(CHANNEL_BATCHES);
            let open = self.open.clone();
            if std::thread::Builder::new()
                .name("tidewatch-stream".to_owned())
                .spawn(move || route_loop(rx, open))
                .is_err()
            {
                return false;
            }
            *r = Some(tx);
        }
        match r.as_ref().map(|tx| tx.try_send(msg)) {
            Some(Ok(())) => true,
            Some(Err(std::sync::mpsc::TrySendError::Full(_))) => false,
            _ => {
                *r = None;
                false
            }
        }
    }

    /// Whether any client listens.
    pub(crate) fn listening(&self) -> bool {
        self.tx.receiver_count() > 0 || self.open.load(Ordering::Relaxed) > 0
    }

    /// Clients connected whose view is restricted.
    pub(crate) fn restricted_clients(&self) -> u64 {
        self.restricted.load(Ordering::Relaxed)
    }

    /// Ends every client's stream (at shutdown, so open responses finish).
    pub(crate) fn close_all(&self) {
        let queues = std::mem::take(&mut *self.queues.lock().unwrap_or_else(|e| e.into_inner()));
        for q in queues.iter().filter_map(std::sync::Weak::upgrade) {
            q.close(None);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an update for the clients; positions wait for their batch, the rest go now.
    pub(crate) fn publish(&self, u: Update) {
        if self.tx.receiver_count() == 0 && self.open.load(Ordering::Relaxed) == 0 {
            return;
        }
        let now_too = u.kind != Kind::Position;
        let batch = {
            let mut p = self.lock();
            let first = *p.first_at.get_or_insert_with(Instant::now);
            p.items.push(u);
            (now_too || p.items.len() >= BATCH || first.elapsed() >= BATCH_WAIT)
                .then(|| take(&mut p))
        };
        if let Some(b) = batch {
            self.send(b);
        }
    }

    /// Sends what waits.
    pub(crate) fn flush(&self) {
        let batch = {
            let mut p = self.lock();
            (!p.items.is_empty()).then(|| take(&mut p))
        };
        if let Some(b) = batch {
            self.send(b);
        }
    }

    fn send(&self, b: Arc<[Update]>) {
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
        if self.open.load(Ordering::Relaxed) > 0 && !self.to_router(RouterMsg::Batch(b.clone())) {
            // The routing thread fell a whole channel behind: the batch is lost to the open
            // clients (counted); they go on with what follows.
            self.counters.lagged.fetch_add(1, Ordering::Relaxed);
        }
        // No receivers: nobody listens, nothing to keep.
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(b);
        }
    }

    /// A new client: its queue, and the task that fills it until the client goes away.
    pub(crate) fn subscribe(
        &self,
        filter: Filter,
        config: StreamConfig,
        view: Option<Arc<crate::views::StreamView>>,
    ) -> Arc<ClientQueue> {
        let q = Arc::new(ClientQueue {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                closed: false,
                next_coalesce: (config.queue_items / 2).max(1),
                last_take: Instant::now(),
            }),
            notify: Notify::new(),
            config,
            counters: self.counters.clone(),
        });
        {
            let mut qs = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            qs.retain(|w| w.strong_count() > 0);
            qs.push(Arc::downgrade(&q));
        }
        self.counters.clients.fetch_add(1, Ordering::Relaxed);
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        if view.is_none() {
            // Sees every source: the routing thread serves it.
            let cells = filter.bbox.as_ref().and_then(cells_of);
            self.open.fetch_add(1, Ordering::Relaxed);
            let joined = self.to_router(RouterMsg::Join(OpenClient {
                filter,
                cells,
                queue: q.clone(),
            }));
            if !joined {
                self.open.fetch_sub(1, Ordering::Relaxed);
                q.close(Some("server_busy"));
            }
            return q;
        }
        let mut rx = self.tx.subscribe();
        let pump = q.clone();
        let restricted = view.as_ref().map(|_| {
            self.restricted.fetch_add(1, Ordering::Relaxed);
            RestrictedGuard(self.restricted.clone())
        });
        tokio::spawn(async move {
            let _restricted = restricted;
            loop {
                match rx.recv().await {
                    Ok(batch) => {
                        let ok = match &view {
                            // A restricted client's batch goes through its view first.
                            Some(v) => pump.push_batch(&v.filter(&batch, &filter).await, &filter),
                            None => pump.push_batch(&batch, &filter),
                        };
                        if !ok {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // The task itself fell behind the channel (a starved runtime): the
                        // lost batches are counted; the client goes on with what follows.
                        pump.counters.lagged.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
            pump.close(None);
        });
        q
    }
}

/// Counts a restricted client until its task ends.
struct RestrictedGuard(Arc<AtomicU64>);

impl Drop for RestrictedGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn take(p: &mut Pending) -> Arc<[Update]> {
    p.first_at = None;
    let items = std::mem::replace(&mut p.items, Vec::with_capacity(BATCH));
    items.into()
}

#[derive(Debug)]
struct QueueState {
    items: VecDeque<Update>,
    closed: bool,
    /// Coalesce when the queue reaches this length.
    next_coalesce: usize,
    last_take: Instant,
}

/// One client's bounded queue.
#[derive(Debug)]
pub(crate) struct ClientQueue {
    state: Mutex<QueueState>,
    notify: Notify,
    config: StreamConfig,
    counters: Arc<StreamCounters>,
}

impl ClientQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the client's stream; `reason` counts a drop.
    fn close(&self, reason: Option<&'static str>) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        s.closed = true;
        s.items.clear();
        drop(s);
        if let Some(r) = reason {
            let mut d = self
                .counters
                .dropped
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *d.entry(r).or_default() += 1;
        }
        self.notify.notify_one();
    }

    /// Appends what the filter takes; false when the client is gone or dropped.
    fn push_batch(&self, batch: &[Update], filter: &Filter) -> bool {
        self.push_all(batch.iter().filter(|u| filter.takes(u)))
    }

    /// Appends `items`; false when the client is gone or dropped.
    fn push_all<'a>(&self, items: impl Iterator<Item = &'a Update>) -> bool {
        let cap = self.config.queue_items.max(2);
        let mut s = self.lock();
        if s.closed {
            return false;
        }
        let mut added = false;
        for u in items {
            s.items.push_back(u.clone());
            added = true;
            if s.items.len() >= s.next_coalesce {
                let removed = coalesce(&mut s.items);
                self.counters
                    .thinned
                    .fetch_add(removed as u64, Ordering::Relaxed);
                let n = s.items.len();
                if n >= cap - cap / 8 {
                    drop(s);
                    self.close(Some("queue_full"));
                    return false;
                }
                s.next_coalesce = (n + (cap - n) / 2).max(cap / 2);
            }
        }
        if !s.items.is_empty() && s.last_take.elapsed() >= self.config.stall_timeout {
            drop(s);
            self.close(Some("stalled"));
            return false;
        }
        drop(s);
        if added {
            self.notify.notify_one();
        }
        true
    }

    /// Takes the frames waiting (up to about 64 KiB), `None` when the stream has ended, an
    /// empty buffer when nothing waits.
    fn take(&self) -> Option<Vec<u8>> {
        self.take_with(|frame, out| out.extend_from_slice(frame))
    }

    /// [`ClientQueue::take`], each frame written by `write` (the NMEA stream re-encodes them).
    fn take_with(&self, mut write: impl FnMut(&[u8], &mut Vec<u8>)) -> Option<Vec<u8>> {
        let mut s = self.lock();
        if s.closed {
            return None;
        }
        let mut out = Vec::new();
        let mut n = 0u64;
        while out.len() < 64 * 1024 {
            let Some(u) = s.items.pop_front() else { break };
            write(&u.frame, &mut out);
            n += 1;
        }
        s.last_take = Instant::now();
        if s.items.len() < self.config.queue_items / 2 {
            s.next_coalesce = (self.config.queue_items / 2).max(1);
        }
        drop(s);
        self.counters.sent.fetch_add(n, Ordering::Relaxed);
        Some(out)
    }
}

/// Keeps each vessel's latest position and every event and alert, in order; returns how many
/// positions it removed.
fn coalesce(items: &mut VecDeque<Update>) -> usize {
    let before = items.len();
    let mut seen = HashSet::new();
    let mut keep = VecDeque::with_capacity(before);
    for u in items.drain(..).rev() {
        if u.kind != Kind::Position || seen.insert(u.mmsi) {
            keep.push_front(u);
        }
    }
    *items = keep;
    before - items.len()
}

/// Ends the client's queue when its response body is dropped (the client went away).
struct Subscription {
    q: Arc<ClientQueue>,
    on_end: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.q.close(None);
        self.q.counters.clients.fetch_sub(1, Ordering::Relaxed);
        if let Some(f) = self.on_end.take() {
            f();
        }
    }
}

/// The SSE response for a client's queue; `on_end` runs when the response ends (the stream's
/// closing audit entry).
pub(crate) fn sse_response(
    q: Arc<ClientQueue>,
    on_end: Option<Box<dyn FnOnce() + Send + Sync>>,
) -> Response {
    let keep_alive = q.config.keep_alive;
    let sub = Subscription { q, on_end };
    let first = Some(Bytes::from_static(b"retry: 3000\n\n"));
    let body = futures_util::stream::unfold((sub, first), move |(sub, first)| async move {
        if let Some(f) = first {
            return Some((Ok::<_, std::convert::Infallible>(f), (sub, None)));
        }
        let q = sub.q.clone();
        loop {
            let notified = q.notify.notified();
            match q.take() {
                None => return None,
                Some(out) if !out.is_empty() => return Some((Ok(Bytes::from(out)), (sub, None))),
                Some(_) => {}
            }
            if tokio::time::timeout(keep_alive, notified).await.is_err() {
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (sub, None)));
            }
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        // A stream that ends (a dropped client) ends its connection too.
        .header(header::CONNECTION, "close")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// A response that drains a client's queue through `writer` (`/api/stream?format=nmea` or
/// `cot`: each position frame converted); `on_end` runs when it ends. No keep-alive bytes
/// (neither format has a comment line): a quiet picture sends nothing.
pub(crate) fn converted_response(
    q: Arc<ClientQueue>,
    on_end: Option<Box<dyn FnOnce() + Send + Sync>>,
    writer: impl crate::relay::FrameWriter,
) -> Response {
    let content_type = writer.content_type();
    let sub = Subscription { q, on_end };
    let body = futures_util::stream::unfold((sub, writer), move |(sub, mut writer)| async move {
        let q = sub.q.clone();
        loop {
            let notified = q.notify.notified();
            let now = Instant::now();
            match q.take_with(|frame, out| writer.frame(frame, now, out)) {
                None => return None,
                Some(out) if !out.is_empty() => {
                    return Some((
                        Ok::<_, std::convert::Infallible>(Bytes::from(out)),
                        (sub, writer),
                    ))
                }
                Some(_) => {}
            }
            notified.await;
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .header(header::CONNECTION, "close")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(mmsi: u32) -> Update {
        Update::position(mmsi, 1.0, 2.0, &json!({"mmsi": mmsi}))
    }

    fn queue(cap: usize) -> ClientQueue {
        ClientQueue {
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                closed: false,
                next_coalesce: cap / 2,
                last_take: Instant::now(),
            }),
            notify: Notify::new(),
            config: StreamConfig {
                queue_items: cap,
                ..StreamConfig::default()
            },
            counters: Arc::default(),
        }
    }

    #[test]
    fn coalescing_keeps_the_latest_position_of_each_vessel_and_every_event() {
        let mut q: VecDeque<Update> = [
            p(1),
            p(2),
            Update::event("encounter", &json!({})),
            p(1),
            p(3),
            p(2),
        ]
        .into();
        assert_eq!(coalesce(&mut q), 2);
        let order: Vec<(Kind, u32)> = q.iter().map(|u| (u.kind, u.mmsi)).collect();
        assert_eq!(
            order,
            [
                (Kind::Event, 0),
                (Kind::Position, 1),
                (Kind::Position, 3),
                (Kind::Position, 2)
            ]
        );
    }

    #[test]
    fn a_queue_past_half_is_thinned_and_a_full_one_dropped() {
        let q = queue(64);
        let f = Filter::default();
        // 10 vessels, 1,000 positions: coalescing keeps the queue small, never dropped.
        let batch: Vec<Update> = (0..1000).map(|i| p(i % 10)).collect();
        assert!(q.push_batch(&batch, &f));
        assert!(q.lock().items.len() < 64);
        assert!(q.counters.thinned.load(Ordering::Relaxed) > 900);
        // 100 distinct vessels cannot fit in 64: dropped.
        let batch: Vec<Update> = (0..100).map(|i| p(1000 + i)).collect();
        assert!(!q.push_batch(&batch, &f));
        assert!(q.take().is_none());
        assert_eq!(q.counters.dropped.lock().unwrap()["queue_full"], 1);
    }

    #[test]
    fn the_routing_grid_gives_each_open_client_the_positions_in_its_box_in_order() {
        let hub = Hub::new();
        let sub = |b: Option<&str>| {
            hub.subscribe(
                Filter {
                    bbox: b.map(|b| query::BBox::parse(b).unwrap()),
                    types: None,
                    positions_only: false,
                },
                StreamConfig::default(),
                None,
            )
        };
        let east = sub(Some("100,0,120,20"));
        let dateline = sub(Some("170,-10,-170,10"));
        let all = sub(None);
        let wide = sub(Some("-180,-80,180,80"));
        assert!(cells_of(&query::BBox::parse("-180,-80,180,80").unwrap()).is_none());
        let pts = [
            (1, 5.0, 110.0),
            (2, 5.0, 121.0),
            (3, 0.0, 179.5),
            (4, 0.0, -179.5),
            (5, 50.0, 0.0),
            (1, 5.5, 110.5),
            (6, 20.0, 120.0),
        ];
        for (m, lat, lon) in pts {
            hub.publish(Update::position(m, lat, lon, &json!({ "mmsi": m })));
        }
        hub.publish(Update::event("escort", &json!({})));
        let got = |q: &ClientQueue| -> Vec<u32> {
            let end = Instant::now() + Duration::from_secs(5);
            loop {
                let s = q.lock();
                if s.items.iter().any(|u| u.kind == Kind::Event) || Instant::now() > end {
                    return s
                        .items
                        .iter()
                        .filter(|u| u.kind == Kind::Position)
                        .map(|u| u.mmsi)
                        .collect();
                }
                drop(s);
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        // The corner (20, 120) is inside the box, in a cell the box touches only at its edge.
        assert_eq!(got(&east), [1, 1, 6]);
        assert_eq!(got(&dateline), [3, 4]);
        assert_eq!(got(&all), [1, 2, 3, 4, 5, 1, 6]);
        assert_eq!(got(&wide), [1, 2, 3, 4, 5, 1, 6]);
    }

    #[test]
    fn filters_pass_positions_in_the_box_and_events_of_the_types() {
        let f = Filter {
            bbox: Some(query::BBox::parse("0,0,10,10").unwrap()),
            types: Some(vec!["escort".to_owned()]),
            positions_only: false,
        };
        assert!(f.takes(&Update::position(1, 5.0, 5.0, &json!({}))));
        assert!(!f.takes(&Update::position(1, 5.0, 15.0, &json!({}))));
        assert!(f.takes(&Update::event("escort", &json!({}))));
        assert!(!f.takes(&Update::event("ais_gap", &json!({}))));
        assert!(f.takes(&Update::alert(&json!({}))));
    }
}
