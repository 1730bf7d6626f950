//! The flusher: a dedicated thread that moves counts from [`Counters`] into a [`Store`]
//! about once a second, keeps them in memory while the store cannot be written, and applies
//! the retention.
//!
//! **Day bucketing.** Counts are attributed to the UTC day at the moment they are flushed,
//! not the moment they were recorded: a query answered at 23:59:59.6 UTC may be counted on
//! the next day. With a one-second interval this skews at most one interval's counts across
//! midnight, and keeps the hot path free of clocks. Counts held in memory during a store
//! outage keep the day they were first taken out under.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jiff::civil::Date;

use crate::batch::{Batch, BatchLimits};
use crate::counters::Counters;
use crate::error::{Error, chain};
use crate::store::{Retention, Store};

/// The current UTC day.
pub fn utc_today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// How the flusher runs.
#[derive(Clone)]
pub struct FlusherOptions {
    /// Time between flushes. Default 1 s.
    pub interval: Duration,
    /// What [`Store::prune`] enforces, at start and once a day.
    pub retention: Retention,
    /// Bounds on what is held in memory per day while the store cannot be written.
    pub limits: BatchLimits,
    /// Days of counts held in memory during an outage; beyond, the oldest day is dropped
    /// (and logged as an error). Default 31.
    pub max_pending_days: usize,
    /// Blocked-domain counts are written every this many intervals (default 5: every 5 s),
    /// so repeated domains merge in memory and the SQLite work stays a small share of the
    /// resolver's CPU (130–170 ms per write of 20 000 distinct domains, the per-interval cap).
    /// A crash loses at most this many intervals of them (the promise is 10 s at most); the
    /// per-category counts are written every interval.
    pub domain_every: u32,
    /// The clock that names the day counts belong to. Default [`utc_today`].
    pub today: Arc<dyn Fn() -> Date + Send + Sync>,
}

impl std::fmt::Debug for FlusherOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlusherOptions")
            .field("interval", &self.interval)
            .field("retention", &self.retention)
            .field("limits", &self.limits)
            .field("max_pending_days", &self.max_pending_days)
            .field("domain_every", &self.domain_every)
            .finish_non_exhaustive()
    }
}

impl Default for FlusherOptions {
    fn default() -> FlusherOptions {
        FlusherOptions {
            interval: Duration::from_secs(1),
            retention: Retention::default(),
            limits: BatchLimits {
                max_domains: 100_000,
                max_query_log: 1_000_000,
            },
            max_pending_days: 31,
            domain_every: 5,
            today: Arc::new(utc_today),
        }
    }
}

/// What the flusher is doing, for health checks, metrics and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlusherStatus {
    /// The last write failed; counts are held in memory.
    pub paused: bool,
    /// The last write or prune error, with its causes.
    pub last_error: Option<String>,
    /// Successful flushes that wrote something.
    pub flushes: u64,
    /// Failed flush attempts.
    pub failures: u64,
    /// Queries counted in memory and not yet written.
    pub pending_queries: u64,
    /// Queries whose counts were dropped (outage longer than `max_pending_days`, or a failed
    /// final flush).
    pub lost_queries: u64,
    /// Raw query log entries dropped because the in-memory bound was reached.
    pub lost_log_entries: u64,
    /// The last day the retention was enforced.
    pub last_prune: Option<Date>,
}

enum Command {
    Flush(mpsc::Sender<Result<(), String>>),
    Stop,
}

/// The running flusher. Dropping it stops the thread after a final flush, as
/// [`shutdown`](FlusherHandle::shutdown) does (but without reporting the outcome).
#[derive(Debug)]
pub struct FlusherHandle {
    tx: mpsc::Sender<Command>,
    thread: Option<JoinHandle<Result<(), Error>>>,
    status: Arc<Mutex<FlusherStatus>>,
}

/// Starts the flusher thread with default options and this interval.
pub fn spawn_flusher<S: Store + 'static>(
    counters: Arc<Counters>,
    store: S,
    interval: Duration,
) -> Result<FlusherHandle, Error> {
    spawn_flusher_with(
        counters,
        store,
        FlusherOptions {
            interval,
            ..FlusherOptions::default()
        },
    )
}

/// Starts the flusher thread. It prunes at once, then flushes every `interval` and prunes
/// again whenever the day changes.
pub fn spawn_flusher_with<S: Store + 'static>(
    counters: Arc<Counters>,
    store: S,
    options: FlusherOptions,
) -> Result<FlusherHandle, Error> {
    options.retention.validate()?;
    let (tx, rx) = mpsc::channel();
    let status = Arc::new(Mutex::new(FlusherStatus::default()));
    let mut flusher = Flusher {
        counters,
        store,
        options,
        pending: BTreeMap::new(),
        status: status.clone(),
        prune_retry_at: Instant::now(),
        prune_warned: None,
        ticks: 0,
    };
    let thread = std::thread::Builder::new()
        .name("hedge-stats-flush".into())
        .spawn(move || flusher.run(rx))
        .map_err(Error::Spawn)?;
    Ok(FlusherHandle {
        tx,
        thread: Some(thread),
        status,
    })
}

