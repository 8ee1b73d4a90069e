//! A Parquet [`ChunkReader`] over a file by positioned reads: one `pread` a chunk, and the
//! file's length read once. (Parquet's own reader for `File` duplicates the descriptor, seeks
//! and asks for the length on every chunk: four system calls where one does, which made them
//! most of a track query's time across a year of day files.)

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// A file read by offset.
#[derive(Debug, Clone)]
pub(crate) struct PreadFile {
    file: Arc<File>,
    len: u64,
}

impl PreadFile {
    pub(crate) fn new(file: File) -> std::io::Result<PreadFile> {
        let len = file.metadata()?.len();
        Ok(PreadFile {
            file: Arc::new(file),
            len,
        })
    }
}

impl Length for PreadFile {
    fn len(&self) -> u64 {
        self.len
    }
}

/// Sequential reads from an offset, each a positioned read.
#[derive(Debug)]
pub(crate) struct At {
    file: Arc<File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl ChunkReader for PreadFile {
    type T = BufReader<At>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(BufReader::new(At {
            file: self.file.clone(),
            pos: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0u8; length];
        self.file.read_exact_at(&mut buf, start).map_err(|e| {
            ParquetError::EOF(format!("cannot read {length} bytes at offset {start}: {e}"))
        })?;
        Ok(buf.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_ranges_and_streams() {
        // In a scratch directory removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-pread-")
            .tempdir()
            .unwrap();
        let path = scratch.path().join("file");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"0123456789")
            .unwrap();
        let f = PreadFile::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(f.len(), 10);
        assert_eq!(&f.get_bytes(3, 4).unwrap()[..], b"3456");
        let mut rest = String::new();
        f.get_read(7).unwrap().read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "789");
        // Reading past the end is an error, not a short chunk.
        assert!(f.get_bytes(8, 4).is_err());
    }
}
