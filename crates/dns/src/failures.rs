//! Recent resolution failures (RFC 9520): a question whose upstream resolution just failed
//! is answered from here, without asking upstream again, for a short while; the while
//! doubles each time the question fails again, up to [`LONGEST`]. A broken domain then
//! costs one upstream round per while, not one per client query.

use std::time::{Duration, Instant};

use hickory_proto::rr::{LowerName, RecordType};

use crate::cache::Key;
use crate::clock::{Shards, Slot};
use crate::upstream::UpstreamError;

/// Longest time a failure is remembered (RFC 9520 allows at most 5 minutes); a configured
/// first time beyond it is kept as it is.
pub(crate) const LONGEST: Duration = Duration::from_secs(60);

/// Shortest time a failure is remembered (RFC 9520: at least 1 second).
pub(crate) const SHORTEST: Duration = Duration::from_secs(1);

/// Failures remembered at most (an entry holds its key and the error's text).
const SIZE: usize = 4_096;

/// A remembered failure.
struct Failure {
    hash: u64,
    /// The question's [`Key`] bytes, checked on a hit.
    key: Box<[u8]>,
    /// Until when the question is not asked upstream again.
    until: Instant,
    /// How long it was remembered this time; a failure soon after doubles it.
    held: Duration,
    error: UpstreamError,
    used: bool,
}

impl Slot for Failure {
    fn hash(&self) -> u64 {
        self.hash
    }

    fn take_used(&mut self) -> bool {
        std::mem::replace(&mut self.used, false)
    }
}

/// Recent failures by (name, type), in bounded shards.
pub(crate) struct Failures {
    shards: Shards<Failure>,
    seed: u64,
    first: Duration,
    longest: Duration,
}

impl Failures {
    /// Remembers a failure for `first` (clamped to 1 s ..= 5 min), doubling while the
    /// question keeps failing, up to [`LONGEST`] (or `first` if longer).
    pub(crate) fn new(first: Duration) -> Failures {
        let first = first.clamp(SHORTEST, Duration::from_secs(300));
        Failures {
            shards: Shards::new(SIZE),
            seed: crate::packet_cache::key_seed(),
            first,
            longest: LONGEST.max(first),
        }
    }

    fn hash(&self, key: &Key) -> u64 {
        xxhash_rust::xxh3::xxh3_64_with_seed(key.bytes(), self.seed)
    }

    /// The failure of this question if it is recent enough to answer with.
    pub(crate) fn get(
        &self,
        name: &LowerName,
        rtype: RecordType,
        now: Instant,
    ) -> Option<UpstreamError> {
        let key = Key::new(name, rtype);
        let h = self.hash(&key);
        let mut shard = self.shards.lock(h);
        let i = shard.find(h)?;
        let failure = shard.get_mut(i);
        if *failure.key != *key.bytes() || now >= failure.until {
            return None; // kept past `until` only to remember how long it was held
        }
        failure.used = true;
        Some(failure.error.clone())
    }

    /// Remembers that this question failed at `now`: for the first time, or for twice as
    /// long as last time when it fails again within [`LONGEST`] of being let through.
    pub(crate) fn remember(
        &self,
        name: &LowerName,
        rtype: RecordType,
        error: &UpstreamError,
        now: Instant,
    ) {
        let key = Key::new(name, rtype);
        let h = self.hash(&key);
        let mut shard = self.shards.lock(h);
        let previous = shard.find(h).map(|i| shard.get_mut(i)).filter(|f| {
            *f.key == *key.bytes() && now.saturating_duration_since(f.until) <= self.longest
        });
        let held = match previous {
            Some(f) => (f.held * 2).min(self.longest),
            None => self.first,
        };
        shard.put(Failure {
            hash: h,
            key: key.bytes().into(),
            until: now + held,
            held,
            error: error.clone(),
            used: false,
        });
    }

    /// Forgets a failure once the question has been answered.
    pub(crate) fn forget(&self, name: &LowerName, rtype: RecordType) {
        let key = Key::new(name, rtype);
        let h = self.hash(&key);
        let mut shard = self.shards.lock(h);
        if let Some(i) = shard.find(h)
            && *shard.get_mut(i).key == *key.bytes()
        {
            shard.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::Name;

    use super::*;

    fn name(s: &str) -> LowerName {
        LowerName::new(&Name::from_str(s).expect("name"))
    }

    fn refused() -> UpstreamError {
        UpstreamError::Failed("upstream answered REFUSED".into())
    }

    #[test]
    fn a_failure_is_remembered_for_its_time_and_per_question() {
        let failures = Failures::new(Duration::from_secs(5));
        let (broken, now) = (name("broken.example."), Instant::now());
        failures.remember(&broken, RecordType::A, &refused(), now);
        let at = |secs: f64| now + Duration::from_secs_f64(secs);
        assert!(failures.get(&broken, RecordType::A, at(0.0)).is_some());
        assert!(failures.get(&broken, RecordType::A, at(4.9)).is_some());
        assert!(
            failures.get(&broken, RecordType::A, at(5.0)).is_none(),
            "asked again after 5 s"
        );
        assert!(failures.get(&broken, RecordType::AAAA, at(0.0)).is_none());
        assert!(
            failures
                .get(&name("other.example."), RecordType::A, at(0.0))
                .is_none()
        );
    }

    #[test]
    fn repeated_failures_back_off_up_to_the_longest_and_success_resets() {
        let failures = Failures::new(Duration::from_secs(5));
        let broken = name("broken.example.");
        let mut now = Instant::now();
        let mut held = Vec::new();
        for _ in 0..6 {
            failures.remember(&broken, RecordType::A, &refused(), now);
            let mut secs = 0;
            while failures
                .get(&broken, RecordType::A, now + Duration::from_secs(secs))
                .is_some()
            {
                secs += 1;
            }
            held.push(secs);
            now += Duration::from_secs(secs); // asked again as soon as let through
        }
        assert_eq!(held, [5, 10, 20, 40, 60, 60]);
        failures.forget(&broken, RecordType::A);
        failures.remember(&broken, RecordType::A, &refused(), now);
        assert!(
            failures
                .get(&broken, RecordType::A, now + Duration::from_secs(5))
                .is_none(),
            "after an answer, the next failure starts again at 5 s"
        );
        // A failure long after the last one starts again too.
        let later = now + Duration::from_secs(600);
        failures.remember(&broken, RecordType::A, &refused(), later);
        assert!(
            failures
                .get(&broken, RecordType::A, later + Duration::from_secs(10))
                .is_none()
        );
    }

    #[test]
    fn the_first_time_is_kept_within_rfc_9520() {
        let f = Failures::new(Duration::ZERO);
        assert_eq!(f.first, SHORTEST);
        let f = Failures::new(Duration::from_secs(3_600));
        assert_eq!(
            (f.first, f.longest),
            (Duration::from_secs(300), Duration::from_secs(300))
        );
    }
}
