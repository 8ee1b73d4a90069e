//! The alert configuration: what it reads, and errors that name the rule and the field.

use std::time::Duration;

use alerts::{AlertsConfig, AlertsError, Stage};
use detect::EventType;

const EXAMPLE: &str = r#"
[alerts]
dead_letter = "dead.jsonl"
max_attempts = 4
backoff = "500ms"
backoff_max = "30s"
queue_capacity = 200
workers = 3
shutdown_grace = "2s"
ledger_retention = "7d"

[[alert]]
name = "escorts in the shoal"
types = ["escort", "shadowing"]
zones = ["Scarborough Shoal"]
mmsis = [412000001]
on = ["start", "end"]
webhooks = [
  { url = "https://hooks.example.org/x", headers = { Authorization = "Bearer t" }, timeout = "3s" },
  { url = "http://127.0.0.1:9000/alerts" },
]

[[alert]]
name = "everything"
"#;

#[test]
fn the_example_reads_into_rules_and_settings() {
    let c = AlertsConfig::from_toml(EXAMPLE).unwrap();
    let s = &c.settings;
    assert_eq!(s.dead_letter, std::path::PathBuf::from("dead.jsonl"));
    assert_eq!(s.max_attempts, 4);
    assert_eq!(s.backoff, Duration::from_millis(500));
    assert_eq!(s.backoff_max, Duration::from_secs(30));
    assert_eq!(s.queue_capacity, 200);
    assert_eq!(s.workers, 3);
    assert_eq!(s.shutdown_grace, Duration::from_secs(2));
    assert_eq!(s.ledger_retention, Duration::from_secs(7 * 86_400));
    assert_eq!(c.rules.len(), 2);
    let r = &c.rules[0];
    assert_eq!(r.name, "escorts in the shoal");
    assert_eq!(r.types, vec![EventType::Escort, EventType::Shadowing]);
    assert_eq!(r.zones, vec!["Scarborough Shoal".to_owned()]);
    assert_eq!(r.mmsis, vec![412000001]);
    assert_eq!(r.on, vec![Stage::Start, Stage::End]);
    assert_eq!(r.webhooks.len(), 2);
    assert_eq!(r.webhooks[0].timeout, Duration::from_secs(3));
    assert_eq!(
        r.webhooks[0].headers,
        vec![("Authorization".to_owned(), "Bearer t".to_owned())]
    );
    assert_eq!(r.webhooks[1].timeout, Duration::from_secs(5));
    // A rule without filters matches everything, on start by default.
    let all = &c.rules[1];
    assert!(all.types.is_empty() && all.zones.is_empty() && all.mmsis.is_empty());
    assert_eq!(all.on, vec![Stage::Start]);
    assert!(all.matches("swarm", &[], &[]));
    assert!(all.webhooks.is_empty());
    assert_eq!(
        c.unknown_zones(&["Spratly Islands".to_owned()]),
        vec![("escorts in the shoal", "Scarborough Shoal")]
    );
}

#[test]
fn an_empty_file_has_no_rules_and_the_defaults() {
    let c = AlertsConfig::from_toml("").unwrap();
    assert!(c.rules.is_empty());
    assert_eq!(c.settings, alerts::Settings::default());
    // `on` may be one stage as a string.
    let c = AlertsConfig::from_toml("[[alert]]\nname = \"x\"\non = \"update\"").unwrap();
    assert_eq!(c.rules[0].on, vec![Stage::Update]);
}

fn rule_error(toml: &str) -> (String, String, String, String) {
    match AlertsConfig::from_toml(toml) {
        Err(e @ AlertsError::Rule { .. }) => {
            let shown = e.to_string();
            let AlertsError::Rule {
                rule,
                field,
                reason,
            } = e
            else {
                unreachable!()
            };
            (rule, field, reason, shown)
        }
        other => panic!("expected a rule error for {toml:?}, got {other:?}"),
    }
}

