//! For the unit tests: a server's shared state around a policy that blocks given names,
//! forwarding to a port where nothing answers, and an observer that records what it is told.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
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

/// An observer that keeps every observation, and the domain hash each came with; made
/// with [`Recorder::counting_cached`], also the allowed answers' counts its cache entries
/// keep.
#[derive(Default)]
pub(crate) struct Recorder(
    Mutex<Vec<Seen>>,
    Mutex<Vec<Option<NonZeroU32>>>,
    Option<Mutex<Vec<(ProfileId, String, u32)>>>,
);

impl Recorder {
    /// A recorder whose allowed answers are counted in their packet-cache entries.
    pub(crate) fn counting_cached() -> Recorder {
        Recorder(Mutex::default(), Mutex::default(), Some(Mutex::default()))
    }

    /// What [`Observer::observe_cached_allowed`] was given: (profile, domain, hits).
    pub(crate) fn cached(&self) -> Vec<(ProfileId, String, u32)> {
        self.2.as_ref().unwrap().lock().unwrap().clone()
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn hashes(&self) -> Vec<Option<NonZeroU32>> {
        self.1.lock().unwrap().clone()
    }

    /// The recorder's [`Observer::name_hash`]: the bytes' sum, plus one.
    pub(crate) fn hash_of(domain: &str) -> NonZeroU32 {
        NonZeroU32::MIN.saturating_add(domain.bytes().map(u32::from).sum())
    }
}

impl Observer for Recorder {
    fn counts_cached_allowed(&self) -> bool {
        self.2.is_some()
    }

    /// A recorder counting in the cache entries keeps no query log: the fast path then
    /// writes out no name for those hits.
    fn logs_queries(&self) -> bool {
        self.2.is_none()
    }

    fn observe_cached_allowed(&self, profile: ProfileId, domain: &str, hits: u32) {
        if let Some(cached) = &self.2 {
            cached
                .lock()
                .unwrap()
                .push((profile, domain.to_owned(), hits));
        }
    }

    fn name_hash(&self, domain: &str) -> Option<NonZeroU32> {
        Some(Recorder::hash_of(domain))
    }

    fn observe(&self, _policy: &Policy, o: &Observation<'_>, _received: Instant) {
        self.1.lock().unwrap().push(o.domain_hash);
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
