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
//! UDP queries first try the fast path (`wire`): a zero-copy parse, a packet cache of
//! encoded answers (only the id, flags, name case and TTLs are patched), and sinkholes
//! written straight to the wire, all batched with `recvmmsg`/`sendmmsg`. Anything it cannot
//! answer takes the full path above; both ask the same
//! [`hedge_policy::Policy::decide`].
//!
//! Listeners are hedge's own sockets, one per bound address (hickory-server's handler
//! cannot see the local address and answers pipelined TCP queries one at a time): a thread
//! per UDP socket blocked in `recvmmsg` (`udp`), tokio tasks for TCP and the full path;
//! hickory-proto parses and encodes, hickory-resolver recurses or forwards.
//!
//! Policy and index live in a [`Snapshot`]; [`Server::reload`] swaps in a new one atomically,
//! so a reload never drops a query and a failed reload (built by the caller) changes nothing.
//! This crate does not parse lists or store statistics.
//!
//! Where things live:
//!
//! | module | job |
//! |---|---|
//! | `server` | [`Server`]: binds the listeners, starts them, reloads |
//! | `shared` | [`Snapshot`] and the state every listener shares (caches, upstream, ACLs) |
//! | `udp`, `mmsg`, `tcp`, `tcp_slots` | the listeners: the ACL check, batching, TCP connection slots |
//! | `query` | the query path, fast and full: policy, cache or upstream, CNAME checks |
//! | `answer` | responses built with hickory: sinkholes and their EDE texts, truncation |
//! | `wire` | the fast path's zero-copy parse and the answers it writes as bytes |
//! | `packet_cache`, `cache`, `failures`, `clock` | encoded answers, resolved answers, recent upstream failures, and the eviction they share |
//! | `fetch`, [`upstream`], `upstream_socket`, `upstream_tls` | asking upstream: one fetch per question, recursion or forwarding |
//! | `observer` | [`Observer`]: what each answered query is counted as |
//! | `config`, `error` | the settings ([`ListenerConfig`], [`UpstreamConfig`], [`Limits`]) and [`DnsError`] |

#![deny(missing_docs)]
// Internals are `pub(crate)`; what is `pub` is re-exported below (or by `fuzz`).
#![deny(unreachable_pub)]

mod answer;
mod cache;
mod clock;
mod config;
mod error;
mod failures;
mod fast_path;
mod fetch;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
mod mmsg;
mod observer;
mod packet_cache;
mod portal_name;
mod query;
mod server;
mod shared;
mod tcp;
mod tcp_slots;
#[cfg(test)]
mod test_support;
mod udp;
pub mod upstream;
mod upstream_socket;
mod upstream_tls;
mod wire;

pub use answer::decode_ede;
pub use config::{
    ForwardProtocol, ForwardServer, Limits, ListenerConfig, ListenerNetwork, UpstreamConfig,
    UpstreamMode,
};
pub use error::DnsError;
pub use observer::{CacheSweeper, Observation, Observer, Outcome};
pub use portal_name::PortalName;
pub use server::Server;
pub use shared::{LiveProfiles, Snapshot};
pub use upstream::{Upstream, UpstreamError};
