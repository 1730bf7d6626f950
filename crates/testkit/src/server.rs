//! One authoritative name server: hickory's [`Catalog`] of in-memory zones, plus proper
//! referrals and a query counter.
//!
//! hickory-server 0.26's in-memory zones answer a query below a zone cut with the cut's NS
//! records but no glue, and mark the answer authoritative. A recursor that meets such a
//! referral for an in-bailiwick name server (`example.com. NS ns1.example.com.`) cannot find
//! the server's address. So [`ZoneServer`] answers every query at or below a cut itself, as
//! real servers do: AA=0, the cut's NS records in the authority section and their A/AAAA glue
//! in the additional section.
//!
//! They also answer NXDOMAIN for a name a wildcard covers when the wildcard has no record of
//! the asked type; a recursor's QNAME-minimisation probe (`w1.bench.net. NS`) then takes the
//! name for non-existent (RFC 8020). The name exists (RFC 4592), so [`ZoneServer`] answers
//! NODATA: AA=1, no answer, the zone's SOA. Everything else (answers, wildcard answers, CNAME
//! chains within the zone, NXDOMAIN and NODATA with the SOA, truncation over UDP) is
//! hickory's.

use std::collections::BTreeMap;
use std::io;
use std::iter;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_proto::op::{Edns, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{LowerName, RData, Record, RecordSet, RecordType, RrKey};
use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};

use crate::zones::Zone;

/// A zone cut inside one of the served zones: where to send the client instead.
struct Cut {
    /// The zone that contains the cut.
    zone: LowerName,
    /// The delegated name (the child zone's apex).
    name: LowerName,
    /// The cut's NS records.
    ns: Vec<Record>,
    /// A and AAAA records of those name servers found in the parent zone.
    glue: Vec<Record>,
}

/// A wildcard (`*.<encloser>`) of one of the served zones.
struct Wildcard {
    /// The zone that holds it.
    zone: LowerName,
    /// The name the `*` label stands below.
    encloser: LowerName,
    /// The types it has records of.
    types: Vec<RecordType>,
    /// Names of the zone below the encloser: the wildcard covers none of them, nor any name
    /// below them.
    existing: Vec<LowerName>,
    /// The zone's SOA, for NODATA answers.
    soa: Vec<Record>,
}

/// Serves a set of zones authoritatively (see the module docs) and counts the queries it
/// answers.
pub(crate) struct ZoneServer {
    catalog: Catalog,
    origins: Vec<LowerName>,
    cuts: Vec<Cut>,
    wildcards: Vec<Wildcard>,
    answered: Arc<AtomicU64>,
}

