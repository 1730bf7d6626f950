//! A minimal DNS client for tests: one query, one response, over UDP or TCP.
//!
//! Deliberately plain (hand-built messages over tokio sockets) so that a test sees exactly
//! what a server sent, truncation bit included, with no resolver logic in between.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How long [`exchange_udp`] and [`exchange_tcp`] wait for a response.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// The EDNS buffer size [`query`] advertises (the DNS flag day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;

/// A query for `name` and `record_type` with EDNS (buffer [`EDNS_PAYLOAD`]) and RD=0, as a
/// recursor sends to an authoritative server. Change its fields for other cases (set
/// `edns` to `None` for a plain 512-byte query, `metadata.recursion_desired` for a stub).
///
/// # Errors
///
/// When `name` is not a valid domain name.
pub fn query(name: &str, record_type: RecordType) -> io::Result<Message> {
    let name = Name::from_ascii(name).map_err(|e| invalid_input(format!("{name:?}: {e}")))?;
    let mut message = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    message.add_query(Query::query(name, record_type));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    message.set_edns(edns);
    Ok(message)
}

/// Sends `message` to `server` over UDP and returns the response with the same id.
///
/// # Errors
///
/// On socket errors, no response within [`TIMEOUT`] (a stopped server), or a response that
/// does not parse.
pub async fn exchange_udp(server: SocketAddr, message: &Message) -> io::Result<Message> {
    let local = match server.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    let socket = UdpSocket::bind(SocketAddr::new(local, 0)).await?;
    socket.connect(server).await?;
    socket.send(&encode(message)?).await?;
    let mut buffer = vec![0; 65_535];
    tokio::time::timeout(TIMEOUT, async {
        loop {
            let len = socket.recv(&mut buffer).await?;
            let response = decode(&buffer[..len])?;
            // Ignore stray datagrams; a real client would too.
            if response.metadata.id == message.metadata.id {
                return Ok(response);
            }
        }
    })
    .await
    .map_err(|_| timed_out(server, "UDP"))?
}

/// Sends `message` to `server` over TCP (two-byte length prefix, RFC 1035 §4.2.2) and
/// returns the response.
///
/// # Errors
///
/// On connection errors, no response within [`TIMEOUT`], or a response that does not parse.
pub async fn exchange_tcp(server: SocketAddr, message: &Message) -> io::Result<Message> {
    tokio::time::timeout(TIMEOUT, async {
        let mut stream = TcpStream::connect(server).await?;
        let bytes = encode(message)?;
        let len = u16::try_from(bytes.len())
            .map_err(|_| invalid_input("query longer than 65535 bytes".into()))?;
        stream.write_all(&len.to_be_bytes()).await?;
        stream.write_all(&bytes).await?;
        let len = stream.read_u16().await?;
        let mut buffer = vec![0; usize::from(len)];
        stream.read_exact(&mut buffer).await?;
        decode(&buffer)
    })
    .await
    .map_err(|_| timed_out(server, "TCP"))?
}

/// [`query`] then [`exchange_udp`].
///
/// # Errors
///
/// As [`query`] and [`exchange_udp`].
pub async fn query_udp(
    server: SocketAddr,
    name: &str,
    record_type: RecordType,
) -> io::Result<Message> {
    exchange_udp(server, &query(name, record_type)?).await
}

/// [`query`] then [`exchange_tcp`].
///
/// # Errors
///
/// As [`query`] and [`exchange_tcp`].
pub async fn query_tcp(
    server: SocketAddr,
    name: &str,
    record_type: RecordType,
) -> io::Result<Message> {
    exchange_tcp(server, &query(name, record_type)?).await
}

fn encode(message: &Message) -> io::Result<Vec<u8>> {
    message
        .to_vec()
        .map_err(|e| invalid_input(format!("cannot encode the query: {e}")))
}

fn decode(bytes: &[u8]) -> io::Result<Message> {
    Message::from_vec(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("hedge-testkit: the response does not parse: {e}"),
        )
    })
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("hedge-testkit: {message}"),
    )
}

fn timed_out(server: SocketAddr, transport: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("hedge-testkit: no {transport} response from {server} within {TIMEOUT:?}"),
    )
}

/// A query id that differs between queries; tests need no cryptographic randomness.
fn rand_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0x4e2d);
    NEXT.fetch_add(0x9e37, Ordering::Relaxed)
}
