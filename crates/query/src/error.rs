//! What can go wrong answering a query: one enum, so the CLI can print it and exit, and a
//! server can map it to a status (`UnknownMmsi` is a 404, the `Bad*` variants are 400s).

use std::path::PathBuf;

/// A query that could not be answered.
#[derive(Debug)]
pub enum QueryError {
    /// The MMSI was never seen in this store (`vessel` and `track` answer alike).
    UnknownMmsi {
        /// The MMSI asked for.
        mmsi: u32,
        /// The store directory.
        store: PathBuf,
    },
    /// A time that is none of the accepted forms.
    BadTime {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A duration that is none of the accepted forms.
    BadDuration {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A bounding box with the wrong count of numbers or values out of range.
    BadBBox {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A filter value that is not valid (ship type, class, flag...).
    BadFilter {
        /// The filter's name.
        filter: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// `from` is not before `to`.
    EmptyRange {
        /// From, ms.
        from_ms: i64,
        /// To, ms.
        to_ms: i64,
    },
    /// The directory is not a store that can be read.
    NotAStore {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// The store could not be read.
    Store(store::StoreError),
    /// Writing the answer failed.
    Io(std::io::Error),
    /// An input file (SAR detections) that cannot be read as what it should be: the file and
    /// why.
    BadInput(String),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::UnknownMmsi { mmsi, store } => {
                write!(f, "MMSI {mmsi} is not in {}", store.display())
            }
            QueryError::BadTime { input, reason } => write!(
                f,
                "`{input}` is not a time ({reason}); use RFC 3339 (2026-01-15T08:00:00Z), a \
                 date (2026-01-15), now, now-6h, or Unix seconds"
            ),
            QueryError::BadDuration { input, reason } => write!(
                f,
                "`{input}` is not a duration ({reason}); use e.g. 90s, 5m, 1h30m, 1.5h, 1d \
                 (a bare number is seconds)"
            ),
            QueryError::BadBBox { input, reason } => write!(
                f,
                "bbox `{input}`: {reason}; give min_lon,min_lat,max_lon,max_lat in degrees \
                 (min_lon > max_lon crosses the antimeridian)"
            ),
            QueryError::BadFilter { filter, reason } => write!(f, "{filter}: {reason}"),
            QueryError::EmptyRange { from_ms, to_ms } => write!(
                f,
                "the time range is empty: from ({}) must be before to ({})",
                crate::iso8601_ms(*from_ms),
                crate::iso8601_ms(*to_ms)
            ),
            QueryError::NotAStore { dir, reason } => {
                write!(f, "cannot read store {}: {reason}", dir.display())
            }
            QueryError::Store(e) => write!(f, "{e}"),
            QueryError::Io(e) => write!(f, "{e}"),
            QueryError::BadInput(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for QueryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            QueryError::Store(e) => Some(e),
            QueryError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<store::StoreError> for QueryError {
    fn from(e: store::StoreError) -> Self {
        QueryError::Store(e)
    }
}

impl From<std::io::Error> for QueryError {
    fn from(e: std::io::Error) -> Self {
        QueryError::Io(e)
    }
}
