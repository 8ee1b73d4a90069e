//! Webhook delivery over real loopback sockets: delivered, retried, not retried,
//! dead-lettered with a reason, bounded, and shut down cleanly.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use alerts::{Alerts, AlertsConfig, DeadReason, Metrics};
use common::{closed_port_url, event, json_lines, scratch, Answer, Receiver};

const T0: i64 = 1_767_225_600_000;

/// Alerts with one rule (`hook`) posting every event to `url`; fast backoff and three
/// attempts unless `settings` (lines of `[alerts]`) say otherwise.
fn alerts_for(dir: &Path, url: &str, settings: &str, hook: &str) -> Alerts {
    let mut table = settings.to_owned();
    for (key, line) in [
        ("backoff ", "backoff = \"10ms\""),
        ("backoff_max ", "backoff_max = \"40ms\""),
        ("max_attempts ", "max_attempts = 3"),
    ] {
        if !settings.lines().any(|l| l.starts_with(key)) {
            table.push('\n');
            table.push_str(line);
        }
    }
    let toml = format!(
        "[alerts]\n{table}\n[[alert]]\nname = \"hook\"\nwebhooks = [{{ url = \"{url}\"{hook} }}]\n"
    );
    Alerts::open(AlertsConfig::from_toml(&toml).unwrap(), dir).unwrap()
}

fn fire(a: &mut Alerts, ids: &[&str]) {
    let rows: Vec<_> = ids
        .iter()
        .map(|id| event(id, "escort", &[412000001], &["EEZ"], T0, None, 0))
        .collect();
    assert_eq!(a.on_events_at(&rows, T0).len(), ids.len());
}

fn dead_letter(dir: &Path) -> Vec<serde_json::Value> {
    json_lines(&dir.join("alerts-dead-letter.jsonl"))
}

fn dead(m: &Metrics, r: DeadReason) -> u64 {
    m.delivery.dead_lettered_for(r)
}

#[test]
fn an_alert_is_posted_as_json_with_the_webhooks_headers() {
    let rx = Receiver::start(|_| Answer::Status(204));
    let dir = scratch("posted");
    let mut a = alerts_for(
        &dir,
        &rx.url,
        "",
        ", headers = { Authorization = \"Bearer s3cret\" }, timeout = \"2s\"",
    );
    let handle = a.metrics_handle();
    fire(&mut a, &["00000000000000aa"]);
    let m = a.shutdown();
    // The handle reads the same counters from another thread, after shutdown too.
    let from_thread = std::thread::spawn(move || handle.metrics()).join().unwrap();
    assert_eq!(from_thread, m);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.line, "POST /hook HTTP/1.1");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("authorization"), Some("Bearer s3cret"));
    let body = r.json();
    assert_eq!(body["rule"], "hook");
    assert_eq!(body["stage"], "start");
    assert_eq!(body["event"]["id"], "00000000000000aa");
    assert_eq!(body["event"]["type"], "escort");
    assert_eq!(body["fired_at"], "2026-01-01T00:00:00.000Z");
    assert_eq!((m.delivery.delivered, m.delivery.attempts), (1, 1));
    assert_eq!(
        (m.delivery.retried, m.delivery.dead_lettered_total()),
        (0, 0)
    );
    assert_eq!(m.delivery.queued, 0);
    assert!(dead_letter(&dir).is_empty());
}

#[test]
fn a_webhook_that_fails_twice_gets_the_alert_on_the_third_attempt() {
    // 503, then 429 (with Retry-After: 0), then 200; waits of 100 then 200 ms.
    let rx = Receiver::start(|n| match n {
        0 => Answer::Status(503),
        1 => Answer::StatusRetryAfter0(429),
        _ => Answer::Status(200),
    });
    let dir = scratch("thirdtime");
    let mut a = alerts_for(
        &dir,
        &rx.url,
        "backoff = \"100ms\"\nbackoff_max = \"1s\"",
        "",
    );
    fire(&mut a, &["e1"]);
    let m = a.shutdown();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 3);
    // The same alert each time, after the backoff, doubled.
    assert!(reqs.iter().all(|r| r.body == reqs[0].body));
    let first_wait = reqs[1].at - reqs[0].at;
    let second_wait = reqs[2].at - reqs[1].at;
    assert!(first_wait >= Duration::from_millis(100), "{first_wait:?}");
    assert!(second_wait >= Duration::from_millis(200), "{second_wait:?}");
    assert!(second_wait < Duration::from_secs(1), "{second_wait:?}");
    assert_eq!(m.delivery.delivered, 1);
    assert_eq!(m.delivery.attempts, 3);
    assert_eq!(m.delivery.retried, 2);
    assert_eq!(m.delivery.dead_lettered_total(), 0);
    assert!(dead_letter(&dir).is_empty());
}

