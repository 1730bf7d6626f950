//! Connection slots: at most `total` connections open at once, and at most `per_client`
//! from one address, so one PC cannot take every slot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// The open connections, counted per client address.
pub(crate) struct Slots {
    total: usize,
    per_client: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One taken slot; dropping it gives the slot back.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    client: IpAddr,
}

impl Slots {
    pub(crate) fn new(total: usize, per_client: usize) -> Arc<Slots> {
        Arc::new(Slots {
            total,
            per_client,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// A slot for a connection from `client`, or None when the portal or the client is full.
    /// The map holds only clients with a connection open, so it is bounded by `total`.
    pub(crate) fn take(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let client = match client {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
            v4 => v4,
        };
        let mut open = self.open.lock();
        let (all, by_client) = &mut *open;
        let mine = by_client.get(&client).copied().unwrap_or(0);
        if *all >= self.total || mine >= self.per_client {
            return None;
        }
        *all += 1;
        by_client.insert(client, mine + 1);
        Some(Slot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock();
        let (all, by_client) = &mut *open;
        *all = all.saturating_sub(1);
        if let Some(n) = by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_in_all_and_per_client_and_come_back() {
        let slots = Slots::new(3, 2);
        let (a, b, c) = (
            IpAddr::from([10, 0, 0, 1]),
            IpAddr::from([10, 0, 0, 2]),
            IpAddr::from([10, 0, 0, 3]),
        );
        let a1 = slots.take(a).expect("a1");
        let _a2 = slots.take(a).expect("a2");
        assert!(slots.take(a).is_none(), "a has two already");
        let _b1 = slots.take(b).expect("b1");
        assert!(slots.take(c).is_none(), "all three are taken");
        drop(a1);
        assert!(slots.take(c).is_some(), "a slot came back");
        let one_each = Slots::new(10, 1);
        let _held = one_each.take(a).expect("a");
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("v6");
        assert!(
            one_each.take(mapped).is_none(),
            "a's IPv4-mapped address is a"
        );
    }
}
