//! The watch list: MMSIs, IMOs and names of vessels of interest, each with a reason.
//!
//! CSV with a header naming any of `mmsi`, `imo`, `name` and `reason` (required), or JSON: an
//! array of objects with the same keys. Each entry names at least one of MMSI, IMO or name. A
//! malformed file is rejected whole, with the file, the line (CSV: the record's line; JSON: the
//! parser's line) and the reason.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::detectors::identity::normalise;

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchEntry {
    /// MMSI.
    #[serde(default)]
    pub mmsi: Option<u32>,
    /// IMO number.
    #[serde(default)]
    pub imo: Option<u32>,
    /// Name (compared trimmed, upper-case, spaces collapsed).
    #[serde(default)]
    pub name: Option<String>,
    /// Why the vessel is listed.
    pub reason: String,
}

/// A loaded watch list, indexed.
#[derive(Debug, Clone, Default)]
pub struct WatchList {
    entries: Vec<WatchEntry>,
    by_mmsi: FxHashMap<u32, usize>,
    by_imo: FxHashMap<u32, usize>,
    by_name: FxHashMap<String, usize>,
}

/// A watch list that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchListError {
    /// The file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for WatchListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for WatchListError {}

/// Which key of an entry matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedOn {
    /// The MMSI.
    Mmsi,
    /// The IMO number.
    Imo,
    /// The name.
    Name,
}

impl WatchList {
    /// A list from entries; each must name an MMSI, IMO or name and give a reason.
    pub fn new(entries: Vec<WatchEntry>) -> Result<WatchList, (usize, String)> {
        let mut w = WatchList::default();
        for (i, mut e) in entries.into_iter().enumerate() {
            e.name = e.name.map(|n| normalise(&n)).filter(|n| !n.is_empty());
            if e.reason.trim().is_empty() {
                return Err((i, "reason is empty".to_owned()));
            }
            if e.mmsi.is_none() && e.imo.is_none() && e.name.is_none() {
                return Err((i, "entry names no mmsi, imo or name".to_owned()));
            }
            if let Some(m) = e.mmsi {
                if !(1..=999_999_999).contains(&m) {
                    return Err((i, format!("mmsi {m} is not 9 digits")));
                }
                w.by_mmsi.insert(m, i);
            }
            if let Some(m) = e.imo {
                w.by_imo.insert(m, i);
            }
            if let Some(n) = &e.name {
                w.by_name.insert(n.clone(), i);
            }
            w.entries.push(e);
        }
        Ok(w)
    }

    /// Parses CSV text.
    pub fn from_csv_str(text: &str, file: &str) -> Result<WatchList, WatchListError> {
        let err = |line: Option<usize>, reason: String| WatchListError {
            file: file.to_owned(),
            line,
            reason,
        };
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers = rd
            .headers()
            .map_err(|e| err(Some(1), e.to_string()))?
            .clone();
        for h in headers.iter() {
            if !["mmsi", "imo", "name", "reason"].contains(&h) {
                return Err(err(Some(1), format!("unknown column {h:?}")));
            }
        }
        if !headers.iter().any(|h| h == "reason") {
            return Err(err(Some(1), "no reason column".to_owned()));
        }
        let mut entries = Vec::new();
        let mut lines = Vec::new();
        for rec in rd.records() {
            let rec =
                rec.map_err(|e| err(e.position().map(|p| p.line() as usize), e.to_string()))?;
            let line = rec.position().map(|p| p.line() as usize);
            let get = |k: &str| {
                headers
                    .iter()
                    .position(|h| h == k)
                    .and_then(|i| rec.get(i))
                    .filter(|v| !v.is_empty())
            };
            let num = |k: &str| -> Result<Option<u32>, WatchListError> {
                get(k)
                    .map(|v| {
                        v.parse::<u32>().map_err(|_| {
                            err(
                                line,
                                format!(
                                    "{k} {v:?} is not a number of its digits (MMSI up to \
                                         9, IMO 7)"
                                ),
                            )
                        })
                    })
                    .transpose()
            };
            entries.push(WatchEntry {
                mmsi: num("mmsi")?,
                imo: num("imo")?,
                name: get("name").map(str::to_owned),
                reason: get("reason").unwrap_or("").to_owned(),
            });
            lines.push(line);
        }
        WatchList::new(entries).map_err(|(i, reason)| err(lines[i], reason))
    }

