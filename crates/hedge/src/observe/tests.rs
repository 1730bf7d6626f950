//! Blocked queries counted through a real server and real DNS queries: decided, served from
//! the packet cache, evicted from it, gone stale, across a reload and at shutdown, the counts
//! per (profile, category, domain) come out of the counters exactly when they are taken
//! (what the flusher writes), under the cap of distinct names, with the raw query log
//! getting every name.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use hedge_dns::Server;
use hedge_lists::Index;
use hedge_stats::{Action, Batch, Counters, CountersOptions, QueryLogOptions};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

use super::{QueryObserver, StatsSink};
use crate::config::{self, Checked};
use crate::test_support::{free_addr, gambling_index};

/// Gambling names of the test index: subdomains of the first count under it.
const LISTED: [&str; 6] = [
    "listed.example",
    "a.example",
    "b.example",
    "c.example",
    "d.example",
    "e.example",
];

fn index() -> Arc<Index> {
    gambling_index(&LISTED)
}

/// A server of one profile `p` blocking gambling with `block_ttl`, counting into counters
/// capped at `cap` distinct blocked names an interval; upstream answers nothing (only
/// blocked names are asked).
struct Rig {
    server: Server,
    counters: Arc<Counters>,
    checked: Checked,
    addr: SocketAddr,
}

impl Rig {
    fn start(block_ttl: u32, cap: usize, query_log: bool) -> Rig {
        let addr = free_addr();
        let text = format!(
            "[[profile]]\nname = \"p\"\nblock = [\"gambling\"]\nblock_ttl = {block_ttl}\n\
             [[listener]]\nprofile = \"p\"\nbind = [\"{addr}\"]\nallow = [\"127.0.0.0/8\"]\n\
             [upstream]\nmode = \"forward\"\ntimeout_ms = 100\n\
             servers = [{{ address = \"127.0.0.1\", port = 9, protocol = \"udp\" }}]\n"
        );
        let loaded = config::parse(&text, "test", None).unwrap();
        let checked = config::check_with_index(&loaded, index()).unwrap();
        let profiles = vec!["p".to_string()];
        let options = CountersOptions {
            max_domains_per_interval: cap,
            query_log: query_log.then(QueryLogOptions::default),
            ..CountersOptions::default()
        };
        let counters = Arc::new(
            Counters::with_options(profiles, checked.policy.count_labels(), options).unwrap(),
        );
        let c = &loaded.config;
        let snapshot = checked.snapshot(Some(observer(&checked, &counters)));
        let server =
            Server::start(&c.listeners, &loaded.upstream(), c.server.clone(), snapshot).unwrap();
        Rig {
            server,
            counters,
            checked,
            addr,
        }
    }

    /// Asks each name over UDP from one socket, a few at a time, and checks every one was
    /// answered (a block: NOERROR).
    fn ask<S: AsRef<str>>(&self, names: &[S]) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        for (c, chunk) in names.chunks(32).enumerate() {
            for (i, name) in chunk.iter().enumerate() {
                let mut m = Message::query();
                m.metadata.id = ((c * 32 + i) % 65_536) as u16;
                m.add_query(Query::query(
                    Name::from_ascii(format!("{}.", name.as_ref())).unwrap(),
                    RecordType::A,
                ));
                socket.send_to(&m.to_vec().unwrap(), self.addr).unwrap();
            }
            let mut buf = [0u8; 1500];
            for _ in chunk {
                let (n, _) = socket.recv_from(&mut buf).expect("every query is answered");
                let reply = Message::from_vec(&buf[..n]).unwrap();
                assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
            }
        }
    }

    /// Takes what was counted, as the flusher does before a write.
    fn take(&self) -> Counted {
        Counted(self.counters.swap_out())
    }
}

/// The observer `serve` gives a snapshot of `checked`, counting into `counters`.
fn observer(checked: &Checked, counters: &Arc<Counters>) -> Arc<dyn hedge_dns::Observer> {
    let sink = StatsSink::new(counters.clone(), &checked.policy);
    Arc::new(QueryObserver::new(&checked.policy, Some(sink), false))
}

/// One batch of counts, read by key.
struct Counted(Batch);

impl Counted {
    /// Blocked queries of `p` per (category, domain).
    fn domains(&self) -> BTreeMap<(String, String), u64> {
        self.0
            .domains()
            .map(|(k, n)| {
                assert_eq!(&*k.profile, "p");
                ((k.category.to_string(), k.domain.to_string()), n)
            })
            .collect()
    }

    /// `n` blocked queries, all under `listed.example`.
    fn assert_listed(&self, n: u64) {
        assert_eq!(
            self.domains(),
            BTreeMap::from([gambling("listed.example", n)])
        );
        assert_eq!(self.blocked(), n);
    }

    /// Blocked queries of `p` counted under `gambling` (the per-category total).
    fn blocked(&self) -> u64 {
        self.0
            .counts()
            .filter(|(k, _)| k.action == Action::Blocked && &*k.category == "gambling")
            .map(|(_, n)| n)
            .sum()
    }
}

fn gambling(domain: &str, n: u64) -> ((String, String), u64) {
    (("gambling".to_string(), domain.to_string()), n)
}

