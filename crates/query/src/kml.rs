//! KML 2.2 for Google Earth, QGIS (GDAL's LIBKML driver) and the many viewers that read it:
//! the vessel picture as placemarks, a track as time-stamped `gx:Track`s (one per segment, so a
//! viewer's time slider animates it) with every position as a point, and events as placemarks
//! with their time span. The fields are those of the other formats (`docs/fields.md`), as
//! `ExtendedData`.
//!
//! Written a placemark at a time through `quick-xml` (escaping included): memory does not grow
//! with the answer. Nothing given is dropped silently: vessels without a position and positions
//! outside a segment are listed (the first in the document's description, the second in their
//! own folder).

use std::io::{self, Write};

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use serde_json::{Map, Value};
use store::PositionRow;

use crate::format::{position_json, vessel_json};
use crate::{iso8601_ms, Vessel};

/// The KML namespace.
pub const KML_NS: &str = "http://www.opengis.net/kml/2.2";
/// Google's extension namespace (`gx:Track`).
pub const GX_NS: &str = "http://www.google.com/kml/ext/2.2";

/// An icon that a viewer rotates to the vessel's course (Google Earth's own; a viewer that
/// cannot fetch it draws its default pin).
const ARROW_ICON: &str = "https://maps.google.com/mapfiles/kml/shapes/arrow.png";

/// A placemark at a point.
#[derive(Debug, Clone, Default)]
pub struct Placemark {
    /// Label shown on the map.
    pub name: String,
    /// A style defined in the document (`#id`), if any.
    pub style: Option<&'static str>,
    /// The time it holds at (`TimeStamp`), ms.
    pub when_ms: Option<i64>,
    /// The time it spans (`TimeSpan`: begin, end; an open end is left out), ms.
    pub span_ms: Option<(i64, Option<i64>)>,
    /// Icon heading, degrees true.
    pub heading_deg: Option<f32>,
    /// Latitude, longitude (degrees).
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Fields as `ExtendedData` (null fields are left out; arrays and objects as JSON text).
    pub data: Map<String, Value>,
}

/// A KML document written as it goes.
pub struct KmlWriter<W: Write> {
    xml: Writer<W>,
    folder_open: bool,
}

impl<W: Write> std::fmt::Debug for KmlWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmlWriter")
            .field("folder_open", &self.folder_open)
            .finish_non_exhaustive()
    }
}

fn text(w: &mut Writer<impl Write>, tag: &str, s: &str) -> io::Result<()> {
    w.create_element(tag)
        .write_text_content(BytesText::new(s))?;
    Ok(())
}

/// A JSON value as KML data text (`None` for null).
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.iter().all(|x| x.is_string()) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(";"),
        ),
        other => Some(other.to_string()),
    }
}

/// `lon,lat` as KML writes coordinates.
fn coords(lon: f64, lat: f64) -> String {
    format!("{lon},{lat}")
}

impl<W: Write> KmlWriter<W> {
    /// Starts a document: the XML declaration, `<kml>`, `<Document>` with its name and
    /// description, and the styles every Tidewatch document shares.
    pub fn new(out: W, name: &str, description: &str) -> io::Result<Self> {
        let mut xml = Writer::new(out);
        xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        xml.get_mut().write_all(b"\n")?;
        xml.write_event(Event::Start(
            quick_xml::events::BytesStart::new("kml")
                .with_attributes([("xmlns", KML_NS), ("xmlns:gx", GX_NS)]),
        ))?;
        xml.write_event(Event::Start(quick_xml::events::BytesStart::new("Document")))?;
        text(&mut xml, "name", name)?;
        if !description.is_empty() {
            text(&mut xml, "description", description)?;
        }
        // Styles: vessels (an arrow turned to the course), positions (small dots), tracks
        // (a line), events (a pin, red for the grave kinds).
        for (id, icon, scale, color) in [
            ("vessel", ARROW_ICON, "0.8", "ff00ffff"),
            (
                "position",
                "https://maps.google.com/mapfiles/kml/shapes/placemark_circle.png",
                "0.5",
                "ff00ffff",
            ),
            (
                "event",
                "https://maps.google.com/mapfiles/kml/pushpin/ylw-pushpin.png",
                "1.0",
                "ff00ccff",
            ),
            (
                "alert",
                "https://maps.google.com/mapfiles/kml/pushpin/red-pushpin.png",
                "1.0",
                "ff0000ff",
            ),
        ] {
            xml.create_element("Style")
                .with_attribute(("id", id))
                .write_inner_content(|w| {
                    w.create_element("IconStyle").write_inner_content(|w| {
                        text(w, "color", color)?;
                        text(w, "scale", scale)?;
                        w.create_element("Icon")
                            .write_inner_content(|w| text(w, "href", icon))?;
                        Ok(())
                    })?;
                    Ok(())
                })?;
        }
        xml.create_element("Style")
            .with_attribute(("id", "track"))
            .write_inner_content(|w| {
                w.create_element("LineStyle").write_inner_content(|w| {
                    text(w, "color", "ff00ffff")?;
                    text(w, "width", "2")
                })?;
                w.create_element("IconStyle").write_inner_content(|w| {
                    w.create_element("Icon")
                        .write_inner_content(|w| text(w, "href", ARROW_ICON))?;
                    Ok(())
                })?;
                Ok(())
            })?;
        Ok(KmlWriter {
            xml,
            folder_open: false,
        })
    }

