//! Output formats of `tidewatch decode`: JSON lines with gpsd's AIVDM field names and scaled
//! units (null for "not available"), and a flat CSV of the fields analysts use most.

use ais::bits::{AisText, BitSlice};
use ais::msg::units::{
    aid_type_text, emma_class_text, emma_type_text, emma_wind_text, epfd_text, inland_status_text,
    mooring_position_text, nav_status_text, route_type_text, ship_type_text,
};
use ais::msg::{AppData, AppTime, ChannelArea, Dimensions, Eta, Message, RateOfTurn, TargetId};
use ais::Meta;
use std::io::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line (gpsd AIVDM field names).
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Decode every field and discard the result (for timing).
    None,
}

/// Formats one message into `out`.
pub fn write(format: Format, m: &Message<'_>, meta: &Meta, out: &mut Vec<u8>) {
    match format {
        Format::Jsonl => write_json(m, meta, out),
        Format::Csv => write_csv(m, meta, out),
        Format::None => {
            std::hint::black_box((m, meta));
        }
    }
}

/// A tiny JSON object writer: keys are static and trusted, values are escaped.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Obj<'a> {
    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        self.out.extend_from_slice(b",\"");
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }
    fn uint(&mut self, k: &str, v: impl Into<u64>) {
        let v = v.into();
        let _ = write!(self.key(k), "{v}");
    }
    fn opt_uint<T: Into<u64>>(&mut self, k: &str, v: Option<T>) {
        match v {
            Some(v) => self.uint(k, v),
            None => self.null(k),
        }
    }
    fn null(&mut self, k: &str) {
        self.key(k).extend_from_slice(b"null");
    }
    fn boolean(&mut self, k: &str, v: bool) {
        self.key(k)
            .extend_from_slice(if v { b"true" } else { b"false" });
    }
    fn float(&mut self, k: &str, v: Option<f64>, decimals: usize) {
        match v {
            Some(v) => {
                let _ = write!(self.key(k), "{v:.decimals$}");
            }
            None => self.null(k),
        }
    }
    fn str(&mut self, k: &str, v: &str) {
        let o = self.key(k);
        json_string(o, v);
    }
    fn text<const N: usize>(&mut self, k: &str, v: &AisText<N>) {
        self.str(k, v.as_str());
    }
    fn data(&mut self, k: &str, d: &BitSlice<'_>) {
        let o = self.key(k);
        let _ = write!(o, "\"{}:", d.len());
        d.write_hex(o);
        o.push(b'"');
    }
    fn lonlat(&mut self, lon: Option<f64>, lat: Option<f64>) {
        self.float("lon", lon, 6);
        self.float("lat", lat, 6);
    }
    fn dims(&mut self, d: &Dimensions) {
        self.opt_uint("to_bow", d.to_bow);
        self.opt_uint("to_stern", d.to_stern);
        self.opt_uint("to_port", d.to_port);
        self.opt_uint("to_starboard", d.to_starboard);
    }
    fn shiptype(&mut self, t: Option<u8>) {
        self.opt_uint("shiptype", t);
        self.str("shiptype_text", ship_type_text(t.unwrap_or(0)));
    }
    fn epfd(&mut self, e: Option<u8>) {
        self.opt_uint("epfd", e);
        self.str("epfd_text", epfd_text(e.unwrap_or(0)));
    }
    fn sog(&mut self, v: Option<f32>) {
        self.float("speed", v.map(f64::from), 1);
    }
    fn cog(&mut self, v: Option<f32>) {
        self.float("course", v.map(f64::from), 1);
    }
    /// A UTC month, day, hour and minute as gpsd writes them ("MM-DDTHH:MMZ"); null unless
    /// every part is available.
    fn time(&mut self, k: &str, t: &AppTime) {
        match (t.month, t.day, t.hour, t.minute) {
            (Some(mo), Some(d), Some(h), Some(mi)) => {
                self.str(k, &format!("{mo:02}-{d:02}T{h:02}:{mi:02}Z"))
            }
            _ => self.null(k),
        }
    }
    /// An array of objects, each written by `f`.
    fn array<T>(&mut self, k: &str, items: &[T], mut f: impl FnMut(&mut Obj<'_>, &T)) {
        self.key(k).push(b'[');
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                self.out.push(b',');
            }
            let start = self.out.len();
            self.out.push(b'{');
            f(self, item);
            // Every field starts with a comma; the object's first must not.
            if self.out.get(start + 1) == Some(&b',') {
                self.out.remove(start + 1);
            }
            self.out.push(b'}');
        }
        self.out.push(b']');
    }
    /// A decoded application-specific message of a type 6 or 8 (gpsd's names).
    fn app(&mut self, app: &AppData) {
        let f = |v: Option<f32>| v.map(f64::from);
        match app {
            AppData::MeteoHydro(w) | AppData::MeteoHydro236(w) => {
                let imo289 = matches!(app, AppData::MeteoHydro(_));
                self.float("lat", w.lat, 6);
                self.float("lon", w.lon, 6);
                if imo289 {
                    self.boolean("accuracy", w.accuracy);
                }
                match (w.day, w.hour, w.minute) {
                    (Some(d), Some(h), Some(mi)) => {
                        self.str("timestamp", &format!("{d:02}T{h:02}:{mi:02}Z"))
                    }
                    _ => self.null("timestamp"),
                }
                self.opt_uint("wspeed", w.wind_speed_knots);
                self.opt_uint("wgust", w.wind_gust_knots);
                self.opt_uint("wdir", w.wind_dir_deg);
                self.opt_uint("wgustdir", w.wind_gust_dir_deg);
                self.opt_uint("humidity", w.humidity_pct);
                self.float("airtemp", f(w.air_temp_c), 1);
                self.float("dewpoint", f(w.dew_point_c), 1);
                self.opt_uint("pressure", w.pressure_hpa);
                self.opt_uint("pressuretend", w.pressure_tendency);
                if imo289 {
                    self.boolean("visgreater", w.visibility_greater);
                }
                self.float("visibility", f(w.visibility_nm), 1);
                self.float("waterlevel", f(w.water_level_m), 2);
                self.opt_uint("leveltrend", w.water_level_trend);
                self.float("cspeed", f(w.current_speed_knots), 1);
                self.opt_uint("cdir", w.current_dir_deg);
                self.float("cspeed2", f(w.current2_speed_knots), 1);
                self.opt_uint("cdir2", w.current2_dir_deg);
                self.opt_uint("cdepth2", w.current2_depth_m);
                self.float("cspeed3", f(w.current3_speed_knots), 1);
                self.opt_uint("cdir3", w.current3_dir_deg);
                self.opt_uint("cdepth3", w.current3_depth_m);
                self.float("waveheight", f(w.wave_height_m), 1);
                self.opt_uint("waveperiod", w.wave_period_s);
                self.opt_uint("wavedir", w.wave_dir_deg);
                self.float("swellheight", f(w.swell_height_m), 1);
                self.opt_uint("swellperiod", w.swell_period_s);
                self.opt_uint("swelldir", w.swell_dir_deg);
                self.opt_uint("seastate", w.sea_state);
                self.float("watertemp", f(w.water_temp_c), 1);
                self.opt_uint("preciptype", w.precipitation);
                self.float("salinity", f(w.salinity), 1);
                self.opt_uint("ice", w.ice);
            }
            AppData::Text(t) => {
                self.opt_uint("linkage", t.linkage);
                self.text("text", &t.text);
            }
            AppData::InlandStatic(s) => {
                self.text("vin", &s.vin);
                self.float("length", f(s.length_m), 1);
                self.float("beam", f(s.beam_m), 1);
                self.opt_uint("shiptype", s.eri_type);
                self.opt_uint("hazard", s.hazard);
                self.float("draught", f(s.draught_m), 2);
                self.opt_uint("loaded", s.loaded);
                self.boolean("speed_q", s.speed_q);
                self.boolean("course_q", s.course_q);
                self.boolean("heading_q", s.heading_q);
            }
            AppData::InlandSignal(s) => {
                self.lonlat(s.lon, s.lat);
                self.opt_uint("form", s.form);
                self.opt_uint("facing", s.facing_deg);
                self.opt_uint("direction", s.direction);
                self.uint("status", s.status);
            }
            AppData::InlandPersons(p) => {
                self.opt_uint("crew", p.crew);
                self.opt_uint("passengers", p.passengers);
                self.opt_uint("personnel", p.personnel);
            }
            AppData::DangerousCargo236(c) => {
                self.text("lastport", &c.last_port);
                self.time("departure", &c.departure);
                self.text("nextport", &c.next_port);
                self.time("eta", &c.eta);
                self.text("dangerous", &c.dangerous);
                self.text("imdcat", &c.imd_category);
                self.opt_uint("unid", c.un_number);
                self.opt_uint("amount", c.amount);
                self.opt_uint("unit", c.unit);
            }
            AppData::TidalWindow236(t) | AppData::TidalWindow(t) => {
                self.opt_uint("month", t.month);
                self.opt_uint("day", t.day);
                self.array("tidals", t.windows(), |o, w| {
                    o.lonlat(w.lon, w.lat);
                    o.opt_uint("from_hour", w.from_hour);
                    o.opt_uint("from_min", w.from_minute);
                    o.opt_uint("to_hour", w.to_hour);
                    o.opt_uint("to_min", w.to_minute);
                    o.opt_uint("cdir", w.current_dir_deg);
                    o.float("cspeed", f(w.current_speed_knots), 1);
                });
            }
            AppData::AirDraught(a) => self.float("airdraught", f(a.air_draught_m), 1),
            AppData::PersonsOnBoard(p) => self.opt_uint("persons", p.persons),
            AppData::ClearanceTime(c) => {
                self.opt_uint("linkage", c.linkage);
                self.time("arrival", &c.time);
                self.text("portname", &c.port_berth);
                self.text("destination", &c.destination);
                self.lonlat(c.lon, c.lat);
            }
            AppData::Berthing(b) => {
                self.opt_uint("linkage", b.linkage);
                self.opt_uint("berth_length", b.berth_length_m);
                self.float("berth_depth", f(b.berth_depth_m), 1);
                self.opt_uint("position", b.mooring_position);
                self.str(
                    "position_text",
                    mooring_position_text(b.mooring_position.unwrap_or(0)),
                );
                self.time("arrival", &b.time);
                self.uint("availability", b.services_known as u8);
                for (name, &status) in BERTH_SERVICES.iter().zip(&b.services) {
                    self.uint(name, status);
                }
                self.text("berth_name", &b.berth_name);
                self.float("berth_lon", b.lon, 6);
                self.float("berth_lat", b.lat, 6);
            }
            AppData::DangerousCargo(c) => {
                self.opt_uint("unit", c.unit);
                self.opt_uint("amount", c.amount);
                self.array("cargos", c.cargos(), |o, c| {
                    o.opt_uint("code", c.code);
                    o.opt_uint("subtype", c.subtype);
                });
            }
            AppData::Route(r) => {
                self.opt_uint("linkage", r.linkage);
                self.uint("sender", r.sender);
                self.uint("rtype", r.route_type);
                self.str("rtype_text", route_type_text(r.route_type));
                self.time("start", &r.start);
                self.opt_uint("duration", r.duration_min);
                self.array("waypoints", r.waypoints(), |o, w| {
                    o.lonlat(w.lon(), w.lat())
                });
            }
            AppData::FairwayClosed(c) => {
                self.text("reason", &c.reason);
                self.text("closefrom", &c.close_from);
                self.text("closeto", &c.close_to);
                self.opt_uint("radius", c.radius);
                self.uint("extunit", c.radius_unit);
                self.time("from", &c.from);
                self.time("to", &c.to);
            }
            AppData::VtsTargets(v) => {
                self.array("targets", v.targets(), |o, t| {
                    match &t.id {
                        TargetId::Mmsi(n) => {
                            o.uint("idtype", 0u8);
                            o.str("idtype_text", "mmsi");
                            o.str("mmsi", &n.to_string());
                        }
                        TargetId::Imo(n) => {
                            o.uint("idtype", 1u8);
                            o.str("idtype_text", "imo");
                            o.str("imo", &n.to_string());
                        }
                        TargetId::CallSign(c) => {
                            o.uint("idtype", 2u8);
                            o.str("idtype_text", "callsign");
                            o.text("callsign", c);
                        }
                        TargetId::Other(c) => {
                            o.uint("idtype", 3u8);
                            o.str("idtype_text", "other");
                            o.text("other", c);
                        }
                    }
                    o.float("lat", t.lat(), 6);
                    o.float("lon", t.lon(), 6);
                    o.opt_uint("course", t.course_deg);
                    o.opt_uint("second", t.second);
                    o.opt_uint("speed", t.speed_knots);
                });
            }
            AppData::TrafficSignal(s) => {
                self.opt_uint("linkage", s.linkage);
                self.text("station", &s.station);
                self.lonlat(s.lon, s.lat);
                self.opt_uint("status", s.status);
                self.opt_uint("signal", s.signal);
                self.opt_uint("hour", s.hour);
                self.opt_uint("minute", s.minute);
                self.opt_uint("nextsignal", s.next_signal);
            }
            AppData::InlandEta(s) | AppData::InlandRta(s) => {
                self.text("country", &s.country);
                self.text("locode", &s.locode);
                self.text("section", &s.section);
                self.text("terminal", &s.terminal);
                self.text("hectometre", &s.hectometre);
                self.time("eta", &s.time);
                if matches!(app, AppData::InlandEta(_)) {
                    self.opt_uint("tugs", s.tugs);
                    self.float("airdraught", f(s.air_draught_m), 2);
                } else {
                    self.opt_uint("status", s.status);
                    self.str("status_text", inland_status_text(s.status.unwrap_or(3)));
                }
            }
            AppData::EmmaWarning(w) => {
                let date = |year: Option<u8>, t: &AppTime| match (
                    year, t.month, t.day, t.hour, t.minute,
                ) {
                    (Some(y), Some(mo), Some(d), Some(h), Some(mi)) => Some(format!(
                        "{:04}-{mo:02}-{d:02}T{h:02}:{mi:02}Z",
                        2000 + u32::from(y)
                    )),
                    _ => None,
                };
                for (k, v) in [
                    ("start", date(w.start_year, &w.start)),
                    ("end", date(w.end_year, &w.end)),
                ] {
                    match v {
                        Some(v) => self.str(k, &v),
                        None => self.null(k),
                    }
                }
                self.float("start_lon", w.start_lon, 6);
                self.float("start_lat", w.start_lat, 6);
                self.float("end_lon", w.end_lon, 6);
                self.float("end_lat", w.end_lat, 6);
                // gpsd names these two "type" and "class", which would repeat the keys of
                // the message itself.
                self.opt_uint("weather_type", w.weather_type);
                self.str("type_text", emma_type_text(w.weather_type.unwrap_or(0)));
                let _ = write!(self.key("min"), "{}", w.min);
                let _ = write!(self.key("max"), "{}", w.max);
                self.uint("intensity", w.intensity);
                self.str("class_text", emma_class_text(w.intensity));
                self.opt_uint("wind", w.wind);
                self.str("wind_text", emma_wind_text(w.wind.unwrap_or(0)));
            }
            AppData::WaterLevels(l) => {
                self.text("country", &l.country);
                self.array("gauges", &l.gauges, |o, g| {
                    o.opt_uint("id", g.id);
                    o.float("level", Some(f64::from(g.level_m)), 2);
                });
            }
        }
    }
    /// The fields types 18 and 19 share, in gpsd's order.
    fn class_b(
        &mut self,
        reserved: u8,
        sog: Option<f32>,
        accuracy: bool,
        (lon, lat): (Option<f64>, Option<f64>),
        cog: Option<f32>,
    ) {
        self.uint("reserved", reserved);
        self.sog(sog);
        self.boolean("accuracy", accuracy);
        self.lonlat(lon, lat);
        self.cog(cog);
    }
}

