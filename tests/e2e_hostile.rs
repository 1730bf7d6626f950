//! End-to-end: hostile traffic cannot take the resolver away from its clients, and `serve`
//! checks its file-descriptor budget.
//!
//! The probe: 500 garbage UDP datagrams a second, a flood of TCP connections that send
//! nothing, and 20 that send a query a byte at a time, all from loopback addresses, against
//! the default `[server]` limits. Meanwhile 20 good UDP and 20 good TCP queries must nearly
//! all be answered. Clients bind a 127.x.y.z source address before connecting, so each
//! looks like a different client; the flood comes from many addresses (the per-client cap
//! cannot help) and, in one test, from a single address.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::task::JoinSet;

/// Good queries per transport; at least 90% must be answered.
const GOOD: usize = 20;

/// One probe at a time: each opens up to 2,000 connections, and timing is what they test.
static PROBE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The test process opens thousands of sockets: lift its own soft limit.
fn raise_own_fd_limit() {
    rlimit::increase_nofile_limit(u64::MAX).expect("raise RLIMIT_NOFILE");
}

/// A TCP connection from `source` (any port).
async fn connect_from(source: Ipv4Addr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    socket.connect(server).await
}

/// Where the idle flood comes from.
#[derive(Clone, Copy)]
enum Sources {
    /// Each connection from its own address.
    Many,
    /// Every connection from one address.
    One,
}

impl Sources {
    fn of(self, i: usize) -> Ipv4Addr {
        match self {
            Sources::Many => Ipv4Addr::new(127, 1, (i / 200) as u8, (i % 200 + 1) as u8),
            Sources::One => Ipv4Addr::new(127, 2, 0, 1),
        }
    }
}

/// The hostile traffic, running until dropped.
struct Flood {
    tasks: JoinSet<()>,
    stop: Arc<AtomicBool>,
    idle_open: Arc<AtomicUsize>,
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tasks.abort_all();
    }
}

impl Flood {
    async fn start(server: SocketAddr, idle: usize, sources: Sources) -> Flood {
        let mut flood = Flood {
            tasks: JoinSet::new(),
            stop: Arc::new(AtomicBool::new(false)),
            idle_open: Arc::new(AtomicUsize::new(0)),
        };
        flood.garbage(server);
        // The idle connections are all open before the good queries start.
        for i in 0..idle {
            let Ok(stream) = connect_from(sources.of(i), server).await else {
                continue;
            };
            flood.idle_open.fetch_add(1, Ordering::Relaxed);
            flood.hold(stream, server, sources.of(i));
        }
        for i in 0..20 {
            flood.byte_at_a_time(server, Ipv4Addr::new(127, 5, 0, i + 1));
        }
        flood
    }

    /// 500 datagrams a second: random bytes, some of them with a plausible header.
    fn garbage(&mut self, server: SocketAddr) {
        self.tasks.spawn(async move {
            let socket = UdpSocket::bind("127.4.0.1:0").await.expect("bind");
            let mut rng = 0x2545_f491_4f6c_dd1du64;
            let mut tick = tokio::time::interval(Duration::from_millis(2));
            loop {
                tick.tick().await;
                let mut packet = [0u8; 64];
                for b in &mut packet {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    *b = rng as u8;
                }
                let len = usize::from(packet[0] % 64);
                if packet[1] % 2 == 0 {
                    packet[2] &= 0x7f; // a "query"
                    packet[4..6].copy_from_slice(&[0, 1]);
                }
                let _ = socket.send_to(&packet[..len], server).await;
            }
        });
    }

