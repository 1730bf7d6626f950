//! TCP listener: the ACL at accept, a connection table that gives an idle connection's slot
//! to a new one ([`crate::tcp_slots`]), deadlines on idle time and on each message, and
//! pipelined queries answered concurrently (a slow query never holds up the ones behind it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

use crate::fast_path::count_refused_connection;
use crate::query::{Transport, handle_guarded};
use crate::shared::Shared;
use crate::tcp_slots::{Full, Slot, Slots};

/// Binds a TCP listener to exactly `addr`.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
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
pub(crate) async fn serve(listener_socket: TcpListener, shared: Arc<Shared>, listener: usize) {
    let limits = &shared.limits;
    let slots = Slots::new(limits.tcp_connections, limits.tcp_per_client);
    loop {
        let (stream, peer) = match listener_socket.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("tcp accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Outside the ACL: closed before it costs a slot, a task or a read, and counted as
        // one refusal. Its UDP queries get REFUSED with EDE 18, which says why.
        if !shared.listeners[listener].allows(peer.ip()) {
            count_refused_connection(&shared, listener, peer.ip(), Instant::now());
            continue; // dropping the stream closes it
        }
        let slot = match slots.admit(peer.ip(), Instant::now()) {
            Ok(slot) => slot,
            Err(full) => {
                tracing::debug!(
                    "tcp connection from {peer} closed: {}",
                    match full {
                        Full::Client => "every connection of this client is answering queries",
                        Full::Listener => "every connection is answering queries",
                    }
                );
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            connection(stream, peer, shared, listener, Arc::new(slot)).await;
        });
    }
}

/// Why reading the next query ended the connection.
enum ReadEnd {
    /// Closed by the client, a read error, or a message cut short.
    Gone,
    /// Nothing to read and nothing in flight for the idle timeout.
    Idle,
    /// A message not complete within the message deadline.
    Slow,
    /// Another connection needed the slot.
    Evicted,
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    listener: usize,
    slot: Arc<Slot>,
) {
    let _ = stream.set_nodelay(true);
    let limits = &shared.limits;
    let message_time = Duration::from_millis(limits.tcp_message_ms);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Option<Vec<u8>>>(limits.tcp_pipeline.max(1));
    let writer_task = tokio::spawn({
        let slot = slot.clone();
        async move {
            while let Some(reply) = rx.recv().await {
                if let Some(reply) = reply {
                    // One write, one segment: the length prefix and the message together.
                    let mut framed = Vec::with_capacity(2 + reply.len());
                    framed.extend_from_slice(&(reply.len() as u16).to_be_bytes());
                    framed.extend_from_slice(&reply);
                    // A client that does not read its answers cannot keep the slot busy.
                    let written = tokio::time::timeout(message_time, writer.write_all(&framed));
                    if !matches!(written.await, Ok(Ok(()))) {
                        slot.close();
                        break;
                    }
                }
                slot.answered(Instant::now());
            }
            let _ = writer.shutdown().await;
        }
    });
    let pipeline = Arc::new(Semaphore::new(limits.tcp_pipeline.max(1)));
    loop {
        let packet = match read_query(&mut reader, &slot, &shared).await {
            Ok(packet) => packet,
            Err(end) => {
                if matches!(end, ReadEnd::Slow | ReadEnd::Evicted) {
                    tracing::debug!(
                        "tcp connection from {peer} closed: {}",
                        match end {
                            ReadEnd::Slow => "a message took longer than server.tcp_message_ms",
                            _ =>
                                "its slot went to a new connection, or its answers could not be written",
                        }
                    );
                }
                break;
            }
        };
        slot.query_read();
        let Ok(permit) = pipeline.clone().acquire_owned().await else {
            break;
        };
        let (tx, shared) = (tx.clone(), shared.clone());
        tokio::spawn(async move {
            let reply = handle_guarded(&shared, listener, &packet, peer.ip(), Transport::Tcp).await;
            // The writer marks the query answered once its reply is written.
            let _ = tx.send(reply).await;
            drop(permit);
        });
    }
    drop(reader);
    drop(tx);
    let _ = writer_task.await;
}

/// Reads one length-prefixed query. The first byte may take the idle timeout (longer while
/// queries are in flight); from it, the whole message must arrive within the message
/// deadline, so a client that sends a byte at a time is closed.
async fn read_query(
    reader: &mut OwnedReadHalf,
    slot: &Slot,
    shared: &Shared,
) -> Result<Vec<u8>, ReadEnd> {
    let idle = Duration::from_millis(shared.limits.tcp_idle_ms);
    let message_time = Duration::from_millis(shared.limits.tcp_message_ms);
    let mut len = [0u8; 2];
    let first = loop {
        tokio::select! {
            _ = slot.closed() => return Err(ReadEnd::Evicted),
            read = tokio::time::timeout(idle, reader.read(&mut len)) => match read {
                Ok(Ok(0) | Err(_)) => return Err(ReadEnd::Gone),
                Ok(Ok(n)) => break n,
                Err(_) if slot.busy() => continue,
                Err(_) => return Err(ReadEnd::Idle),
            },
        }
    };
    let rest = async {
        if first < 2 {
            reader.read_exact(&mut len[first..]).await?;
        }
        let mut packet = vec![0u8; usize::from(u16::from_be_bytes(len))];
        reader.read_exact(&mut packet).await?;
        Ok::<_, std::io::Error>(packet)
    };
    tokio::select! {
        _ = slot.closed() => Err(ReadEnd::Evicted),
        read = tokio::time::timeout(message_time, rest) => match read {
            Ok(Ok(packet)) => Ok(packet),
            Ok(Err(_)) => Err(ReadEnd::Gone),
            Err(_) => Err(ReadEnd::Slow),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::observer::{Observer, Outcome};
    use crate::test_support::{Recorder, Seen, shared};

    /// A connection from outside the ACL is closed at accept and counted as one refusal, as
    /// each refused UDP query is.
    #[tokio::test]
    async fn connections_refused_at_accept_are_counted() {
        let recorder = Arc::new(Recorder::default());
        let observer: Arc<dyn Observer> = recorder.clone();
        let shared = Arc::new(shared("127.0.0.2/32", &[], Some(observer)));
        let socket = bind((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
        let addr = socket.local_addr().unwrap();
        let server = tokio::spawn(serve(socket, shared, 0));

        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 1];
        // Closed without a byte (a reset counts as closed too); the bound is against a hang.
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the connection is closed at accept");
        assert_eq!(read.unwrap_or(0), 0);
        assert_eq!(
            recorder.seen(),
            [Seen {
                client: IpAddr::V4(Ipv4Addr::LOCALHOST),
                qtype: 0,
                outcome: Outcome::Refused,
                category: None,
                qname: None,
                domain_counted: false,
                domain: None,
            }]
        );
        server.abort();
    }
}
