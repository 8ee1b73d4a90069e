//! The alert configuration: `[alerts]` settings and one `[[alert]]` table per rule, checked
//! once into typed values ([`AlertsConfig::from_toml`]) with errors that name the rule and the
//! field.
//!
//! ```toml
//! [alerts]
//! dead_letter = "alerts-dead-letter.jsonl"   # relative: inside the store directory
//! max_attempts = 5                           # per webhook, the first try included
//! backoff = "1s"                             # before the 2nd attempt; doubles each time
//! backoff_max = "1m"
//!
//! [[alert]]
//! name = "escorts in the EEZ"
//! types = ["escort", "shadowing"]
//! zones = ["Scarborough Shoal"]
//! on = ["start", "end"]
//! webhooks = [{ url = "https://hooks.example.org/x", headers = { Authorization = "Bearer t" }, timeout = "5s" }]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use detect::EventType;
use serde::Deserialize;

use crate::error::AlertsError;

/// A change in an event's life that can fire a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The event was committed for the first time (open, or already closed for an
    /// instantaneous event).
    Start,
    /// An open event was committed again with something changed (fires once per event).
    Update,
    /// The event was committed closed.
    End,
}

impl Stage {
    /// Every stage, in life-cycle order.
    pub const ALL: [Stage; 3] = [Stage::Start, Stage::Update, Stage::End];

    /// The name used in the configuration, the JSON and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Start => "start",
            Stage::Update => "update",
            Stage::End => "end",
        }
    }

    /// The stage of a name.
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Where and how one alert is posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Extra request headers (name, value), checked as HTTP allows.
    pub headers: Vec<(String, String)>,
    /// Time allowed for one attempt (connect, send, answer). Default 5 s.
    pub timeout: Duration,
}

/// One alert rule. Every filter given must match (an empty filter matches anything); within
/// a filter, any listed value matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Unique name, carried by every alert the rule fires.
    pub name: String,
    /// Event types; empty: any.
    pub types: Vec<EventType>,
    /// Zone names, any of which the event's position lies in; empty: anywhere.
    pub zones: Vec<String>,
    /// MMSIs, any of which takes part in the event; empty: any vessel.
    pub mmsis: Vec<u32>,
    /// Life-cycle stages that fire the rule (`on`). Default: `start` only.
    pub on: Vec<Stage>,
    /// Webhooks each alert is posted to (none: the alert only goes to the live stream).
    pub webhooks: Vec<Webhook>,
}

impl Rule {
    /// Whether an event of `kind` in `zones` involving `mmsis` passes the rule's filters
    /// (stages aside).
    pub fn matches(&self, kind: &str, zones: &[String], mmsis: &[u32]) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t.as_str() == kind))
            && (self.zones.is_empty() || zones.iter().any(|z| self.zones.contains(z)))
            && (self.mmsis.is_empty() || mmsis.iter().any(|m| self.mmsis.contains(m)))
    }

    /// Whether the rule fires on `stage`.
    pub fn fires_on(&self, stage: Stage) -> bool {
        self.on.contains(&stage)
    }
}

/// The `[alerts]` settings, with their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Dead-letter log (JSON lines); a relative path is inside the store directory. Default
    /// `alerts-dead-letter.jsonl`.
    pub dead_letter: PathBuf,
    /// Attempts per webhook, the first included, before an alert is dead-lettered. Default 5.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles after each failure. Default 1 s.
    pub backoff: Duration,
    /// Longest wait between attempts (a `Retry-After` is capped to it too). Default 60 s.
    pub backoff_max: Duration,
    /// Deliveries held at once (queued, waiting to retry or in flight); beyond it an alert's
    /// delivery is dead-lettered as `queue_full`. Default 1,000.
    pub queue_capacity: usize,
    /// Delivery threads. Default 2.
    pub workers: usize,
    /// How long shutdown goes on delivering what is pending before dead-lettering the rest
    /// as `shutdown`. Default 10 s.
    pub shutdown_grace: Duration,
    /// How long (in event time, behind the newest event seen) the ledger remembers an event.
    /// Older events are forgotten, and a commit of one not remembered fires nothing. Default
    /// 30 days.
    pub ledger_retention: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            dead_letter: PathBuf::from("alerts-dead-letter.jsonl"),
            max_attempts: 5,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            queue_capacity: 1000,
            workers: 2,
            shutdown_grace: Duration::from_secs(10),
            ledger_retention: Duration::from_secs(30 * 86_400),
        }
    }
}

