//! Partner sharing: who may see what, who saw what.
//!
//! - [`label`]: releasability labels (`PUBLIC`, `USA ONLY`, `REL TO IND, USA`, `WITHHELD`) and
//!   the labels of a store's sources by feed or station pattern ([`SourceLabels`]).
//! - [`visibility`]: [`Principal`]s and the rules every read path applies through a [`View`]:
//!   sources, position rows (visible through any visible source; returned with their visible
//!   sources only), identity fields (the newest value a visible source reported), derived
//!   events (hidden unless every vessel in them is visible over their window).
//! - [`events`]: the event rule on a stored event's JSON ([`View::redact_event`]).
//! - [`db`]: `access.sqlite` in the store: labels, the default label, principals and API
//!   tokens (SHA-256 at rest, [`Access::authenticate`] in constant time).
//! - [`audit`]: the append-only, hash-chained `audit.jsonl` ([`AuditLog`], [`audit::verify`]).
//!
//! The library reads no clock: times (`now_ms`, an entry's `time_ms`) come from the caller.
//!
//! ```
//! use access::{Principal, PrincipalKind, Releasability, SourceLabels, View, label::Name};
//!
//! let mut labels = SourceLabels::default(); // unlabelled sources: WITHHELD
//! labels.set("ais-hub", Releasability::parse("PUBLIC").unwrap()).unwrap();
//! labels.set("in-navy", Releasability::parse("REL TO IND, USA").unwrap()).unwrap();
//! let fra = Principal {
//!     id: 1,
//!     name: "analyst".into(),
//!     partner: Name::parse("FRA").unwrap(),
//!     groups: Default::default(),
//!     kind: PrincipalKind::User,
//! };
//! let view = View::new(&fra, &labels);
//! // A position heard by the navy's radar and a public receiver: visible through the latter,
//! // and returned with that source only.
//! let mut sources = vec!["in-navy/r1/RA".to_owned(), "ais-hub/AI".to_owned()];
//! assert!(view.redact_sources(&mut sources));
//! assert_eq!(sources, ["ais-hub/AI"]);
//! assert!(!view.row_visible(&["in-navy/r1/RA"]));
//! assert_eq!(labels.label_of("in-navy/r1/RA").to_string(), "REL TO IND, USA");
//! ```

pub mod audit;
pub mod db;
pub mod events;
pub mod label;
pub mod visibility;

pub use audit::{AuditEntry, AuditFilter, AuditLog, AuditRecord, Repeats, Verified};
pub use db::{bearer, Access, NewToken, Secret, TokenInfo};
pub use events::IdentityFact;
pub use label::{LabelError, Releasability, SourceLabels};
pub use visibility::{EventRule, EventSpan, IdentityClaim, Principal, PrincipalKind, RowRef, View};

use std::path::PathBuf;

/// Errors of the access rules and the audit log.
#[derive(Debug)]
pub enum AccessError {
    /// The directory is not a store (no `manifest.jsonl`).
    NotAStore(PathBuf),
    /// A bad label, name or source pattern.
    Label(LabelError),
    /// A principal name outside 1 to 64 of letters, digits, `.`, `_`, `@`, `-`.
    BadPrincipalName(String),
    /// A token was asked for an existing principal with another partner, groups or kind.
    PrincipalConflict {
        /// The principal.
        name: String,
        /// Its partner.
        partner: String,
        /// Its groups, comma-separated.
        groups: String,
        /// Its kind.
        kind: &'static str,
    },
    /// No token with this id.
    UnknownToken(i64),
    /// Another process holds the audit log's writer lock.
    AuditLocked(PathBuf),
    /// The audit log cannot be appended to (see the message).
    Audit(String),
    /// `access.sqlite` failed or holds what this version cannot read.
    Db(String),
    /// An I/O error.
    Io(std::io::Error),
}

impl std::fmt::Display for AccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccessError::NotAStore(p) => write!(f, "{} is not a Tidewatch store", p.display()),
            AccessError::Label(e) => e.fmt(f),
            AccessError::BadPrincipalName(n) => write!(
                f,
                "bad principal name {n:?}: 1 to 64 letters, digits, '.', '_', '@' or '-'"
            ),
            AccessError::PrincipalConflict {
                name,
                partner,
                groups,
                kind,
            } => write!(
                f,
                "principal {name} exists as a {kind} of {partner} (groups: {}); give the same or choose another name",
                if groups.is_empty() { "none" } else { groups }
            ),
            AccessError::UnknownToken(id) => write!(f, "no token with id {id}"),
            AccessError::AuditLocked(p) => write!(
                f,
                "another tidewatch process is writing the audit log {}",
                p.display()
            ),
            AccessError::Audit(m) => write!(f, "audit log: {m}"),
            AccessError::Db(m) => write!(f, "access database: {m}"),
            AccessError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for AccessError {}

impl From<std::io::Error> for AccessError {
    fn from(e: std::io::Error) -> Self {
        AccessError::Io(e)
    }
}
