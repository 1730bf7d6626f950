//! [`TlsUpstream`]: every zone of the standard hierarchy over DoT and DoH.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls::ServerConfig;

use super::pki::{Issued, TestCa};
use crate::serve::{Register, Running};
use crate::upstream::every_zone;

/// A connection that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// One authoritative server for every zone (see [`crate::Upstream`] for what it answers),
/// over DNS over TLS and DNS over HTTPS on two free ports of `127.0.0.1`. Its certificate
/// is issued for one name by a CA made at start ([`TlsUpstream::ca_pem`]), so only a client
/// told to trust that CA, and asking for that name, accepts it.
pub struct TlsUpstream {
    dot: SocketAddr,
    doh: SocketAddr,
    tls_name: String,
    ca_pem: String,
    answered: Arc<AtomicU64>,
    _running: Running,
}

impl TlsUpstream {
    /// The HTTP path DoH queries are served on.
    pub const DOH_PATH: &'static str = "/dns-query";

    /// Starts DoT and DoH with a certificate for `tls_name` from a new private CA.
    ///
    /// # Errors
    ///
    /// When the certificates cannot be made or no port can be bound on `127.0.0.1`.
    pub async fn start_local(tls_name: &str) -> io::Result<TlsUpstream> {
        let ca = TestCa::new("hedge-testkit private CA")?;
        let dot = bind()?;
        let doh = bind()?;
        let (dot_addr, doh_addr) = (dot.local_addr()?, doh.local_addr()?);
        let dot_config = server_config(ca.issue(tls_name)?, b"dot")?;
        let doh_config = server_config(ca.issue(tls_name)?, b"h2")?;
        let host = tls_name.to_string();
        let register: Register = Box::new(move |server| {
            server.register_tls_listener_with_tls_config(
                tokio::net::TcpListener::from_std(dot)?,
                HANDSHAKE_TIMEOUT,
                dot_config,
            )?;
            server.register_https_listener_with_tls_config(
                tokio::net::TcpListener::from_std(doh)?,
                HANDSHAKE_TIMEOUT,
                doh_config,
                Some(host),
                Self::DOH_PATH.into(),
            )
        });
        let handler = every_zone()?;
        let answered = handler.counter();
        let running = Running::start_with(vec![(handler, register)], Vec::new()).await?;
        Ok(TlsUpstream {
            dot: dot_addr,
            doh: doh_addr,
            tls_name: tls_name.to_string(),
            ca_pem: ca.pem(),
            answered,
            _running: running,
        })
    }

    /// The DNS-over-TLS address.
    pub fn dot_addr(&self) -> SocketAddr {
        self.dot
    }

    /// The DNS-over-HTTPS address (path [`TlsUpstream::DOH_PATH`]).
    pub fn doh_addr(&self) -> SocketAddr {
        self.doh
    }

    /// The name the certificate is valid for.
    pub fn tls_name(&self) -> &str {
        &self.tls_name
    }

    /// The PEM certificate of the CA that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Queries answered since start, over both protocols.
    pub fn queries_answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for TlsUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsUpstream")
            .field("dot", &self.dot)
            .field("doh", &self.doh)
            .field("tls_name", &self.tls_name)
            .field("queries_answered", &self.queries_answered())
            .finish()
    }
}

fn bind() -> io::Result<TcpListener> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("hedge-testkit: cannot bind a TLS port on 127.0.0.1: {e}"),
        )
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A TLS server configuration presenting `issued`, offering the ALPN protocol `alpn`
/// (`dot` for DoT, `h2` for DoH).
fn server_config(issued: Issued, alpn: &[u8]) -> io::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(issued.chain, issued.key)
        })
        .map_err(|e| io::Error::other(format!("hedge-testkit: TLS server config: {e}")))?;
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}
