//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`). Not an API: the
//! query path's internals stay crate-private for everyone else.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;

use crate::config::{Limits, UpstreamConfig};
use crate::error::DnsError;
pub use crate::query::Transport;
use crate::shared::{Shared, Snapshot};
use crate::wire::FastQuery;

/// What the fast-path parser made of a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Query type.
    pub qtype: u16,
    /// EDNS (payload, DO bit).
    pub edns: Option<(u16, bool)>,
    /// The largest UDP answer the client takes.
    pub max_udp: usize,
    /// The name in presentation form (lower case, no trailing dot), when it is a host name.
    pub name: Option<String>,
}

/// Runs the fast-path parser alone (no server state).
pub fn parse_fast(packet: &[u8]) -> Option<Parsed> {
    let q = FastQuery::parse(packet)?;
    let mut buf = [0u8; 256];
    Some(Parsed {
        qtype: q.qtype,
        edns: q.edns,
        max_udp: q.max_udp(),
        name: q.name(&mut buf).map(str::to_owned),
    })
}

/// A server's shared state without sockets: one listener, its ACL, the given upstream.
pub struct Harness {
    shared: Arc<Shared>,
}

impl Harness {
    /// Builds the state `Server::start` would build for one listener allowing `allow`.
    pub fn new(
        allow: Vec<IpNet>,
        upstream: &UpstreamConfig,
        snapshot: Snapshot,
    ) -> Result<Harness, DnsError> {
        let shared = Shared::new(vec![allow], upstream, Limits::default(), snapshot)?;
        Ok(Harness {
            shared: Arc::new(shared),
        })
    }

    /// The UDP fast path: the answer's length in `out`, or None for the full path.
    pub fn fast_answer(&self, packet: &[u8], client: IpAddr, out: &mut Vec<u8>) -> Option<usize> {
        let arrival = crate::fast_path::Arrival {
            listener: 0,
            client,
            received: Instant::now(),
        };
        crate::fast_path::fast_answer(&self.shared, arrival, packet, out)
    }

    /// The full path, unguarded: a panic reaches the fuzzer instead of becoming SERVFAIL.
    pub async fn handle(
        &self,
        packet: &[u8],
        client: IpAddr,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        crate::query::handle(&self.shared, 0, packet, client, transport).await
    }
}
