//! [`FakeInternet`]: the standard hierarchy, one server per zone on port 53 of its own
//! loopback address.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use crate::netns;
use crate::serve::{Running, Sockets};
use crate::server::ZoneServer;
use crate::zones::{HIERARCHY, ZoneSpec};

/// The first two octets of every fake internet's network: instance `N` uses `127.53.N.0/24`.
const NETWORK_PREFIX: [u8; 2] = [127, 53];

/// Where the next [`FakeInternet::start`] in this process begins its search for a free
/// network, so instances in one process do not all probe the same addresses.
static NEXT_NETWORK: AtomicU8 = AtomicU8::new(0);

/// The standard DNS hierarchy (root, TLDs, leaf zones; see [`crate::names`]) served on
/// loopback, one authoritative server per zone on UDP and TCP port 53.
///
/// The servers run on a background thread with their own runtime, so they keep answering
/// while the test blocks. Dropping the value stops them.
pub struct FakeInternet {
    network: [u8; 3],
    counters: Vec<(&'static str, Arc<AtomicU64>)>,
    running: Running,
}

impl FakeInternet {
    /// Starts the standard hierarchy on the first free network `127.53.N.0/24`.
    ///
    /// Each network is tried by binding its servers' addresses in a fixed order; a network
    /// where any address is taken (by another test or test binary) is released and the next
    /// one tried, so concurrent instances, in this process or others, never share one.
    ///
    /// # Errors
    ///
    /// When port 53 on loopback cannot be bound at all (no privilege), or all 256 networks are
    /// busy. The message says which and what to do.
    pub async fn start() -> io::Result<FakeInternet> {
        let first = NEXT_NETWORK.fetch_add(1, Ordering::Relaxed);
        // Spread processes apart too: two test binaries starting at once begin elsewhere.
        let first = first.wrapping_add((std::process::id() % 256) as u8);
        for step in 0..=u8::MAX {
            let network = [
                NETWORK_PREFIX[0],
                NETWORK_PREFIX[1],
                first.wrapping_add(step),
            ];
            match bind_all(network) {
                Ok(sockets) => return Self::serve(network, sockets).await,
                Err(error) if error.kind() == io::ErrorKind::AddrInUse => continue,
                Err(error) => return Err(explain(network, error)),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "hedge-testkit: every network 127.53.0.0/24 ..= 127.53.255.0/24 has a busy port 53; \
             stop the other fake internets or pick one with FakeInternet::start_on",
        ))
    }

    /// [`FakeInternet::start`] for tests, which cannot run without it.
    ///
    /// A user who may not bind port 53 gets it in the test binary's own network namespace
    /// (see [`port_53_for_any_user!`](crate::port_53_for_any_user), which the binary must
    /// declare).
    ///
    /// # Panics
    ///
    /// On any error, and so fails the test: never skip it. When port 53 cannot be bound, the
    /// message says why and how to run the tests.
    pub async fn start_for_test() -> FakeInternet {
        match Self::start().await {
            Ok(internet) => internet,
            Err(error) => panic!("{error}"),
        }
    }

