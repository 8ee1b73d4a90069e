//! The server on a real socket (127.0.0.1, an ephemeral port): plain requests, shutdown, and
//! the live stream with a fast and a deliberately slow client (issue 20).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;

async fn start(
    state: serve::AppState,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = tokio::spawn(serve::serve(listener, state, async move {
        let _ = rx.await;
    }));
    (addr, tx, h)
}

/// A whole response to `GET path` (Connection: close): status line and body.
fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// Opens a stream; returns the connection after the response head.
fn open_stream(addr: SocketAddr, query: &str) -> TcpStream {
    open_stream_as(addr, query, "text/event-stream")
}

/// [`open_stream`], the response of the given content type.
fn open_stream_as(addr: SocketAddr, query: &str, content_type: &str) -> TcpStream {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(c, "GET /api/stream{query} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(c.read(&mut b).unwrap(), 1, "stream closed before its head");
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("content-type: {content_type}")),
        "{head}"
    );
    c
}

/// The complete chunks of a chunked HTTP body.
fn dechunk(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nmea_stream_on_a_socket_is_aivdm_a_decoder_reads() {
    let dir = fixture("socket-nmea");
    let s = state(&dir);
    let (addr, stop, h) = start(s.clone()).await;
    let reader = tokio::task::spawn_blocking(move || {
        let mut c = open_stream_as(addr, "?format=nmea&bbox=100,0,120,20", "text/plain");
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let end = Instant::now() + Duration::from_secs(10);
        while count(&raw, b"!AIVDM") < 6 && Instant::now() < end {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        dechunk(&String::from_utf8_lossy(&raw))
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.picture.on_static(serve::LiveStatic {
        mmsi: TANKER,
        time_ms: T0 + 3 * HOUR,
        name: Some("HAI YANG 8".to_owned()),
        ship_type: Some(80),
        source: "test".to_owned(),
        ..serve::LiveStatic::default()
    });
    // Outside the box: not sent.
    s.picture.on_position(live(CARGO, T0 + 3 * HOUR, 50.0, 0.0));
    s.picture
        .on_position(live(TANKER, T0 + 3 * HOUR, 15.3, 117.3));
    s.picture
        .on_position(live(COASTGUARD, T0 + 3 * HOUR + MIN, 15.2, 117.2));
    let text = reader.await.unwrap();
    let mut got = Vec::new();
    let mut d = ais::Decoder::new(ais::DecoderConfig::default());
    let mut sink = |m: &ais::Message<'_>, meta: &ais::Meta| {
        got.push((m.header().msg_type, m.header().mmsi.0, meta.rx_time_ms));
    };
    d.feed(text.as_bytes(), &mut sink);
    let stats = d.finish(&mut sink);
    assert_eq!(stats.rejected_total(), 0, "{text}");
    assert_eq!(
        got,
        [
            (5, TANKER, Some(T0 + 3 * HOUR)),
            (1, TANKER, Some(T0 + 3 * HOUR)),
            // Named in the store the picture was seeded from.
            (5, COASTGUARD, Some(T0 + 3 * HOUR + MIN)),
            (1, COASTGUARD, Some(T0 + 3 * HOUR + MIN))
        ],
        "{text}"
    );
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), h)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_socket_serves_requests_and_shuts_down() {
    let dir = fixture("socket");
    let (addr, stop, h) = start(state(&dir)).await;
    let (status, body) = tokio::task::spawn_blocking(move || http_get(addr, "/api/health"))
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["vessels"], 3);
    let (status, body) = tokio::task::spawn_blocking(move || http_get(addr, "/nope"))
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(body.contains("\"error\":\"not_found\""), "{body}");
    // An open stream ends at shutdown, and the server stops without waiting for its cut-off.
    let stream = tokio::task::spawn_blocking(move || {
        let mut c = open_stream(addr, "");
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).map(|_| rest)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), h)
        .await
        .expect("the server stops after its shutdown signal")
        .unwrap()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    let rest = stream.await.unwrap().expect("the stream ends cleanly");
    assert!(
        rest.ends_with(b"0\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_stream_client_is_thinned_then_dropped_while_a_fast_one_keeps_up() {
    let dir = fixture("stream");
    let mut s = state(&dir);
    s.stream = serve::StreamConfig {
        queue_items: 4096,
        stall_timeout: Duration::from_secs(60),
        keep_alive: Duration::from_secs(1),
    };
    let picture = s.picture.clone();
    let (addr, stop, h) = start(s).await;
    let pusher = picture.clone();
    let work = tokio::task::spawn_blocking(move || {
        let picture = pusher;
        // The fast client reads everything in its box as it comes.
        let mut fast = open_stream(addr, "?bbox=100,0,120,20");
        let fast_reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(90) {
                match fast.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
                if count(&got[got.len().saturating_sub(1 << 17)..], b"MARKER") > 0 {
                    break;
                }
            }
            got
        });
        // The slow client reads its head, then nothing until the end.
        let mut slow = open_stream(addr, "");
        let wait = |what: &str, done: &dyn Fn(&serve::StreamStats) -> bool| {
            let t = Instant::now();
            while !done(&picture.stream_stats()) {
                assert!(
                    t.elapsed() < Duration::from_secs(5),
                    "no client after 5 s: {what}"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        wait("two clients", &|s| s.clients == 2);
        let mut time = T0 + 10 * HOUR;
        let mut pushed = 0u64;
        let mut round = |vessels: u32, chunk: u32| {
            time += 1000;
            for m in 0..vessels {
                picture.on_position(live(300_000_000 + m, time, 10.0, 110.0 + m as f64 / 1e4));
                pushed += 1;
                if m % chunk == chunk - 1 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        };
        // Phase 1: 200 vessels over and over: the slow client's socket buffers fill, then its
        // queue is thinned to the latest position per vessel.
        let t = Instant::now();
        while picture.stream_stats().thinned < 20_000 {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "never thinned: {:?}",
                picture.stream_stats()
            );
            round(200, 100);
        }
        assert!(
            picture.stream_stats().dropped.is_empty(),
            "{:?}",
            picture.stream_stats()
        );
        // Phase 2: 6,000 distinct vessels cannot be thinned into 4,096 places: dropped.
        let t = Instant::now();
        while picture.stream_stats().dropped.is_empty() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "never dropped: {:?}",
                picture.stream_stats()
            );
            round(6000, 250);
        }
        // Outside the fast client's box.
        picture.on_position(live(299_000_000, time, 10.0, 150.0));
        let mut marker = escort_event();
        marker.id = "MARKER".to_owned();
        picture.on_events(&[marker]);
        let fast = fast_reader.join().unwrap();
        // The slow client finds the end of its stream after what its buffers held.
        let mut rest = Vec::new();
        let t = Instant::now();
        let mut buf = vec![0u8; 1 << 16];
        let ended = loop {
            match slow.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => rest.extend_from_slice(&buf[..n]),
                Err(_) => break false,
            }
            if t.elapsed() > Duration::from_secs(30) {
                break false;
            }
        };
        (fast, rest, ended, pushed)
    });
    let (fast, slow, slow_ended, pushed) = work.await.unwrap();
    let stats = picture.stream_stats();
    assert_eq!(stats.dropped.get("queue_full"), Some(&1), "{stats:?}");
    assert_eq!(
        stats.dropped.len(),
        1,
        "only the slow client is dropped: {stats:?}"
    );
    assert!(slow_ended, "the server ended the slow client's stream");
    assert_eq!(count(&slow, b"MARKER"), 0);
    let fast_positions = count(&fast, b"event: position");
    let slow_positions = count(&slow, b"event: position");
    assert!(
        count(&fast, b"MARKER") == 1,
        "the fast client got everything up to the end"
    );
    assert!(
        slow_positions < fast_positions,
        "slow {slow_positions} fast {fast_positions}"
    );
    assert!(fast_positions as u64 <= pushed);
    assert_eq!(count(&fast, b"\"lon\":150"), 0, "bbox filter");
    // A position frame is one JSON object with the contract's fields.
    let text = String::from_utf8_lossy(&fast);
    let data = text
        .split("event: position\ndata: ")
        .nth(1)
        .and_then(|r| r.split('\n').next())
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    for k in [
        "mmsi",
        "time",
        "lat",
        "lon",
        "sog_knots",
        "cog_deg",
        "heading_deg",
        "ship_category",
        "name",
    ] {
        assert!(v.get(k).is_some(), "{k} in {v}");
    }
    eprintln!(
        "pushed {pushed}, fast got {fast_positions}, slow got {slow_positions} before its drop; {stats:?}"
    );
    // The server goes on serving.
    let (status, _) = tokio::task::spawn_blocking(move || http_get(addr, "/api/health"))
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), h)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_sends_positions_in_its_box_events_of_its_types_and_every_alert() {
    let dir = fixture("filters");
    let s = state(&dir);
    let picture = s.picture.clone();
    let (addr, stop, h) = start(s).await;
    let got = tokio::task::spawn_blocking(move || {
        let mut c = open_stream(addr, "?bbox=110,10,120,20&types=escort");
        let t = Instant::now();
        while picture.stream_stats().clients < 1 {
            assert!(t.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(5));
        }
        picture.on_position(live(TANKER, T0 + 3 * HOUR, 15.5, 117.5));
        picture.on_position(live(CARGO, T0 + 3 * HOUR, 1.3, 104.0));
        picture.on_events(&[gap_event()]);
        picture.on_events(&[escort_event()]);
        picture.on_alert("escorts near the shoal", None, &gap_event());
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while count(&got, b"event: alert") == 0 && t.elapsed() < Duration::from_secs(10) {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8(got).unwrap()
    })
    .await
    .unwrap();
    let body = dechunk(&got);
    let frames: Vec<(&str, serde_json::Value)> = body
        .split("\n\n")
        .filter_map(|f| {
            let (ev, data) = f.split_once("\ndata: ")?;
            Some((
                ev.strip_prefix("event: ")?,
                serde_json::from_str(data).ok()?,
            ))
        })
        .collect();
    let kinds: Vec<&str> = frames.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["position", "event", "alert"], "{got}");
    assert_eq!(frames[0].1["mmsi"], TANKER);
    assert_eq!(frames[0].1["name"], "HAI YANG 8");
    assert_eq!(frames[0].1["ship_category"], "tanker");
    assert_eq!(frames[0].1["time"], "2026-01-15T03:00:00.000Z");
    let e = &frames[1].1;
    assert_eq!(e["type"], "escort");
    assert_eq!(
        (e["lat"].as_f64(), e["lon"].as_f64()),
        (Some(15.1), Some(117.2))
    );
    assert_eq!(e["mmsis"], serde_json::json!([COASTGUARD, TANKER]));
    let a = &frames[2].1;
    assert_eq!(a["rule"], "escorts near the shoal");
    assert_eq!(a["event"]["type"], "ais_gap");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), h)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
