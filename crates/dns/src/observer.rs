//! What the server tells the outside about each answered query: the vocabulary of counting.
//! Statistics and metrics implement [`Observer`] outside this crate.

use std::net::IpAddr;
use std::time::Instant;

use hedge_lists::CategoryIdx;
use hedge_policy::{Policy, ProfileId};

/// What happened to a query, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Resolved and answered.
    Allowed,
    /// Sinkholed (categories, custom lists, walled garden, bypass controls).
    Blocked,
    /// SafeSearch / restricted-mode rewrite.
    Rewritten,
    /// REFUSED (ACL, unsupported class), or a TCP connection closed at accept by the ACL.
    Refused,
    /// SERVFAIL (upstream failure, internal error) or FORMERR/NOTIMP.
    Servfail,
}

/// One answered query, as an [`Observer`] sees it.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    /// The client's address: only for the opt-in raw query log; statistics never keep it.
    pub client: IpAddr,
    /// The query type (0 when the packet had no usable question, or for a TCP connection
    /// refused at accept).
    pub qtype: u16,
    /// The listener's profile.
    pub profile: ProfileId,
    /// The category it was blocked for, or its first category when listed and allowed; for
    /// a block no category explains, the rule's label (an index into
    /// [`Policy::count_labels`], past the taxonomy's categories).
    pub category: Option<CategoryIdx>,
    /// What happened.
    pub outcome: Outcome,
    /// The query name, lower case, no trailing dot (None when the packet had no usable question).
    pub qname: Option<&'a str>,
    /// The domain a block is counted under: the listed name for a category block (random
    /// subdomains of a listed site count as the site), else the query name.
    pub domain: Option<&'a str>,
    /// Answered from the response cache.
    pub cache_hit: bool,
    /// An answer served from a packet-cache entry that keeps its domain count
    /// ([`Observer::counts_cached`]). Count the query, not its domain;
    /// the domain's counts come later through [`Observer::observe_cached`].
    pub domain_counted: bool,
    /// Why upstream resolution failed, if it did: `timeout` or `error`.
    pub upstream_error: Option<&'static str>,
}

/// Receives every answered query (statistics, metrics). Called on the query path: keep it cheap.
pub trait Observer: Send + Sync {
    /// One query was answered; it arrived at `received` (an observer that records latency
    /// reads the clock itself, so one that does not costs no clock read).
    fn observe(&self, policy: &Policy, observation: &Observation<'_>, received: Instant);

    /// Whether [`Observation::qname`] is wanted for queries that were not blocked (a raw
    /// query log). When false, the fast path skips writing out the names of cached answers.
    fn wants_every_name(&self) -> bool {
        true
    }

    /// Whether [`Observation::qname`] is wanted for a blocked answer from the packet cache
    /// whose domain its entry does not count (an observer that counts blocks per name
    /// itself). When false (nothing is counted per name), the fast path writes out no name.
    fn wants_blocked_names(&self) -> bool {
        true
    }

    /// Whether [`Observation::qname`] is wanted even for an answer whose domain the cache
    /// entry counts ([`Observation::domain_counted`]): a raw query log.
    fn logs_queries(&self) -> bool {
        self.wants_every_name()
    }

    /// Whether answers of this outcome are counted per domain in their packet-cache entry
    /// (a hit then costs the observer no name, no hash, no table), and handed over by
    /// [`observe_cached`](Observer::observe_cached): the observer counts their domains
    /// (blocked names; allowed ones when it counts those).
    fn counts_cached(&self, _outcome: Outcome) -> bool {
        false
    }

    /// `hits` answers of `outcome` and `category` for `profile`, counted under `domain` in
    /// a packet-cache entry: taken from the cache by a sweep ([`CacheSweeper`]) or when
    /// their entry went. Their queries were observed one by one, with
    /// [`domain_counted`](Observation::domain_counted).
    fn observe_cached(
        &self,
        _profile: ProfileId,
        _outcome: Outcome,
        _category: Option<CategoryIdx>,
        _domain: &str,
        _hits: u32,
    ) {
    }

    /// Given the server's sweeper when this observer starts being served: the counts in
    /// the cache entries reach the observer when it runs it (before each write of the
    /// counts). The newest snapshot's observer is given it last.
    fn attach_sweeper(&self, _sweeper: CacheSweeper) {}
}

/// Hands the answers' counts kept in the packet caches' entries to the observer of
/// the snapshot being served. Holds the server weakly: once the server is gone, a sweep
/// does nothing.
#[derive(Clone)]
pub struct CacheSweeper(pub(crate) std::sync::Weak<dyn SweepCounts>);

/// What a [`CacheSweeper`] sweeps: the server's shared state. A trait so that this module
/// does not import the server's (which imports this one).
pub(crate) trait SweepCounts: Send + Sync {
    /// Hands every count kept in the packet cache's entries to the observer.
    fn sweep_cached_counts(&self);
}

impl CacheSweeper {
    /// Takes every count kept in the cache since the last sweep to the observer.
    pub fn sweep(&self) {
        if let Some(shared) = self.0.upgrade() {
            shared.sweep_cached_counts();
        }
    }
}

impl std::fmt::Debug for CacheSweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheSweeper")
    }
}

/// How long the domain a category block is counted under is: the listed name, the last
/// `listed_labels` labels of `name`. Found once when the block is decided and kept with the
/// cached answer, so a cached block is counted without searching the name again.
pub(crate) fn domain_len(name: &str, listed_labels: Option<u8>) -> Option<u8> {
    u8::try_from(hedge_policy::suffix(name, listed_labels?).len()).ok()
}

/// The domain a block is counted under: the last `len` bytes of `name` (from [`domain_len`])
/// when they are whole labels, else the whole name.
pub(crate) fn counted_domain(name: &str, len: Option<u8>) -> &str {
    let Some(start) = len.and_then(|l| name.len().checked_sub(usize::from(l))) else {
        return name;
    };
    match start.checked_sub(1).map(|dot| name.as_bytes()[dot]) {
        None | Some(b'.') => name.get(start..).unwrap_or(name),
        Some(_) => name,
    }
}

#[cfg(test)]
mod tests {
    use super::{counted_domain, domain_len};

    #[test]
    fn the_counted_domain_is_the_listed_suffix_or_the_whole_name() {
        let name = "a.b.listed.example";
        let len = domain_len(name, Some(2));
        assert_eq!(counted_domain(name, len), "listed.example");
        assert_eq!(counted_domain(name, domain_len(name, Some(9))), name);
        assert_eq!(counted_domain(name, None), name);
        // A length that does not fall on a label (a name written otherwise) counts the name.
        assert_eq!(counted_domain(name, Some(12)), name);
        assert_eq!(counted_domain("short", Some(40)), "short");
    }
}
