//! The watch list: MMSIs, IMOs and names of vessels of interest, each with a reason.
//!
//! CSV with a header naming any of `mmsi`, `imo`, `name` and `reason` (required), or JSON: an
//! array of objects with the same keys. Each entry names at least one of MMSI, IMO or name. A
//! malformed file is rejected whole, with the file, the line (CSV: the record's line; JSON: the
//! parser's line, or the entry's number) and the reason of every mistake, so that one pass
//! fixes a list. An MMSI has nine digits (leading zeros count), an IMO number seven with a
//! valid check digit; JSON may give either as a number or as a string of digits. An MMSI, IMO
//! or name listed twice is one entry with both reasons.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::detectors::identity::normalise;

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchEntry {
    /// MMSI.
    #[serde(default, deserialize_with = "number_or_digits")]
    pub mmsi: Option<u32>,
    /// IMO number.
    #[serde(default, deserialize_with = "number_or_digits")]
    pub imo: Option<u32>,
    /// Name (compared trimmed, upper-case, spaces collapsed).
    #[serde(default)]
    pub name: Option<String>,
    /// Why the vessel is listed.
    pub reason: String,
}

/// A number given as a JSON number or as a string of its digits (spreadsheets export both).
fn number_or_digits<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Number(u64),
        Text(String),
    }
    match Option::<Given>::deserialize(d)? {
        None => Ok(None),
        Some(Given::Number(n)) => u32::try_from(n)
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{n} is too large"))),
        Some(Given::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Given::Text(t)) => t
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{t:?} is not a number"))),
    }
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
    /// 1-based line of the first mistake, when known.
    pub line: Option<usize>,
    /// Why.
    pub reason: String,
    /// The other mistakes, each with its line when known.
    pub more: Vec<(Option<usize>, String)>,
}

impl std::fmt::Display for WatchListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let one = |f: &mut std::fmt::Formatter<'_>, line: Option<usize>, reason: &str| match line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, reason),
            None => write!(f, "{}: {}", self.file, reason),
        };
        one(f, self.line, &self.reason)?;
        for (line, reason) in &self.more {
            writeln!(f)?;
            one(f, *line, reason)?;
        }
        Ok(())
    }
}

impl WatchListError {
    fn of(file: &str, mut all: Vec<(Option<usize>, String)>) -> WatchListError {
        let (line, reason) = all.remove(0);
        WatchListError {
            file: file.to_owned(),
            line,
            reason,
            more: all,
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
    /// A list from entries; each must name an MMSI, IMO or name and give a reason. Every
    /// mistake is returned, by entry index.
    pub fn new(entries: Vec<WatchEntry>) -> Result<WatchList, Vec<(usize, String)>> {
        let mut w = WatchList::default();
        let mut bad = Vec::new();
        for (i, mut e) in entries.into_iter().enumerate() {
            e.name = e.name.map(|n| normalise(&n)).filter(|n| !n.is_empty());
            let before = bad.len();
            if e.reason.trim().is_empty() {
                bad.push((i, "reason is empty".to_owned()));
            }
            if e.mmsi.is_none() && e.imo.is_none() && e.name.is_none() {
                bad.push((i, "entry names no mmsi, imo or name".to_owned()));
            }
            if let Some(m) = e.mmsi.filter(|m| !(1..=999_999_999).contains(m)) {
                bad.push((i, format!("mmsi {m} is not an MMSI (nine digits)")));
            }
            if let Some(m) = e.imo.filter(|&m| !ais::mmsi::imo_is_valid(m)) {
                bad.push((i, imo_mistake(m)));
            }
            if bad.len() > before {
                continue;
            }
            // Listed before under the same MMSI, IMO or name: one entry, both reasons.
            let known = e
                .mmsi
                .and_then(|m| w.by_mmsi.get(&m))
                .or_else(|| e.imo.and_then(|m| w.by_imo.get(&m)))
                .or_else(|| e.name.as_ref().and_then(|n| w.by_name.get(n)))
                .copied();
            let at = match known {
                Some(k) => {
                    let kept = &mut w.entries[k];
                    if !kept.reason.split("; ").any(|r| r == e.reason) {
                        kept.reason = format!("{}; {}", kept.reason, e.reason);
                    }
                    kept.mmsi = kept.mmsi.or(e.mmsi);
                    kept.imo = kept.imo.or(e.imo);
                    kept.name = kept.name.take().or(e.name.clone());
                    k
                }
                None => {
                    w.entries.push(e.clone());
                    w.entries.len() - 1
                }
            };
            if let Some(m) = e.mmsi {
                w.by_mmsi.entry(m).or_insert(at);
            }
            if let Some(m) = e.imo {
                w.by_imo.entry(m).or_insert(at);
            }
            if let Some(n) = e.name {
                w.by_name.entry(n).or_insert(at);
            }
        }
        if bad.is_empty() {
            Ok(w)
        } else {
            Err(bad)
        }
    }

    /// Parses CSV text.
    pub fn from_csv_str(text: &str, file: &str) -> Result<WatchList, WatchListError> {
        let err =
            |line: Option<usize>, reason: String| WatchListError::of(file, vec![(line, reason)]);
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
        let mut bad: Vec<(Option<usize>, String)> = Vec::new();
        for rec in rd.records() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    bad.push((e.position().map(|p| p.line() as usize), e.to_string()));
                    continue;
                }
            };
            let line = rec.position().map(|p| p.line() as usize);
            let before = bad.len();
            let get = |k: &str| {
                headers
                    .iter()
                    .position(|h| h == k)
                    .and_then(|i| rec.get(i))
                    .filter(|v| !v.is_empty())
            };
            let mut num = |k: &str, digits: usize| -> Option<u32> {
                let v = get(k)?;
                match v.parse::<u32>() {
                    Ok(n) if v.len() == digits => Some(n),
                    Ok(_) => {
                        bad.push((
                            line,
                            format!("{k} {v:?} has {} digits, not {digits}", v.len()),
                        ));
                        None
                    }
                    Err(_) => {
                        bad.push((line, format!("{k} {v:?} is not a number")));
                        None
                    }
                }
            };
            let (mmsi, imo) = (num("mmsi", 9), num("imo", 7));
            if bad.len() > before {
                continue;
            }
            entries.push(WatchEntry {
                mmsi,
                imo,
                name: get("name").map(str::to_owned),
                reason: get("reason").unwrap_or("").to_owned(),
            });
            lines.push(line);
        }
        match WatchList::new(entries) {
            Ok(w) if bad.is_empty() => Ok(w),
            Ok(_) => Err(WatchListError::of(file, bad)),
            Err(more) => {
                bad.extend(more.into_iter().map(|(i, r)| (lines[i], r)));
                bad.sort_by_key(|(l, _)| *l);
                Err(WatchListError::of(file, bad))
            }
        }
    }

    /// Parses JSON text (an array of entries).
    pub fn from_json_str(text: &str, file: &str) -> Result<WatchList, WatchListError> {
        let entries: Vec<WatchEntry> = serde_json::from_str(text)
            .map_err(|e| WatchListError::of(file, vec![(Some(e.line()), e.to_string())]))?;
        WatchList::new(entries).map_err(|bad| {
            WatchListError::of(
                file,
                bad.into_iter()
                    .map(|(i, reason)| (None, format!("entry {}: {reason}", i + 1)))
                    .collect(),
            )
        })
    }

    /// Reads a file: JSON when it ends in `.json` or starts with `[`, CSV otherwise.
    pub fn from_file(path: &std::path::Path) -> Result<WatchList, WatchListError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| WatchListError::of(&name, vec![(None, format!("cannot read: {e}"))]))?;
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

