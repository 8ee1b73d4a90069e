//! The Tidewatch web map, embedded: the analyst's browser front end as static files.
//!
//! The front end (`app/`: plain JavaScript modules and CSS) is bundled at build time by
//! `build.rs` with npm and esbuild (MapLibre GL, an offline basemap from the `world-atlas`
//! package); the results are compiled into this library, so a plain `cargo run` serves the map
//! without Node.js at run time and without any network. The page talks only to the HTTP API that
//! crate `serve` implements (`/api/health`, `/api/vessels`, `/api/stream`, ...), on its own origin.
//!
//! The server maps `GET /` and `GET /assets/*` onto [`asset`]:
//!
//! ```
//! let (html, content_type) = web::asset("/").expect("the page is embedded");
//! assert_eq!(content_type, "text/html; charset=utf-8");
//! assert!(std::str::from_utf8(html).unwrap().contains("/assets/app.js"));
//! assert!(web::asset("/assets/app.js").is_some());
//! assert!(web::asset("/assets/nothing.js").is_none());
//! ```

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The embedded file served at `path` and its content type, or `None`.
///
/// `path` is the request path, with or without its leading `/`; `/` (or empty) is
/// `index.html`. The files are `index.html`, `assets/app.js` (the bundle, an ES module),
/// `assets/app.css` (the app's and MapLibre's styles) and `assets/maplibre-gl-worker.mjs`
/// (MapLibre's worker, which it loads from beside the bundle).
pub fn asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, bytes, content_type)| (*bytes, *content_type))
}

/// The paths of every embedded file (without a leading `/`), for listing or writing them out.
pub fn asset_paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(p, _, _)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_asset_is_served_with_a_content_type_and_is_not_empty() {
        let paths: Vec<_> = asset_paths().collect();
        assert_eq!(paths.len(), 4, "{paths:?}");
        for path in paths {
            let (bytes, content_type) = asset(path).expect(path);
            assert!(!bytes.is_empty(), "{path} is empty");
            assert!(content_type.contains('/'), "{path}: {content_type}");
            assert_eq!(asset(&format!("/{path}")), Some((bytes, content_type)));
        }
    }

    #[test]
    fn the_page_loads_the_bundle_and_its_styles_and_the_bundle_names_the_worker() {
        let html = std::str::from_utf8(asset("").unwrap().0).unwrap();
        assert!(html.contains(r#"src="/assets/app.js""#), "{html}");
        assert!(html.contains(r#"href="/assets/app.css""#), "{html}");
        let js = std::str::from_utf8(asset("assets/app.js").unwrap().0).unwrap();
        assert!(js.contains("maplibre-gl-worker.mjs"));
        let css = std::str::from_utf8(asset("assets/app.css").unwrap().0).unwrap();
        assert!(css.contains(".maplibregl-map"), "MapLibre's CSS is bundled");
    }

    #[test]
    fn unknown_paths_and_directory_escapes_are_not_served() {
        assert_eq!(asset("/assets/"), None);
        assert_eq!(asset("/assets/../index.html"), None);
        assert_eq!(asset("/api/health"), None);
        assert_eq!(asset("app.js"), None);
    }
}
