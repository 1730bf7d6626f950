//! The hedge resolver: per-profile listeners, ACLs, the filtering query path, the response
//! cache and upstream resolution.
//!
//! ```text
//! client ─UDP/TCP─▶ listener (bound to one address, serves one profile)
//!   1. ACL: client in the listener's `allow` subnets?  no → UDP: REFUSED + EDE 18, written
//!      on the receiving thread; TCP: closed at accept, before it takes a slot
//!   2. parse (FORMERR on garbage; a panic becomes SERVFAIL, never a dropped query);
//!      EDNS version ≠ 0 → BADVERS; AXFR/IXFR/meta types → REFUSED/NOTIMP; ANY → HINFO
//!   3. Policy::decide(profile, qname) ─▶ Block → sinkhole + EDE 15/17 naming the category
//!                                      ─▶ Rewrite → CNAME to the safe endpoint + its answer
//!                                      ─▶ Allow → cache or upstream (recursor/forwarder),
//!                                               every CNAME target checked again
//!   4. the Observer counts it (statistics and metrics live outside this crate)
//! ```
//!
//! UDP queries first try the fast path ([`wire`]): a zero-copy parse, a packet cache of
//! encoded answers (only the id, flags, name case and TTLs are patched), and sinkholes
//! written straight to the wire, all batched with `recvmmsg`/`sendmmsg`. Anything it cannot
//! answer takes the full path above; both ask the same [`Policy::decide`].
//!
//! Listeners are hedge's own sockets, one per bound address (hickory-server's handler
//! cannot see the local address and answers pipelined TCP queries one at a time): a thread
//! per UDP socket blocked in `recvmmsg` ([`udp`]), tokio tasks for TCP and the full path;
//! hickory-proto parses and encodes, hickory-resolver recurses or forwards.
//!
//! Policy and index live in a [`Snapshot`]; [`Server::reload`] swaps in a new one atomically,
//! so a reload never drops a query and a failed reload (built by the caller) changes nothing.
//! This crate does not parse lists or store statistics.

#![deny(missing_docs)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hedge_lists::CategoryIdx;
use hedge_policy::{Policy, ProfileId};
use ipnet::IpNet;
use tokio::task::JoinHandle;

pub mod answer;
pub mod cache;
mod clock;
pub mod config;
pub mod failures;
pub mod fetch;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
mod mmsg;
pub mod packet_cache;
pub mod query;
mod tcp;
mod tcp_slots;
mod udp;
pub mod upstream;
mod upstream_socket;
mod upstream_tls;
pub mod wire;

pub use config::{
    ForwardProtocol, ForwardServer, Limits, ListenerConfig, UpstreamConfig, UpstreamMode,
};
pub use upstream::{Upstream, UpstreamError};

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// A setting cannot work; the message names the key.
    #[error("{0}")]
    Config(String),
    /// A socket could not be bound.
    #[error(
        "cannot listen on {proto} {addr}: {source} (is another DNS server using it, or is the address not on this host?)"
    )]
    Bind {
        /// udp or tcp.
        proto: &'static str,
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// What happened to a query, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Resolved and answered.
    Allowed,
    /// Sinkholed (categories, custom lists, walled garden, bypass controls).
    Blocked,
    /// SafeSearch / restricted-mode rewrite.
    Rewritten,
    /// REFUSED (ACL, unsupported class).
    Refused,
    /// SERVFAIL (upstream failure, internal error) or FORMERR/NOTIMP.
    Servfail,
}

/// One answered query, as an [`Observer`] sees it.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    /// The client's address: only for the opt-in raw query log; statistics never keep it.
    pub client: IpAddr,
    /// The query type (0 when the packet had no usable question).
    pub qtype: u16,
    /// The listener's profile.
    pub profile: ProfileId,
    /// The category it was blocked for, or its first category when listed and allowed; for
    /// a block no category explains, the rule's label (an index into
    /// [`Policy::count_labels`], past the taxonomy's categories).
    pub category: Option<CategoryIdx>,
    /// What happened.
    pub outcome: Outcome,
    /// The query name, lower case, no trailing dot (None when the packet had no usable question).
    pub qname: Option<&'a str>,
    /// The domain a block is counted under: the listed name for a category block (random
    /// subdomains of a listed site count as the site), else the query name.
    pub domain: Option<&'a str>,
    /// Answered from the response cache.
    pub cache_hit: bool,
    /// Why upstream resolution failed, if it did: `timeout` or `error`.
    pub upstream_error: Option<&'static str>,
}

/// Receives every answered query (statistics, metrics). Called on the query path: keep it cheap.
pub trait Observer: Send + Sync {
    /// One query was answered; it arrived at `received` (an observer that records latency
    /// reads the clock itself, so one that does not costs no clock read).
    fn observe(&self, policy: &Policy, observation: &Observation<'_>, received: Instant);

    /// Whether [`Observation::qname`] is wanted for queries that were not blocked (a raw
    /// query log). When false, the fast path skips writing out the names of cached answers.
    fn wants_every_name(&self) -> bool {
        true
    }
}

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
pub struct ListenerRuntime {
    allow: Vec<IpNet>,
}

impl ListenerRuntime {
    /// Whether a client address may use this listener.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allow.iter().any(|net| net.contains(&ip))
    }
}

