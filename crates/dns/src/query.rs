//! The full query path: parse, policy, cache or upstream, CNAME checks, answer.
//!
//! UDP queries try [`crate::fast_path`] first (the ACL, the packet cache, wire-encoded
//! sinkholes); everything else, and every miss, takes [`handle`].

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hedge_policy::{Bypass, Decision, ProfileId};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

use crate::answer::{self, Ede};
use crate::fast_path::refusal_outcome;
use crate::fetch::Answer;
use crate::observer::{self, Observation, Outcome};
use crate::packet_cache::{PacketKey, Reuse};
use crate::shared::{Live, Shared};
use crate::upstream::UpstreamError;
use crate::wire::{self, FastQuery};

/// How the query arrived; UDP answers must fit the client's buffer.
#[allow(unreachable_pub)] // re-exported by `fuzz`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// What the full path learnt besides the answer.
struct Facts {
    outcome: Outcome,
    category: Option<hedge_lists::CategoryIdx>,
    cache_hit: bool,
    upstream_error: Option<&'static str>,
    /// How long the encoded answer may be reused by the packet cache (None: never).
    reuse: Option<Duration>,
    /// For a category block, the labels of the listed name.
    listed_labels: Option<u8>,
}

/// How long the RFC 8482 answer to ANY lives (seconds).
const ANY_TTL: u32 = 3600;

/// Answers one packet from a client the listener allows (the caller checks the ACL, on the
/// UDP receiving thread or at TCP accept). `None` only for packets that must not be
/// answered (responses, or fewer than 12 bytes: no id to answer to).
pub(crate) async fn handle(
    shared: &Shared,
    listener: usize,
    packet: &[u8],
    client: IpAddr,
    transport: Transport,
) -> Option<Vec<u8>> {
    let started = Instant::now();
    let live = shared.live.load_full();
    let req = match Message::from_vec(packet) {
        Ok(m) => m,
        Err(_) => return answer::formerr(packet),
    };
    if req.metadata.message_type != MessageType::Query {
        return None;
    }
    let max_len = match transport {
        Transport::Udp => usize::from(req.max_payload().clamp(512, answer::EDNS_PAYLOAD)),
        Transport::Tcp => usize::from(u16::MAX),
    };
    let profile = live.snapshot.listener_profiles[listener];
    let mut facts = Facts {
        outcome: Outcome::Servfail,
        category: None,
        cache_hit: false,
        upstream_error: None,
        reuse: None,
        listed_labels: None,
    };
    let qname = req.queries.first().map(|q| policy_name(q.name()));
    let qtype = req.queries.first().map_or(0, |q| u16::from(q.query_type()));
    let local = wire::meta_type_answer(qtype);
    let response = if req.edns.as_ref().is_some_and(|e| e.version() != 0) {
        // RFC 6891: BADVERS, with the version hedge speaks (0) in the OPT record.
        let mut m = answer::response(&req, ResponseCode::BADVERS);
        answer::add_ede(&mut m, Ede::Other, "only EDNS version 0 is supported");
        m
    } else if !answer::supported(req.metadata.op_code) {
        answer::response(&req, ResponseCode::NotImp)
    } else if req.queries.len() != 1 {
        answer::response(&req, ResponseCode::FormErr)
    } else if req.queries[0].query_class() != DNSClass::IN {
        facts.outcome = Outcome::Refused;
        answer::response(&req, ResponseCode::Refused)
    } else if let Some((rcode, text)) = local {
        facts.outcome = refusal_outcome(rcode);
        let mut m = answer::response(&req, ResponseCode::from(0, rcode as u8));
        answer::add_ede(&mut m, Ede::NotSupported, text);
        m
    } else if let Some(portal) = live
        .snapshot
        .portal_name
        .as_deref()
        .filter(|p| qname.as_deref().is_some_and(|n| p.is(n)))
    {
        // Not a lookup: counted as allowed, and never in the packet cache (reuse stays
        // None), so a block can never be cached for it.
        facts.outcome = Outcome::Allowed;
        portal.answer(&req, &req.queries[0])
    } else {
        // Decided once: ANY is answered here for allowed names, as any type for the rest.
        let decision = live
            .snapshot
            .policy
            .decide(profile, qname.as_deref().unwrap_or(""));
        match any_answer(&live, &req, decision, &mut facts) {
            Some(m) => m,
            None => resolve_query(shared, &live, &req, profile, decision, &mut facts).await,
        }
    };
    let bytes = answer::encode(&response, max_len).unwrap_or_else(|| {
        tracing::warn!(
            "the answer to {:?} {qtype} could not be encoded; answered SERVFAIL",
            qname.as_deref().unwrap_or("")
        );
        facts.outcome = Outcome::Servfail;
        facts.reuse = None;
        answer::unencodable(&response)
    });
    let cacheable = transport == Transport::Udp && facts.reuse.is_some() && bytes[2] & 0x02 == 0;
    let fast_q = cacheable.then(|| FastQuery::parse(packet)).flatten();
    // The length of the domain it is counted under, as the fast path slices it from the
    // name it writes out (so that the entry counts it under that very name).
    let mut name_buf = [0u8; 256];
    let domain_len = fast_q
        .as_ref()
        .filter(|_| facts.listed_labels.is_some())
        .and_then(|q| observer::domain_len(q.name(&mut name_buf)?, facts.listed_labels));
    let observer = live.snapshot.observer.as_deref();
    // The answer's hits are counted in its cache entry, if the observer counts them per
    // domain (this answer is counted here).
    let count_hits = observer.is_some_and(|o| o.counts_cached(facts.outcome));
    if let Some(observer) = &live.snapshot.observer {
        let obs = Observation {
            client,
            qtype,
            profile,
            category: facts.category,
            outcome: facts.outcome,
            qname: qname.as_deref(),
            domain: qname.as_deref().map(|n| {
                facts
                    .listed_labels
                    .map_or(n, |l| hedge_policy::suffix(n, l))
            }),
            cache_hit: facts.cache_hit,
            domain_counted: false,
            upstream_error: facts.upstream_error,
        };
        observer.observe(&live.snapshot.policy, &obs, started);
    }
    if let (Some(reuse), Some(q)) = (facts.reuse, fast_q) {
        let cache = if facts.outcome == Outcome::Blocked {
            &shared.blocked_packets
        } else {
            &shared.packets
        };
        cache.insert(
            &PacketKey::new(&q, listener, shared.key_seed),
            &q,
            live.generation,
            &bytes,
            Reuse {
                lifetime: reuse,
                outcome: facts.outcome,
                category: facts.category,
                domain_len,
                hits: count_hits.then_some(0),
                age_ttls: matches!(facts.outcome, Outcome::Allowed | Outcome::Rewritten),
            },
            |hits| live.count_cached_hits(hits),
        );
    }
    Some(bytes)
}

