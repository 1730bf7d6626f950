//! The running resolver: binds every listener's sockets, starts their UDP threads and TCP
//! tasks on one [`Shared`] state, and swaps snapshots on a reload.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::config::{Limits, ListenerConfig, UpstreamConfig};
use crate::error::DnsError;
use crate::shared::{LiveProfiles, Shared, Snapshot};
use crate::{tcp, udp};

/// The error for a socket of `proto` that could not be bound to (or served on) `addr`.
fn bind_failed(
    proto: &'static str,
    addr: SocketAddr,
) -> impl Fn(std::io::Error) -> DnsError + Copy {
    move |source| DnsError::Bind {
        proto,
        addr,
        source,
    }
}

/// A running resolver.
pub struct Server {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    udp: Vec<udp::UdpListener>,
    bound: Vec<(usize, &'static str, SocketAddr)>,
}

impl Server {
    /// Binds every listener address (UDP and TCP) and starts serving `snapshot`.
    /// Must be called inside a tokio runtime.
    pub fn start(
        listeners: &[ListenerConfig],
        upstream: &UpstreamConfig,
        limits: Limits,
        snapshot: Snapshot,
    ) -> Result<Server, DnsError> {
        if snapshot.listener_profiles.len() != listeners.len() {
            return Err(DnsError::Config(
                "snapshot does not match the listeners".into(),
            ));
        }
        let allow = listeners.iter().map(|l| l.allow.clone()).collect();
        let shared = Arc::new(Shared::new(allow, upstream, limits, snapshot)?);
        shared.attach_sweeper();
        let mut server = Server {
            shared: shared.clone(),
            tasks: Vec::new(),
            udp: Vec::new(),
            bound: Vec::new(),
        };
        for (i, l) in listeners.iter().enumerate() {
            for &addr in &l.bind {
                if l.udp {
                    let failed = bind_failed("udp", addr);
                    let socket = udp::bind(addr).map_err(failed)?;
                    server
                        .bound
                        .push((i, "udp", socket.local_addr().unwrap_or(addr)));
                    let runtime = tokio::runtime::Handle::current();
                    let started = udp::UdpListener::start(socket, shared.clone(), i, runtime);
                    server.udp.push(started.map_err(failed)?);
                }
                if l.tcp {
                    let socket = tcp::bind(addr).map_err(bind_failed("tcp", addr))?;
                    server
                        .bound
                        .push((i, "tcp", socket.local_addr().unwrap_or(addr)));
                    server
                        .tasks
                        .push(tokio::spawn(tcp::serve(socket, shared.clone(), i)));
                }
            }
        }
        Ok(server)
    }

    /// Swaps in a new snapshot; queries in flight finish on the old one.
    pub fn reload(&self, snapshot: Snapshot) -> Result<(), DnsError> {
        if snapshot.listener_profiles.len() != self.shared.listeners.len() {
            return Err(DnsError::Config("the new configuration has a different number of listeners; restart hedge to change listeners".into()));
        }
        // The counts the cache holds go to the observer they were counted for.
        self.shared.sweep_cached_counts();
        self.shared.replace(snapshot);
        self.shared.attach_sweeper();
        Ok(())
    }

    /// A read handle on the snapshot being served and the listeners' ACLs.
    pub fn profiles(&self) -> LiveProfiles {
        LiveProfiles::new(self.shared.clone())
    }

    /// Bound sockets: (listener index, "udp"/"tcp", address).
    pub fn bound(&self) -> &[(usize, &'static str, SocketAddr)] {
        &self.bound
    }

    /// Answers in the response cache.
    pub fn cache_len(&self) -> usize {
        self.shared.fetcher.cache.len()
    }

    /// Stops every listener.
    pub fn shutdown(self) {
        drop(self.udp);
        for t in self.tasks {
            t.abort();
        }
        // The counts still kept in the packet cache, to the observer: its last write comes
        // after the server is gone, when the sweeper finds nothing to sweep.
        self.shared.sweep_cached_counts();
    }
}
