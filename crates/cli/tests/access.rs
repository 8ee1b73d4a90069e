//! Partner sharing (issue 21): `source`, `token` and `audit` end to end, and the visibility
//! rules applied to what ingest really stores (fused provenance, identity provenance).

mod common;

use access::audit::AUDIT_LOG;
use access::{Access, AuditLog, AuditRecord, IdentityClaim, Principal, View};
use common::{bin, ingest_with, rows, run_ok, sample, tmp};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(args: &[&str], store: &Path) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .arg("--store")
        .arg(store)
        .output()
        .unwrap()
}

/// A store ingested from the sample as two feeds: `navy` hears everything, `hub` only the
/// western station (so its records are copies of some of `navy`'s, fused into one row).
fn two_feed_store(name: &str) -> PathBuf {
    let feed = tmp(&format!("{name}.nmea"));
    sample(&feed, 10);
    let text = std::fs::read_to_string(&feed).unwrap();
    let west: String = text
        .lines()
        .filter(|l| l.contains("s:sg-west"))
        .map(|l| format!("{l}\n"))
        .collect();
    let hub = tmp(&format!("{name}-west.nmea"));
    std::fs::write(&hub, west).unwrap();
    let store = tmp(&format!("{name}-store"));
    let a = format!("navy={}", feed.display());
    let b = format!("hub={}", hub.display());
    ingest_with(&[OsStr::new(&a), OsStr::new(&b)], &store);
    store
}

/// The principal of a token made with `tidewatch token create`, as the server would see it.
fn principal(store: &Path, a: &Access, name: &str, partner: &str) -> Principal {
    let token = run_ok(
        &["token", "create", "--name", name, "--partner", partner],
        store,
    );
    a.authenticate(token.trim()).unwrap()
}

#[test]
fn sources_are_labelled_listed_and_resolved_by_their_longest_labelled_prefix() {
    let store = two_feed_store("labels");
    let list = run_ok(&["source", "list"], &store);
    assert!(list.starts_with("default\tWITHHELD\n"), "{list}");
    assert!(
        !store.join("access.sqlite").exists(),
        "a listing created the access rules"
    );
    assert!(
        list.contains("navy/sg-east/AI\tingested\tWITHHELD\t(default)"),
        "{list}"
    );
    assert!(
        list.contains("hub/sg-west/AI\tingested\tWITHHELD\t(default)"),
        "{list}"
    );

    let (out, err) = common::run_ok_both(&["source", "label", "navy", "rel to ind, usa"], &store);
    assert_eq!(out, "navy\tREL TO IND, USA\n");
    assert!(err.is_empty(), "{err}");
    // A pattern no ingested source is (a typo) is kept, with a warning naming the feeds.
    let (out, err) = common::run_ok_both(&["source", "label", "navvy", "PUBLIC"], &store);
    assert_eq!(out, "navvy\tPUBLIC\n");
    assert!(
        err.contains("no source ingested so far is navvy or under it (feeds: hub, navy)"),
        "{err}"
    );
    run_ok(&["source", "unlabel", "navvy"], &store);
    run_ok(&["source", "label", "navy/sg-east", "IND ONLY"], &store);
    run_ok(&["source", "label", "hub", "PUBLIC"], &store);
    assert_eq!(
        run_ok(&["source", "default", "usa only"], &store),
        "USA ONLY\n"
    );
    let list = run_ok(&["source", "list"], &store);
    for want in [
        "default\tUSA ONLY",
        "navy\tlabelled\tREL TO IND, USA\t-",
        "navy/sg-east\tlabelled\tIND ONLY\t-",
        "navy/sg-east/AI\tingested\tIND ONLY\tnavy/sg-east",
        "navy/sg-west/AI\tingested\tREL TO IND, USA\tnavy",
        "hub/sg-west/AI\tingested\tPUBLIC\thub",
    ] {
        assert!(list.contains(want), "{want:?} missing from\n{list}");
    }
    let json = run_ok(&["source", "list", "--json"], &store);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["default"], "USA ONLY");

    // Bad markings and sources are refused with the reason; nothing changes.
    for (args, why) in [
        (
            vec!["source", "label", "navy", "REL TO"],
            "bad releasability marking",
        ),
        (
            vec!["source", "label", "navy", "REL TO U$A"],
            "bad partner or group name",
        ),
        (vec!["source", "label", "navy//x", "PUBLIC"], "bad source"),
        (
            vec!["source", "unlabel", "nothing"],
            "has no label of its own",
        ),
    ] {
        let out = run(&args, &store);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
    }
    run_ok(&["source", "unlabel", "navy/sg-east"], &store);
    let list = run_ok(&["source", "list"], &store);
    assert!(
        list.contains("navy/sg-east/AI\tingested\tREL TO IND, USA\tnavy"),
        "{list}"
    );
    // Not a store: refused, nothing created.
    let nowhere = tmp("labels-not-a-store");
    std::fs::create_dir_all(&nowhere).unwrap();
    assert!(!run(&["source", "list"], &nowhere).status.success());
    assert!(!nowhere.join("access.sqlite").exists());
}