    /// Starts the standard hierarchy on the given network: `base` must be a loopback address
    /// ending in `.0` (say `127.54.0.0`); servers listen on `base + host` for each zone's
    /// host number.
    ///
    /// # Errors
    ///
    /// When `base` is not a loopback `.0` address, or its port 53 addresses cannot be bound
    /// (in use, or no privilege).
    pub async fn start_on(base: Ipv4Addr) -> io::Result<FakeInternet> {
        let [a, b, c, d] = base.octets();
        if !base.is_loopback() || d != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "hedge-testkit: {base} is not a loopback network address; \
                     use one like 127.54.0.0 (127.0.0.0/8, last octet 0)"
                ),
            ));
        }
        let network = [a, b, c];
        let sockets = bind_all(network).map_err(|error| explain(network, error))?;
        Self::serve(network, sockets).await
    }

    async fn serve(network: [u8; 3], sockets: Vec<Sockets>) -> io::Result<FakeInternet> {
        let mut servers = Vec::with_capacity(HIERARCHY.len());
        let mut counters = Vec::with_capacity(HIERARCHY.len());
        for (spec, sockets) in HIERARCHY.iter().zip(sockets) {
            let server = ZoneServer::new(vec![spec.load(network)?])?;
            counters.push((spec.origin, server.counter()));
            servers.push((server, sockets));
        }
        let running = Running::start(servers).await?;
        tracing::debug!(
            network = %Ipv4Addr::new(network[0], network[1], network[2], 0),
            "hedge-testkit: fake internet started"
        );
        Ok(FakeInternet {
            network,
            counters,
            running,
        })
    }

    /// Root server addresses to use as root hints (IPv4 loopback; queries go to port 53).
    pub fn root_hints(&self) -> Vec<IpAddr> {
        self.spec_for(".")
            .map(|spec| IpAddr::V4(spec.address(self.network)))
            .into_iter()
            .collect()
    }

    /// The address of the server authoritative for `zone` (`"example.com."`, with or
    /// without the trailing dot, any case), or `None` if the hierarchy has no such zone.
    pub fn server_for(&self, zone: &str) -> Option<SocketAddr> {
        self.spec_for(zone)
            .map(|spec| SocketAddr::new(IpAddr::V4(spec.address(self.network)), 53))
    }

    /// Stops every server (simulates "upstream down"): UDP queries go unanswered, so
    /// clients time out, and TCP connections are refused. The addresses stay reserved until
    /// the value is dropped, so no other instance can start on them and answer in their
    /// place. Idempotent; dropping the value stops the servers too.
    pub fn shutdown(&mut self) {
        self.running.stop();
    }

    /// The number of queries answered by all servers together since start, over UDP and
    /// TCP; a query is counted before its answer is sent. Lets tests assert that a
    /// resolver answered from its cache.
    pub fn queries_answered(&self) -> u64 {
        self.counters
            .iter()
            .map(|(_, counter)| counter.load(Ordering::Relaxed))
            .sum()
    }

    /// The number of queries answered by the server for `zone`, or `None` if the hierarchy
    /// has no such zone.
    pub fn queries_answered_by(&self, zone: &str) -> Option<u64> {
        let zone = normalise(zone);
        self.counters
            .iter()
            .find(|(origin, _)| *origin == zone)
            .map(|(_, counter)| counter.load(Ordering::Relaxed))
    }

    /// The network's first three octets: servers listen on `a.b.c.<host>`.
    pub fn network(&self) -> [u8; 3] {
        self.network
    }

    fn spec_for(&self, zone: &str) -> Option<&'static ZoneSpec> {
        let zone = normalise(zone);
        HIERARCHY.iter().find(|spec| spec.origin == zone)
    }
}

impl std::fmt::Debug for FakeInternet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c] = self.network;
        f.debug_struct("FakeInternet")
            .field("network", &format_args!("{a}.{b}.{c}.0/24"))
            .field("queries_answered", &self.queries_answered())
            .finish()
    }
}

/// `zone` lower-cased and fully qualified: `"Example.COM"` → `"example.com."`.
fn normalise(zone: &str) -> String {
    let mut zone = zone.to_ascii_lowercase();
    if !zone.ends_with('.') {
        zone.push('.');
    }
    zone
}

/// Binds port 53 for every zone of the hierarchy in `network`, in the fixed order of
/// [`HIERARCHY`] (so two processes racing for one network cannot deadlock each other).
fn bind_all(network: [u8; 3]) -> io::Result<Vec<Sockets>> {
    HIERARCHY
        .iter()
        .map(|spec| Sockets::bind(SocketAddr::new(IpAddr::V4(spec.address(network)), 53)))
        .collect()
}

/// Adds what failed and what to do to a bind error.
fn explain(network: [u8; 3], error: io::Error) -> io::Error {
    let [a, b, c] = network;
    let what = format!("hedge-testkit: cannot bind port 53 on {a}.{b}.{c}.0/24: {error}");
    let hint = match error.kind() {
        io::ErrorKind::PermissionDenied => {
            return io::Error::new(error.kind(), format!("{what}. {}", netns::how_to_run()));
        }
        io::ErrorKind::AddrInUse => "another fake internet or DNS server is using it",
        io::ErrorKind::AddrNotAvailable => {
            "this system does not route all of 127.0.0.0/8 to loopback (Linux does)"
        }
        _ => "check that loopback is up",
    };
    io::Error::new(error.kind(), format!("{what} ({hint})"))
}
