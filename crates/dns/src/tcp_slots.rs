//! The TCP connections of one listener address: which hold a slot, which are idle and since
//! when, and how many each client holds. When a new connection needs a slot, the one idle
//! longest gives it up, so connections that send nothing cannot lock everyone else out.
//!
//! A connection is idle while none of its queries is being answered; one in the middle of
//! reading a message counts as idle, so a client sending a byte at a time is closed first.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;

/// The connection table of one listener address.
pub(crate) struct Slots {
    table: Mutex<Table>,
    capacity: usize,
    per_client: usize,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    connections: HashMap<u64, Connection>,
    /// Idle connections, the one idle longest first.
    idle: BTreeSet<(Instant, u64)>,
    /// The connections of each client address.
    clients: HashMap<IpAddr, Vec<u64>>,
}

struct Connection {
    client: IpAddr,
    /// Queries read and not yet answered.
    busy: usize,
    idle_since: Instant,
    close: Arc<Notify>,
}

/// Why a connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// Every connection of this client is answering queries.
    Client,
    /// Every connection is answering queries.
    Listener,
}

impl Slots {
    /// A table of `capacity` connections, at most `per_client` of them per client address.
    pub(crate) fn new(capacity: usize, per_client: usize) -> Arc<Slots> {
        Arc::new(Slots {
            table: Mutex::new(Table::default()),
            capacity: capacity.max(1),
            per_client: per_client.max(1),
        })
    }

    /// A slot for a new connection from `client`, closing the client's own connection idle
    /// longest when it is at its cap, or else the listener's when the table is full.
    /// Refused only when every candidate is answering queries.
    pub(crate) fn admit(self: &Arc<Self>, client: IpAddr, now: Instant) -> Result<Slot, Full> {
        let client = canonical(client);
        let mut t = self.lock();
        let held = t.clients.get(&client).map_or(0, Vec::len);
        if held >= self.per_client {
            let oldest = t.clients[&client]
                .iter()
                .filter_map(|id| t.connections.get(id).map(|c| (c, *id)))
                .filter(|(c, _)| c.busy == 0)
                .min_by_key(|(c, id)| (c.idle_since, *id))
                .map(|(_, id)| id);
            t.evict(oldest.ok_or(Full::Client)?);
        } else if t.connections.len() >= self.capacity {
            let oldest = t.idle.first().map(|&(_, id)| id);
            t.evict(oldest.ok_or(Full::Listener)?);
        }
        let id = t.next_id;
        t.next_id += 1;
        let close = Arc::new(Notify::new());
        t.connections.insert(
            id,
            Connection {
                client,
                busy: 0,
                idle_since: now,
                close: close.clone(),
            },
        );
        t.idle.insert((now, id));
        t.clients.entry(client).or_default().push(id);
        Ok(Slot {
            slots: self.clone(),
            id,
            close,
        })
    }

    /// Connections holding a slot.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().connections.len()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // The table is consistent after every statement that can panic; keep serving.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Table {
    /// Takes a connection out of the table and tells it to close.
    fn evict(&mut self, id: u64) {
        if let Some(c) = self.remove(id) {
            c.close.notify_one();
        }
    }

    fn remove(&mut self, id: u64) -> Option<Connection> {
        let c = self.connections.remove(&id)?;
        self.idle.remove(&(c.idle_since, id));
        if let Some(ids) = self.clients.get_mut(&c.client) {
            ids.retain(|&other| other != id);
            if ids.is_empty() {
                self.clients.remove(&c.client);
            }
        }
        Some(c)
    }
}

/// IPv4-mapped IPv6 addresses are the IPv4 client they stand for.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A connection's place in the table; dropping it frees the slot.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    id: u64,
    close: Arc<Notify>,
}

impl Slot {
    /// A query was read: the connection is busy until [`Slot::answered`].
    pub(crate) fn query_read(&self) {
        let mut guard = self.slots.lock();
        let t = &mut *guard;
        if let Some(c) = t.connections.get_mut(&self.id) {
            if c.busy == 0 {
                t.idle.remove(&(c.idle_since, self.id));
            }
            c.busy += 1;
        }
    }

