//! What detectors read: positions after fusion and segmentation, and identity updates.

use serde::{Deserialize, Serialize};

/// A source label (`NAME/station/talker`), interned: a copy is a pointer, with no reference
/// count to touch (ingest clones labels on the writer's thread and drops them on detection's,
/// and the shared counters cost a tenth of detection's time). Interned labels live for the
/// process; there is one per feed, station and talker heard, so they are few.
pub type Label = ustr::Ustr;

/// The labels of the feeds that delivered a fix, inline up to two (nearly every fix has one or
/// two): a fix crosses from ingest's writer thread to detection's, and a heap list per fix cost
/// an allocation on one thread and a free on the other.
pub type Sources = smallvec::SmallVec<[Label; 2]>;

/// One position report of a vessel, as released by the fuser (message-time order across
/// vessels, small disorder allowed) and labelled by the segmenter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// MMSI as transmitted.
    pub mmsi: u32,
    /// Message time, Unix ms UTC.
    pub time_ms: i64,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
    /// Speed over ground, knots (`None`: not available).
    pub sog_knots: Option<f64>,
    /// Course over ground, degrees true.
    pub cog_deg: Option<f64>,
    /// True heading, degrees.
    pub heading_deg: Option<f64>,
    /// AIS navigational status (0 under way, 1 at anchor, 5 moored, ...).
    pub nav_status: Option<u8>,
    /// Segment id from the segmenter (two transmitters on one MMSI get different segments).
    pub segment: u64,
    /// Quality flags from cleaning (bit set; 0 = clean). Carried into evidence, not
    /// interpreted here.
    pub quality: u32,
    /// The feeds and partners that delivered it (`NAME/station/talker`), shared with every
    /// other fix from them.
    pub sources: Sources,
}

/// A vessel's static data as broadcast at a time. `None` fields were not in this update and
/// keep their earlier value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityUpdate {
    /// MMSI.
    pub mmsi: u32,
    /// Message time, Unix ms UTC.
    pub time_ms: i64,
    /// Name.
    pub name: Option<String>,
    /// Call sign.
    pub callsign: Option<String>,
    /// IMO number.
    pub imo: Option<u32>,
    /// AIS ship type code (ITU-R M.1371 table 53).
    pub ship_type: Option<u8>,
    /// Flag state (ISO 3166 code), from the MMSI's MID.
    pub flag: Option<String>,
    /// Length overall, metres.
    pub length_m: Option<f64>,
    /// Destination as broadcast.
    pub destination: Option<String>,
    /// The feeds and partners that reported it.
    #[serde(default)]
    pub sources: Sources,
}

/// A vessel's identity as last known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Name.
    pub name: Option<String>,
    /// Call sign.
    pub callsign: Option<String>,
    /// IMO number.
    pub imo: Option<u32>,
    /// AIS ship type code.
    pub ship_type: Option<u8>,
    /// Flag state.
    pub flag: Option<String>,
    /// Length overall, metres.
    pub length_m: Option<f64>,
    /// Destination.
    pub destination: Option<String>,
}

impl Identity {
    /// Applies an update (fields it carries replace the old ones).
    pub fn apply(&mut self, u: &IdentityUpdate) {
        fn set<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
            if b.is_some() {
                a.clone_from(b);
            }
        }
        set(&mut self.name, &u.name);
        set(&mut self.callsign, &u.callsign);
        set(&mut self.imo, &u.imo);
        set(&mut self.ship_type, &u.ship_type);
        set(&mut self.flag, &u.flag);
        set(&mut self.length_m, &u.length_m);
        set(&mut self.destination, &u.destination);
    }
}

/// The last position of a vessel, as much as detectors need of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LastFix {
    /// Unix ms.
    pub time_ms: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Speed over ground, knots.
    pub sog_knots: Option<f32>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// Segment id.
    pub segment: u64,
}

impl LastFix {
    /// The part of a fix kept.
    pub fn of(f: &Fix) -> LastFix {
        LastFix {
            time_ms: f.time_ms,
            lat: f.lat,
            lon: f.lon,
            sog_knots: f.sog_knots.map(|v| v as f32),
            cog_deg: f.cog_deg.map(|v| v as f32),
            segment: f.segment,
        }
    }
}
