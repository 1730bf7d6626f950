//! The query path: ACL, parse, policy, cache or upstream, CNAME checks, answer.
//!
//! UDP queries try [`fast_answer`] first (packet cache, wire-encoded sinkholes, no
//! allocation on a hit); everything else, and every miss, takes [`handle`].

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hedge_policy::{Bypass, Decision, ProfileId};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, RecordType};

use crate::answer::{self, Ede};
use crate::cache::{Cache, Lookup};
use crate::packet_cache::{PacketKey, Reuse};
use crate::upstream::{Resolved, Upstream, UpstreamError};
use crate::wire::{self, FastQuery};
use crate::{Live, Observation, Outcome, Shared};

/// How the query arrived; UDP answers must fit the client's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// Longest time an upstream answer's encoding is reused (its TTLs count down meanwhile).
const PACKET_REUSE: Duration = Duration::from_secs(3600);

/// Answers a UDP query without the full path when it can: a packet-cache hit, or a block
/// decided and written straight to the wire. Returns the answer's length in `out`.
/// `received` is when the batch holding the packet arrived (one clock read per batch).
pub fn fast_answer(
    shared: &Shared,
    listener: usize,
    packet: &[u8],
    client: IpAddr,
    out: &mut Vec<u8>,
    received: Instant,
) -> Option<usize> {
    let q = FastQuery::parse(packet)?;
    if !shared.listeners[listener].allows(client) {
        return None; // REFUSED with its EDE: the full path
    }
    let live = shared.live.load();
    let profile = live.snapshot.listener_profiles[listener];
    let observer = live.snapshot.observer.as_deref();
    let key = PacketKey::new(&q, listener, shared.key_seed);
    let mut name_buf = [0u8; 256];
    let cached = shared
        .packets
        .answer(&key, &q, live.generation, received, out)
        .or_else(|| {
            shared
                .blocked_packets
                .answer(&key, &q, live.generation, received, out)
        });
    let (len, outcome, category, listed_labels, name) = match cached {
        Some(hit) => {
            // The name is written out only when someone reads it: counting a block under
            // its listed name, or a query log.
            let wanted =
                observer.is_some_and(|o| hit.outcome == Outcome::Blocked || o.wants_every_name());
            let name = if wanted { q.name(&mut name_buf) } else { None };
            (hit.len, hit.outcome, hit.category, hit.listed_labels, name)
        }
        None => {
            let name = q.name(&mut name_buf)?;
            let policy = &live.snapshot.policy;
            let decision = policy.decide(profile, name);
            let (outcome, lifetime) = wire::write_block(&q, policy, profile, decision, out)?;
            let category = decision.category(policy.index());
            let listed_labels = decision.listed_labels();
            let reuse = Reuse {
                lifetime,
                outcome,
                category,
                listed_labels,
                age_ttls: false,
            };
            shared
                .blocked_packets
                .insert(&key, &q, live.generation, out, reuse);
            (out.len(), outcome, category, listed_labels, Some(name))
        }
    };
    if let Some(observer) = observer {
        let obs = Observation {
            client,
            qtype: q.qtype,
            profile,
            category,
            outcome,
            qname: name,
            domain: name.map(|n| listed_labels.map_or(n, |l| hedge_policy::suffix(n, l))),
            cache_hit: outcome != Outcome::Blocked,
            upstream_error: None,
        };
        observer.observe(&live.snapshot.policy, &obs, received);
    }
    Some(len)
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

/// Answers one packet. `None` only for packets that must not be answered (responses, or
/// fewer than 12 bytes: no id to answer to).
pub async fn handle(
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
    let response = if !shared.listeners[listener].allows(client) {
        facts.outcome = Outcome::Refused;
        let mut m = answer::response(&req, ResponseCode::Refused);
        answer::add_ede(
            &mut m,
            Ede::Prohibited,
            "this network is not allowed to use this resolver",
        );
        m
    } else if !answer::supported(req.metadata.op_code) {
        answer::response(&req, ResponseCode::NotImp)
    } else if req.queries.len() != 1 {
        answer::response(&req, ResponseCode::FormErr)
    } else if req.queries[0].query_class() != DNSClass::IN {
        facts.outcome = Outcome::Refused;
        answer::response(&req, ResponseCode::Refused)
    } else {
        resolve_query(
            shared,
            &live,
            &req,
            profile,
            qname.as_deref().unwrap_or(""),
            &mut facts,
        )
        .await
    };
    if let Some(observer) = &live.snapshot.observer {
        let obs = Observation {
            client,
            qtype: req.queries.first().map_or(0, |q| u16::from(q.query_type())),
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
            upstream_error: facts.upstream_error,
        };
        observer.observe(&live.snapshot.policy, &obs, started);
    }
    let bytes = answer::encode(&response, max_len)?;
    if transport == Transport::Udp
        && let Some(reuse) = facts.reuse
        && let Some(q) = FastQuery::parse(packet)
        && bytes[2] & 0x02 == 0
    {
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
                listed_labels: facts.listed_labels,
                age_ttls: matches!(facts.outcome, Outcome::Allowed | Outcome::Rewritten),
            },
        );
    }
    Some(bytes)
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