    /// A query was answered (or needs no answer); with none left, the connection is idle
    /// from `now`.
    pub(crate) fn answered(&self, now: Instant) {
        let mut guard = self.slots.lock();
        let t = &mut *guard;
        if let Some(c) = t.connections.get_mut(&self.id)
            && c.busy > 0
        {
            c.busy -= 1;
            if c.busy == 0 {
                c.idle_since = now;
                t.idle.insert((now, self.id));
            }
        }
    }

    /// Whether a query of this connection is being answered.
    pub(crate) fn busy(&self) -> bool {
        let t = self.slots.lock();
        t.connections.get(&self.id).is_some_and(|c| c.busy > 0)
    }

    /// Tells the connection to close (its answers cannot be written).
    pub(crate) fn close(&self) {
        self.close.notify_one();
    }

    /// Resolves when the connection has been told to close: another needed its slot, or
    /// [`Slot::close`].
    pub(crate) async fn closed(&self) {
        self.close.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::FutureExt;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn was_closed(slot: &Slot) -> bool {
        slot.closed().now_or_never().is_some()
    }

    #[test]
    fn a_full_table_closes_the_connection_idle_longest() {
        let slots = Slots::new(3, 16);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let a = slots.admit(ip(1), at(0)).expect("slot");
        let b = slots.admit(ip(2), at(1)).expect("slot");
        let c = slots.admit(ip(3), at(2)).expect("slot");
        // `a` answers a query, so it was active last; `b` is now the one idle longest.
        a.query_read();
        a.answered(at(5));
        let d = slots.admit(ip(4), at(6)).expect("slot");
        assert!(was_closed(&b), "the connection idle longest is closed");
        assert!(!was_closed(&a) && !was_closed(&c) && !was_closed(&d));
        assert_eq!(slots.len(), 3);
        drop(b);
        assert_eq!(
            slots.len(),
            3,
            "dropping an evicted slot frees nothing twice"
        );
        drop(d);
        assert_eq!(slots.len(), 2);
    }

    #[test]
    fn busy_connections_are_never_closed_for_a_new_one() {
        let slots = Slots::new(2, 16);
        let now = Instant::now();
        let a = slots.admit(ip(1), now).expect("slot");
        let b = slots.admit(ip(2), now).expect("slot");
        a.query_read();
        b.query_read();
        assert!(a.busy());
        assert_eq!(
            slots.admit(ip(3), now).err(),
            Some(Full::Listener),
            "every connection is answering"
        );
        b.answered(now);
        assert!(!b.busy());
        let _c = slots.admit(ip(3), now).expect("b is idle now");
        assert!(was_closed(&b) && !was_closed(&a));
    }

    #[test]
    fn a_client_at_its_cap_replaces_its_own_oldest_connection() {
        let slots = Slots::new(100, 2);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let other = slots.admit(ip(9), at(0)).expect("slot");
        let a1 = slots.admit(ip(1), at(1)).expect("slot");
        let a2 = slots.admit(ip(1), at(2)).expect("slot");
        let a3 = slots.admit(ip(1), at(3)).expect("slot");
        assert!(was_closed(&a1), "the client's own oldest connection goes");
        assert!(!was_closed(&other), "never another client's");
        a2.query_read();
        a3.query_read();
        assert_eq!(slots.admit(ip(1), at(4)).err(), Some(Full::Client));
        // IPv4-mapped IPv6 is the same client.
        let mapped = IpAddr::from(
            "::ffff:127.0.0.1"
                .parse::<std::net::Ipv6Addr>()
                .expect("v6"),
        );
        assert_eq!(slots.admit(mapped, at(5)).err(), Some(Full::Client));
        let _b = slots
            .admit(ip(2), at(6))
            .expect("other clients still get slots");
    }
}
