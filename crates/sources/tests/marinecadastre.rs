//! The MarineCadastre sample in `../shared/data/ais/aisdb` (read in place).

use sources::csv_archive::{read, Layout};
use std::path::Path;

#[test]
fn marinecadastre_sample() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ais/aisdb/test_data_noaa_20230101.csv");
    let Ok(f) = std::fs::File::open(p) else {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    };
    let mut rows = Vec::new();
    let s = read(f, |r| rows.push(r)).unwrap();
    assert_eq!(s.layout, Layout::MarineCadastre);
    assert_eq!((s.rows, s.records), (1000, 1000), "{s:?}");
    assert!(s.rejected.is_empty());
    // Heading 511 and COG 360 are "not available".
    assert!(rows.iter().any(|r| r.heading_deg.is_none()));
    assert!(rows.iter().all(|r| r.heading_deg.is_none_or(|h| h < 360)));
    assert!(rows.iter().all(|r| r.cog_deg.is_none_or(|c| c < 360.0)));
    assert_eq!(rows.iter().filter(|r| r.class == Some('B')).count(), 46);
    let msc = rows.iter().find(|r| r.mmsi == 636_021_061).unwrap();
    assert_eq!(msc.imo, Some(9_307_839));
    assert_eq!(msc.name.as_deref(), Some("MSC NAISHA III"));
    assert_eq!(msc.time_ms, 1_673_395_200_000);
    assert_eq!(
        (msc.length_m, msc.width_m, msc.draught_m),
        (Some(208.0), Some(30.0), Some(8.0))
    );
}
