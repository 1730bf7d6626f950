//! Upstream resolution: full recursion from the root (hickory's recursor) or forwarding
//! (hickory's resolver over UDP/TCP, DoT, DoH). Both return a [`Resolved`] answer that keeps
//! the CNAME chain even when it ends in NXDOMAIN (hickory returns negative answers as errors
//! and drops the chain; we rebuild it).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::NetError;
use hickory_resolver::recursor::{Recursor, RecursorOptions};

use crate::config::{ForwardProtocol, UpstreamConfig, UpstreamMode};
use crate::error::DnsError;
use crate::upstream_socket::Runtime;
use crate::upstream_tls::{self, TlsFailures};

impl UpstreamConfig {
    /// Checks every upstream setting: the one place that does, for `check-config`, `serve`,
    /// a reload and [`Upstream::new`]. It lives here, not in `config`, because it needs the
    /// resolver's own readers (root hints, CA files); `config` stays plain data. Reads the root hints and CA files (paths as
    /// given: the caller makes them absolute), starts nothing. Returns warnings that do not
    /// stop hedge.
    pub fn validate(&self) -> Result<Vec<String>, DnsError> {
        let mut notices = Vec::new();
        match self.mode {
            UpstreamMode::Forward if self.servers.is_empty() => {
                return Err(DnsError::Config(
                    "key `upstream.servers`: mode = \"forward\" needs at least one server".into(),
                ));
            }
            UpstreamMode::Recursive if !self.servers.is_empty() => notices.push(
                "upstream.servers is set but mode is \"recursive\": the servers are not used"
                    .into(),
            ),
            _ => {}
        }
        if let Some(path) = &self.root_hints
            && !path.is_file()
        {
            return Err(DnsError::Config(format!(
                "key `upstream.root_hints`: {} does not exist",
                path.display()
            )));
        }
        match self.mode {
            UpstreamMode::Recursive => {
                root_hints(self)?;
            }
            UpstreamMode::Forward => {
                for s in &self.servers {
                    if s.protocol.is_encrypted() {
                        s.tls_name()?;
                    }
                }
                upstream_tls::validate(&self.servers)?;
            }
        }
        if self.timeout_ms == 0 || self.timeout_ms > 60_000 {
            return Err(DnsError::Config(
                "key `upstream.timeout_ms`: use a value between 1 and 60000".into(),
            ));
        }
        if !(1..=300).contains(&self.failure_cache_secs) {
            return Err(DnsError::Config(
                "key `upstream.failure_cache_secs`: use a value between 1 and 300 (RFC 9520)"
                    .into(),
            ));
        }
        Ok(notices)
    }
}

/// Entries in the recursor's own response cache (hickory's default is a million). Its
/// zone cuts live in a separate name-server cache; this one holds NS answers and glue
/// (kept by moka's frequency-based admission) and copies of answers hedge caches itself.
/// After 20,000 names, 4,096 entries left 33 MiB of anonymous RSS, 1,024 left 25, 128 left 21.
const RECURSOR_CACHE: u64 = 256;

/// Longest CNAME chain followed when rebuilding a negative answer.
const MAX_CHAIN: usize = 8;

/// The IANA root servers (a, b, …, m), IPv4 and IPv6 — used when no hints file is given.
const ROOT_HINTS: &[&str] = &[
    "198.41.0.4",
    "2001:503:ba3e::2:30",
    "170.247.170.2",
    "2801:1b8:10::b",
    "192.33.4.12",
    "2001:500:2::c",
    "199.7.91.13",
    "2001:500:2d::d",
    "192.203.230.10",
    "2001:500:a8::e",
    "192.5.5.241",
    "2001:500:2f::f",
    "192.112.36.4",
    "2001:500:12::d0d",
    "198.97.190.53",
    "2001:500:1::53",
    "192.36.148.17",
    "2001:7fe::53",
    "192.58.128.30",
    "2001:503:c27::2:30",
    "193.0.14.129",
    "2001:7fd::1",
    "199.7.83.42",
    "2001:500:9f::42",
    "202.12.27.33",
    "2001:dc3::35",
];

/// An upstream answer: the rcode, the answer records (CNAME chain included) and the SOA
/// of a negative answer.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// NOERROR or NXDOMAIN.
    pub rcode: ResponseCode,
    /// Answer section.
    pub answers: Vec<Record>,
    /// SOA for negative caching, if the authority gave one.
    pub soa: Option<Record>,
}

