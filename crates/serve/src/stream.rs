//! The live stream (`GET /api/stream`, Server-Sent Events) and its fan-out.
//!
//! The picture serialises each update once (the whole SSE frame) and hands it to the [`Hub`],
//! which gathers positions into batches (sent when [`BATCH`] are waiting or the oldest has
//! waited [`BATCH_WAIT`]; events and alerts at once). Sending a batch distributes it: each
//! position goes to the clients whose bbox may hold it, found through a grid of 10° cells
//! (clients without a bbox, or with one over more than [`WIDE_CELLS`] cells, see every
//! position), is checked against the client's filter and appended to the client's own bounded
//! queue, one lock per client per batch; the clients that got something are woken. So the
//! cost of a batch follows the positions delivered, not positions times clients. The response
//! body takes from the queue as fast as the client's socket accepts. A slow client's queue
//! grows: when it passes half of [`StreamConfig::queue_items`], its positions are coalesced
//! to the latest per MMSI (counted as `thinned`); when coalescing cannot bring it below
//! nearly full (more distinct vessels and events waiting than it holds), or the client has
//! taken nothing for [`StreamConfig::stall_timeout`] while updates wait, the client is dropped
//! (its response ends; counted as `dropped` with the reason). So a client's memory is at most
//! its queue of shared frames, whatever it does. Batches are distributed in order by one
//! thread of the hub's own (`tidewatch-stream`), so the pipeline thread that fills a batch
//! only hands it over; no step waits for a client. Should that thread fall 256 batches
//! behind, further batches are lost to every client and counted (`lost`).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use serde_json::Value;
use tokio::sync::Notify;

/// Positions gathered before a batch goes to the clients.
pub const BATCH: usize = 2048;
/// The longest a position waits for its batch (checked at the next update, and by the
/// server's flush tick).
pub const BATCH_WAIT: Duration = Duration::from_millis(10);
/// A client whose bbox covers more grid cells than this sees every position (and its filter
/// decides).
pub const WIDE_CELLS: usize = 64;
/// Grid cell size, degrees.
const CELL_DEG: f64 = 10.0;
const COLS: usize = 36;
const ROWS: usize = 18;

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
    kind: Kind,
    mmsi: u32,
    lat: f64,
    lon: f64,
    event_type: Option<Arc<str>>,
    frame: Bytes,
}

fn frame(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

impl Update {
    #[cfg(test)]
    pub(crate) fn position(mmsi: u32, lat: f64, lon: f64, data: &Value) -> Update {
        Update {
            kind: Kind::Position,
            mmsi,
            lat,
            lon,
            event_type: None,
            frame: frame("position", data),
        }
    }

    /// A position whose frame is already written.
    pub(crate) fn position_frame(mmsi: u32, lat: f64, lon: f64, frame: String) -> Update {
        Update {
            kind: Kind::Position,
            mmsi,
            lat,
            lon,
            event_type: None,
            frame: Bytes::from(frame),
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
        }
    }
}

/// What a client asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub bbox: Option<query::BBox>,
    pub types: Option<Vec<String>>,
}

