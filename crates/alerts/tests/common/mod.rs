//! Test helpers: a tiny HTTP/1.1 receiver on loopback that records what it is sent, scratch
//! directories, and event rows.

#![allow(dead_code)] // Each test file uses part of this module.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the receiver does with its n-th request (from 0).
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// Answers with this status.
    Status(u16),
    /// Answers with this status and `Retry-After: 0`.
    StatusRetryAfter0(u16),
    /// Waits, then answers with the status.
    Slow(Duration, u16),
    /// Reads the request and closes the connection after the wait without answering.
    Hang(Duration),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// Request line.
    pub line: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// When its head was complete.
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// An HTTP receiver on 127.0.0.1, one connection at a time, stopped when dropped (and after
/// 60 s whatever happens).
pub struct Receiver {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start(answer: impl Fn(usize) -> Answer + Send + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reqs, st) = (Arc::clone(&requests), Arc::clone(&stop));
        let handle = std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(60);
            while !st.load(Ordering::Relaxed) && Instant::now() < end {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let n = reqs.lock().unwrap().len();
                        if let Some(r) = read_request(&conn) {
                            reqs.lock().unwrap().push(r);
                            respond(conn, answer(n));
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Receiver {
            url,
            requests,
            stop,
            handle: Some(handle),
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn read_request(mut conn: &TcpStream) -> Option<Request> {
    conn.set_nonblocking(false).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let at = Instant::now();
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Some(Request {
        line,
        headers,
        body,
        at,
    })
}

fn respond(mut conn: TcpStream, answer: Answer) {
    let status = match answer {
        Answer::Status(s) => s,
        Answer::StatusRetryAfter0(s) => {
            let _ = write!(
                conn,
                "HTTP/1.1 {s} X\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return;
        }
        Answer::Slow(d, s) => {
            std::thread::sleep(d);
            s
        }
        Answer::Hang(d) => {
            std::thread::sleep(d);
            return;
        }
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
}

/// A loopback URL nothing listens on (a port bound, then released).
pub fn closed_port_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/hook")
}

/// A scratch directory, removed (with what is in it) when dropped, pass or fail. Derefs to its
/// path: keep it alive for as long as anything uses the directory.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// A fresh, empty scratch directory for this test, named `tidewatch-alerts-NAME-...`.
pub fn scratch(name: &str) -> Scratch {
    Scratch(
        tempfile::Builder::new()
            .prefix(&format!("tidewatch-alerts-{name}-"))
            .tempdir()
            .unwrap(),
    )
}

/// An event row as the pipeline commits it; `rev` changes its JSON (a count).
pub fn event(
    id: &str,
    kind: &str,
    mmsis: &[u32],
    zones: &[&str],
    start_ms: i64,
    end_ms: Option<i64>,
    rev: u32,
) -> store::EventRow {
    let open = end_ms.is_none();
    let json = serde_json::json!({
        "id": id,
        "type": kind,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "open": open,
        "last_ms": end_ms.unwrap_or(start_ms),
        "vessels": mmsis.iter().map(|m| serde_json::json!({"mmsi": m})).collect::<Vec<_>>(),
        "lat": 15.2,
        "lon": 117.8,
        "zones": zones,
        "confidence": 0.9,
        "count": rev,
    });
    store::EventRow {
        id: id.to_owned(),
        kind: kind.to_owned(),
        start_ms,
        end_ms,
        open,
        mmsis: mmsis.to_vec(),
        zones: zones.iter().map(|z| (*z).to_owned()).collect(),
        json: json.to_string(),
    }
}

/// Reads a JSON-lines file (none: empty).
pub fn json_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(path) {
        Ok(t) => t
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect(),
        Err(_) => Vec::new(),
    }
}