impl Resolved {
    /// NXDOMAIN or NODATA for `rtype`, maybe after a CNAME chain: no record of the asked
    /// type.
    pub(crate) fn is_negative(&self, rtype: RecordType) -> bool {
        self.answers.is_empty()
            || rtype != RecordType::CNAME
                && self
                    .answers
                    .iter()
                    .all(|a| a.record_type() == RecordType::CNAME)
    }
}

/// Why an upstream answer is missing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No answer within the configured timeout.
    #[error("no upstream answer within {0} ms")]
    Timeout(u64),
    /// The upstream failed (unreachable, SERVFAIL, refused, lame delegation…).
    #[error("upstream failed: {0}")]
    Failed(String),
}

impl UpstreamError {
    /// `timeout` or `error`, for metrics labels.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            UpstreamError::Timeout(_) => "timeout",
            UpstreamError::Failed(_) => "error",
        }
    }
}

/// The configured upstream.
pub struct Upstream(Via);

/// How the upstream answers.
enum Via {
    /// Full recursion.
    Recursive(Box<Recursor<Runtime>>),
    /// Forwarding.
    Forward(Box<Forwarder>),
}

/// hickory's forwarding resolver, with the certificate refusals of its DoT/DoH servers.
struct Forwarder {
    resolver: Resolver<Runtime>,
    tls_failures: Arc<TlsFailures>,
}