impl ZoneServer {
    /// A server for `zones`; it answers REFUSED for names outside all of them.
    pub(crate) fn new(zones: Vec<Zone>) -> io::Result<Self> {
        let mut catalog = Catalog::new();
        let mut origins = Vec::with_capacity(zones.len());
        let mut cuts = Vec::new();
        let mut wildcards = Vec::new();
        for zone in zones {
            let origin = LowerName::new(&zone.origin);
            cuts.extend(find_cuts(&origin, &zone.records));
            wildcards.extend(find_wildcards(&origin, &zone.records));
            let handler = InMemoryZoneHandler::<TokioRuntimeProvider>::new(
                zone.origin.clone(),
                zone.records,
                ZoneType::Primary,
                AxfrPolicy::Deny,
            )
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("hedge-testkit: zone {}: {e}", zone.origin),
                )
            })?;
            catalog.upsert(origin.clone(), vec![Arc::new(handler)]);
            origins.push(origin);
        }
        Ok(Self {
            catalog,
            origins,
            cuts,
            wildcards,
            answered: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The number of queries this server has answered, shared with the caller.
    pub(crate) fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.answered)
    }

    /// The question of `request`, if it is a plain query (one question, EDNS version 0 or
    /// none). Everything else is the catalog's.
    fn plain_query(request: &Request) -> Option<(LowerName, RecordType)> {
        let is_plain_query = request.metadata.message_type == MessageType::Query
            && request.metadata.op_code == OpCode::Query
            && request.edns.as_ref().is_none_or(|edns| edns.version() == 0);
        if !is_plain_query {
            return None;
        }
        let query = request.request_info().ok()?.query;
        Some((query.name().clone(), query.query_type()))
    }

    /// The most specific zone served here that holds `name`.
    fn zone_of(&self, name: &LowerName) -> Option<&LowerName> {
        self.origins
            .iter()
            .filter(|origin| origin.zone_of(name))
            .max_by_key(|origin| origin.num_labels())
    }

    /// The cut a query must be referred to, if any: the topmost cut at or above `name` in
    /// the most specific zone served here. A DS query at the cut itself is the parent's to
    /// answer (RFC 4035 §3.1.4.1), so it is not referred.
    fn cut_for(&self, name: &LowerName, query_type: RecordType) -> Option<&Cut> {
        let zone = self.zone_of(name)?;
        self.cuts
            .iter()
            .filter(|cut| cut.zone == *zone && cut.name.zone_of(name))
            .filter(|cut| !(query_type == RecordType::DS && cut.name == *name))
            .min_by_key(|cut| cut.name.num_labels())
    }

    /// The wildcard that covers `name` but has no record of `query_type` (nor a CNAME): the
    /// answer is NODATA, where hickory would say NXDOMAIN.
    fn wildcard_nodata_for(&self, name: &LowerName, query_type: RecordType) -> Option<&Wildcard> {
        let zone = self.zone_of(name)?;
        self.wildcards.iter().find(|w| {
            w.zone == *zone
                && w.encloser.zone_of(name)
                && w.encloser != *name
                && !w.existing.iter().any(|e| e.zone_of(name))
                && !w.types.contains(&query_type)
                && !w.types.contains(&RecordType::CNAME)
        })
    }
}

#[async_trait::async_trait]
impl RequestHandler for ZoneServer {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        // Counted before answering, so a client that has its answer sees the count.
        self.answered.fetch_add(1, Ordering::Relaxed);

        if let Some((name, query_type)) = Self::plain_query(request) {
            if let Some(cut) = self.cut_for(&name, query_type) {
                let answer = Answer {
                    authoritative: false,
                    authority: &cut.ns,
                    additional: &cut.glue,
                };
                return send(request, answer, response_handle).await;
            }
            if let Some(wildcard) = self.wildcard_nodata_for(&name, query_type) {
                let answer = Answer {
                    authoritative: true,
                    authority: &wildcard.soa,
                    additional: &[],
                };
                return send(request, answer, response_handle).await;
            }
        }
        self.catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

/// The zone cuts of the zone `origin`: every NS RRset below the apex, with the glue for its
/// name servers.
fn find_cuts(origin: &LowerName, records: &BTreeMap<RrKey, RecordSet>) -> Vec<Cut> {
    records
        .iter()
        .filter(|(key, _)| key.record_type == RecordType::NS && key.name != *origin)
        .map(|(key, rrset)| {
            let ns: Vec<Record> = rrset.records_without_rrsigs().cloned().collect();
            let glue = ns
                .iter()
                .filter_map(|record| match &record.data {
                    RData::NS(target) => Some(LowerName::new(&target.0)),
                    _ => None,
                })
                .flat_map(|target| {
                    [RecordType::A, RecordType::AAAA]
                        .into_iter()
                        .flat_map(move |rtype| {
                            records
                                .get(&RrKey::new(target.clone(), rtype))
                                .into_iter()
                                .flat_map(|glue| glue.records_without_rrsigs().cloned())
                        })
                })
                .collect();
            Cut {
                zone: origin.clone(),
                name: key.name.clone(),
                ns,
                glue,
            }
        })
        .collect()
}

/// The wildcards of the zone `origin` (see the module docs).
fn find_wildcards(origin: &LowerName, records: &BTreeMap<RrKey, RecordSet>) -> Vec<Wildcard> {
    let soa: Vec<Record> = records
        .get(&RrKey::new(origin.clone(), RecordType::SOA))
        .into_iter()
        .flat_map(|rrset| rrset.records_without_rrsigs().cloned())
        .collect();
    let mut wildcards: Vec<Wildcard> = Vec::new();
    for key in records.keys().filter(|key| key.name.is_wildcard()) {
        let encloser = key.name.base_name();
        match wildcards.iter_mut().find(|w| w.encloser == encloser) {
            Some(w) => w.types.push(key.record_type),
            None => wildcards.push(Wildcard {
                zone: origin.clone(),
                existing: records
                    .keys()
                    .map(|other| other.name.clone())
                    .filter(|other| encloser.zone_of(other) && *other != encloser)
                    .filter(|other| !other.is_wildcard())
                    .collect(),
                encloser,
                types: vec![key.record_type],
                soa: soa.clone(),
            }),
        }
    }
    wildcards
}

/// A response the catalog would get wrong: no answer section, the given authority and
/// additional sections, NOERROR.
struct Answer<'a> {
    authoritative: bool,
    authority: &'a [Record],
    additional: &'a [Record],
}

