//! `tidewatch zones`: list a zone file (or the demo set), find the zones at a point, and
//! import a validated zone file into a store as `zones.geojson`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use detect::world::{World, ZoneKind};
use detect::zones::{load_file, PropertyMap, Zone, ZoneSet};

/// The file a store keeps its zones in.
pub use pipeline::detecting::STORE_ZONES_FILE;

#[derive(Debug, Args)]
pub struct ZonesArgs {
    #[command(subcommand)]
    command: ZonesCommand,
}

#[derive(Debug, Subcommand)]
enum ZonesCommand {
    /// List zones (JSON lines: index, name, kind, owner, vertices, note): of FILE, of a
    /// store (--store), or the built-in demo set of approximate areas.
    List(ListArgs),
    /// The zones containing a point (and, with --land, land and distance to shore).
    At(AtArgs),
    /// Validate FILE and copy its zones into a store as zones.geojson (replacing any).
    Import(ImportArgs),
    /// Fetch and build the land grid (land mask and distance to shore) into the user cache
    /// ($TIDEWATCH_CACHE_DIR, $XDG_CACHE_HOME/tidewatch or ~/.cache/tidewatch) if it is not
    /// there yet: npm package world-atlas@2 (Natural Earth 1:10m land). Detection reads it
    /// from there; without it spoof_land is off and distances to shore are unknown.
    Land,
}

/// Where zones come from and how to read their properties.
#[derive(Debug, Args)]
struct Source {
    /// Zone file: .geojson/.json, .wkt/.tsv/.txt (name<TAB>kind<TAB>owner<TAB>WKT lines), or
    /// .shp (with its .dbf). Without FILE (and without --store): the demo set.
    file: Option<PathBuf>,
    /// Read the zones of this store (its zones.geojson) instead of FILE.
    #[arg(long, conflicts_with = "file")]
    store: Option<PathBuf>,
    #[command(flatten)]
    mapping: MappingArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mapping {
    /// name / kind / owner / note, falling back to Marine Regions' names.
    Tidewatch,
    /// Marine Regions' GEONAME / POL_TYPE / ISO_SOV1, ISO_TER1, TERRITORY1 (kind defaults to
    /// --default-kind, else eez).
    MarineRegions,
}

/// How feature properties (GeoJSON properties, shapefile .dbf fields) map onto zones.
#[derive(Debug, Args)]
struct MappingArgs {
    /// Property naming convention.
    #[arg(long, value_enum, default_value = "tidewatch")]
    mapping: Mapping,
    /// Property holding the zone name (repeat: the first present wins); replaces the mapping's.
    #[arg(long = "name-field")]
    name_field: Vec<String>,
    /// Property holding the zone kind; replaces the mapping's.
    #[arg(long = "kind-field")]
    kind_field: Vec<String>,
    /// Property holding the owner state; replaces the mapping's.
    #[arg(long = "owner-field")]
    owner_field: Vec<String>,
    /// Kind of features without a kind property (eez, territorial_sea, area_of_interest, port,
    /// anchorage, energy_installation, other).
    #[arg(long = "default-kind")]
    default_kind: Option<String>,
}

impl MappingArgs {
    fn property_map(&self) -> Result<PropertyMap> {
        let default_kind: Option<ZoneKind> = match &self.default_kind {
            Some(k) => Some(
                k.parse()
                    .map_err(anyhow::Error::msg)
                    .context("--default-kind")?,
            ),
            None => None,
        };
        let mut map = match self.mapping {
            Mapping::Tidewatch => PropertyMap::default(),
            Mapping::MarineRegions => {
                PropertyMap::marine_regions(default_kind.unwrap_or(ZoneKind::Eez))
            }
        };
        if default_kind.is_some() {
            map.default_kind = default_kind;
        }
        for (flag, target) in [
            (&self.name_field, &mut map.name),
            (&self.kind_field, &mut map.kind),
            (&self.owner_field, &mut map.owner),
        ] {
            if !flag.is_empty() {
                target.clone_from(flag);
            }
        }
        Ok(map)
    }
}

impl Source {
    fn zones(&self) -> Result<Vec<Zone>> {
        if let Some(store) = &self.store {
            let path = store.join(STORE_ZONES_FILE);
            if !path.is_file() {
                bail!("store {} has no zones (import some with `tidewatch zones import FILE --store DIR`)", store.display());
            }
            return Ok(load_file(&path, &PropertyMap::default())?);
        }
        match &self.file {
            Some(f) => Ok(load_file(f, &self.mapping.property_map()?)?),
            None => Ok(detect::zones::demo_zones()),
        }
    }

