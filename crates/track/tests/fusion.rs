//! Fusion on a real capture: the DMA drift case hears most transmissions twice (a ship-borne
//! receiver, `!AIVDM`, and a base station, `!BSVDM`).

use ais::bits::Payload;
use ais::msg::Message;
use ais::stream::{Decoder, Meta};
use ais::Sink;
use std::path::Path;
use track::fuse::{refine_time, Fuser, FuserConfig, Observation, Output, SourceRef};

struct Collect {
    hash: u64,
    obs: Vec<Observation<u8>>,
}

impl Sink for Collect {
    fn payload(&mut self, p: &Payload) {
        let mut armored = Vec::new();
        p.armor_into(&mut armored);
        self.hash = armored.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
    }
    fn message(&mut self, m: &Message<'_>, meta: &Meta) {
        let (Message::Position(p), Some(rx)) = (m, meta.rx_time_ms) else {
            return;
        };
        self.obs.push(Observation {
            mmsi: p.header.mmsi.0,
            payload_hash: self.hash,
            time_ms: refine_time(rx, p.second),
            content: None,
            source: SourceRef {
                source_id: u32::from(meta.talker == *b"BS"),
                station: None,
                received_ms: rx,
            },
            payload: p.header.msg_type,
        });
    }
}

#[test]
fn receivers_of_one_transmission_fuse_into_one_record() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ais/dma-aisabnormal/212123000_drift_1.ais");
    let Ok(data) = std::fs::read(path) else {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    };
    let mut sink = Collect {
        hash: 0,
        obs: Vec::new(),
    };
    let mut d = Decoder::default();
    d.feed(&data, &mut sink);
    d.finish(&mut sink);
    let n = sink.obs.len() as u64;
    let mut f = Fuser::new(FuserConfig::default());
    let mut out = Vec::new();
    for o in sink.obs {
        f.push(o, &mut out);
    }
    f.flush(&mut out);
    let s = f.stats();
    eprintln!("{n} observations -> {s:?}");
    assert_eq!(s.observations, n);
    assert_eq!(s.records + s.duplicates_merged + s.late_duplicates, n);
    assert!(
        s.duplicates_merged * 4 > n,
        "expected many copies to merge: {s:?}"
    );
    // Released in message-time order, and a merged record lists several sources.
    let times: Vec<i64> = out
        .iter()
        .filter_map(|o| {
            if let Output::Record(r) = o {
                Some(r.time_ms)
            } else {
                None
            }
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Record(r) if r.sources.len() >= 2)));
}
