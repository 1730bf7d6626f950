//! UDP listener: a thread per socket, blocked in `recvmmsg`, refuses clients outside the
//! ACL and answers what the fast path can itself, and hands every other query to a task on
//! the runtime.
//!
//! A thread rather than a task because waiting is then part of the receive call: a task
//! wakes from `epoll_wait`, receives, and must receive once more to learn the socket is
//! empty, three system calls per wakeup where the thread makes one. Under load a wakeup
//! often brings one or two queries, so this is a large share of a cached answer's cost.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::SockRef;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::answer;
use crate::fast_path::{Arrival, fast_answer, refuse_outsider};
use crate::mmsg::Batch;
use crate::query::{Transport, handle_guarded};
use crate::shared::Shared;

/// Binds a blocking UDP socket to exactly `addr` (never a wildcard: replies must leave from
/// the address the client asked), with a large receive buffer for bursts.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    let _ = socket.set_recv_buffer_size(4 << 20);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// A running UDP listener; dropping it ends its thread.
pub(crate) struct UdpListener {
    socket: Arc<std::net::UdpSocket>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpListener {
    /// Starts serving `socket` for listener `listener`; queries the fast path cannot answer
    /// run as tasks on `runtime`.
    pub(crate) fn start(
        socket: std::net::UdpSocket,
        shared: Arc<Shared>,
        listener: usize,
        runtime: Handle,
    ) -> io::Result<UdpListener> {
        let socket = Arc::new(socket);
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("hedge-udp".into())
            .spawn({
                let (socket, stopping) = (socket.clone(), stopping.clone());
                move || receive_loop(&socket, &shared, listener, &runtime, &stopping)
            })?;
        Ok(UdpListener {
            socket,
            stopping,
            thread: Some(thread),
        })
    }
}

/// Dropping the listener stops its receiving and waits for the thread; tasks already
/// started still answer.
impl Drop for UdpListener {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // Wakes the blocked receive. Linux reports ENOTCONN for an unconnected UDP socket
        // but shuts it down and wakes the receiver all the same.
        let _ = SockRef::from(&*self.socket).shutdown(std::net::Shutdown::Read);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn receive_loop(
    socket: &Arc<std::net::UdpSocket>,
    shared: &Arc<Shared>,
    listener: usize,
    runtime: &Handle,
    stopping: &AtomicBool,
) {
    let in_flight = Arc::new(Semaphore::new(shared.limits.udp_in_flight.max(1)));
    let fd = socket.as_raw_fd();
    let mut batch = Batch::default();
    loop {
        let received = batch.recv(fd);
        if stopping.load(Ordering::Acquire) {
            return;
        }
        let n = match received {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!("udp receive on {:?}: {e}", socket.local_addr());
                // Never a busy loop, whatever the error.
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
        };
        let received = Instant::now();
        for i in 0..n {
            let Some((packet, peer, out)) = batch.slot(i) else {
                continue;
            };
            let arrival = Arrival {
                listener,
                client: peer.ip(),
                received,
            };
            // The ACL first, and only here: a client outside it costs no task, no full
            // parse and no query slot.
            if !shared.listeners[listener].allows(peer.ip()) {
                let refused = AssertUnwindSafe(|| refuse_outsider(shared, arrival, packet, out));
                if matches!(std::panic::catch_unwind(refused), Ok(true)) {
                    batch.commit_reply(peer);
                }
                continue;
            }
            // Cached answers and blocks: answered here, without a task or an allocation.
            let fast = AssertUnwindSafe(|| fast_answer(shared, arrival, packet, out));
            if matches!(std::panic::catch_unwind(fast), Ok(Some(_))) {
                batch.commit_reply(peer);
            } else {
                let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                    let why = "resolver busy: too many queries in flight";
                    if let Some(reply) = answer::servfail_with_ede(packet, why) {
                        out.clear();
                        out.extend_from_slice(&reply);
                        batch.commit_reply(peer);
                    }
                    continue;
                };
                let packet = packet.to_vec();
                let (socket, shared) = (socket.clone(), shared.clone());
                runtime.spawn(async move {
                    let reply =
                        handle_guarded(&shared, listener, &packet, peer.ip(), Transport::Udp).await;
                    if let Some(reply) = reply {
                        send_reply(&socket, &reply, peer).await;
                    }
                    drop(permit);
                });
            }
        }
        // At most one reply per datagram received, so the batch's reply slots never run out.
        batch.send(fd);
    }
}

/// Sends a full-path answer from a task. The socket blocks (for the receiving thread), so
/// the task asks for a non-blocking send and waits on the runtime while the buffer is full.
async fn send_reply(socket: &std::net::UdpSocket, reply: &[u8], peer: SocketAddr) {
    let to = peer.into();
    for _ in 0..1000 {
        match SockRef::from(socket).send_to_with_flags(reply, &to, libc::MSG_DONTWAIT) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::debug!("udp send to {peer}: {e}");
                return;
            }
            Ok(_) => return,
        }
    }
    tracing::debug!("udp send to {peer}: socket buffer full for a second; answer dropped");
}
