//! The one error type of the API: a status, a stable code and a human reason, written as
//! `{"error": "<code>", "message": "<reason>"}`. Store and I/O failures are logged on stderr
//! and answered without their internals.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An API error (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code: `bad_request`, `bad_bbox`, `bad_time`, `bad_range`, `bad_mmsi`,
    /// `bad_filter`, `unknown_parameter`, `not_found`, `unknown_zone`, `store_unavailable`,
    /// `internal`.
    pub code: &'static str,
    /// Why, for a person.
    pub message: String,
}

impl ApiError {
    /// A 400 with a code.
    pub fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    /// A failure of ours: logged with its detail, answered without it.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        eprintln!("serve: internal error: {detail}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "the server could not answer; see its log".to_owned(),
        }
    }
}

impl From<query::QueryError> for ApiError {
    fn from(e: query::QueryError) -> Self {
        use query::QueryError as Q;
        match &e {
            Q::UnknownMmsi { mmsi, .. } => ApiError::not_found(format!("MMSI {mmsi} is not known")),
            Q::BadTime { .. } | Q::BadDuration { .. } => ApiError::bad("bad_time", e.to_string()),
            Q::BadBBox { .. } => ApiError::bad("bad_bbox", e.to_string()),
            Q::BadFilter { .. } => ApiError::bad("bad_filter", e.to_string()),
            Q::BadInput(_) => ApiError::bad("bad_request", e.to_string()),
            Q::EmptyRange { .. } => ApiError::bad("bad_range", e.to_string()),
            Q::NotAStore { .. } => {
                eprintln!("serve: store unavailable: {e}");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "store_unavailable",
                    message: "the store has no committed data yet, or cannot be read".to_owned(),
                }
            }
            Q::Store(_) | Q::Io(_) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response()
    }
}
