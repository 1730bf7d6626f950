//! Sockets and connections: HTTP/1.1 by hyper, TLS by tokio-rustls, each connection held
//! to the limits (a slot among `max_connections`, a deadline for its headers, a lifetime).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::slots::Slots;
use crate::{Limits, PortalError};

/// The largest request head (request line and headers) hyper buffers.
const MAX_HEAD: usize = 16 * 1024;

/// Binds `addr` (with SO_REUSEADDR, so a restart finds its port at once).
pub(crate) fn bind(addr: SocketAddr) -> Result<TcpListener, PortalError> {
    let failed = |source| PortalError::Bind { addr, source };
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(failed)?;
    socket.set_reuseaddr(true).map_err(failed)?;
    socket.bind(addr).map_err(failed)?;
    socket.listen(1024).map_err(failed)
}

/// Accepts connections on `listener` for ever; a connection beyond the caps (in all, or
/// from its client) is closed at once.
pub(crate) fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    slots: Arc<Slots>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept: wait a
                    // moment rather than spin.
                    tracing::warn!("portal: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(slot) = slots.take(peer.ip()) else {
                tracing::debug!("portal: {peer} refused: too many connections open");
                drop(stream);
                continue;
            };
            let router = router.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let connection = async {
                    match tls {
                        // The handshake is held to the deadline of a request's head.
                        Some(acceptor) => {
                            let handshake = acceptor.accept(stream);
                            match tokio::time::timeout(limits.header_timeout, handshake).await {
                                Ok(Ok(s)) => http(s, peer, router, &limits).await,
                                Ok(Err(e)) => tracing::debug!("portal: TLS from {peer}: {e}"),
                                Err(_) => tracing::debug!("portal: TLS from {peer}: too slow"),
                            }
                        }
                        None => http(stream, peer, router, &limits).await,
                    }
                };
                // The lifetime bounds everything, the TLS handshake and slow bodies too.
                if tokio::time::timeout(limits.connection_timeout, connection)
                    .await
                    .is_err()
                {
                    tracing::debug!(
                        "portal: {peer} cut off after {:?}",
                        limits.connection_timeout
                    );
                }
            });
        }
    })
}

/// Serves HTTP/1.1 on one connection; every request carries the peer's address.
async fn http<S>(stream: S, peer: SocketAddr, router: Router, limits: &Limits)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = served {
        tracing::debug!("portal: connection from {peer}: {e}");
    }
}
