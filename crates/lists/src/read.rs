//! Reading list files: transparent gzip/zstd, bounded lines, a digest of the raw bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Largest decompressed list file (a decompression bomb is refused, not followed).
pub const MAX_FILE: u64 = 1 << 30;

/// Longest line kept; a longer one is skipped with a warning (no unbounded memory on hostile input).
pub const MAX_LINE: usize = 4096;

/// A reader that hashes the raw (possibly compressed) bytes and counts them for progress.
pub(crate) struct Tapped<R> {
    inner: R,
    pub(crate) hasher: Sha256,
    pub(crate) bytes: u64,
}

impl<R: Read> Read for Tapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Opens a list file, decompressing gzip or zstd when the content starts with their magic
/// (the name does not matter). The digest covers the file's raw bytes.
pub(crate) fn open(
    path: &Path,
    hasher: &mut Sha256,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut tapped = BufReader::with_capacity(
        1 << 16,
        Tapped {
            inner: file,
            hasher: Sha256::new(),
            bytes: 0,
        },
    );
    let magic = tapped.fill_buf().map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    let result = if magic.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(&mut tapped)
            .take(MAX_FILE)
            .read_to_end(&mut out)
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::stream::read::Decoder::with_buffer(&mut tapped)
            .and_then(|d| d.take(MAX_FILE).read_to_end(&mut out))
    } else {
        (&mut tapped).take(MAX_FILE).read_to_end(&mut out)
    };
    if out.len() as u64 >= MAX_FILE {
        return Err(Error::io(
            path,
            io::Error::other("larger than 1 GiB once decompressed; split the list"),
        ));
    }
    result.map_err(|e| {
        Error::io(
            path,
            io::Error::new(e.kind(), format!("reading or decompressing failed: {e}")),
        )
    })?;
    let tapped = tapped.into_inner();
    hasher.update(tapped.hasher.finalize());
    on_bytes(tapped.bytes);
    Ok(out)
}

/// Splits a buffer into lines (LF or CRLF), each at most [`MAX_LINE`] bytes.
/// Yields `(line_number, Ok(text))`, or `Err(reason)` for an over-long or non-UTF-8 line.
pub(crate) fn lines(buf: &[u8]) -> impl Iterator<Item = (usize, Result<&str, &'static str>)> {
    buf.split(|&b| b == b'\n')
        .enumerate()
        .filter_map(move |(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                return None;
            }
            let text = if line.len() > MAX_LINE {
                Err("line longer than 4096 bytes")
            } else {
                std::str::from_utf8(line).map_err(|_| "not valid UTF-8")
            };
            Some((i + 1, text))
        })
}
