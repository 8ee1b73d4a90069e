//! Alerts: rules over the events the pipeline commits, fired once per (rule, event,
//! life-cycle stage), posted to webhooks with retries, and a dead-letter log for what could
//! not be delivered.
//!
//! - [`config`]: the TOML format (`[alerts]` settings, `[[alert]]` rules), checked into
//!   [`AlertsConfig`] with errors naming the rule and field.
//! - [`Alerts::on_events`]: the caller hands it every batch of events it commits
//!   ([`store::EventRow`]s); it decides each event's new [`Stage`]s through the ledger
//!   (`ledger.rs`: once only, across restarts; bounded), returns the [`Alert`]s for the live
//!   stream and queues their webhook deliveries.
//! - `deliver.rs`: the delivery threads (`ureq`), retries with exponential backoff, the
//!   bounded queue, the dead-letter log, clean shutdown.
//!
//! Stages: an event seen for the first time is `start` (and `end` too when it is already
//! closed); a later commit of it still open with other JSON is its `update` (once); a commit
//! of it closed is its `end`. A rule fires on the stages in its `on` (default `start`); when
//! one commit brings several stages of an event (an instantaneous event: start and end), a
//! rule fires once, for the latest of them it listens to.
//!
//! After a restart: events the pipeline committed before a crash but never handed here would
//! not alert. Handing [`Alerts::on_events`] the stored events of the last hours at start (open
//! ones and those that ended lately) fires exactly those: the ledger skips the rest. On a
//! store that has events but no ledger yet ([`Alerts::ledger_was_new`]), hand them to
//! [`Alerts::remember`] instead, or every stored event would fire.
//!
//! ```
//! use alerts::{Alerts, AlertsConfig};
//! # let dir = std::env::temp_dir().join(format!("alerts-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let config = AlertsConfig::from_toml(r#"
//!     [[alert]]
//!     name = "escorts"
//!     types = ["escort"]
//! "#).unwrap();
//! let mut alerts = Alerts::open(config, &dir).unwrap();
//! let row = store::EventRow {
//!     id: "00000000000000aa".into(),
//!     kind: "escort".into(),
//!     start_ms: 1_700_000_000_000,
//!     open: true,
//!     mmsis: vec![412000001, 412000002],
//!     json: r#"{"id":"00000000000000aa","type":"escort"}"#.into(),
//!     ..Default::default()
//! };
//! let fired = alerts.on_events(&[row.clone()]);
//! assert_eq!(fired.len(), 1);
//! assert_eq!(fired[0].rule, "escorts");
//! assert!(alerts.on_events(&[row]).is_empty()); // once only
//! alerts.shutdown();
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod config;
mod deliver;
mod error;
mod ledger;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use store::EventRow;

pub use config::{AlertsConfig, Rule, Settings, Stage, Webhook};
pub use deliver::{DeadReason, DeliveryMetrics};
pub use error::AlertsError;
pub use ledger::LEDGER_FILE;

use deliver::Delivery;
use ledger::{Ledger, Observed};

/// One rule fired by one event. Serializes as `{"rule", "stage", "event", "fired_at"}`, with
/// `event` the event's stored JSON (the `detect` crate's schema) and `fired_at` RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The rule's name.
    pub rule: String,
    /// The life-cycle change that fired it.
    pub stage: Stage,
    /// The event as committed.
    pub event: serde_json::Value,
    /// When it fired (wall clock), RFC 3339 UTC with milliseconds.
    pub fired_at: String,
}