/// gpsd's names of the berthing data's service fields, in broadcast order.
const BERTH_SERVICES: [&str; ais::msg::app::BERTH_SERVICES] = [
    "agent",
    "fuel",
    "chandler",
    "stevedore",
    "electrical",
    "water",
    "customs",
    "cartage",
    "crane",
    "lift",
    "medical",
    "navrepair",
    "provisions",
    "shiprepair",
    "surveyor",
    "steam",
    "tugs",
    "solidwaste",
    "liquidwaste",
    "hazardouswaste",
    "ballast",
    "additional",
    "regional1",
    "regional2",
    "future1",
    "future2",
];

fn json_string(o: &mut Vec<u8>, v: &str) {
    o.push(b'"');
    for &b in v.as_bytes() {
        match b {
            b'"' => o.extend_from_slice(b"\\\""),
            b'\\' => o.extend_from_slice(b"\\\\"),
            0..=0x1f => {
                let _ = write!(o, "\\u{b:04x}");
            }
            _ => o.push(b),
        }
    }
    o.push(b'"');
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` for a time in ms since the epoch.
pub fn iso8601_ms(ms: i64, out: &mut Vec<u8>) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, f) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z");
}

/// Proleptic Gregorian date of a day number (days since 1970-01-01).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn eta_string(e: &Eta) -> Option<String> {
    Some(format!(
        "{:02}-{:02}T{:02}:{:02}Z",
        e.month?, e.day?, e.hour?, e.minute?
    ))
}

fn write_meta(o: &mut Obj<'_>, meta: &Meta) {
    match meta.rx_time_ms {
        Some(t) => {
            let out = o.key("rx_time");
            out.push(b'"');
            iso8601_ms(t, out);
            out.push(b'"');
        }
        None => o.null("rx_time"),
    }
    match &meta.source {
        Some(s) => o.str("source", s.as_str()),
        None => o.null("source"),
    }
    match meta.channel {
        Some(c) if c.is_ascii_graphic() => {
            o.str("channel", std::str::from_utf8(&[c]).unwrap_or("?"))
        }
        _ => o.null("channel"),
    }
    o.str("talker", std::str::from_utf8(&meta.talker).unwrap_or("??"));
    o.boolean("own_ship", meta.own_ship);
    o.uint("fragments", meta.fragments);
    if meta.tag_checksum_failed {
        // Only when set: the time and station above came from a tag block whose checksum
        // failed.
        o.boolean("tag_block_checksum_failed", true);
    }
}

/// Writes one JSON object and a newline.
pub fn write_json(m: &Message<'_>, meta: &Meta, out: &mut Vec<u8>) {
    let h = m.header();
    let _ = write!(
        out,
        "{{\"class\":\"AIS\",\"type\":{},\"repeat\":{},\"mmsi\":{},\"scaled\":true",
        h.msg_type, h.repeat, h.mmsi.0
    );
    let mut o = Obj { out };
    match h.mmsi.flag() {
        Some(f) => o.str("flag", f.iso2),
        None => o.null("flag"),
    }
    match m {
        Message::Position(p) => {
            o.opt_uint("status", p.nav_status);
            o.str("status_text", nav_status_text(p.nav_status.unwrap_or(15)));
            match p.rot {
                None => o.null("turn"),
                Some(RateOfTurn::FastRight) => o.str("turn", "fastright"),
                Some(RateOfTurn::FastLeft) => o.str("turn", "fastleft"),
                Some(RateOfTurn::DegPerMin(d)) => o.float("turn", Some(d as f64), 1),
            }
            o.sog(p.sog_knots);
            o.boolean("accuracy", p.accuracy);
            o.lonlat(p.lon, p.lat);
            o.cog(p.cog_deg);
            o.opt_uint("heading", p.heading_deg);
            o.opt_uint("second", p.second);
            o.opt_uint("maneuver", p.maneuver);
            o.boolean("raim", p.raim);
            o.opt_uint("radio", p.radio);
        }
        Message::BaseStation(b) => {
            match (b.year, b.month, b.day, b.hour, b.minute, b.second) {
                (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => o.str(
                    "timestamp",
                    &format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
                ),
                _ => o.null("timestamp"),
            }
            // The parts too (gpsd's unscaled names), so that a time with one part not
            // available keeps the others.
            o.opt_uint("year", b.year);
            o.opt_uint("month", b.month);
            o.opt_uint("day", b.day);
            o.opt_uint("hour", b.hour);
            o.opt_uint("minute", b.minute);
            o.opt_uint("second", b.second);
            o.boolean("accuracy", b.accuracy);
            o.lonlat(b.lon, b.lat);
            o.epfd(b.epfd);
            o.boolean("raim", b.raim);
            o.uint("radio", b.radio);
        }
        Message::StaticVoyage(s) => {
            o.opt_uint("imo", s.imo);
            o.uint("ais_version", s.ais_version);
            o.text("callsign", &s.callsign);
            o.text("shipname", &s.shipname);
            o.shiptype(s.ship_type);
            o.dims(&s.dims);
            o.epfd(s.epfd);
            match eta_string(&s.eta) {
                Some(e) => o.str("eta", &e),
                None => o.null("eta"),
            }
            // The parts too (gpsd's unscaled names): an ETA with one part not available (hour
            // 24, minute 60) keeps the others.
            o.opt_uint("month", s.eta.month);
            o.opt_uint("day", s.eta.day);
            o.opt_uint("hour", s.eta.hour);
            o.opt_uint("minute", s.eta.minute);
            o.float("draught", s.draught_m.map(f64::from), 1);
            o.text("destination", &s.destination);
            o.uint("dte", s.dte as u8);
        }
        Message::BinaryAddressed(b) => {
            o.uint("seqno", b.seqno);
            o.uint("dest_mmsi", b.dest_mmsi.0);
            o.boolean("retransmit", b.retransmit);
            o.uint("dac", b.dac);
            o.uint("fid", b.fid);
            match &b.app {
                Some(app) => o.app(app),
                None => o.data("data", &b.data),
            }
        }
        Message::BinaryAck(a) => {
            for (k, key) in ["mmsi1", "mmsi2", "mmsi3", "mmsi4"].iter().enumerate() {
                o.opt_uint(key, a.acks[k].map(|x| x.0 .0));
            }
        }
        Message::BinaryBroadcast(b) => {
            o.uint("dac", b.dac);
            o.uint("fid", b.fid);
            match &b.app {
                Some(app) => o.app(app),
                None => o.data("data", &b.data),
            }
        }
        Message::SarAircraft(s) => {
            o.opt_uint("alt", s.altitude_m);
            o.opt_uint("speed", s.sog_knots);
            o.boolean("accuracy", s.accuracy);
            o.lonlat(s.lon, s.lat);
            o.cog(s.cog_deg);
            o.opt_uint("second", s.second);
            o.uint("regional", s.regional);
            o.uint("dte", s.dte as u8);
            o.boolean("assigned", s.assigned);
            o.boolean("raim", s.raim);
            o.uint("radio", s.radio);
        }
        Message::UtcInquiry(u) => o.uint("dest_mmsi", u.dest_mmsi.0),
        Message::SafetyAddressed(s) => {
            o.uint("seqno", s.seqno);
            o.uint("dest_mmsi", s.dest_mmsi.0);
            o.boolean("retransmit", s.retransmit);
            o.text("text", &s.text);
        }
        Message::SafetyBroadcast(s) => o.text("text", &s.text),
        Message::Interrogation(q) => {
            o.uint("mmsi1", q.mmsi1.0);
            o.uint("type1_1", q.type1_1);
            o.uint("offset1_1", q.offset1_1);
            o.opt_uint("type1_2", q.type1_2);
            o.opt_uint("offset1_2", q.offset1_2);
            o.opt_uint("mmsi2", q.mmsi2.map(|m| m.0));
            o.opt_uint("type2_1", q.type2_1);
            o.opt_uint("offset2_1", q.offset2_1);
        }
        Message::AssignmentMode(a) => {
            o.uint("mmsi1", a.mmsi1.0);
            o.uint("offset1", a.offset1);
            o.uint("increment1", a.increment1);
            o.opt_uint("mmsi2", a.mmsi2.map(|m| m.0));
            o.opt_uint("offset2", a.offset2);
            o.opt_uint("increment2", a.increment2);
        }
        Message::DgnssBroadcast(d) => {
            o.lonlat(d.lon, d.lat);
            o.data("data", &d.data);
        }
        Message::ClassBPosition(p) => {
            o.class_b(
                p.reserved,
                p.sog_knots,
                p.accuracy,
                (p.lon, p.lat),
                p.cog_deg,
            );
            o.opt_uint("heading", p.heading_deg);
            o.opt_uint("second", p.second);
            o.uint("regional", p.regional);
            o.boolean("cs", p.cs);
            o.boolean("display", p.display);
            o.boolean("dsc", p.dsc);
            o.boolean("band", p.band);
            o.boolean("msg22", p.msg22);
            o.boolean("assigned", p.assigned);
            o.boolean("raim", p.raim);
            o.uint("radio", p.radio);
        }
        Message::ClassBExtended(p) => {
            o.class_b(
                p.reserved,
                p.sog_knots,
                p.accuracy,
                (p.lon, p.lat),
                p.cog_deg,
            );
            o.opt_uint("heading", p.heading_deg);
            o.opt_uint("second", p.second);
            o.uint("regional", p.regional);
            o.text("shipname", &p.shipname);
            o.shiptype(p.ship_type);
            o.dims(&p.dims);
            o.epfd(p.epfd);
            o.boolean("raim", p.raim);
            o.uint("dte", p.dte as u8);
            o.boolean("assigned", p.assigned);
        }
        Message::DataLinkManagement(d) => {
            for (k, r) in d.reservations.iter().enumerate() {
                let n = k + 1;
                o.opt_uint(&format!("offset{n}"), r.map(|r| r.offset));
                o.opt_uint(&format!("number{n}"), r.map(|r| r.number));
                o.opt_uint(&format!("timeout{n}"), r.map(|r| r.timeout));
                o.opt_uint(&format!("increment{n}"), r.map(|r| r.increment));
            }
        }
        Message::AidToNavigation(a) => {
            o.uint("aid_type", a.aid_type);
            o.str("aid_type_text", aid_type_text(a.aid_type));
            o.text("name", &a.name);
            match &a.name_extension {
                Some(e) => o.text("name_extension", e),
                None => o.null("name_extension"),
            }
            o.lonlat(a.lon, a.lat);
            o.boolean("accuracy", a.accuracy);
            o.dims(&a.dims);
            o.epfd(a.epfd);
            o.opt_uint("second", a.second);
            o.uint("regional", a.regional);
            o.boolean("off_position", a.off_position);
            o.boolean("raim", a.raim);
            o.boolean("virtual_aid", a.virtual_aid);
            o.boolean("assigned", a.assigned);
        }
        Message::ChannelManagement(c) => {
            o.uint("channel_a", c.channel_a);
            o.uint("channel_b", c.channel_b);
            o.uint("txrx", c.txrx);
            o.boolean("power", c.power);
            match c.target {
                ChannelArea::Addressed { dest1, dest2 } => {
                    o.uint("dest1", dest1.0);
                    o.uint("dest2", dest2.0);
                }
                ChannelArea::Area {
                    ne_lon,
                    ne_lat,
                    sw_lon,
                    sw_lat,
                } => {
                    o.float("ne_lon", ne_lon, 6);
                    o.float("ne_lat", ne_lat, 6);
                    o.float("sw_lon", sw_lon, 6);
                    o.float("sw_lat", sw_lat, 6);
                }
            }
            o.boolean(
                "addressed",
                matches!(c.target, ChannelArea::Addressed { .. }),
            );
            o.boolean("band_a", c.band_a);
            o.boolean("band_b", c.band_b);
            o.uint("zonesize", c.zonesize);
        }
        Message::GroupAssignment(g) => {
            o.float("ne_lon", g.ne_lon, 6);
            o.float("ne_lat", g.ne_lat, 6);
            o.float("sw_lon", g.sw_lon, 6);
            o.float("sw_lat", g.sw_lat, 6);
            o.uint("stationtype", g.station_type);
            o.uint("shiptype", g.ship_type);
            o.str("shiptype_text", ship_type_text(g.ship_type));
            o.uint("txrx", g.txrx);
            o.uint("interval", g.interval);
            o.uint("quiet", g.quiet);
        }
        Message::StaticDataA(a) => {
            o.str("part", "A");
            o.text("shipname", &a.shipname);
        }
        Message::StaticDataB(b) => {
            o.str("part", "B");
            o.shiptype(b.ship_type);
            o.text("vendorid", &b.vendor_id);
            o.uint("model", b.model);
            o.uint("serial", b.serial);
            o.text("callsign", &b.callsign);
            match b.mothership_mmsi {
                Some(m) => o.uint("mothership_mmsi", m.0),
                None => o.dims(&b.dims),
            }
        }
        Message::SingleSlotBinary(b) => {
            o.boolean("addressed", b.dest_mmsi.is_some());
            o.boolean("structured", b.app_id.is_some());
            o.opt_uint("dest_mmsi", b.dest_mmsi.map(|m| m.0));
            o.opt_uint("app_id", b.app_id);
            o.data("data", &b.data);
        }
        Message::MultiSlotBinary(b) => {
            o.boolean("addressed", b.dest_mmsi.is_some());
            o.boolean("structured", b.app_id.is_some());
            o.opt_uint("dest_mmsi", b.dest_mmsi.map(|m| m.0));
            o.opt_uint("app_id", b.app_id);
            o.data("data", &b.data);
            o.uint("radio", b.radio);
        }
        Message::LongRange(l) => {
            o.opt_uint("status", l.nav_status);
            o.str("status_text", nav_status_text(l.nav_status.unwrap_or(15)));
            o.boolean("accuracy", l.accuracy);
            o.lonlat(l.lon, l.lat);
            o.opt_uint("speed", l.sog_knots);
            o.opt_uint("course", l.cog_deg);
            o.boolean("raim", l.raim);
            o.boolean("gnss", l.gnss_stale);
        }
    }
    write_meta(&mut o, meta);
    out.extend_from_slice(b"}\n");
}

/// CSV header matching [`write_csv`]: the store's vocabulary with units in the names
/// (`docs/fields.md`; issue 19), not gpsd's, which JSON lines keep for gpsd tools.
pub const CSV_HEADER: &str = "rx_time,source,channel,msg_type,mmsi,lat,lon,sog_knots,cog_deg,\
heading_deg,nav_status,rot_deg_per_min,utc_second,name,callsign,imo,ship_type,destination,\
draught_m,to_bow_m,to_stern_m,to_port_m,to_starboard_m,eta\n";

fn csv_field(out: &mut Vec<u8>, v: &str) {
    if v.contains([',', '"', '\n']) {
        out.push(b'"');
        for b in v.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(v.as_bytes());
    }
}

fn csv_opt<T: std::fmt::Display>(out: &mut Vec<u8>, v: Option<T>) {
    if let Some(v) = v {
        let _ = write!(out, "{v}");
    }
    out.push(b',');
}

/// Writes one CSV row (fields the message does not carry are left empty).
pub fn write_csv(m: &Message<'_>, meta: &Meta, out: &mut Vec<u8>) {
    if let Some(t) = meta.rx_time_ms {
        iso8601_ms(t, out);
    }
    out.push(b',');
    if let Some(s) = &meta.source {
        csv_field(out, s.as_str());
    }
    out.push(b',');
    if let Some(c) = meta.channel.filter(u8::is_ascii_alphanumeric) {
        out.push(c);
    }
    let h = m.header();
    let _ = write!(out, ",{},{},", h.msg_type, h.mmsi.0);
    let (lon, lat) = match m.position() {
        Some((lon, lat)) => (Some(lon), Some(lat)),
        None => (None, None),
    };
    csv_opt(out, lat.map(|v| format!("{v:.6}")));
    csv_opt(out, lon.map(|v| format!("{v:.6}")));
    let (mut sog, mut cog, mut hdg, mut status, mut turn, mut second) =
        (None, None, None, None, None, None);
    let (mut name, mut call, mut imo, mut stype, mut dest, mut draught, mut dims, mut eta) =
        (None, None, None, None, None, None, None, None);
    match m {
        Message::Position(p) => {
            (sog, cog, hdg, second) = (p.sog_knots, p.cog_deg, p.heading_deg, p.second);
            status = p.nav_status;
            turn = p.rot.map(|r| match r {
                RateOfTurn::DegPerMin(d) => format!("{d:.1}"),
                RateOfTurn::FastRight => "fastright".to_owned(),
                RateOfTurn::FastLeft => "fastleft".to_owned(),
            });
        }
        Message::ClassBPosition(p) => {
            (sog, cog, hdg, second) = (p.sog_knots, p.cog_deg, p.heading_deg, p.second)
        }
        Message::ClassBExtended(p) => {
            (sog, cog, hdg, second) = (p.sog_knots, p.cog_deg, p.heading_deg, p.second);
            (name, stype, dims) = (Some(p.shipname.as_str()), p.ship_type, Some(p.dims));
        }
        Message::StaticVoyage(s) => {
            (name, call, imo) = (Some(s.shipname.as_str()), Some(s.callsign.as_str()), s.imo);
            (stype, dest, draught) = (s.ship_type, Some(s.destination.as_str()), s.draught_m);
            (dims, eta) = (Some(s.dims), eta_string(&s.eta));
        }
        Message::StaticDataA(a) => name = Some(a.shipname.as_str()),
        Message::StaticDataB(b) => {
            (call, stype) = (Some(b.callsign.as_str()), b.ship_type);
            dims = b.mothership_mmsi.is_none().then_some(b.dims);
        }
        Message::AidToNavigation(a) => (name, dims) = (Some(a.name.as_str()), Some(a.dims)),
        Message::LongRange(l) => {
            sog = l.sog_knots.map(f32::from);
            cog = l.cog_deg.map(f32::from);
            status = l.nav_status;
        }
        Message::SarAircraft(s) => {
            (sog, cog, second) = (s.sog_knots.map(f32::from), s.cog_deg, s.second);
        }
        _ => {}
    }
    csv_opt(out, sog.map(|v| format!("{v:.1}")));
    csv_opt(out, cog.map(|v| format!("{v:.1}")));
    csv_opt(out, hdg);
    csv_opt(out, status);
    csv_opt(out, turn);
    csv_opt(out, second);
    for t in [name, call] {
        if let Some(t) = t {
            csv_field(out, t);
        }
        out.push(b',');
    }
    csv_opt(out, imo);
    csv_opt(out, stype);
    if let Some(d) = dest {
        csv_field(out, d);
    }
    out.push(b',');
    csv_opt(out, draught.map(|v| format!("{v:.1}")));
    let d = dims.unwrap_or_default();
    csv_opt(out, d.to_bow);
    csv_opt(out, d.to_stern);
    csv_opt(out, d.to_port);
    csv_opt(out, d.to_starboard);
    if let Some(e) = eta {
        out.extend_from_slice(e.as_bytes());
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(armored: &str, fill: u8, meta: &Meta) -> serde_json::Value {
        let mut p = ais::bits::Payload::new();
        p.set(armored.as_bytes(), fill).unwrap();
        let m = ais::decode(&p).unwrap();
        let mut out = Vec::new();
        write_json(&m, meta, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn issue17_an_eta_with_hour_24_keeps_its_known_parts() {
        // gpsd: "eta":"12-31T24:59Z" (hour 24 is "not available").
        let j = json_of(
            "56:fS:D0000000000008v0<QD4r0`T4v3400000t0`D147?ps1P00000000000000000008",
            2,
            &Meta::default(),
        );
        assert_eq!(j["eta"], serde_json::Value::Null);
        assert_eq!(
            (j["month"].as_u64(), j["day"].as_u64()),
            (Some(12), Some(31))
        );
        assert_eq!(
            (j["hour"].is_null(), j["minute"].as_u64()),
            (true, Some(59))
        );
    }

    #[test]
    fn issue17_reserved_ship_types_and_short_name_extensions_are_written() {
        let j = json_of(
            "56SWW;P000033C;K?<0P4r0d4pN0pw<000000:o`1@K4640000000000000000000000008",
            2,
            &Meta::default(),
        );
        assert_eq!(j["shiptype"].as_u64(), Some(232));
        assert_eq!(j["shiptype_text"], "Reserved for future use");
        let j = json_of(
            "E7Odh5dR;QhIP00000000000000D8k2tnn31P00003nP0=`",
            2,
            &Meta::default(),
        );
        assert_eq!(
            (j["name"].as_str(), j["name_extension"].as_str()),
            (Some("DWC 3"), Some("6"))
        );
    }

    #[test]
    fn issue16_a_failed_tag_block_is_flagged_only_when_it_failed() {
        let armored = "15N1u<PP1FJuvSRHOE6QIwwh0HQ6";
        let j = json_of(armored, 0, &Meta::default());
        assert!(j.get("tag_block_checksum_failed").is_none());
        let meta = Meta {
            rx_time_ms: Some(1_565_218_798_000),
            tag_checksum_failed: true,
            ..Meta::default()
        };
        let j = json_of(armored, 0, &meta);
        assert_eq!(j["tag_block_checksum_failed"], true);
        assert_eq!(j["rx_time"], "2019-08-07T22:59:58.000Z");
    }

    #[test]
    fn issue17_application_messages_use_gpsd_names() {
        // DAC 200 FID 10 (gpsd: vin "02508792", length 650 dm, beam 95 dm, shiptype 8050).
        let j = json_of("83aGDjhj2d<eL>=vLQA@ggfE0000", 0, &Meta::default());
        assert_eq!(j["vin"], "02508792");
        assert_eq!(
            (j["length"].as_f64(), j["beam"].as_f64()),
            (Some(65.0), Some(9.5))
        );
        assert_eq!(j["shiptype"].as_u64(), Some(8050));
        assert!(j.get("data").is_none());
        // DAC 1 FID 11 (gpsd: timestamp 14T11:29Z, wspeed 23, airtemp -0.1).
        let j = json_of(
            "8@2<HVh0BkOrj0W0I3UfUk=<abEqowejwwwwwwwwwwwwwwwwwwwwwwwwwt0",
            2,
            &Meta::default(),
        );
        assert_eq!(j["timestamp"], "14T11:29Z");
        assert_eq!(
            (j["wspeed"].as_u64(), j["airtemp"].as_f64()),
            (Some(23), Some(-0.1))
        );
        assert!(j.get("accuracy").is_none(), "FID 11 has no accuracy flag");
    }

    #[test]
    fn iso_time() {
        let mut v = Vec::new();
        iso8601_ms(1_334_337_317_123, &mut v);
        assert_eq!(v, b"2012-04-13T17:15:17.123Z");
        v.clear();
        iso8601_ms(0, &mut v);
        assert_eq!(v, b"1970-01-01T00:00:00.000Z");
    }
}