/// Blocked names decided, then served from the packet cache, then pushed out of it by a
/// flood of random subdomains larger than the cache (each asked twice: decided, then
/// cached): every query counted under its listed name, exactly, and counting starts from
/// zero after the counts are taken.
#[tokio::test(flavor = "multi_thread")]
async fn blocked_counts_are_exact_through_the_cache_and_its_evictions() {
    let rig = Rig::start(300, 100_000, false);
    rig.ask(&["www.listed.example"; 5]);
    rig.ask(&["a.example"; 3]);
    // 6,000 distinct names, more than the blocked-answer cache holds (4,096).
    let flood: Vec<String> = (0..6_000)
        .flat_map(|i| {
            let name = format!("x{i}.listed.example");
            [name.clone(), name]
        })
        .collect();
    rig.ask(&flood);
    rig.ask(&["www.listed.example"; 2]);
    let taken = rig.take();
    assert_eq!(
        taken.domains(),
        BTreeMap::from([gambling("a.example", 3), gambling("listed.example", 12_007)])
    );
    assert_eq!(taken.blocked(), 12_010);
    // The entries' counts were taken with the rest: from zero again.
    rig.ask(&["www.listed.example"; 4]);
    rig.take().assert_listed(4);
    assert!(rig.take().domains().is_empty());
}

/// A cached block that goes stale (`block_ttl` 1 s) hands over what it counted when the
/// next query finds it so; the answer decided anew counts on.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_cached_block_keeps_its_count() {
    let rig = Rig::start(1, 100_000, false);
    rig.ask(&["www.listed.example"; 3]);
    // Lifetimes are whole seconds from the second it was stored: stale within 2 s.
    std::thread::sleep(Duration::from_millis(2_100));
    rig.ask(&["www.listed.example"; 2]);
    rig.take().assert_listed(5);
}

/// Past the cap of distinct names in an interval, blocked queries count under `(other)`:
/// as many names as the cap, each exact, the rest in `(other)`, nothing lost.
#[tokio::test(flavor = "multi_thread")]
async fn past_the_cap_blocked_queries_count_as_other() {
    let rig = Rig::start(300, 3, false);
    for name in &LISTED[1..] {
        rig.ask(&[*name; 2]); // decided, then from the cache
    }
    let taken = rig.take();
    let domains = taken.domains();
    let other = domains.get(&("gambling".to_string(), "(other)".to_string()));
    assert_eq!(other, Some(&4), "{domains:?}");
    assert_eq!(domains.len(), 4, "three names and (other): {domains:?}");
    assert!(domains.values().all(|&n| n == 2 || n == 4), "{domains:?}");
    assert_eq!(taken.blocked(), 10);
    // The next interval has its own cap.
    rig.ask(&["e.example"; 2]);
    assert_eq!(
        rig.take().domains(),
        BTreeMap::from([gambling("e.example", 2)])
    );
}

/// A reload swaps in a new snapshot (and observer): what the old one's cached blocks
/// counted is not lost, and the new one counts on from there.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_keeps_the_counts_of_cached_blocks() {
    let rig = Rig::start(300, 100_000, false);
    rig.ask(&["www.listed.example"; 3]);
    let snapshot = rig
        .checked
        .snapshot(Some(observer(&rig.checked, &rig.counters)));
    rig.server.reload(snapshot).unwrap();
    rig.ask(&["www.listed.example"; 2]);
    rig.take().assert_listed(5);
}

/// At shutdown the counts still in the cache reach the counters (the flusher's last write
/// comes after).
#[tokio::test(flavor = "multi_thread")]
async fn shutdown_hands_over_the_counts_of_cached_blocks() {
    let Rig {
        server, counters, ..
    } = {
        let rig = Rig::start(300, 100_000, false);
        rig.ask(&["www.listed.example"; 3]);
        rig
    };
    server.shutdown();
    let taken = Counted(counters.swap_out());
    assert_eq!(
        taken.domains(),
        BTreeMap::from([gambling("listed.example", 3)])
    );
}

/// With the raw query log on, every blocked query is in it under the name asked, cached
/// answers too; the domain counts stay under the listed name.
#[tokio::test(flavor = "multi_thread")]
async fn the_query_log_gets_every_blocked_name() {
    let rig = Rig::start(300, 100_000, true);
    rig.ask(&["www.listed.example"; 3]);
    rig.ask(&["x1.listed.example"; 2]);
    let taken = rig.take();
    let logged: Vec<(&str, Action)> = taken
        .0
        .query_log()
        .iter()
        .map(|e| (&*e.name, e.action))
        .collect();
    let want: Vec<(&str, Action)> = [("www.listed.example", 3), ("x1.listed.example", 2)]
        .into_iter()
        .flat_map(|(n, k)| std::iter::repeat_n((n, Action::Blocked), k))
        .collect();
    assert_eq!(logged, want);
    assert_eq!(
        taken.domains(),
        BTreeMap::from([gambling("listed.example", 5)])
    );
}

/// With `[stats]` off the observer asks the query path for nothing: no count in the cache
/// entries, no name written out for a cached block or anything else; with it on, blocked
/// answers are counted in their entries.
#[tokio::test(flavor = "multi_thread")]
async fn without_statistics_the_query_path_counts_nothing_per_name() {
    use hedge_dns::{Observer, Outcome};
    let rig = Rig::start(300, 100_000, false);
    let off = QueryObserver::new(&rig.checked.policy, None, true);
    for outcome in [Outcome::Blocked, Outcome::Allowed] {
        assert!(!off.counts_cached(outcome), "{outcome:?}");
    }
    assert!(!off.wants_blocked_names());
    assert!(!off.wants_every_name());
    assert!(!off.logs_queries());
    let on = observer(&rig.checked, &rig.counters);
    assert!(on.counts_cached(Outcome::Blocked));
    assert!(on.wants_blocked_names());
    assert!(!on.logs_queries());
}
