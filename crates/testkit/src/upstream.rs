//! [`Upstream`]: one server that knows every zone, a target for forwarding tests.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::serve::{Running, Sockets};
use crate::server::ZoneServer;
use crate::zones::HIERARCHY;

/// How many times a port-0 bind is retried when UDP gets a port that TCP cannot have.
const BIND_ATTEMPTS: usize = 16;

/// The network written into the zones' glue records. [`Upstream`] answers every name
/// itself, so no client is ever sent to these addresses.
const GLUE_NETWORK: [u8; 3] = [127, 53, 255];

/// A single authoritative server for every zone of the standard hierarchy (see
/// [`crate::names`]), on any loopback address and port: the upstream a forwarding resolver
/// is pointed at.
///
/// It answers with the data of the most specific zone it holds, authoritatively (AA=1),
/// UDP and TCP. Like any authoritative server it does not follow a CNAME into another zone:
/// `alias.example.com. A` is answered with the CNAME alone, and the client asks again for
/// `www.example.net.` (hickory's resolver does).
pub struct Upstream {
    addr: SocketAddr,
    answered: Arc<AtomicU64>,
    running: Running,
}

impl Upstream {
    /// Starts the server on `addr`. Port 0 picks a free port (the same for UDP and TCP);
    /// see [`Upstream::addr`].
    ///
    /// # Errors
    ///
    /// When `addr` is not a loopback address or cannot be bound.
    pub async fn start(addr: SocketAddr) -> io::Result<Upstream> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "hedge-testkit: {addr} is not a loopback address; tests bind only loopback"
                ),
            ));
        }
        let sockets = bind(addr)?;
        let addr = sockets.local_addr()?;
        let server = every_zone()?;
        let answered = server.counter();
        let running = Running::start(vec![(server, sockets)]).await?;
        Ok(Upstream {
            addr,
            answered,
            running,
        })
    }

    /// Starts the server on `127.0.0.1` with a free port.
    ///
    /// # Errors
    ///
    /// When no port can be bound on `127.0.0.1`.
    pub async fn start_local() -> io::Result<Upstream> {
        Self::start(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 0)).await
    }

    /// The address the server listens on, UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The number of queries answered since start (counted before the answer is sent).
    pub fn queries_answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Stops the server (simulates "upstream down"): UDP queries go unanswered, TCP
    /// connections are refused, and the address stays reserved until drop. Idempotent;
    /// dropping stops the server too.
    pub fn shutdown(&mut self) {
        self.running.stop();
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("addr", &self.addr)
            .field("queries_answered", &self.queries_answered())
            .finish()
    }
}

/// A server answering for every zone of the standard hierarchy.
pub(crate) fn every_zone() -> io::Result<ZoneServer> {
    let zones = HIERARCHY
        .iter()
        .map(|spec| spec.load(GLUE_NETWORK))
        .collect::<io::Result<Vec<_>>>()?;
    ZoneServer::new(zones)
}

/// Binds `addr`; with port 0, retries when the port UDP got is taken for TCP.
fn bind(addr: SocketAddr) -> io::Result<Sockets> {
    let attempts = if addr.port() == 0 { BIND_ATTEMPTS } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        match Sockets::bind(addr) {
            Ok(sockets) => return Ok(sockets),
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => last = Some(error),
            Err(error) => return Err(with_addr(addr, error)),
        }
    }
    Err(with_addr(
        addr,
        last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)),
    ))
}

fn with_addr(addr: SocketAddr, error: io::Error) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("hedge-testkit: cannot bind {addr} (UDP and TCP): {error}"),
    )
}
