//! The accounting of one ingest run, for people (stderr) and programs (`--stats` JSON).

use ais::stream::Stats;
use ais::Reject;

use super::report::{Dropped, TimeSources};
use super::write::Written;

/// Rows of CSV archives: `rows == records + sum(rejected)`.
#[derive(Debug, Default)]
pub struct CsvRows {
    pub rows: u64,
    pub records: u64,
    pub rejected: std::collections::BTreeMap<&'static str, u64>,
    /// Rows kept whose cells were not UTF-8 (read as Latin-1).
    pub not_utf8: u64,
    /// Records whose ship-type text maps to no ITU code.
    pub ship_type_unmapped: u64,
    /// Numeric cells that were not numbers (read as not available).
    pub cells_unparsed: u64,
}

/// The accounting of one run.
#[derive(Debug, Default)]
pub struct Summary {
    pub run: u64,
    pub decode: Stats,
    /// Rows of decoded archives (CSV).
    pub csv: CsvRows,
    pub inputs_read: u64,
    pub inputs_skipped: Vec<(String, u64)>,
    /// Files under a directory set aside as documents by their names (`README.md`, ...).
    pub inputs_documents: Vec<String>,
    /// Inputs that could not be read (or not to their end), with why.
    pub inputs_failed: Vec<(String, String)>,
    pub dropped: Dropped,
    /// Where the receive times of NMEA vessel reports came from.
    pub times: TimeSources,
    pub other_messages: u64,
    pub observations: u64,
    pub duplicates_merged: u64,
    pub late_duplicates: u64,
    /// Late copies of positions stored by earlier runs from a source the position already
    /// lists (the same feed delivering it again): nothing to add.
    pub late_known: u64,
    pub released_out_of_order: u64,
    /// Positions that arrived more than fusion's memory (late and cold windows) behind the
    /// newest message time: stored without checking for an earlier copy.
    pub stale_unchecked: u64,
    pub written: Written,
    pub vessels_touched: u64,
    /// Static reports older than their vessel's newest message (an older archive after
    /// newer data) that differed from the identity known: not recorded as changes.
    pub past_static_reports: u64,
    pub vessels_total: u64,
    /// Identity fields that changed from one known value to another.
    pub identity_changes: u64,
    /// Identity fields given their first value (not changes).
    pub identity_first_fills: u64,
    pub discarded_rows: u64,
    /// Detection: what it loaded and did, one line (`None`: off).
    pub detect: Option<String>,
    /// What detection had to do without (no land data), to warn of.
    pub detect_missing: Option<String>,
    /// Why this run's events may be incomplete: it was older than what detection had seen.
    pub detect_late: Option<String>,
    /// Positions that reached detection older than their vessel's last one (later than the
    /// reorder window), which the detectors took as late data.
    pub detect_out_of_order: u64,
    /// Events the run created or changed, as committed (for the live server; not absorbed).
    pub events: Vec<store::EventRow>,
}

impl Summary {
    /// Adds a later run's accounting (live ingest runs one per spool rotation).
    pub fn absorb(&mut self, o: &Summary) {
        self.run = o.run;
        self.decode.add(&o.decode);
        self.csv.rows += o.csv.rows;
        self.csv.records += o.csv.records;
        for (k, v) in &o.csv.rejected {
            *self.csv.rejected.entry(k).or_default() += v;
        }
        self.csv.not_utf8 += o.csv.not_utf8;
        self.csv.ship_type_unmapped += o.csv.ship_type_unmapped;
        self.csv.cells_unparsed += o.csv.cells_unparsed;
        self.inputs_read += o.inputs_read;
        self.inputs_skipped.extend(o.inputs_skipped.iter().cloned());
        self.inputs_documents
            .extend(o.inputs_documents.iter().cloned());
        self.inputs_failed.extend(o.inputs_failed.iter().cloned());
        self.dropped.add(&o.dropped);
        self.times.add(&o.times);
        self.other_messages += o.other_messages;
        self.observations += o.observations;
        self.duplicates_merged += o.duplicates_merged;
        self.late_duplicates += o.late_duplicates;
        self.late_known += o.late_known;
        self.released_out_of_order += o.released_out_of_order;
        self.stale_unchecked += o.stale_unchecked;
        let (w, x) = (&mut self.written, &o.written);
        w.positions += x.positions;
        w.static_reports += x.static_reports;
        w.static_known += x.static_known;
        w.flagged += x.flagged;
        w.segments += x.segments;
        w.late_sources_stored += x.late_sources_stored;
        self.vessels_touched = self.vessels_touched.max(o.vessels_touched);
        self.vessels_total = o.vessels_total;
        self.past_static_reports += o.past_static_reports;
        self.identity_changes += o.identity_changes;
        self.identity_first_fills += o.identity_first_fills;
        self.discarded_rows += o.discarded_rows;
        if o.detect_missing.is_some() {
            self.detect_missing.clone_from(&o.detect_missing);
        }
        self.detect_out_of_order += o.detect_out_of_order;
        if o.detect_late.is_some() {
            self.detect_late.clone_from(&o.detect_late);
        }
    }
}

