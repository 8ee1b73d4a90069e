//! The audit log survives kill -9 (issue 21). This test binary (no test harness) runs itself
//! as a child that appends entries and acknowledges each on stdout once `append` returned;
//! the parent kills it with SIGKILL at spread-out points, eight times over one log. After
//! each kill: every acknowledged entry is in the log, the chain verifies except (at most) a
//! torn last line, and the next writer cuts that line off on record; at the end the whole
//! chain verifies.

use access::audit::{self, AuditFilter, Problem, RECOVERY_ENDPOINT};
use access::{AuditLog, AuditRecord};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "TW_AUDIT_KILL_CHILD";

fn record(i: u64) -> AuditRecord {
    AuditRecord {
        time_ms: 1_768_435_200_000 + i as i64,
        principal: "ind-link".into(),
        partner: "IND".into(),
        endpoint: "/v1/track".into(),
        // Large entries (1 MiB), so that a kill can land inside a write.
        params: serde_json::json!({"mmsi": 419_000_000 + i, "pad": "x".repeat(1 << 20)}),
        returned: i,
        withheld: 0,
        status: None,
        repeats: None,
    }
}

/// The child: append until killed (bounded), acknowledging each durable entry.
fn child(store: &Path) {
    let (mut log, _torn) = AuditLog::open(store, 0).expect("open the audit log");
    let mut out = std::io::stdout().lock();
    for i in 0..100_000 {
        let seq = log.append(&record(i)).expect("append");
        writeln!(out, "{seq}").expect("stdout");
        out.flush().expect("stdout");
    }
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    // The store's directory, removed when `scratch` is dropped (pass or fail).
    let scratch = tempfile::Builder::new()
        .prefix("tw-audit-kill-")
        .tempdir()
        .unwrap();
    let store: PathBuf = scratch.path().to_owned();
    std::fs::write(store.join("manifest.jsonl"), "").unwrap();
    let path = store.join(audit::AUDIT_LOG);
    let me = std::env::current_exe().unwrap();
    let mut acknowledged = Vec::new();
    let mut torn_seen = 0;
    // Entries acknowledged before each kill; the kill then comes `round / 8` of one append's
    // time (measured between acknowledgements) later, so that the eight kills land at spread
    // points of the cycle: building the entry, writing it, syncing it.
    let mut cycle = std::time::Duration::from_millis(20);
    for (round, after) in [2u64, 3, 7, 2, 12, 5, 20, 9].into_iter().enumerate() {
        if round == 4 {
            // What a kill in the middle of a write leaves (rarely hit by the timing above,
            // where building a 1 MiB entry takes most of the cycle): a torn last line. The
            // next child must cut it off on record and go on.
            let len = std::fs::metadata(&path).unwrap().len();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(len - 1000)
                .unwrap();
            let torn_seq = acknowledged.pop().unwrap();
            assert!(matches!(
                audit::verify(&path, None).unwrap().problems[..],
                [audit::LineProblem {
                    problem: Problem::TornTail { .. },
                    ..
                }]
            ));
            assert_eq!(
                Some(&torn_seq),
                acknowledged.iter().max().map(|m| m + 1).as_ref()
            );
        }
        let mut c = Command::new(&me)
            .env(CHILD_ENV, &store)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
        let mut last = std::time::Instant::now();
        for k in 0..after {
            let seq: u64 = lines.next().unwrap().unwrap().parse().unwrap();
            acknowledged.push(seq);
            if k > 0 {
                cycle = last.elapsed();
            }
            last = std::time::Instant::now();
        }
        std::thread::sleep(cycle * round as u32 / 8);
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        // Acknowledged lines the pipe still held count too: they were durable before.
        for l in lines {
            acknowledged.push(l.unwrap().parse().unwrap());
        }
        let v = audit::verify(&path, None).unwrap();
        for p in &v.problems {
            assert!(
                matches!(p.problem, Problem::TornTail { .. }),
                "round {round}: {p:?}"
            );
        }
        if !v.problems.is_empty() {
            torn_seen += 1;
        }
        let (entries, _) = audit::read(&path, &AuditFilter::default()).unwrap();
        let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
        for a in &acknowledged {
            assert!(
                seqs.contains(a),
                "round {round}: acknowledged entry {a} lost"
            );
        }
    }
    // The last writer recovers whatever the last kill left, then the chain is whole.
    let (log, torn) = AuditLog::open(&store, 0).unwrap();
    drop(log);
    let v = audit::verify(&path, None).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    let (entries, bad) = audit::read(&path, &AuditFilter::default()).unwrap();
    assert_eq!(bad, 0);
    let recoveries = entries
        .iter()
        .filter(|e| e.record.endpoint == RECOVERY_ENDPOINT)
        .count();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "seqs are contiguous");
    }
    println!(
        "audit kill test: 8 kills, {} entries, {} acknowledged, {torn_seen} torn tails seen after a kill, {recoveries} recovered on record (last open: {})",
        entries.len(),
        acknowledged.len(),
        if torn.is_some() { "torn" } else { "clean" }
    );
    assert!(
        recoveries >= 1,
        "the torn line of round 4 was recovered on record"
    );
    assert!(acknowledged.len() >= 59);
    scratch.close().unwrap();
}
