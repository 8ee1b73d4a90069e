//! `tidewatch serve` and `tidewatch demo` end to end, on real sockets (issue 20): sources into
//! the live picture and the store, the API over them, restarts that lose and double nothing.

mod common;

use common::{bin, ingest_with, sample, tmp};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// GET `path` from `addr`; returns status and body.
fn get(addr: &str, path: &str) -> (u16, String) {
    request(addr, path, "")
}

/// GET `path` from `addr` with extra header lines (each ending in CRLF).
fn request(addr: &str, path: &str, headers: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn unchunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn get_json(addr: &str, path: &str) -> Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn start(args: &[&std::ffi::OsStr]) -> (Child, String) {
    common::spawn_server(Command::new(bin()).args(args))
}

/// Polls `f` until it returns true or `secs` pass.
fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

/// `tidewatch audit --verify` passes on the store's log.
fn audit_verifies(store: &Path) {
    let verified = Command::new(bin())
        .args(["audit", "--verify", "--store"])
        .arg(store)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

fn terminate(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "server exited with {st}");
            return;
        }
        assert!(Instant::now() < end, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn positions_in(store: &Path) -> u64 {
    // Every stored position row: each vessel's whole track.
    let out = Command::new(bin())
        .args(["vessels", "--format", "jsonl", "--store"])
        .arg(store)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mmsis: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["mmsi"].as_u64())
        .collect();
    mmsis
        .iter()
        .map(|m| {
            let out = Command::new(bin())
                .args(["track", &m.to_string(), "--format", "jsonl"])
                .args(["--from", "2000-01-01", "--to", "2100-01-01", "--store"])
                .arg(store)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout.iter().filter(|&&b| b == b'\n').count() as u64
        })
        .sum()
}

fn config(dir: &Path, body: &str) -> std::path::PathBuf {
    let p = dir.with_extension("toml");
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn serve_replays_a_feed_into_the_picture_and_the_store_and_a_restart_doubles_nothing() {
    let feed = tmp("serve-feed.nmea");
    sample(&feed, 30);
    // The reference: the same file through a plain ingest.
    let reference = tmp("serve-reference");
    let r = ingest_with(&[feed.as_os_str()], &reference);
    let stored = positions_in(&reference);
    assert!(stored > 500, "{r}");

    let store = tmp("serve-store");
    // Half an hour of sample at 600x: three seconds.
    let cfg = config(
        &store,
        &format!(
            "listen = \"127.0.0.1:0\"\ncommit_every = \"1s\"\nno_detect = true\n\
             [[source]]\nname = \"archive\"\nreplay = \"{}\"\nspeed = 600\n\
             [[alert]]\nname = \"dark\"\ntypes = [\"ais_gap\"]\n",
            feed.display()
        ),
    );
    let args = [
        "serve".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--config".as_ref(),
        cfg.as_os_str(),
    ];
    let (child, addr) = start(&args);
    // The live picture fills as the replay runs (before any commit).
    wait_for(30, "vessels in the live picture", || {
        get_json(&addr, "/api/health")["vessels"]
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    let vessels = get_json(&addr, "/api/vessels");
    assert_eq!(vessels["type"], "FeatureCollection");
    let features = vessels["features"].as_array().unwrap();
    assert!(!features.is_empty());
    let mmsi = features[0]["properties"]["mmsi"].as_u64().unwrap();
    let one = get_json(&addr, &format!("/api/vessels/{mmsi}"));
    assert_eq!(one["mmsi"].as_u64(), Some(mmsi));
    // The alert rules' counters join the picture's on /metrics.
    let (status, metrics) = get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("tidewatch_positions_total"), "{metrics}");
    assert!(metrics.contains("tidewatch_alerts_"), "{metrics}");
    let (status, body) = get(&addr, "/api/vessels?bbox=1,2,3");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("error"), "{body}");
    // Everything replayed is committed within a few rotations.
    wait_for(60, "the replay to be stored", || {
        positions_in(&store) >= stored
    });
    terminate(child);
    assert_eq!(
        positions_in(&store),
        stored,
        "serve stores what ingest stores"
    );

    // A restart replays the same file again: the store already holds every transmission.
    let (child, addr) = start(&args);
    wait_for(30, "the replay to run again", || {
        get_json(&addr, "/api/health")["vessels"]
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    std::thread::sleep(Duration::from_secs(4));
    terminate(child);
    assert_eq!(positions_in(&store), stored, "a restart doubles nothing");
}

#[test]
fn a_killed_server_loses_nothing_that_reached_the_spool() {
    let feed = tmp("serve-kill-feed.nmea");
    sample(&feed, 30);
    let store = tmp("serve-kill-store");
    // A long commit interval: when the kill lands nothing is committed yet, and everything
    // accepted sits in the spool's open segment.
    let cfg = config(
        &store,
        &format!(
            "listen = \"127.0.0.1:0\"\ncommit_every = \"1h\"\nno_detect = true\n\
             [[source]]\nname = \"archive\"\nreplay = \"{}\"\nspeed = 200\n",
            feed.display()
        ),
    );
    let (mut child, addr) = start(&[
        "serve".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--config".as_ref(),
        cfg.as_os_str(),
    ]);
    wait_for(30, "vessels in the live picture", || {
        get_json(&addr, "/api/health")["vessels"]
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        positions_in(&store),
        0,
        "nothing was committed before the kill"
    );
    // What the killed server accepted: its open spool segment, ingested on its own.
    let spool = store.join("spool").join("archive");
    let parts: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".nmea.part"))
        .collect();
    assert_eq!(parts.len(), 1, "{parts:?}");
    let accepted = tmp("serve-kill-accepted.nmea");
    std::fs::copy(&parts[0], &accepted).unwrap();
    let reference = tmp("serve-kill-reference");
    ingest_with(&[accepted.as_os_str()], &reference);
    let expected = positions_in(&reference);
    assert!(expected > 0);

    // A restart with no sources ingests the segment the killed server left open.
    let cfg = config(&store, "listen = \"127.0.0.1:0\"\nno_detect = true\n");
    let (child, _addr) = start(&[
        "serve".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--config".as_ref(),
        cfg.as_os_str(),
        "--for".as_ref(),
        "2s".as_ref(),
    ]);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        positions_in(&store),
        expected,
        "every accepted position is stored"
    );
}

/// GET with `Authorization: Bearer TOKEN`; returns status and body.
fn get_as(addr: &str, path: &str, token: &str) -> (u16, String) {
    request(addr, path, &format!("Authorization: Bearer {token}\r\n"))
}

fn tidewatch_ok(args: &[&str], store: &Path) -> String {
    let out = Command::new(bin())
        .args(args)
        .arg("--store")
        .arg(store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tidewatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_with_tokens_refuses_anonymous_reads_serves_each_partner_its_feeds_and_audits_them() {
    // Issue 21: a store with principals; the replayed feed is USA ONLY.
    let feed = tmp("serve-auth-feed.nmea");
    sample(&feed, 30);
    let store = tmp("serve-auth-store");
    drop(store::Store::create_or_open(&store).unwrap());
    tidewatch_ok(&["source", "label", "secret", "USA ONLY"], &store);
    let usa = tidewatch_ok(
        &["token", "create", "--name", "usa-1", "--partner", "USA"],
        &store,
    );
    let fra = tidewatch_ok(
        &["token", "create", "--name", "fra-1", "--partner", "FRA"],
        &store,
    );
    let (usa, fra) = (usa.trim().to_owned(), fra.trim().to_owned());
    let cfg = config(
        &store,
        &format!(
            "listen = \"127.0.0.1:0\"\ncommit_every = \"1s\"\nno_detect = true\n\
             [[source]]\nname = \"secret\"\nreplay = \"{}\"\nspeed = 600\n",
            feed.display()
        ),
    );
    let args = [
        "serve".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--config".as_ref(),
        cfg.as_os_str(),
    ];
    let (child, addr) = start(&args);
    let count = |token: &str| -> usize {
        let (st, body) = get_as(&addr, "/api/vessels", token);
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["features"].as_array().unwrap().len()
    };
    // The live picture's positions carry the feed's label: USA sees them.
    wait_for(30, "USA to see vessels", || count(&usa) > 0);
    assert_eq!(count(&fra), 0, "FRA may not see the USA ONLY feed");
    let (st, body) = get(&addr, "/api/vessels");
    assert_eq!(st, 401, "{body}");
    // Once committed, the store's rows too.
    wait_for(60, "the replay to be stored", || positions_in(&store) > 500);
    assert!(count(&usa) > 0);
    assert_eq!(count(&fra), 0);
    terminate(child);
    // Every read was audited, under its principal, and the chain verifies; no token in it.
    audit_verifies(&store);
    let log = std::fs::read_to_string(store.join("audit.jsonl")).unwrap();
    assert!(log.contains("\"fra-1\"") && log.contains("\"usa-1\""));
    assert!(!log.contains(&usa) && !log.contains(&fra));
}

/// `tidewatch serve --store STORE --config CONFIG`, started (see [`start`]).
fn serve_on(store: &Path, config: &Path) -> (Child, String) {
    start(&[
        "serve".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ])
}

/// A system principal's token (a partner link's), created in `store`.
fn link_token(store: &Path, name: &str, partner: &str) -> String {
    tidewatch_ok(
        &[
            "token",
            "create",
            "--name",
            name,
            "--partner",
            partner,
            "--kind",
            "system",
        ],
        store,
    )
    .trim()
    .to_owned()
}

/// An exported row's `(mmsi, time, lat, lon)`.
type RowKey = (String, String, String, String);

/// The rows of an export as `(mmsi, time, lat, lon)`, with their sources.
fn export_rows(addr: &str, token: &str) -> Vec<(RowKey, String)> {
    // The default range: the last day of data (the scenario's two hours).
    let (st, body) = get_as(addr, "/api/export/positions?format=csv", token);
    assert_eq!(st, 200, "{body}");
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some("time,mmsi,lat,lon,sog_knots,cog_deg,heading_deg,nav_status,msg_type,segment,flags,sources"),
        "the CLI's CSV columns"
    );
    let mut rows: Vec<_> = lines
        .map(|l| {
            let c: Vec<&str> = l.splitn(12, ',').collect();
            (
                (c[1].into(), c[0].into(), c[2].into(), c[3].into()),
                c[11].trim_matches('"').to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn keys(rows: &[(RowKey, String)]) -> Vec<RowKey> {
    rows.iter().map(|(k, _)| k.clone()).collect()
}

/// A fresh directory `name` with the partner feeds (`PH.nmea`, `VN.nmea`, `SAT.nmea`...) of
/// `scs-greyzone` over `hours`, ending an hour before now.
fn partner_feeds(name: &str, hours: u32, vessels: u32) -> std::path::PathBuf {
    let dir = tmp(name);
    std::fs::create_dir_all(&dir).unwrap();
    let st = Command::new(bin())
        .args(["simulate", "scs-greyzone", "--hours", &hours.to_string()])
        .args(["--vessels", &vessels.to_string()])
        .args(["--start", &format!("now-{}h", hours + 1), "-q", "--out"])
        .arg(dir.join("{partner}.nmea"))
        .status()
        .unwrap();
    assert!(st.success());
    dir
}

/// The configuration of a downstream server at `down` linked to `up_addr` as `up` (token in
/// `dir/fra-link.token`, polled every 300 ms, history back `backfill`): its path and the
/// token file's.
fn link_config(
    dir: &Path,
    down: &Path,
    up_addr: &str,
    token: &str,
    backfill: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let token_file = dir.join("fra-link.token");
    std::fs::write(&token_file, token).unwrap();
    let cfg = config(
        down,
        &format!(
            "listen = \"127.0.0.1:0\"\nno_detect = true\ncommit_every = \"1s\"\n\
             [[source]]\nname = \"up\"\nlink = \"http://{up_addr}\"\ntoken_file = \"{}\"\n\
             backfill = \"{backfill}\"\npoll = \"300ms\"\n",
            token_file.display()
        ),
    );
    (cfg, token_file)
}

#[test]
fn a_partner_link_brings_exactly_the_releasable_picture_with_its_originators_labels() {
    // Issue 21, item 4: two servers on loopback. Upstream: five partner feeds of a simulated
    // scenario, each with its own releasability; FRA is issued a system token for a link.
    let dir = partner_feeds("link", 2, 10);
    let up = dir.join("up");
    let mut args: Vec<std::ffi::OsString> = vec!["--no-detect".into()];
    for p in ["PH", "VN", "SAT", "MY", "SG"] {
        let mut a = std::ffi::OsString::from(format!("{p}="));
        a.push(dir.join(format!("{p}.nmea")));
        args.push(a);
    }
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    ingest_with(&args, &up);
    for (src, label) in [
        ("PH", "PUBLIC"),
        ("VN", "REL TO FRA, USA"),
        ("SAT", "USA ONLY"),
        ("MY", "REL TO IND, FRA"),
    ] {
        tidewatch_ok(&["source", "label", src, label], &up);
    }
    // SG keeps the default: WITHHELD.
    let token = |store: &Path, name: &str, partner: &str| {
        tidewatch_ok(
            &["token", "create", "--name", name, "--partner", partner],
            store,
        )
        .trim()
        .to_owned()
    };
    let link_token = link_token(&up, "fra-link", "FRA");
    let up_fra = token(&up, "fra-u", "FRA");
    let up_ind = token(&up, "ind-u", "IND");
    let up_usa = token(&up, "usa-u", "USA");
    let up_cfg = config(&up, "listen = \"127.0.0.1:0\"\nno_detect = true\n");
    let (upstream, up_addr) = serve_on(&up, &up_cfg);

    // Downstream: FRA's server, with principals of its own, pulling through the link.
    let down = dir.join("down");
    drop(store::Store::create_or_open(&down).unwrap());
    let down_fra = token(&down, "fra-d", "FRA");
    let down_ind = token(&down, "ind-d", "IND");
    let down_usa = token(&down, "usa-d", "USA");
    let (down_cfg, _) = link_config(&dir, &down, &up_addr, &link_token, "2d");
    let (downstream, down_addr) = serve_on(&down, &down_cfg);

    // FRA sees downstream exactly what FRA sees upstream.
    let want_fra = export_rows(&up_addr, &up_fra);
    assert!(
        want_fra.len() > 500,
        "{} rows for FRA upstream",
        want_fra.len()
    );
    wait_for(90, "the link to bring FRA's rows", || {
        export_rows(&down_addr, &down_fra).len() >= want_fra.len()
    });
    assert_eq!(keys(&export_rows(&down_addr, &down_fra)), keys(&want_fra));
    // IND: upstream IND sees PH and MY, both released to FRA too: the same rows.
    let ind = export_rows(&down_addr, &down_ind);
    assert!(!ind.is_empty());
    assert_eq!(keys(&ind), keys(&export_rows(&up_addr, &up_ind)));
    // USA: of what USA sees upstream, only rows heard by a source FRA may pass on (PH, VN);
    // the USA ONLY satellite's stay upstream.
    let want_usa: Vec<_> = export_rows(&up_addr, &up_usa)
        .into_iter()
        .filter(|(_, s)| {
            s.split(';')
                .any(|s| s.starts_with("PH/") || s.starts_with("VN/"))
        })
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys(&export_rows(&down_addr, &down_usa)), want_usa);
    // Nothing FRA may not see reached the downstream store at all.
    let stored = common::rows(&down);
    assert_eq!(stored.len(), want_fra.len());
    for r in &stored {
        for s in &r.sources {
            assert!(
                ["link:up/PH/", "link:up/VN/", "link:up/MY/"]
                    .iter()
                    .any(|p| s.starts_with(p)),
                "{s} stored downstream"
            );
        }
    }
    // Names came with the rows, under their sources' labels.
    let (st, body) = get_as(&down_addr, "/api/vessels", &down_fra);
    assert_eq!(st, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["properties"]["name"].is_string()));
    // The originator's labels cannot be widened downstream.
    for name in ["link:up/PH", "LINK:up/PH", "Link:up/PH"] {
        let out = Command::new(bin())
            .args(["source", "label", name, "PUBLIC", "--store"])
            .arg(&down)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name} was labelled");
    }

    // A restart that forgets how far the link got pulls everything again and doubles nothing.
    terminate(downstream);
    let progress = down.join("spool/link_up/link-progress.json");
    std::fs::remove_file(&progress).unwrap();
    let (downstream, down_addr) = serve_on(&down, &down_cfg);
    wait_for(60, "the link to pull again", || progress.exists());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(common::rows(&down).len(), want_fra.len());
    assert_eq!(keys(&export_rows(&down_addr, &down_fra)), keys(&want_fra));

    // The originator narrows two labels while nothing new comes from those feeds: PH to FRA
    // alone (still released to the link), VN to USA ONLY (no longer released to FRA). The
    // downstream follows both without waiting for a row from them: its IND user loses PH,
    // and VN is withheld from everyone there.
    tidewatch_ok(&["source", "label", "PH", "REL TO FRA"], &up);
    tidewatch_ok(&["source", "label", "VN", "USA ONLY"], &up);
    let labels_down = || -> Vec<(String, String)> {
        tidewatch_ok(&["source", "list", "--json"], &down)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["kind"] == "labelled")
            .map(|v| {
                (
                    v["source"].as_str().unwrap_or("").to_owned(),
                    v["label"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let followed = |l: &[(String, String)]| {
        l.iter()
            .filter(|(s, _)| s.starts_with("link:up/PH/"))
            .all(|(_, l)| l == "FRA ONLY")
            && l.iter()
                .filter(|(s, _)| s.starts_with("link:up/VN/"))
                .all(|(_, l)| l == "WITHHELD")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut l = labels_down();
    while !followed(&l) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        l = labels_down();
    }
    assert!(
        followed(&l),
        "the downstream did not follow the narrowed labels: {l:?}"
    );
    assert!(l.iter().any(|(s, _)| s.starts_with("link:up/PH/")), "{l:?}");
    // `source list` says who set them: the link, as upstream.
    let listing = tidewatch_ok(&["source", "list", "--json"], &down);
    let by: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains("\"labelled\"") && l.contains("link:up/"))
        .collect();
    assert!(!by.is_empty());
    for l in by {
        assert!(
            l.contains("\"labelled_by\":\"link up (as upstream)\""),
            "{l}"
        );
    }
    assert!(l.iter().any(|(s, _)| s.starts_with("link:up/VN/")), "{l:?}");
    let ind_now = export_rows(&down_addr, &down_ind);
    assert!(
        ind_now
            .iter()
            .all(|(_, s)| s.split(';').any(|s| s.starts_with("link:up/MY/"))),
        "IND downstream sees only rows MY heard now"
    );
    assert!(export_rows(&down_addr, &down_usa)
        .iter()
        .all(|(_, s)| s.split(';').all(|s| !s.starts_with("link:up/VN/"))));

    // The originator releases the satellite feed to FRA long after the link read past its
    // rows: the link brings that history too. Rows other sources brought before gain the
    // satellite as a source; none is doubled. FRA downstream then sees what FRA sees
    // upstream, row for row and source for source.
    tidewatch_ok(&["source", "label", "SAT", "REL TO FRA, USA"], &up);
    let (st, body) = get_as(&up_addr, "/api/link/positions?sources=SAT", &link_token);
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("bad_sources"), "{body}");
    for bad in [
        "/api/link/positions?until=3:0",
        "/api/link/positions?sources=%5B%22SAT%22%5D",
        "/api/link/late?after=999",
        "/api/link/late?after=x",
    ] {
        let (st, body) = get_as(&up_addr, bad, &link_token);
        assert_eq!(st, 400, "{bad}: {body}");
    }
    let want = fra_rows(&up_addr, &up_fra);
    let heard_by_sat = want
        .iter()
        .filter(|(_, s)| s.iter().any(|s| s.starts_with("SAT/")))
        .count();
    assert!(heard_by_sat > 50, "{heard_by_sat} rows of SAT upstream");
    converges(&down_addr, &down_fra, &want);
    terminate(downstream);
    terminate(upstream);
    // Every pull is in the upstream's audit log under the link's principal.
    let log = std::fs::read_to_string(up.join("audit.jsonl")).unwrap();
    assert!(log
        .lines()
        .any(|l| l.contains("\"fra-link\"") && l.contains("/api/link/positions")));
    assert!(!log.contains(&link_token));
    // Caught up, the link asked the same question again and again: those asks are counted,
    // the count written when the upstream stopped, not one line each.
    let counted = log
        .lines()
        .filter(|l| l.contains("\"fra-link\"") && l.contains("\"repeats\":{\"count\":"))
        .count();
    assert!(counted > 0, "no counted asks in {log}");
    audit_verifies(&up);
}

/// FRA's export through `addr`, sources named as upstream (`link:up/` removed), sorted.
fn fra_rows(addr: &str, token: &str) -> Vec<(RowKey, Vec<String>)> {
    export_rows(addr, token)
        .into_iter()
        .map(|(k, s)| {
            let mut s: Vec<String> = s
                .split(';')
                .map(|s| s.strip_prefix("link:up/").unwrap_or(s).to_owned())
                .collect();
            s.sort();
            (k, s)
        })
        .collect()
}

/// Waits up to a minute for FRA's rows through `addr` (see [`fra_rows`]) to be `want`, and
/// asserts they are, saying what is missing and what is extra.
fn converges(addr: &str, token: &str, want: &[(RowKey, Vec<String>)]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = fra_rows(addr, token);
    while got != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        got = fra_rows(addr, token);
    }
    let missing: Vec<_> = want.iter().filter(|r| !got.contains(r)).take(5).collect();
    let extra: Vec<_> = got.iter().filter(|r| !want.contains(r)).take(5).collect();
    assert!(
        got == want,
        "FRA downstream ({} rows) differs from upstream ({}): missing {missing:?}, extra \
         {extra:?}",
        got.len(),
        want.len()
    );
}

#[test]
fn a_late_copy_stored_upstream_after_the_link_pulled_its_row_reaches_the_downstream() {
    // A second partner relays the coast station's feed; the upstream stores the second half
    // of the relay's copies in a later run than the station's rows: they add the relay to
    // those rows (late sources). A link that pulled the rows before learns of it through
    // /api/link/late.
    let dir = partner_feeds("link-late", 1, 8);
    let up = dir.join("up");
    // The relay's copies in two halves: the first stored with the station's (so the relay is
    // a known, released source from the start), the second in a later run.
    let ph = std::fs::read_to_string(dir.join("PH.nmea")).unwrap();
    let lines: Vec<&str> = ph.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    std::fs::write(dir.join("RELAY1.nmea"), first.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("RELAY2.nmea"), second.join("\n") + "\n").unwrap();
    let feed = |p: &str, file: &str| {
        let mut a = std::ffi::OsString::from(format!("{p}="));
        a.push(dir.join(file));
        a
    };
    ingest_with(
        &[
            "--no-detect".as_ref(),
            feed("PH", "PH.nmea").as_os_str(),
            feed("RELAY", "RELAY1.nmea").as_os_str(),
        ],
        &up,
    );
    tidewatch_ok(&["source", "label", "PH", "REL TO FRA"], &up);
    tidewatch_ok(&["source", "label", "RELAY", "REL TO FRA"], &up);
    let link_token = link_token(&up, "fra-link", "FRA");
    let up_fra = tidewatch_ok(
        &["token", "create", "--name", "fra-u", "--partner", "FRA"],
        &up,
    )
    .trim()
    .to_owned();
    // A fixed port: the upstream is restarted at the same address below.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let up_cfg = config(
        &up,
        &format!("listen = \"127.0.0.1:{port}\"\nno_detect = true\n"),
    );
    let (upstream, up_addr) = serve_on(&up, &up_cfg);
    let down = dir.join("down");
    drop(store::Store::create_or_open(&down).unwrap());
    let down_fra = tidewatch_ok(
        &["token", "create", "--name", "fra-d", "--partner", "FRA"],
        &down,
    )
    .trim()
    .to_owned();
    let (down_cfg, _) = link_config(&dir, &down, &up_addr, &link_token, "2d");
    let (downstream, down_addr) = serve_on(&down, &down_cfg);
    let before = fra_rows(&up_addr, &up_fra);
    assert!(before.len() > 100, "{} rows upstream", before.len());
    converges(&down_addr, &down_fra, &before);

    // The relay's second half, ingested upstream in a later run (the server stopped for it:
    // one writer at a time), then the upstream served again at the same address.
    terminate(upstream);
    ingest_with(
        &[
            "--no-detect".as_ref(),
            feed("RELAY", "RELAY2.nmea").as_os_str(),
        ],
        &up,
    );
    let (upstream, up_addr) = serve_on(&up, &up_cfg);
    let after = fra_rows(&up_addr, &up_fra);
    // Rows stored before whose sources the later run changed: they gained the relay.
    let gained = after
        .iter()
        .filter(|(k, s)| before.iter().any(|(b, bs)| b == k && bs != s))
        .count();
    assert!(
        gained > 100,
        "{gained} station rows gained the relay upstream"
    );
    converges(&down_addr, &down_fra, &after);
    terminate(downstream);
    terminate(upstream);
    // Asked for where to start and once after the new run, not at every poll.
    let log = std::fs::read_to_string(up.join("audit.jsonl")).unwrap();
    let asked = log.lines().filter(|l| l.contains("/api/link/late")).count();
    assert!(
        (2..=3).contains(&asked),
        "{asked} requests for late sources"
    );
}

#[test]
fn a_partner_link_brings_the_dark_vessels_released_to_it_and_withdraws_what_is_not() {
    // Satellite radar detections no AIS matched are data only the upstream has (the
    // downstream cannot derive them): the link takes those released to it, under the
    // originator's labels, and follows the upstream's changes.
    let dir = partner_feeds("link-sar", 1, 5);
    let up = dir.join("up");
    let mut arg = std::ffi::OsString::from("PH=");
    arg.push(dir.join("PH.nmea"));
    ingest_with(&["--no-detect".as_ref(), arg.as_os_str()], &up);
    tidewatch_ok(&["source", "label", "PH", "PUBLIC"], &up);
    // Two providers' detections in the empty South Atlantic: dark.
    let at = (chrono::Utc::now() - chrono::Duration::minutes(90))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    for (provider, label, n) in [("s1-pub", "REL TO FRA, IND", 2), ("s1-usa", "USA ONLY", 1)] {
        let mut csv = String::from("id,time,lat,lon\n");
        for k in 0..n {
            csv.push_str(&format!("{provider}-{k},{at},{},-20\n", -40.0 - k as f64));
        }
        let f = dir.join(format!("{provider}.csv"));
        std::fs::write(&f, csv).unwrap();
        tidewatch_ok(
            &["sar", f.to_str().unwrap(), "--write", "--source", provider],
            &up,
        );
        tidewatch_ok(&["source", "label", provider, label], &up);
    }
    let link_token = link_token(&up, "fra-link", "FRA");
    let up_cfg = config(&up, "listen = \"127.0.0.1:0\"\nno_detect = true\n");
    let (upstream, up_addr) = serve_on(&up, &up_cfg);
    // A user may not use the link's endpoint.
    let up_fra = tidewatch_ok(
        &["token", "create", "--name", "fra-u", "--partner", "FRA"],
        &up,
    );
    let (st, _) = get_as(&up_addr, "/api/link/events", up_fra.trim());
    assert_eq!(st, 403);

    let down = dir.join("down");
    drop(store::Store::create_or_open(&down).unwrap());
    let token = |name: &str, partner: &str| {
        tidewatch_ok(
            &["token", "create", "--name", name, "--partner", partner],
            &down,
        )
        .trim()
        .to_owned()
    };
    let (down_fra, down_ind, down_usa) = (
        token("fra-d", "FRA"),
        token("ind-d", "IND"),
        token("usa-d", "USA"),
    );
    let (down_cfg, token_file) = link_config(&dir, &down, &up_addr, &link_token, "1d");
    let (downstream, down_addr) = serve_on(&down, &down_cfg);
    let dark = |token: &str| -> Vec<Value> {
        let (st, body) = get_as(&down_addr, "/api/events?type=dark_vessel", token);
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["features"].as_array().unwrap().clone()
    };
    wait_for(60, "the link to bring the dark vessels", || {
        dark(&down_fra).len() >= 2
    });
    // FRA's two, under the link's source; the USA-only one never came.
    let got = dark(&down_fra);
    assert_eq!(got.len(), 2, "{got:?}");
    for f in &got {
        let p = &f["properties"];
        assert_eq!(
            p["detail"]["sources"],
            serde_json::json!(["link:up/s1-pub"]),
            "{p}"
        );
        assert!(p["detail"]["upstream_id"].is_string(), "{p}");
    }
    let stored = tidewatch_ok(
        &["events", "--type", "dark_vessel", "--format", "jsonl"],
        &down,
    );
    assert_eq!(stored.lines().count(), 2, "{stored}");
    assert!(!stored.contains("s1-usa"));
    // The originator's label came with them: USA, not in REL TO FRA, IND, sees none.
    assert!(dark(&down_usa).is_empty());
    // Once taken, the set is not sent again while it does not change: the link's later asks
    // name the digest it holds and get nothing back (the upstream's audit log says so).
    std::thread::sleep(Duration::from_secs(2));
    let asks: Vec<Value> = tidewatch_ok(&["audit", "--json"], &up)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["endpoint"] == "/api/link/events")
        .collect();
    let last = asks.last().unwrap();
    assert!(last["params"]["known"].is_string(), "{last}");
    assert_eq!(last["returned"], 0, "{last}");
    assert!(asks.iter().any(|e| e["returned"] == 2), "{asks:?}");

    // The originator narrows the label (still released to FRA): IND loses them downstream.
    assert_eq!(dark(&down_ind).len(), 2);
    tidewatch_ok(&["source", "label", "s1-pub", "REL TO FRA"], &up);
    wait_for(60, "the link to follow the narrowed label", || {
        dark(&down_ind).is_empty()
    });
    assert_eq!(dark(&down_fra).len(), 2);
    // No longer released to FRA at all: withdrawn downstream.
    tidewatch_ok(&["source", "label", "s1-pub", "USA ONLY"], &up);
    wait_for(
        60,
        "the link to withdraw what is no longer released",
        || dark(&down_fra).is_empty(),
    );
    let stored = tidewatch_ok(
        &["events", "--type", "dark_vessel", "--format", "jsonl"],
        &down,
    );
    assert_eq!(stored.trim(), "", "{stored}");

    // The link's token revoked upstream and a new one put in its file: the link goes on with
    // it, no restart (the provider released again comes back).
    let ids: Vec<String> = tidewatch_ok(&["token", "list", "--json"], &up)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|t| t["principal"] == "fra-link")
        .map(|t| t["id"].to_string())
        .collect();
    let mut revoke = vec!["token", "revoke"];
    revoke.extend(ids.iter().map(String::as_str));
    tidewatch_ok(&revoke, &up);
    std::fs::write(&token_file, self::link_token(&up, "fra-link", "FRA")).unwrap();
    tidewatch_ok(&["source", "label", "s1-pub", "REL TO FRA"], &up);
    wait_for(60, "the link to go on with the new token", || {
        dark(&down_fra).len() == 2
    });
    terminate(downstream);
    terminate(upstream);
}

#[test]
fn dark_vessels_written_beside_a_running_server_reach_its_stream_and_alert_rules() {
    // `tidewatch sar --write` beside a running server writes only the registry: the server's
    // watcher puts the new dark vessels on the live stream and through the alert rules.
    let dir = tmp("serve-sar");
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.nmea");
    sample(&feed, 10);
    let store = dir.join("store");
    ingest_with(&["--no-detect".as_ref(), feed.as_os_str()], &store);
    let cfg = config(
        &store,
        "listen = \"127.0.0.1:0\"\nno_detect = true\n\
         [[alert]]\nname = \"radar\"\ntypes = [\"dark_vessel\"]\n",
    );
    let (server, addr) = serve_on(&store, &cfg);
    // A client on the stream, its lines collected by a thread.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            write!(
                s,
                "GET /api/stream?types=dark_vessel HTTP/1.1\r\nHost: {addr}\r\n\r\n"
            )
            .unwrap();
            for line in BufReader::new(s).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    std::thread::sleep(Duration::from_secs(3));
    let csv = dir.join("radar.csv");
    let at = "2026-01-01T00:00:00Z";
    std::fs::write(&csv, format!("id,time,lat,lon\nfar-0,{at},-45,-25\n")).unwrap();
    tidewatch_ok(
        &[
            "sar",
            csv.to_str().unwrap(),
            "--write",
            "--source",
            "radar-sat",
        ],
        &store,
    );
    let end = Instant::now() + Duration::from_secs(30);
    let (mut event, mut alert) = (false, false);
    while Instant::now() < end && !(event && alert) {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        if line.starts_with("data:") && line.contains("dark_vessel") {
            if line.contains("\"rule\":\"radar\"") {
                // As a webhook's body: the stage that fired it and when.
                assert!(line.contains("\"stage\":\"start\""), "{line}");
                assert!(line.contains("\"fired_at\":\"20"), "{line}");
                alert = true;
            } else {
                event = true;
            }
        }
    }
    assert!(event, "no dark_vessel event frame on the stream");
    assert!(alert, "no alert of rule `radar` on the stream");
    // The live picture's recent events have it too.
    let (st, body) = get(&addr, "/api/events?type=dark_vessel");
    assert_eq!(st, 200);
    assert!(body.contains("far-0"), "{body}");

    // A detection 200 m from a vessel's last report, dark under a gate of a metre, then
    // matched to it under the default gate: withdrawn from the store, and the running
    // server's API stops listing it.
    let csv_rows = tidewatch_ok(&["vessels", "--format", "csv"], &store);
    let mut r = csv_rows.lines();
    let head: Vec<&str> = r.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    let (la, lo, t) = (col("lat"), col("lon"), col("position_time"));
    let f: Vec<&str> = r
        .find(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f[la].parse::<f64>().is_ok() && !f[t].is_empty()
        })
        .unwrap()
        .split(',')
        .collect();
    let lat: f64 = f[la].parse::<f64>().unwrap() + 200.0 / 111_320.0;
    let near = dir.join("near.csv");
    std::fs::write(
        &near,
        format!("id,time,lat,lon\nnear-0,{},{lat},{}\n", f[t], f[lo]),
    )
    .unwrap();
    let write = |gate: &[&str]| {
        let mut args = vec![
            "sar",
            near.to_str().unwrap(),
            "--write",
            "--source",
            "radar-sat",
        ];
        args.extend_from_slice(gate);
        tidewatch_ok(&args, &store);
    };
    write(&["--max-distance-m", "1", "--drift-m-per-min", "0"]);
    // On the stream: the server's picture has it (not only the store).
    let end = Instant::now() + Duration::from_secs(30);
    let mut pushed = false;
    while Instant::now() < end && !pushed {
        if let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) {
            pushed = line.starts_with("data:") && line.contains("near-0");
        }
    }
    assert!(pushed, "the dark detection was not pushed");
    write(&[]);
    wait_for(30, "the matched detection to leave the API", || {
        !get(&addr, "/api/events?type=dark_vessel")
            .1
            .contains("near-0")
    });
    assert!(get(&addr, "/api/events?type=dark_vessel")
        .1
        .contains("far-0"));
    terminate(server);
}

