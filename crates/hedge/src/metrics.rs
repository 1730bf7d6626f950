//! Prometheus metrics: every name described once here, and the HTTP exporter.
//! The operator page `docs/metrics.md` lists the same names.

use std::net::SocketAddr;

use hedge_lists::Index;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram, gauge};

/// Queries answered, by profile, action and category root (`-` for none).
pub const QUERIES: &str = "hedge_queries_total";
/// Time from receiving a query to its answer.
pub const ANSWER_SECONDS: &str = "hedge_answer_duration_seconds";
/// Response-cache lookups for resolved names, by result (`hit`, `miss`).
pub const CACHE: &str = "hedge_cache_lookups_total";
/// Upstream failures, by kind (`timeout`, `error`).
pub const UPSTREAM_ERRORS: &str = "hedge_upstream_errors_total";
/// Names in the serving index.
pub const INDEX_NAMES: &str = "hedge_index_names";
/// When the serving index was built (Unix seconds); age = time() - this.
pub const INDEX_BUILT: &str = "hedge_index_built_timestamp_seconds";
/// Always 1, labelled with the serving index's version.
pub const INDEX_INFO: &str = "hedge_index_info";
/// Reloads, by result (`ok`, `failed`).
pub const RELOADS: &str = "hedge_reloads_total";
/// Statistics flushes that failed (counting paused; counts kept in memory meanwhile).
pub const STATS_FLUSH_FAILURES: &str = "hedge_stats_flush_failures_total";

/// Installs the recorder and serves `/metrics` on `addr`. Call inside the tokio runtime.
pub fn install(addr: SocketAddr) -> anyhow::Result<()> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(ANSWER_SECONDS.into()),
            &[
                0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
                0.1, 0.25, 0.5, 1.0, 2.5,
            ],
        )?
        .install()?;
    describe_counter!(
        QUERIES,
        Unit::Count,
        "Queries answered, by profile, action and category root."
    );
    describe_histogram!(
        ANSWER_SECONDS,
        Unit::Seconds,
        "Time from receiving a query to sending its answer."
    );
    describe_counter!(
        CACHE,
        Unit::Count,
        "Response-cache lookups for resolved names, by result (hit, miss)."
    );
    describe_counter!(
        UPSTREAM_ERRORS,
        Unit::Count,
        "Upstream resolution failures, by kind (timeout, error)."
    );
    describe_gauge!(
        INDEX_NAMES,
        Unit::Count,
        "Names in the serving category index."
    );
    describe_gauge!(
        INDEX_BUILT,
        Unit::Seconds,
        "Build time of the serving index, Unix seconds."
    );
    describe_gauge!(
        INDEX_INFO,
        "Always 1; the version label names the serving index."
    );
    describe_counter!(
        RELOADS,
        Unit::Count,
        "Configuration and index reloads, by result (ok, failed)."
    );
    describe_counter!(
        STATS_FLUSH_FAILURES,
        Unit::Count,
        "Statistics flushes that failed; counting pauses and keeps counts in memory."
    );
    Ok(())
}

/// Publishes the serving index's figures.
pub fn set_index(index: &Index) {
    gauge!(INDEX_NAMES).set(index.len() as f64);
    gauge!(INDEX_BUILT).set(index.meta().built_at as f64);
    gauge!(INDEX_INFO, "version" => index.version().to_string()).set(1.0);
}
