//! Answers to allowed questions: the response cache, then upstream.
//!
//! - One upstream fetch per (name, type) at a time: clients asking while it runs wait for
//!   the same fetch. It runs in its own task to its end (bounded by the upstream timeout),
//!   so a client that was answered stale meanwhile still gets the cache refreshed.
//! - RFC 8767 serve-stale: with an expired answer at hand, a client waits at most
//!   [`CLIENT_RESPONSE_TIMER`] for upstream, then gets the expired answer with TTL
//!   [`STALE_TTL`]; at once if upstream fails at once.
//! - RFC 9520: a failed question is not asked upstream again for a while ([`Failures`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use hickory_proto::rr::{LowerName, Name, RecordType};

use crate::cache::{self, Cache, Lookup};
use crate::failures::Failures;
use crate::upstream::{Resolved, Upstream, UpstreamError};

/// RFC 8767's client-response timer: how long a client with a stale answer at hand waits
/// for upstream (the RFC suggests 1.8 s).
pub(crate) const CLIENT_RESPONSE_TIMER: Duration = Duration::from_millis(1800);

/// TTL of a stale answer (RFC 8767 suggests 30 s).
pub(crate) const STALE_TTL: u32 = 30;

/// An answer for the query path.
pub(crate) struct Answer {
    /// The records, TTLs counted down by their time in the cache (or [`STALE_TTL`]).
    pub resolved: Resolved,
    /// Expired data served because upstream failed or was slow (RFC 8767).
    pub stale: bool,
    /// Answered from the response cache.
    pub cache_hit: bool,
    /// Seconds a copy of this answer may be kept: its remaining lifetime; 0 for stale
    /// answers and TTL 0.
    pub lifetime: u32,
}

/// A fetch in flight, awaited by every client asking its question.
type Fetch = Shared<BoxFuture<'static, Result<Resolved, UpstreamError>>>;

/// The response cache, recent failures and upstream, behind one [`Fetcher::answer`].
pub(crate) struct Fetcher {
    upstream: Upstream,
    /// Answers by (name, type), fresh and stale.
    pub cache: Cache,
    failures: Failures,
    timeout: Duration,
    in_flight: Mutex<HashMap<(LowerName, RecordType), Fetch>>,
}