/// ANY for a name the policy allows or rewrites gets the RFC 8482 HINFO, asked of no one;
/// None for blocked names, whose sinkhole [`resolve_query`] gives as for any type.
fn any_answer(
    live: &Live,
    req: &Message,
    decision: Decision,
    facts: &mut Facts,
) -> Option<Message> {
    let query = &req.queries[0];
    if query.query_type() != RecordType::ANY {
        return None;
    }
    let policy = &live.snapshot.policy;
    facts.outcome = match decision {
        Decision::Allow(_) => Outcome::Allowed,
        Decision::Rewrite(_) => Outcome::Rewritten,
        Decision::Block(_) | Decision::Bypass(_) => return None,
    };
    facts.category = decision.category(policy.index());
    facts.reuse = Some(Duration::from_secs(u64::from(ANY_TTL)));
    Some(answer::any_hinfo(req, query, ANY_TTL))
}

/// The name the policy decides on: its labels as sent, lower case, joined by dots, the
/// same text the fast path builds. Not `Name::to_ascii`, which escapes bytes (`\-bad`) and
/// so would ask the policy about another name than the one listed.
fn policy_name(name: &Name) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, label) in name.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&String::from_utf8_lossy(label));
    }
    out.make_ascii_lowercase();
    out
}

/// Answers a well-formed single question the policy has decided on.
async fn resolve_query(
    shared: &Shared,
    live: &Live,
    req: &Message,
    profile: ProfileId,
    decision: Decision,
    facts: &mut Facts,
) -> Message {
    let policy = &live.snapshot.policy;
    let query = &req.queries[0];
    facts.category = decision.category(policy.index());
    facts.listed_labels = decision.listed_labels();
    let p = policy.profile(profile);
    let version = policy.index().version();
    match decision {
        Decision::Block(reason) => {
            facts.outcome = Outcome::Blocked;
            facts.reuse = block_reuse(p.block_ttl);
            let portal = live.snapshot.portal_url.as_deref();
            let (ede, text) = answer::block_text(policy, p, reason, version, portal);
            answer::sinkhole(req, query, p, ede, &text)
        }
        Decision::Bypass(b) => {
            facts.outcome = Outcome::Blocked;
            facts.reuse = block_reuse(p.block_ttl);
            let text = answer::bypass_text(p, b);
            answer::local_negative(req, query, b != Bypass::Ddr, p.block_ttl, &text)
        }
        Decision::Rewrite(target) => {
            facts.outcome = Outcome::Rewritten;
            let Ok(target_name) = Name::from_ascii(format!("{target}.")) else {
                return servfail(req, "bad rewrite target");
            };
            match shared
                .fetcher
                .answer(&target_name, query.query_type())
                .await
            {
                Ok(found) => {
                    facts.cache_hit = found.cache_hit;
                    facts.reuse = reuse(&found);
                    let mut m = answer::response(req, found.resolved.rcode);
                    m.answers
                        .push(answer::cname(query.name(), &target_name, 300));
                    m.answers.extend(found.resolved.answers);
                    mark_stale(&mut m, found.stale);
                    m
                }
                Err(e) => upstream_failed(req, facts, &e),
            }
        }
        Decision::Allow(_) => {
            match shared
                .fetcher
                .answer(query.name(), query.query_type())
                .await
            {
                Ok(found) => {
                    facts.cache_hit = found.cache_hit;
                    facts.outcome = Outcome::Allowed;
                    let reuse = reuse(&found);
                    let (resolved, stale) = (found.resolved, found.stale);
                    // CNAME cloaking: every target in the chain must pass the policy too.
                    for record in &resolved.answers {
                        if let RData::CNAME(target) = &record.data {
                            let target = target.0.to_ascii();
                            if let Decision::Block(reason) =
                                policy.decide_cname_target(profile, &target)
                            {
                                facts.outcome = Outcome::Blocked;
                                facts.category = Decision::Block(reason).category(policy.index());
                                // Decided by upstream data: kept no longer than it lives.
                                facts.reuse = reuse.min(block_reuse(p.block_ttl));
                                let (ede, text) = answer::block_text_via(
                                    policy,
                                    p,
                                    reason,
                                    version,
                                    Some(target.trim_end_matches('.')),
                                    live.snapshot.portal_url.as_deref(),
                                );
                                return answer::sinkhole(req, query, p, ede, &text);
                            }
                        }
                    }
                    facts.reuse = reuse;
                    let mut m = answer::response(req, resolved.rcode);
                    m.answers = resolved.answers;
                    if let Some(soa) = resolved.soa.filter(|_| {
                        m.answers
                            .iter()
                            .all(|a| a.record_type() == RecordType::CNAME)
                    }) {
                        m.authorities.push(soa);
                    }
                    mark_stale(&mut m, stale);
                    m
                }
                Err(e) => upstream_failed(req, facts, &e),
            }
        }
    }
}