#[test]
fn a_partner_link_pulls_over_tls_trusting_the_upstreams_certificate() {
    // Issue 21: the link between partners' servers over HTTPS (rustls both sides), the
    // downstream trusting the upstream's certificate given as `tls_ca`.
    let dir = tmp("link-tls");
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.nmea");
    sample(&feed, 20);
    let up = dir.join("up");
    let mut a = std::ffi::OsString::from("coast=");
    a.push(&feed);
    ingest_with(&["--no-detect".as_ref(), a.as_os_str()], &up);
    tidewatch_ok(&["source", "label", "coast", "PUBLIC"], &up);
    let link_token = link_token(&up, "fra-link", "FRA");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), ck.key_pair.serialize_pem()).unwrap();
    let up_cfg = config(
        &up,
        &format!(
            "listen = \"127.0.0.1:0\"\nno_detect = true\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            dir.join("cert.pem").display(),
            dir.join("key.pem").display()
        ),
    );
    let (upstream, up_addr) = serve_on(&up, &up_cfg);
    let port = up_addr.rsplit(':').next().unwrap().to_owned();
    let token_file = dir.join("link.token");
    std::fs::write(&token_file, &link_token).unwrap();
    let down = dir.join("down");
    let down_cfg = config(
        &down,
        &format!(
            "listen = \"127.0.0.1:0\"\nno_detect = true\ncommit_every = \"1s\"\n\
             [[source]]\nname = \"up\"\nlink = \"https://localhost:{port}\"\n\
             token_file = \"{}\"\ntls_ca = \"{}\"\nbackfill = \"36500d\"\npoll = \"300ms\"\n",
            token_file.display(),
            dir.join("cert.pem").display()
        ),
    );
    let (downstream, _) = serve_on(&down, &down_cfg);
    let want = common::rows(&up).len();
    assert!(want > 100, "{want} rows upstream");
    wait_for(90, "the rows over TLS", || {
        down.join("registry.sqlite").is_file() && common::rows(&down).len() == want
    });
    assert!(common::rows(&down)
        .iter()
        .all(|r| r.sources.iter().all(|s| s.starts_with("link:up/coast/"))));
    terminate(downstream);
    terminate(upstream);
}