    /// Parses JSON text (an array of entries).
    pub fn from_json_str(text: &str, file: &str) -> Result<WatchList, WatchListError> {
        let entries: Vec<WatchEntry> = serde_json::from_str(text).map_err(|e| WatchListError {
            file: file.to_owned(),
            line: Some(e.line()),
            reason: e.to_string(),
        })?;
        WatchList::new(entries).map_err(|(i, reason)| WatchListError {
            file: file.to_owned(),
            line: None,
            reason: format!("entry {}: {reason}", i + 1),
        })
    }

    /// Reads a file: JSON when it ends in `.json` or starts with `[`, CSV otherwise.
    pub fn from_file(path: &std::path::Path) -> Result<WatchList, WatchListError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| WatchListError {
            file: name.clone(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        if name.ends_with(".json") || text.trim_start().starts_with('[') {
            WatchList::from_json_str(&text, &name)
        } else {
            WatchList::from_csv_str(&text, &name)
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry matching a vessel (MMSI first, then IMO, then name).
    pub fn lookup(
        &self,
        mmsi: u32,
        imo: Option<u32>,
        name: Option<&str>,
    ) -> Option<(&WatchEntry, MatchedOn)> {
        if let Some(&i) = self.by_mmsi.get(&mmsi) {
            return Some((&self.entries[i], MatchedOn::Mmsi));
        }
        if let Some(&i) = imo.and_then(|m| self.by_imo.get(&m)) {
            return Some((&self.entries[i], MatchedOn::Imo));
        }
        if self.by_name.is_empty() {
            return None;
        }
        let n = normalise(name?);
        self.by_name
            .get(&n)
            .map(|&i| (&self.entries[i], MatchedOn::Name))
    }

    /// Whether an MMSI is listed.
    pub fn has_mmsi(&self, mmsi: u32) -> bool {
        self.by_mmsi.contains_key(&mmsi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_list_matches_by_mmsi_imo_and_name() {
        let w = WatchList::from_csv_str(
            "mmsi,imo,name,reason\n613012001,,,sanctions\n,9355214,,shadow fleet\n,,gulf  pearl,partner\n",
            "w.csv",
        )
        .unwrap();
        assert_eq!(w.lookup(613012001, None, None).unwrap().1, MatchedOn::Mmsi);
        assert_eq!(w.lookup(1, Some(9355214), None).unwrap().1, MatchedOn::Imo);
        assert_eq!(
            w.lookup(1, None, Some("GULF PEARL")).unwrap().0.reason,
            "partner"
        );
        assert!(w.lookup(1, Some(1), Some("OTHER")).is_none());
    }

    #[test]
    fn a_malformed_csv_line_is_rejected_with_its_line() {
        let e =
            WatchList::from_csv_str("mmsi,reason\n613012001,ok\nabc,bad\n", "w.csv").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.reason.contains("mmsi"), "{e}");
        let e = WatchList::from_csv_str("mmsi,reason\n613012001,\n", "w.csv").unwrap_err();
        assert!(e.reason.contains("reason"), "{e}");
        let e = WatchList::from_csv_str("mmsi,why\n1,x\n", "w.csv").unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn a_json_list_loads_and_a_bad_one_names_the_line() {
        let w = WatchList::from_json_str(r#"[{"imo": 9355214, "reason": "x"}]"#, "w.json").unwrap();
        assert_eq!(w.len(), 1);
        let e = WatchList::from_json_str("[\n{\"imo\": \"x\", \"reason\": \"y\"}]", "w.json")
            .unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = WatchList::from_json_str(r#"[{"reason": "y"}]"#, "w.json").unwrap_err();
        assert!(e.reason.contains("entry 1"), "{e}");
    }
}