/// Sends `answer` (a referral, or a wildcard's NODATA).
async fn send<R: ResponseHandler>(
    request: &Request,
    answer: Answer<'_>,
    mut response_handle: R,
) -> ResponseInfo {
    let edns = request.edns.as_ref().map(|request_edns| {
        let mut edns = Edns::new();
        edns.set_max_payload(request_edns.max_payload().max(512));
        edns
    });
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::NoError;
    metadata.authoritative = answer.authoritative;
    let response = MessageResponseBuilder::new(&request.queries, edns.as_ref()).build(
        metadata,
        iter::empty(),
        answer.authority.iter(),
        iter::empty(),
        answer.additional.iter(),
    );
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(error) => {
            tracing::warn!(%error, "hedge-testkit: could not send an answer");
            let mut metadata =
                Metadata::new(request.metadata.id, MessageType::Response, OpCode::Query);
            metadata.response_code = ResponseCode::ServFail;
            ResponseInfo::from(hickory_proto::op::Header {
                metadata,
                counts: Default::default(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::Name;

    use super::*;
    use crate::zones::HIERARCHY;

    const NET: [u8; 3] = [127, 53, 0];

    fn name(text: &str) -> LowerName {
        LowerName::new(&Name::from_ascii(text).expect("valid name"))
    }

    fn server(origins: &[&str]) -> ZoneServer {
        let zones = HIERARCHY
            .iter()
            .filter(|spec| origins.contains(&spec.origin))
            .map(|spec| spec.load(NET).expect("standard zones parse"))
            .collect();
        ZoneServer::new(zones).expect("standard zones load")
    }

    fn cut(server: &ZoneServer, qname: &str, qtype: RecordType) -> Option<String> {
        let cut = server.cut_for(&name(qname), qtype);
        cut.map(|cut| cut.name.to_string())
    }

    #[test]
    fn queries_at_or_below_a_cut_are_referred_except_ds_at_the_cut() {
        let example_com = server(&["example.com."]);
        let a = RecordType::A;
        assert_eq!(cut(&example_com, "www.example.com.", a), None);
        assert_eq!(cut(&example_com, "example.com.", RecordType::NS), None);
        let sub = Some("sub.example.com.".to_owned());
        assert_eq!(cut(&example_com, "host.sub.example.com.", a), sub);
        assert_eq!(cut(&example_com, "sub.example.com.", RecordType::NS), sub);
        assert_eq!(
            cut(&example_com, "a.b.sub.example.com.", RecordType::DS),
            sub
        );
        assert_eq!(cut(&example_com, "sub.example.com.", RecordType::DS), None);
        assert_eq!(cut(&example_com, "www.example.net.", a), None);

        let glue = &example_com.cuts[0].glue;
        assert_eq!(glue.len(), 1);
        assert_eq!(
            glue[0].name,
            Name::from_ascii("ns1.sub.example.com.").expect("valid")
        );
    }

    #[test]
    fn a_server_holding_parent_and_child_answers_from_the_child() {
        let both = server(&["com.", "example.com.", "sub.example.com."]);
        let a = RecordType::A;
        assert_eq!(cut(&both, "host.sub.example.com.", a), None);
        assert_eq!(cut(&both, "www.example.com.", a), None);
        assert_eq!(
            cut(&both, "www.google.com.", a),
            Some("google.com.".to_owned())
        );
    }
}
