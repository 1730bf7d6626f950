//! End-to-end: no answer outlives its TTL (issue 16, item 1), and an upstream that fails is
//! answered at once and asked once (item 2). The real `hedge serve`, a fake internet (or a
//! forwarding target) on loopback, and a real client over UDP and TCP.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use support::*;

const PROFILE: &str = "[[profile]]\nname = \"p\"\nblock = [\"gambling\"]\n";

/// Waits long enough for a record with TTL [`names::SHORT_A_TTL`] (and the negative answers
/// of `ttl.example.com.`) to expire.
const PAST_SHORT_TTL: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy)]
enum Via {
    Udp,
    Tcp,
}

async fn ask(via: Via, server: SocketAddr, name: &str) -> Message {
    match via {
        Via::Udp => udp(server, name, RecordType::A).await,
        Via::Tcp => tcp(server, name, RecordType::A).await,
    }
}

/// hedge serving one listener with `upstream`; returns it and the listener's address.
fn start(upstream: &str) -> (Hedge, SocketAddr) {
    let (l, addr) = listener("p", "127.0.0.0/8");
    (Hedge::start(&format!("{PROFILE}\n{l}\n{upstream}")), addr)
}

/// hedge recursing through a fake internet of its own.
async fn recursive(timeout_ms: u64) -> (FakeInternet, Hedge, SocketAddr) {
    let net = FakeInternet::start_for_test().await;
    let (hedge, addr) = start(&recursive_upstream(&net, timeout_ms));
    (net, hedge, addr)
}

/// Queries answered by the server of `ttl.example.com.`.
fn ttl_zone_queries(net: &FakeInternet) -> u64 {
    net.queries_answered_by(names::TTL_EXAMPLE_COM)
        .expect("a standard zone")
}

/// The one A record's TTL of an answer for `short.ttl.example.com.`.
fn short_ttl(m: &Message) -> u32 {
    assert_eq!(rcode(m), ResponseCode::NoError, "{m}");
    assert_eq!(ips(m), vec![names::SHORT_TTL_EXAMPLE_COM_A.to_string()]);
    m.answers[0].ttl
}

/// The TTL of the SOA in a negative answer.
fn soa_ttl(m: &Message) -> u32 {
    let soa = m
        .authorities
        .iter()
        .find(|r| matches!(r.data, RData::SOA(_)))
        .unwrap_or_else(|| panic!("no SOA in {m}"));
    soa.ttl
}