#[test]
fn rule_errors_name_the_rule_and_the_field() {
    let first = "[[alert]]\nname = \"ok\"\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "types = [\"escrot\"]",
            "types",
            "unknown event type \"escrot\"",
        ),
        ("zones = [\" \"]", "zones", "empty zone name"),
        ("mmsis = [0]", "mmsis", "not an MMSI"),
        ("mmsis = [1234567890]", "mmsis", "not an MMSI"),
        ("on = \"begin\"", "on", "unknown stage \"begin\""),
        ("on = []", "on", "no stage"),
        ("typs = [\"escort\"]", "typs", "unknown field `typs`"),
        (
            "webhooks = [{ timeout = \"1s\" }]",
            "webhooks[0].url",
            "missing field `url`",
        ),
        ("webhooks = [\"http://a.org/\"]", "webhooks[0]", "expected"),
        (
            "webhooks = [{ url = \"ftp://x.org/a\" }]",
            "webhooks[0].url",
            "scheme \"ftp\"",
        ),
        (
            "webhooks = [{ url = \"hooks.example.org/a\" }]",
            "webhooks[0].url",
            "no scheme",
        ),
        (
            "webhooks = [{ url = \"http://\" }]",
            "webhooks[0].url",
            "not a URL",
        ),
        (
            "webhooks = [{ url = \"http:// bad\" }]",
            "webhooks[0].url",
            "not a URL",
        ),
        (
            "webhooks = [{ url = \"http://a.org/\", timeout = \"fast\" }]",
            "webhooks[0].timeout",
            "fast",
        ),
        (
            "webhooks = [{ url = \"http://a.org/\", timeout = \"10m\" }]",
            "webhooks[0].timeout",
            "longer than 5 minutes",
        ),
        (
            "webhooks = [{ url = \"http://a.org/\", headers = { \"X Bad\" = \"v\" } }]",
            "webhooks[0].headers",
            "not a header name",
        ),
        (
            "webhooks = [{ url = \"http://a.org/\", headers = { X-Ok = \"a\\nb\" } }]",
            "webhooks[0].headers",
            "not a header value",
        ),
        (
            "webhooks = [{ url = \"http://a.org/\", retries = 3 }]",
            "webhooks[0].retries",
            "unknown field `retries`",
        ),
    ];
    for (body, field, reason) in cases {
        let toml = format!("{first}\n[[alert]]\nname = \"second\"\n{body}\n");
        let (rule, f, r, shown) = rule_error(&toml);
        assert_eq!(rule, "\"second\" (rule 2)", "{body}");
        assert_eq!(f, *field, "{body}: {r}");
        assert!(r.contains(reason), "{body}: {r:?} lacks {reason:?}");
        assert!(
            shown.contains("\"second\" (rule 2)") && shown.contains(field),
            "{shown}"
        );
    }
}

#[test]
fn a_rule_without_a_name_or_with_a_taken_name_is_refused() {
    let (rule, field, reason, _) = rule_error("[[alert]]\ntypes = [\"escort\"]\n");
    assert_eq!((rule.as_str(), field.as_str()), ("rule 1", "name"));
    assert!(reason.contains("missing field `name`"), "{reason}");
    let (rule, field, reason, _) = rule_error("[[alert]]\nname = \"a\"\n[[alert]]\nname = \"a\"\n");
    assert_eq!((rule.as_str(), field.as_str()), ("\"a\" (rule 2)", "name"));
    assert!(reason.contains("another rule"), "{reason}");
    let (_, field, _, _) = rule_error("[[alert]]\nname = \"  \"\n");
    assert_eq!(field, "name");
}

#[test]
fn setting_errors_name_the_setting() {
    for (body, field) in [
        ("max_attempts = 0", "max_attempts"),
        ("queue_capacity = -1", "queue_capacity"),
        ("workers = 0", "workers"),
        ("backoff = \"soon\"", "backoff"),
        ("backoff = \"2m\"", "backoff"),
        ("shutdown_grace = \"0s\"", "shutdown_grace"),
        ("shutdown_grace = \"100000w\"", "shutdown_grace"),
        ("backoff_max = \"2d\"", "backoff_max"),
        ("ledger_retention = \"20000d\"", "ledger_retention"),
        ("dead_letter = \"\"", "dead_letter"),
        ("retries = 3", "-"),
    ] {
        match AlertsConfig::from_toml(&format!("[alerts]\n{body}\n")) {
            Err(AlertsError::Setting { field: f, reason }) => {
                assert_eq!(f, field, "{body}: {reason}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    assert!(matches!(
        AlertsConfig::from_toml("[alert]\nname = 3"),
        Err(AlertsError::Toml { .. })
    ));
    assert!(matches!(
        AlertsConfig::from_toml("[rules]\n"),
        Err(AlertsError::Toml { .. })
    ));
}

#[test]
fn the_example_in_the_user_docs_reads() {
    let doc = include_str!("../../../docs/alerts.md");
    let start = doc
        .find("```toml\n")
        .expect("docs/alerts.md has a TOML example")
        + 8;
    let end = start + doc[start..].find("```").unwrap();
    let c = AlertsConfig::from_toml(&doc[start..end]).unwrap();
    assert_eq!(c.rules.len(), 3);
    assert_eq!(c.rules[0].name, "grey zone at Scarborough");
    assert_eq!(c.rules[2].on, vec![Stage::Start, Stage::Update, Stage::End]);
}
