//! Detector configuration: one TOML file with a table per detector.
//!
//! ```toml
//! [engine]
//! reorder_s = 60
//! [ais_gap]
//! min_gap_s = 43200
//! [encounter]
//! max_distance_m = 500
//! ```
//!
//! Every field has a documented default (from `DETECTION.md`, with its source); unknown tables
//! or keys, wrong types and out-of-range values are rejected with the file, line and reason,
//! and nothing is half-loaded.

use serde::{Deserialize, Serialize};

use crate::detectors::{
    ais_gap::AisGapConfig, close_approach::CloseApproachConfig, encounter::EncounterConfig,
    escort::EscortConfig, identity::IdentityChangeConfig, loitering::LoiteringConfig,
    port_call::PortCallConfig, spoof::SpoofConfig, survey::SurveyConfig, swarm::SwarmConfig,
    watchlist::WatchlistConfig, zone_visit::ZoneVisitConfig,
};

/// How the engine orders and resamples input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Input is held this long (input time) and released in time order. Default 60 s: the
    /// fuser already releases in message-time order; this absorbs small disorder.
    pub reorder_s: u32,
    /// Resampling grid of the pairwise detectors. Default 600 s (GFW encounters: tracks
    /// resampled every 10 min).
    pub tick_s: u32,
    /// Interpolation only across gaps up to this. Default 3600 s (GFW encounters: < 1 h).
    pub max_interp_gap_s: u32,
    /// Vessels silent this long are forgotten (what they had open is closed at their last
    /// position; identities are kept). Default 2592000 s (30 days). 0 keeps everything.
    pub forget_after_s: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            reorder_s: 60,
            tick_s: 600,
            max_interp_gap_s: 3_600,
            forget_after_s: 2_592_000,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Ordering and resampling.
    pub engine: EngineConfig,
    /// AIS gaps.
    pub ais_gap: AisGapConfig,
    /// Loitering.
    pub loitering: LoiteringConfig,
    /// Encounters (ship-to-ship).
    pub encounter: EncounterConfig,
    /// Port calls.
    pub port_call: PortCallConfig,
    /// Zone visits.
    pub zone_visit: ZoneVisitConfig,
    /// Identity changes.
    pub identity_change: IdentityChangeConfig,
    /// Watch-list hits.
    pub watchlist: WatchlistConfig,
    /// Spoofing: jumps, land, circles, shared MMSI.
    pub spoof: SpoofConfig,
    /// Close approaches.
    pub close_approach: CloseApproachConfig,
    /// Escort and shadowing.
    pub escort: EscortConfig,
    /// Swarms.
    pub swarm: SwarmConfig,
    /// Survey patterns.
    pub survey: SurveyConfig,
}

/// A configuration that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<string>`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Checks that a value lies in a range; the error names the key.
pub(crate) fn check(key: &str, v: f64, lo: f64, hi: f64) -> Result<(), String> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(format!("{key} = {v} is outside [{lo}, {hi}]"))
    }
}

impl Config {
    /// Parses a TOML text; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            // A wrong type for a key with a unit: say the unit (`3h` is taken on the command
            // line, not here).
            let key = line
                .and_then(|l| text.lines().nth(l - 1))
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().to_owned())
                .unwrap_or_default();
            let unit = [
                ("_s", "a number of seconds (3 h is 10800)"),
                ("_m", "a number of metres"),
                ("_nm", "a number of nautical miles"),
                ("_knots", "a number of knots"),
                ("_deg", "a number of degrees"),
            ]
            .into_iter()
            .find(|(suffix, _)| key.ends_with(suffix));
            let mut reason = e.message().trim().to_owned();
            if let (Some((_, what)), true) = (unit, reason.starts_with("invalid type")) {
                reason.push_str(&format!(": `{key}` takes {what}"));
            }
            ConfigError {
                file: file.to_owned(),
                line,
                reason,
            }
        })?;
        c.validate().map_err(|reason| {
            let key = reason.split([' ', '=']).next().unwrap_or("");
            let table = key.split('.').next().unwrap_or("");
            let field = key.rsplit('.').next().unwrap_or("");
            ConfigError {
                file: file.to_owned(),
                line: line_of(text, table, field),
                reason,
            }
        })?;
        Ok(c)
    }

    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: name.clone(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        Config::from_toml_str(&text, &name)
    }

    /// Checks every value's range; the error starts with `table.key`.
    pub fn validate(&self) -> Result<(), String> {
        check("engine.tick_s", self.engine.tick_s as f64, 10.0, 86_400.0)?;
        check(
            "engine.max_interp_gap_s",
            self.engine.max_interp_gap_s as f64,
            0.0,
            86_400.0,
        )?;
        check(
            "engine.reorder_s",
            self.engine.reorder_s as f64,
            0.0,
            86_400.0,
        )?;
        self.ais_gap.validate()?;
        self.loitering.validate()?;
        self.encounter.validate()?;
        self.port_call.validate()?;
        self.spoof.validate()?;
        self.close_approach.validate()?;
        self.escort.validate()?;
        self.swarm.validate()?;
        self.survey.validate()?;
        self.identity_change.validate()?;
        Ok(())
    }
}

