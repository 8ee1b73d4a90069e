//! The Tidewatch live server (issue 20): the live picture the pipeline feeds, the HTTP JSON
//! API over it and the store, the Server-Sent Events stream, Prometheus metrics, and the hook
//! the web map's files are served through. `docs/api.md` is the user's reference (routes,
//! fields, the data clock, the stream's treatment of slow clients).
//!
//! - [`Picture`] (`picture.rs`): latest position and static data per MMSI, seeded from the
//!   store, recent live positions and events, the data clock, counters; `on_*` are called
//!   from the pipeline's threads and never wait for a client.
//! - [`router`] (`api.rs`): every route, with one [`ApiError`] for every failure;
//!   history is read through the `query` crate on the blocking pool.
//! - `stream.rs`: the fan-out to stream clients, per-client bounded queues, thinning and
//!   dropping of slow clients.
//! - `openapi.rs`: the OpenAPI 3.1 document.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let dir = std::path::Path::new("store");
//! let picture = serve::Picture::new(dir);
//! let state = serve::AppState::new(picture.clone(), dir);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // The pipeline calls picture.on_position(...) etc. from its threads meanwhile.
//! serve::serve(listener, state, std::future::pending()).await
//! # }
//! ```

mod api;
pub mod auth;
mod error;
mod export;
mod link;
mod openapi;
mod picture;
mod relay;
mod stream;
mod tls;
mod views;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, MethodRouter};
use axum::Router;

pub use auth::{AccessConfig, AuthSetting, Caller, Gate};
pub use error::ApiError;
pub use picture::{
    event_properties, ship_category, summary, Fix, LivePosition, LiveStatic, LiveVessel, Picture,
    SourceState, StreamStats, CLAIMS_PER_SOURCE, RECENT_EVENTS, RECENT_POSITIONS, SHIP_CATEGORIES,
    SOURCES_PER_VESSEL,
};
pub use stream::{StreamConfig, BATCH, BATCH_WAIT};
pub use tls::{serve_tls, tls_config};

/// Where the web map's files come from: a path without its leading `/` (`index.html` for
/// `/`, `assets/app.js` for `/assets/app.js`) to its bytes and content type (the `web` crate's
/// `web::asset`).
pub type Assets = fn(&str) -> Option<(&'static [u8], &'static str)>;

/// More Prometheus text for `/metrics`, from the parts of the pipeline outside the picture
/// (the alert rules' delivery counters): appends to the response body.
#[derive(Clone)]
pub struct ExtraMetrics(pub Arc<dyn Fn(&mut String) + Send + Sync>);

impl std::fmt::Debug for ExtraMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExtraMetrics")
    }
}

/// The name of a store's zone file (as `tidewatch zones import` writes it).
pub const STORE_ZONES_FILE: &str = "zones.geojson";

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The live picture.
    pub picture: Arc<Picture>,
    /// The store directory (history, registry, zones).
    pub store_dir: PathBuf,
    /// The configured zones (`/api/zones`, `zone` filters).
    pub zones: Arc<Vec<detect::zones::Zone>>,
    /// The web map's files; `None`: `/` and `/assets/*` answer 404.
    pub assets: Option<Assets>,
    /// How stream clients are treated.
    pub stream: StreamConfig,
    /// More `/metrics` text; `None`: the picture's only.
    pub extra_metrics: Option<ExtraMetrics>,
    /// Authentication, rate limits and the audit log (issue 21).
    pub gate: Arc<Gate>,
}

impl AppState {
    /// State over a picture and a store; zones from the store's `zones.geojson` when it has
    /// one (a file that does not load is reported on stderr and no zones are served), no web
    /// map, default stream settings, default access settings. Panics when the store's access
    /// rules or audit log cannot be opened (another server holds the audit log): use
    /// [`AppState::with_access`] to handle that.
    pub fn new(picture: Arc<Picture>, store_dir: &Path) -> AppState {
        match AppState::with_access(picture, store_dir, AccessConfig::default()) {
            Ok(s) => s,
            Err(e) => panic!(
                "serve: cannot open the access rules of {}: {e}",
                store_dir.display()
            ),
        }
    }

    /// [`AppState::new`] with access settings; fails when the store's access rules or audit
    /// log cannot be opened.
    pub fn with_access(
        picture: Arc<Picture>,
        store_dir: &Path,
        access: AccessConfig,
    ) -> Result<AppState, access::AccessError> {
        let gate = Arc::new(Gate::open(store_dir, access)?);
        let zpath = store_dir.join(STORE_ZONES_FILE);
        let zones = if zpath.is_file() {
            match detect::zones::import::load_file(
                &zpath,
                &detect::zones::import::PropertyMap::default(),
            ) {
                Ok(z) => z,
                Err(e) => {
                    eprintln!("serve: zones not loaded from {}: {e}", zpath.display());
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        Ok(AppState {
            picture,
            store_dir: store_dir.to_owned(),
            zones: Arc::new(zones),
            assets: None,
            stream: StreamConfig::default(),
            extra_metrics: None,
            gate,
        })
    }
}

/// Every route with its handler; the OpenAPI document lists the same paths (tested).
fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(api::asset)),
        ("/assets/{*path}", get(api::asset)),
        ("/api/health", get(api::health)),
        ("/metrics", get(api::metrics)),
        ("/api/openapi.json", get(api::openapi)),
        ("/api/vessels", get(api::vessels)),
        ("/api/search", get(api::search)),
        ("/api/vessels/{mmsi}", get(api::vessel)),
        ("/api/vessels/{mmsi}/track", get(api::track)),
        ("/api/events", get(api::events)),
        ("/api/zones", get(api::zones)),
        ("/api/stats/presence", get(api::presence)),
        ("/api/stream", get(api::stream)),
        ("/api/export/positions", get(export::positions)),
        ("/api/link/positions", get(link::positions)),
        ("/api/link/stream", get(link::stream)),
        ("/api/link/events", get(link::events)),
        ("/api/link/late", get(link::late)),
    ]
}

/// The paths the router serves, as written in the router (`{*path}` for a wildcard).
pub fn route_paths() -> Vec<&'static str> {
    routes().into_iter().map(|(p, _)| p).collect()
}

/// The OpenAPI 3.1 document `/api/openapi.json` serves.
pub fn openapi_document() -> serde_json::Value {
    openapi::document()
}

/// The application: every route of the contract, a JSON 404 for any other path and a JSON
/// 405 for other methods.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new();
    for (path, m) in routes() {
        r = r.route(path, m.fallback(api::method_not_allowed));
    }
    r.fallback(api::no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::layer,
        ))
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` completes (then lets open requests end;
/// stream responses are cut). Also sends the picture's waiting positions to the stream every
/// [`BATCH_WAIT`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(listener, state, shutdown).await
}

/// [`serve`] on any listener (plain TCP, or TLS through `tls.rs`).
pub(crate) async fn serve_on<L>(
    listener: L,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let picture = state.picture.clone();
    let picture_for_shutdown = state.picture.clone();
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(BATCH_WAIT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            picture.flush();
        }
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app = router(state);
    let closing = picture_for_shutdown;
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        // Streams never end by themselves: end them so open responses finish.
        closing.hub.close_all();
        let _ = stop_tx.send(true);
    });
    // A response that still does not finish is cut a few seconds after the signal.
    let mut stop = stop_rx;
    let result = tokio::select! {
        r = server => r,
        _ = async {
            let _ = stop.wait_for(|s| *s).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        } => Ok(()),
    };
    ticker.abort();
    result
}
