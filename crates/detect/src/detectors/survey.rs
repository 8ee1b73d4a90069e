//! Survey pattern: back-and-forth lines.
//!
//! A vessel's track is cut into steps of at least `step_m`; consecutive steps within
//! `max_leg_turn_deg` of the leg's course extend a leg. A leg of at least `min_line_m` is a
//! line; shorter legs (the crossings between lines) are turns. A line anti-parallel
//! (180 +- `parallel_tol_deg`) to the previous line, begun within `max_turn_s` of its end and
//! within `max_spacing_m` of it, continues the pattern; `min_lines` lines make a survey event,
//! open until a line breaks the pattern or no line follows within `max_turn_s`. A vessel that is
//! escorting or shadowing another (an open escort or shadowing event names it second) draws
//! the other's lines and is not reported (counted as `survey.escorting`); nor is one whose
//! pattern forms within `company_m` of another vessel's open survey, drawing its lines with it: it joins that event as a
//! vessel in company (`in_company`, counted as `survey.in_company`). An impossible hop
//! (faster than `max_speed_knots`: spoofing, a shared MMSI) restarts the track.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector, FixCtx};
use crate::config::check;
use crate::engine::Ctx;
use crate::event::{EventId, EventType, PosRef};
use crate::geom::{self, NM_M};
use crate::input::Label;

/// Survey parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Track steps at least this long. Default 300 m.
    pub step_m: f64,
    /// A step turning more than this from the leg's course ends the leg. Default 30 degrees.
    pub max_leg_turn_deg: f64,
    /// Legs at least this long are lines. Default 5556 m (3 nm).
    pub min_line_m: f64,
    /// Lines within this of anti-parallel continue the pattern. Default 20 degrees.
    pub parallel_tol_deg: f64,
    /// The next line must begin within this of the previous one's end. Default 3600 s.
    pub max_turn_s: u32,
    /// ...and within this distance of it. Default 9260 m (5 nm).
    pub max_spacing_m: f64,
    /// Lines that make a survey. Default 4.
    pub min_lines: u32,
    /// A hop faster than this breaks the track (spoofing, shared MMSI). Default 50 kn (AISdb).
    pub max_speed_knots: f64,
    /// A vessel whose pattern forms within this of another vessel's open survey joins that
    /// survey as a vessel in company instead of being reported on its own. Default 9260 m
    /// (5 nm, the far end of the escort distance).
    pub company_m: f64,
}

impl Default for SurveyConfig {
    fn default() -> Self {
        SurveyConfig {
            enabled: true,
            step_m: 300.0,
            max_leg_turn_deg: 30.0,
            min_line_m: 3.0 * NM_M,
            parallel_tol_deg: 20.0,
            max_turn_s: 3_600,
            max_spacing_m: 5.0 * NM_M,
            min_lines: 4,
            max_speed_knots: 50.0,
            company_m: 5.0 * NM_M,
        }
    }
}