/// The line where `field` is set inside `[table]`, for range errors.
fn line_of(text: &str, table: &str, field: &str) -> Option<usize> {
    let mut in_table = false;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            in_table = t.trim_matches(['[', ']', ' ']) == table;
        } else if in_table && t.split('=').next().map(str::trim) == Some(field) {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_documented_defaults() {
        let c = Config::from_toml_str("", "x.toml").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.encounter.max_distance_m, 500.0);
    }

    #[test]
    fn a_value_overrides_its_default() {
        let c = Config::from_toml_str("[ais_gap]\nmin_gap_s = 43200\n", "x.toml").unwrap();
        assert_eq!(c.ais_gap.min_gap_s, 43_200);
    }

    #[test]
    fn an_unknown_key_is_rejected_with_file_and_line() {
        let e = Config::from_toml_str("[ais_gap]\nmin_gap_s = 1\n\nmin_gap_hours = 3\n", "d.toml")
            .unwrap_err();
        assert_eq!(e.file, "d.toml");
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.reason.contains("min_gap_hours"), "{e}");
    }

    #[test]
    fn an_unknown_table_and_a_wrong_type_are_rejected() {
        assert!(Config::from_toml_str("[ais_gaps]\n", "d.toml").is_err());
        let e =
            Config::from_toml_str("[encounter]\nmax_distance_m = \"far\"\n", "d.toml").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(
            e.reason
                .ends_with("`max_distance_m` takes a number of metres"),
            "{e}"
        );
        let e = Config::from_toml_str("[ais_gap]\nmin_gap_s = \"3h\"\n", "d.toml").unwrap_err();
        assert!(
            e.reason.contains("a number of seconds (3 h is 10800)"),
            "{e}"
        );
        let e = Config::from_toml_str("[loitering]\nanchored_nav_status = [1, 99]\n", "d.toml")
            .unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.reason.contains("99: not a navigational status"), "{e}");
    }

    #[test]
    fn an_out_of_range_value_is_rejected_naming_the_key() {
        let e =
            Config::from_toml_str("[encounter]\n\nmax_distance_m = -5\n", "d.toml").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.reason.starts_with("encounter.max_distance_m"), "{e}");
        for (text, key, line) in [
            (
                "[ais_gap]\nmin_heard_share = 100\n",
                "ais_gap.min_heard_share",
                2,
            ),
            (
                "[ais_gap]\nmin_heard_share = -3\n",
                "ais_gap.min_heard_share",
                2,
            ),
            (
                "[ais_gap]\n\nreception_cell_deg = 0\n",
                "ais_gap.reception_cell_deg",
                3,
            ),
            (
                "[identity_change]\nfields = [\"name\", \"colour\"]\n",
                "identity_change.fields",
                2,
            ),
        ] {
            let e = Config::from_toml_str(text, "d.toml").unwrap_err();
            assert!(e.reason.starts_with(key), "{text}: {e}");
            assert_eq!(e.line, Some(line), "{text}: {e}");
        }
    }
}
