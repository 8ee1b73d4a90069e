//! The OpenAPI 3.1 document of every route (`GET /api/openapi.json`), built by hand with
//! `serde_json`. A test holds it and the router to the same list of paths.

use serde_json::{json, Map, Value};

fn param(name: &str, place: &str, required: bool, description: &str, example: &str) -> Value {
    typed(
        name,
        place,
        required,
        description,
        example,
        json!({"type": "string"}),
    )
}

fn typed(
    name: &str,
    place: &str,
    required: bool,
    description: &str,
    example: &str,
    schema: Value,
) -> Value {
    json!({
        "name": name, "in": place, "required": required, "description": description,
        "schema": schema, "example": example,
    })
}

fn q(name: &str, description: &str, example: &str) -> Value {
    param(name, "query", false, description, example)
}

/// `limit` with its default and maximum.
fn limit(default: u32, max: u32) -> Value {
    typed(
        "limit",
        "query",
        false,
        &format!("At most this many (default {default}, max {max})"),
        &default.to_string(),
        json!({"type": "integer", "minimum": 1, "maximum": max}),
    )
}

/// A number in a bbox: digits, an optional sign and fraction.
const NUM: &str = "-?[0-9]{1,3}(\\.[0-9]{1,6})?";

fn error_response(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn get(summary: &str, params: Vec<Value>, ok: Value, errors: &[(&str, &str)]) -> Value {
    let mut responses = Map::new();
    responses.insert("200".to_owned(), ok);
    for (code, d) in errors {
        responses.insert((*code).to_owned(), error_response(d));
    }
    json!({"get": {"summary": summary, "parameters": params, "responses": responses}})
}

fn json_ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn geojson_ok(description: &str) -> Value {
    json!({"description": description, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}})
}

const BAD: (&str, &str) = (
    "400",
    "A parameter is not valid (the message says which and why).",
);
const NOT_FOUND: (&str, &str) = ("404", "Not known.");
const STORE: (&str, &str) = ("503", "The store cannot be read yet.");

