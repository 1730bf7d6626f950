//! Unpacking a downloaded `.tar.gz` (UT1's `blacklists.tar.gz`) without trusting it.
//!
//! Only directories and regular files are created, each at a path checked to stay inside the
//! destination; nothing takes the archive's permissions, owners or times. Links are skipped
//! (UT1 ships its English alias categories as symbolic links to the French ones), devices and
//! other special files refuse the archive, and so do oversized members and a decompressed
//! stream over the total cap (a gzip bomb).

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use tar::EntryType;

use crate::{Error, Result};

/// Caps on what an archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    /// One member's size.
    pub max_member: u64,
    /// The decompressed archive as a whole (headers included).
    pub max_total: u64,
    /// Entries of any kind.
    pub max_entries: u64,
}

impl Default for UnpackLimits {
    fn default() -> UnpackLimits {
        UnpackLimits {
            max_member: 1 << 30,
            max_total: 4 << 30,
            max_entries: 100_000,
        }
    }
}

/// What an unpack created and skipped.
#[derive(Debug, Clone, Default)]
pub struct Unpacked {
    /// Regular files written.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Links not created, as `path -> target`.
    pub skipped_links: Vec<String>,
}

/// Unpacks the gzip-compressed tar `archive` into `dest`, which must be a new, empty folder.
/// On an error `dest` holds part of the archive: unpack into a scratch folder.
pub fn unpack_tar_gz(archive: &Path, dest: &Path, limits: UnpackLimits) -> Result<Unpacked> {
    let refuse = |entry: &str, problem: String| Error::Unpack {
        archive: archive.to_path_buf(),
        entry: entry.to_string(),
        problem,
    };
    let file = File::open(archive).map_err(|e| Error::io(archive, e))?;
    let gz = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    let tripped = Rc::new(Cell::new(false));
    let mut tar = tar::Archive::new(Capped {
        inner: gz,
        left: limits.max_total,
        tripped: tripped.clone(),
    });
    let read_error = |e: io::Error| {
        if tripped.get() {
            refuse(
                "-",
                format!(
                    "unpacks to more than {} bytes (a gzip bomb?); refused. Raise \
                     --max-unpacked if the archive really is that large",
                    limits.max_total
                ),
            )
        } else {
            refuse(
                "-",
                format!("not a readable .tar.gz ({e}); the download is corrupt or not an archive"),
            )
        }
    };
    let mut done = Unpacked::default();
    let mut entries_seen = 0u64;
    for entry in tar.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        entries_seen += 1;
        if entries_seen > limits.max_entries {
            return Err(refuse(
                "-",
                format!("more than {} entries", limits.max_entries),
            ));
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let relative = inside(&raw).map_err(|problem| refuse(&raw, problem.into()))?;
        let kind = entry.header().entry_type();
        match kind {
            EntryType::Directory => {
                let dir = dest.join(&relative);
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.header().size().map_err(read_error)?;
                if size > limits.max_member {
                    return Err(refuse(
                        &raw,
                        format!(
                            "member of {size} bytes, over the {}-byte cap",
                            limits.max_member
                        ),
                    ));
                }
                let path = dest.join(&relative);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                let mut out = File::create(&path).map_err(|e| Error::io(&path, e))?;
                let copied = io::copy(&mut (&mut entry).take(limits.max_member), &mut out)
                    .map_err(read_error)?;
                done.files += 1;
                done.bytes += copied;
            }
            EntryType::Symlink | EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                done.skipped_links.push(format!("{raw} -> {target}"));
            }
            // Metadata records tar itself consumes; nothing to create.
            EntryType::XGlobalHeader | EntryType::XHeader => {}
            other => {
                return Err(refuse(
                    &raw,
                    format!(
                        "a {} entry; only files and folders are unpacked",
                        kind_name(other)
                    ),
                ));
            }
        }
    }
    Ok(done)
}

/// The entry's path as a relative path inside the destination, or why it is refused.
fn inside(raw: &str) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for part in Path::new(raw).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err("a `..` path would escape the folder; refused"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("an absolute path would escape the folder; refused");
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err("an empty path; refused");
    }
    Ok(out)
}

fn kind_name(kind: EntryType) -> &'static str {
    match kind {
        EntryType::Char => "character device",
        EntryType::Block => "block device",
        EntryType::Fifo => "FIFO",
        EntryType::GNUSparse => "sparse file",
        _ => "special",
    }
}

/// A reader that fails once more than `limit` bytes came through: a gzip bomb stops here,
/// with a message that says so, instead of filling the disk.
struct Capped<R> {
    inner: R,
    left: u64,
    /// Set when the cap was hit, so the error tar passes on can be told apart.
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a stream that ends exactly at the cap from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.tripped.set(true);
                    Err(io::Error::other("over the decompressed size cap"))
                }
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        assert_eq!(inside("./a/b/domains"), Ok(PathBuf::from("a/b/domains")));
        assert!(inside("../etc/passwd").is_err());
        assert!(inside("a/../../b").is_err());
        assert!(inside("/etc/passwd").is_err());
        assert!(inside("./").is_err());
    }
}
