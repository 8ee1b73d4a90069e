//! The OpenAPI document and the router list the same routes, and every documented operation
//! answers with a status it documents (issue 20).

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::*;
use serde_json::Value;

#[test]
fn every_route_is_documented_and_every_documented_path_is_routed() {
    let doc = serve::openapi_document();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routed: BTreeSet<String> = serve::route_paths()
        .iter()
        .map(|p| p.replace("{*", "{"))
        .collect();
    assert_eq!(documented, routed);
    for contract in [
        "/api/health",
        "/metrics",
        "/api/openapi.json",
        "/api/vessels",
        "/api/search",
        "/api/vessels/{mmsi}",
        "/api/vessels/{mmsi}/track",
        "/api/events",
        "/api/zones",
        "/api/stats/presence",
        "/api/stream",
        "/",
        "/assets/{path}",
    ] {
        assert!(routed.contains(contract), "{contract} is not routed");
    }
}

/// The path with its path parameters' examples, and every query parameter's example.
/// `s` as a query value: bytes outside the unreserved set and the delimiters examples use
/// (`,` `:` `/`) percent-encoded.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' | b':' => {
                (b as char).to_string()
            }
            b'/' => "/".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn example_uri(path: &str, op: &Value) -> String {
    let mut uri = path.to_owned();
    let mut query = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let (name, ex) = (p["name"].as_str().unwrap(), p["example"].as_str().unwrap());
        match p["in"].as_str().unwrap() {
            "path" => uri = uri.replace(&format!("{{{name}}}"), ex),
            _ => query.push(format!("{name}={}", encode(ex))),
        }
    }
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query.join("&"));
    }
    uri
}

#[tokio::test]
async fn every_documented_operation_is_served_with_a_documented_status() {
    let dir = fixture("openapi");
    let s = state(&dir);
    let (st, served) = get(&s, "/api/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(served, serve::openapi_document());
    for (path, item) in served["paths"].as_object().unwrap() {
        let op = &item["get"];
        // Without its optional parameters, and with every example (`max_age` needs `at`; the
        // examples' combination is not always valid, so 400 is allowed there).
        for (uri, full) in [
            (
                example_uri(
                    path,
                    &serde_json::json!({"parameters": op["parameters"].as_array().unwrap_or(&vec![]).iter().filter(|p| p["required"] == true).cloned().collect::<Vec<_>>()}),
                ),
                false,
            ),
            (example_uri(path, op), true),
        ] {
            let (st, _, body) = get_raw(&s, &uri).await;
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            assert!(
                !(st == StatusCode::NOT_FOUND
                    && v["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("no route"))),
                "{uri} is documented but not routed"
            );
            assert!(
                op["responses"].get(st.as_str()).is_some(),
                "{uri}: status {st} is not documented ({v})"
            );
            if !full && !path.starts_with("/assets") && path != "/" {
                assert_eq!(st, StatusCode::OK, "{uri}: {v}");
            }
        }
    }
}