/// The document.
pub fn document() -> Value {
    let bbox = || {
        typed(
            "bbox",
            "query",
            false,
            "min_lon,min_lat,max_lon,max_lat in degrees (min_lon > max_lon crosses the antimeridian)",
            "109,9,119,17",
            json!({"type": "string", "pattern": format!("^{NUM},{NUM},{NUM},{NUM}$")}),
        )
    };
    let time = |n: &str, d: &str| {
        q(
            n,
            &format!(
                "{d}: RFC 3339, a date, now, now-6h (relative to the data time) or Unix seconds"
            ),
            if n == "to" { "now" } else { "now-6h" },
        )
    };
    let mmsi_schema = json!({"type": "integer", "minimum": 1, "maximum": 999_999_999});
    let mmsi = || {
        typed(
            "mmsi",
            "path",
            true,
            "MMSI (1 to 9 digits)",
            "412000001",
            mmsi_schema.clone(),
        )
    };
    let event_types: Vec<&str> = detect::EventType::ALL.iter().map(|t| t.as_str()).collect();
    let mut paths = Map::new();
    let mut add = |path: &str, item: Value| {
        paths.insert(path.to_owned(), item);
    };
    add(
        "/",
        json!({"get": {"summary": "The web map.", "responses": {
            "200": {"description": "The page.", "content": {"text/html": {}}},
            "404": error_response("The web map is not built into this server.")}}}),
    );
    add(
        "/assets/{path}",
        json!({"get": {"summary": "The web map's files.",
            "parameters": [param("path", "path", true, "File path", "index.js")],
            "responses": {
                "200": {"description": "The file.", "content": {"application/octet-stream": {}}},
                "404": error_response("No such file.")}}}),
    );
    add(
        "/api/health",
        get(
            "Server status and the data clock.",
            vec![],
            json_ok(
                "Status.",
                json!({"type": "object", "required": ["status", "version", "uptime_s", "vessels"],
                "properties": {
                    "status": {"type": "string"}, "version": {"type": "string"},
                    "uptime_s": {"type": "number"},
                    "data_time": {"type": ["string", "null"], "format": "date-time"},
                    "data_from": {"type": ["string", "null"], "format": "date-time"},
                    "vessels": {"type": "integer"},
                    "lag_ms": {"type": ["integer", "null"]}}}),
            ),
            &[],
        ),
    );
    add(
        "/metrics",
        json!({"get": {"summary": "Prometheus metrics (text format 0.0.4).", "responses": {
            "200": {"description": "Metrics.", "content": {"text/plain": {}}}}}}),
    );
    add(
        "/api/openapi.json",
        get(
            "This document.",
            vec![],
            json_ok("OpenAPI 3.1.", json!({"type": "object"})),
            &[],
        ),
    );
    add(
        "/api/vessels",
        get(
            "Vessels now (the live picture), or at a past time from the store (`at`).",
            vec![
                bbox(),
                q(
                    "ship_type",
                    "ITU code, range (80-89) or category, comma separated",
                    "tanker",
                ),
                typed(
                    "flag",
                    "query",
                    false,
                    "ISO 3166 alpha-2 flag (from the MMSI)",
                    "CN",
                    json!({"type": "string", "pattern": "^[A-Za-z]{2}$"}),
                ),
                q("zone", "Zone name (GET /api/zones)", "Scarborough Shoal"),
                time("at", "The picture at this past time"),
                q(
                    "max_age",
                    "With at: how old a last position may be (default 1h, at most 366 days)",
                    "1h",
                ),
                q(
                    "limit",
                    "At most this many (default 10000, max 100000)",
                    "100",
                ),
                typed(
                    "format",
                    "query",
                    false,
                    "geojson (default); kml (Google Earth, GIS: a placemark per vessel); cot \
                     (Cursor on Target for TAK: one event a line)",
                    "kml",
                    json!({"type": "string", "enum": ["geojson", "kml", "cot"]}),
                ),
                q(
                    "stale",
                    "With format=cot: how long after now a receiver keeps a vessel (default \
                     10m, at most 1 day)",
                    "10m",
                ),
            ],
            json!({"description": "Points [lon, lat] with the vessel's properties (GeoJSON); \
                   a KML document; or CoT events, one a line.",
                   "content": {
                       "application/json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}},
                       "application/vnd.google-earth.kml+xml": {"schema": {"type": "string"}},
                       "application/xml": {"schema": {"type": "string"}}}}),
            &[BAD, STORE],
        ),
    );
    add(
        "/api/search",
        get(
            "Vessels whose name or call sign contains q, or whose MMSI or IMO starts with it.",
            vec![
                typed(
                    "q",
                    "query",
                    true,
                    "Text (1 to 100 characters, not only spaces)",
                    "HAI",
                    json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}),
                ),
                limit(20, 1_000),
            ],
            json_ok(
                "Matches.",
                json!({"type": "object", "properties": {"results": {"type": "array"}}}),
            ),
            &[BAD],
        ),
    );
    add(
        "/api/vessels/{mmsi}",
        get(
            "One vessel: identity, latest position, identity history, recent events.",
            vec![mmsi()],
            json_ok(
                "The vessel.",
                json!({"type": "object", "required": ["mmsi"]}),
            ),
            &[BAD, NOT_FOUND, STORE],
        ),
    );
    add(
        "/api/vessels/{mmsi}/track",
        get(
            "A vessel's track: one LineString per segment, live positions not yet stored last \
             (segment null); default the last 24 h of data time, at most 366 days.",
            vec![
                mmsi(),
                time("from", "From (inclusive)"),
                time("to", "To (exclusive)"),
            ],
            geojson_ok("Segments."),
            &[BAD, NOT_FOUND, STORE],
        ),
    );
    add(
        "/api/events",
        get(
            "Detected events, newest first.",
            vec![
                typed(
                    "type",
                    "query",
                    false,
                    "Event type",
                    "escort",
                    json!({"type": "string", "enum": event_types}),
                ),
                typed(
                    "mmsi",
                    "query",
                    false,
                    "Involving this MMSI",
                    "412000001",
                    mmsi_schema.clone(),
                ),
                q("zone", "In this zone (by name)", "Scarborough Shoal"),
                time("from", "Ending at or after"),
                time("to", "Starting before"),
                typed(
                    "open",
                    "query",
                    false,
                    "Only open events",
                    "false",
                    json!({"type": "boolean"}),
                ),
                limit(200, 5_000),
            ],
            geojson_ok("Points at each event's place."),
            &[BAD, STORE],
        ),
    );
    add(
        "/api/zones",
        get(
            "The configured zones.",
            vec![],
            json!({"description": "Polygons with name and kind.", "content": {
                "application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}}),
            &[],
        ),
    );
    add(
        "/api/stats/presence",
        get(
            "Presence in a zone: distinct vessels per UTC day, vessels and vessel-days by flag \
             and ship type; default the last 30 days of data time, at most 366 days.",
            vec![
                param("zone", "query", true, "Zone name", "Scarborough Shoal"),
                time("from", "From"),
                time("to", "To"),
            ],
            json_ok("Statistics.", json!({"type": "object"})),
            &[BAD, STORE],
        ),
    );
    add(
        "/api/stream",
        json!({"get": {
            "summary": "Server-Sent Events: `position` (inside bbox), `event` (of types), `alert`. \
                        A slow client is thinned (latest position per vessel), then dropped.",
            "parameters": [
                bbox(),
                q("types", "Event types, comma separated", "escort,encounter"),
                typed(
                    "format",
                    "query",
                    false,
                    "sse (default); nmea: the positions re-encoded as NMEA 0183 AIS (!AIVDM with \
                     a tag block of the message time; static reports with the name and ship \
                     type); cot: each position as its vessel's Cursor on Target event",
                    "nmea",
                    json!({"type": "string", "enum": ["sse", "nmea", "cot"]}),
                ),
                q(
                    "stale",
                    "With format=cot: how long after it is sent a receiver keeps an event \
                     (default 10m, at most 1 day)",
                    "10m",
                ),
            ],
            "responses": {
                "200": {"description": "The stream.", "content": {
                    "text/event-stream": {}, "text/plain": {}, "application/xml": {}}},
                "400": error_response(BAD.1)}}}),
    );
    add(
        "/api/export/positions",
        get(
            "Stored positions over a time range (at most seven days and 1,000,000 rows) as a \
             file: CSV or JSON lines, each row with the sources the caller may see.",
            vec![
                time("from", "From (inclusive; default a day before to)"),
                time("to", "To (exclusive; default just after the data time)"),
                typed(
                    "mmsi",
                    "query",
                    false,
                    "Only this vessel",
                    "412000001",
                    json!({"type": "integer", "minimum": 0, "maximum": 999_999_999}),
                ),
                bbox(),
                typed(
                    "format",
                    "query",
                    false,
                    "csv (default) or jsonl",
                    "csv",
                    json!({"type": "string", "enum": ["csv", "jsonl"]}),
                ),
            ],
            json!({"description": "The positions.",
                   "content": {"text/csv": {}, "application/x-ndjson": {}}}),
            &[BAD, STORE],
        ),
    );
    add(
        "/api/link/positions",
        get(
            "For a partner server's link (system principals only): committed positions \
             released to it in commit order, each with its visible sources and their \
             releasability labels, the identity claims of the page's vessels that \
             visible sources made, and every source released to the caller with its label \
             now (`labels`: a source missing from it is no longer released).",
            vec![
                q(
                    "cursor",
                    "Where to start: PART:ROW from a previous answer's next (default 0:0)",
                    "0:0",
                ),
                time(
                    "since",
                    "Leave out positions older than this (keep it fixed across pages)",
                ),
                q(
                    "limit",
                    "At most this many positions (1 to 100000, default 10000)",
                    "10000",
                ),
                q(
                    "sources",
                    "Only the rows these sources heard, each with them alone: a JSON array of \
                     source names (a backfill of sources released after the link read past \
                     their rows)",
                    "[\"SAT/1\"]",
                ),
                q(
                    "until",
                    "Stop at this cursor (PART:ROW), with sources: where the link first saw \
                     them released",
                    "12:0",
                ),
            ],
            json!({"description": "Positions, claims, the next page's cursor and whether more is ready.",
                   "content": {"application/json": {}}}),
            &[BAD, ("403", "Not a system principal.")],
        ),
    );
    add(
        "/api/link/late",
        get(
            "For a partner server's link (system principals only): the late sources stored \
             after the cursor `after` (copies of transmissions an earlier run wrote), \
             released to the caller, each as its row with that source alone; `next` (the \
             cursor to continue from) and `more`. Without `after`: no rows, `next` past the \
             newest run.",
            vec![q(
                "after",
                "Where to continue: RUN:SKIP from a previous answer's next",
                "3:0",
            )],
            json!({"description": "Rows with their late sources, the next cursor and whether more is ready.",
                   "content": {"application/json": {}}}),
            &[BAD, ("403", "Not a system principal.")],
        ),
    );
    add(
        "/api/link/events",
        get(
            "For a partner server's link (system principals only): the stored events no \
             server can derive from AIS (dark_vessel: satellite radar detections no AIS \
             matched) that are released to the caller, each with its sources' labels; the \
             whole set since `since` (`complete` false when it passed 100000).",
            vec![
                time("since", "Leave out events that ended before this"),
                q(
                    "known",
                    "The digest of the answer the caller holds: unchanged, the answer is {\"unchanged\": true}",
                    "0123456789abcdef",
                ),
            ],
            json!({"description": "The events and whether the answer is complete.",
                   "content": {"application/json": {}}}),
            &[BAD, ("403", "Not a system principal.")],
        ),
    );
    add(
        "/api/link/stream",
        json!({"get": {
            "summary": "For a partner server's link (system principals only): Server-Sent \
                        Events `position` with data {source, label, position} for every live \
                        position of a source released to the caller.",
            "responses": {
                "200": {"description": "The stream.", "content": {"text/event-stream": {}}},
                "400": error_response(BAD.1),
                "403": error_response("Not a system principal.")}}}),
    );
    // Issue 21: every API read needs a token unless the server runs open; all may be refused
    // for the reasons of the access layer.
    for (path, item) in paths.iter_mut() {
        if !(path.starts_with("/api/") || path == "/metrics") {
            continue;
        }
        let Some(op) = item.get_mut("get").and_then(Value::as_object_mut) else {
            continue;
        };
        op.insert("security".to_owned(), json!([{"bearer": []}, {}]));
        if let Some(Value::Object(r)) = op.get_mut("responses") {
            for (code, d) in [
                (
                    "401",
                    "No token, or not a live one (the server requires tokens).",
                ),
                ("414", "The path and query are too long."),
                ("429", "Past the principal's rate; see Retry-After."),
                (
                    "503",
                    "The read could not be audited, so it is not answered.",
                ),
            ] {
                r.entry(code.to_owned())
                    .or_insert_with(|| error_response(d));
            }
            if path == "/metrics" {
                r.insert(
                    "403".to_owned(),
                    error_response("The principal may not see every source."),
                );
            }
        }
        if path == "/api/stream" {
            if let Some(Value::Array(ps)) = op.get_mut("parameters") {
                ps.push(q(
                    "access_token",
                    "The token, for clients that cannot send headers (EventSource)",
                    "tw_0000000000000000000000000000000000000000000000000000000000000000",
                ));
            }
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Tidewatch", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The live maritime picture: vessels, tracks, events, zones, statistics and a live stream. Times are ISO 8601 UTC; \"now\" is the data time."},
        "paths": paths,
        "components": {
          "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
              "description": "An API token from `tidewatch token create` (tw_ and 64 hex digits)."}},
          "schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string"}, "message": {"type": "string"}}},
            "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                "type": {"const": "FeatureCollection"}, "features": {"type": "array"}}}
        }},
    })
}
