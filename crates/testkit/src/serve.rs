//! Binding sockets and running servers on a background thread with its own tokio runtime.
//!
//! The servers do not run on the test's runtime, so a test may block (wait for a child
//! process, use a blocking client) or use any runtime flavour without starving them.

use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_server::Server;
use tokio::sync::oneshot;

use crate::server::ZoneServer;

/// How long an idle TCP connection is kept open.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Outgoing responses buffered per TCP connection.
const TCP_RESPONSE_BUFFER: usize = 32;

/// A UDP socket and a TCP listener bound to the same address.
pub(crate) struct Sockets {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl Sockets {
    /// Binds UDP, then TCP on the same address. With port 0 the system picks a port that
    /// is free for UDP, and TCP takes the same one.
    ///
    /// UDP sockets are bound without `SO_REUSEADDR`, so the UDP bind is what decides which
    /// process owns an address.
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<Self> {
        let udp = UdpSocket::bind(addr)?;
        let tcp = TcpListener::bind(udp.local_addr()?)?;
        udp.set_nonblocking(true)?;
        tcp.set_nonblocking(true)?;
        Ok(Self { udp, tcp })
    }

    /// The bound address (the same for UDP and TCP).
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// Registers UDP and TCP with a hickory server.
    fn into_register(self) -> Register {
        Box::new(move |server| {
            server.register_socket(tokio::net::UdpSocket::from_std(self.udp)?);
            server.register_listener(
                tokio::net::TcpListener::from_std(self.tcp)?,
                TCP_IDLE_TIMEOUT,
                TCP_RESPONSE_BUFFER,
            );
            Ok(())
        })
    }
}

/// Hands a server its listeners; runs inside the server runtime (tokio sockets need it).
pub(crate) type Register = Box<dyn FnOnce(&mut Server<ZoneServer>) -> io::Result<()> + Send>;

/// Servers running on a background thread; stopping is idempotent and happens on drop.
///
/// Stopping does not release the addresses: a duplicate of every UDP socket is held until
/// drop. Otherwise another instance (in this process or another test binary) could bind the
/// same addresses right after a stop, and a resolver that still has them cached would
/// reach *that* instance instead of finding its upstream down. While held, the sockets
/// read nothing: UDP queries go unanswered (the client times out), TCP is refused.
pub(crate) struct Running {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _reserved: Vec<UdpSocket>,
}

impl Running {
    /// Starts one hickory server per `(handler, sockets)` pair and waits until all of them
    /// are registered.
    pub(crate) async fn start(servers: Vec<(ZoneServer, Sockets)>) -> io::Result<Self> {
        let reserved = servers
            .iter()
            .map(|(_, sockets)| sockets.udp.try_clone())
            .collect::<io::Result<Vec<_>>>()?;
        let servers = servers
            .into_iter()
            .map(|(handler, sockets)| (handler, sockets.into_register()))
            .collect();
        Self::start_with(servers, reserved).await
    }

    /// Starts one hickory server per `(handler, register)` pair, `register` handing it its
    /// listeners; `reserved` are held until drop (see the type's comment).
    pub(crate) async fn start_with(
        servers: Vec<(ZoneServer, Register)>,
        reserved: Vec<UdpSocket>,
    ) -> io::Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel::<io::Result<()>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hedge-testkit-dns".into())
            .spawn(move || serve(servers, ready_tx, stop_rx))?;
        let mut running = Self {
            stop: Some(stop_tx),
            thread: Some(thread),
            _reserved: reserved,
        };
        match ready_rx.await {
            Ok(Ok(())) => Ok(running),
            Ok(Err(error)) => {
                running.stop();
                Err(error)
            }
            Err(_) => {
                running.stop();
                Err(io::Error::other(
                    "hedge-testkit: the DNS server thread exited before it was ready",
                ))
            }
        }
    }

    /// Stops every server and waits for the thread to finish. Calling it again does
    /// nothing.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The thread may already have exited (failed start); nothing to tell it then.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("hedge-testkit: the DNS server thread panicked");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server thread: a current-thread runtime that serves until told to stop.
fn serve(
    servers: Vec<(ZoneServer, Register)>,
    ready: oneshot::Sender<io::Result<()>>,
    stop: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    runtime.block_on(async move {
        let mut running = Vec::with_capacity(servers.len());
        for (handler, register) in servers {
            let mut server = Server::new(handler);
            match register(&mut server).map(|()| server) {
                Ok(server) => running.push(server),
                Err(error) => {
                    let _ = ready.send(Err(error));
                    return;
                }
            }
        }
        if ready.send(Ok(())).is_err() {
            return; // The starter gave up waiting.
        }
        // An error means the `Running` was dropped without a stop: stop all the same.
        let _ = stop.await;
        for server in &mut running {
            if let Err(error) = server.shutdown_gracefully().await {
                tracing::debug!(%error, "hedge-testkit: server shut down with an error");
            }
        }
    });
}