#[test]
fn a_token_is_printed_once_listed_without_its_secret_and_revoked() {
    let store = tmp("tokens-store");
    ingest_with(
        &[OsStr::new(&{
            let f = tmp("tokens.nmea");
            sample(&f, 2);
            f.display().to_string()
        })],
        &store,
    );
    let out = run(
        &[
            "token",
            "create",
            "--name",
            "ind-link",
            "--partner",
            "ind",
            "--group",
            "fvey",
            "--kind",
            "system",
        ],
        &store,
    );
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    let token = token.trim();
    assert!(token.starts_with("tw_") && token.len() == 67, "{token}");
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("token 1 for system ind-link of IND (groups FVEY)"),
        "{note}"
    );
    assert!(!note.contains(&token[3..]));

    let list = run_ok(&["token", "list"], &store);
    assert!(list.contains("1\tind-link\tsystem\tIND\tFVEY\t"), "{list}");
    assert!(list.trim_end().ends_with("\t-"), "not revoked: {list}");
    let json = run_ok(&["token", "list", "--json"], &store);
    for text in [&list, &json] {
        assert!(!text.contains(&token[3..]), "the secret is listed");
    }
    // Not in clear in any file of the store.
    for e in std::fs::read_dir(&store).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&token[3..]),
                "token in clear in {}",
                p.display()
            );
        }
    }
    let a = Access::open(&store).unwrap();
    let p = a.authenticate(token).unwrap();
    assert_eq!((p.name.as_str(), p.partner.as_str()), ("ind-link", "IND"));

    // Another partner for the same name is refused; a second token of the same works.
    let out = run(
        &["token", "create", "--name", "ind-link", "--partner", "USA"],
        &store,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists as a system of IND"));
    let second = run_ok(
        &["token", "create", "--name", "ind-link", "--partner", "IND"],
        &store,
    );

    assert_eq!(
        run_ok(&["token", "revoke", "1"], &store),
        "revoked token 1\n"
    );
    assert_eq!(
        run_ok(&["token", "revoke", "1"], &store),
        "token 1 was already revoked\n"
    );
    assert!(!run(&["token", "revoke", "7"], &store).status.success());
    // The long-lived `Access` (as a server holds it) sees the revocation at its next call.
    assert!(a.authenticate(token).is_none());
    assert_eq!(a.authenticate(second.trim()).unwrap().name, "ind-link");
    let list = run_ok(&["token", "list"], &store);
    assert!(!list.lines().nth(1).unwrap().ends_with("\t-"), "{list}");
}

fn entry(i: u64, principal: &str) -> AuditRecord {
    AuditRecord {
        time_ms: 1_768_435_200_000 + i as i64 * 3_600_000,
        principal: principal.into(),
        partner: "IND".into(),
        endpoint: "/v1/vessels".into(),
        params: serde_json::json!({"bbox": [103.5, 1.0, 104.5, 1.5]}),
        returned: 10 + i,
        withheld: i,
        status: None,
        // The last entry stands for a run of reads (a link's polls, counted).
        repeats: (i == 5).then_some(access::Repeats {
            count: 299,
            first_ms: 1_768_452_600_000,
        }),
    }
}

fn audit_store(name: &str) -> (PathBuf, PathBuf) {
    let store = tmp(name);
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("manifest.jsonl"), "").unwrap();
    let (mut log, _) = AuditLog::open(&store, 0).unwrap();
    for i in 0..6 {
        log.append(&entry(i, if i % 3 == 0 { "ann" } else { "ind-link" }))
            .unwrap();
    }
    let path = store.join(AUDIT_LOG);
    (store, path)
}

