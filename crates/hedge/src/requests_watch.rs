//! Staff decisions into the served policy: a thread that watches the statistics file for
//! grants and local recategorisations (written by `hedge requests` or the portal, from any
//! process) and hands them to [`LivePolicy::set_overrides`].
//!
//! Every [`POLL`] it reads `PRAGMA data_version`, which changes when another connection
//! commits; only then does it read the newest audit entry's mark (every decision writes one,
//! the statistics flusher's commits every few seconds do not), and only when that moved
//! does it read the overrides; only a set that differs from the last one applied is handed
//! on (a swap empties the answer cache). Expiry needs no polling: the live policy drops a
//! grant at its `until` by itself (and drops it at once when a reload rebuilds it later). SQLite is blocking, so this is a std
//! thread with its own connection, never a runtime worker.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use hedge_policy::{Grant, Overrides, Recategorisation};
use hedge_stats::{ActiveOverrides, SqliteStore};
use jiff::Timestamp;

use crate::live_policy::LivePolicy;
use crate::output::counted;

/// How often the file is looked at: a decision is served within this and a swap.
pub const POLL: Duration = Duration::from_millis(250);

/// The policy's overrides from the store's rows.
pub fn overrides_of(active: &ActiveOverrides) -> Overrides {
    Overrides {
        grants: active
            .grants
            .iter()
            .map(|g| Grant {
                name: g.name.clone(),
                profile: g.profile.clone(),
                until: g.until,
                request: g.request,
            })
            .collect(),
        recategorised: active
            .recategorised
            .iter()
            .map(|r| Recategorisation {
                name: r.name.clone(),
                category: r.category.clone(),
                add: r.add,
            })
            .collect(),
    }
}

/// The running watcher; [`Watcher::stop`] ends it.
pub struct Watcher {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Watcher {
    /// Watches `path` (which may not exist yet: it is opened once it does). The first look
    /// is made before this returns, so the decisions in the file are in force (once the
    /// caller swaps) before the first query is answered after a restart.
    pub fn start(path: PathBuf, live: Arc<LivePolicy>) -> std::io::Result<Watcher> {
        let mut poller = Poller::new(path);
        poller.poll(&live);
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hedge-requests".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(POLL) {
                    poller.poll(&live);
                }
            })?;
        Ok(Watcher { stop, thread })
    }

    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

struct Poller {
    path: PathBuf,
    store: Option<SqliteStore>,
    /// The data version last read.
    seen: Option<i64>,
    /// The decisions mark ([`SqliteStore::decisions_mark`]) the overrides were last read at.
    marked: Option<(i64, String)>,
    /// The overrides last handed to the live policy.
    applied: Option<Overrides>,
    /// A failure is logged once, then again only after things worked in between.
    failing: bool,
    /// How many times the overrides were read (what the mark saves).
    reads: u64,
}

impl Poller {
    fn new(path: PathBuf) -> Poller {
        Poller {
            path,
            store: None,
            seen: None,
            marked: None,
            applied: None,
            failing: false,
            reads: 0,
        }
    }

    fn poll(&mut self, live: &LivePolicy) {
        match self.read() {
            Ok(None) => self.failing = false,
            Ok(Some(wanted)) => {
                self.failing = false;
                apply(live, &wanted);
                self.applied = Some(wanted);
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(
                        "cannot read grants and recategorisations (the ones in force stay): {e}"
                    );
                }
                self.failing = true;
                // Reopen next time: the file may have been replaced.
                self.store = None;
            }
        }
    }

    /// The overrides in the file when they changed since they were last applied.
    fn read(&mut self) -> Result<Option<Overrides>, hedge_stats::Error> {
        if self.store.is_none() {
            if !self.path.exists() {
                return Ok(None);
            }
            self.store = Some(SqliteStore::open(&self.path)?);
            self.seen = None;
            self.marked = None;
        }
        let Some(db) = &self.store else {
            return Ok(None);
        };
        let version = db.data_version()?;
        if self.seen == Some(version) {
            return Ok(None);
        }
        // In this order: a decision committed between two reads is read again next time,
        // never missed.
        let mark = db.decisions_mark()?;
        if self.marked.as_ref() == Some(&mark) {
            tracing::debug!("the statistics file changed, staff decisions did not");
            self.seen = Some(version);
            return Ok(None);
        }
        let wanted = overrides_of(&db.active_overrides(Timestamp::now())?);
        self.reads += 1;
        tracing::debug!("staff decisions read ({} times since start)", self.reads);
        self.seen = Some(version);
        self.marked = Some(mark);
        Ok((self.applied.as_ref() != Some(&wanted)).then_some(wanted))
    }
}

/// Hands the decisions to the live policy, which applies what the configuration can: an
/// entry it cannot (a profile or category no longer configured) is logged and left out,
/// rather than holding back every other decision, and applies again if a reload brings its
/// profile or category back.
fn apply(live: &LivePolicy, wanted: &Overrides) {
    let errors = live.set_overrides(wanted.clone());
    for e in &errors {
        tracing::warn!("staff decision not applied: {e}");
    }
    let left_out = match errors.len() {
        0 => String::new(),
        n => format!(" ({n} of them not applicable)"),
    };
    tracing::info!(
        "staff decisions in force: {}, {}{left_out}",
        counted(wanted.grants.len(), "grant"),
        counted(wanted.recategorised.len(), "local recategorisation")
    );
}

#[cfg(test)]
mod tests {
    //! The watcher against a real statistics file written by a second connection, as
    //! `hedge requests` and the flusher write it.
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use hedge_stats::NewRequest;

    use super::*;

    /// What one poll hands on (and remembers, as `poll` does without a live policy).
    fn look(p: &mut Poller) -> Option<Overrides> {
        let wanted = p.read().unwrap();
        if let Some(w) = &wanted {
            p.applied = Some(w.clone());
        }
        wanted
    }

    #[test]
    fn a_commit_without_a_decision_is_not_read_and_every_kind_of_decision_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.sqlite");
        let mut writer = SqliteStore::open(&path).unwrap();
        let mut p = Poller::new(path);
        let now = Timestamp::now();
        assert_eq!(look(&mut p), Some(Overrides::default()));
        assert_eq!(p.reads, 1);

        // A commit that decides nothing (like the flusher's every few seconds): the data
        // version moves, the decisions are not read again.
        let request = NewRequest {
            name: "casino.example".into(),
            category: Some("gambling".into()),
            profile: "child".into(),
            reason: "homework".into(),
            contact: None,
        };
        let id = writer.submit_request(&request, now).unwrap().id;
        assert_eq!(look(&mut p), None);
        assert_eq!(
            p.reads, 1,
            "a commit without a decision re-read the decisions"
        );
        assert_eq!(look(&mut p), None);
        assert_eq!(p.reads, 1);

        // Each kind of decision is read and handed on.
        writer
            .recategorise("games.example", "games", true, "staff", now)
            .unwrap();
        let o = look(&mut p).unwrap();
        assert_eq!(o.recategorised.len(), 1);
        let grants = writer
            .grant(id, &["child".into()], None, None, "staff", now)
            .unwrap();
        let o = look(&mut p).unwrap();
        assert_eq!(o.grants.len(), 1);
        writer.revoke_grant(grants[0], "staff", now).unwrap();
        assert!(look(&mut p).unwrap().grants.is_empty());
        writer
            .clear_recategorisation("games.example", "games", "staff", now)
            .unwrap();
        assert_eq!(look(&mut p), Some(Overrides::default()));
        assert_eq!(p.reads, 5);
    }
}