/// How long an upstream answer's encoding may be reused: for as long as the answer lives
/// (its TTLs count down meanwhile). Never a stale answer: each one goes through the full
/// path, so the next query asks upstream again (or waits out a remembered failure).
fn reuse(found: &Answer) -> Option<Duration> {
    (!found.stale && found.lifetime > 0).then(|| Duration::from_secs(found.lifetime.into()))
}

/// How long a block hedge decided itself may be reused: its TTL at most (re-deciding is
/// cheap, and a changed decision then shows within the TTL clients were told).
fn block_reuse(block_ttl: u32) -> Option<Duration> {
    (block_ttl > 0).then(|| Duration::from_secs(block_ttl.into()))
}

/// Says so when an answer came from the cache because upstream failed (RFC 8767).
fn mark_stale(m: &mut Message, stale: bool) {
    if stale {
        answer::add_ede(
            m,
            Ede::StaleAnswer,
            "upstream unreachable; answer from cache",
        );
    }
}

/// SERVFAIL for an upstream failure, noted for the observer.
fn upstream_failed(req: &Message, facts: &mut Facts, e: &UpstreamError) -> Message {
    facts.outcome = Outcome::Servfail;
    facts.upstream_error = Some(e.kind());
    servfail(req, &e.to_string())
}

/// Answers one packet on the full path, turning a panic into SERVFAIL with an EDE: the
/// handler always answers.
pub(crate) async fn handle_guarded(
    shared: &Shared,
    listener: usize,
    packet: &[u8],
    client: IpAddr,
    transport: Transport,
) -> Option<Vec<u8>> {
    use futures_util::FutureExt;
    let reply = std::panic::AssertUnwindSafe(handle(shared, listener, packet, client, transport))
        .catch_unwind()
        .await;
    reply.unwrap_or_else(|_| {
        tracing::error!("internal error answering a query; answered SERVFAIL");
        answer::servfail_with_ede(packet, "internal error")
    })
}

