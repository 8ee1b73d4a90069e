//! Load benchmark of the live server (issue 20): CLIENTS stream clients on loopback while
//! positions are pushed into the picture at RATE a second for SECONDS; prints the server
//! process's RSS every second, the latency from `Picture::on_position` to a client reading the
//! frame (p50, p99, max), API latency under that load, and the stream's counters.
//!
//! The server (picture, router, pusher) runs in this process; the clients run in a child
//! process (this binary with `--client-mode`), so the RSS is the server's alone. Each position
//! carries the wall-clock time of its push as its message time, which the client subtracts
//! from its own clock at reading (same machine, ms resolution). Each client watches a random
//! BOX_DEG x BOX_DEG viewport of the area the vessels sail in (lat -60..60, all longitudes).
//!
//!     cargo run --profile loadbench -p tidewatch-serve --example serve_load -- \
//!         [--clients 1000] [--rate 100000] [--seconds 20] [--vessels 20000] [--box-deg 10]
//!
//! (`bench/serve/run` builds and runs it with the profile's settings.) Bounded: the push stops
//! after SECONDS, the clients after SECONDS + 5; loopback only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct Args {
    clients: usize,
    rate: u64,
    seconds: u64,
    vessels: u32,
    box_deg: f64,
}

fn arg<T: std::str::FromStr>(v: &[String], name: &str, default: T) -> T {
    v.iter()
        .position(|a| a == name)
        .and_then(|i| v.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process has used.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which is in parentheses).
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn http_get_ms(addr: SocketAddr, path: &str) -> Option<f64> {
    let t = Instant::now();
    let mut c = TcpStream::connect(addr).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    c.read_to_end(&mut out).ok()?;
    out.starts_with(b"HTTP/1.1 200")
        .then(|| t.elapsed().as_secs_f64() * 1000.0)
}

fn main() {
    let v: Vec<String> = std::env::args().collect();
    if let Some(i) = v.iter().position(|a| a == "--client-mode") {
        let addr: SocketAddr = v[i + 1].parse().expect("address");
        client_mode(addr, &v);
        return;
    }
    let a = Args {
        clients: arg(&v, "--clients", 1000),
        rate: arg(&v, "--rate", 100_000),
        seconds: arg(&v, "--seconds", 20),
        vessels: arg(&v, "--vessels", 20_000),
        box_deg: arg(&v, "--box-deg", 10.0),
    };
    let dir = std::env::temp_dir().join(format!("tw-serve-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let picture = serve::Picture::new(&dir);
    // Open mode shares one rate bucket (20 a second, 100 at once): a thousand stream clients
    // and the API sampler are this benchmark's load, not one user's.
    let state = serve::AppState::with_access(
        picture.clone(),
        &dir,
        serve::AccessConfig {
            rate_per_s: 1e6,
            burst: 1e6,
            ..serve::AccessConfig::default()
        },
    )
    .expect("server state");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(serve::serve(listener, state, async move {
        let _ = stop_rx.await;
    }));
    println!(
        "serve_load: {} clients, {} positions/s for {} s over {} vessels, {}° viewports, server on {addr}",
        a.clients, a.rate, a.seconds, a.vessels, a.box_deg
    );
    let rss_idle = rss_kib();
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--client-mode",
            &addr.to_string(),
            "--clients",
            &a.clients.to_string(),
            "--seconds",
            &(a.seconds + 5).to_string(),
            "--box-deg",
            &a.box_deg.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("client process");
    let t = Instant::now();
    while picture.stream_stats().clients < a.clients as u64 {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "clients did not connect: {:?}",
            picture.stream_stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "{} clients connected in {:.1} s; RSS before the push {} MiB",
        a.clients,
        t.elapsed().as_secs_f64(),
        rss_kib() / 1024
    );
    // Sampler: RSS each second and API latency every 100 ms.
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        let picture = picture.clone();
        std::thread::spawn(move || {
            let mut rss = Vec::new();
            let mut api_vessels = Vec::new();
            let mut api_health = Vec::new();
            let mut api_failed = 0u64;
            let t = Instant::now();
            let mut next_rss = 0.0;
            while !done.load(Ordering::Relaxed) {
                let s = t.elapsed().as_secs_f64();
                if s >= next_rss {
                    rss.push((s, rss_kib(), picture.stream_stats()));
                    next_rss += 1.0;
                }
                match http_get_ms(addr, "/api/vessels?bbox=0,0,10,10") {
                    Some(ms) => api_vessels.push(ms),
                    None => api_failed += 1,
                }
                match http_get_ms(addr, "/api/health") {
                    Some(ms) => api_health.push(ms),
                    None => api_failed += 1,
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            (rss, api_vessels, api_health, api_failed)
        })
    };
    // The pusher: RATE positions a second, a thousandth each millisecond (catching up when
    // late), each vessel drifting from a random start.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut pos: Vec<(f64, f64)> = (0..a.vessels)
        .map(|_| (rng.next() * 120.0 - 60.0, rng.next() * 360.0 - 180.0))
        .collect();
    let total = a.rate * a.seconds;
    let cpu_before = cpu_s();
    let start = Instant::now();
    let mut pushed = 0u64;
    while pushed < total {
        let due = ((start.elapsed().as_secs_f64() * a.rate as f64) as u64).min(total);
        while pushed < due {
            let i = (pushed % a.vessels as u64) as usize;
            let p = &mut pos[i];
            p.1 += 0.0001;
            if p.1 > 180.0 {
                p.1 -= 360.0;
            }
            picture.on_position(serve::LivePosition {
                mmsi: 200_000_000 + i as u32,
                time_ms: wall_ms(),
                lat: p.0,
                lon: p.1,
                sog_knots: Some(12.0),
                cog_deg: Some(90.0),
                heading_deg: Some(90.0),
                nav_status: Some(0),
                class: Some('A'),
                source: "load".to_owned(),
            });
            pushed += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let push_s = start.elapsed().as_secs_f64();
    let cpu_push = cpu_s() - cpu_before;
    std::thread::sleep(Duration::from_secs(1));
    done.store(true, Ordering::Relaxed);
    let (rss, api_vessels, api_health, api_failed) = sampler.join().expect("sampler");
    let mut out = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    let _ = child.wait();
    let _ = stop_tx.send(());
    let _ = rt.block_on(server);
    std::fs::remove_dir_all(&dir).ok();

    println!(
        "pushed {pushed} positions in {push_s:.2} s ({:.0}/s); server process CPU {cpu_push:.1} s ({:.2} cores; pusher and API sampler included); load average {}",
        pushed as f64 / push_s,
        cpu_push / push_s,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "server RSS: idle {} MiB; during the push (s, MiB, clients, sent, thinned, dropped):",
        rss_idle / 1024
    );
    for (s, kib, st) in &rss {
        println!(
            "  {s:5.1} {:6} {:5} {:10} {:9} {:?}",
            kib / 1024,
            st.clients,
            st.sent,
            st.thinned,
            st.dropped
        );
    }
    let mut api_vessels = api_vessels;
    let mut api_health = api_health;
    api_vessels.sort_by(f64::total_cmp);
    api_health.sort_by(f64::total_cmp);
    println!(
        "API under load: /api/vessels?bbox=0,0,10,10 n={} p50 {:.1} ms p99 {:.1} ms; /api/health n={} p50 {:.1} ms p99 {:.1} ms; failed {api_failed}",
        api_vessels.len(),
        percentile(&api_vessels, 0.5),
        percentile(&api_vessels, 0.99),
        api_health.len(),
        percentile(&api_health, 0.5),
        percentile(&api_health, 0.99),
    );
    print!("{out}");
    println!("stream counters at the end: {:?}", picture.stream_stats());
}

/// Histogram of latencies, 1 ms buckets up to 10 s.
struct Hist(Vec<AtomicU64>);

impl Hist {
    fn add(&self, ms: i64) {
        let i = (ms.max(0) as usize).min(self.0.len() - 1);
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }
    fn quantile(&self, q: f64) -> Option<usize> {
        let counts: Vec<u64> = self.0.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let n: u64 = counts.iter().sum();
        if n == 0 {
            return None;
        }
        let want = ((n as f64) * q).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in counts.iter().enumerate() {
            acc += c;
            if acc >= want {
                return Some(i);
            }
        }
        None
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS.sssZ` to Unix ms.
fn iso_ms(s: &[u8]) -> Option<i64> {
    let n = |a: usize, b: usize| -> Option<i64> {
        std::str::from_utf8(s.get(a..b)?).ok()?.parse().ok()
    };
    let (y, m, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + n(11, 13)?) * 60 + n(14, 16)?) * 60_000 + n(17, 19)? * 1000 + n(20, 23)?)
}

fn client_mode(addr: SocketAddr, v: &[String]) {
    let clients: usize = arg(v, "--clients", 1000);
    let seconds: u64 = arg(v, "--seconds", 25);
    let box_deg: f64 = arg(v, "--box-deg", 10.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let hist = Arc::new(Hist((0..10_001).map(|_| AtomicU64::new(0)).collect()));
    let received = Arc::new(AtomicU64::new(0));
    let ended = Arc::new(AtomicU64::new(0));
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    rt.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let lat = rng.next() * (120.0 - box_deg) - 60.0;
            let lon = rng.next() * (360.0 - box_deg) - 180.0;
            let path = format!(
                "/api/stream?bbox={lon:.3},{lat:.3},{:.3},{:.3}",
                lon + box_deg,
                lat + box_deg
            );
            let (hist, received, ended) = (hist.clone(), received.clone(), ended.clone());
            tasks.push(tokio::spawn(async move {
                let Ok(c) = tokio::net::TcpStream::connect(addr).await else {
                    return;
                };
                let req = format!("GET {path} HTTP/1.1\r\nHost: b\r\n\r\n");
                let mut sent = 0;
                while sent < req.len() {
                    if c.writable().await.is_err() {
                        return;
                    }
                    match c.try_write(&req.as_bytes()[sent..]) {
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => return,
                    }
                }
                let mut buf = vec![0u8; 1 << 16];
                let mut carry: Vec<u8> = Vec::new();
                loop {
                    let r = tokio::time::timeout_at(deadline, c.readable()).await;
                    let r = match r {
                        Ok(Ok(())) => match c.try_read(&mut buf) {
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                            other => Ok(other),
                        },
                        Ok(Err(e)) => Ok(Err(e)),
                        Err(e) => Err(e),
                    };
                    let n = match r {
                        Ok(Ok(0)) | Ok(Err(_)) => {
                            ended.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        Ok(Ok(n)) => n,
                        Err(_) => return,
                    };
                    let now = wall_ms();
                    carry.extend_from_slice(&buf[..n]);
                    const KEY: &[u8] = b"\"time\":\"";
                    let mut i = 0;
                    let mut last = 0;
                    while let Some(k) = carry[i..].windows(KEY.len()).position(|w| w == KEY) {
                        let at = i + k + KEY.len();
                        if at + 24 > carry.len() {
                            break;
                        }
                        if let Some(t) = iso_ms(&carry[at..at + 24]) {
                            hist.add(now - t);
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                        i = at + 24;
                        last = i;
                    }
                    carry.drain(..last.max(carry.len().saturating_sub(64)).min(carry.len()));
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let q = |p| {
        hist.quantile(p)
            .map_or("-".to_owned(), |v| format!("{v} ms"))
    };
    println!(
        "clients: process CPU {:.1} s; {} positions received; latency on_position -> client read: p50 {} p99 {} p99.9 {} max {}; streams ended by the server: {}",
        cpu_s(),
        received.load(Ordering::Relaxed),
        q(0.5),
        q(0.99),
        q(0.999),
        q(1.0),
        ended.load(Ordering::Relaxed)
    );
}