/// Why a number is no IMO number.
fn imo_mistake(imo: u32) -> String {
    if (1_000_000..10_000_000).contains(&imo) {
        format!(
            "imo {imo} fails its check digit (with its first six digits it would end in {})",
            ais::mmsi::imo_check_digit(imo / 10)
        )
    } else {
        format!("imo {imo} is not an IMO number (seven digits)")
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
    fn every_mistake_of_a_list_is_told_at_once() {
        let e = WatchList::from_csv_str(
            "mmsi,imo,reason\n12345,,short\n212123000,1234568,check digit\n21212300X,,text\n\
             212123001,,\n",
            "w.csv",
        )
        .unwrap_err();
        let all: Vec<(Option<usize>, String)> = std::iter::once((e.line, e.reason.clone()))
            .chain(e.more.iter().cloned())
            .collect();
        let lines: Vec<Option<usize>> = all.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(4), Some(5)], "{e}");
        assert!(all[0].1.contains("has 5 digits, not 9"), "{e}");
        assert!(all[1].1.contains("would end in 7"), "{e}");
        assert!(all[2].1.contains("\"21212300X\" is not a number"), "{e}");
        assert!(all[3].1.contains("reason is empty"), "{e}");
        assert!(e.to_string().starts_with("w.csv:2: "), "{e}");
        assert_eq!(e.to_string().lines().count(), 4, "{e}");
    }

    #[test]
    fn a_vessel_listed_twice_keeps_both_reasons() {
        let w = WatchList::from_csv_str(
            "mmsi,reason\n212123000,first reason\n212123000,second reason\n",
            "w.csv",
        )
        .unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(
            w.lookup(212_123_000, None, None).unwrap().0.reason,
            "first reason; second reason"
        );
        // A leading zero is one of an MMSI's nine digits.
        assert!(WatchList::from_csv_str("mmsi,reason\n002190068,coast\n", "w.csv").is_ok());
    }

    #[test]
    fn json_takes_numbers_written_as_strings() {
        let w = WatchList::from_json_str(
            r#"[{"mmsi": "212123000", "imo": "9074729", "reason": "x"}]"#,
            "w.json",
        )
        .unwrap();
        assert!(w.has_mmsi(212_123_000));
        assert_eq!(
            w.lookup(1, Some(9_074_729), None).unwrap().1,
            MatchedOn::Imo
        );
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