    fn zone_set(&self) -> Result<ZoneSet> {
        Ok(ZoneSet::new(self.zones()?)?)
    }
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    source: Source,
}

#[derive(Debug, Args)]
struct AtArgs {
    /// Latitude, WGS84 degrees.
    #[arg(allow_negative_numbers = true)]
    lat: f64,
    /// Longitude, WGS84 degrees.
    #[arg(allow_negative_numbers = true)]
    lon: f64,
    #[command(flatten)]
    source: Source,
    /// Also report land and distance to shore, building the land grid on first use (npm
    /// package world-atlas@2, cached under $TIDEWATCH_CACHE_DIR or ~/.cache/tidewatch).
    #[arg(long)]
    land: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// Zone file (.geojson/.json, .wkt/.tsv/.txt, .shp).
    file: PathBuf,
    /// The store to copy the zones into (created if missing).
    #[arg(long)]
    store: PathBuf,
    #[command(flatten)]
    mapping: MappingArgs,
}

pub fn run(args: ZonesArgs) -> Result<()> {
    match args.command {
        ZonesCommand::List(a) => list(&a),
        ZonesCommand::At(a) => at(&a),
        ZonesCommand::Import(a) => import(&a),
        ZonesCommand::Land => {
            let (path, source) = pipeline::detecting::ensure_land()?;
            writeln!(
                std::io::stdout().lock(),
                "land grid {} (from {source})",
                path.display()
            )?;
            Ok(())
        }
    }
}

fn list(a: &ListArgs) -> Result<()> {
    let set = a.source.zone_set()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, z) in set.zones().iter().enumerate() {
        let line = serde_json::json!({
            "index": i,
            "name": z.info.name,
            "kind": z.info.kind,
            "owner": z.info.owner,
            "vertices": z.vertex_count(),
            "note": z.note,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

fn at(a: &AtArgs) -> Result<()> {
    if !(a.lat.abs() <= 90.0 && a.lon.abs() <= 180.0) {
        bail!("({}, {}) is not a WGS84 position in degrees", a.lat, a.lon);
    }
    let set = a.source.zone_set()?;
    let mut idx = Vec::new();
    set.zones_at(a.lat, a.lon, &mut idx);
    let zones: Vec<_> = idx
        .iter()
        .map(|&i| {
            let z = World::zone(&set, i);
            serde_json::json!({"index": i, "name": z.name, "kind": z.kind, "owner": z.owner})
        })
        .collect();
    let mut v = serde_json::json!({"lat": a.lat, "lon": a.lon, "zones": zones});
    if a.land {
        let dir = detect::land::default_cache_dir().ok_or(detect::land::LandError::NoCacheDir)?;
        let grid = detect::land::ensure_land_grid(&dir, detect::land::DEFAULT_CELLS_PER_DEGREE)
            .with_context(|| format!("cannot get the land grid (cache {})", dir.display()))?;
        v["is_land"] = serde_json::json!(grid.is_land(a.lat, a.lon));
        v["distance_to_shore_m"] = serde_json::json!(grid.distance_to_shore_m(a.lat, a.lon));
    }
    writeln!(std::io::stdout().lock(), "{v}")?;
    Ok(())
}

fn import(a: &ImportArgs) -> Result<()> {
    let zones = load_file(&a.file, &a.mapping.property_map()?)?;
    if zones.is_empty() {
        // Importing replaces the store's zones: an empty file would remove them all.
        bail!(
            "{} holds no zones: nothing imported (the store's zones are unchanged)",
            a.file.display()
        );
    }
    let set = ZoneSet::new(zones).with_context(|| format!("{}", a.file.display()))?;
    // Hold the store's writer lock while replacing its zone file.
    let _store = store::Store::create_or_open(&a.store)
        .with_context(|| format!("cannot open store {}", a.store.display()))?;
    let path = a.store.join(STORE_ZONES_FILE);
    write_atomically(&path, set.to_geojson().as_bytes())?;
    eprintln!(
        "imported {} zones from {} into {}",
        set.zones().len(),
        a.file.display(),
        path.display()
    );
    // Stored events name the zones they were found in; say how to find them in these.
    let reg = a.store.join("registry.sqlite");
    let stored: u64 = if reg.exists() {
        store::RegistryDb::open_read_only(&reg)
            .and_then(|r| r.event_counts())
            .map(|c| c.values().sum())
            .unwrap_or(0)
    } else {
        0
    };
    if stored > 0 {
        eprintln!(
            "note: the store's {stored} events keep the zones they were found in; \
             `tidewatch detect --store {} --write` finds them again with these zones \
             (zone visits and `--zone` then follow them)",
            a.store.display()
        );
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("geojson.tmp");
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}
