//! hickory's tokio runtime with upstream UDP sockets that report ICMP errors.
//!
//! hickory sends each UDP query from a fresh socket that is not connected, so the kernel
//! drops the ICMP "port unreachable" of a server with nothing listening, and the query
//! waits out the whole timeout. Here each socket is connected to its server, so the kernel
//! reports the error on it; and since tokio wakes a pending receive only for data (an
//! EPOLLERR alone wakes no reader), the socket also waits for error readiness and turns
//! it into the receive's error. hickory then fails that server at once and tries the next.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use hickory_resolver::net::runtime::{
    DnsUdpSocket, RuntimeProvider, TokioHandle, TokioRuntimeProvider, TokioTime,
};
use tokio::io::{Interest, ReadBuf};

/// [`TokioRuntimeProvider`] with [`UpstreamUdp`] sockets.
#[derive(Clone, Default)]
pub(crate) struct Runtime(TokioRuntimeProvider);

impl RuntimeProvider for Runtime {
    type Handle = TokioHandle;
    type Timer = TokioTime;
    type Udp = UpstreamUdp;
    type Tcp = <TokioRuntimeProvider as RuntimeProvider>::Tcp;

    fn create_handle(&self) -> Self::Handle {
        self.0.create_handle()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = io::Result<Self::Tcp>>>> {
        self.0.connect_tcp(server_addr, bind_addr, timeout)
    }

    fn bind_udp(
        &self,
        local_addr: SocketAddr,
        server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = io::Result<Self::Udp>>>> {
        Box::pin(async move {
            let socket = tokio::net::UdpSocket::bind(local_addr).await?;
            // Connected: the kernel reports ICMP errors only to connected sockets (without
            // IP_RECVERR), and delivers only the server's datagrams. hickory sends with
            // send_to to the same address, which a connected socket accepts.
            socket.connect(server_addr).await?;
            Ok(UpstreamUdp::new(socket))
        })
    }
}

/// A connected UDP socket whose receive fails as soon as the kernel reports an error on it
/// (ICMP port or host unreachable), instead of waiting for data that will never come.
pub(crate) struct UpstreamUdp {
    socket: Arc<tokio::net::UdpSocket>,
    /// Resolves when the socket has an error pending; None once it has fired (each socket
    /// carries one query, so one report is all it waits for).
    error: Mutex<Option<BoxFuture<'static, io::Result<tokio::io::Ready>>>>,
}

impl UpstreamUdp {
    fn new(socket: tokio::net::UdpSocket) -> UpstreamUdp {
        let socket = Arc::new(socket);
        let watched = socket.clone();
        let error: BoxFuture<'static, _> =
            Box::pin(async move { watched.ready(Interest::ERROR).await });
        UpstreamUdp {
            socket,
            error: Mutex::new(Some(error)),
        }
    }
}

impl DnsUdpSocket for UpstreamUdp {
    type Time = TokioTime;

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let mut read = ReadBuf::new(buf);
        if let Poll::Ready(from) = self.socket.poll_recv_from(cx, &mut read) {
            return Poll::Ready(from.map(|addr| (read.filled().len(), addr)));
        }
        let mut error = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(watch) = error.as_mut() else {
            return Poll::Pending;
        };
        if watch.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        *error = None;
        match self.socket.take_error() {
            Ok(Some(e)) | Err(e) => Poll::Ready(Err(e)),
            // Reported but already taken: keep waiting for data (the receive's waker is set).
            Ok(None) => Poll::Pending,
        }
    }

    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.socket.poll_send_to(cx, buf, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query to a port with nothing listening fails as soon as the ICMP error arrives.
    #[tokio::test]
    async fn a_receive_fails_at_once_when_nothing_listens() {
        // Bound and dropped: nothing listens on the port now.
        let dead = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free port");
        let socket = Runtime::default()
            .bind_udp("127.0.0.1:0".parse().expect("addr"), dead)
            .await
            .expect("bind");
        socket.send_to(b"query", dead).await.expect("send");
        let mut buf = [0u8; 16];
        let received = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
            .await
            .expect("the receive ends at once, not by the test's timeout");
        let error = received.expect_err("no data can come");
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
    }

    /// Data still arrives as on any socket.
    #[tokio::test]
    async fn a_receive_returns_the_servers_datagram() {
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        let socket = Runtime::default()
            .bind_udp("127.0.0.1:0".parse().expect("addr"), addr)
            .await
            .expect("bind");
        socket.send_to(b"ping", addr).await.expect("send");
        let mut buf = [0u8; 16];
        let (n, peer) = server.recv_from(&mut buf).await.expect("recv");
        server.send_to(&buf[..n], peer).await.expect("reply");
        let (n, from) = socket.recv_from(&mut buf).await.expect("the reply");
        assert_eq!((&buf[..n], from), (&b"ping"[..], addr));
    }
}
