//! `tidewatch ingest` on live feeds over real loopback sockets: a TCP server it connects to, a
//! UDP port it listens on, and a SIGKILL in the middle of a feed (everything that reached the
//! spool is stored exactly once after a restart).

mod common;

use common::{bin, ingest_with, rows, sample, tmp};
use std::collections::BTreeSet;
use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Serves `data` to the first client in `chunks` pieces spread over `spread`, then closes.
fn serve_tcp(data: Vec<u8>, chunks: usize, spread: Duration) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let step = data.len().div_ceil(chunks);
        for piece in data.chunks(step) {
            if c.write_all(piece).is_err() {
                return;
            }
            std::thread::sleep(spread / chunks as u32);
        }
    });
    port
}

/// A spool's bytes without the `#arrival_ms:` line the spool writes before every line.
fn without_arrival_lines(spool: &[u8]) -> Vec<u8> {
    spool
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"#arrival_ms:"))
        .flatten()
        .copied()
        .collect()
}

fn position_keys(store: &Path) -> Vec<(u32, i64)> {
    rows(store).iter().map(|r| (r.mmsi, r.time_ms)).collect()
}

fn segments(store: &Path, feed: &str) -> Vec<PathBuf> {
    let dir = store.join("spool").join(feed).join("ingested");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn a_tcp_feed_is_spooled_in_segments_and_stored_like_the_file() {
    let feed = tmp("live-tcp.nmea");
    sample(&feed, 60);
    let data = std::fs::read(&feed).unwrap();
    let port = serve_tcp(data, 30, Duration::from_millis(3000));
    let store = tmp("live-tcp-store");
    let url = format!("partner-x=tcp://127.0.0.1:{port}");
    let s = ingest_with(
        &[
            url.as_ref(),
            "--rotate".as_ref(),
            "1s".as_ref(),
            "--for".as_ref(),
            "5s".as_ref(),
        ],
        &store,
    );
    let spooled = segments(&store, "partner-x");
    assert!(spooled.len() >= 2, "{spooled:?}");
    assert_eq!(s["inputs_read"], spooled.len(), "{s}");
    // The spool holds the feed byte for byte, each line after its arrival time.
    let joined: Vec<u8> = spooled
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    let lines = joined.split_inclusive(|&b| b == b'\n').count();
    assert!(joined
        .split_inclusive(|&b| b == b'\n')
        .step_by(2)
        .all(|l| l.starts_with(b"#arrival_ms:")));
    assert_eq!(
        lines,
        2 * std::fs::read(&feed)
            .unwrap()
            .split_inclusive(|&b| b == b'\n')
            .count()
    );
    assert_eq!(
        without_arrival_lines(&joined),
        std::fs::read(&feed).unwrap()
    );
    // Same positions as ingesting the file; provenance names the partner.
    let file_store = tmp("live-tcp-file-store");
    ingest_with(&[feed.as_os_str()], &file_store);
    assert_eq!(position_keys(&store), position_keys(&file_store));
    assert!(rows(&store)
        .iter()
        .all(|r| r.sources[0].starts_with("partner-x/sg-")));
}

#[test]
fn a_udp_feed_is_received_and_stored() {
    let feed = tmp("live-udp.nmea");
    sample(&feed, 10);
    let text = std::fs::read_to_string(&feed).unwrap();
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = tmp("live-udp-store");
    let mut child = Command::new(bin())
        .arg("ingest")
        .arg(format!("udp://127.0.0.1:{port}"))
        .args(["--rotate", "1s", "--for", "4s", "-q", "--store"])
        .arg(&store)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    // A few lines per datagram, as AIS receivers forward them.
    let lines: Vec<&str> = text.lines().collect();
    for group in lines.chunks(4) {
        tx.send_to(group.join("\r\n").as_bytes(), ("127.0.0.1", port))
            .unwrap();
        std::thread::sleep(Duration::from_micros(300));
    }
    assert!(child.wait().unwrap().success());
    let file_store = tmp("live-udp-file-store");
    ingest_with(&[feed.as_os_str()], &file_store);
    let got = position_keys(&store);
    let want = position_keys(&file_store);
    assert_eq!(got, want, "{} of {} positions", got.len(), want.len());
}

#[test]
fn a_killed_live_ingest_loses_nothing_that_reached_the_spool() {
    let feed = tmp("live-kill.nmea");
    sample(&feed, 120);
    let data = std::fs::read(&feed).unwrap();
    let total = data.len() as u64;
    let port = serve_tcp(data, 40, Duration::from_millis(3000));
    let store = tmp("live-kill-store");
    let mut child = Command::new(bin())
        .arg("ingest")
        .arg(format!("feed=tcp://127.0.0.1:{port}"))
        .args(["--rotate", "700ms", "-q", "--store"])
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the whole feed reached the spool (ingested segments plus the open one) and
    // at least one run committed, then kill without warning.
    let spool = store.join("spool").join("feed");
    let started = Instant::now();
    loop {
        let size: u64 = walk(&spool)
            .iter()
            .map(|p| p.metadata().unwrap().len())
            .sum();
        let ingested = spool.join("ingested").read_dir().map_or(0, |d| d.count());
        if size >= total && ingested >= 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "feed never spooled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1200)); // let the last bytes be fsynced
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // A restart (the server is gone) closes and ingests what the killed process left.
    ingest_with(
        &[
            "feed=tcp://127.0.0.1:1".as_ref(),
            "--for".as_ref(),
            "1s".as_ref(),
        ],
        &store,
    );
    let leftovers: Vec<PathBuf> = walk(&spool)
        .into_iter()
        .filter(|p| !p.starts_with(spool.join("ingested")))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let joined: Vec<u8> = segments(&store, "feed")
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(without_arrival_lines(&joined).len() as u64, total);

    // Every position exactly once, as from the file.
    let got = position_keys(&store);
    let unique: BTreeSet<_> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "a position stored twice");
    let file_store = tmp("live-kill-file-store");
    ingest_with(&[feed.as_os_str()], &file_store);
    assert_eq!(got, position_keys(&file_store));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_bare_feed_without_timestamps_is_stamped_with_the_receive_time() {
    let feed = tmp("live-bare.nmea");
    sample(&feed, 10);
    // Strip the tag blocks: what a raw receiver serves.
    let bare: String = std::fs::read_to_string(&feed)
        .unwrap()
        .lines()
        .map(|l| match l.strip_prefix('\\') {
            Some(rest) => rest.split_once('\\').map_or(rest, |x| x.1),
            None => l,
        })
        .map(|l| format!("{l}\r\n"))
        .collect();
    let port = serve_tcp(bare.into_bytes(), 10, Duration::from_millis(500));
    let store = tmp("live-bare-store");
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let url = format!("tcp://127.0.0.1:{port}");
    let s = ingest_with(&[url.as_ref(), "--for".as_ref(), "3s".as_ref()], &store);
    assert_eq!(s["dropped"]["no_receive_time"], 0, "{s}");
    let tagged_store = tmp("live-bare-tagged-store");
    let want = ingest_with(&[feed.as_os_str()], &tagged_store)["positions"].clone();
    assert_eq!(s["positions"], want, "{s}");
    // Message times are receive times refined by each report's UTC second.
    let got = rows(&store);
    assert!(
        got.iter().all(|r| (r.time_ms - started).abs() < 120_000),
        "{:?}",
        got[0]
    );
}
