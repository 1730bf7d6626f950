//! The query path: ACL, parse, policy, cache or upstream, CNAME checks, answer.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hedge_policy::{BlockReason, Bypass, Decision, Policy, ProfileId};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, RecordType};

use crate::answer::{self, Ede};
use crate::cache::{Cache, Lookup};
use crate::upstream::{Resolved, Upstream, UpstreamError};
use crate::{Observation, Outcome, Shared, Snapshot};

/// How the query arrived; UDP answers must fit the client's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
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
    let snap = shared.snapshot.load_full();
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
    let profile = snap.listener_profiles[listener];
    let mut obs = Observation {
        client,
        qtype: 0,
        profile,
        category: None,
        outcome: Outcome::Refused,
        qname: None,
        cache_hit: false,
        upstream_error: None,
    };
    let response = if !shared.listeners[listener].allows(client) {
        let mut m = answer::response(&req, ResponseCode::Refused);
        answer::add_ede(
            &mut m,
            Ede::Prohibited,
            "this network is not allowed to use this resolver",
        );
        m
    } else if !answer::supported(req.metadata.op_code) {
        obs.outcome = Outcome::Servfail;
        answer::response(&req, ResponseCode::NotImp)
    } else if req.queries.len() != 1 {
        obs.outcome = Outcome::Servfail;
        answer::response(&req, ResponseCode::FormErr)
    } else if req.queries[0].query_class() != DNSClass::IN {
        answer::response(&req, ResponseCode::Refused)
    } else {
        resolve_query(shared, &snap, &req, profile, &mut obs).await
    };
    if let Some(observer) = &snap.observer {
        observer.observe(&snap.policy, &obs, started.elapsed());
    }
    answer::encode(&response, max_len)
}

/// Decides and answers a well-formed single question.
async fn resolve_query(
    shared: &Shared,
    snap: &Snapshot,
    req: &Message,
    profile: ProfileId,
    obs: &mut Observation,
) -> Message {
    let policy = &snap.policy;
    let query = &req.queries[0];
    let qname = query.name().to_ascii();
    let decision = policy.decide(profile, &qname);
    obs.category = decision.category(policy.index());
    obs.qname = Some(qname.trim_end_matches('.').to_ascii_lowercase());
    obs.qtype = u16::from(query.query_type());
    let p = policy.profile(profile);
    match decision {
        Decision::Block(reason) => {
            obs.outcome = Outcome::Blocked;
            let (ede, text) = block_text(policy, profile, reason, None);
            answer::sinkhole(req, query, p, ede, &text)
        }
        Decision::Bypass(b) => {
            obs.outcome = Outcome::Blocked;
            let text = format!("{} (profile {})", bypass_text(b), p.name);
            answer::local_negative(req, query, b != Bypass::Ddr, p.block_ttl, &text)
        }
        Decision::Rewrite(target) => {
            obs.outcome = Outcome::Rewritten;
            let Ok(target_name) = Name::from_ascii(format!("{target}.")) else {
                return servfail(req, "bad rewrite target");
            };
            match resolve_cached(shared, &target_name, query.query_type()).await {
                Ok((resolved, stale, hit)) => {
                    obs.cache_hit = hit;
                    let mut m = answer::response(req, resolved.rcode);
                    m.answers
                        .push(answer::cname(query.name(), &target_name, 300));
                    m.answers.extend(resolved.answers);
                    if stale {
                        answer::add_ede(
                            &mut m,
                            Ede::StaleAnswer,
                            "upstream unreachable; answer from cache",
                        );
                    }
                    m
                }
                Err(e) => {
                    obs.outcome = Outcome::Servfail;
                    obs.upstream_error = Some(e.kind());
                    servfail(req, &e.to_string())
                }
            }
        }
        Decision::Allow(_) => {
            match resolve_cached(shared, query.name(), query.query_type()).await {
                Ok((resolved, stale, hit)) => {
                    obs.cache_hit = hit;
                    obs.outcome = Outcome::Allowed;
                    // CNAME cloaking: every target in the chain must pass the policy too.
                    for record in &resolved.answers {
                        if let RData::CNAME(target) = &record.data {
                            let target = target.0.to_ascii();
                            if let Decision::Block(reason) =
                                policy.decide_cname_target(profile, &target)
                            {
                                obs.outcome = Outcome::Blocked;
                                obs.category = Decision::Block(reason).category(policy.index());
                                let (ede, text) = block_text(
                                    policy,
                                    profile,
                                    reason,
                                    Some(target.trim_end_matches('.')),
                                );
                                return answer::sinkhole(req, query, p, ede, &text);
                            }
                        }
                    }
                    let mut m = answer::response(req, resolved.rcode);
                    m.answers = resolved.answers;
                    if let Some(soa) = resolved.soa.filter(|_| {
                        m.answers
                            .iter()
                            .all(|a| a.record_type() == RecordType::CNAME)
                    }) {
                        m.authorities.push(soa);
                    }
                    if stale {
                        answer::add_ede(
                            &mut m,
                            Ede::StaleAnswer,
                            "upstream unreachable; answer from cache",
                        );
                    }
                    m
                }
                Err(e) => {
                    obs.outcome = Outcome::Servfail;
                    obs.upstream_error = Some(e.kind());
                    servfail(req, &e.to_string())
                }
            }
        }
    }
}