/// SERVFAIL with an EDE naming the cause.
fn servfail(req: &Message, why: &str) -> Message {
    let mut m = answer::response(req, ResponseCode::ServFail);
    answer::add_ede(&mut m, Ede::NoReachableAuthority, why);
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;
    use std::time::Instant;

    use hickory_proto::op::{Edns, Message, Query, ResponseCode};
    use hickory_proto::rr::{Name, RData, RecordType};

    use super::{Transport, handle};
    use crate::answer::{self, decode_ede};
    use crate::fast_path::{Arrival, fast_answer};
    use crate::observer::{Observer, Outcome};
    use crate::test_support::{Recorder, Seen, shared, shared_with};

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// Found by the `packet_parse` fuzz target: hickory writes a label's leading `-`
    /// escaped (`\-bad`), so the full path asked the policy about another name than the
    /// fast path and let a listed name through over TCP.
    #[tokio::test]
    async fn full_path_decides_on_the_name_as_sent() {
        let shared = shared("127.0.0.0/8", &["-bad.example"], None);
        // hickory will not build a name with a leading `-`: the packet, by hand.
        let mut packet = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.extend_from_slice(b"\x04-bad\x07example\x00\x00\x01\x00\x01");
        let reply = handle(&shared, 0, &packet, CLIENT, Transport::Tcp)
            .await
            .unwrap();
        let reply = Message::from_vec(&reply).unwrap();
        let answers: Vec<_> = reply.answers.iter().map(|r| r.data.clone()).collect();
        assert_eq!(
            answers,
            [RData::A(Ipv4Addr::UNSPECIFIED.into())],
            "{:?}",
            reply.metadata.response_code
        );
    }

    /// ANY on the full path: the policy decides once, the HINFO of RFC 8482 for an allowed
    /// name, the sinkhole of any type (NODATA with the block's SOA and EDE) for a blocked one,
    /// counted as such. Nothing is asked upstream (there is none that answers).
    #[tokio::test]
    async fn any_gets_hinfo_when_allowed_and_the_sinkhole_when_blocked() {
        let recorder = Arc::new(Recorder::default());
        let observer: Arc<dyn Observer> = recorder.clone();
        let shared = shared("127.0.0.0/8", &["blocked.example"], Some(observer));
        let live = shared.live.load_full();
        let policy = &live.snapshot.policy;
        let ask = |name: &str| {
            let mut req = Message::query();
            req.metadata.id = 0x2a2a;
            req.add_query(Query::query(
                Name::from_ascii(name).unwrap(),
                RecordType::ANY,
            ));
            req.edns = Some(Edns::new());
            let packet = req.to_vec().unwrap();
            let shared = &shared;
            async move {
                let reply = handle(shared, 0, &packet, CLIENT, Transport::Tcp).await;
                Message::from_vec(&reply.unwrap()).unwrap()
            }
        };

        let blocked = ask("www.Blocked.example.").await;
        assert_eq!(blocked.metadata.response_code, ResponseCode::NoError);
        assert!(blocked.answers.is_empty(), "{:?}", blocked.answers);
        let owner = Name::from_ascii("www.Blocked.example.").unwrap();
        assert_eq!(
            blocked.authorities,
            [answer::synthetic_soa(&owner, policy.profile(0).block_ttl)]
        );
        let text = format!(
            "blocked: custom block list (profile p, index {})",
            policy.index().version()
        );
        assert_eq!(decode_ede(&blocked), [(15, text)]);

        let allowed = ask("ok.example.").await;
        assert_eq!(allowed.metadata.response_code, ResponseCode::NoError);
        let hinfo: Vec<_> = allowed.answers.iter().map(|r| r.data.clone()).collect();
        assert!(
            matches!(&hinfo[..], [RData::HINFO(h)] if &*h.cpu == b"RFC8482" && h.os.is_empty()),
            "{hinfo:?}"
        );

        let decided = policy.decide(0, "www.blocked.example");
        let seen = |outcome, category, qname: &str| Seen {
            client: CLIENT,
            qtype: 255,
            outcome,
            category,
            qname: Some(qname.into()),
            domain_counted: false,
            domain: Some(qname.into()),
        };
        assert_eq!(
            recorder.seen(),
            [
                seen(
                    Outcome::Blocked,
                    decided.category(policy.index()),
                    "www.blocked.example"
                ),
                seen(Outcome::Allowed, None, "ok.example"),
            ]
        );
    }

    /// A category block is counted under the listed name, whatever subdomain was asked:
    /// on the fast path (decided, then from the blocked-answer cache) and the full path.
    #[tokio::test]
    async fn blocks_are_counted_under_the_listed_name() {
        let recorder = Arc::new(Recorder::default());
        let observer: Arc<dyn Observer> = recorder.clone();
        let listed = ["listed.example", "deep.listed.example"];
        let shared = shared_with("127.0.0.0/8", &["custom.example"], &listed, Some(observer));
        let asked = [
            ("a.B.listed.example.", "listed.example"),
            ("listed.example.", "listed.example"),
            // The index keeps only the shortest of nested names listed for one category.
            ("x.deep.listed.example.", "listed.example"),
            ("other.example.listed.example.", "listed.example"),
            // A custom list counts the query name itself.
            ("www.custom.example.", "www.custom.example"),
        ];
        let mut expected = Vec::new();
        for (name, domain) in asked {
            let mut req = Message::query();
            req.metadata.id = 7;
            req.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
            let packet = req.to_vec().unwrap();
            for _fast in 0..2 {
                let mut out = Vec::new();
                let arrival = Arrival {
                    listener: 0,
                    client: CLIENT,
                    received: Instant::now(),
                };
                let len = fast_answer(&shared, arrival, &packet, &mut out);
                assert!(len.is_some(), "{name} answered on the fast path");
            }
            handle(&shared, 0, &packet, CLIENT, Transport::Tcp)
                .await
                .unwrap();
            expected.extend(std::iter::repeat_n(Some(domain.to_string()), 3));
        }
        let seen = recorder.seen();
        assert!(
            seen.iter().all(|s| s.outcome == Outcome::Blocked),
            "{seen:?}"
        );
        let counted: Vec<_> = seen.into_iter().map(|s| s.domain).collect();
        assert_eq!(counted, expected);
    }

    /// Answers `packet` `n` times on the fast path, as if it arrived at `at`.
    fn answer_fast(shared: &crate::shared::Shared, packet: &[u8], n: usize, at: Instant) {
        for _ in 0..n {
            let arrival = Arrival {
                listener: 0,
                client: CLIENT,
                received: at,
            };
            let mut out = Vec::new();
            fast_answer(shared, arrival, packet, &mut out).expect("a fast answer");
        }
    }

    /// An allowed answer's hits are counted in its packet-cache entry, not by the
    /// observer one by one, and every one reaches the observer: through a sweep, when the
    /// entry is replaced, and when it goes stale.
    #[test]
    fn cache_hits_of_an_allowed_answer_are_counted_exactly() {
        use std::time::Duration;

        use crate::packet_cache::{PacketKey, Reuse};
        use crate::wire::FastQuery;

        let recorder = Arc::new(Recorder::counting_cached());
        let observer: Arc<dyn Observer> = recorder.clone();
        let shared = shared("127.0.0.0/8", &[], Some(observer));
        let mut req = Message::query();
        req.add_query(Query::query(
            Name::from_ascii("WWW.Allowed.example.").unwrap(),
            RecordType::A,
        ));
        let packet = req.to_vec().unwrap();
        let q = FastQuery::parse(&packet).unwrap();
        let key = PacketKey::new(&q, 0, shared.key_seed);
        // As the full path caches an allowed answer (the bytes matter not here).
        let cache = || {
            let mut answer = packet.clone();
            answer[2] |= 0x80;
            let reuse = Reuse {
                lifetime: Duration::from_secs(60),
                outcome: Outcome::Allowed,
                category: None,
                domain_len: None,
                hits: Some(0),
                age_ttls: false,
            };
            let live = shared.live.load();
            shared
                .packets
                .insert(&key, &q, live.generation, &answer, reuse, |hits| {
                    live.count_cached_hits(hits)
                });
        };
        let start = Instant::now();
        let hit = |n: usize, after: Duration| answer_fast(&shared, &packet, n, start + after);
        let counted = |want: &[u32]| {
            let cached: Vec<_> = recorder.cached();
            let want: Vec<_> = want
                .iter()
                .map(|&n| {
                    (
                        0,
                        Outcome::Allowed,
                        None,
                        "www.allowed.example".to_string(),
                        n,
                    )
                })
                .collect();
            assert_eq!(cached, want);
        };
        cache();
        hit(5, Duration::ZERO);
        counted(&[]);
        shared.sweep_cached_counts();
        counted(&[5]);
        shared.sweep_cached_counts();
        counted(&[5]);
        hit(3, Duration::ZERO);
        cache(); // replaced: its three go to the observer
        counted(&[5, 3]);
        hit(2, Duration::ZERO);
        // Stale a minute on: the hit that finds it so drops it, with its two.
        let arrival = Arrival {
            listener: 0,
            client: CLIENT,
            received: start + Duration::from_secs(61),
        };
        assert!(fast_answer(&shared, arrival, &packet, &mut Vec::new()).is_none());
        counted(&[5, 3, 2]);
        shared.sweep_cached_counts();
        counted(&[5, 3, 2]);
        let seen = recorder.seen();
        assert_eq!(seen.len(), 10, "{seen:?}");
        assert!(
            seen.iter()
                .all(|s| s.outcome == Outcome::Allowed && s.domain_counted && s.qname.is_none()),
            "each hit is observed, its domain not counted again: {seen:?}"
        );
    }

    /// A block decided on the fast path is counted by the observer (under the listed name),
    /// and every answer served from its cache entry is counted in the entry: the observer
    /// counts each hit's query but no domain, and every hit reaches it under the listed name
    /// and the category, through sweeps and when the entry goes stale. An entry dropped
    /// before any hit hands over nothing. The full path's block (TCP) is counted by the
    /// observer itself.
    #[tokio::test]
    async fn blocks_counted_in_their_cache_entry_are_counted_exactly() {
        use std::time::Duration;

        let recorder = Arc::new(Recorder::counting_cached());
        let observer: Arc<dyn Observer> = recorder.clone();
        let shared = shared_with("127.0.0.0/8", &[], &["listed.example"], Some(observer));
        let live = shared.live.load_full();
        let category = live
            .snapshot
            .policy
            .decide(0, "listed.example")
            .category(live.snapshot.policy.index());
        assert!(category.is_some());
        let mut req = Message::query();
        req.add_query(Query::query(
            Name::from_ascii("WWW.Listed.example.").unwrap(),
            RecordType::A,
        ));
        let packet = req.to_vec().unwrap();
        let start = Instant::now();
        let ask = |n: usize, after: Duration| answer_fast(&shared, &packet, n, start + after);
        let counted = |want: &[u32]| {
            let want: Vec<_> = want
                .iter()
                .map(|&n| {
                    (
                        0,
                        Outcome::Blocked,
                        category,
                        "listed.example".to_string(),
                        n,
                    )
                })
                .collect();
            assert_eq!(recorder.cached(), want);
        };
        ask(4, Duration::ZERO); // decided, then three from the cache
        counted(&[]);
        shared.sweep_cached_counts();
        counted(&[3]);
        shared.sweep_cached_counts();
        counted(&[3]);
        ask(2, Duration::ZERO);
        // Stale past its block_ttl: the query that finds it so drops it with its two, and
        // the block decided anew is counted by the observer; its new entry has no hits.
        let ttl = u64::from(live.snapshot.policy.profile(0).block_ttl);
        ask(1, Duration::from_secs(ttl + 1));
        counted(&[3, 2]);
        shared.sweep_cached_counts();
        counted(&[3, 2]);
        handle(&shared, 0, &packet, CLIENT, Transport::Tcp)
            .await
            .unwrap();
        counted(&[3, 2]);
        let seen = recorder.seen();
        assert_eq!(seen.len(), 8, "{seen:?}");
        assert!(
            seen.iter()
                .all(|s| s.outcome == Outcome::Blocked && s.category == category),
            "{seen:?}"
        );
        // Decided (fast path twice, then the full path): counted by the observer under the
        // listed name; the hits between them were counted in the entry.
        let direct = [0, 6, 7];
        for (i, s) in seen.iter().enumerate() {
            assert_eq!(s.domain_counted, !direct.contains(&i), "{i}: {s:?}");
        }
        for i in direct {
            assert_eq!(seen[i].domain.as_deref(), Some("listed.example"), "{i}");
        }
    }
}
