//! Opening inputs: files or stdin, gzip detected by its magic bytes (not the file name).

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

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
}

/// Opens `path` (`-` is stdin).
pub fn open(path: &str, progress: &indicatif::ProgressBar) -> Result<Input> {
    if path == "-" {
        let mut r = BufReader::with_capacity(1 << 20, progress.wrap_read(io::stdin()));
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
    let mut r = BufReader::with_capacity(1 << 16, progress.wrap_read(file));
    let gz = is_gzip(&mut r).with_context(|| format!("cannot read {path}"))?;
    if gz {
        Ok(Input {
            reader: Box::new(MultiGzDecoder::new(r)),
            size: Some(meta.len()),
            plain_file: None,
            name: path.to_owned(),
        })
    } else {
        let file = File::open(p).with_context(|| format!("cannot open {path}"))?;
        Ok(Input {
            reader: Box::new(progress.wrap_read(file.try_clone()?)),
            size: Some(meta.len()),
            plain_file: Some(file),
            name: path.to_owned(),
        })
    }
}

fn is_gzip(r: &mut impl BufRead) -> io::Result<bool> {
    let buf = r.fill_buf()?;
    Ok(buf.len() >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
}