/// Events handed to [`Alerts::on_events`] that could not be used as they are, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejected {
    /// An id that is empty, longer than 128 bytes, or holds spaces or control characters:
    /// the event is skipped.
    pub bad_event_id: u64,
    /// JSON that does not parse as an object: the alert carries the row's columns instead.
    pub bad_event_json: u64,
    /// Not remembered by the ledger and older than its retention: fires nothing.
    pub too_old: u64,
    /// Ledger appends that failed (those alerts were still fired, but may fire again after
    /// a restart).
    pub ledger_write_errors: u64,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Events handed in.
    pub events: u64,
    /// Alerts fired (one per rule and event stage).
    pub fired: u64,
    /// Events not used as they are, by reason.
    pub rejected: Rejected,
    /// Ledger lines that did not parse when it was opened (skipped).
    pub ledger_bad_lines: u64,
    /// A torn last ledger line (a crash mid-write) was cut off when it was opened.
    pub ledger_torn_tail: bool,
    /// Events the ledger remembers.
    pub ledger_events: u64,
    /// Lines in the ledger file.
    pub ledger_lines: u64,
    /// Webhook delivery.
    pub delivery: DeliveryMetrics,
}

impl Metrics {
    /// The counters in the Prometheus text format (`tidewatch_alerts_*`), for the server's
    /// `/metrics` to append.
    pub fn write_prometheus(&self, out: &mut String) {
        use std::fmt::Write as _;
        let d = &self.delivery;
        let mut one = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        };
        one(
            "tidewatch_alerts_events_total",
            "counter",
            "Events handed to the alert rules.",
            self.events,
        );
        one(
            "tidewatch_alerts_fired_total",
            "counter",
            "Alerts fired (rule, event, stage).",
            self.fired,
        );
        one(
            "tidewatch_alerts_ledger_events",
            "gauge",
            "Events the once-only ledger remembers.",
            self.ledger_events,
        );
        one(
            "tidewatch_alerts_ledger_lines",
            "gauge",
            "Lines in the ledger file.",
            self.ledger_lines,
        );
        one(
            "tidewatch_alerts_ledger_bad_lines",
            "gauge",
            "Ledger lines skipped when it was opened.",
            self.ledger_bad_lines,
        );
        one(
            "tidewatch_alerts_webhook_queued",
            "gauge",
            "Webhook deliveries held (queued, waiting to retry, in flight).",
            d.queued,
        );
        one(
            "tidewatch_alerts_webhook_enqueued_total",
            "counter",
            "Webhook deliveries accepted into the queue.",
            d.enqueued,
        );
        one(
            "tidewatch_alerts_webhook_delivered_total",
            "counter",
            "Webhook deliveries answered with 2xx.",
            d.delivered,
        );
        one(
            "tidewatch_alerts_webhook_attempts_total",
            "counter",
            "Webhook attempts made.",
            d.attempts,
        );
        one(
            "tidewatch_alerts_webhook_retried_total",
            "counter",
            "Webhook attempts failed and scheduled again.",
            d.retried,
        );
        one(
            "tidewatch_alerts_dead_letter_write_errors_total",
            "counter",
            "Dead-letter lines that could not be written.",
            d.dead_letter_write_errors,
        );
        let _ = writeln!(
            out,
            "# HELP tidewatch_alerts_webhook_dead_lettered_total Webhook deliveries written to the dead-letter log, by reason.\n\
             # TYPE tidewatch_alerts_webhook_dead_lettered_total counter"
        );
        for (r, n) in &d.dead_lettered {
            let _ = writeln!(
                out,
                "tidewatch_alerts_webhook_dead_lettered_total{{reason=\"{}\"}} {n}",
                r.as_str()
            );
        }
        let r = &self.rejected;
        let _ = writeln!(
            out,
            "# HELP tidewatch_alerts_rejected_total Events the alert rules could not use as they are, by reason.\n\
             # TYPE tidewatch_alerts_rejected_total counter"
        );
        for (reason, n) in [
            ("bad_event_id", r.bad_event_id),
            ("bad_event_json", r.bad_event_json),
            ("too_old", r.too_old),
            ("ledger_write_error", r.ledger_write_errors),
        ] {
            let _ = writeln!(
                out,
                "tidewatch_alerts_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
    }
}

/// The counters `on_events` keeps, shared with [`MetricsHandle`]s.
#[derive(Debug, Default)]
struct Counters {
    events: AtomicU64,
    fired: AtomicU64,
    bad_event_id: AtomicU64,
    bad_event_json: AtomicU64,
    too_old: AtomicU64,
    ledger_write_errors: AtomicU64,
    ledger_bad_lines: AtomicU64,
    ledger_torn_tail: AtomicBool,
    ledger_events: AtomicU64,
    ledger_lines: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Reads the counters from any thread while the pipeline holds the [`Alerts`] (for the
/// server's `/metrics`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct MetricsHandle {
    counters: Arc<Counters>,
    delivery: deliver::Probe,
}

impl MetricsHandle {
    /// The counters now.
    pub fn metrics(&self) -> Metrics {
        let c = &*self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Metrics {
            events: get(&c.events),
            fired: get(&c.fired),
            rejected: Rejected {
                bad_event_id: get(&c.bad_event_id),
                bad_event_json: get(&c.bad_event_json),
                too_old: get(&c.too_old),
                ledger_write_errors: get(&c.ledger_write_errors),
            },
            ledger_bad_lines: get(&c.ledger_bad_lines),
            ledger_torn_tail: c.ledger_torn_tail.load(Ordering::Relaxed),
            ledger_events: get(&c.ledger_events),
            ledger_lines: get(&c.ledger_lines),
            delivery: self.delivery.metrics(),
        }
    }
}

#[derive(Debug)]
struct LiveRule {
    rule: Rule,
    name: Arc<str>,
    hooks: Vec<Arc<Webhook>>,
}

/// The alert rules of one store, with their ledger and webhook delivery.
#[derive(Debug)]
pub struct Alerts {
    rules: Vec<LiveRule>,
    ledger: Ledger,
    delivery: Delivery,
    counters: Arc<Counters>,
}

/// Now, RFC 3339 UTC with milliseconds.
pub(crate) fn rfc3339_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn good_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Alerts {
    /// Opens the ledger in `store_dir` (`alerts-ledger.txt`) and the dead-letter log (a
    /// relative `dead_letter` path is inside `store_dir`), and starts the delivery threads.
    /// One process at a time: the caller holds the store's writer lock.
    pub fn open(config: AlertsConfig, store_dir: &Path) -> Result<Alerts, AlertsError> {
        let s = &config.settings;
        let retention_ms = i64::try_from(s.ledger_retention.as_millis()).unwrap_or(i64::MAX);
        let ledger = Ledger::open(store_dir, retention_ms)?;
        let dead_letter = store_dir.join(&s.dead_letter);
        let delivery = Delivery::start(s, &dead_letter)?;
        let rules = config
            .rules
            .into_iter()
            .map(|rule| LiveRule {
                name: Arc::from(rule.name.as_str()),
                hooks: rule.webhooks.iter().cloned().map(Arc::new).collect(),
                rule,
            })
            .collect();
        let counters = Arc::new(Counters::default());
        counters
            .ledger_bad_lines
            .store(ledger.bad_lines, Ordering::Relaxed);
        counters
            .ledger_torn_tail
            .store(ledger.torn_tail, Ordering::Relaxed);
        let alerts = Alerts {
            rules,
            ledger,
            delivery,
            counters,
        };
        alerts.ledger_gauges();
        Ok(alerts)
    }

    /// The rules, in configuration order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|r| &r.rule)
    }

