//! The staff pages: login, the queue of requests, decisions (grant, deny, local
//! recategorisation) and the audit log, on their own listener (`[portal] staff_listen`,
//! loopback by default), never on the patron addresses.
//!
//! | request | answer |
//! |---|---|
//! | `GET /login`, `POST /login` | the login form; a session cookie (303 to `/`) |
//! | `POST /logout` | ends the session |
//! | `GET /` | the open requests, and the recategorisation form |
//! | `GET /requests/{id}` | one request, with Grant and Deny forms |
//! | `POST /requests/{id}/grant`, `/deny`, `POST /recategorise` | a decision by the signed-in staff member |
//! | `GET /decided`, `GET /audit` | decided requests; the audit log |
//! | `GET /overrides` | the live grants and local recategorisations |
//! | `POST /grants/{id}/revoke`, `POST /recategorisations/clear` | end one of them |
//!
//! Every page but the login needs a session (else 303 to `/login`); every POST but the
//! login needs the session's CSRF token (else 403; see `checked`), and the login needs
//! its form's token, bound to a pre-session cookie (else 403). Decisions go through the statistics
//! store's API, each with its audit entry in one transaction; `hedge serve` applies a
//! grant within a second (its requests watch).

mod checked;
mod handlers;
mod pages;
mod respond;
mod session;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hedge_stats::staff::Lockout;
use tokio::task::JoinHandle;

pub use session::SessionLimits;

use crate::{Limits, PortalError, server, slots};

/// How the staff pages run.
#[derive(Clone)]
pub struct StaffSettings {
    /// Their addresses.
    pub listen: Vec<SocketAddr>,
    /// The certificate, if any: then every staff address speaks HTTPS only, and the
    /// session cookie is `Secure`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The connection and body limits (the portal's).
    pub limits: Limits,
    /// When failed logins lock an account.
    pub lockout: Lockout,
    /// How long sessions last.
    pub sessions: SessionLimits,
    /// The statistics file: accounts, requests, the audit log.
    pub stats_path: PathBuf,
    /// The profiles a grant can name.
    pub profiles: Vec<String>,
    /// The zone of a grant's "until" date.
    pub zone: jiff::tz::TimeZone,
}

/// The running staff listener.
pub struct StaffPortal {
    tasks: Vec<JoinHandle<()>>,
    bound: Vec<SocketAddr>,
}

impl StaffPortal {
    /// Binds every address and starts serving. Must be called inside a tokio runtime.
    pub fn start(settings: StaffSettings) -> Result<StaffPortal, PortalError> {
        let limits = settings.limits;
        let router = handlers::router(settings.clone());
        let slots = slots::Slots::new(limits.max_connections, limits.max_connections_per_client);
        let mut portal = StaffPortal {
            tasks: Vec::new(),
            bound: Vec::new(),
        };
        for &addr in &settings.listen {
            let listener = server::bind(addr)?;
            let local = listener
                .local_addr()
                .map_err(|source| PortalError::Bind { addr, source })?;
            portal.bound.push(local);
            portal.tasks.push(server::serve(
                listener,
                router.clone(),
                settings.tls.clone().map(tokio_rustls::TlsAcceptor::from),
                limits,
                slots.clone(),
            ));
        }
        Ok(portal)
    }

    /// The bound addresses.
    pub fn bound(&self) -> &[SocketAddr] {
        &self.bound
    }
}

impl Drop for StaffPortal {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What the handlers share.
pub(crate) struct Staff {
    settings: StaffSettings,
    sessions: session::Sessions,
    /// Login attempts per client address: each costs an argon2 hash (19 MiB, tens of
    /// milliseconds), whatever the name.
    logins: hedge_stats::RateLimiter,
    store: parking_lot::Mutex<Option<hedge_stats::SqliteStore>>,
}

impl Staff {
    /// Runs `f` on the store (opened on first use) on a blocking thread; a failed call
    /// drops the connection so the next one opens afresh.
    async fn with_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut hedge_stats::SqliteStore) -> Result<T, hedge_stats::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let me = self.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut guard = me.store.lock();
            if guard.is_none() {
                *guard = Some(
                    hedge_stats::SqliteStore::open(&me.settings.stats_path)
                        .map_err(StoreError::Failed)?,
                );
            }
            let Some(store) = guard.as_mut() else {
                return Err(StoreError::Unavailable);
            };
            match f(store) {
                Ok(v) => Ok(v),
                Err(
                    e @ (hedge_stats::Error::Invalid(_)
                    | hedge_stats::Error::NoSuchRequest(_)
                    | hedge_stats::Error::NoSuchGrant(_)
                    | hedge_stats::Error::NotOpen { .. }),
                ) => Err(StoreError::Refused(e.to_string())),
                Err(e) => {
                    *guard = None;
                    Err(StoreError::Failed(e))
                }
            }
        })
        .await;
        joined.unwrap_or(Err(StoreError::Unavailable))
    }
}

/// Why a store call failed.
pub(crate) enum StoreError {
    /// Bad input or a decision that cannot be made: shown to the staff member.
    Refused(String),
    /// The file failed.
    Failed(hedge_stats::Error),
    /// The blocking thread failed.
    Unavailable,
}