impl FlusherHandle {
    /// A snapshot of the flusher's state.
    pub fn status(&self) -> FlusherStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Flushes now and waits for the outcome (the error's text, with causes, if the store
    /// could not be written; the counts are then still held).
    pub fn flush_now(&self) -> Result<(), String> {
        let (ack, done) = mpsc::channel();
        self.tx
            .send(Command::Flush(ack))
            .map_err(|_| "the flusher has stopped".to_owned())?;
        done.recv()
            .map_err(|_| "the flusher has stopped".to_owned())?
    }

    /// Stops the flusher after a final flush; an error means the final flush failed and
    /// the counts still in memory are lost.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), Error> {
        let _ = self.tx.send(Command::Stop);
        match self.thread.take() {
            None => Ok(()),
            Some(t) => t.join().map_err(|_| Error::FlusherPanicked)?,
        }
    }
}

impl Drop for FlusherHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

struct Flusher<S> {
    counters: Arc<Counters>,
    store: S,
    options: FlusherOptions,
    /// Counts not yet written, by the day they belong to.
    pending: BTreeMap<Date, Batch>,
    status: Arc<Mutex<FlusherStatus>>,
    prune_retry_at: Instant,
    prune_warned: Option<Date>,
    /// Ticks since blocked-domain counts were last taken.
    ticks: u32,
}

impl<S: Store> Flusher<S> {
    fn status(&self) -> std::sync::MutexGuard<'_, FlusherStatus> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&mut self, rx: mpsc::Receiver<Command>) -> Result<(), Error> {
        self.prune_if_due();
        loop {
            match rx.recv_timeout(self.options.interval) {
                Err(RecvTimeoutError::Timeout) => {
                    self.ticks += 1;
                    let domains = self.ticks >= self.options.domain_every.max(1);
                    if domains {
                        self.ticks = 0;
                    }
                    let _ = self.flush_with(domains);
                    self.prune_if_due();
                }
                Ok(Command::Flush(ack)) => {
                    let r = self.flush().map_err(|e| chain(&e));
                    let _ = ack.send(r);
                }
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    return self.final_flush();
                }
            }
        }
    }

    fn final_flush(&mut self) -> Result<(), Error> {
        match self.flush() {
            Ok(()) => Ok(()),
            Err(e) => {
                let lost: u64 = self.pending.values().map(Batch::total).sum();
                tracing::error!(
                    "statistics flusher stopping: the final write failed, {lost} queries' counts \
                     are lost: {}",
                    chain(&e)
                );
                self.status().lost_queries += lost;
                Err(e)
            }
        }
    }

    /// Takes every delta (blocked-domain counts included) and writes them.
    fn flush(&mut self) -> Result<(), Error> {
        self.ticks = 0;
        self.flush_with(true)
    }

    /// Takes the counters' deltas into `pending` and writes every pending day, oldest first.
    /// Blocked-domain counts are taken only when `domains` is set: they are many rows, so
    /// they are written every few intervals, where counts repeat and merge.
    fn flush_with(&mut self, domains: bool) -> Result<(), Error> {
        let today = (self.options.today)();
        let batch = self.counters.swap_out_with(domains);
        if !batch.is_empty() {
            let dropped = self
                .pending
                .entry(today)
                .or_default()
                .merge(batch, self.options.limits);
            self.status().lost_log_entries += dropped;
        }
        while self.pending.len() > self.options.max_pending_days.max(1) {
            if let Some((day, lost)) = self.pending.pop_first() {
                tracing::error!(
                    "statistics store unwritable for more than {} days: dropped the counts of {} \
                     queries for {day}",
                    self.options.max_pending_days,
                    lost.total()
                );
                self.status().lost_queries += lost.total();
            }
        }
        let mut wrote = false;
        while let Some(entry) = self.pending.first_entry() {
            let day = *entry.key();
            match self.store.write(day, entry.get()) {
                Ok(()) => {
                    entry.remove();
                    wrote = true;
                }
                Err(e) => {
                    let pending: u64 = self.pending.values().map(Batch::total).sum();
                    let mut st = self.status();
                    if !st.paused {
                        tracing::warn!(
                            "counting paused: {}; counts are kept in memory and retried every \
                             {:?}",
                            chain(&e),
                            self.options.interval
                        );
                    }
                    st.paused = true;
                    st.failures += 1;
                    st.last_error = Some(chain(&e));
                    st.pending_queries = pending;
                    return Err(e);
                }
            }
        }
        let mut st = self.status();
        if st.paused {
            tracing::info!("counting resumed: the counts held in memory have been written");
            st.paused = false;
        }
        if wrote {
            st.flushes += 1;
        }
        st.pending_queries = 0;
        Ok(())
    }

    fn prune_if_due(&mut self) {
        let today = (self.options.today)();
        if self.status().last_prune == Some(today) || Instant::now() < self.prune_retry_at {
            return;
        }
        match self.store.prune(today, &self.options.retention) {
            Ok(pruned) => {
                if pruned.total() > 0 {
                    tracing::info!(
                        "statistics retention: deleted {} rows older than {} days ({} from the \
                         query log, kept {} days)",
                        pruned.total(),
                        self.options.retention.aggregate_days,
                        pruned.query_log,
                        self.options.retention.query_log_days,
                    );
                }
                self.status().last_prune = Some(today);
            }
            Err(e) => {
                if self.prune_warned != Some(today) {
                    tracing::warn!(
                        "statistics retention not applied yet (retrying every minute): {}",
                        chain(&e)
                    );
                    self.prune_warned = Some(today);
                }
                self.status().last_error = Some(chain(&e));
                self.prune_retry_at = Instant::now() + Duration::from_secs(60);
            }
        }
    }
}
