//! The patron portal of `hedge serve`: the page a redirected browser gets for a blocked
//! name, the "Why is this blocked?" page, and the request-access form.
//!
//! ```text
//! browser ─HTTP(S)─▶ [portal] listen (hyper, one slot each, header/lifetime deadlines)
//!   Host: a blocked name ─▶ ProfileFor(client address) ─▶ Policy::decide ─▶ block page
//!   Host: the portal     ─▶ home page, GET /why?name=…  ─▶ the same explanation
//!   POST /request        ─▶ checks, rate limit per address (hedge_stats::RateLimiter)
//!                           ─▶ RequestStore (blocking thread)
//! ```
//!
//! The decision is the DNS server's own: [`ProfileFor`] reads the snapshot the listeners
//! serve (hedge wires it to `hedge_dns::Server::profiles`), so the page and the DNS answer
//! cannot disagree. Pages are maud templates (compiled into the binary and HTML-escaped by
//! default). This crate binds no DNS sockets and keeps no state but its rate limits.
//!
//! | module | job |
//! |---|---|
//! | `server`, `slots` | sockets, TLS and deadlines; connection slots, in all and per client |
//! | `app` | the routes |
//! | `pages` | the HTML |
//! | `verdict` | a decision in words |
//! | `form`, `store` | the request form's checks; requests kept in the statistics file |
//! | `name`, `reference` | Host headers and typed names; the reference code |
//! | `tls` | the certificate |

#![deny(missing_docs)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hedge_policy::{Policy, ProfileId};
use tokio::task::JoinHandle;

mod app;
mod form;
mod name;
mod pages;
mod reference;
mod server;
mod slots;
pub mod staff;
mod store;
mod tls;
mod verdict;

pub use form::{MAX_CONTACT, MAX_REASON};
pub use store::SqliteRequests;
pub use tls::{TlsError, load_tls};
pub use verdict::{Explained, Verdict, Why, explain};

/// The policy being served and the profile of the listener that serves a client address;
/// None when no listener serves it.
pub type ProfileFor = Arc<dyn Fn(IpAddr) -> Option<(Arc<Policy>, ProfileId)> + Send + Sync>;

/// Where requests for access are kept. `submit` blocks (it writes a database): the portal
/// calls it on a blocking thread.
pub trait RequestStore: Send + Sync + 'static {
    /// Stores one request, or merges it into an open one for the same name and profile.
    fn submit(&self, request: &AccessRequest) -> Result<Receipt, String>;
}

/// A checked request for access. The client's address is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// The name, lowercase.
    pub name: String,
    /// What it is blocked as (a category id, `custom:<list>`, `walled-garden`).
    pub category: String,
    /// The profile that blocks it.
    pub profile: String,
    /// The patron's reason.
    pub reason: String,
    /// The patron's contact, if given (optional personal data).
    pub contact: Option<String>,
}

/// What the store says about a request it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The request's number.
    pub id: i64,
    /// Whether it joined an earlier request for the same name and profile.
    pub merged: bool,
    /// How many times the name has been asked for, this one included.
    pub count: u64,
}

/// How the portal runs.
#[derive(Clone)]
pub struct Settings {
    /// Plain HTTP addresses.
    pub listen: Vec<SocketAddr>,
    /// The portal's own name (`portal.library`): a Host of this name gets the home page.
    pub portal_name: Option<String>,
    /// HTTPS: the certificate, and the port served on each listen address's IP.
    pub tls: Option<(Arc<rustls::ServerConfig>, u16)>,
    /// Limits on connections and requests.
    pub limits: Limits,
    /// What happens to a request, for the confirmation page (`[portal] procedure`).
    pub procedure: String,
}

