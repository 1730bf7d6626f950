//! Statistics in the daemon: counters on the query path, a flusher thread writing them to
//! the SQLite store about once a second, rebuilt when a reload changes profiles or categories.

use std::sync::Arc;
use std::time::Duration;

use hedge_stats::{
    ClientPrivacy, Counters, CountersOptions, FlusherHandle, FlusherOptions, QueryLogOptions,
    Retention, SqliteStore, spawn_flusher_with,
};

use crate::config::{Checked, ClientMode, Loaded};
use crate::observe::{QueryObserver, StatsSink};

/// Running statistics: the counters and the thread that flushes them.
pub struct Stats {
    pub counters: Arc<Counters>,
    flusher: FlusherHandle,
    names: (Vec<String>, Vec<String>),
}

fn names(checked: &Checked) -> (Vec<String>, Vec<String>) {
    let profiles = checked
        .policy
        .profiles()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    // Categories, then the rules that block without one (custom lists, bypass controls,
    // the walled garden), so no block is counted under `-`.
    (profiles, checked.policy.count_labels())
}

/// Starts counting, or says why it cannot (the resolver then serves without counting).
pub fn start(loaded: &Loaded, checked: &Checked) -> Option<Stats> {
    let cfg = &loaded.config.stats;
    if !cfg.enabled {
        return None;
    }
    let path = loaded.stats_path();
    let names = names(checked);
    let query_log = cfg.query_log.enabled.then(|| QueryLogOptions {
        privacy: match cfg.query_log.clients {
            ClientMode::Truncate => ClientPrivacy::Truncate,
            ClientMode::Full => ClientPrivacy::Full,
            ClientMode::Hash => ClientPrivacy::KeyedHash {
                key: cfg
                    .query_log
                    .hash_key
                    .clone()
                    .unwrap_or_default()
                    .into_bytes(),
            },
        },
        max_entries_per_interval: 0,
    });
    let options = CountersOptions {
        query_log,
        count_allowed: cfg.count_allowed,
        ..CountersOptions::default()
    };
    let result = (|| {
        let counters = Arc::new(Counters::with_options(
            names.0.clone(),
            names.1.clone(),
            options,
        )?);
        let store = SqliteStore::open(&path)?;
        let flusher = spawn_flusher_with(
            counters.clone(),
            store,
            FlusherOptions {
                interval: Duration::from_secs(1),
                retention: Retention {
                    aggregate_days: cfg.retention_days,
                    query_log_days: cfg.query_log.retention_days,
                },
                ..FlusherOptions::default()
            },
        )?;
        Ok::<_, hedge_stats::Error>(Stats {
            counters,
            flusher,
            names,
        })
    })();
    match result {
        Ok(stats) => {
            tracing::info!("counting queries into {}", path.display());
            Some(stats)
        }
        Err(e) => {
            tracing::error!("counting paused: {e}; hedge keeps answering queries");
            None
        }
    }
}

impl Stats {
    /// Whether a new configuration can keep these counters (same profiles and categories).
    pub fn fits(&self, checked: &Checked) -> bool {
        self.names == names(checked)
    }

    /// Flushes what is counted and stops the flusher.
    pub fn stop(self) {
        if let Err(e) = self.flusher.shutdown() {
            tracing::error!("final statistics flush failed: {e}");
        }
    }

    /// Flush failures so far (for the metric).
    pub fn failures(&self) -> u64 {
        self.flusher.status().failures
    }
}

/// The observer for a snapshot: metrics always (latency only when they are exported),
/// statistics when counting.
pub fn observer(
    checked: &Checked,
    stats: Option<&Stats>,
    metrics_exported: bool,
) -> Arc<dyn hedge_dns::Observer> {
    let sink = stats.map(|s| StatsSink::new(s.counters.clone(), &checked.policy));
    Arc::new(QueryObserver::new(&checked.policy, sink, metrics_exported))
}
