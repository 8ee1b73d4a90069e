//! The live sources `tidewatch serve` runs besides network feeds: a file replayed at a speed
//! factor and the simulator in (accelerated) real time. Each is a [`Producer::Custom`] whose
//! bytes go through the same spool (durable history) and tap (live picture) as a network
//! feed's.

use crate::ingest::live::{FeedWriter, LiveSource, Producer};
use anyhow::{bail, Context, Result};
use sim::{Overrides, Scenario, Simulation};
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Lines written to a spool in one call at most (pacing still releases them on time).
const CHUNK_BYTES: usize = 64 * 1024;

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sleeps until `due` in steps, returning false early when `halt` is set.
fn wait_until(due: Instant, halt: &AtomicBool) -> bool {
    loop {
        if halt.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        std::thread::sleep((due - now).min(Duration::from_millis(100)));
    }
}

fn fail(label: &str, e: &dyn std::fmt::Display) -> ! {
    eprintln!("tidewatch: error: cannot write the spool of {label}: {e}");
    std::process::exit(1);
}

/// The time a line carries (tag block `c:`, `$PGHP`, a timestamp prefix), if any.
pub(crate) fn line_time_ms(line: &[u8]) -> Option<i64> {
    let line = ais::nmea::trim(line);
    if let Some(rest) = line.strip_prefix(b"\\") {
        let end = rest.iter().position(|&b| b == b'\\')?;
        return ais::nmea::parse_tag_block(&rest[..end]).ok()?.time_ms;
    }
    if line.starts_with(b"$PGHP") {
        return ais::nmea::parse_pghp(line).ok().and_then(|p| p.time_ms);
    }
    ais::nmea::parse_time_prefix(line)
}

/// A file (plain or gzip) replayed at `speed` times the pace of its own line times; lines
/// without a time go with the line before them. The file's lines keep their times (the store
/// files them at the times they carry).
pub(crate) fn replay(label: String, path: String, speed: f64) -> Result<LiveSource> {
    if !(speed > 0.0 && speed.is_finite()) {
        bail!("source {label}: speed must be a positive number");
    }
    // Open now, so a missing file is an error at start and not a silent empty feed.
    let input = crate::input::open(&path, &indicatif::ProgressBar::hidden())
        .with_context(|| format!("source {label}"))?;
    let quiet_label = label.clone();
    let produce = move |writers: Vec<FeedWriter>, halt: Arc<AtomicBool>| {
        let Some(w) = writers.first() else { return };
        let mut reader = BufReader::with_capacity(1 << 20, input.reader);
        let began = Instant::now();
        let mut pace = Pace::default();
        let mut chunk = Vec::with_capacity(CHUNK_BYTES);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    eprintln!("tidewatch: warning: source {quiet_label}: read error ({e}); the replay ends here");
                    break;
                }
            }
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            if let Some(due_ms) = line_time_ms(&line).and_then(|t| pace.step(t)) {
                let due = began + Duration::from_secs_f64(due_ms as f64 / 1000.0 / speed);
                if due > Instant::now() {
                    if !chunk.is_empty() {
                        w.write(&chunk).unwrap_or_else(|e| fail(&quiet_label, &e));
                        chunk.clear();
                    }
                    if !wait_until(due, &halt) {
                        return;
                    }
                }
            }
            chunk.extend_from_slice(&line);
            if chunk.len() >= CHUNK_BYTES {
                w.write(&chunk).unwrap_or_else(|e| fail(&quiet_label, &e));
                chunk.clear();
            }
            if halt.load(Ordering::Relaxed) {
                break;
            }
        }
        if !chunk.is_empty() {
            w.write(&chunk).unwrap_or_else(|e| fail(&quiet_label, &e));
        }
    };
    Ok(LiveSource {
        producer: Producer::Custom(Box::new(produce)),
        labels: vec![label],
    })
}

/// The data time a replay has reached, from the times its lines carry. Disordered lines (a
/// time behind the clock) are sent at once. A single line far ahead of the clock (a receiver
/// clock years off) is not waited for and does not move the clock; when the next line is as
/// far ahead too, the jump is a real gap in the capture and is skipped rather than waited
/// through.
#[derive(Debug, Default)]
struct Pace {
    /// The clock, in the lines' time.
    clock_ms: Option<i64>,
    /// Data time paced so far (the clock's advance, jumps excluded).
    elapsed_ms: i64,
    /// A jump seen once, waiting for a second line to confirm it.
    jump_ms: Option<i64>,
}

impl Pace {
    /// Steps larger than this are jumps (a real gap or a wrong clock), not waited for.
    const MAX_STEP_MS: i64 = 10 * 60_000;

    /// Takes a line's time; returns the data time since the start at which it is due, or
    /// `None` when it is sent at once without moving the clock.
    fn step(&mut self, t_ms: i64) -> Option<i64> {
        let Some(clock) = self.clock_ms else {
            self.clock_ms = Some(t_ms);
            return Some(0);
        };
        let step = t_ms - clock;
        if step <= 0 {
            return None;
        }
        if step <= Self::MAX_STEP_MS {
            self.jump_ms = None;
            self.clock_ms = Some(t_ms);
            self.elapsed_ms += step;
            return Some(self.elapsed_ms);
        }
        match self.jump_ms {
            Some(j) if (t_ms - j).abs() <= Self::MAX_STEP_MS => {
                self.jump_ms = None;
                self.clock_ms = Some(t_ms);
                Some(self.elapsed_ms)
            }
            _ => {
                self.jump_ms = Some(t_ms);
                None
            }
        }
    }
}