/// The decoder's warnings: lines kept, but with something ignored.
fn decoder_warnings(s: &Summary) -> [(&'static str, u64); 4] {
    let w = &s.decode.warnings;
    [
        // The tag block's fields (time, station) were ignored.
        ("tag_checksum_mismatch", w.tag_checksum_mismatch),
        ("tag_checksum_absent", w.tag_checksum_absent),
        ("oversized_payload", w.oversized_payload),
        ("rejected_extra_sentences", w.rejected_extra_sentences),
    ]
}

/// What a user must not miss: printed even with `--quiet`, and listed in `--stats`.
pub fn warnings(s: &Summary) -> Vec<String> {
    let mut w = Vec::new();
    for (p, why) in &s.inputs_failed {
        // Every reason names its input already.
        if why.contains(p.as_str()) {
            w.push(format!("input not read in full: {why}"));
        } else {
            w.push(format!("input {p} not read in full: {why}"));
        }
    }
    let n = s.dropped.no_receive_time;
    if n > 0 {
        let why = "no tag block `c:`, `$PGHP`, timestamp prefix or trailing epoch";
        let fix = "give them one with --assume-time START[,RATE] or --assume-time mtime";
        if s.written.positions == 0 {
            w.push(format!(
                "0 positions stored because no receive time: {n} vessel reports had none \
                 ({why}); {fix}"
            ));
        } else {
            w.push(format!(
                "{n} vessel reports dropped because no receive time ({why}); {fix}"
            ));
        }
    }
    if let Some(m) = &s.detect_missing {
        w.push(m.clone());
    }
    if let Some(m) = &s.detect_late {
        w.push(m.clone());
    } else if s.detect_out_of_order > 0 {
        w.push(format!(
            "{} position(s) reached detection after a newer one of their vessel (later than \
             the reorder window): detectors took them as late data, so events around them can \
             differ from a recompute over the sorted history (`tidewatch detect --store DIR \
             --write`); a wider --reorder-window keeps more of them in order",
            s.detect_out_of_order
        ));
    }
    if s.past_static_reports > 0 {
        w.push(format!(
            "{} static reports were over 6 h older than their vessel's newest message and named \
             another identity: taken as its identity before (kept as claims of their sources), \
             not as changes",
            s.past_static_reports
        ));
    }
    if s.stale_unchecked > 0 {
        w.push(format!(
            "{} positions arrived more than the late window and 6 h behind the newest message \
             time: stored without checking for copies stored before",
            s.stale_unchecked
        ));
    }
    if s.dropped.csv_position_unusable > 0 {
        w.push(format!(
            "{} CSV rows had an unusable position (unparseable or beyond the globe, or empty \
             beside static columns): the position was not stored, static columns were kept",
            s.dropped.csv_position_unusable
        ));
    }
    w
}

pub fn human(s: &Summary) -> String {
    let mut r = format!(
        "run {}: {} input(s) read, {} skipped, {} failed\n",
        s.run,
        s.inputs_read,
        s.inputs_skipped.len() + s.inputs_documents.len(),
        s.inputs_failed.len()
    );
    for p in &s.inputs_documents {
        r.push_str(&format!(
            "  skipped {p}: a document by its name, not AIS data (name it on its own to read it)\n"
        ));
    }
    for (p, run) in &s.inputs_skipped {
        if *run == s.run {
            r.push_str(&format!(
                "  skipped {p}: the same content under the same feed name given twice in this run\n"
            ));
        } else {
            r.push_str(&format!(
                "  skipped {p}: content already ingested (run {run})\n"
            ));
        }
    }
    if s.discarded_rows > 0 {
        r.push_str(&format!(
            "  discarded {} rows of an interrupted earlier run\n",
            s.discarded_rows
        ));
    }
    r.push_str(&format!(
        "lines {}, messages {}, rejected lines {}\n",
        s.decode.lines,
        s.decode.messages,
        s.decode.rejected_total()
    ));
    for reason in Reject::ALL {
        let n = s.decode.rejected(reason);
        if n > 0 {
            r.push_str(&format!("  rejected {:<24} {n}\n", reason.as_str()));
        }
    }
    if s.decode.pending_fragments > 0 {
        r.push_str(&format!(
            "  lines of messages unfinished at the end {}\n",
            s.decode.pending_fragments
        ));
    }
    for (what, n) in decoder_warnings(s) {
        if n > 0 {
            r.push_str(&format!("  warning {what:<25} {n}\n"));
        }
    }
    if s.csv.rows > 0 {
        r.push_str(&format!(
            "CSV rows {}, records {}, rejected {}\n",
            s.csv.rows,
            s.csv.records,
            s.csv.rejected.values().sum::<u64>()
        ));
        for (why, n) in &s.csv.rejected {
            r.push_str(&format!("  rejected row {why:<20} {n}\n"));
        }
        if s.csv.not_utf8 > 0 {
            r.push_str(&format!(
                "  rows with cells not in UTF-8 (read as Latin-1, kept) {}\n",
                s.csv.not_utf8
            ));
        }
        if s.csv.ship_type_unmapped > 0 {
            r.push_str(&format!(
                "  ship-type text with no ITU code {}\n",
                s.csv.ship_type_unmapped
            ));
        }
        if s.csv.cells_unparsed > 0 {
            r.push_str(&format!(
                "  numeric cells that are no number (read as not available) {}\n",
                s.csv.cells_unparsed
            ));
        }
    }
    let dropped: u64 = s.dropped.reasons().iter().map(|(_, n)| n).sum();
    r.push_str(&format!(
        "vessel reports {} (other messages {}), dropped {dropped}\n",
        s.observations, s.other_messages
    ));
    for (why, n) in s.dropped.reasons() {
        if n > 0 {
            r.push_str(&format!("  dropped {why:<25} {n}\n"));
        }
    }
    let t = &s.times;
    if t.arrival + t.assumed > 0 {
        r.push_str(&format!(
            "receive times: own {}, arrival {}, assumed {}\n",
            t.own, t.arrival, t.assumed
        ));
    }
    let w = &s.written;
    r.push_str(&format!(
        "fused: {} duplicates merged, {} late copies ({} kept for already written positions, \
         {} already listed on them), {} released out of order; positions stored {} ({} \
         flagged), static reports {} ({} stored before)\n",
        s.duplicates_merged,
        s.late_duplicates,
        w.late_sources_stored,
        s.late_known,
        s.released_out_of_order,
        w.positions,
        w.flagged,
        w.static_reports,
        w.static_known
    ));
    r.push_str(&format!(
        "vessels {} in this run ({} in store), segments started {}, identity changes {} \
         (first values {})\n",
        s.vessels_touched, s.vessels_total, w.segments, s.identity_changes, s.identity_first_fills
    ));
    r
}

pub fn json(s: &Summary) -> String {
    let rejected: serde_json::Map<String, serde_json::Value> = Reject::ALL
        .iter()
        .filter(|r| s.decode.rejected(**r) > 0)
        .map(|r| (r.as_str().to_owned(), s.decode.rejected(*r).into()))
        .collect();
    let v = serde_json::json!({
        "run": s.run,
        "inputs_read": s.inputs_read,
        "inputs_skipped": s.inputs_skipped.iter().map(|(p, r)| serde_json::json!({"input": p, "run": r})).collect::<Vec<_>>(),
        "inputs_documents": s.inputs_documents,
        "inputs_failed": s.inputs_failed.iter().map(|(p, e)| serde_json::json!({"input": p, "error": e})).collect::<Vec<_>>(),
        "discarded_rows": s.discarded_rows,
        "lines": s.decode.lines,
        "messages": s.decode.messages,
        "rejected": rejected,
        "pending_fragments": s.decode.pending_fragments,
        "decoder_warnings": decoder_warnings(s).iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        "csv": {
            "rows": s.csv.rows,
            "records": s.csv.records,
            "rejected": s.csv.rejected,
            "not_utf8": s.csv.not_utf8,
            "ship_type_unmapped": s.csv.ship_type_unmapped,
            "cells_unparsed": s.csv.cells_unparsed,
        },
        "vessel_reports": s.observations,
        "other_messages": s.other_messages,
        "dropped": s.dropped.reasons().iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        "receive_times": {
            "own": s.times.own,
            "arrival": s.times.arrival,
            "assumed": s.times.assumed,
        },
        "duplicates_merged": s.duplicates_merged,
        "late_duplicates": s.late_duplicates,
        "late_sources_stored": s.written.late_sources_stored,
        "late_sources_known": s.late_known,
        "released_out_of_order": s.released_out_of_order,
        "stale_unchecked": s.stale_unchecked,
        "positions": s.written.positions,
        "flagged": s.written.flagged,
        "static_reports": s.written.static_reports,
        "static_reports_known": s.written.static_known,
        "vessels": s.vessels_touched,
        "vessels_in_store": s.vessels_total,
        "past_static_reports": s.past_static_reports,
        "segments": s.written.segments,
        "identity_changes": s.identity_changes,
        "identity_first_fills": s.identity_first_fills,
        "warnings": warnings(s),
    });
    format!("{v}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_user_must_not_miss_is_a_warning_whatever_the_verbosity() {
        // Warnings are printed with --quiet too and listed in --stats; the summary for people
        // does not repeat them.
        let s = Summary {
            stale_unchecked: 908,
            ..Summary::default()
        };
        let w = warnings(&s);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("908 positions arrived more than the late window"));
        assert!(!human(&s).contains("908 positions"));
        let j: serde_json::Value = serde_json::from_str(&json(&s)).unwrap();
        assert_eq!(j["warnings"][0], w[0].as_str());
    }
}