#[test]
fn a_webhook_that_always_fails_dead_letters_the_alert_after_max_attempts() {
    let rx = Receiver::start(|_| Answer::Status(500));
    let dir = scratch("always500");
    let mut a = alerts_for(&dir, &rx.url, "", "");
    fire(&mut a, &["e1", "e2"]);
    let m = a.shutdown();
    assert_eq!(rx.requests().len(), 6);
    assert_eq!(m.delivery.delivered, 0);
    assert_eq!(m.delivery.retried, 4);
    assert_eq!(dead(&m, DeadReason::HttpStatus), 2);
    let lines = dead_letter(&dir);
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(l["reason"], "http_status");
        assert_eq!(l["status"], 500);
        assert_eq!(l["attempts"], 3);
        assert_eq!(l["rule"], "hook");
        assert_eq!(l["url"], rx.url.as_str());
        assert_eq!(l["error"], "answered HTTP 500");
        assert_eq!(l["alert"]["rule"], "hook");
        assert!(l["dead_at"].as_str().unwrap().ends_with('Z'));
    }
    let mut ids: Vec<&str> = lines
        .iter()
        .map(|l| l["alert"]["event"]["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["e1", "e2"]);
    let mut text = String::new();
    m.write_prometheus(&mut text);
    assert!(text.contains("tidewatch_alerts_webhook_dead_lettered_total{reason=\"http_status\"} 2"));
    assert!(text.contains("tidewatch_alerts_webhook_retried_total 4"));
}

#[test]
fn a_400_is_not_retried() {
    let rx = Receiver::start(|_| Answer::Status(400));
    let dir = scratch("400");
    let mut a = alerts_for(&dir, &rx.url, "", "");
    fire(&mut a, &["e1"]);
    let m = a.shutdown();
    assert_eq!(rx.requests().len(), 1);
    assert_eq!((m.delivery.attempts, m.delivery.retried), (1, 0));
    let lines = dead_letter(&dir);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["reason"], "http_status");
    assert_eq!(lines[0]["status"], 400);
    assert_eq!(lines[0]["attempts"], 1);
}

#[test]
fn other_4xx_and_redirects_are_not_retried_either() {
    for status in [301, 404, 410] {
        let rx = Receiver::start(move |_| Answer::Status(status));
        let dir = scratch(&format!("status{status}"));
        let mut a = alerts_for(&dir, &rx.url, "", "");
        fire(&mut a, &["e1"]);
        let m = a.shutdown();
        assert_eq!(rx.requests().len(), 1, "{status}");
        assert_eq!(m.delivery.retried, 0, "{status}");
        let lines = dead_letter(&dir);
        assert_eq!(lines[0]["status"], status, "{status}");
    }
}

#[test]
fn alerts_can_move_to_the_pipeline_thread_and_metrics_are_shared() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Alerts>();
    send_sync::<alerts::MetricsHandle>();
    send_sync::<alerts::Alert>();
}

#[test]
fn a_closed_port_is_retried_then_dead_lettered_as_connect() {
    let url = closed_port_url();
    let dir = scratch("closed");
    let mut a = alerts_for(&dir, &url, "", "");
    fire(&mut a, &["e1"]);
    let m = a.shutdown();
    assert_eq!((m.delivery.attempts, m.delivery.retried), (3, 2));
    assert_eq!(dead(&m, DeadReason::Connect), 1);
    let lines = dead_letter(&dir);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["reason"], "connect");
    assert_eq!(lines[0]["attempts"], 3);
    assert!(lines[0]["status"].is_null());
    assert!(!lines[0]["error"].as_str().unwrap().is_empty());
}

#[test]
fn a_webhook_slower_than_its_timeout_is_dead_lettered_as_timeout() {
    let rx = Receiver::start(|_| Answer::Hang(Duration::from_millis(600)));
    let dir = scratch("timeout");
    let started = Instant::now();
    let mut a = alerts_for(&dir, &rx.url, "max_attempts = 2", ", timeout = \"150ms\"");
    fire(&mut a, &["e1"]);
    let m = a.shutdown();
    assert_eq!(m.delivery.attempts, 2);
    assert_eq!(dead(&m, DeadReason::Timeout), 1, "{m:?}");
    assert_eq!(dead_letter(&dir)[0]["reason"], "timeout");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_full_queue_dead_letters_at_once_instead_of_growing() {
    // One thread, room for two deliveries, a slow webhook: of five alerts, two are held and
    // delivered, three are dead-lettered as they fire.
    let rx = Receiver::start(|_| Answer::Slow(Duration::from_millis(100), 200));
    let dir = scratch("full");
    let mut a = alerts_for(&dir, &rx.url, "queue_capacity = 2\nworkers = 1", "");
    fire(&mut a, &["e1", "e2", "e3", "e4", "e5"]);
    let during = a.metrics();
    assert_eq!(dead(&during, DeadReason::QueueFull), 3);
    assert!(during.delivery.queued <= 2);
    let m = a.shutdown();
    assert_eq!(m.delivery.enqueued, 2);
    assert_eq!(m.delivery.delivered, 2);
    let lines = dead_letter(&dir);
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|l| l["reason"] == "queue_full" && l["attempts"] == 0));
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["alert"]["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e3", "e4", "e5"]);
}