#[test]
fn a_partner_links_live_stream_shows_upstream_positions_before_they_are_committed() {
    // Issue 21: backfill and history come by pages of committed rows; the live picture comes
    // by the upstream's link stream at once. The upstream here commits once an hour, so
    // whatever the downstream shows during the test came through the stream.
    let dir = tmp("link-live");
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.nmea");
    sample(&feed, 30);
    let up = dir.join("up");
    drop(store::Store::create_or_open(&up).unwrap());
    tidewatch_ok(&["source", "label", "coast", "PUBLIC"], &up);
    tidewatch_ok(&["source", "label", "secret", "USA ONLY"], &up);
    let link_token = link_token(&up, "fra-link", "FRA");
    let up_cfg = config(
        &up,
        &format!(
            "listen = \"127.0.0.1:0\"\nno_detect = true\ncommit_every = \"1h\"\n\
             [[source]]\nname = \"coast\"\nreplay = \"{0}\"\nspeed = 60\n\
             [[source]]\nname = \"secret\"\nreplay = \"{0}\"\nspeed = 60\n",
            feed.display()
        ),
    );
    let (upstream, up_addr) = serve_on(&up, &up_cfg);
    let token_file = dir.join("link.token");
    std::fs::write(&token_file, &link_token).unwrap();
    let down = dir.join("down");
    let down_cfg = config(
        &down,
        &format!(
            "listen = \"127.0.0.1:0\"\nno_detect = true\ncommit_every = \"1s\"\n\
             [[source]]\nname = \"up\"\nlink = \"http://{up_addr}\"\n\
             token_file = \"{}\"\nbackfill = \"36500d\"\npoll = \"300ms\"\n",
            token_file.display()
        ),
    );
    let (downstream, down_addr) = serve_on(&down, &down_cfg);
    let vessels = |addr: &str| -> usize {
        get_json(addr, "/api/vessels")["features"]
            .as_array()
            .map_or(0, Vec::len)
    };
    wait_for(60, "live vessels downstream", || vessels(&down_addr) >= 6);
    // Nothing was committed upstream, so nothing came by pages.
    assert_eq!(common::rows(&down).len(), 0);
    // The live positions came under the released source only.
    let first = get_json(&down_addr, "/api/vessels")["features"][0]["properties"]["mmsi"].clone();
    let v = get_json(&down_addr, &format!("/api/vessels/{first}"));
    let text = v.to_string();
    assert!(!text.contains("secret"), "{text}");
    let labels = tidewatch_ok(&["source", "list"], &down);
    assert!(labels.contains("link:up/coast"), "{labels}");
    assert!(!labels.contains("secret"), "{labels}");
    terminate(downstream);
    terminate(upstream);
}