impl Filter {
    fn takes(&self, u: &Update) -> bool {
        match u.kind {
            Kind::Position => self.bbox.is_none_or(|b| b.contains(u.lon, u.lat)),
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
    /// Updates lost because the distributing thread was behind by [`QUEUED_BATCHES`].
    pub lost: AtomicU64,
    pub dropped: Mutex<BTreeMap<&'static str, u64>>,
    pub batches: AtomicU64,
}

#[derive(Debug)]
struct Client {
    q: Arc<ClientQueue>,
    filter: Filter,
}

/// The clients and the grid that finds them by position.
#[derive(Debug, Default)]
struct Registry {
    clients: Vec<Client>,
    /// Per cell (row-major, `ROWS` x `COLS`), the clients whose bbox meets it.
    grid: Vec<Vec<usize>>,
    /// Clients that see every position.
    wide: Vec<usize>,
    /// Per client, what this batch brings it (reused).
    out: Vec<Vec<Update>>,
}

fn col(lon: f64) -> usize {
    (((lon + 180.0) / CELL_DEG).floor().max(0.0) as usize).min(COLS - 1)
}

fn row(lat: f64) -> usize {
    (((lat + 90.0) / CELL_DEG).floor().max(0.0) as usize).min(ROWS - 1)
}

impl Registry {
    fn rebuild(&mut self) {
        self.grid = vec![Vec::new(); ROWS * COLS];
        self.wide.clear();
        for (i, c) in self.clients.iter().enumerate() {
            let cells: Option<Vec<usize>> = c.filter.bbox.map(|b| {
                let rows = row(b.south)..=row(b.north);
                let cols: Vec<usize> = b
                    .parts()
                    .iter()
                    .flat_map(|p| col(p[0])..=col(p[2]))
                    .collect();
                rows.flat_map(|r| cols.iter().map(move |c| r * COLS + c))
                    .collect()
            });
            match cells {
                Some(cells) if cells.len() <= WIDE_CELLS => {
                    for cell in cells {
                        self.grid[cell].push(i);
                    }
                }
                _ => self.wide.push(i),
            }
        }
        self.out.resize_with(self.clients.len(), Vec::new);
        self.out.truncate(self.clients.len());
    }

    /// Gives every client what the batch has for it; drops the clients that are gone.
    fn distribute(&mut self, batch: &[Update]) {
        if self.clients.is_empty() {
            return;
        }
        for u in batch {
            match u.kind {
                Kind::Position => {
                    let cell = &self.grid[row(u.lat) * COLS + col(u.lon)];
                    for &i in cell.iter().chain(&self.wide) {
                        if self.clients[i].filter.takes(u) {
                            self.out[i].push(u.clone());
                        }
                    }
                }
                Kind::Event | Kind::Alert => {
                    for (i, c) in self.clients.iter().enumerate() {
                        if c.filter.takes(u) {
                            self.out[i].push(u.clone());
                        }
                    }
                }
            }
        }
        let mut gone = false;
        for (c, out) in self.clients.iter().zip(self.out.iter_mut()) {
            if !out.is_empty() {
                gone |= !c.q.push_items(out);
                out.clear();
            } else {
                gone |= c.q.is_closed();
            }
        }
        if gone {
            self.clients.retain(|c| !c.q.is_closed());
            self.rebuild();
        }
    }
}

#[derive(Debug)]
struct Pending {
    items: Vec<Update>,
    first_at: Option<Instant>,
}

/// Batches waiting for the distributing thread.
const QUEUED_BATCHES: usize = 256;

/// The fan-out from the picture to the clients (see the module docs).
#[derive(Debug)]
pub(crate) struct Hub {
    pending: Mutex<Pending>,
    registry: Arc<Mutex<Registry>>,
    /// To the distributing thread (which ends when the hub is dropped).
    tx: std::sync::mpsc::SyncSender<Vec<Update>>,
    /// Whether any client is connected (positions are not even batched otherwise).
    listening: Arc<std::sync::atomic::AtomicBool>,
    pub counters: Arc<StreamCounters>,
}

fn lock_registry(r: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    r.lock().unwrap_or_else(|e| e.into_inner())
}

fn take(p: &mut Pending) -> Vec<Update> {
    p.first_at = None;
    std::mem::replace(&mut p.items, Vec::with_capacity(BATCH))
}

impl Hub {
    pub(crate) fn new() -> Hub {
        let registry = Arc::new(Mutex::new(Registry::default()));
        let listening = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Update>>(QUEUED_BATCHES);
        {
            let registry = registry.clone();
            let listening = listening.clone();
            // Without a thread the stream cannot run; the picture still serves the API.
            let spawned = std::thread::Builder::new()
                .name("tidewatch-stream".to_owned())
                .spawn(move || {
                    for batch in rx {
                        let mut r = lock_registry(&registry);
                        r.distribute(&batch);
                        if r.clients.is_empty() {
                            listening.store(false, Ordering::Relaxed);
                        }
                    }
                });
            if let Err(e) = spawned {
                eprintln!("serve: cannot start the stream's thread: {e}");
            }
        }
        Hub {
            pending: Mutex::new(Pending {
                items: Vec::with_capacity(BATCH),
                first_at: None,
            }),
            registry,
            tx,
            listening,
            counters: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether any client is connected.
    pub(crate) fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// Ends every client's stream (at shutdown, so open responses finish).
    pub(crate) fn close_all(&self) {
        let mut r = lock_registry(&self.registry);
        for c in &r.clients {
            c.q.close(None);
        }
        r.clients.clear();
        r.rebuild();
        self.listening.store(false, Ordering::Relaxed);
    }

    /// Queues an update for the clients; positions wait for their batch, the rest go now.
    pub(crate) fn publish(&self, u: Update) {
        if !self.listening.load(Ordering::Relaxed) {
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

    fn send(&self, b: Vec<Update>) {
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.tx.try_send(b) {
            // The distributing thread is that far behind (or gone): the batch is lost to
            // every client, and counted.
            let n = match e {
                std::sync::mpsc::TrySendError::Full(b)
                | std::sync::mpsc::TrySendError::Disconnected(b) => b.len(),
            };
            self.counters.lost.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// A new client and its queue.
    pub(crate) fn subscribe(&self, filter: Filter, config: StreamConfig) -> Arc<ClientQueue> {
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
        self.counters.clients.fetch_add(1, Ordering::Relaxed);
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        let mut r = lock_registry(&self.registry);
        r.clients.retain(|c| !c.q.is_closed());
        r.clients.push(Client {
            q: q.clone(),
            filter,
        });
        r.rebuild();
        self.listening.store(true, Ordering::Relaxed);
        q
    }
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

    fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Appends what the filter takes; false when the client is gone or dropped.
    #[cfg(test)]
    fn push_batch(&self, batch: &[Update], filter: &Filter) -> bool {
        let items: Vec<Update> = batch.iter().filter(|u| filter.takes(u)).cloned().collect();
        self.push_items(&items)
    }

    /// Appends updates (coalescing and dropping as the module docs say); false when the
    /// client is gone or dropped.
    fn push_items(&self, items: &[Update]) -> bool {
        let cap = self.config.queue_items.max(2);
        let mut s = self.lock();
        if s.closed {
            return false;
        }
        for u in items {
            s.items.push_back(u.clone());
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
        if !items.is_empty() {
            self.notify.notify_one();
        }
        true
    }

    /// Takes the frames waiting (up to about 64 KiB), `None` when the stream has ended, an
    /// empty buffer when nothing waits.
    fn take(&self) -> Option<Vec<u8>> {
        let mut s = self.lock();
        if s.closed {
            return None;
        }
        let mut out = Vec::new();
        let mut n = 0u64;
        while out.len() < 64 * 1024 {
            let Some(u) = s.items.pop_front() else { break };
            out.extend_from_slice(&u.frame);
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
#[derive(Debug)]
struct Subscription {
    q: Arc<ClientQueue>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.q.close(None);
        self.q.counters.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The SSE response for a client's queue.
pub(crate) fn sse_response(q: Arc<ClientQueue>) -> Response {
    let keep_alive = q.config.keep_alive;
    let sub = Subscription { q };
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
    fn filters_pass_positions_in_the_box_and_events_of_the_types() {
        let f = Filter {
            bbox: Some(query::BBox::parse("0,0,10,10").unwrap()),
            types: Some(vec!["escort".to_owned()]),
        };
        assert!(f.takes(&Update::position(1, 5.0, 5.0, &json!({}))));
        assert!(!f.takes(&Update::position(1, 5.0, 15.0, &json!({}))));
        assert!(f.takes(&Update::event("escort", &json!({}))));
        assert!(!f.takes(&Update::event("ais_gap", &json!({}))));
        assert!(f.takes(&Update::alert(&json!({}))));
    }

    #[test]
    fn the_grid_routes_each_position_to_the_clients_whose_box_holds_it() {
        let mut r = Registry::default();
        let boxes = [
            Some("-5,-5,5,5"),
            Some("170,-10,-170,10"),
            None,
            Some("-180,-90,180,90"),
        ];
        for b in boxes {
            r.clients.push(Client {
                q: Arc::new(queue(1024)),
                filter: Filter {
                    bbox: b.map(|b| query::BBox::parse(b).unwrap()),
                    types: None,
                },
            });
        }
        r.rebuild();
        assert_eq!(r.wide, [2, 3], "no box, and a box over every cell");
        let at = |mmsi, lat, lon| Update::position(mmsi, lat, lon, &json!({"mmsi": mmsi}));
        r.distribute(&[
            at(1, 0.0, 0.0),
            at(2, 0.0, 179.5),
            at(3, 0.0, -175.0),
            at(4, 0.0, 9.0),
            at(5, 89.0, 100.0),
            Update::event("escort", &json!({})),
        ]);
        fn got(r: &Registry, i: usize) -> Vec<u32> {
            r.clients[i].q.lock().items.iter().map(|u| u.mmsi).collect()
        }
        assert_eq!(got(&r, 0), [1, 0]);
        assert_eq!(got(&r, 1), [2, 3, 0]);
        assert_eq!(got(&r, 2), [1, 2, 3, 4, 5, 0]);
        assert_eq!(got(&r, 3), [1, 2, 3, 4, 5, 0]);
        // A client that went away is dropped from the registry at the next batch.
        r.clients[1].q.close(None);
        r.distribute(&[at(6, 0.0, 0.0)]);
        assert_eq!(r.clients.len(), 3);
        assert_eq!(got(&r, 0), [1, 0, 6]);
    }
}
