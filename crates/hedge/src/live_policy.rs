//! The policy `serve` is serving, kept current without a reload: schedules switch at their
//! boundaries, grants expire, and staff decisions ([`LivePolicy::set_overrides`]) apply
//! within milliseconds.
//!
//! Every change builds a new `Policy` over the same index (`Policy::with_overrides`) and
//! swaps it in as a whole snapshot, like a reload: the DNS path never looks at a clock or
//! a lock. `serve`'s loop waits on [`LivePolicy::due`] and calls [`LivePolicy::swap`];
//! a reload hands its new snapshot to [`LivePolicy::reload`] so the overrides and the
//! schedule state survive it.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::output::counted;
use hedge_dns::{Server, Snapshot};
use hedge_policy::{Overrides, Policy, PolicyError, Timestamp};
use tokio::sync::Notify;

/// The longest sleep before the wall clock is looked at again: a clock stepped by NTP (or
/// a suspended machine) delays a schedule change by at most this.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// The served policy's parts and the overrides layered on it. Shared: the requests store
/// (or the portal) holds an `Arc` and calls [`LivePolicy::set_overrides`].
pub struct LivePolicy {
    state: Mutex<State>,
    /// Wakes `serve`'s loop when the base or the overrides change.
    changed: Notify,
}

struct State {
    /// The snapshot built from the configuration and index, without overrides.
    base: Snapshot,
    /// The overrides in force, as last set (expired grants are dropped when applied).
    overrides: Overrides,
    /// The policy last swapped in.
    current: Arc<Policy>,
    /// Something changed that the server has not been given yet.
    pending: bool,
}

impl LivePolicy {
    /// Starts from the snapshot `serve` started the server with.
    pub fn new(base: Snapshot) -> Arc<LivePolicy> {
        Arc::new(LivePolicy {
            state: Mutex::new(State {
                current: base.policy.clone(),
                base,
                overrides: Overrides::default(),
                pending: false,
            }),
            changed: Notify::new(),
        })
    }

    /// Replaces the grants and local recategorisations; `serve` swaps the new policy in at
    /// once. Returns the entries the configuration cannot apply (an unknown profile or
    /// category, a name that is not a domain): they are left out, the others apply, and
    /// they are kept, so a reload that brings their profile back applies them again. Check
    /// a decision before storing it with `Policy::check_grant` / `check_recategorisation`.
    pub fn set_overrides(&self, overrides: Overrides) -> Vec<PolicyError> {
        let mut state = self.lock();
        let (_, errors) = state.base.policy.applicable(&overrides);
        state.overrides = overrides;
        state.pending = true;
        drop(state);
        self.changed.notify_one();
        errors
    }

    /// The overrides in force, as last set (the tests check what `set_overrides` kept).
    #[cfg(test)]
    pub fn overrides(&self) -> Overrides {
        self.lock().overrides.clone()
    }

    /// Swaps in a reloaded configuration and index, with the overrides and the schedules
    /// applied. If the server refuses it, the previous base stays.
    pub fn reload(&self, server: &Server, base: Snapshot) -> Result<(), hedge_dns::DnsError> {
        let mut state = self.lock();
        let previous = std::mem::replace(&mut state.base, base);
        state.pending = true;
        swap_locked(&mut state, server).inspect_err(|_| state.base = previous)
    }

