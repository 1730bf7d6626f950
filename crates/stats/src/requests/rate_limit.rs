//! [`RateLimiter`]: how many requests one client may submit, kept in memory only.
//!
//! The generic cell rate algorithm: each client has a "theoretical arrival time"; a request is
//! allowed while that time is less than `burst` intervals ahead of now, and moves it one
//! interval on. One `Instant` per client, no timers. A client is its IPv4 address or its IPv6
//! /64 (a device picks any address in its /64 at will). Addresses never leave this map, and
//! the map is bounded: when it is full of clients still being limited, new clients are
//! refused rather than the limit forgotten (fail closed).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A limit: `burst` requests at once, then one per `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed back to back.
    pub burst: u32,
    /// Then one per this long.
    pub every: Duration,
    /// Clients tracked at most (memory: about 50 bytes each).
    pub max_clients: usize,
}

impl Default for RateLimit {
    /// 5 requests, then one every 2 minutes; 10 000 clients.
    fn default() -> RateLimit {
        RateLimit {
            burst: 5,
            every: Duration::from_secs(120),
            max_clients: 10_000,
        }
    }
}

/// Refused: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

/// Per-client rate limits (see the module docs). Shared between threads.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    clients: Mutex<HashMap<IpAddr, Instant>>,
}

/// The part of an address that names a client.
fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

impl RateLimiter {
    /// A limiter with `limit` (a burst of 0 is taken as 1).
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit: RateLimit {
                burst: limit.burst.max(1),
                ..limit
            },
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `client` may submit a request at `now`; counts it if so.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), RetryAfter> {
        let key = client_key(client);
        let every = self.limit.every;
        let tolerance = every.saturating_mul(self.limit.burst - 1);
        let mut clients = self.clients.lock();
        if !clients.contains_key(&key) && clients.len() >= self.limit.max_clients {
            // A client whose arrival time has passed is as good as new: forget it.
            clients.retain(|_, tat| *tat > now);
            if clients.len() >= self.limit.max_clients {
                return Err(RetryAfter(every));
            }
        }
        let tat = clients.get(&key).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > tolerance {
            return Err(RetryAfter(ahead - tolerance));
        }
        clients.insert(key, tat + every);
        Ok(())
    }

    /// Clients tracked now.
    pub fn tracked(&self) -> usize {
        self.clients.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn limiter(burst: u32, max_clients: usize) -> RateLimiter {
        RateLimiter::new(RateLimit {
            burst,
            every: Duration::from_secs(60),
            max_clients,
        })
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let l = limiter(3, 100);
        let t0 = Instant::now();
        let a = ip("10.20.0.7");
        for _ in 0..3 {
            assert_eq!(l.check(a, t0), Ok(()));
        }
        assert_eq!(l.check(a, t0), Err(RetryAfter(Duration::from_secs(60))));
        // Another client is not affected.
        assert_eq!(l.check(ip("10.20.0.8"), t0), Ok(()));
        // One interval later, one more; not two.
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(l.check(a, t1), Ok(()));
        assert!(l.check(a, t1).is_err());
        // After a long quiet spell, a whole burst again.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(l.check(a, t2), Ok(()));
        }
        assert!(l.check(a, t2).is_err());
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let l = limiter(1, 100);
        let t = Instant::now();
        assert_eq!(l.check(ip("2001:db8:1:2::1"), t), Ok(()));
        assert!(l.check(ip("2001:db8:1:2:ffff::9"), t).is_err());
        assert_eq!(l.check(ip("2001:db8:1:3::1"), t), Ok(()));
        // A v4-mapped address is its IPv4 address.
        assert_eq!(l.check(ip("192.0.2.1"), t), Ok(()));
        assert!(l.check(ip("::ffff:192.0.2.1"), t).is_err());
    }

    #[test]
    fn a_full_table_refuses_new_clients_until_old_ones_expire() {
        let l = limiter(1, 2);
        let t = Instant::now();
        assert_eq!(l.check(ip("10.0.0.1"), t), Ok(()));
        assert_eq!(l.check(ip("10.0.0.2"), t), Ok(()));
        assert!(l.check(ip("10.0.0.3"), t).is_err(), "fails closed");
        assert_eq!(l.tracked(), 2);
        let later = t + Duration::from_secs(61);
        assert_eq!(l.check(ip("10.0.0.3"), later), Ok(()));
        assert_eq!(l.tracked(), 1, "the expired clients were forgotten");
    }
}
