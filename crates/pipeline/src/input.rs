//! Opening inputs: files or stdin, gzip detected by its magic bytes (not the file name).

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};
use xxhash_rust::xxh3::Xxh3;

/// The content hash of an input: XXH3-128 of its bytes as stored (compressed ones compressed)
/// and their count, as `xxh3-128:<hex>:<bytes>`.
#[derive(Clone, Default)]
pub struct RawHash(Arc<Mutex<(Xxh3, u64)>>);

impl std::fmt::Debug for RawHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawHash")
    }
}

impl RawHash {
    fn update(&self, bytes: &[u8]) {
        if let Ok(mut g) = self.0.lock() {
            g.0.update(bytes);
            g.1 += bytes.len() as u64;
        }
    }

    /// The hash of everything read so far.
    pub fn finish(&self) -> String {
        match self.0.lock() {
            Ok(g) => format!("xxh3-128:{:032x}:{}", g.0.digest128(), g.1),
            Err(_) => String::new(),
        }
    }
}

/// A reader that feeds what it reads into a [`RawHash`].
struct Hashing<R> {
    inner: R,
    hash: RawHash,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// The content hash of a file (see [`RawHash`]).
pub fn hash_file(path: &str) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("cannot open {path}"))?;
    let h = RawHash::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
        };
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// An opened input.
pub struct Input {
    /// Readable bytes (decompressed).
    pub reader: Box<dyn Read + Send>,
    /// Size on disk, when known (for progress).
    pub size: Option<u64>,
    /// The plain file itself, when the input is an uncompressed regular file.
    pub plain_file: Option<File>,
    /// Display name.
    pub name: String,
    /// For stdin: the hash of the raw bytes read so far (files are hashed by [`hash_file`]).
    pub raw_hash: Option<RawHash>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Opens `path` (`-` is stdin).
pub fn open(path: &str, progress: &indicatif::ProgressBar) -> Result<Input> {
    open_with(path, progress, false)
}

/// Opens `path` as [`open`] does, a file's raw bytes hashed as they are read
/// ([`Input::raw_hash`]): one read of the file, where [`hash_file`] before reading is two.
pub fn open_hashing(path: &str, progress: &indicatif::ProgressBar) -> Result<Input> {
    open_with(path, progress, true)
}

fn open_with(path: &str, progress: &indicatif::ProgressBar, hash: bool) -> Result<Input> {
    if path == "-" {
        let hash = RawHash::default();
        let hashing = Hashing {
            inner: io::stdin(),
            hash: hash.clone(),
        };
        let mut r = BufReader::with_capacity(1 << 20, progress.wrap_read(hashing));
        let gz = is_gzip(&mut r)?;
        let reader: Box<dyn Read + Send> = if gz {
            Box::new(MultiGzDecoder::new(r))
        } else {
            Box::new(r)
        };
        return Ok(Input {
            reader,
            size: None,
            plain_file: None,
            name: "stdin".to_owned(),
            raw_hash: Some(hash),
        });
    }
    let p = Path::new(path);
    let file = File::open(p).with_context(|| format!("cannot open {path}"))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot stat {path}"))?;
    if meta.is_dir() {
        anyhow::bail!("{path} is a directory");
    }
    // The raw bytes (compressed ones compressed), hashed when asked: a new hash for every
    // read from the start.
    let raw = |file: File| -> (Box<dyn Read + Send>, Option<RawHash>) {
        if !hash {
            return (Box::new(progress.wrap_read(file)), None);
        }
        let h = RawHash::default();
        let hashing = Hashing {
            inner: file,
            hash: h.clone(),
        };
        (Box::new(progress.wrap_read(hashing)), Some(h))
    };
    let (gz_raw, gz_hash) = raw(file);
    let mut r = BufReader::with_capacity(1 << 16, gz_raw);
    let gz = is_gzip(&mut r).with_context(|| format!("cannot read {path}"))?;
    if gz {
        Ok(Input {
            reader: Box::new(MultiGzDecoder::new(r)),
            size: Some(meta.len()),
            plain_file: None,
            name: path.to_owned(),
            raw_hash: gz_hash,
        })
    } else {
        // Read from the start again, unbuffered (the decoder reads large blocks itself).
        drop(r);
        let file = File::open(p).with_context(|| format!("cannot open {path}"))?;
        let (reader, raw_hash) = raw(file.try_clone()?);
        Ok(Input {
            reader,
            size: Some(meta.len()),
            plain_file: Some(file),
            name: path.to_owned(),
            raw_hash,
        })
    }
}

fn is_gzip(r: &mut impl BufRead) -> io::Result<bool> {
    let buf = r.fill_buf()?;
    Ok(buf.len() >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
}

/// A progress bar on stderr when it is a terminal (hidden otherwise).
pub fn progress_bar() -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file hashed as it is read has the hash [`hash_file`] gives before reading, plain or
    /// gzip (whose raw bytes are hashed, the gzip check's included): both paths key the same
    /// registry entry.
    #[test]
    fn hashing_while_reading_equals_hashing_first() {
        // Removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-input-hash-")
            .tempdir()
            .unwrap();
        let dir = scratch.path();
        let text: String = (0..50_000)
            .map(|i| {
                format!(
                    "!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*{:02X}\n",
                    i % 256
                )
            })
            .collect();
        let plain = dir.join("a.nmea");
        std::fs::write(&plain, &text).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        let gzip = dir.join("a.nmea.gz");
        std::fs::write(&gzip, gz.finish().unwrap()).unwrap();
        let hidden = indicatif::ProgressBar::hidden();
        for path in [&plain, &gzip] {
            let path = path.to_str().unwrap();
            let mut inp = open_hashing(path, &hidden).unwrap();
            let mut read = Vec::new();
            inp.reader.read_to_end(&mut read).unwrap();
            assert_eq!(read, text.as_bytes(), "{path}");
            let first = hash_file(path).unwrap();
            assert_eq!(inp.raw_hash.unwrap().finish(), first, "{path}");
            assert!(first.ends_with(&format!(":{}", std::fs::metadata(path).unwrap().len())));
            assert!(open(path, &hidden).unwrap().raw_hash.is_none());
        }
    }
}
