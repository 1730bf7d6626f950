//! The UDP fast path, on the receiving thread: the ACL refusal ([`refuse_outsider`]) and
//! [`fast_answer`] (packet cache, wire-encoded sinkholes and refusals, no allocation on a
//! hit). The bytes are read and written by [`crate::wire`]; everything it cannot answer
//! goes to the full path, [`crate::query::handle`].

use std::net::IpAddr;
use std::time::Instant;

use crate::observer::{self, Observation, Outcome};
use crate::packet_cache::{CachedHits, PacketKey, Reuse};
use crate::shared::{Live, Shared};
use crate::wire::{self, FastQuery};

/// Where and when a UDP packet arrived: what the receiving thread knows of it besides its
/// bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    /// The listener (its index in the configuration) whose socket received it.
    pub(crate) listener: usize,
    pub(crate) client: IpAddr,
    /// When the batch holding the packet arrived (one clock read per batch).
    pub(crate) received: Instant,
}

/// Answers a client outside the listener's ACL on the receiving thread: REFUSED with
/// EDE 18 written straight into `out`, with no parse beyond the fast one, no task and no
/// query slot. Returns whether `out` holds an answer (packets too short to answer and
/// responses get none).
pub(crate) fn refuse_outsider(
    shared: &Shared,
    arrival: Arrival,
    packet: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    let Arrival {
        listener,
        client,
        received,
    } = arrival;
    if !wire::write_prohibited(packet, out) {
        return false;
    }
    let qtype = FastQuery::parse(packet).map_or(0, |q| q.qtype);
    let live = shared.live.load();
    observe_refusal(&live, listener, client, qtype, Outcome::Refused, received);
    true
}

/// Counts a TCP connection from a client outside the listener's ACL, closed at accept, as
/// [`refuse_outsider`] counts its UDP queries: refused, with no query type or name.
pub(crate) fn count_refused_connection(
    shared: &Shared,
    listener: usize,
    client: IpAddr,
    received: Instant,
) {
    let live = shared.live.load();
    observe_refusal(&live, listener, client, 0, Outcome::Refused, received);
}

/// Counts an answer given without a lookup: no name, no category.
fn observe_refusal(
    live: &Live,
    listener: usize,
    client: IpAddr,
    qtype: u16,
    outcome: Outcome,
    received: Instant,
) {
    if let Some(observer) = live.snapshot.observer.as_deref() {
        let obs = Observation {
            client,
            qtype,
            profile: live.snapshot.listener_profiles[listener],
            category: None,
            outcome,
            qname: None,
            domain: None,
            cache_hit: false,
            domain_counted: false,
            upstream_error: None,
        };
        observer.observe(&live.snapshot.policy, &obs, received);
    }
}

/// Answers a UDP query without the full path when it can: a packet-cache hit, a block
/// decided and written straight to the wire, or a refusal that needs no lookup (BADVERS,
/// meta query types). Returns the answer's length in `out`. The caller has checked the
/// ACL ([`refuse_outsider`]).
pub(crate) fn fast_answer(
    shared: &Shared,
    arrival: Arrival,
    packet: &[u8],
    out: &mut Vec<u8>,
) -> Option<usize> {
    let Arrival {
        listener,
        client,
        received,
    } = arrival;
    let q = FastQuery::parse(packet)?;
    let live = shared.live.load();
    let profile = live.snapshot.listener_profiles[listener];
    let observer = live.snapshot.observer.as_deref();
    if let Some(rcode) = wire::write_refusal(&q, out) {
        let outcome = refusal_outcome(rcode);
        observe_refusal(&live, listener, client, q.qtype, outcome, received);
        return Some(out.len());
    }
    let key = PacketKey::new(&q, listener, shared.key_seed);
    let mut name_buf = [0u8; 256];
    let spill = |hits: CachedHits<'_>| live.count_cached_hits(hits);
    let cached = shared
        .packets
        .answer(&key, &q, live.generation, received, out, spill)
        .or_else(|| {
            shared
                .blocked_packets
                .answer(&key, &q, live.generation, received, out, spill)
        });
    let (len, outcome, category, domain_len, domain_counted, name) = match cached {
        Some(hit) => {
            // The name is written out only when someone reads it: a query log, or counting
            // a domain its entry does not count (a block under its listed name, an allowed
            // name).
            let wanted = observer.is_some_and(|o| {
                if hit.counted {
                    o.logs_queries()
                } else if hit.outcome == Outcome::Blocked {
                    o.wants_blocked_names()
                } else {
                    o.wants_every_name()
                }
            });
            let name = if wanted { q.name(&mut name_buf) } else { None };
            (
                hit.len,
                hit.outcome,
                hit.category,
                hit.domain_len,
                hit.counted,
                name,
            )
        }
        None => {
            let name = q.name(&mut name_buf)?;
            if live
                .snapshot
                .portal_name
                .as_ref()
                .is_some_and(|p| p.is(name))
            {
                // The full path answers it, never a list (and never a cached block).
                return None;
            }
            let policy = &live.snapshot.policy;
            let decision = policy.decide(profile, name);
            let portal = live.snapshot.portal_url.as_deref();
            let (outcome, lifetime) =
                wire::write_block(&q, policy, profile, decision, portal, out)?;
            let category = decision.category(policy.index());
            let domain_len = observer::domain_len(name, decision.listed_labels());
            // The hits to come are counted in the cache entry, when the observer counts
            // them there; this answer is counted by the observer now, as the full path
            // counts the answers it caches. Counted in the entry instead, it would be
            // handed over when the entry goes, reading its name back (~660 instructions
            // against ~235 counted now): a flood of new names, each evicting an entry
            // asked once, would pay that for every answer. An entry with no hits hands
            // over nothing.
            let in_entry = observer.is_some_and(|o| o.counts_cached(outcome));
            let reuse = Reuse {
                lifetime,
                outcome,
                category,
                domain_len,
                hits: in_entry.then_some(0),
                age_ttls: false,
            };
            shared
                .blocked_packets
                .insert(&key, &q, live.generation, out, reuse, spill);
            (out.len(), outcome, category, domain_len, false, Some(name))
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
            domain: name.map(|n| observer::counted_domain(n, domain_len)),
            cache_hit: outcome != Outcome::Blocked,
            domain_counted,
            upstream_error: None,
        };
        observer.observe(&live.snapshot.policy, &obs, received);
    }
    Some(len)
}

/// How a refusal without lookup is counted: REFUSED as refused, the rest (NOTIMP,
/// BADVERS) with the errors.
pub(crate) fn refusal_outcome(rcode: u16) -> Outcome {
    if rcode == 5 {
        Outcome::Refused
    } else {
        Outcome::Servfail
    }
}