/// Decides and answers a well-formed single question.
async fn resolve_query(
    shared: &Shared,
    live: &Live,
    req: &Message,
    profile: ProfileId,
    qname: &str,
    facts: &mut Facts,
) -> Message {
    let policy = &live.snapshot.policy;
    let query = &req.queries[0];
    let decision = policy.decide(profile, qname);
    facts.category = decision.category(policy.index());
    facts.listed_labels = decision.listed_labels();
    let p = policy.profile(profile);
    let version = policy.index().version();
    match decision {
        Decision::Block(reason) => {
            facts.outcome = Outcome::Blocked;
            facts.reuse = Some(Duration::from_secs(3600));
            let (ede, text) = wire::block_text(policy, p, reason, version);
            answer::sinkhole(req, query, p, ede, &text)
        }
        Decision::Bypass(b) => {
            facts.outcome = Outcome::Blocked;
            facts.reuse = Some(Duration::from_secs(3600));
            let text = format!("{} (profile {})", wire::bypass_text(b), p.name);
            answer::local_negative(req, query, b != Bypass::Ddr, p.block_ttl, &text)
        }
        Decision::Rewrite(target) => {
            facts.outcome = Outcome::Rewritten;
            let Ok(target_name) = Name::from_ascii(format!("{target}.")) else {
                return servfail(req, "bad rewrite target");
            };
            match resolve_cached(shared, &target_name, query.query_type()).await {
                Ok((resolved, stale, hit)) => {
                    facts.cache_hit = hit;
                    facts.reuse = reuse(&resolved, stale);
                    let mut m = answer::response(req, resolved.rcode);
                    m.answers
                        .push(answer::cname(query.name(), &target_name, 300));
                    m.answers.extend(resolved.answers);
                    mark_stale(&mut m, stale);
                    m
                }
                Err(e) => upstream_failed(req, facts, &e),
            }
        }
        Decision::Allow(_) => {
            match resolve_cached(shared, query.name(), query.query_type()).await {
                Ok((resolved, stale, hit)) => {
                    facts.cache_hit = hit;
                    facts.outcome = Outcome::Allowed;
                    // CNAME cloaking: every target in the chain must pass the policy too.
                    for record in &resolved.answers {
                        if let RData::CNAME(target) = &record.data {
                            let target = target.0.to_ascii();
                            if let Decision::Block(reason) =
                                policy.decide_cname_target(profile, &target)
                            {
                                facts.outcome = Outcome::Blocked;
                                facts.category = Decision::Block(reason).category(policy.index());
                                facts.reuse = reuse(&resolved, stale);
                                let (ede, text) = wire::block_text_via(
                                    policy,
                                    p,
                                    reason,
                                    version,
                                    Some(target.trim_end_matches('.')),
                                );
                                return answer::sinkhole(req, query, p, ede, &text);
                            }
                        }
                    }
                    facts.reuse = reuse(&resolved, stale);
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

/// How long an upstream answer's encoding may be reused: a second at most (TTLs then
/// count down), never for stale answers or TTL 0.
fn reuse(r: &Resolved, stale: bool) -> Option<Duration> {
    let min_ttl = r
        .answers
        .iter()
        .chain(r.soa.iter())
        .map(|a| a.ttl)
        .min()
        .unwrap_or(1);
    (!stale && min_ttl > 0).then_some(PACKET_REUSE)
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
pub async fn handle_guarded(
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

/// Cache first; upstream on a miss (with the timeout); stale if upstream fails.
/// Returns (answer with TTLs aged, stale?, cache hit?).
async fn resolve_cached(
    shared: &Shared,
    name: &Name,
    rtype: RecordType,
) -> Result<(Resolved, bool, bool), UpstreamError> {
    let key = LowerName::new(name);
    let stale = match shared.cache.get(&key, rtype) {
        Lookup::Fresh { resolved, age } => return Ok((aged(resolved, age, None), false, true)),
        Lookup::Stale(resolved) => Some(resolved),
        Lookup::Miss => None,
    };
    match fetch(
        &shared.upstream,
        &shared.cache,
        &key,
        name,
        rtype,
        shared.timeout,
    )
    .await
    {
        Ok(resolved) => Ok((resolved, false, false)),
        Err(e) => match stale {
            // RFC 8767: answer with the expired data and a short TTL.
            Some(resolved) => Ok((aged(resolved, 0, Some(30)), true, true)),
            None => Err(e),
        },
    }
}

async fn fetch(
    upstream: &Upstream,
    cache: &Cache,
    key: &LowerName,
    name: &Name,
    rtype: RecordType,
    timeout: Duration,
) -> Result<Resolved, UpstreamError> {
    let resolved = tokio::time::timeout(timeout, upstream.resolve(name, rtype))
        .await
        .map_err(|_| UpstreamError::Timeout(timeout.as_millis() as u64))??;
    cache.put(key, rtype, &resolved);
    Ok(resolved)
}

/// A cached answer with TTLs reduced by its age (or set to `fixed`).
fn aged(mut r: Resolved, age: u32, fixed: Option<u32>) -> Resolved {
    for rec in r.answers.iter_mut().chain(r.soa.iter_mut()) {
        rec.ttl = fixed.unwrap_or(rec.ttl.saturating_sub(age));
    }
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly by design
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::path::Path;
    use std::sync::Arc;

    use hedge_lists::{Compiler, Index, Taxonomy};
    use hedge_policy::{Policy, ProfileConfig};
    use hickory_proto::op::Message;
    use hickory_proto::rr::RData;

    use super::{Transport, handle};
    use crate::{Limits, Shared, Snapshot, UpstreamConfig, UpstreamMode};

    /// Found by the `packet_parse` fuzz target: hickory writes a label's leading `-`
    /// escaped (`\-bad`), so the full path asked the policy about another name than the
    /// fast path and let a listed name through over TCP.
    #[tokio::test]
    async fn full_path_decides_on_the_name_as_sent() {
        let taxonomy = Taxonomy::builtin();
        let compiled = Compiler::new(&taxonomy).finish(&mut |_| {}).unwrap();
        let index = Arc::new(Index::from_bytes(compiled.bytes).unwrap());
        let profile = ProfileConfig {
            name: "p".into(),
            block_domains: vec!["-bad.example".into()],
            ..ProfileConfig::default()
        };
        let policy = Arc::new(Policy::new(index, vec![profile], Path::new(".")).unwrap());
        let upstream = UpstreamConfig {
            mode: UpstreamMode::Forward,
            servers: vec![crate::ForwardServer {
                address: Ipv4Addr::LOCALHOST.into(),
                protocol: crate::ForwardProtocol::Udp,
                port: Some(9),
                tls_name: None,
                path: None,
            }],
            timeout_ms: 100,
            ..UpstreamConfig::default()
        };
        let snapshot = Snapshot {
            policy,
            listener_profiles: vec![0],
            observer: None,
        };
        let allow = vec![vec!["127.0.0.0/8".parse().unwrap()]];
        let shared = Shared::new(allow, &upstream, Limits::default(), snapshot).unwrap();
        // hickory will not build a name with a leading `-`: the packet, by hand.
        let mut packet = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.extend_from_slice(b"\x04-bad\x07example\x00\x00\x01\x00\x01");
        let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let reply = handle(&shared, 0, &packet, client, Transport::Tcp)
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
}
