//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong configuring or opening the alerts.
#[derive(Debug)]
pub enum AlertsError {
    /// The configuration is not TOML, or has a table or key this crate does not know.
    Toml {
        /// The parser's message.
        message: String,
    },
    /// A field of an `[[alert]]` rule is invalid.
    Rule {
        /// The rule, by name and number (from 1).
        rule: String,
        /// The field (`types`, `webhooks[0].url`, ...).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A setting of the `[alerts]` table is invalid.
    Setting {
        /// The setting.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The ledger or the dead-letter log cannot be opened or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A delivery thread could not be started.
    Thread(std::io::Error),
}

impl std::fmt::Display for AlertsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlertsError::Toml { message } => write!(f, "alert configuration: {message}"),
            AlertsError::Rule {
                rule,
                field,
                reason,
            } => write!(f, "alert {rule}, field {field}: {reason}"),
            AlertsError::Setting { field, reason } => {
                write!(f, "[alerts] setting {field}: {reason}")
            }
            AlertsError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            AlertsError::Thread(e) => write!(f, "starting a webhook delivery thread: {e}"),
        }
    }
}

impl std::error::Error for AlertsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AlertsError::Io { source, .. } => Some(source),
            AlertsError::Thread(e) => Some(e),
            _ => None,
        }
    }
}
