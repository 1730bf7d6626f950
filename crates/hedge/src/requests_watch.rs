//! Staff decisions into the served policy: a thread that watches the statistics file for
//! grants and local recategorisations (written by `hedge requests` or the portal, from any
//! process) and hands them to [`LivePolicy::set_overrides`].
//!
//! Every [`POLL`] it reads `PRAGMA data_version`, which changes when another connection
//! commits; only then does it read the overrides, and only a set that differs from the last
//! one applied is handed on (a swap empties the answer cache). Expiry needs no polling: the
//! live policy drops a grant at its `until` by itself. SQLite is blocking, so this is a std
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
        let mut poller = Poller {
            path,
            store: None,
            seen: None,
            applied: None,
            failing: false,
        };
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
    /// The overrides last handed to the live policy.
    applied: Option<Overrides>,
    /// A failure is logged once, then again only after things worked in between.
    failing: bool,
}

impl Poller {
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
        }
        let Some(db) = &self.store else {
            return Ok(None);
        };
        let version = db.data_version()?;
        if self.seen == Some(version) {
            return Ok(None);
        }
        let wanted = overrides_of(&db.active_overrides(Timestamp::now())?);
        self.seen = Some(version);
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
        "staff decisions in force: {} grants, {} local recategorisations{left_out}",
        wanted.grants.len(),
        wanted.recategorised.len()
    );
}