    /// Opens a folder (closing the one open); what follows goes in it.
    pub fn folder(&mut self, name: &str, description: &str) -> io::Result<()> {
        self.close_folder()?;
        self.xml
            .write_event(Event::Start(quick_xml::events::BytesStart::new("Folder")))?;
        text(&mut self.xml, "name", name)?;
        if !description.is_empty() {
            text(&mut self.xml, "description", description)?;
        }
        self.folder_open = true;
        Ok(())
    }

    fn close_folder(&mut self) -> io::Result<()> {
        if self.folder_open {
            self.xml
                .write_event(Event::End(quick_xml::events::BytesEnd::new("Folder")))?;
            self.folder_open = false;
        }
        Ok(())
    }

    fn extended_data(w: &mut Writer<W>, data: &Map<String, Value>) -> io::Result<()> {
        w.create_element("ExtendedData").write_inner_content(|w| {
            for (k, v) in data {
                let Some(t) = value_text(v) else { continue };
                w.create_element("Data")
                    .with_attribute(("name", k.as_str()))
                    .write_inner_content(|w| text(w, "value", &t))?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// One placemark at a point.
    pub fn placemark(&mut self, p: &Placemark) -> io::Result<()> {
        self.xml
            .create_element("Placemark")
            .write_inner_content(|w| {
                text(w, "name", &p.name)?;
                if let Some(t) = p.when_ms {
                    w.create_element("TimeStamp")
                        .write_inner_content(|w| text(w, "when", &iso8601_ms(t)))?;
                }
                if let Some((begin, end)) = p.span_ms {
                    w.create_element("TimeSpan").write_inner_content(|w| {
                        text(w, "begin", &iso8601_ms(begin))?;
                        if let Some(e) = end {
                            text(w, "end", &iso8601_ms(e))?;
                        }
                        Ok(())
                    })?;
                }
                if let Some(s) = p.style {
                    text(w, "styleUrl", &format!("#{s}"))?;
                }
                if let Some(h) = p.heading_deg {
                    w.create_element("Style").write_inner_content(|w| {
                        w.create_element("IconStyle")
                            .write_inner_content(|w| text(w, "heading", &h.to_string()))?;
                        Ok(())
                    })?;
                }
                Self::extended_data(w, &p.data)?;
                w.create_element("Point")
                    .write_inner_content(|w| text(w, "coordinates", &coords(p.lon, p.lat)))?;
                Ok(())
            })?;
        self.xml.get_mut().write_all(b"\n")
    }

    /// One track as a `gx:Track` placemark: positions in time order (`when` and `gx:coord`
    /// pairs, and the courses as `gx:angles` when every position has one).
    pub fn track(
        &mut self,
        name: &str,
        data: &Map<String, Value>,
        rows: &[&PositionRow],
    ) -> io::Result<()> {
        self.xml
            .create_element("Placemark")
            .write_inner_content(|w| {
                text(w, "name", name)?;
                text(w, "styleUrl", "#track")?;
                Self::extended_data(w, data)?;
                w.create_element("gx:Track").write_inner_content(|w| {
                    for r in rows {
                        text(w, "when", &iso8601_ms(r.time_ms))?;
                    }
                    for r in rows {
                        text(w, "gx:coord", &format!("{} {} 0", r.lon, r.lat))?;
                    }
                    if rows.iter().all(|r| r.cog_deg.is_some()) {
                        for r in rows {
                            let cog = r.cog_deg.unwrap_or_default();
                            text(w, "gx:angles", &format!("{cog} 0 0"))?;
                        }
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
        self.xml.get_mut().write_all(b"\n")
    }

    /// Ends the document and returns the writer (flushed).
    pub fn finish(mut self) -> io::Result<W> {
        self.close_folder()?;
        self.xml
            .write_event(Event::End(quick_xml::events::BytesEnd::new("Document")))?;
        self.xml
            .write_event(Event::End(quick_xml::events::BytesEnd::new("kml")))?;
        let mut out = self.xml.into_inner();
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(out)
    }
}

/// A vessel's label: its name and MMSI, or the MMSI alone.
pub fn vessel_label(mmsi: u32, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("{n} ({mmsi})"),
        None => mmsi.to_string(),
    }
}

/// The vessel picture as KML: one placemark per vessel at its latest position (course as the
/// icon's heading, the position's time as its time stamp, every field as data). Vessels
/// without a position are counted in the document's description.
pub fn write_vessels<W: Write>(out: W, vessels: &[Vessel]) -> io::Result<W> {
    let unplaced = vessels
        .iter()
        .filter(|v| v.row.lat.is_none() || v.row.lon.is_none())
        .count();
    let placed = vessels.len() - unplaced;
    let description = if unplaced > 0 {
        format!(
            "{placed} vessels at their latest position; {unplaced} more have no position and are not shown."
        )
    } else {
        format!("{placed} vessels at their latest position.")
    };
    let mut w = KmlWriter::new(out, "Tidewatch vessels", &description)?;
    for v in vessels {
        let (Some(lat), Some(lon)) = (v.row.lat, v.row.lon) else {
            continue;
        };
        w.placemark(&Placemark {
            name: vessel_label(v.row.mmsi, v.row.name.as_deref()),
            style: Some("vessel"),
            when_ms: v.row.position_time_ms,
            span_ms: None,
            heading_deg: v.row.cog_deg,
            lat,
            lon,
            data: vessel_json(v),
        })?;
    }
    w.finish()
}

/// A vessel's track as KML: one `gx:Track` per segment (two positions or more), then every
/// position as a point in a folder; positions outside any segment (flagged bad or suspect) in
/// a folder of their own. `rows` in time order, as `Reader::track` returns them.
pub fn write_track<W: Write>(out: W, title: &str, rows: &[PositionRow]) -> io::Result<W> {
    let segmented: Vec<&PositionRow> = rows.iter().filter(|r| r.segment.is_some()).collect();
    let mut order = segmented.clone();
    // Stable: each segment's positions stay in time order.
    order.sort_by_key(|r| r.segment);
    let outside = rows.len() - segmented.len();
    let unplaced = rows
        .iter()
        .filter(|r| r.segment.is_none() && !on_globe(r))
        .count();
    let mut description = format!(
        "{} positions, {outside} of them outside any segment.",
        rows.len()
    );
    if unplaced > 0 {
        description.push_str(&format!(
            " Not shown: {unplaced} with no position on the globe."
        ));
    }
    let mut w = KmlWriter::new(out, title, &description)?;
    w.folder("Segments", "One line per segment, animated by time.")?;
    for group in order.chunk_by(|a, b| a.segment == b.segment) {
        if group.len() < 2 {
            continue;
        }
        let seg = group[0].segment.unwrap_or_default();
        let mut data = Map::new();
        data.insert("segment".into(), seg.into());
        data.insert("mmsi".into(), group[0].mmsi.into());
        data.insert("positions".into(), group.len().into());
        data.insert("start".into(), iso8601_ms(group[0].time_ms).into());
        data.insert(
            "end".into(),
            iso8601_ms(group[group.len() - 1].time_ms).into(),
        );
        w.track(&format!("segment {seg}"), &data, group)?;
    }
    w.folder("Positions", "Every position in a segment.")?;
    for r in &segmented {
        w.placemark(&position_placemark(r))?;
    }
    if outside > 0 {
        w.folder(
            "Positions outside any segment",
            "Flagged bad or suspect (see the flags field).",
        )?;
        for r in rows.iter().filter(|r| r.segment.is_none()) {
            if on_globe(r) {
                w.placemark(&position_placemark(r))?;
            }
        }
    }
    w.finish()
}

fn on_globe(r: &PositionRow) -> bool {
    (-90.0..=90.0).contains(&r.lat) && (-180.0..=180.0).contains(&r.lon)
}

fn position_placemark(r: &PositionRow) -> Placemark {
    Placemark {
        name: String::new(),
        style: Some("position"),
        when_ms: Some(r.time_ms),
        span_ms: None,
        heading_deg: None,
        lat: r.lat,
        lon: r.lon,
        data: position_json(r),
    }
}

/// An element of an XML document as read back: name, attributes, text (entities resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The element's name, with its prefix (`gx:Track`).
    pub name: String,
    /// Attributes in document order.
    pub attrs: Vec<(String, String)>,
    /// The text directly inside it.
    pub text: String,
}

impl Element {
    /// An attribute's value (empty when absent).
    pub fn attr(&self, k: &str) -> &str {
        self.attrs
            .iter()
            .find(|(a, _)| a == k)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Every element of an XML document (a KML file, a CoT event) in document order: what the
/// tests check the writers' documents with, and what a script can check an export with. An
/// error for malformed XML or an element left open.
pub fn read_elements(xml: &[u8]) -> Result<Vec<Element>, String> {
    let mut r = quick_xml::Reader::from_reader(xml);
    let (mut out, mut open, mut buf) = (Vec::<Element>::new(), Vec::<usize>::new(), Vec::new());
    loop {
        let ev = r.read_event_into(&mut buf).map_err(|e| e.to_string())?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::default())
                        .map_err(|e| e.to_string())?;
                    attrs.push((a.key.as_ref().to_owned(), v.into_owned()));
                }
                out.push(Element {
                    name: e.name().as_ref().to_owned(),
                    attrs,
                    text: String::new(),
                });
                if matches!(ev, Event::Start(_)) {
                    open.push(out.len() - 1);
                }
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&t);
                }
            }
            Event::GeneralRef(g) => {
                let c = match &*g {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => return Err(format!("unknown entity &{other};")),
                };
                if let Some(&i) = open.last() {
                    out[i].text.push_str(c);
                }
            }
            Event::End(_) => {
                open.pop().ok_or("an end without a start")?;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if open.is_empty() {
        Ok(out)
    } else {
        Err(format!("{} element(s) left open", open.len()))
    }
}

#[cfg(test)]
mod tests;