/// A checked alert configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertsConfig {
    /// The `[alerts]` settings.
    pub settings: Settings,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    alerts: Option<toml::Value>,
    #[serde(default)]
    alert: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    dead_letter: Option<String>,
    max_attempts: Option<i64>,
    backoff: Option<String>,
    backoff_max: Option<String>,
    queue_capacity: Option<i64>,
    workers: Option<i64>,
    shutdown_grace: Option<String>,
    ledger_retention: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    zones: Vec<String>,
    #[serde(default)]
    mmsis: Vec<i64>,
    #[serde(default)]
    on: Option<OneOrMany>,
    #[serde(default)]
    webhooks: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout: Option<String>,
}

/// Longest per-attempt timeout accepted.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

fn duration(s: &str) -> Result<Duration, String> {
    let ms = query::parse_duration_ms(s).map_err(|e| e.to_string())?;
    if ms <= 0 {
        return Err(format!("{s:?} is not a positive duration"));
    }
    Ok(Duration::from_millis(ms as u64))
}

impl AlertsConfig {
    /// Reads and checks a configuration. Errors name the rule (by name and number, from 1)
    /// and the field.
    pub fn from_toml(text: &str) -> Result<AlertsConfig, AlertsError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| AlertsError::Toml {
            message: e.message().to_owned(),
        })?;
        let settings = match raw.alerts {
            None => Settings::default(),
            Some(v) => settings(v)?,
        };
        let mut rules = Vec::with_capacity(raw.alert.len());
        let mut names = BTreeSet::new();
        for (i, v) in raw.alert.into_iter().enumerate() {
            let number = i + 1;
            let label = match v.get("name").and_then(|n| n.as_str()) {
                Some(n) => format!("{n:?} (rule {number})"),
                None => format!("rule {number}"),
            };
            let err = |field: &str, reason: String| AlertsError::Rule {
                rule: label.clone(),
                field: field.to_owned(),
                reason,
            };
            let r: RawRule = v
                .try_into()
                .map_err(|e: toml::de::Error| err(&serde_field(&e, ""), e.message().to_owned()))?;
            let rule = rule(r, &err)?;
            if !names.insert(rule.name.clone()) {
                return Err(err("name", "another rule has this name".to_owned()));
            }
            rules.push(rule);
        }
        Ok(AlertsConfig { settings, rules })
    }

    /// Zone names the rules use that are not in `known` (a rule naming a zone the store does
    /// not have never fires on it; the caller decides whether to warn or refuse).
    pub fn unknown_zones<'a>(&'a self, known: &[String]) -> Vec<(&'a str, &'a str)> {
        let mut out = Vec::new();
        for r in &self.rules {
            for z in &r.zones {
                if !known.contains(z) {
                    out.push((r.name.as_str(), z.as_str()));
                }
            }
        }
        out
    }
}

fn settings(v: toml::Value) -> Result<Settings, AlertsError> {
    let bad = |field: &str, reason: String| AlertsError::Setting {
        field: field.to_owned(),
        reason,
    };
    let r: RawSettings = v
        .try_into()
        .map_err(|e: toml::de::Error| bad("-", e.message().to_owned()))?;
    let mut s = Settings::default();
    if let Some(p) = r.dead_letter {
        if p.trim().is_empty() {
            return Err(bad("dead_letter", "empty path".to_owned()));
        }
        s.dead_letter = PathBuf::from(p);
    }
    if let Some(n) = r.max_attempts {
        if !(1..=100).contains(&n) {
            return Err(bad("max_attempts", format!("{n} is not in 1..=100")));
        }
        s.max_attempts = n as u32;
    }
    if let Some(n) = r.queue_capacity {
        if !(1..=1_000_000).contains(&n) {
            return Err(bad("queue_capacity", format!("{n} is not in 1..=1000000")));
        }
        s.queue_capacity = n as usize;
    }
    if let Some(n) = r.workers {
        if !(1..=64).contains(&n) {
            return Err(bad("workers", format!("{n} is not in 1..=64")));
        }
        s.workers = n as usize;
    }
    const HOUR: u64 = 3600;
    for (field, value, slot, max_s, max_text) in [
        ("backoff", r.backoff, &mut s.backoff, 24 * HOUR, "1 day"),
        (
            "backoff_max",
            r.backoff_max,
            &mut s.backoff_max,
            24 * HOUR,
            "1 day",
        ),
        (
            "shutdown_grace",
            r.shutdown_grace,
            &mut s.shutdown_grace,
            HOUR,
            "1 hour",
        ),
        (
            "ledger_retention",
            r.ledger_retention,
            &mut s.ledger_retention,
            3650 * 24 * HOUR,
            "3650 days",
        ),
    ] {
        if let Some(v) = value {
            let d = duration(&v).map_err(|e| bad(field, e))?;
            if d > Duration::from_secs(max_s) {
                return Err(bad(field, format!("{v:?} is longer than {max_text}")));
            }
            *slot = d;
        }
    }
    if s.backoff > s.backoff_max {
        return Err(bad(
            "backoff",
            format!(
                "{:?} is longer than backoff_max ({:?})",
                s.backoff, s.backoff_max
            ),
        ));
    }
    Ok(s)
}