fn verify(store: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["audit", "--verify"];
    args.extend_from_slice(extra);
    let out = run(&args, store);
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn audit_lists_by_principal_and_time() {
    let (store, _) = audit_store("audit-list");
    let all = run_ok(&["audit"], &store);
    assert_eq!(all.lines().count(), 7, "{all}");
    assert!(
        all.contains(
            "0\t2026-01-15T00:00:00.000Z\tann\tIND\t/v1/vessels\t200\t10\t0\t-\t{\"bbox\""
        ),
        "{all}"
    );
    assert!(
        all.contains("\t15\t5\t299 from 2026-01-15T04:50:00.000Z\t{"),
        "{all}"
    );
    let ann = run_ok(&["audit", "--principal", "ann"], &store);
    let seqs: Vec<&str> = ann
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(seqs, ["0", "3"]);
    let since = run_ok(
        &["audit", "--since", "2026-01-15T04:00:00Z", "--json"],
        &store,
    );
    let since: Vec<serde_json::Value> = since
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<u64> = since.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [4, 5]);
    assert!(since[0]["repeats"].is_null());
    assert_eq!(
        since[1]["repeats"],
        serde_json::json!({"count": 299, "first": "2026-01-15T04:50:00.000Z"})
    );
}

#[test]
fn audit_verify_detects_an_edited_removed_swapped_or_torn_entry() {
    let (store, path) = audit_store("audit-verify");
    let (ok, out) = verify(&store, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("6 entries; head seq 5 hash "), "{out}");
    let head = out
        .split("hash ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let orig = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = orig.lines().collect();
    let write = |ls: &[&str]| std::fs::write(&path, ls.join("\n") + "\n").unwrap();

    // One byte: 10 records returned become 11.
    let edited = orig.replacen("\"returned\":12,", "\"returned\":13,", 1);
    assert_ne!(edited, orig);
    std::fs::write(&path, &edited).unwrap();
    let (ok, out) = verify(&store, &[]);
    assert!(!ok);
    assert!(
        out.contains("line 3 (byte") && out.contains("edited"),
        "{out}"
    );

    let mut removed = lines.clone();
    removed.remove(3);
    write(&removed);
    let (ok, out) = verify(&store, &[]);
    assert!(!ok);
    assert!(
        out.contains("line 4 (byte") && out.contains("removed, inserted or moved"),
        "{out}"
    );

    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    write(&swapped);
    let (ok, out) = verify(&store, &[]);
    assert!(!ok);
    assert!(
        out.contains("line 2 (byte") && out.contains("line 3 (byte"),
        "{out}"
    );

    std::fs::write(&path, &orig[..orig.len() - 40]).unwrap();
    let (ok, out) = verify(&store, &[]);
    assert!(!ok);
    assert!(
        out.contains("line 6 (byte") && out.contains("torn last line"),
        "{out}"
    );

    // Whole entries cut off the end: caught against the head recorded earlier.
    write(&lines[..4]);
    assert!(verify(&store, &[]).0);
    let (ok, out) = verify(&store, &["--expect-head", &head]);
    assert!(!ok);
    assert!(out.contains("is not in the chain"), "{out}");
    write(&lines);
    assert!(verify(&store, &["--expect-head", &head]).0);
}

#[test]
fn a_position_is_visible_through_any_visible_source_and_identity_follows_its_sources() {
    // issue 21: real provenance from ingest, through the rules the server applies.
    let store = two_feed_store("visible");
    run_ok(&["source", "label", "navy", "IND ONLY"], &store);
    run_ok(&["source", "label", "hub", "PUBLIC"], &store);
    let a = Access::open(&store).unwrap();
    let labels = a.labels().unwrap();
    let ind = principal(&store, &a, "ind-analyst", "IND");
    let fra = principal(&store, &a, "fra-analyst", "FRA");
    let all = rows(&store);
    let fused = all.iter().filter(|r| r.sources.len() == 2).count();
    assert!(fused > 0, "no row heard by both feeds");
    let mut fra_rows = 0;
    for r in &all {
        let heard_by_hub = r.sources.iter().any(|s| s.starts_with("hub/"));
        assert!(View::new(&ind, &labels).row_visible(&r.sources));
        let v = View::new(&fra, &labels);
        assert_eq!(v.row_visible(&r.sources), heard_by_hub, "{:?}", r.sources);
        let mut redacted = r.sources.clone();
        if v.redact_sources(&mut redacted) {
            fra_rows += 1;
            assert!(
                redacted.iter().all(|s| s.starts_with("hub/")),
                "{redacted:?}"
            );
        }
    }
    assert!(
        fra_rows > 0 && fra_rows < all.len(),
        "{fra_rows} of {}",
        all.len()
    );

    // Identity: a vessel named only through the navy's eastern station has no name for FRA.
    let reg = store::RegistryDb::open_read_only(&store.join("registry.sqlite")).unwrap();
    let (mut named_for_fra, mut hidden_from_fra) = (0, 0);
    for v in reg.vessels(None).unwrap() {
        let prov = reg.identity_sources(v.mmsi).unwrap();
        let claims: Vec<IdentityClaim<'_>> = prov
            .iter()
            .filter(|p| p.field == "name")
            .map(|p| IdentityClaim {
                value: &p.value,
                source: &p.source,
                last_ms: p.last_ms,
            })
            .collect();
        let Some(name) = &v.name else { continue };
        assert!(
            !claims.is_empty(),
            "{}: the name {name} has no recorded source",
            v.mmsi
        );
        assert_eq!(
            View::new(&ind, &labels).identity(&claims),
            Some(name.as_str())
        );
        let by_hub = claims.iter().any(|c| c.source.starts_with("hub/"));
        let fra_name = View::new(&fra, &labels).identity(&claims);
        assert_eq!(fra_name.is_some(), by_hub, "{}: {claims:?}", v.mmsi);
        if by_hub {
            named_for_fra += 1;
        } else {
            hidden_from_fra += 1;
        }
    }
    assert!(
        named_for_fra > 0 && hidden_from_fra > 0,
        "{named_for_fra} {hidden_from_fra}"
    );

    // Vessel state: the newest per-source summary of a visible source is the newest visible
    // stored position (flags 1 and 8 do not move a vessel), for IND and for FRA.
    let summaries = reg.vessel_sources(None).unwrap();
    for p in [&ind, &fra] {
        let v = View::new(p, &labels);
        let mut listed = 0;
        for mmsi in reg.vessels(None).unwrap().iter().map(|v| v.mmsi) {
            let mine: Vec<_> = summaries
                .iter()
                .filter(|s| s.mmsi == mmsi)
                .cloned()
                .collect();
            let state = v.newest_visible(&mine, |s| &s.source, |s| s.last_ms);
            let newest_row = all
                .iter()
                .filter(|r| r.mmsi == mmsi && r.flags & 9 == 0 && v.row_visible(&r.sources))
                .max_by_key(|r| r.time_ms);
            assert_eq!(
                state.map(|s| (s.last_ms, s.lat, s.lon)),
                newest_row.map(|r| (r.time_ms, r.lat, r.lon)),
                "{} {mmsi}",
                p.name
            );
            listed += usize::from(state.is_some());
        }
        assert!(listed > 0, "{}", p.name);
    }
}

/// The feed a provenance label belongs to.
fn feed(source: &str) -> &str {
    source.split('/').next().unwrap_or_default()
}

#[test]
fn events_shown_to_a_partner_rest_only_on_what_it_may_see() {
    // issue 21: zero leaks through derived data. A scenario delivered per partner, ingested
    // with detection as one feed per partner, labelled; every stored event goes through
    // `View::redact_event` for three principals and what is shown is checked independently.
    let dir = tmp("events-parts");
    std::fs::create_dir_all(&dir).unwrap();
    let st = Command::new(bin())
        .args([
            "simulate",
            "ior-shadow-fleet",
            "--hours",
            "12",
            "--vessels",
            "1500",
        ])
        .arg("--out")
        .arg(dir.join("{partner}.nmea"))
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let store = tmp("events-store");
    let mut args = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_lowercase();
        args.push(format!("{name}={}", p.display()));
    }
    args.sort();
    let os: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    ingest_with(&os, &store);
    // Public: ae, lk, sat. Restricted: the coastal networks of in, om, us.
    let feeds = [
        ("ae", "PUBLIC"),
        ("in", "IND ONLY"),
        ("lk", "PUBLIC"),
        ("om", "OMN ONLY"),
        ("sat", "PUBLIC"),
        ("us", "REL TO USA, IND"),
    ];
    for (f, m) in feeds {
        run_ok(&["source", "label", f, m], &store);
    }
    let a = Access::open(&store).unwrap();
    let labels = a.current_labels().unwrap();
    let reg = store::RegistryDb::open_read_only(&store.join("registry.sqlite")).unwrap();
    let events = reg.events(&store::EventQuery::default()).unwrap();
    assert!(events.len() > 10, "{} events", events.len());
    let all = rows(&store);
    let mut by_mmsi: std::collections::HashMap<u32, Vec<&store::PositionRow>> = Default::default();
    for r in &all {
        by_mmsi.entry(r.mmsi).or_default().push(r);
    }
    let rule = access::EventRule::default();
    let mut shown = Vec::new();
    for (name, partner) in [("fra", "FRA"), ("ind", "IND"), ("usa", "USA")] {
        let p = principal(&store, &a, name, partner);
        let v = View::new(&p, &labels);
        // The test's own reading of the labels: which feeds this partner may see.
        let sees = |source: &str| {
            feeds
                .iter()
                .any(|(f, m)| *f == feed(source) && (*m == "PUBLIC" || m.contains(partner)))
        };
        let mut n = 0;
        for ev in &events {
            let span = access::EventSpan {
                mmsis: &ev.mmsis,
                start_ms: ev.start_ms,
                end_ms: ev.end_ms,
            };
            let (from, to) = rule.window(&span);
            let window: Vec<access::RowRef<'_>> = ev
                .mmsis
                .iter()
                .flat_map(|m| by_mmsi.get(m).into_iter().flatten())
                .filter(|r| r.time_ms >= from && r.time_ms <= to)
                .map(|r| access::RowRef {
                    mmsi: r.mmsi,
                    time_ms: r.time_ms,
                    sources: &r.sources,
                })
                .collect();
            let prov: Vec<store::IdentitySourceRow> = ev
                .mmsis
                .iter()
                .flat_map(|&m| reg.identity_sources(m).unwrap())
                .collect();
            let facts: Vec<access::IdentityFact<'_>> = prov
                .iter()
                .map(|f| access::IdentityFact {
                    mmsi: f.mmsi,
                    field: &f.field,
                    value: &f.value,
                    source: &f.source,
                    last_ms: f.last_ms,
                })
                .collect();
            let mut json: serde_json::Value = serde_json::from_str(&ev.json).unwrap();
            if !v.redact_event(&span, &rule, &window, &facts, &mut json) {
                continue;
            }
            n += 1;
            // Every position it rests on is one this partner may see.
            for &m in &ev.mmsis {
                let mine: Vec<_> = window.iter().filter(|r| r.mmsi == m).collect();
                assert!(
                    !mine.is_empty(),
                    "{} shown to {partner} without a position of {m}",
                    ev.id
                );
                for r in mine {
                    assert!(
                        r.sources.iter().any(|s| sees(s)),
                        "{} rests on {:?}",
                        ev.id,
                        r.sources
                    );
                }
            }
            for s in json["sources"].as_array().unwrap() {
                assert!(
                    sees(s.as_str().unwrap()),
                    "{}: source {s} shown to {partner}",
                    ev.id
                );
            }
            for vessel in json["vessels"].as_array().unwrap() {
                let m = vessel["mmsi"].as_u64().unwrap() as u32;
                for field in ["name", "imo", "callsign", "ship_type"] {
                    let val = match &vessel[field] {
                        serde_json::Value::Null => continue,
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    assert!(
                        prov.iter().any(|f| f.mmsi == m
                            && f.field == field
                            && f.value == val
                            && sees(&f.source)),
                        "{}: {field} {val} of {m} shown to {partner}",
                        ev.id
                    );
                }
            }
        }
        shown.push(n);
    }
    let [fra, ind, usa] = shown[..] else {
        unreachable!()
    };
    eprintln!(
        "events shown: FRA {fra}, IND {ind}, USA {usa} of {}",
        events.len()
    );
    assert!(fra > 0, "nothing shown to FRA");
    assert!(
        fra < events.len() && fra <= ind && fra <= usa,
        "{fra} {ind} {usa} of {}",
        events.len()
    );
}

#[test]
fn tokens_and_labels_can_be_made_before_the_server_first_starts() {
    // A new deployment: the store's directory does not exist yet (or is empty).
    let store = tmp("fresh-deploy-store");
    let _ = std::fs::remove_dir_all(&store);
    let token = run_ok(
        &[
            "token",
            "create",
            "--name",
            "ind-analyst",
            "--partner",
            "IND",
        ],
        &store,
    );
    assert!(token.trim().starts_with("tw_"), "{token}");
    run_ok(&["source", "label", "coast", "REL TO IND, USA"], &store);
    let a = Access::open(&store).unwrap();
    assert!(a.authenticate(token.trim()).is_some());
    // An ingest then uses the store as made.
    let f = tmp("fresh-deploy.nmea");
    sample(&f, 2);
    let spec = format!("coast={}", f.display());
    ingest_with(&[OsStr::new(&spec)], &store);
    assert!(!rows(&store).is_empty());
    // A directory holding something else is not taken over.
    let other = tmp("fresh-deploy-other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let out = run(
        &["token", "create", "--name", "x", "--partner", "IND"],
        &other,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert!(!other.join("manifest.jsonl").exists());
}