    /// Resolves when the served policy is out of date: the overrides changed, or a
    /// schedule boundary or grant expiry has passed. Cancel-safe.
    pub async fn due(&self) {
        loop {
            let notified = self.changed.notified();
            let wait = {
                let state = self.lock();
                if state.pending {
                    return;
                }
                let now = Timestamp::now();
                match state.current.next_change(state.current.moment()) {
                    Some(at) if at <= now => return,
                    Some(at) => Duration::try_from(at.duration_since(now))
                        .unwrap_or(Duration::ZERO)
                        .min(MAX_SLEEP),
                    None => MAX_SLEEP,
                }
            };
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Builds the policy for now (base, overrides, schedules, grant expiries) and gives it
    /// to the server. A policy that decides as the served one does (a timer woke early,
    /// a zone's offset changed outside any rule) is not swapped in: a swap empties the
    /// packet cache.
    pub fn swap(&self, server: &Server) -> Result<(), hedge_dns::DnsError> {
        let mut state = self.lock();
        swap_locked(&mut state, server).inspect_err(|_| {
            // Not again at once: `due` would return at once, forever.
            state.pending = false;
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent state (every field is set in
        // one assignment), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// [`LivePolicy::swap`] under its lock.
fn swap_locked(state: &mut State, server: &Server) -> Result<(), hedge_dns::DnsError> {
    // `due` returns once the wall clock has passed the boundary, so now is after it.
    let policy = Arc::new(build(
        &state.base.policy,
        &state.overrides,
        Timestamp::now(),
    ));
    if !state.pending && policy.decides_as(&state.current) {
        state.current = policy;
        return Ok(());
    }
    let log = describe_change(&state.current, &policy);
    let snapshot = Snapshot {
        policy: policy.clone(),
        listener_profiles: state.base.listener_profiles.clone(),
        observer: state.base.observer.clone(),
        portal_url: state.base.portal_url.clone(),
        portal_name: state.base.portal_name.clone(),
    };
    server.reload(snapshot)?;
    state.current = policy;
    state.pending = false;
    if !log.is_empty() {
        tracing::info!("policy changed: {log}");
    }
    Ok(())
}

/// The base policy with the overrides it can apply at `at`; entries it cannot (a profile
/// removed by a reload) are logged and left out rather than dropping every override.
fn build(base: &Policy, overrides: &Overrides, at: Timestamp) -> Policy {
    let (ok, errors) = base.applicable(overrides);
    for e in errors {
        tracing::warn!("override not applied: {e}");
    }
    base.with_overrides(&ok, at).unwrap_or_else(|_| base.at(at))
}

/// What differs between two policies, for the log: schedules that started or stopped.
fn describe_change(old: &Policy, new: &Policy) -> String {
    let mut out = Vec::new();
    for (o, n) in old.profiles().iter().zip(new.profiles()) {
        let names = |p: &hedge_policy::Profile| {
            p.active_schedules()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        let (was, is) = (names(o), names(n));
        for s in is.iter().filter(|s| !was.contains(s)) {
            out.push(format!("profile `{}`: schedule `{s}` in force", n.name));
        }
        for s in was.iter().filter(|s| !is.contains(s)) {
            out.push(format!("profile `{}`: schedule `{s}` ended", n.name));
        }
    }
    let (og, ng) = (old.overrides().grants.len(), new.overrides().grants.len());
    let (or, nr) = (
        old.overrides().recategorised.len(),
        new.overrides().recategorised.len(),
    );
    if (og, or) != (ng, nr) {
        out.push(overrides_change((og, ng), (or, nr)));
    }
    out.join("; ")
}

/// `1 grant (was 0), 2 local recategorisations (was 2)`: the overrides' counts, before and after.
fn overrides_change((og, ng): (usize, usize), (or, nr): (usize, usize)) -> String {
    format!(
        "{} (was {og}), {} (was {or})",
        counted(ng, "grant"),
        counted(nr, "local recategorisation")
    )
}

#[cfg(test)]
mod tests {
    //! `set_overrides` against a running server: real UDP and TCP queries, the fake
    //! internet as upstream.
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use std::net::SocketAddr;
    use std::time::Instant;

    use hedge_lists::Index;

    #[test]
    fn the_overrides_change_is_counted_in_words() {
        assert_eq!(
            super::overrides_change((0, 1), (2, 1)),
            "1 grant (was 0), 1 local recategorisation (was 2)"
        );
        assert_eq!(
            super::overrides_change((1, 2), (0, 0)),
            "2 grants (was 1), 0 local recategorisations (was 0)"
        );
    }
    use hedge_policy::Grant;
    use hedge_testkit::{FakeInternet, client, names};
    use hickory_proto::rr::{RData, RecordType};

    use super::*;
    use crate::config;
    use crate::test_support::{free_addr, gambling_index};

    /// An index listing example.com as gambling, which the profile blocks.
    fn index() -> Arc<Index> {
        gambling_index(&["example.com"])
    }

    /// The A answer for www.example.com over UDP and over TCP.
    async fn answers(addr: SocketAddr) -> [Vec<String>; 2] {
        let ips = |m: hickory_proto::op::Message| {
            m.answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let name = names::WWW_EXAMPLE_COM;
        [
            ips(client::query_udp(addr, name, RecordType::A).await.unwrap()),
            ips(client::query_tcp(addr, name, RecordType::A).await.unwrap()),
        ]
    }

    /// Asks until both transports answer `want`; returns how long that took.
    async fn until(addr: SocketAddr, want: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if answers(addr).await == [vec![want.to_string()], vec![want.to_string()]] {
                return started.elapsed();
            }
            assert!(started.elapsed() < limit, "not {want} within {limit:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn grant(until: Option<Timestamp>) -> Overrides {
        Overrides {
            grants: vec![Grant {
                name: "example.com".into(),
                profile: "child".into(),
                until,
                request: Some(1),
            }],
            recategorised: Vec::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_grant_set_live_allows_a_blocked_name_within_a_second_and_expires() {
        let net = FakeInternet::start_for_test().await;
        let addr = free_addr();
        let roots: Vec<String> = net
            .root_hints()
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect();
        let text = format!(
            "[[profile]]\nname = \"child\"\nblock = [\"gambling\"]\n\
             [[listener]]\nprofile = \"child\"\nbind = [\"{addr}\"]\nallow = [\"127.0.0.0/8\"]\n\
             [upstream]\nmode = \"recursive\"\nroots = [{}]\nallow_servers = [\"127.0.0.0/8\"]\ntimeout_ms = 3000\n",
            roots.join(", ")
        );
        let loaded = config::parse(&text, "test", None).unwrap();
        let checked = config::check_with_index(&loaded, index()).unwrap();
        let c = &loaded.config;
        let server = Arc::new(
            Server::start(
                &c.listeners,
                &loaded.upstream(),
                c.server.clone(),
                checked.snapshot(None),
            )
            .unwrap(),
        );
        let live = LivePolicy::new(checked.snapshot(None));
        // What `serve`'s loop does.
        let swapper = {
            let (live, server) = (live.clone(), server.clone());
            tokio::spawn(async move {
                loop {
                    live.due().await;
                    live.swap(&server).unwrap();
                }
            })
        };
        let allowed = names::WWW_EXAMPLE_COM_A.to_string();
        assert_eq!(answers(addr).await, [["0.0.0.0"], ["0.0.0.0"]]);

        // A grant that ends three seconds from now.
        let ends = Timestamp::now() + jiff::SignedDuration::from_secs(3);
        assert!(live.set_overrides(grant(Some(ends))).is_empty());
        let took = until(addr, &allowed, Duration::from_secs(5)).await;
        assert!(took < Duration::from_secs(1), "the grant took {took:?}");
        // A reload keeps it.
        live.reload(&server, checked.snapshot(None)).unwrap();
        assert_eq!(
            answers(addr).await,
            [[allowed.as_str()], [allowed.as_str()]]
        );
        // It expires by itself, not before its time.
        until(addr, "0.0.0.0", Duration::from_secs(6)).await;
        assert!(
            Timestamp::now() >= ends,
            "blocked again before the grant expired"
        );

        // An entry the configuration cannot apply is named and left out; the rest apply.
        let mut mixed = grant(None);
        mixed.grants.insert(
            0,
            Grant {
                profile: "teen".into(),
                ..mixed.grants[0].clone()
            },
        );
        let errors = live.set_overrides(mixed.clone());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("no profile is named `teen`"));
        until(addr, &allowed, Duration::from_secs(5)).await;
        assert_eq!(live.overrides(), mixed);
        swapper.abort();
    }
}