    /// Takes a batch of committed events (new or changed), and returns the alerts they fire,
    /// in event then rule order, after recording them in the ledger; queues their webhook
    /// deliveries. `fired_at` is now.
    pub fn on_events(&mut self, events: &[EventRow]) -> Vec<Alert> {
        self.on_events_at(events, chrono::Utc::now().timestamp_millis())
    }

    /// Records the stages of `events` in the ledger without firing anything (for a first
    /// start on a store that already has events: see the crate docs).
    pub fn remember(&mut self, events: &[EventRow]) {
        self.take(events, None);
    }

    /// Whether the ledger file was created by this [`Alerts::open`] (no alert has ever been
    /// recorded for this store).
    pub fn ledger_was_new(&self) -> bool {
        self.ledger.created
    }

    /// [`Alerts::on_events`] with the firing time given (Unix ms).
    pub fn on_events_at(&mut self, events: &[EventRow], fired_at_ms: i64) -> Vec<Alert> {
        self.take(events, Some(fired_at_ms))
    }

    fn take(&mut self, events: &[EventRow], fire_at_ms: Option<i64>) -> Vec<Alert> {
        let fired_at = fire_at_ms.map(rfc3339_ms).unwrap_or_default();
        let mut out = Vec::new();
        for row in events {
            bump(&self.counters.events, 1);
            if !good_id(&row.id) {
                bump(&self.counters.bad_event_id, 1);
                continue;
            }
            let event = match serde_json::from_str::<serde_json::Value>(&row.json) {
                Ok(v) if v.is_object() => v,
                _ => {
                    bump(&self.counters.bad_event_json, 1);
                    serde_json::json!({
                        "id": row.id, "type": row.kind, "start_ms": row.start_ms,
                        "end_ms": row.end_ms, "open": row.open, "mmsis": row.mmsis,
                        "zones": row.zones,
                    })
                }
            };
            let last_ms = event.get("last_ms").and_then(|v| v.as_i64());
            let time_ms = row
                .end_ms
                .unwrap_or(row.start_ms)
                .max(row.start_ms)
                .max(last_ms.unwrap_or(i64::MIN));
            let hash = ledger::fnv1a(row.json.as_bytes());
            let new = match self.ledger.observe(&row.id, row.open, time_ms, hash) {
                Observed::TooOld => {
                    bump(&self.counters.too_old, 1);
                    continue;
                }
                Observed::Stages(0) => continue,
                Observed::Stages(_) if fire_at_ms.is_none() => continue,
                Observed::Stages(bits) => bits,
            };
            for r in &self.rules {
                if !r.rule.matches(&row.kind, &row.zones, &row.mmsis) {
                    continue;
                }
                // The latest new stage the rule listens to.
                let Some(stage) = Stage::ALL
                    .into_iter()
                    .rev()
                    .find(|s| new & s.bit() != 0 && r.rule.fires_on(*s))
                else {
                    continue;
                };
                out.push((
                    r,
                    Alert {
                        rule: r.rule.name.clone(),
                        stage,
                        event: event.clone(),
                        fired_at: fired_at.clone(),
                    },
                ));
            }
        }
        if self.ledger.commit().is_err() {
            bump(&self.counters.ledger_write_errors, 1);
        }
        self.ledger_gauges();
        bump(&self.counters.fired, out.len() as u64);
        let mut alerts = Vec::with_capacity(out.len());
        for (r, alert) in out {
            if !r.hooks.is_empty() {
                match serde_json::to_string(&alert) {
                    Ok(body) => self.delivery.submit(&r.name, &r.hooks, &Arc::from(body)),
                    // A `Value` with string keys always serializes; nothing to deliver else.
                    Err(_) => bump(&self.counters.bad_event_json, 1),
                }
            }
            alerts.push(alert);
        }
        alerts
    }

    /// Counters for `/metrics`.
    pub fn metrics(&self) -> Metrics {
        self.metrics_handle().metrics()
    }

    /// A handle that reads the counters from another thread.
    pub fn metrics_handle(&self) -> MetricsHandle {
        MetricsHandle {
            counters: Arc::clone(&self.counters),
            delivery: self.delivery.probe(),
        }
    }

    fn ledger_gauges(&self) {
        let c = &self.counters;
        c.ledger_events
            .store(self.ledger.len() as u64, Ordering::Relaxed);
        c.ledger_lines
            .store(self.ledger.lines() as u64, Ordering::Relaxed);
    }

    /// Stops: goes on delivering for up to `shutdown_grace`, dead-letters what is left,
    /// joins the delivery threads; returns the final counters. (Dropping does the same.)
    pub fn shutdown(mut self) -> Metrics {
        self.delivery.shutdown();
        self.metrics()
    }
}