/// The bounds every connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request body over this many bytes gets 413.
    pub max_body_bytes: usize,
    /// A request's head must arrive within this long, or the connection is closed.
    pub header_timeout: Duration,
    /// A request (head, body and answer) must be done within this long, or it gets 408.
    pub request_timeout: Duration,
    /// No connection lives longer than this, whatever it is doing.
    pub connection_timeout: Duration,
    /// Connections open at once, over all addresses; more are closed at accept.
    pub max_connections: usize,
    /// Connections open at once from one client address; more are closed at accept.
    pub max_connections_per_client: usize,
    /// Requests for access per client address in each `request_window`.
    pub requests_per_client: u32,
    /// The window of `requests_per_client`.
    pub request_window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024,
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            connection_timeout: Duration::from_secs(60),
            max_connections: 512,
            max_connections_per_client: 16,
            requests_per_client: 10,
            request_window: Duration::from_secs(3600),
        }
    }
}

impl Limits {
    /// `requests_per_client` at once, then the rest of the window's share, one at a time.
    fn rate_limit(&self) -> hedge_stats::RateLimit {
        let burst = self.requests_per_client.max(1);
        hedge_stats::RateLimit {
            burst,
            every: self.request_window / burst,
            ..hedge_stats::RateLimit::default()
        }
    }
}

/// The default `procedure`: what the confirmation page says happens next.
pub const DEFAULT_PROCEDURE: &str = "Library staff read every request and decide whether to unblock the site. If they do, it works on this network within a minute of their decision. If you left a contact, they will tell you their answer.";

/// Why the portal could not start.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// An address could not be bound.
    #[error("portal: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A name as the portal compares Host headers with it (lowercase ASCII, no trailing dot);
/// None if it is not a DNS name.
pub fn normalize_name(name: &str) -> Option<String> {
    name::domain(name)
}

/// The address patrons are sent to, for EDE texts and docs: `http://<portal_name>/`, or
/// the first listen address.
pub fn url(portal_name: Option<&str>, listen: &[SocketAddr]) -> Option<String> {
    if let Some(name) = portal_name {
        return Some(format!("http://{name}/"));
    }
    let addr = listen.first()?;
    Some(match (addr.ip(), addr.port()) {
        (IpAddr::V4(ip), 80) => format!("http://{ip}/"),
        (IpAddr::V6(ip), 80) => format!("http://[{ip}]/"),
        (_, _) => format!("http://{addr}/"),
    })
}

/// A running portal.
pub struct Portal {
    tasks: Vec<JoinHandle<()>>,
    bound: Vec<(SocketAddr, bool)>,
}

impl Portal {
    /// Binds every address (and its TLS port) and starts serving. Must be called inside a
    /// tokio runtime.
    pub fn start(
        settings: Settings,
        profiles: ProfileFor,
        store: Option<Arc<dyn RequestStore>>,
    ) -> Result<Portal, PortalError> {
        let app = Arc::new(app::App {
            profiles,
            portal_name: settings.portal_name.clone(),
            procedure: settings.procedure.clone(),
            store,
            limiter: hedge_stats::RateLimiter::new(settings.limits.rate_limit()),
        });
        let router = app::router(app, &settings);
        let slots = slots::Slots::new(
            settings.limits.max_connections,
            settings.limits.max_connections_per_client,
        );
        let mut sockets = Vec::new();
        for &addr in &settings.listen {
            sockets.push((server::bind(addr)?, None));
            if let Some((config, port)) = &settings.tls {
                let tls_addr = SocketAddr::new(addr.ip(), *port);
                let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
                sockets.push((server::bind(tls_addr)?, Some(acceptor)));
            }
        }
        let mut portal = Portal {
            tasks: Vec::new(),
            bound: Vec::new(),
        };
        for (listener, tls) in sockets {
            let addr = listener.local_addr().map_err(|source| PortalError::Bind {
                addr: SocketAddr::from(([0, 0, 0, 0], 0)),
                source,
            })?;
            portal.bound.push((addr, tls.is_some()));
            portal.tasks.push(server::serve(
                listener,
                router.clone(),
                tls,
                settings.limits,
                slots.clone(),
            ));
        }
        Ok(portal)
    }

    /// The bound addresses, each with whether it speaks TLS.
    pub fn bound(&self) -> &[(SocketAddr, bool)] {
        &self.bound
    }

    /// Stops accepting (connections being served finish on their own deadlines).
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
