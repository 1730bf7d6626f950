//! The state every listener shares: the [`Snapshot`] being served (swapped whole on a
//! reload), the packet caches, the response cache and upstream, the limits and the ACLs.

use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use hedge_policy::{Policy, ProfileId};
use ipnet::IpNet;

use crate::cache::Cache;
use crate::config::{Limits, UpstreamConfig};
use crate::error::DnsError;
use crate::failures::Failures;
use crate::fetch::Fetcher;
use crate::observer::{CacheSweeper, Observer, SweepCounts};
use crate::packet_cache::{self, CachedHits, PacketCache};
use crate::upstream::Upstream;

/// Everything a reload replaces, as one immutable value.
pub struct Snapshot {
    /// Profiles and the index.
    pub policy: Arc<Policy>,
    /// The profile of each listener, in the order of the listener configs.
    pub listener_profiles: Vec<ProfileId>,
    /// Who counts the queries.
    pub observer: Option<Arc<dyn Observer>>,
    /// The block page's address (`http://portal.library/`), appended to the EDE text of
    /// blocks so tools that show it lead people there.
    pub portal_url: Option<String>,
    /// The portal's own name and addresses, answered by every listener before any list.
    pub portal_name: Option<Arc<crate::PortalName>>,
}

/// A listener's static part: its ACL.
pub(crate) struct ListenerRuntime {
    allow: Vec<IpNet>,
}

impl ListenerRuntime {
    /// Whether a client address may use this listener.
    pub(crate) fn allows(&self, ip: IpAddr) -> bool {
        self.longest_match(ip).is_some()
    }

    /// The prefix length of the most specific `allow` subnet holding `ip`.
    fn longest_match(&self, ip: IpAddr) -> Option<u8> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allow
            .iter()
            .filter(|net| net.contains(&ip))
            .map(IpNet::prefix_len)
            .max()
    }
}

/// A read handle on what the listeners serve, for the other services of `hedge serve` (the
/// portal) that must decide exactly as the DNS answers do. It follows every reload.
#[derive(Clone)]
pub struct LiveProfiles {
    shared: Arc<Shared>,
}

impl LiveProfiles {
    pub(crate) fn new(shared: Arc<Shared>) -> LiveProfiles {
        LiveProfiles { shared }
    }

    /// The policy being served and the profile of the listener that serves `client`: the
    /// one whose `allow` holds it most specifically, the first such listener on a tie (two
    /// listeners of different profiles allowing one subnet get a warning at check-config).
    /// None when no listener allows it.
    pub fn profile_for(&self, client: IpAddr) -> Option<(Arc<Policy>, ProfileId)> {
        let mut best: Option<(u8, usize)> = None;
        for (i, l) in self.shared.listeners.iter().enumerate() {
            if let Some(len) = l.longest_match(client)
                && best.is_none_or(|(b, _)| len > b)
            {
                best = Some((len, i));
            }
        }
        let (_, listener) = best?;
        let live = self.shared.live.load();
        let profile = *live.snapshot.listener_profiles.get(listener)?;
        Some((live.snapshot.policy.clone(), profile))
    }
}

/// The snapshot being served and its generation (packet-cache entries of older
/// generations are never served).
pub(crate) struct Live {
    pub(crate) snapshot: Snapshot,
    pub(crate) generation: u64,
}

/// Encoded answers of resolved names kept for reuse.
const PACKET_CACHE_SIZE: usize = 32_768;
/// Encoded sinkhole answers kept for reuse: a cache of their own, so a flood of random
/// blocked names cannot push the resolved answers out.
const BLOCKED_CACHE_SIZE: usize = 4_096;

/// State shared by every listener task.
pub(crate) struct Shared {
    pub(crate) live: ArcSwap<Live>,
    /// Seed of the packet caches' key hashes.
    pub(crate) key_seed: u64,
    pub(crate) packets: PacketCache,
    pub(crate) blocked_packets: PacketCache,
    /// The response cache, recent failures and upstream.
    pub(crate) fetcher: Arc<Fetcher>,
    pub(crate) limits: Limits,
    pub(crate) listeners: Vec<ListenerRuntime>,
}

impl Shared {
    /// The state every listener shares: `allow` holds each listener's ACL, in order.
    pub(crate) fn new(
        allow: Vec<Vec<IpNet>>,
        upstream: &UpstreamConfig,
        limits: Limits,
        snapshot: Snapshot,
    ) -> Result<Shared, DnsError> {
        Ok(Shared {
            live: ArcSwap::from_pointee(Live {
                snapshot,
                generation: 0,
            }),
            key_seed: packet_cache::key_seed(),
            packets: PacketCache::new(PACKET_CACHE_SIZE),
            blocked_packets: PacketCache::new(BLOCKED_CACHE_SIZE),
            fetcher: Arc::new(Fetcher::new(
                Upstream::new(upstream)?,
                Cache::new(upstream.cache_size, upstream.serve_stale_secs),
                Failures::new(Duration::from_secs(upstream.failure_cache_secs.into())),
                Duration::from_millis(upstream.timeout_ms),
            )),
            limits,
            listeners: allow
                .into_iter()
                .map(|allow| ListenerRuntime { allow })
                .collect(),
        })
    }

    /// Hands the answers' counts kept in the packet caches to the snapshot's observer.
    pub(crate) fn sweep_cached_counts(&self) {
        let live = self.live.load();
        self.packets.sweep(|hits| live.count_cached_hits(hits));
        self.blocked_packets
            .sweep(|hits| live.count_cached_hits(hits));
    }

    /// Gives the served snapshot's observer the sweeper of this cache.
    pub(crate) fn attach_sweeper(self: &Arc<Self>) {
        if let Some(observer) = self.live.load().snapshot.observer.as_deref() {
            let shared: Weak<dyn SweepCounts> = Arc::downgrade(self) as Weak<Self>;
            observer.attach_sweeper(CacheSweeper(shared));
        }
    }

    /// Swaps in a new snapshot under the next generation; queries in flight finish on the
    /// old one.
    pub(crate) fn replace(&self, snapshot: Snapshot) {
        let generation = self.live.load().generation + 1;
        self.live.store(Arc::new(Live {
            snapshot,
            generation,
        }));
    }
}

impl SweepCounts for Shared {
    fn sweep_cached_counts(&self) {
        Shared::sweep_cached_counts(self);
    }
}

impl Live {
    /// Counts answers kept in a packet-cache entry (swept, or the entry went) for its
    /// listener's profile. Not inlined: on the query path only when an entry that counted
    /// answers goes (and `bench/counting.py` finds its cost by this name).
    #[inline(never)]
    pub(crate) fn count_cached_hits(&self, c: CachedHits<'_>) {
        let observer = self.snapshot.observer.as_deref();
        let profile = self.snapshot.listener_profiles.get(c.listener);
        if let (Some(observer), Some(&profile)) = (observer, profile) {
            observer.observe_cached(profile, c.outcome, c.category, &c.domain, c.hits);
        }
    }
}