#[test]
fn a_configuration_with_two_sources_under_one_name_or_a_bad_name_is_refused() {
    let dir = tmp("serve-names");
    std::fs::create_dir_all(&dir).unwrap();
    for (body, says) in [
        (
            "[[source]]\nname = \"a\"\nurl = \"udp://127.0.0.1:0\"\n\
             [[source]]\nname = \"a\"\nurl = \"udp://127.0.0.1:0\"\n",
            "two sources of the configuration are named \"a\"",
        ),
        (
            "[[source]]\nname = \"x/y\"\nurl = \"udp://127.0.0.1:0\"\n",
            "source 1 of the configuration: name \"x/y\"",
        ),
        (
            "[[source]]\nname = \"link:z\"\nurl = \"udp://127.0.0.1:0\"\n",
            "not begin with `link:`",
        ),
        // A value's error names the file and the line that sets it.
        (
            "no_detect = true\ncommit_every = \"ten seconds\"\n",
            "names.toml:2: commit_every = \"ten seconds\"",
        ),
        ("rate_per_s = -5\n", "names.toml:1: rate_per_s = -5"),
        (
            "[[source]]\nurl = \"udp://127.0.0.1:0\"\n[[source]]\nurl = \"udp://127.0.0.1:0\"\n\
             speed = 10\n",
            "names.toml:5: source 2 of the configuration: speed",
        ),
        // A rule's mistake names the line of its table that makes it.
        (
            "[[alert]]\nname = \"a\"\n\n[[alert]]\nname = \"b\"\non = \"update\"\n\
             types = [\"no_such_type\"]\n",
            "names.toml:7: alert rules: alert \"b\" (rule 2), field types",
        ),
        // A rule on a zone the store does not have could never fire.
        (
            "[[alert]]\nname = \"reef\"\nzones = [\"Nowhere\"]\n",
            "alert rule \"reef\" names zone \"Nowhere\"",
        ),
    ] {
        let cfg = config(&dir.join("names"), body);
        let out = Command::new(bin())
            .args(["serve", "--store"])
            .arg(dir.join("store"))
            .arg("--config")
            .arg(&cfg)
            .args(["--listen", "127.0.0.1:0", "--for", "1s"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{body}: {err}");
        assert!(err.contains(says), "{body}: {err}");
    }
}