impl Forwarder {
    /// Looks `name` up. hickory reports a refused server certificate as "no connections
    /// available"; a failure during which a certificate was refused says so instead.
    async fn lookup(&self, name: Name, rtype: RecordType) -> Result<Lookup, NetError> {
        let started = Instant::now();
        let result = self.resolver.lookup(name, rtype).await;
        match result {
            Err(e) if !e.is_nx_domain() && !e.is_no_records_found() => {
                match self.tls_failures.since(started) {
                    // "No connections" says nothing more than the refusal.
                    Some(refused) if matches!(e, NetError::NoConnections) => {
                        Err(NetError::Msg(refused))
                    }
                    Some(refused) => Err(NetError::Msg(format!("{refused} ({e})"))),
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}

/// A negative result from hickory: (NXDOMAIN?, SOA).
type Negative = (bool, Option<Record>);

impl Upstream {
    /// Builds the upstream; reads the root hints file if one is configured.
    pub fn new(cfg: &UpstreamConfig) -> Result<Upstream, DnsError> {
        cfg.validate()?;
        // Upstream UDP sockets that report ICMP errors: a server with nothing listening
        // fails at once instead of after the whole timeout.
        let provider = Runtime::default();
        match cfg.mode {
            UpstreamMode::Recursive => {
                let roots = root_hints(cfg)?;
                // hedge caches answers itself, after policy; the recursor's own cache only
                // needs to hold delegations and glue, not a second copy of every answer.
                let options = RecursorOptions {
                    allow_server: cfg.allow_servers.clone(),
                    response_cache_size: RECURSOR_CACHE,
                    ..RecursorOptions::default()
                };
                let recursor = Recursor::with_options(&roots, options, provider).map_err(|e| {
                    DnsError::Config(format!("upstream: cannot start the recursor: {e}"))
                })?;
                Ok(Upstream(Via::Recursive(Box::new(recursor))))
            }
            UpstreamMode::Forward => {
                let mut servers = Vec::new();
                for s in &cfg.servers {
                    let tls_name = || s.tls_name().map(Arc::from);
                    let (protocol, port) = match s.protocol {
                        ForwardProtocol::Udp => (ProtocolConfig::Udp, 53),
                        ForwardProtocol::Tcp => (ProtocolConfig::Tcp, 53),
                        ForwardProtocol::Tls => (
                            ProtocolConfig::Tls {
                                server_name: tls_name()?,
                            },
                            853,
                        ),
                        ForwardProtocol::Https => (
                            ProtocolConfig::Https {
                                server_name: tls_name()?,
                                path: Arc::from(s.path.as_deref().unwrap_or("/dns-query")),
                            },
                            443,
                        ),
                    };
                    let connection = |protocol, port| {
                        let mut c = ConnectionConfig::new(protocol);
                        c.port = port;
                        c
                    };
                    let mut conns = vec![connection(protocol, s.port.unwrap_or(port))];
                    if s.protocol == ForwardProtocol::Udp {
                        conns.push(connection(ProtocolConfig::Tcp, s.port.unwrap_or(53)));
                    }
                    servers.push(NameServerConfig::new(s.address, true, conns));
                }
                let mut opts = ResolverOpts::default();
                opts.timeout = Duration::from_millis(cfg.timeout_ms);
                opts.attempts = 2;
                opts.cache_size = 0; // hedge caches answers itself, after policy
                opts.use_hosts_file = ResolveHosts::Never;
                opts.preserve_intermediates = true;
                opts.ndots = 0;
                let (tls, tls_failures) = upstream_tls::client_config(&cfg.servers)?;
                let resolver = Resolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], servers),
                    provider,
                )
                .with_options(opts)
                .with_tls_config(tls)
                .build()
                .map_err(|e| {
                    DnsError::Config(format!("upstream: cannot start the forwarder: {e}"))
                })?;
                Ok(Upstream(Via::Forward(Box::new(Forwarder {
                    resolver,
                    tls_failures,
                }))))
            }
        }
    }

    /// Resolves `name`/`rtype`, following and keeping CNAME chains that end negatively. A
    /// negative answer's SOA carries the answer's lifetime (see `negative_soa_ttl`).
    pub async fn resolve(&self, name: &Name, rtype: RecordType) -> Result<Resolved, UpstreamError> {
        let resolved = self.resolve_chain(name, rtype).await?;
        Ok(negative_soa_ttl(resolved, rtype))
    }

    async fn resolve_chain(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Resolved, UpstreamError> {
        // hickory's recursor fails an SOA query that is answered with a CNAME and no SOA (it
        // takes the NS records beside the CNAME for a referral). Follow the chain as for a
        // negative answer, as Unbound does; with no CNAME there, the failure stands.
        let mut soa_failure = None;
        let first = match self.query(name, rtype).await {
            Err(e) if rtype == RecordType::SOA => {
                soa_failure = Some(e);
                Err((false, None))
            }
            other => other?,
        };
        let (nx, soa) = match first {
            Ok(msg) => return Ok(positive(msg)),
            Err(negative) => negative,
        };
        if rtype == RecordType::CNAME {
            return Ok(negative_answer(Vec::new(), nx, soa));
        }
        // The name may be a CNAME whose target is negative: rebuild the chain.
        let mut chain = Vec::new();
        let mut current = name.clone();
        let mut last = (nx, soa);
        for _ in 0..MAX_CHAIN {
            let Ok(msg) = self.query(&current, RecordType::CNAME).await? else {
                break;
            };
            let Some(cname) = msg
                .answers
                .iter()
                .find(|r| r.record_type() == RecordType::CNAME && r.name == current)
                .cloned()
            else {
                break;
            };
            let RData::CNAME(target) = &cname.data else {
                break;
            };
            let target = target.0.clone();
            chain.push(cname);
            let answer = match self.query(&target, rtype).await {
                Err(_) if rtype == RecordType::SOA => Err((false, None)),
                other => other?,
            };
            match answer {
                Ok(msg) => {
                    let mut answer = positive(msg);
                    chain.append(&mut answer.answers);
                    answer.answers = chain;
                    return Ok(answer);
                }
                Err(negative) => last = negative,
            }
            current = target;
        }
        match soa_failure {
            Some(e) if chain.is_empty() => Err(e),
            _ => Ok(negative_answer(chain, last.0, last.1)),
        }
    }

    /// One query: Ok(Ok(message)) for an answer, Ok(Err(negative)) for NXDOMAIN/NODATA.
    async fn query(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Result<Message, Negative>, UpstreamError> {
        let to_soa = |soa: Option<Box<Record<hickory_proto::rr::rdata::SOA>>>| {
            soa.map(|s| Record::from_rdata(s.name.clone(), s.ttl, RData::SOA(s.data.clone())))
        };
        match &self.0 {
            Via::Recursive(r) => match r
                .resolve(Query::query(name.clone(), rtype), Instant::now(), false)
                .await
            {
                Ok(msg) => match msg.metadata.response_code {
                    ResponseCode::NoError | ResponseCode::NXDomain => Ok(Ok(msg)),
                    other => Err(UpstreamError::Failed(format!("upstream answered {other}"))),
                },
                Err(e) if e.is_nx_domain() || e.is_no_records_found() => {
                    let nx = e.is_nx_domain();
                    Ok(Err((nx, to_soa(e.into_soa()))))
                }
                Err(e) => Err(UpstreamError::Failed(e.to_string())),
            },
            Via::Forward(r) => match r.lookup(name.clone(), rtype).await {
                Ok(lookup) => Ok(Ok(lookup.message().clone())),
                Err(e) if e.is_nx_domain() || e.is_no_records_found() => {
                    let nx = e.is_nx_domain();
                    Ok(Err((nx, to_soa(e.into_soa()))))
                }
                Err(e) => Err(UpstreamError::Failed(e.to_string())),
            },
        }
    }
}

fn positive(msg: Message) -> Resolved {
    let soa = msg
        .authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)
        .cloned();
    Resolved {
        rcode: msg.metadata.response_code,
        answers: msg.answers,
        soa,
    }
}

/// RFC 2308 (section 5): a negative answer lives min(SOA TTL, SOA minimum), and the SOA
/// sent with it carries that TTL (authoritative servers often send the SOA's own TTL).
fn negative_soa_ttl(mut r: Resolved, rtype: RecordType) -> Resolved {
    if r.is_negative(rtype)
        && let Some(soa) = &mut r.soa
        && let RData::SOA(data) = &soa.data
    {
        soa.ttl = soa.ttl.min(data.minimum);
    }
    r
}

fn negative_answer(chain: Vec<Record>, nx: bool, soa: Option<Record>) -> Resolved {
    Resolved {
        rcode: if nx {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        },
        answers: chain,
        soa,
    }
}

/// Root server addresses: configured addresses, a hints file, or the built-in IANA list.
pub(crate) fn root_hints(cfg: &UpstreamConfig) -> Result<Vec<IpAddr>, DnsError> {
    if !cfg.roots.is_empty() {
        return Ok(cfg.roots.clone());
    }
    let Some(path) = &cfg.root_hints else {
        return Ok(ROOT_HINTS.iter().filter_map(|a| a.parse().ok()).collect());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        DnsError::Config(format!(
            "key `upstream.root_hints`: {}: {e}",
            path.display()
        ))
    })?;
    let addrs: Vec<IpAddr> = text
        .lines()
        .map(|l| l.split(';').next().unwrap_or(""))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let t = fields
                .iter()
                .position(|f| f.eq_ignore_ascii_case("A") || f.eq_ignore_ascii_case("AAAA"))?;
            fields.get(t + 1)?.parse().ok()
        })
        .collect();
    if addrs.is_empty() {
        return Err(DnsError::Config(format!(
            "key `upstream.root_hints`: {}: no A or AAAA records found (expected a root hints zone file like named.root)",
            path.display()
        )));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::{A, SOA};

    use super::*;

    fn soa(ttl: u32, minimum: u32) -> Record {
        let name = |s: &str| Name::from_ascii(s).expect("name");
        let data = SOA::new(name("ns."), name("admin."), 1, 3600, 600, 86400, minimum);
        Record::from_rdata(name("example."), ttl, RData::SOA(data))
    }

    #[test]
    fn a_negative_answers_soa_carries_its_lifetime() {
        let ttl = |r: Resolved| r.soa.map(|s| s.ttl);
        let negative = negative_answer(Vec::new(), true, Some(soa(60, 2)));
        assert_eq!(ttl(negative_soa_ttl(negative, RecordType::A)), Some(2));
        let negative = negative_answer(Vec::new(), false, Some(soa(5, 300)));
        assert_eq!(ttl(negative_soa_ttl(negative, RecordType::A)), Some(5));
        // A positive answer's SOA (if any) is left alone.
        let a = Record::from_rdata(
            Name::from_ascii("example.").expect("name"),
            30,
            RData::A(A([192, 0, 2, 1].into())),
        );
        let positive = Resolved {
            rcode: ResponseCode::NoError,
            answers: vec![a],
            soa: Some(soa(60, 2)),
        };
        assert_eq!(ttl(negative_soa_ttl(positive, RecordType::A)), Some(60));
    }
}