/// Asks for the TTL-2 name, waits past its TTL and asks again, over `via`: the second answer
/// must be fetched again (`upstream_queries` grows) and carry a live TTL.
async fn expires_and_is_fetched_again(
    via: Via,
    hedge: SocketAddr,
    upstream_queries: &dyn Fn() -> u64,
) {
    let first = short_ttl(&ask(via, hedge, names::SHORT_TTL_EXAMPLE_COM).await);
    assert!(
        (1..=names::SHORT_A_TTL).contains(&first),
        "{via:?}: first TTL {first}"
    );
    let before = upstream_queries();
    tokio::time::sleep(PAST_SHORT_TTL).await;
    let again = short_ttl(&ask(via, hedge, names::SHORT_TTL_EXAMPLE_COM).await);
    assert!(
        again >= 1,
        "{via:?}: asked again {PAST_SHORT_TTL:?} later, the answer had TTL {again}: served past its TTL"
    );
    assert!(
        upstream_queries() > before,
        "{via:?}: the name was not fetched again after its TTL ({before} upstream queries before and after)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn recursive_answers_are_fetched_again_after_their_ttl() {
    let (net, hedge, addr) = recursive(3000).await;
    let authoritative = || ttl_zone_queries(&net);
    for via in [Via::Udp, Via::Tcp] {
        expires_and_is_fetched_again(via, addr, &authoritative).await;
    }
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_answers_are_fetched_again_after_their_ttl() {
    let upstream = hedge_testkit::Upstream::start_local()
        .await
        .expect("start the forwarding target");
    let (hedge, addr) = start(&forward_upstream(&[upstream.addr()], 3000));
    for via in [Via::Udp, Via::Tcp] {
        expires_and_is_fetched_again(via, addr, &|| upstream.queries_answered()).await;
    }
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn negative_answers_expire_at_the_soa_minimum() {
    let (net, hedge, addr) = recursive(3000).await;
    let authoritative = || ttl_zone_queries(&net);
    // RFC 2308: a negative answer lives min(SOA TTL, SOA minimum), and the SOA sent with
    // it carries that TTL, counting down.
    let lifetime = names::SHORT_SOA_TTL.min(names::SHORT_NEGATIVE_TTL);
    for via in [Via::Udp, Via::Tcp] {
        let m = ask(via, addr, names::GONE_TTL_EXAMPLE_COM).await;
        assert_eq!(rcode(&m), ResponseCode::NXDomain, "{via:?}");
        let ttl = soa_ttl(&m);
        assert!(
            (1..=lifetime).contains(&ttl),
            "{via:?}: the SOA of a fresh negative answer has TTL {ttl}, not within 1..={lifetime}"
        );
        let before = authoritative();
        tokio::time::sleep(PAST_SHORT_TTL).await;
        let m = ask(via, addr, names::GONE_TTL_EXAMPLE_COM).await;
        assert_eq!(rcode(&m), ResponseCode::NXDomain, "{via:?}");
        let ttl = soa_ttl(&m);
        assert!(
            (1..=lifetime).contains(&ttl),
            "{via:?}: asked again {PAST_SHORT_TTL:?} later, the SOA had TTL {ttl}"
        );
        assert!(
            authoritative() > before,
            "{via:?}: the negative answer was not fetched again after {lifetime} s"
        );
    }
    drop(hedge);
}

/// A UDP DNS server that answers every query REFUSED, counting them.
struct Refuser {
    addr: SocketAddr,
    queries: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Refuser {
    async fn start() -> Refuser {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind the refusing server");
        let addr = socket.local_addr().expect("its address");
        let queries = Arc::new(AtomicU64::new(0));
        let count = queries.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                count.fetch_add(1, Ordering::Relaxed);
                let mut reply = Message::new(
                    query.metadata.id,
                    MessageType::Response,
                    query.metadata.op_code,
                );
                reply.metadata.recursion_desired = query.metadata.recursion_desired;
                reply.metadata.response_code = ResponseCode::Refused;
                reply.queries = query.queries.clone();
                let _ = socket.send_to(&reply.to_vec().expect("encode"), peer).await;
            }
        });
        Refuser {
            addr,
            queries,
            task,
        }
    }

    fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for Refuser {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Generous bound for an answer to a failure that is known at once: far below the 3 s
/// upstream timeout, far above any scheduling delay.
const AT_ONCE: Duration = Duration::from_secs(1);

/// Asks `name` over `via` and checks it is SERVFAIL with EDE 22, answered within [`AT_ONCE`].
async fn fails_at_once(via: Via, hedge: SocketAddr, name: &str, what: &str) {
    let started = Instant::now();
    let m = ask(via, hedge, name).await;
    let took = started.elapsed();
    assert_eq!(rcode(&m), ResponseCode::ServFail, "{what}, {via:?}: {m}");
    let codes: Vec<u16> = ede(&m).iter().map(|(code, _)| *code).collect();
    assert_eq!(
        codes,
        vec![22],
        "{what}, {via:?}: EDE No Reachable Authority"
    );
    assert!(
        took < AT_ONCE,
        "{what}, {via:?}: SERVFAIL took {took:?} (timeout_ms 3000) although the upstream failed at once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forwarder_with_nothing_listening_fails_at_once() {
    // A port free on 127.0.0.1 for UDP and TCP, with nothing bound to it: the kernel
    // answers ICMP port unreachable (and TCP RST).
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let (hedge, addr) = start(&forward_upstream(&[dead], 3000));
    fails_at_once(Via::Udp, addr, names::WWW_EXAMPLE_COM, "nothing listening").await;
    // Within the failure-cache time: answered from it.
    fails_at_once(Via::Tcp, addr, names::WWW_EXAMPLE_COM, "nothing listening").await;
    fails_at_once(Via::Tcp, addr, names::WWW_EXAMPLE_NET, "nothing listening").await;
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_that_all_refuse_fail_at_once_and_are_asked_once() {
    let (one, two) = (Refuser::start().await, Refuser::start().await);
    let (hedge, addr) = start(&forward_upstream(&[one.addr, two.addr], 3000));
    fails_at_once(Via::Udp, addr, names::WWW_EXAMPLE_COM, "REFUSED").await;
    let asked = one.queries() + two.queries();
    assert!(asked >= 1, "the refusing servers were asked");
    // RFC 9520: the failure is cached (at least a second), so asking again, over either
    // transport, costs no upstream query.
    fails_at_once(Via::Udp, addr, names::WWW_EXAMPLE_COM, "REFUSED, again").await;
    fails_at_once(Via::Tcp, addr, names::WWW_EXAMPLE_COM, "REFUSED, again").await;
    assert_eq!(
        one.queries() + two.queries(),
        asked,
        "a failure just seen was asked upstream again"
    );
    drop(hedge);
}

/// Checks a stale answer (RFC 8767): the expired record with TTL 30 and EDE 3, answered
/// within about the 1.8 s client-response timer although the upstream timeout is longer.
async fn stale_at_once(via: Via, hedge: SocketAddr, what: &str) {
    let started = Instant::now();
    let m = ask(via, hedge, names::SHORT_TTL_EXAMPLE_COM).await;
    let took = started.elapsed();
    assert_eq!(
        short_ttl(&m),
        30,
        "{what}, {via:?}: a stale answer has TTL 30"
    );
    let codes: Vec<u16> = ede(&m).iter().map(|(code, _)| *code).collect();
    assert_eq!(codes, vec![3], "{what}, {via:?}: EDE Stale Answer");
    assert!(
        took < Duration::from_millis(2500),
        "{what}, {via:?}: the stale answer took {took:?} (timeout_ms 6000)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_forwarder_gets_the_stale_answer_within_the_client_timer() {
    let mut upstream = hedge_testkit::Upstream::start_local()
        .await
        .expect("start the forwarding target");
    let (hedge, addr) = start(&forward_upstream(&[upstream.addr()], 6000));
    short_ttl(&udp(addr, names::SHORT_TTL_EXAMPLE_COM, RecordType::A).await);
    tokio::time::sleep(PAST_SHORT_TTL).await;
    // The target keeps its sockets but reads nothing: a black hole.
    upstream.shutdown();
    for via in [Via::Udp, Via::Tcp] {
        stale_at_once(via, addr, "forwarding target silent").await;
    }
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_internet_gets_the_stale_answer_within_the_client_timer() {
    let (mut net, hedge, addr) = recursive(6000).await;
    short_ttl(&tcp(addr, names::SHORT_TTL_EXAMPLE_COM, RecordType::A).await);
    tokio::time::sleep(PAST_SHORT_TTL).await;
    net.shutdown();
    for via in [Via::Udp, Via::Tcp] {
        stale_at_once(via, addr, "internet silent").await;
    }
    drop(hedge);
}

/// A UDP forwarder in front of `target` that holds each query for `delay_ms` first,
/// counting the distinct queries (by id) it receives: a client's retransmissions of one
/// query count once.
struct SlowForwarder {
    addr: SocketAddr,
    delay_ms: Arc<AtomicU64>,
    ids: Arc<Mutex<HashSet<u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SlowForwarder {
    async fn start(target: SocketAddr) -> SlowForwarder {
        let socket = Arc::new(
            tokio::net::UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind the forwarder"),
        );
        let addr = socket.local_addr().expect("its address");
        let delay_ms = Arc::new(AtomicU64::new(0));
        let ids: Arc<Mutex<HashSet<u16>>> = Arc::default();
        let (delay, seen) = (delay_ms.clone(), Arc::clone(&ids));
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, client)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                if n < 2 {
                    continue;
                }
                let id = u16::from_be_bytes([buf[0], buf[1]]);
                seen.lock().expect("ids").insert(id);
                let (query, socket) = (buf[..n].to_vec(), socket.clone());
                let wait = Duration::from_millis(delay.load(Ordering::Relaxed));
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let out = tokio::net::UdpSocket::bind("127.0.0.1:0")
                        .await
                        .expect("bind");
                    out.send_to(&query, target).await.expect("forward");
                    let mut reply = vec![0u8; 4096];
                    if let Ok(Ok(n)) =
                        tokio::time::timeout(Duration::from_secs(2), out.recv(&mut reply)).await
                    {
                        let _ = socket.send_to(&reply[..n], client).await;
                    }
                });
            }
        });
        SlowForwarder {
            addr,
            delay_ms,
            ids,
            task,
        }
    }

    fn queries(&self) -> usize {
        self.ids.lock().expect("ids").len()
    }
}

impl Drop for SlowForwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// RFC 8767: a client answered stale because upstream was slow does not cancel the fetch;
/// it completes and refreshes the cache, and a client asking meanwhile shares it.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_upstream_answer_refreshes_the_cache_after_a_stale_answer() {
    let target = hedge_testkit::Upstream::start_local()
        .await
        .expect("start the forwarding target");
    let slow = SlowForwarder::start(target.addr()).await;
    let (hedge, addr) = start(&forward_upstream(&[slow.addr], 6000));
    short_ttl(&udp(addr, names::SHORT_TTL_EXAMPLE_COM, RecordType::A).await);
    tokio::time::sleep(PAST_SHORT_TTL).await;
    // Slower than the client-response timer, well within the upstream timeout.
    slow.delay_ms.store(2_500, Ordering::Relaxed);
    let before = slow.queries();
    stale_at_once(Via::Udp, addr, "upstream slow").await;
    // Asked while the fetch still runs: this client waits for the same fetch and gets its
    // fresh answer.
    let m = tcp(addr, names::SHORT_TTL_EXAMPLE_COM, RecordType::A).await;
    let ttl = short_ttl(&m);
    assert!(
        (1..=names::SHORT_A_TTL).contains(&ttl) && ede(&m).is_empty(),
        "the refreshed answer, not a stale one: TTL {ttl}, EDE {:?}",
        ede(&m)
    );
    assert_eq!(
        slow.queries() - before,
        1,
        "one upstream query for both clients"
    );
    drop(hedge);
}

#[tokio::test(flavor = "multi_thread")]
async fn recursion_with_unreachable_roots_fails_at_once() {
    // Nothing listens on port 53 there: every root query gets ICMP port unreachable.
    let upstream = "[upstream]\nmode = \"recursive\"\nroots = [\"127.254.53.1\", \"127.254.53.2\"]\nallow_servers = [\"127.0.0.0/8\"]\ntimeout_ms = 3000\n";
    let (hedge, addr) = start(upstream);
    fails_at_once(Via::Udp, addr, names::WWW_EXAMPLE_COM, "roots unreachable").await;
    fails_at_once(Via::Tcp, addr, names::WWW_EXAMPLE_COM, "roots unreachable").await;
    drop(hedge);
}
