//! TCP listener: a connection cap, idle timeouts, and pipelined queries answered
//! concurrently (a slow query never holds up the ones behind it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

use crate::Shared;
use crate::query::{Transport, handle_guarded};

/// Binds a TCP listener to exactly `addr`.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Accepts connections until the task is aborted.
pub async fn serve(listener_socket: TcpListener, shared: Arc<Shared>, listener: usize) {
    let connections = Arc::new(Semaphore::new(shared.limits.tcp_connections));
    loop {
        let (stream, peer) = match listener_socket.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("tcp accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::debug!(
                "tcp connection refused: {} connections open",
                shared.limits.tcp_connections
            );
            continue; // dropping the stream closes it
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            connection(stream, peer, shared, listener).await;
            drop(permit);
        });
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, listener: usize) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(shared.limits.tcp_pipeline.max(1));
    let writer_task = tokio::spawn(async move {
        while let Some(reply) = rx.recv().await {
            let len = (reply.len() as u16).to_be_bytes();
            if writer.write_all(&len).await.is_err() || writer.write_all(&reply).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let pipeline = Arc::new(Semaphore::new(shared.limits.tcp_pipeline.max(1)));
    let idle = Duration::from_millis(shared.limits.tcp_idle_ms);
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(idle, reader.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => break, // closed by the client
            Err(_) => {
                if pipeline.available_permits() == shared.limits.tcp_pipeline.max(1) {
                    break; // idle: nothing read, nothing in flight
                }
                continue;
            }
        }
        let len = usize::from(u16::from_be_bytes(len));
        let mut packet = vec![0u8; len];
        match tokio::time::timeout(idle, reader.read_exact(&mut packet)).await {
            Ok(Ok(_)) => {}
            _ => break, // a message cut short: the stream cannot be resynchronised
        }
        let Ok(permit) = pipeline.clone().acquire_owned().await else {
            break;
        };
        let (tx, shared) = (tx.clone(), shared.clone());
        tokio::spawn(async move {
            let reply = handle_guarded(&shared, listener, &packet, peer.ip(), Transport::Tcp).await;
            if let Some(reply) = reply {
                let _ = tx.send(reply).await;
            }
            drop(permit);
        });
    }
    drop(tx);
    let _ = writer_task.await;
}
