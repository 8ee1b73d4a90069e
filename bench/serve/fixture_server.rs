//! A test server for fuzzing the API (schemathesis): the store of `crates/serve/tests`
//! (three vessels, two events, a zone), served on 127.0.0.1:PORT for SECONDS while a few live
//! positions and events arrive. Bounded and loopback only.
//!
//!     cargo run -p tidewatch-serve --example serve_fixture -- [--port 8765] [--seconds 300] [--token]
//!
//! With `--token` (issue 21) the store's source is labelled `REL TO IND`, a token of an IND
//! principal is created and printed (`token tw_...`), so the server requires tokens.

#[path = "../../crates/serve/tests/common/mod.rs"]
mod common;

use std::time::Duration;

fn main() {
    let v: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| -> u64 {
        v.iter()
            .position(|a| a == name)
            .and_then(|i| v.get(i + 1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (port, seconds) = (arg("--port", 8765), arg("--seconds", 300));
    let dir = common::fixture("fuzz");
    if v.iter().any(|a| a == "--token") {
        let a = access::Access::open(&dir).expect("access");
        a.set_label(
            "sim",
            &access::Releasability::parse("REL TO IND").expect("label"),
            0,
        )
        .expect("label");
        let (_, secret) = a
            .create_token(
                &access::NewToken {
                    name: "fuzzer".to_owned(),
                    partner: access::label::Name::parse("IND").expect("name"),
                    groups: Default::default(),
                    kind: None,
                },
                0,
            )
            .expect("token");
        println!("token {}", secret.expose());
    }
    // A fuzzer asks fast: rate limits high enough not to hide the handlers behind 429s.
    let limits = serve::AccessConfig {
        rate_per_s: 100_000.0,
        burst: 100_000.0,
        ..serve::AccessConfig::default()
    };
    let state =
        serve::AppState::with_access(serve::Picture::new(&dir), &dir, limits).expect("state");
    let picture = state.picture.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16))
            .await
            .expect("bind");
        println!(
            "serving {} on http://127.0.0.1:{port} for {seconds} s",
            dir.display()
        );
        let feeder = tokio::spawn(async move {
            for k in 0..seconds as i64 {
                picture.on_position(common::live(
                    common::TANKER,
                    common::T0 + 3 * common::HOUR + k * 1000,
                    15.2,
                    117.2 + k as f64 / 1e4,
                ));
                if k % 10 == 0 {
                    picture.on_events(&[common::gap_event()]);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        serve::serve(listener, state, async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
        })
        .await
        .expect("serve");
        feeder.abort();
        std::fs::remove_dir_all(&dir).ok();
    });
}
