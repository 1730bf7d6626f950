//! The state every listener shares: the [`Snapshot`] being served (swapped whole on a
//! reload), the packet caches, the response cache and upstream, the limits and the ACLs.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hedge_policy::{Policy, ProfileId};
use ipnet::IpNet;

use crate::cache::Cache;
use crate::config::{Limits, UpstreamConfig};
use crate::error::DnsError;
use crate::failures::Failures;
use crate::fetch::Fetcher;
use crate::observer::Observer;
use crate::packet_cache::{self, PacketCache};
use crate::upstream::Upstream;

/// Everything a reload replaces, as one immutable value.
pub struct Snapshot {
    /// Profiles and the index.
    pub policy: Arc<Policy>,
    /// The profile of each listener, in the order of the listener configs.
    pub listener_profiles: Vec<ProfileId>,
    /// Who counts the queries.
    pub observer: Option<Arc<dyn Observer>>,
}

/// A listener's static part: its ACL.
pub(crate) struct ListenerRuntime {
    allow: Vec<IpNet>,
}

impl ListenerRuntime {
    /// Whether a client address may use this listener.
    pub(crate) fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allow.iter().any(|net| net.contains(&ip))
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