    /// Keeps a connection open without sending anything; when hedge closes it, opens
    /// another 2 s later, so the flood keeps its size. (A faster reconnect, from thousands
    /// of addresses at once, turns the table over faster than a loaded test machine
    /// schedules a new good connection's first read.)
    fn hold(&mut self, mut stream: TcpStream, server: SocketAddr, source: Ipv4Addr) {
        let (stop, open) = (self.stop.clone(), self.idle_open.clone());
        self.tasks.spawn(async move {
            loop {
                let mut buf = [0u8; 512];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                open.fetch_sub(1, Ordering::Relaxed);
                loop {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if let Ok(s) = connect_from(source, server).await {
                        stream = s;
                        open.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
        });
    }

    /// Sends a well-formed query one byte every 100 ms, reconnecting when closed.
    fn byte_at_a_time(&mut self, server: SocketAddr, source: Ipv4Addr) {
        let framed = framed_query();
        self.tasks.spawn(async move {
            loop {
                if let Ok(mut stream) = connect_from(source, server).await {
                    for b in &framed {
                        if stream.write_all(&[*b]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
}

/// A query for `www.example.com A` with its TCP length prefix.
fn framed_query() -> Vec<u8> {
    let query = hedge_testkit::client::query(names::WWW_EXAMPLE_COM, RecordType::A)
        .expect("query")
        .to_vec()
        .expect("encode");
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    framed
}

/// Sends `GOOD` UDP and `GOOD` TCP queries, one of each every 100 ms, and returns how many
/// of each got the right answer.
async fn good_queries(server: SocketAddr) -> (usize, usize) {
    let mut queries = JoinSet::new();
    for i in 0..GOOD {
        queries.spawn(async move {
            let m = hedge_testkit::client::query_udp(server, names::WWW_EXAMPLE_COM, RecordType::A)
                .await;
            let ok = m.is_ok_and(|m| ips(&m) == vec![names::WWW_EXAMPLE_COM_A.to_string()]);
            (true, ok, i)
        });
        queries.spawn(async move {
            let m = hedge_testkit::client::query_tcp(server, names::WWW_EXAMPLE_COM, RecordType::A)
                .await;
            let ok = m.is_ok_and(|m| ips(&m) == vec![names::WWW_EXAMPLE_COM_A.to_string()]);
            (false, ok, i)
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut udp_ok, mut tcp_ok) = (0, 0);
    while let Some(done) = queries.join_next().await {
        match done.expect("query task") {
            (true, true, _) => udp_ok += 1,
            (false, true, _) => tcp_ok += 1,
            _ => {}
        }
    }
    (udp_ok, tcp_ok)
}

async fn probe(idle: usize, sources: Sources) {
    let _one_at_a_time = PROBE.lock().await;
    raise_own_fd_limit();
    let (hedge, server, upstream) = start_forwarding("127.0.0.0/8", "").await;
    let flood = Flood::start(server, idle, sources).await;
    let opened = flood.idle_open.load(Ordering::Relaxed);
    let (udp_ok, tcp_ok) = good_queries(server).await;
    drop(flood);
    eprintln!(
        "{idle} idle ({opened} open at the start): {udp_ok}/{GOOD} UDP, {tcp_ok}/{GOOD} TCP answered"
    );
    let need = GOOD * 9 / 10;
    assert!(
        udp_ok >= need && tcp_ok >= need,
        "answered {udp_ok}/{GOOD} UDP and {tcp_ok}/{GOOD} TCP queries under a flood of {idle} idle connections ({opened} open when the good queries started), 20 byte-at-a-time and 500 garbage datagrams/s; need {need} of each\n{}",
        hedge.log()
    );
    assert!(upstream.queries_answered() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_from_many_clients_do_not_lock_out_tcp() {
    probe(500, Sources::Many).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_idle_connections_do_not_lock_out_tcp() {
    probe(2000, Sources::Many).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_from_one_client_do_not_lock_out_tcp() {
    probe(500, Sources::One).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_sent_a_byte_at_a_time_is_cut_off() {
    let (hedge, server, _upstream) = start_forwarding("127.0.0.0/8", "").await;
    let framed = framed_query();
    // At 150 ms a byte the message takes over 6 s: within the 10 s idle timeout, far
    // beyond the 2 s message deadline, which must end it.
    assert!(framed.len() > 40);
    let (mut reader, mut writer) = TcpStream::connect(server)
        .await
        .expect("connect")
        .into_split();
    let closed = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        matches!(reader.read(&mut buf).await, Ok(0) | Err(_))
    });
    let mut sent = 0;
    for b in &framed {
        if closed.is_finished() || writer.write_all(&[*b]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        closed.is_finished() && sent < framed.len(),
        "the connection stayed open for all {sent} bytes"
    );
    assert!(closed.await.expect("reader"), "closed without an answer");
    drop(hedge);
}

/// `sh -c '<limits>; exec hedge …'`: hedge under the file-descriptor limits `ulimit` sets.
fn under_ulimit(limits: &str) -> std::process::Command {
    let mut c = std::process::Command::new("sh");
    c.args(["-c", &format!("{limits} && exec \"$@\""), "sh", hedge_bin()]);
    c
}

/// The soft and hard "Max open files" of a running process.
fn open_files_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_string(), fields[4].to_string())
}

#[test]
fn serve_raises_its_soft_fd_limit_to_the_hard_limit() {
    let (l, _) = listener("p", "127.0.0.0/8");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hedge.toml");
    std::fs::write(&config, format!("[[profile]]\nname = \"p\"\n{l}")).expect("write");
    // 256 is below what the default limits need, so hedge must raise it to start.
    let hedge = Hedge::start_via(dir, config, under_ulimit("ulimit -Sn 256"));
    let (soft, hard) = open_files_limits(hedge.child.id());
    assert_eq!(soft, hard, "soft limit raised to the hard limit");
    assert_ne!(soft, "256");
}

#[test]
fn serve_refuses_limits_the_fd_limit_cannot_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hedge.toml");
    // Two addresses of 256 TCP connections each cannot fit in 300 descriptors.
    let (a, b) = (free_port(), free_port());
    std::fs::write(
        &config,
        format!("[[profile]]\nname = \"p\"\n[[listener]]\nprofile = \"p\"\nbind = [\"127.0.0.1:{a}\", \"127.0.0.1:{b}\"]\nallow = [\"127.0.0.0/8\"]\n"),
    )
    .expect("write");
    let mut serve = under_ulimit("ulimit -n 300");
    serve
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = serve.spawn().expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("hedge serve started although 300 descriptors cannot hold its limits");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert_eq!(status.code(), Some(2), "{err}");
    for needed in ["300", "server.tcp_connections", "LimitNOFILE"] {
        assert!(err.contains(needed), "{needed:?} missing in: {err}");
    }
    // check-config says the same: by hand, as a note (hedge.service would have 65536).
    let out = under_ulimit("ulimit -n 300")
        .args(["check-config"])
        .arg(&config)
        .output()
        .expect("check-config");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("server.tcp_connections"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
