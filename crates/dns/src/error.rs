//! The error that keeps the server from starting.

use std::net::SocketAddr;

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
