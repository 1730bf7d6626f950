//! UDP listener: one task reading, one task per query, a bound on queries in flight.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use std::os::fd::AsRawFd;

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use crate::Shared;
use crate::answer;
use crate::mmsg::Batch;
use crate::query::{Transport, fast_answer, handle_guarded};

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

/// Serves one UDP socket until the task is aborted: receives in batches, answers what the
/// fast path can in the receive loop (sent back in one batch), and hands the rest to tasks.
pub async fn serve(socket: Arc<UdpSocket>, shared: Arc<Shared>, listener: usize) {
    let in_flight = Arc::new(Semaphore::new(shared.limits.udp_in_flight.max(1)));
    let fd = socket.as_raw_fd();
    let mut batch = Batch::default();
    loop {
        if socket.readable().await.is_err() {
            continue;
        }
        let n = match socket.try_io(Interest::READABLE, || batch.recv(fd)) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                // ICMP errors from earlier sends surface here on Linux; keep serving.
                tracing::debug!("udp receive on {:?}: {e}", socket.local_addr());
                continue;
            }
        };
        let received = std::time::Instant::now();
        for i in 0..n {
            let Some((packet, peer, out)) = batch.slot(i) else {
                continue;
            };
            // Cached answers and blocks: answered here, without a task or an allocation.
            let fast = AssertUnwindSafe(|| {
                fast_answer(&shared, listener, packet, peer.ip(), out, received)
            });
            if matches!(std::panic::catch_unwind(fast), Ok(Some(_))) {
                batch.commit_reply(peer);
                if batch.replies_full() {
                    flush(&socket, fd, &mut batch).await;
                }
                continue;
            }
            let packet = packet.to_vec();
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                if let Some(reply) =
                    answer::servfail_with_ede(&packet, "resolver busy: too many queries in flight")
                {
                    let _ = socket.send_to(&reply, peer).await;
                }
                continue;
            };
            let (socket, shared) = (socket.clone(), shared.clone());
            tokio::spawn(async move {
                let reply =
                    handle_guarded(&shared, listener, &packet, peer.ip(), Transport::Udp).await;
                if let Some(reply) = reply {
                    let _ = socket.send_to(&reply, peer).await;
                }
                drop(permit);
            });
        }
        flush(&socket, fd, &mut batch).await;
    }
}

/// Sends the batch's replies in one call; whatever the kernel does not take is sent one
/// by one, waiting for the socket, so no answer is dropped.
async fn flush(socket: &UdpSocket, fd: std::os::fd::RawFd, batch: &mut Batch) {
    let sent = socket
        .try_io(Interest::WRITABLE, || batch.send(fd))
        .unwrap_or(0);
    for (reply, peer) in batch.take_unsent(sent) {
        let _ = socket.send_to(&reply, peer).await;
    }
}
