//! Inputs of Tidewatch other than raw NMEA.
//!
//! [`net`] reads live feeds: a TCP client that reconnects with backoff, a UDP listener.
//! [`csv_archive`] reads the decoded CSV archives researchers hold: the Danish Maritime
//! Authority's (`# Timestamp,Type of mobile,MMSI,Latitude,...`) and the US MarineCadastre's
//! (`MMSI,BaseDateTime,LAT,LON,...`). The layout is recognised from the header; every row
//! becomes a [`csv_archive::CsvRecord`] or a counted reject with a reason.
//!
//! ```
//! use sources::csv_archive::{read, Layout};
//!
//! let data = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,\
//! Status,Length,Width,Draft,Cargo,TransceiverClass\n\
//! 636021061,2023-01-11T00:00:00,26.09241,-80.04806,8.8,272.7,270.0,MSC NAISHA III,IMO9307839,\
//! 5LCB4,70,8.0,208.0,30.0,8.0,70.0,A\n";
//! let mut rows = Vec::new();
//! let stats = read(data.as_bytes(), |r| rows.push(r)).unwrap();
//! assert_eq!(stats.layout, Layout::MarineCadastre);
//! assert_eq!(rows[0].imo, Some(9_307_839));
//! assert_eq!(rows[0].heading_deg, Some(270));
//! ```

pub mod csv_archive;
pub mod net;
