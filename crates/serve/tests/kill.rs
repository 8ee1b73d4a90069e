//! The audit log survives kill -9 of a serving server (issue 21): a client reads as fast as
//! it can while the server is SIGKILLed; the server is started again (which recovers a torn
//! last line) and the chain verifies, holding at least one entry per answered read (an entry
//! is fsynced before its response is sent).
//!
//! Runs itself as the server: `TW_SHARE_SERVE_DIR=DIR` makes this binary serve DIR on a free
//! loopback port, print the port, and serve until killed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "TW_SHARE_SERVE_DIR";

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    the_audit_log_survives_kill_9_while_serving();
    println!("test the_audit_log_survives_kill_9_while_serving ... ok");
}

fn child(dir: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cfg = serve::AccessConfig {
            rate_per_s: 10_000.0,
            burst: 10_000.0,
            ..serve::AccessConfig::default()
        };
        let state =
            serve::AppState::with_access(serve::Picture::new(dir), dir, cfg).expect("access");
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", l.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        serve::serve(l, state, std::future::pending())
            .await
            .unwrap();
    });
}

fn start(dir: &Path) -> (Child, u16) {
    let mut c = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (c, line.trim().parse().expect("the child's port"))
}

/// One GET, the `n`th: whether it was answered 200. Each asks a different question (its own
/// `limit`): identical reads answered empty one after another are counted in one entry (see
/// `Gate::append_read`), while this test wants an entry per read.
fn get(port: u16, token: &str, n: u64) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!(
        "GET /api/vessels?limit={} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        n + 1
    );
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out.starts_with(b"HTTP/1.1 200")
}

/// A fresh store in a scratch directory, removed when the guard is dropped.
fn store() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("tw-share-kill-")
        .tempdir()
        .unwrap();
    store::Store::create_or_open(dir.path()).unwrap();
    dir
}

fn the_audit_log_survives_kill_9_while_serving() {
    // Removed when this function returns or panics, after every child is killed and waited.
    let scratch = store();
    let dir = scratch.path();
    let a = access::Access::open(dir).unwrap();
    let (_, secret) = a
        .create_token(
            &access::NewToken {
                name: "reader".to_owned(),
                partner: access::label::Name::parse("FRA").unwrap(),
                groups: Default::default(),
                kind: None,
            },
            0,
        )
        .unwrap();
    let token = secret.expose().to_owned();
    let mut answered = 0u64;
    for round in 0..4u64 {
        let (mut child, port) = start(dir);
        // Read until the kill, which comes at a different point each round.
        let kill_after = Duration::from_millis(150 + 70 * round);
        let t = Instant::now();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(kill_after);
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        });
        while t.elapsed() < kill_after + Duration::from_millis(200) {
            if get(port, &token, answered) {
                answered += 1;
            }
        }
        killer.join().unwrap();
    }
    // A restart recovers a torn tail; then the chain verifies.
    let (mut child, port) = start(dir);
    assert!(get(port, &token, answered));
    answered += 1;
    child.kill().unwrap();
    child.wait().unwrap();
    let v = access::audit::verify(&dir.join(access::audit::AUDIT_LOG), None).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    let (entries, _) =
        access::audit::read(&dir.join(access::audit::AUDIT_LOG), &Default::default()).unwrap();
    let reads = entries
        .iter()
        .filter(|e| e.record.endpoint == "/api/vessels")
        .count() as u64;
    assert!(answered > 20, "the client got {answered} answers");
    assert!(
        reads >= answered,
        "{reads} audited reads for {answered} answered ones"
    );
    let log = std::fs::read_to_string(dir.join(access::audit::AUDIT_LOG)).unwrap();
    assert!(!log.contains(&token));
    eprintln!("kill test: {answered} answered reads, {reads} audited, 4 kills");
}
