//! One authoritative name server: hickory's [`Catalog`] of in-memory zones, plus proper
//! referrals and a query counter.
//!
//! hickory-server 0.26's in-memory zones answer a query below a zone cut with the cut's NS
//! records but no glue, and mark the answer authoritative. A recursor that meets such a
//! referral for an in-bailiwick name server (`example.com. NS ns1.example.com.`) cannot find
//! the server's address. So [`ZoneServer`] answers every query at or below a cut itself, as
//! real servers do: AA=0, the cut's NS records in the authority section and their A/AAAA glue
//! in the additional section. Everything else (answers, CNAME chains within the zone,
//! NXDOMAIN and NODATA with the SOA, truncation over UDP) is hickory's.

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

/// Serves a set of zones authoritatively (see the module docs) and counts the queries it
/// answers.
pub(crate) struct ZoneServer {
    catalog: Catalog,
    origins: Vec<LowerName>,
    cuts: Vec<Cut>,
    answered: Arc<AtomicU64>,
}

impl ZoneServer {
    /// A server for `zones`; it answers REFUSED for names outside all of them.
    pub(crate) fn new(zones: Vec<Zone>) -> io::Result<Self> {
        let mut catalog = Catalog::new();
        let mut origins = Vec::with_capacity(zones.len());
        let mut cuts = Vec::new();
        for zone in zones {
            let origin = LowerName::new(&zone.origin);
            cuts.extend(find_cuts(&origin, &zone.records));
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
            answered: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The number of queries this server has answered, shared with the caller.
    pub(crate) fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.answered)
    }

    /// The cut `request` must be referred to, if it is a plain query (one question, EDNS
    /// version 0 or none) for a name at or below one. Everything else is the catalog's.
    fn referral_for(&self, request: &Request) -> Option<&Cut> {
        let is_plain_query = request.metadata.message_type == MessageType::Query
            && request.metadata.op_code == OpCode::Query
            && request.edns.as_ref().is_none_or(|edns| edns.version() == 0);
        if !is_plain_query {
            return None;
        }
        let query = request.request_info().ok()?.query;
        self.cut_for(query.name(), query.query_type())
    }

    /// The cut a query must be referred to, if any: the topmost cut at or above `name` in
    /// the most specific zone served here. A DS query at the cut itself is the parent's to
    /// answer (RFC 4035 §3.1.4.1), so it is not referred.
    fn cut_for(&self, name: &LowerName, query_type: RecordType) -> Option<&Cut> {
        let zone = self
            .origins
            .iter()
            .filter(|origin| origin.zone_of(name))
            .max_by_key(|origin| origin.num_labels())?;
        self.cuts
            .iter()
            .filter(|cut| cut.zone == *zone && cut.name.zone_of(name))
            .filter(|cut| !(query_type == RecordType::DS && cut.name == *name))
            .min_by_key(|cut| cut.name.num_labels())
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

        if let Some(cut) = self.referral_for(request) {
            return send_referral(request, cut, response_handle).await;
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

/// Sends a referral to `cut`.
async fn send_referral<R: ResponseHandler>(
    request: &Request,
    cut: &Cut,
    mut response_handle: R,
) -> ResponseInfo {
    let edns = request.edns.as_ref().map(|request_edns| {
        let mut edns = Edns::new();
        edns.set_max_payload(request_edns.max_payload().max(512));
        edns
    });
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::NoError;
    let response = MessageResponseBuilder::new(&request.queries, edns.as_ref()).build(
        metadata,
        iter::empty(),
        cut.ns.iter(),
        iter::empty(),
        cut.glue.iter(),
    );
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(error) => {
            tracing::warn!(%error, "hedge-testkit: could not send a referral");
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
