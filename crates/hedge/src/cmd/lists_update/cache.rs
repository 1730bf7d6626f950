//! The download cache of `hedge lists update`: one folder per source holding its current copy,
//! `state.json` with each download's ETag, Last-Modified and digest, and the moves that
//! swap new copies in for a compile and back out when it fails.
//!
//! ```text
//! <cache>/state.json       validators per URL, written only after a successful update
//! <cache>/<source>/        the copy the last good index was compiled from
//! <cache>/.new/<source>/   this run's downloads, complete (unchanged files linked in)
//! <cache>/.old/<source>/   the previous copy while a compile runs, restored if it fails
//! <cache>/.lock            the pid of the update running
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hedge_fetch::Validators;
use serde::{Deserialize, Serialize};

/// What is remembered about one downloaded URL.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileState {
    #[serde(flatten)]
    pub validators: Validators,
    pub sha256: String,
    pub bytes: u64,
}

/// `state.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Digest of the inputs (manifest, taxonomy, local sources) of the last index written.
    #[serde(default)]
    pub inputs: Option<String>,
    /// Download URL → what the server said.
    #[serde(default)]
    pub files: BTreeMap<String, FileState>,
}

/// An open, locked cache folder. Dropping it releases the lock.
pub struct Cache {
    dir: PathBuf,
    lock: PathBuf,
}

impl Cache {
    /// Creates the folder if needed, takes the lock, and clears what a killed run left.
    pub fn open(dir: &Path) -> anyhow::Result<Cache> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the cache folder {}", dir.display()))?;
        let lock = dir.join(".lock");
        take_lock(&lock)?;
        let cache = Cache {
            dir: dir.to_path_buf(),
            lock,
        };
        cache.restore_interrupted()?;
        remove_dir(&cache.dir.join(".new"))?;
        Ok(cache)
    }

    pub fn current(&self, source: &str) -> PathBuf {
        self.dir.join(source)
    }

    /// A new, empty staging folder for `source`.
    pub fn staging(&self, source: &str) -> anyhow::Result<PathBuf> {
        let dir = self.dir.join(".new").join(source);
        remove_dir(&dir)?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    /// Reads `state.json`; a missing one is empty, an unreadable one is reported and
    /// ignored (everything is downloaded again, which is safe).
    pub fn load_state(&self) -> State {
        let path = self.dir.join("state.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                eprintln!(
                    "warning: {} is unreadable ({e}); every source is downloaded again",
                    path.display()
                );
                State::default()
            }),
            Err(_) => State::default(),
        }
    }

    pub fn save_state(&self, state: &State) -> anyhow::Result<()> {
        let path = self.dir.join("state.json");
        let text = serde_json::to_vec_pretty(state)?;
        hedge_lists::write_atomic(&path, &text)?;
        Ok(())
    }

    /// Moves the staged copies of `sources` into place, the current ones aside to `.old`.
    pub fn swap_in(&self, sources: &[&str]) -> anyhow::Result<()> {
        let old = self.dir.join(".old");
        std::fs::create_dir_all(&old)
            .with_context(|| format!("cannot create {}", old.display()))?;
        for source in sources {
            let current = self.current(source);
            if current.exists() {
                rename(&current, &old.join(source))?;
            }
            rename(&self.dir.join(".new").join(source), &current)?;
        }
        Ok(())
    }

    /// Drops the copies set aside by [`Cache::swap_in`]: the new ones are now the good ones.
    pub fn commit(&self) -> anyhow::Result<()> {
        remove_dir(&self.dir.join(".old"))?;
        remove_dir(&self.dir.join(".new"))
    }

    /// Puts back every copy set aside by [`Cache::swap_in`] and drops the staged ones.
    pub fn roll_back(&self) -> anyhow::Result<()> {
        self.restore_interrupted()?;
        remove_dir(&self.dir.join(".new"))
    }

    /// A copy in `.old` is the last good one: it goes back in place.
    fn restore_interrupted(&self) -> anyhow::Result<()> {
        let old = self.dir.join(".old");
        let Ok(entries) = std::fs::read_dir(&old) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let current = self.dir.join(entry.file_name());
            remove_dir(&current)?;
            rename(&entry.path(), &current)?;
        }
        remove_dir(&old)
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Creates the lock file with our pid; a lock whose process is gone is taken over.
fn take_lock(lock: &Path) -> anyhow::Result<()> {
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock)
        {
            Ok(mut f) => {
                use std::io::Write;
                writeln!(f, "{}", std::process::id())
                    .with_context(|| format!("cannot write {}", lock.display()))?;
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let pid = std::fs::read_to_string(lock).unwrap_or_default();
                let pid = pid.trim();
                if !pid.is_empty() && Path::new("/proc").join(pid).exists() {
                    anyhow::bail!(
                        "another `hedge lists update` (pid {pid}) is using the cache {}; \
                         wait for it to finish",
                        lock.parent().unwrap_or(lock).display()
                    );
                }
                std::fs::remove_file(lock)
                    .with_context(|| format!("cannot remove the stale lock {}", lock.display()))?;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", lock.display()));
            }
        }
    }
    anyhow::bail!("cannot take the lock {}", lock.display())
}

fn rename(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::rename(from, to)
        .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
}

fn remove_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}

/// Links (or copies, across file systems) an unchanged file from the current copy into the
/// staging folder, so the staged copy is complete.
pub fn link_or_copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}