/// The field serde's message names (unknown or missing), under `parent`; else `parent`, or
/// `-` at the top.
fn serde_field(e: &toml::de::Error, parent: &str) -> String {
    let m = e.message();
    let named = m
        .split('`')
        .nth(1)
        .filter(|_| m.starts_with("unknown field") || m.starts_with("missing field"));
    match (named, parent) {
        (Some(f), "") => f.to_owned(),
        (Some(f), p) => format!("{p}.{f}"),
        (None, "") => "-".to_owned(),
        (None, p) => p.to_owned(),
    }
}

fn rule(r: RawRule, err: &dyn Fn(&str, String) -> AlertsError) -> Result<Rule, AlertsError> {
    let name = r.name.trim().to_owned();
    if name.is_empty() {
        return Err(err("name", "empty name".to_owned()));
    }
    let mut types = Vec::new();
    for t in &r.types {
        let Some(k) = EventType::ALL.into_iter().find(|k| k.as_str() == t) else {
            let all: Vec<&str> = EventType::ALL.iter().map(|k| k.as_str()).collect();
            return Err(err(
                "types",
                format!("unknown event type {t:?} (known: {})", all.join(", ")),
            ));
        };
        if !types.contains(&k) {
            types.push(k);
        }
    }
    for z in &r.zones {
        if z.trim().is_empty() {
            return Err(err("zones", "empty zone name".to_owned()));
        }
    }
    let mut mmsis = Vec::new();
    for &m in &r.mmsis {
        if !(1..=999_999_999).contains(&m) {
            return Err(err("mmsis", format!("{m} is not an MMSI (1 to 9 digits)")));
        }
        mmsis.push(m as u32);
    }
    let on_names = match r.on {
        None => vec!["start".to_owned()],
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    };
    if on_names.is_empty() {
        return Err(err("on", "no stage (give start, update or end)".to_owned()));
    }
    let mut on = Vec::new();
    for s in &on_names {
        let Some(st) = Stage::parse(s) else {
            return Err(err(
                "on",
                format!("unknown stage {s:?} (start, update or end)"),
            ));
        };
        if !on.contains(&st) {
            on.push(st);
        }
    }
    on.sort();
    let mut webhooks = Vec::new();
    for (i, w) in r.webhooks.into_iter().enumerate() {
        let field = format!("webhooks[{i}]");
        let w: RawWebhook = w
            .try_into()
            .map_err(|e: toml::de::Error| err(&serde_field(&e, &field), e.message().to_owned()))?;
        webhooks.push(webhook(w).map_err(|(sub, reason)| err(&format!("{field}.{sub}"), reason))?);
    }
    Ok(Rule {
        name,
        types,
        zones: r.zones,
        mmsis,
        on,
        webhooks,
    })
}

fn webhook(w: RawWebhook) -> Result<Webhook, (&'static str, String)> {
    check_url(&w.url).map_err(|r| ("url", r))?;
    let mut headers = Vec::new();
    for (k, v) in w.headers {
        if ureq::http::HeaderName::from_bytes(k.as_bytes()).is_err() {
            return Err(("headers", format!("{k:?} is not a header name")));
        }
        if ureq::http::HeaderValue::from_str(&v).is_err() {
            return Err((
                "headers",
                format!("the value of {k:?} is not a header value"),
            ));
        }
        headers.push((k, v));
    }
    let timeout = match w.timeout {
        None => Duration::from_secs(5),
        Some(t) => {
            let d = duration(&t).map_err(|e| ("timeout", e))?;
            if d > MAX_TIMEOUT {
                return Err(("timeout", format!("{t:?} is longer than 5 minutes")));
            }
            d
        }
    };
    Ok(Webhook {
        url: w.url,
        headers,
        timeout,
    })
}

fn check_url(url: &str) -> Result<(), String> {
    if !url.contains("://") {
        return Err(format!("{url:?} has no scheme (http:// or https://)"));
    }
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        Some(other) => return Err(format!("{url:?}: scheme {other:?} is not http or https")),
        None => return Err(format!("{url:?} has no scheme (http:// or https://)")),
    }
    match uri.host() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err(format!("{url:?} has no host")),
    }
}