/// How the simulator runs as a live source.
#[derive(Debug, Clone)]
pub(crate) struct SimSource {
    /// Built-in scenario name or TOML file.
    pub scenario: String,
    /// Times real time.
    pub speed: f64,
    pub seed: Option<u64>,
    pub vessels: Option<u32>,
    pub hours: Option<f64>,
    /// Label prefix: each partner's feed is `PREFIX-PARTNER` (empty: the partner's name).
    pub prefix: String,
}

/// The simulator as live sources: one feed per partner, paced at `speed` times real time. The
/// scenario starts its length before now, so the data's clock reaches the wall clock as the
/// scenario ends and never runs ahead of it (ingest refuses times a day past the wall clock).
pub(crate) fn simulate(s: &SimSource) -> Result<(LiveSource, Scenario)> {
    if !(s.speed > 0.0 && s.speed.is_finite()) {
        bail!(
            "simulated source {}: speed must be a positive number",
            s.scenario
        );
    }
    let text = crate::simulate::scenario_text(&s.scenario)?;
    // Parse once with the scenario's own length to learn it.
    let probe = Scenario::from_toml(
        &text,
        &Overrides {
            seed: s.seed,
            vessels: s.vessels,
            hours: s.hours,
            ..Overrides::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("scenario {}: {e}", s.scenario))?;
    let length_ms = probe.end_ms - probe.start_ms;
    let overrides = Overrides {
        seed: s.seed,
        vessels: s.vessels,
        hours: s.hours,
        start_ms: Some((wall_ms() - length_ms) / 1000 * 1000),
        full_coverage: false,
    };
    let scenario = Scenario::from_toml(&text, &overrides)
        .map_err(|e| anyhow::anyhow!("scenario {}: {e}", s.scenario))?;
    let labels: Vec<String> = scenario
        .partners
        .iter()
        .map(|p| {
            if s.prefix.is_empty() {
                p.name.clone()
            } else {
                format!("{}-{}", s.prefix, p.name)
            }
        })
        .collect();
    let speed = s.speed;
    let sc = scenario.clone();
    let produce = move |writers: Vec<FeedWriter>, halt: Arc<AtomicBool>| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        let sim = Simulation::new(&sc, threads);
        let began = Instant::now();
        let due = |ms: i64| {
            began + Duration::from_secs_f64(((ms - sc.start_ms) as f64 / 1000.0 / speed).max(0.0))
        };
        let mut chunks: Vec<Vec<u8>> = vec![Vec::new(); writers.len()];
        let flush = |chunks: &mut Vec<Vec<u8>>| {
            for (w, c) in writers.iter().zip(chunks.iter_mut()) {
                if !c.is_empty() {
                    w.write(c).unwrap_or_else(|e| fail("the simulator", &e));
                    c.clear();
                }
            }
        };
        let result = sim.run(|batch| -> Result<(), ()> {
            for l in &batch.lines {
                if due(l.deliver_ms) > Instant::now() {
                    flush(&mut chunks);
                    if !wait_until(due(l.deliver_ms), &halt) {
                        return Err(());
                    }
                }
                if let Some(c) = chunks.get_mut(l.partner as usize) {
                    c.extend_from_slice(batch.bytes(l));
                }
            }
            flush(&mut chunks);
            // The window's end, so time advances even through quiet stretches.
            if wait_until(due(batch.end_ms), &halt) {
                Ok(())
            } else {
                Err(())
            }
        });
        flush(&mut chunks);
        if result.is_ok() {
            eprintln!("simulated scenario finished; serving what it made");
        }
    };
    Ok((
        LiveSource {
            producer: Producer::Custom(Box::new(produce)),
            labels,
        },
        scenario,
    ))
}

#[cfg(test)]
mod tests {
    use super::Pace;

    #[test]
    fn a_replay_paces_by_its_times_and_is_not_stalled_by_a_wrong_clock() {
        let mut p = Pace::default();
        let t0 = 1_635_731_889_000;
        assert_eq!(p.step(t0), Some(0));
        assert_eq!(p.step(t0 + 20_000), Some(20_000));
        // Disorder: sent at once.
        assert_eq!(p.step(t0 + 5_000), None);
        // One line five years ahead: not waited for, the clock stays.
        assert_eq!(p.step(t0 + 5 * 365 * 86_400_000), None);
        assert_eq!(p.step(t0 + 40_000), Some(40_000));
        // A real two-hour gap (two lines agree): skipped, then paced from there.
        assert_eq!(p.step(t0 + 7_200_000), None);
        assert_eq!(p.step(t0 + 7_201_000), Some(40_000));
        assert_eq!(p.step(t0 + 7_211_000), Some(50_000));
    }
}
