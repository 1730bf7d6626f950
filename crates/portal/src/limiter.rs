//! Per-client rate limits on requests: a fixed window of counts keyed by source address,
//! in memory only (the address is never stored anywhere else).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Clients tracked at most; beyond it, new clients are refused until windows expire (an
/// address flood cannot grow memory, and a full table fails closed).
const MAX_CLIENTS: usize = 65_536;

/// At most `limit` requests per client in each `window`.
pub(crate) struct Limiter {
    limit: u32,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    pub(crate) fn new(limit: u32, window: Duration) -> Limiter {
        Limiter {
            limit,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `client` at `now`; false if it is over its limit.
    pub(crate) fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let mut clients = self.clients.lock();
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            clients.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if clients.len() >= MAX_CLIENTS {
                return false;
            }
        }
        let (start, count) = clients.entry(client).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count >= self.limit {
            return false;
        }
        *count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_gets_its_own_window() {
        let l = Limiter::new(2, Duration::from_secs(60));
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t = Instant::now();
        assert!(l.allow(a, t) && l.allow(a, t));
        assert!(!l.allow(a, t), "the third in a window is refused");
        assert!(l.allow(b, t), "another client is not affected");
        assert!(l.allow(a, t + Duration::from_secs(60)), "a new window");
    }
}
