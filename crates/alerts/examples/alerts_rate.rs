//! Measures the alerts on loopback: `on_events` rows per second (one ledger fsync per batch),
//! ledger bytes per event, and webhook deliveries per second to a local receiver.
//!
//! `cargo run -p tidewatch-alerts --example alerts_rate [EVENTS] [BATCH] [DELIVERIES]`
//! (defaults 100000, 500, 2000). Writes in a scratch directory under the system temp dir and
//! removes it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alerts::{Alerts, AlertsConfig};

fn row(i: u64, t: i64) -> store::EventRow {
    let kinds = ["escort", "loitering", "ais_gap", "encounter", "swarm"];
    let kind = kinds[(i % kinds.len() as u64) as usize];
    let mmsi = 412_000_000 + (i % 1000) as u32;
    let zones = if i.is_multiple_of(3) {
        vec!["EEZ".to_owned()]
    } else {
        vec![]
    };
    let json = serde_json::json!({
        "id": format!("{i:016x}"), "type": kind, "start_ms": t, "end_ms": t, "open": false,
        "last_ms": t, "vessels": [{"mmsi": mmsi}], "lat": 15.0, "lon": 117.0, "zones": zones,
        "confidence": 0.8, "evidence": [], "sources": ["sim"],
    });
    store::EventRow {
        id: format!("{i:016x}"),
        kind: kind.to_owned(),
        start_ms: t,
        end_ms: Some(t),
        open: false,
        mmsis: vec![mmsi],
        zones,
        json: json.to_string(),
    }
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let events = args.first().copied().unwrap_or(100_000);
    let batch = args.get(1).copied().unwrap_or(500).max(1);
    let deliveries = args.get(2).copied().unwrap_or(2000);
    // Removed when `scratch` is dropped, also if a step panics.
    let scratch = tempfile::Builder::new()
        .prefix("alerts-rate-")
        .tempdir()
        .unwrap();
    let dir = scratch.path();

    // 1. Rules only (no webhooks): ten rules, every event once.
    let mut rules = String::new();
    for (i, t) in ["escort", "loitering", "ais_gap", "encounter", "swarm"]
        .iter()
        .enumerate()
    {
        rules.push_str(&format!(
            "[[alert]]\nname = \"r{i}\"\ntypes = [\"{t}\"]\n[[alert]]\nname = \"z{i}\"\nzones = [\"EEZ\"]\nmmsis = [{}]\n",
            412_000_000 + i
        ));
    }
    let mut a = Alerts::open(AlertsConfig::from_toml(&rules).unwrap(), dir).unwrap();
    let t0 = 1_767_225_600_000i64;
    let started = Instant::now();
    let mut fired = 0;
    let mut i = 0;
    while i < events {
        let rows: Vec<_> = (i..(i + batch).min(events))
            .map(|k| row(k, t0 + k as i64 * 1000))
            .collect();
        fired += a.on_events(&rows).len();
        i += batch;
    }
    let took = started.elapsed();
    let m = a.shutdown();
    let ledger_bytes = std::fs::metadata(dir.join(alerts::LEDGER_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "on_events: {events} events in batches of {batch}, {fired} alerts, {:.2} s, {:.0} events/s; \
         ledger {} events, {} lines, {:.1} bytes/event",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64(),
        m.ledger_events,
        m.ledger_lines,
        ledger_bytes as f64 / m.ledger_lines.max(1) as f64
    );

    // 2. Deliveries to a loopback receiver (one connection per request, answers 204).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let (st, rc) = (Arc::clone(&stop), Arc::clone(&received));
    let server = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(120);
        let mut buf = vec![0u8; 64 * 1024];
        while !st.load(Ordering::Relaxed) && Instant::now() < end {
            let Ok((mut c, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            };
            c.set_nonblocking(false).ok();
            c.set_read_timeout(Some(Duration::from_secs(2))).ok();
            let mut got = Vec::new();
            // Head, then as much body as Content-Length says.
            while let Ok(n) = c.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if let Some(h) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&got[..h]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if got.len() >= h + 4 + len {
                        break;
                    }
                }
            }
            let _ = c.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            rc.fetch_add(1, Ordering::Relaxed);
        }
    });
    let dir2 = dir.join("deliver");
    std::fs::create_dir_all(&dir2).unwrap();
    let toml = format!(
        "[alerts]\nqueue_capacity = {}\nshutdown_grace = \"1m\"\n[[alert]]\nname = \"all\"\nwebhooks = [{{ url = \"{url}\" }}]\n",
        deliveries.max(1)
    );
    let mut a = Alerts::open(AlertsConfig::from_toml(&toml).unwrap(), &dir2).unwrap();
    let started = Instant::now();
    let rows: Vec<_> = (0..deliveries).map(|k| row(k, t0 + k as i64)).collect();
    a.on_events(&rows);
    let m = a.shutdown();
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    println!(
        "webhooks: {} delivered, {} dead-lettered, {} received, {:.2} s, {:.0} deliveries/s (2 threads)",
        m.delivery.delivered,
        m.delivery.dead_lettered_total(),
        received.load(Ordering::Relaxed),
        took.as_secs_f64(),
        m.delivery.delivered as f64 / took.as_secs_f64()
    );
    scratch.close().unwrap();
}