/// SERVFAIL with an EDE naming the cause.
fn servfail(req: &Message, why: &str) -> Message {
    let mut m = answer::response(req, ResponseCode::ServFail);
    answer::add_ede(&mut m, Ede::NoReachableAuthority, why);
    m
}

/// The EDE code and text of a block: category path, profile, index version.
fn block_text(
    policy: &Policy,
    profile: ProfileId,
    reason: BlockReason,
    via: Option<&str>,
) -> (Ede, String) {
    let p = policy.profile(profile);
    let version = policy.index().version();
    let via = via.map(|t| format!(" via CNAME {t}")).unwrap_or_default();
    match reason {
        BlockReason::Category(c, _) => (
            Ede::Blocked,
            format!(
                "blocked: {}{via} (profile {}, index {version})",
                policy.index().taxonomy().id(c),
                p.name
            ),
        ),
        BlockReason::CustomBlock => (
            Ede::Blocked,
            format!(
                "blocked: custom block list{via} (profile {}, index {version})",
                p.name
            ),
        ),
        BlockReason::NotInGarden => (
            Ede::Filtered,
            format!(
                "not in the walled garden (profile {}, index {version})",
                p.name
            ),
        ),
    }
}

fn bypass_text(b: Bypass) -> &'static str {
    match b {
        Bypass::DohCanary => "blocked: Firefox DoH canary, encrypted DNS would bypass the filter",
        Bypass::PrivateRelay => "blocked: iCloud Private Relay would bypass the filter",
        Bypass::Ddr => "blocked: encrypted resolver discovery (DDR) would bypass the filter",
    }
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
        Lookup::Fresh(entry) => {
            return Ok((
                aged(&entry.resolved, entry.age(Instant::now()), None),
                false,
                true,
            ));
        }
        Lookup::Stale(entry) => Some(entry),
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
            Some(entry) => Ok((aged(&entry.resolved, 0, Some(30)), true, true)),
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
    cache.put(key, rtype, resolved.clone());
    Ok(resolved)
}

/// A copy of a cached answer with TTLs reduced by its age (or set to `fixed`).
fn aged(r: &Resolved, age: u32, fixed: Option<u32>) -> Resolved {
    let mut r = r.clone();
    for rec in r.answers.iter_mut().chain(r.soa.iter_mut()) {
        rec.ttl = fixed.unwrap_or(rec.ttl.saturating_sub(age));
    }
    r
}

/// A SERVFAIL built from raw bytes, for when handling itself failed.
pub fn servfail_raw(packet: &[u8]) -> Option<Vec<u8>> {
    let mut out = answer::formerr(packet)?;
    out[3] = 0x80 | 2;
    Some(out)
}
