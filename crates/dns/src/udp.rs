//! UDP listener: one task reading, one task per query, a bound on queries in flight.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use crate::Shared;
use crate::query::{Transport, fast_answer, handle, servfail_raw};

/// Binds a UDP socket to exactly `addr` (never a wildcard: replies must leave from the
/// address the client asked), with a large receive buffer for bursts.
pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    let _ = socket.set_recv_buffer_size(4 << 20);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Serves one UDP socket until the task is aborted.
pub async fn serve(socket: Arc<UdpSocket>, shared: Arc<Shared>, listener: usize) {
    let in_flight = Arc::new(Semaphore::new(shared.limits.udp_in_flight));
    let mut buf = vec![0u8; 65_535];
    let mut out = Vec::with_capacity(4096);
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                // ICMP errors from earlier sends surface here on Linux; keep serving.
                tracing::debug!("udp receive on {:?}: {e}", socket.local_addr());
                continue;
            }
        };
        // Cached answers and blocks are answered here, in the receive loop, without a task.
        let fast =
            AssertUnwindSafe(|| fast_answer(&shared, listener, &buf[..len], peer.ip(), &mut out));
        if let Ok(Some(n)) = std::panic::catch_unwind(fast) {
            let _ = socket.send_to(&out[..n], peer).await;
            continue;
        }
        let packet = buf[..len].to_vec();
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            if let Some(reply) = servfail_raw(&packet) {
                let _ = socket.send_to(&reply, peer).await;
            }
            continue;
        };
        let socket = socket.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let reply = AssertUnwindSafe(handle(
                &shared,
                listener,
                &packet,
                peer.ip(),
                Transport::Udp,
            ))
            .catch_unwind()
            .await;
            let reply = reply.unwrap_or_else(|_| {
                tracing::error!("internal error answering a query from {peer}; answered SERVFAIL");
                servfail_raw(&packet)
            });
            if let Some(reply) = reply {
                let _ = socket.send_to(&reply, peer).await;
            }
            drop(permit);
        });
    }
}
