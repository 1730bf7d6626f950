//! For the unit tests: a server's shared state around a policy that blocks given names,
//! forwarding to a port where nothing answers, and an observer that records what it is told.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hedge_lists::{CategoryIdx, Compiler, Format, Index, Taxonomy};
use hedge_policy::{Policy, ProfileConfig, ProfileId};

use crate::config::{ForwardProtocol, ForwardServer, Limits, UpstreamConfig, UpstreamMode};
use crate::observer::{Observation, Observer, Outcome};
use crate::shared::{Shared, Snapshot};

/// One listener, profile `p` blocking `block_domains`, open to `allow`; upstream is the
/// discard port on loopback, so nothing is ever resolved.
pub(crate) fn shared(
    allow: &str,
    block_domains: &[&str],
    observer: Option<Arc<dyn Observer>>,
) -> Shared {
    shared_with(allow, block_domains, &[], observer)
}

/// Like [`shared`], with `gambling` names in the index that profile `p` blocks by category.
pub(crate) fn shared_with(
    allow: &str,
    block_domains: &[&str],
    gambling: &[&str],
    observer: Option<Arc<dyn Observer>>,
) -> Shared {
    let taxonomy = Taxonomy::builtin();
    let mut compiler = Compiler::new(&taxonomy);
    let listed: String = gambling.iter().map(|d| format!("{d}\n")).collect();
    compiler
        .add_text(
            "g",
            Format::Plain,
            &["gambling".into()],
            listed.as_bytes(),
            "t",
        )
        .unwrap();
    let compiled = compiler.finish(&mut |_| {}).unwrap();
    let index = Arc::new(Index::from_bytes(compiled.bytes).unwrap());
    let profile = ProfileConfig {
        name: "p".into(),
        block: vec!["gambling".into()],
        block_domains: block_domains.iter().map(|d| d.to_string()).collect(),
        ..ProfileConfig::default()
    };
    let policy = Arc::new(Policy::new(index, vec![profile], Path::new(".")).unwrap());
    let upstream = UpstreamConfig {
        mode: UpstreamMode::Forward,
        servers: vec![ForwardServer {
            address: Ipv4Addr::LOCALHOST.into(),
            protocol: ForwardProtocol::Udp,
            port: Some(9),
            tls_name: None,
            path: None,
            ca_file: None,
        }],
        timeout_ms: 100,
        ..UpstreamConfig::default()
    };
    let snapshot = Snapshot {
        policy,
        listener_profiles: vec![0],
        observer,
        portal_url: None,
        portal_name: None,
    };
    let allow = vec![vec![allow.parse().unwrap()]];
    Shared::new(allow, &upstream, Limits::default(), snapshot).unwrap()
}

/// What an [`Observer`] was told about one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) client: IpAddr,
    pub(crate) qtype: u16,
    pub(crate) outcome: Outcome,
    pub(crate) category: Option<CategoryIdx>,
    pub(crate) qname: Option<String>,
    /// The domain's count is kept by the cache entry.
    pub(crate) domain_counted: bool,
    /// The domain a block is counted under.
    pub(crate) domain: Option<String>,
}

/// What [`Observer::observe_cached`] was given: (profile, outcome, category, domain, hits).
pub(crate) type CachedCount = (ProfileId, Outcome, Option<CategoryIdx>, String, u32);

/// An observer that keeps every observation; made with [`Recorder::counting_cached`], also
/// the counts its cache entries keep (of blocked and allowed answers).
#[derive(Default)]
pub(crate) struct Recorder(Mutex<Vec<Seen>>, Option<Mutex<Vec<CachedCount>>>);

impl Recorder {
    /// A recorder whose blocked and allowed answers are counted in their packet-cache
    /// entries.
    pub(crate) fn counting_cached() -> Recorder {
        Recorder(Mutex::default(), Some(Mutex::default()))
    }

    /// What [`Observer::observe_cached`] was given, in order.
    pub(crate) fn cached(&self) -> Vec<CachedCount> {
        self.1.as_ref().unwrap().lock().unwrap().clone()
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

impl Observer for Recorder {
    fn counts_cached(&self, outcome: Outcome) -> bool {
        self.1.is_some() && matches!(outcome, Outcome::Blocked | Outcome::Allowed)
    }

    /// A recorder counting in the cache entries keeps no query log: the fast path then
    /// writes out no name for those hits.
    fn logs_queries(&self) -> bool {
        self.1.is_none()
    }

    fn observe_cached(
        &self,
        profile: ProfileId,
        outcome: Outcome,
        category: Option<CategoryIdx>,
        domain: &str,
        hits: u32,
    ) {
        if let Some(cached) = &self.1 {
            cached
                .lock()
                .unwrap()
                .push((profile, outcome, category, domain.to_owned(), hits));
        }
    }

    fn observe(&self, _policy: &Policy, o: &Observation<'_>, _received: Instant) {
        self.0.lock().unwrap().push(Seen {
            client: o.client,
            qtype: o.qtype,
            outcome: o.outcome,
            category: o.category,
            qname: o.qname.map(str::to_owned),
            domain_counted: o.domain_counted,
            domain: o.domain.map(str::to_owned),
        });
    }
}