impl Fetcher {
    /// Answers from `cache`, then `upstream` (each fetch bounded by `timeout`).
    pub(crate) fn new(
        upstream: Upstream,
        cache: Cache,
        failures: Failures,
        timeout: Duration,
    ) -> Fetcher {
        Fetcher {
            upstream,
            cache,
            failures,
            timeout,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Answers `name`/`rtype`: fresh from the cache, else from upstream, else stale from the
    /// cache (RFC 8767), else the upstream error (remembered or new).
    pub(crate) async fn answer(
        self: &Arc<Self>,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Answer, UpstreamError> {
        let key = LowerName::new(name);
        let stale = match self.cache.get(&key, rtype) {
            Lookup::Fresh {
                resolved,
                age,
                lifetime,
            } => {
                return Ok(Answer {
                    resolved: aged(resolved, age),
                    stale: false,
                    cache_hit: true,
                    lifetime,
                });
            }
            Lookup::Stale(resolved) => Some(resolved),
            Lookup::Miss => None,
        };
        let fetched = match self.failures.get(&key, rtype, Instant::now()) {
            // Failed a moment ago: not asked again so soon (RFC 9520).
            Some(error) => Err(error),
            None => {
                let fetch = self.fetch(key, name, rtype);
                match stale {
                    None => fetch.await,
                    Some(_) => {
                        let timer = CLIENT_RESPONSE_TIMER.min(self.timeout);
                        // On time-out the fetch goes on in its task and refreshes the cache.
                        tokio::time::timeout(timer, fetch)
                            .await
                            .unwrap_or_else(|_| Err(UpstreamError::Timeout(millis(timer))))
                    }
                }
            }
        };
        match (fetched, stale) {
            (Ok(resolved), _) => Ok(Answer {
                lifetime: cache::lifetime(&resolved, rtype),
                resolved,
                stale: false,
                cache_hit: false,
            }),
            (Err(_), Some(resolved)) => Ok(Answer {
                resolved: stale_ttl(resolved),
                stale: true,
                cache_hit: true,
                lifetime: 0,
            }),
            (Err(e), None) => Err(e),
        }
    }

    /// The fetch of this question: the one in flight, or a new one.
    fn fetch(self: &Arc<Self>, key: LowerName, name: &Name, rtype: RecordType) -> Fetch {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let id = (key, rtype);
        if let Some(fetch) = in_flight.get(&id) {
            return fetch.clone();
        }
        let fetcher = self.clone();
        let (name, task_id) = (name.clone(), id.clone());
        // The map is locked until the fetch is in it, so the task cannot end before then.
        let task = tokio::spawn(async move {
            let _done = Done {
                fetcher: &fetcher,
                id: &task_id,
            };
            fetcher.fetch_now(&task_id.0, &name, rtype).await
        });
        let fetch = async move {
            task.await.unwrap_or_else(|e| {
                Err(UpstreamError::Failed(format!(
                    "internal error resolving: {e}"
                )))
            })
        }
        .boxed()
        .shared();
        in_flight.insert(id, fetch.clone());
        fetch
    }

    /// Asks upstream, then stores the answer or remembers the failure.
    async fn fetch_now(
        &self,
        key: &LowerName,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Resolved, UpstreamError> {
        let result = tokio::time::timeout(self.timeout, self.upstream.resolve(name, rtype))
            .await
            .unwrap_or_else(|_| Err(UpstreamError::Timeout(millis(self.timeout))));
        match &result {
            Ok(resolved) => {
                self.cache.put(key, rtype, resolved);
                self.failures.forget(key, rtype);
            }
            Err(e) => self.failures.remember(key, rtype, e, Instant::now()),
        }
        result
    }
}

/// Takes a fetch out of the in-flight map when its task ends, even by a panic.
struct Done<'a> {
    fetcher: &'a Fetcher,
    id: &'a (LowerName, RecordType),
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.fetcher
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(self.id);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A cached answer with its TTLs counted down by its `age` in seconds.
fn aged(mut r: Resolved, age: u32) -> Resolved {
    for rec in r.answers.iter_mut().chain(r.soa.iter_mut()) {
        rec.ttl = rec.ttl.saturating_sub(age);
    }
    r
}

/// An expired answer as served stale: every TTL [`STALE_TTL`] (RFC 8767).
fn stale_ttl(mut r: Resolved) -> Resolved {
    for rec in r.answers.iter_mut().chain(r.soa.iter_mut()) {
        rec.ttl = STALE_TTL;
    }
    r
}

#[cfg(test)]
mod tests {
    use hedge_testkit::names;

    use super::*;
    use crate::config::UpstreamConfig;

    /// A fetcher forwarding to a testkit upstream.
    async fn fetcher() -> (Arc<Fetcher>, hedge_testkit::Upstream) {
        let target = hedge_testkit::Upstream::start_local()
            .await
            .expect("start the forwarding target");
        let (ip, port) = (target.addr().ip(), target.addr().port());
        let cfg: UpstreamConfig = toml::from_str(&format!(
            "mode = \"forward\"\nservers = [{{ address = \"{ip}\", port = {port} }}]"
        ))
        .expect("an upstream table");
        let fetcher = Fetcher::new(
            Upstream::new(&cfg).expect("upstream"),
            Cache::new(64, 3_600),
            Failures::new(Duration::from_secs(5)),
            Duration::from_secs(3),
        );
        (Arc::new(fetcher), target)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clients_asking_at_once_share_one_upstream_query() {
        let (fetcher, target) = fetcher().await;
        let name = Name::from_ascii(names::WWW_EXAMPLE_COM).expect("name");
        let asks: Vec<_> = (0..20)
            .map(|_| {
                let (fetcher, name) = (fetcher.clone(), name.clone());
                tokio::spawn(async move { fetcher.answer(&name, RecordType::A).await })
            })
            .collect();
        for ask in asks {
            let found = ask.await.expect("task").expect("an answer");
            assert_eq!(found.resolved.answers.len(), 1);
        }
        assert_eq!(
            target.queries_answered(),
            1,
            "one upstream query for 20 clients"
        );
        let again = fetcher.answer(&name, RecordType::A).await.expect("cached");
        assert!(again.cache_hit && !again.stale && again.lifetime > 0);
        assert_eq!(target.queries_answered(), 1);
    }
}