impl SurveyConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check("survey.step_m", self.step_m, 10.0, 10_000.0)?;
        check("survey.min_line_m", self.min_line_m, self.step_m, 1e6)?;
        check("survey.min_lines", self.min_lines as f64, 2.0, 1e4)?;
        check("survey.company_m", self.company_m, 0.0, 1e5)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Pt {
    t: i64,
    lat: f64,
    lon: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Line {
    start: Pt,
    end: Pt,
    course: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Vessel {
    step: Pt,
    leg_start: Pt,
    leg_course: Option<f64>,
    prev_line: Option<Line>,
    lines: u32,
    run_start: Option<Pt>,
    open: Option<EventId>,
    /// Lines of the run drawn in company with another vessel's survey: should that survey
    /// end while this run goes on, this vessel's own survey counts only the lines after.
    #[serde(default)]
    company_lines: u32,
}

/// The survey detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Survey {
    #[serde(skip)]
    pub(crate) cfg: SurveyConfig,
    /// Boxed: the state moves out of the table and back for every fix.
    vessels: FxHashMap<u32, Box<Vessel>>,
}

/// Whether the vessel is escorting or shadowing another now (the second vessel of an open
/// escort or shadowing event).
fn escorting(ctx: &Ctx<'_>, mmsi: u32) -> bool {
    ctx.open_events().any(|e| {
        matches!(e.kind, EventType::Escort | EventType::Shadowing)
            && e.vessels.get(1).is_some_and(|v| v.mmsi == mmsi)
    })
}

/// How recent another vessel's last position must be to compare it with this one's.
const COMPANY_WINDOW_MS: i64 = 30 * 60_000;

/// Vessels in company draw their lines together: the other's latest line runs within this of
/// this line's course (DETECTION.md's escort tolerance) over at least half of its time. Two
/// ferries crossing each other on one short route are not in company.
const COMPANY_COURSE_DEG: f64 = 30.0;

/// An open survey of another vessel that `mmsi`, ending `line`, is running in company with:
/// the other's last position within `company_m` of the line's end, at most
/// [`COMPANY_WINDOW_MS`] apart, and its latest line drawn with this one (see
/// [`COMPANY_COURSE_DEG`]). A vessel already in company with an open survey stays in it.
fn in_company(
    ctx: &Ctx<'_>,
    vessels: &FxHashMap<u32, Box<Vessel>>,
    mmsi: u32,
    line: &Line,
    company_m: f64,
) -> Option<EventId> {
    let p = line.end;
    let together = |other: &Line| {
        let overlap = other.end.t.min(line.end.t) - other.start.t.max(line.start.t);
        geom::angle_diff_deg(other.course, line.course) <= COMPANY_COURSE_DEG
            && overlap * 2 >= line.end.t - line.start.t
    };
    ctx.open_events()
        .filter(|e| e.kind == EventType::Survey)
        .find(|e| {
            let Some(lead) = e.vessels.first().map(|v| v.mmsi) else {
                return false;
            };
            if lead == mmsi {
                return false;
            }
            e.vessels.iter().skip(1).any(|v| v.mmsi == mmsi)
                || (ctx.last.get(&lead).is_some_and(|l| {
                    (l.time_ms - p.t).abs() <= COMPANY_WINDOW_MS
                        && geom::distance_m(l.lat, l.lon, p.lat, p.lon) <= company_m
                }) && vessels
                    .get(&lead)
                    .and_then(|v| v.prev_line)
                    .is_some_and(|l| together(&l)))
        })
        .map(|e| e.id)
}

impl Survey {
    /// A detector with this configuration.
    pub fn new(cfg: SurveyConfig) -> Survey {
        Survey {
            cfg,
            vessels: FxHashMap::default(),
        }
    }

    /// A leg ended at the fix delivered by `sources` (the one that turned).
    fn end_leg(&self, ctx: &mut Ctx<'_>, mmsi: u32, v: &mut Vessel, sources: &[Label]) {
        let len = geom::distance_m(v.leg_start.lat, v.leg_start.lon, v.step.lat, v.step.lon);
        if len < self.cfg.min_line_m {
            return;
        }
        let line = Line {
            start: v.leg_start,
            end: v.step,
            course: geom::bearing_deg(v.leg_start.lat, v.leg_start.lon, v.step.lat, v.step.lon),
        };
        let continues = v.prev_line.is_some_and(|p| {
            (180.0 - geom::angle_diff_deg(p.course, line.course)) <= self.cfg.parallel_tol_deg
                && line.start.t - p.end.t <= self.cfg.max_turn_s as i64 * 1000
                && geom::distance_m(p.end.lat, p.end.lon, line.start.lat, line.start.lon)
                    <= self.cfg.max_spacing_m
        });
        if continues {
            v.lines += 1;
        } else {
            if let Some(id) = v.open.take() {
                if let Some(p) = v.prev_line {
                    ctx.close(id, p.end.t);
                }
            }
            v.lines = 1;
            v.company_lines = 0;
            v.run_start = Some(line.start);
        }
        v.prev_line = Some(line);
        if let Some(id) = v.open {
            if let Some(e) = ctx.event_mut(id) {
                e.set("lines", v.lines - v.company_lines);
                e.add_evidence(
                    PosRef {
                        mmsi,
                        time_ms: line.end.t,
                    },
                    sources,
                );
                e.last_ms = line.end.t;
            }
        } else if v.lines >= self.cfg.min_lines && escorting(ctx, mmsi) {
            // Keeping station on another vessel draws its lines too: not a survey of its own.
            ctx.count("survey.escorting");
        } else if let Some(id) = (v.lines >= self.cfg.min_lines)
            .then(|| in_company(ctx, &self.vessels, mmsi, &line, self.cfg.company_m))
            .flatten()
        {
            // Lines drawn alongside another vessel's survey (a companion keeping station on
            // the surveyor): one survey, with this vessel in company.
            let joining = ctx.vessel(mmsi);
            if let Some(e) = ctx.event_mut(id) {
                if e.vessels.iter().all(|x| x.mmsi != mmsi) {
                    e.vessels.push(joining);
                    let company: Vec<u32> = e.vessels.iter().skip(1).map(|x| x.mmsi).collect();
                    e.set("in_company", company);
                    ctx.count("survey.in_company");
                }
            }
            v.company_lines = v.lines;
            v.run_start = Some(line.end);
        } else if v.lines >= self.cfg.min_lines + v.company_lines {
            let s = v.run_start.unwrap_or(line.start);
            let mut e = ctx.new_event(EventType::Survey, &[mmsi], s.t, s.lat, s.lon, "");
            e.set("lines", v.lines - v.company_lines);
            e.set("length_m", len.round());
            e.set("heading_deg", line.course.round());
            e.add_evidence(PosRef { mmsi, time_ms: s.t }, sources);
            e.add_evidence(
                PosRef {
                    mmsi,
                    time_ms: line.end.t,
                },
                sources,
            );
            e.last_ms = line.end.t;
            v.open = Some(ctx.create(e));
        }
    }
}

impl Detector for Survey {
    fn on_fix(&mut self, ctx: &mut Ctx<'_>, fc: &FixCtx<'_>) {
        let f = fc.fix;
        let p = Pt {
            t: f.time_ms,
            lat: f.lat,
            lon: f.lon,
        };
        // The entry is worked on in place; only the end of a leg takes it out of the table
        // (the leg is compared with other vessels' lines there).
        let Some(v) = self.vessels.get_mut(&f.mmsi) else {
            self.vessels.insert(
                f.mmsi,
                Box::new(Vessel {
                    step: p,
                    leg_start: p,
                    leg_course: None,
                    prev_line: None,
                    lines: 0,
                    run_start: None,
                    open: None,
                    company_lines: 0,
                }),
            );
            return;
        };
        let hop_m = geom::distance_m(v.step.lat, v.step.lon, p.lat, p.lon);
        let hop_s = ((p.t - v.step.t) as f64 / 1000.0).max(1.0);
        if hop_m > self.cfg.step_m && hop_m / hop_s / geom::KNOT_MS > self.cfg.max_speed_knots {
            // An impossible hop (a spoofed position, two transmitters on one MMSI): the
            // pattern, if any, ends here and the track starts afresh.
            if let (Some(id), Some(l)) = (v.open.take(), v.prev_line) {
                ctx.close(id, l.end.t);
            }
            **v = Vessel {
                step: p,
                leg_start: p,
                leg_course: None,
                prev_line: None,
                lines: 0,
                run_start: None,
                open: None,
                company_lines: 0,
            };
            return;
        }
        let mut turned = None;
        if hop_m >= self.cfg.step_m {
            let b = geom::bearing_deg(v.step.lat, v.step.lon, p.lat, p.lon);
            match v.leg_course {
                Some(c) if geom::angle_diff_deg(c, b) <= self.cfg.max_leg_turn_deg => {
                    v.step = p;
                    v.leg_course = Some(geom::bearing_deg(
                        v.leg_start.lat,
                        v.leg_start.lon,
                        p.lat,
                        p.lon,
                    ));
                }
                Some(_) => turned = Some(b),
                None => {
                    v.step = p;
                    v.leg_course = Some(b);
                }
            }
        }
        // The entry found above serves the rest of the fix unless a leg ended.
        let v = match turned {
            None => v,
            Some(b) => {
                let Some(mut v) = self.vessels.remove(&f.mmsi) else {
                    return;
                };
                self.end_leg(ctx, f.mmsi, &mut v, &f.sources);
                v.leg_start = v.step;
                v.step = p;
                v.leg_course = Some(b);
                self.vessels.entry(f.mmsi).insert_entry(v).into_mut()
            }
        };
        // No line for too long: the pattern is over.
        if let (Some(id), Some(l)) = (v.open, v.prev_line) {
            let since = f.time_ms - l.end.t;
            let leg_len = geom::distance_m(v.leg_start.lat, v.leg_start.lon, p.lat, p.lon);
            if since > self.cfg.max_turn_s as i64 * 1000 && leg_len < self.cfg.min_line_m {
                ctx.close(id, l.end.t);
                v.open = None;
                v.lines = 0;
                v.prev_line = None;
            }
        }
    }

    fn forget(&mut self, ctx: &mut Ctx<'_>, before_ms: i64) {
        let gone: Vec<u32> = self
            .vessels
            .iter()
            .filter(|(_, v)| v.step.t < before_ms)
            .map(|(m, _)| *m)
            .collect();
        for m in gone {
            if let Some(v) = self.vessels.remove(&m) {
                if let (Some(id), Some(l)) = (v.open, v.prev_line) {
                    ctx.close(id, l.end.t);
                }
            }
        }
    }

    fn prefetch(&self, f: &crate::input::Fix) {
        let mmsi = f.mmsi;
        if let Some(v) = self.vessels.get(&mmsi) {
            super::prefetch(&**v);
        }
    }

    fn memory_bytes(&self) -> usize {
        // The table holds boxes: each vessel's entry is a heap block of its own.
        table_bytes(&self.vessels) + self.vessels.len() * std::mem::size_of::<Vessel>()
    }
}
