//! `hedge serve`: run the resolver until SIGTERM/SIGINT; SIGHUP (or a changed index file)
//! reloads the configuration and index beside the running ones and swaps them in.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use hedge_dns::Server;
use metrics::counter;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::UsageError;
use crate::config::{self, Loaded, StatsConfig};
use crate::fd_limit;
use crate::live_policy::LivePolicy;
use crate::metrics as m;
use crate::requests_watch::Watcher;
use crate::stats::{self, Stats};

pub fn run(config_path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    fix_mmap_threshold();
    let loaded = config::load(config_path.as_deref())?;
    let checked = config::check(&loaded)?;
    for n in &checked.notices {
        tracing::warn!("{n}");
    }
    let fd_limit = fd_limit::raise().or_else(|e| {
        tracing::warn!("cannot raise the file-descriptor limit: {e}");
        fd_limit::hard()
    })?;
    match fd_limit::check(&loaded.config, fd_limit) {
        Ok(warning) => warning.iter().for_each(|w| tracing::warn!("{w}")),
        Err(e) => return Err(anyhow::Error::new(UsageError(e))),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hedge")
        .build()?;
    runtime.block_on(serve(loaded, checked))
}

async fn serve(loaded: Loaded, checked: config::Checked) -> anyhow::Result<ExitCode> {
    let c = &loaded.config;
    if let Some(metrics) = &c.metrics {
        m::install(metrics.listen)?;
        tracing::info!("metrics on http://{}/metrics", metrics.listen);
    }
    let mut counting = Counting {
        stats: stats::start(&loaded, &checked),
        settings: c.stats.clone(),
    };
    let observer = stats::observer(&checked, counting.stats.as_ref(), c.metrics.is_some());
    let server = Server::start(
        &c.listeners,
        &loaded.upstream(),
        c.server.clone(),
        checked.snapshot(Some(observer.clone())),
    )?;
    // Every later swap (schedules, grants, reloads) goes through it.
    let live = LivePolicy::new(checked.snapshot(Some(observer)));
    // Staff decisions in the statistics file, from the first query on.
    let requests = match Watcher::start(loaded.stats_path(), live.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::error!("cannot watch for grants and recategorisations: {e}");
            None
        }
    };
    if let Err(e) = live.swap(&server) {
        tracing::error!("grants and recategorisations not applied: {e}");
    }
    let index = checked.policy.index();
    m::set_index(index);
    tracing::info!(
        "index {} ({}, {}), {}, upstream {}",
        index.version(),
        hedge_lists::counted(index.len(), "name"),
        index.path().display(),
        crate::output::counted(checked.policy.profiles().len(), "profile"),
        crate::output::config_word(c.upstream.mode)
    );
    for (i, proto, addr) in server.bound() {
        tracing::info!(
            "listening on {proto} {addr} for profile `{}`",
            c.listeners[*i].profile
        );
    }
    let portal = match &checked.portal {
        Some(p) => Some(crate::portal::start(p, &server, loaded.stats_path())?),
        None => None,
    };
    let staff = match crate::staff_portal::check_config(&loaded, &checked)? {
        Some(s) => Some(crate::staff_portal::start(&s)?),
        None => None,
    };
    // The portal is a restart-only setting: EDE texts and its name in DNS keep pointing
    // where it runs.
    let portal_dns = checked.portal.clone();
    // The server holds the snapshot now; keeping this copy would keep the first index
    // resident after every later reload.
    drop(checked);
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut index_path = c.index.as_ref().map(|p| loaded.base_dir.join(p));
    let mut index_mtime = index_path.as_deref().and_then(mtime);
    let mut poll = tokio::time::interval(POLL);
    // Ticks until free heap memory is next given back: soon after a reload (once the old
    // snapshot's last in-flight query is done with it), and every ten seconds.
    let mut trim_in = TRIM_EVERY;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                if let Some(path) = reload((&server, &live), &loaded, &mut counting, portal_dns.as_ref(), "SIGHUP") {
                    index_path = path;
                    index_mtime = index_path.as_deref().and_then(mtime);
                    trim_in = 1;
                }
            }
            _ = poll.tick() => {
                trim_in -= 1;
                if trim_in == 0 {
                    trim_in = TRIM_EVERY;
                    release_free_memory();
                }
                let now = index_path.as_deref().and_then(mtime);
                if now != index_mtime {
                    index_mtime = now;
                    if let Some(path) = reload((&server, &live), &loaded, &mut counting, portal_dns.as_ref(), "index file changed") {
                        index_path = path;
                        trim_in = 1;
                    }
                }
                if let Some(s) = &counting.stats {
                    counter!(m::STATS_FLUSH_FAILURES).absolute(s.failures());
                }
            }
            _ = live.due() => {
                if let Err(e) = live.swap(&server) {
                    tracing::error!("policy change not applied: {e}");
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("shutting down");
    if let Some(p) = portal {
        p.shutdown();
    }
    drop(staff);
    if let Some(w) = requests {
        w.stop();
    }
    server.shutdown();
    if let Some(s) = counting.stats {
        s.stop();
    }
    Ok(ExitCode::SUCCESS)
}

/// How often the index file's mtime and length are checked. A change is verified before it
/// is served: the index in service is a private copy, so the file may be truncated,
/// overwritten or deleted meanwhile, and a file that fails its checks is logged and ignored.
const POLL: Duration = Duration::from_secs(2);
/// Free heap memory is given back every this many polls (ten seconds: what a statistics
/// flush or a burst of recursions frees does not stay resident for long).
const TRIM_EVERY: u32 = 5;

/// Gives free heap pages back to the kernel. glibc returns memory on `free` only from the
/// top of a heap; what a burst of recursions or a reload frees in the middle stays resident
/// (2.3 MiB after a reload of the 2M-name index, measured). `malloc_trim` releases the free
/// pages of every arena: about 0.5 ms with 20,000 answers cached (measured), so 0.005% of
/// a core at one call every ten seconds.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    let started = std::time::Instant::now();
    // SAFETY: malloc_trim has no preconditions; it takes glibc's own arena locks.
    #[allow(unsafe_code)]
    let released = unsafe { libc::malloc_trim(0) } == 1;
    tracing::debug!(
        "malloc_trim: {} in {} µs",
        if released {
            "memory released"
        } else {
            "nothing to release"
        },
        started.elapsed().as_micros()
    );
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

/// Statistics as running, with the `[stats]` settings they were started with.
struct Counting {
    stats: Option<Stats>,
    settings: StatsConfig,
}

/// Fixes glibc's mmap threshold at its default, 128 KiB, which turns its dynamic
/// adjustment off. Left dynamic, freeing a big block raises the threshold to that block's
/// size: the name-table check's bitmap at load (1.5 MiB for 1M names), an old index after
/// a reload (12-20 MiB). Every later block below it then comes from the heap instead of
/// its own mapping: the cache shards and each UDP listener's 128 KiB receive batch, which
/// calloc then zeroes by hand, so they are resident before the first query; and what such
/// a block leaves when freed stays resident until the next trim. With the threshold fixed,
/// a big block is mapped on demand and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_mmap_threshold() {
    // SAFETY: mallopt only sets a glibc tunable, under glibc's own lock; it is called
    // before the runtime starts any thread.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_mmap_threshold() {}

/// Builds a new snapshot from the files and swaps it in; on any failure the running one
/// stays. Returns the index path now watched, when the reload succeeded. `running` is the
/// configuration hedge started with: its sockets, upstream and limits stay. The live
/// overrides and schedules are applied to the new policy before it is swapped in.
fn reload(
    (server, live): (&Server, &LivePolicy),
    running: &Loaded,
    counting: &mut Counting,
    portal: Option<&crate::portal::Checked>,
    why: &str,
) -> Option<Option<PathBuf>> {
    let started = std::time::Instant::now();
    let result = config::load(running.path.as_deref()).and_then(|loaded| {
        let checked = config::check(&loaded)?;
        let profiles = config::map_listeners(&running.config.listeners, &loaded, &checked)?;
        Ok((loaded, checked, profiles))
    });
    let (loaded, checked, listener_profiles) = match result {
        Ok(x) => x,
        Err(e) => {
            counter!(m::RELOADS, "result" => "failed").increment(1);
            tracing::error!(
                "reload ({why}) failed, still serving the previous configuration: {e:#}"
            );
            return None;
        }
    };
    let restart_only = config::restart_only_changes(&running.config, &loaded.config);
    for n in checked.notices.iter().chain(&restart_only) {
        tracing::warn!("{n}");
    }
    if counting.settings != loaded.config.stats
        || counting.stats.as_ref().is_some_and(|s| !s.fits(&checked))
        || (counting.stats.is_none() && loaded.config.stats.enabled)
    {
        if let Some(old) = counting.stats.take() {
            old.stop();
        }
        counting.stats = stats::start(&loaded, &checked);
        counting.settings = loaded.config.stats.clone();
    }
    // The metrics endpoint is a restart-only setting: it exists if it did at start.
    let observer = stats::observer(
        &checked,
        counting.stats.as_ref(),
        running.config.metrics.is_some(),
    );
    let version = checked.policy.index().version().to_string();
    let mut snapshot = checked.snapshot(Some(observer));
    snapshot.listener_profiles = listener_profiles;
    crate::portal::point_dns(portal, &mut snapshot);
    match live.reload(server, snapshot) {
        Ok(()) => {
            counter!(m::RELOADS, "result" => "ok").increment(1);
            m::set_index(checked.policy.index());
            tracing::info!(
                "reloaded ({why}): index {version}, in {:.0} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
            Some(
                loaded
                    .config
                    .index
                    .as_ref()
                    .map(|p| loaded.base_dir.join(p)),
            )
        }
        Err(e) => {
            counter!(m::RELOADS, "result" => "failed").increment(1);
            tracing::error!("reload ({why}) failed, still serving the previous configuration: {e}");
            None
        }
    }
}

/// What tells a changed index file: its mtime and length (a copy caught half-written at
/// a poll and finished within the same mtime tick still differs in length), None once gone.
fn mtime(path: &Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(path)
        .and_then(|m| Ok((m.modified()?, m.len())))
        .ok()
}