#[test]
fn shutdown_dead_letters_what_it_cannot_deliver_within_its_grace() {
    // Retries every 5 s, a grace of 200 ms: shutdown does not wait for the retry.
    let rx = Receiver::start(|_| Answer::Status(502));
    let dir = scratch("shutdown");
    let mut a = alerts_for(
        &dir,
        &rx.url,
        "backoff = \"5s\"\nbackoff_max = \"10s\"\nshutdown_grace = \"200ms\"\nmax_attempts = 5",
        "",
    );
    fire(&mut a, &["e1"]);
    let started = Instant::now();
    let m = a.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(m.delivery.attempts, 1);
    assert_eq!(dead(&m, DeadReason::Shutdown), 1);
    assert_eq!(m.delivery.queued, 0);
    let lines = dead_letter(&dir);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["reason"], "shutdown");
    assert_eq!(lines[0]["attempts"], 1);
    assert_eq!(lines[0]["error"], "answered HTTP 502");
}

#[test]
fn each_webhook_of_a_rule_gets_its_own_delivery() {
    let ok = Receiver::start(|_| Answer::Status(200));
    let bad = Receiver::start(|_| Answer::Status(404));
    let dir = scratch("two");
    let toml = format!(
        "[[alert]]\nname = \"two\"\nwebhooks = [{{ url = \"{}\" }}, {{ url = \"{}\" }}]\n\
         [[alert]]\nname = \"quiet\"\n",
        ok.url, bad.url
    );
    let mut a = Alerts::open(AlertsConfig::from_toml(&toml).unwrap(), &dir).unwrap();
    fire_two(&mut a);
    let m = a.shutdown();
    assert_eq!(ok.requests().len(), 1);
    assert_eq!(bad.requests().len(), 1);
    assert_eq!(m.delivery.delivered, 1);
    assert_eq!(dead(&m, DeadReason::HttpStatus), 1);
    assert_eq!(dead_letter(&dir)[0]["url"], bad.url.as_str());
}

fn fire_two(a: &mut Alerts) {
    let row = event("e1", "escort", &[412000001], &[], T0, None, 0);
    // Both rules fire; only "two" has webhooks.
    assert_eq!(a.on_events_at(&[row], T0).len(), 2);
}

#[test]
fn an_https_webhook_that_does_not_speak_tls_is_dead_lettered_as_tls_without_retries() {
    // A loopback listener that answers plain HTTP to whatever it is sent.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/hook", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        use std::io::Write;
        let mut accepted = 0;
        listener.set_nonblocking(true).unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end && accepted < 3 {
            match listener.accept() {
                Ok((mut c, _)) => {
                    accepted += 1;
                    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
            if accepted == 1 {
                // One connection is what a non-retried delivery makes; wait a little for more.
                std::thread::sleep(Duration::from_millis(300));
                if listener.accept().is_err() {
                    break;
                }
                accepted += 1;
            }
        }
        accepted
    });
    let dir = scratch("tls");
    let mut a = alerts_for(&dir, &url, "", "");
    fire(&mut a, &["e1"]);
    let m = a.shutdown();
    assert_eq!(server.join().unwrap(), 1);
    assert_eq!(dead(&m, DeadReason::Tls), 1, "{m:?}");
    assert_eq!(m.delivery.attempts, 1);
    let lines = dead_letter(&dir);
    assert_eq!(lines[0]["reason"], "tls");
}

#[test]
fn the_dead_letter_log_may_live_in_a_directory_of_its_own() {
    let dir = scratch("deadpath");
    let toml = format!(
        "[alerts]\ndead_letter = \"logs/alerts/dead.jsonl\"\nmax_attempts = 1\n\
         [[alert]]\nname = \"x\"\nwebhooks = [{{ url = \"{}\" }}]\n",
        closed_port_url()
    );
    let mut a = Alerts::open(AlertsConfig::from_toml(&toml).unwrap(), &dir).unwrap();
    fire(&mut a, &["e1"]);
    let m = a.shutdown();
    assert_eq!(dead(&m, DeadReason::Connect), 1);
    let lines = json_lines(&dir.join("logs/alerts/dead.jsonl"));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["attempts"], 1);
}
