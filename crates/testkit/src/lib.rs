//! Test support for hedge: an in-process fake DNS internet on loopback.
//!
//! No hedge test reaches the real internet. Instead, [`FakeInternet::start`] serves a small
//! DNS hierarchy (a root, the `com.`, `net.`, `org.`, `uk.` and `co.uk.` registries, and the
//! leaf zones listed in [`names`]) from authoritative servers on port 53 of distinct loopback
//! addresses, `127.53.N.<host>`, UDP and TCP. A resolver given [`FakeInternet::root_hints`]
//! recurses through it exactly as it would through the real one: referrals with glue, CNAME
//! chains across zones, NXDOMAIN with the SOA, answers too big for UDP.
//!
//! # Parts
//!
//! - [`FakeInternet`]: the hierarchy, one server per zone; root hints, per-zone server
//!   addresses, query counters (to tell a cache hit from a lookup), shutdown ("upstream down").
//! - [`Upstream`]: one server that knows every zone, on any loopback address and port; the
//!   target for forwarding tests.
//! - [`names`]: every name, address and zone as constants, and the table of cases they test.
//! - [`client`]: a bare UDP/TCP client to check exactly what a server sent.
//! - The `fake-internet` binary (`src/bin/fake-internet.rs`): the hierarchy as a process, for
//!   tools that are not Rust tests (`bench/differential.py` compares hedge with Unbound on it).
//!
//! Zone data lives in zone files (`crates/testkit/zones/*.zone`), parsed by hickory's zone
//! parser and served by hickory-server's in-memory zone handlers. Two things are added on top
//! (see the `server` module): the referral, as hickory's in-memory zones give no glue, and
//! NODATA for a wildcard-covered name of a type the wildcard lacks (hickory says NXDOMAIN). The
//! servers run on a thread with their own tokio runtime, so tests may block, and any runtime
//! flavour works.
//!
//! # Example
//!
//! ```
//! use hedge_testkit::{FakeInternet, client, names};
//! use hickory_proto::rr::{RData, RecordType};
//!
//! // Once per test binary: lets any user bind port 53 (see below).
//! hedge_testkit::port_53_for_any_user!();
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let internet = FakeInternet::start_for_test().await;
//! let server = internet.server_for("example.com.").expect("a standard zone");
//! let response = client::query_udp(server, names::WWW_EXAMPLE_COM, RecordType::A).await?;
//! assert!(matches!(response.answers[0].data, RData::A(a) if a.0 == names::WWW_EXAMPLE_COM_A));
//! assert_eq!(internet.queries_answered(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Pointing a resolver at it
//!
//! - hickory's recursor: roots from [`FakeInternet::root_hints`], and
//!   `RecursorOptions { deny_server: Vec::new(), .. }`, because by default it refuses to
//!   query loopback addresses (`tests/recursor.rs` does exactly this).
//! - A forwarder: an [`Upstream`], whose port is not 53 (`tests/upstream.rs`).
//! - To tell a cache hit from a lookup, compare [`FakeInternet::queries_answered`] before
//!   and after; to simulate an outage, [`FakeInternet::shutdown`].
//!
//! # Port 53 without root
//!
//! Binding port 53 needs root or `CAP_NET_BIND_SERVICE`. A test binary that declares
//! [`port_53_for_any_user!`] gets it for any user: when it may not bind port 53, it moves
//! itself, before `main`, into a new user and network namespace of its own, where it is root
//! of a private loopback (unprivileged user namespaces must be enabled, as they are by
//! default on most distributions). [`FakeInternet::start_for_test`] panics when port 53
//! still cannot be bound, saying why and how to run the tests: a test never passes without
//! its servers.
//!
//! # What it does not do
//!
//! No DNSSEC, no IPv6 servers (AAAA records are served, over IPv4), no dynamic updates or
//! zone transfers, and no recursion: every server is authoritative only. It is a
//! dev-dependency only.

#![deny(missing_docs)]

pub mod client;
mod internet;
pub mod names;
#[doc(hidden)]
pub mod netns;
mod serve;
mod server;
pub mod tls;
mod upstream;
mod zones;

pub use internet::FakeInternet;
pub use tls::TlsUpstream;
pub use upstream::Upstream;