/// The snapshot being served and its generation (packet-cache entries of older
/// generations are never served).
pub struct Live {
    snapshot: Snapshot,
    generation: u64,
}

/// Encoded answers of resolved names kept for reuse.
const PACKET_CACHE_SIZE: usize = 32_768;
/// Encoded sinkhole answers kept for reuse: a cache of their own, so a flood of random
/// blocked names cannot push the resolved answers out.
const BLOCKED_CACHE_SIZE: usize = 4_096;

/// State shared by every listener task.
pub struct Shared {
    live: ArcSwap<Live>,
    /// Seed of the packet caches' key hashes.
    key_seed: u64,
    packets: packet_cache::PacketCache,
    blocked_packets: packet_cache::PacketCache,
    /// The response cache, recent failures and upstream.
    fetcher: Arc<fetch::Fetcher>,
    limits: Limits,
    listeners: Vec<ListenerRuntime>,
}

impl Shared {
    /// The state every listener shares: `allow` holds each listener's ACL, in order.
    fn new(
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
            packets: packet_cache::PacketCache::new(PACKET_CACHE_SIZE),
            blocked_packets: packet_cache::PacketCache::new(BLOCKED_CACHE_SIZE),
            fetcher: Arc::new(fetch::Fetcher::new(
                Upstream::new(upstream)?,
                cache::Cache::new(upstream.cache_size, upstream.serve_stale_secs),
                failures::Failures::new(Duration::from_secs(upstream.failure_cache_secs.into())),
                Duration::from_millis(upstream.timeout_ms),
            )),
            limits,
            listeners: allow
                .into_iter()
                .map(|allow| ListenerRuntime { allow })
                .collect(),
        })
    }
}

/// A running resolver.
pub struct Server {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    udp: Vec<udp::UdpListener>,
    bound: Vec<(usize, &'static str, SocketAddr)>,
}

impl Server {
    /// Binds every listener address (UDP and TCP) and starts serving `snapshot`.
    /// Must be called inside a tokio runtime.
    pub fn start(
        listeners: &[ListenerConfig],
        upstream: &UpstreamConfig,
        limits: Limits,
        snapshot: Snapshot,
    ) -> Result<Server, DnsError> {
        if snapshot.listener_profiles.len() != listeners.len() {
            return Err(DnsError::Config(
                "snapshot does not match the listeners".into(),
            ));
        }
        let allow = listeners.iter().map(|l| l.allow.clone()).collect();
        let shared = Arc::new(Shared::new(allow, upstream, limits, snapshot)?);
        let mut server = Server {
            shared: shared.clone(),
            tasks: Vec::new(),
            udp: Vec::new(),
            bound: Vec::new(),
        };
        for (i, l) in listeners.iter().enumerate() {
            for &addr in &l.bind {
                if l.udp {
                    let socket = udp::bind(addr).map_err(|source| DnsError::Bind {
                        proto: "udp",
                        addr,
                        source,
                    })?;
                    server
                        .bound
                        .push((i, "udp", socket.local_addr().unwrap_or(addr)));
                    let runtime = tokio::runtime::Handle::current();
                    let started = udp::UdpListener::start(socket, shared.clone(), i, runtime);
                    server.udp.push(started.map_err(|source| DnsError::Bind {
                        proto: "udp",
                        addr,
                        source,
                    })?);
                }
                if l.tcp {
                    let socket = tcp::bind(addr).map_err(|source| DnsError::Bind {
                        proto: "tcp",
                        addr,
                        source,
                    })?;
                    server
                        .bound
                        .push((i, "tcp", socket.local_addr().unwrap_or(addr)));
                    server
                        .tasks
                        .push(tokio::spawn(tcp::serve(socket, shared.clone(), i)));
                }
            }
        }
        Ok(server)
    }

    /// Swaps in a new snapshot; queries in flight finish on the old one.
    pub fn reload(&self, snapshot: Snapshot) -> Result<(), DnsError> {
        if snapshot.listener_profiles.len() != self.shared.listeners.len() {
            return Err(DnsError::Config("the new configuration has a different number of listeners; restart hedge to change listeners".into()));
        }
        let generation = self.shared.live.load().generation + 1;
        self.shared.live.store(Arc::new(Live {
            snapshot,
            generation,
        }));
        Ok(())
    }

    /// Bound sockets: (listener index, "udp"/"tcp", address).
    pub fn bound(&self) -> &[(usize, &'static str, SocketAddr)] {
        &self.bound
    }

    /// Answers in the response cache.
    pub fn cache_len(&self) -> usize {
        self.shared.fetcher.cache.len()
    }

    /// Stops every listener.
    pub fn shutdown(self) {
        drop(self.udp);
        for t in self.tasks {
            t.abort();
        }
    }
}
