//! `[portal]`: its checks (for `serve` and `check-config`), and starting it beside the DNS
//! listeners with a read handle on what they serve.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hedge_policy::{BlockAction, Policy};
use hedge_portal::{Limits, Portal, ProfileFor, Settings};

use crate::cli::UsageError;
use crate::config::PortalConfig;

/// A `[portal]` that passed its checks.
pub struct Checked {
    /// What the portal runs with (its certificate loaded).
    pub settings: Settings,
    /// The address EDE texts point to.
    pub url: String,
}

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg))
}

/// Checks `[portal]`: addresses, name, certificate, limits; warns when a `redirect` profile
/// sends blocked names somewhere the portal does not listen.
pub fn check(
    p: &PortalConfig,
    policy: &Policy,
    base_dir: &Path,
    notices: &mut Vec<String>,
) -> anyhow::Result<Checked> {
    if p.listen.is_empty() {
        return Err(bad("key `portal.listen`: give at least one address, e.g. listen = [\"10.20.0.80:80\"] (the `redirect_to` address of your redirect profiles)".into()));
    }
    for (i, a) in p.listen.iter().enumerate() {
        if p.listen[..i].contains(a) {
            return Err(bad(format!("key `portal.listen`: {a} is listed twice")));
        }
    }
    let portal_name = p
        .portal_name
        .as_deref()
        .map(|n| {
            hedge_portal::normalize_name(n).ok_or_else(|| {
                bad(format!("key `portal.portal_name`: `{n}` is not a DNS name; give the name patrons can type, e.g. portal_name = \"portal.library\""))
            })
        })
        .transpose()?;
    let tls = match (&p.tls_cert, &p.tls_key) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(bad(
                "key `portal.tls_key`: `tls_cert` is set, so give the key's PEM file too".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(bad(
                "key `portal.tls_cert`: `tls_key` is set, so give the certificate's PEM file too"
                    .into(),
            ));
        }
        (Some(cert), Some(key)) => {
            let config = hedge_portal::load_tls(&base_dir.join(cert), &base_dir.join(key))
                .map_err(|e| {
                    let key = match e {
                        hedge_portal::TlsError::Cert { .. } => "key `portal.tls_cert`",
                        hedge_portal::TlsError::Key { .. } => "key `portal.tls_key`",
                        hedge_portal::TlsError::Pair(_) => {
                            "keys `portal.tls_cert` and `portal.tls_key`"
                        }
                    };
                    bad(format!("{key}: {e}"))
                })?;
            Some((config, 443))
        }
    };
    let limits = limits(p)?;
    redirect_notices(p, policy, notices);
    let url = hedge_portal::url(portal_name.as_deref(), &p.listen)
        .ok_or_else(|| bad("key `portal.listen`: no address".into()))?;
    Ok(Checked {
        settings: Settings {
            listen: p.listen.clone(),
            portal_name,
            tls,
            limits,
            procedure: hedge_portal::DEFAULT_PROCEDURE.to_string(),
        },
        url,
    })
}

/// The limits, each at least 1 (a zero would refuse every request).
fn limits(p: &PortalConfig) -> anyhow::Result<Limits> {
    let zero = [
        ("header_timeout_ms", p.header_timeout_ms == 0),
        ("request_timeout_ms", p.request_timeout_ms == 0),
        ("connection_timeout_ms", p.connection_timeout_ms == 0),
        ("max_connections", p.max_connections == 0),
        ("requests_per_hour", p.requests_per_hour == 0),
    ]
    .into_iter()
    .find(|(_, zero)| *zero);
    if let Some((key, _)) = zero {
        return Err(bad(format!("key `portal.{key}`: must be at least 1")));
    }
    if p.max_body_bytes < 1024 {
        return Err(bad(format!(
            "key `portal.max_body_bytes`: {} is too small for the request form; give at least 1024",
            p.max_body_bytes
        )));
    }
    Ok(Limits {
        max_body_bytes: p.max_body_bytes,
        header_timeout: Duration::from_millis(p.header_timeout_ms),
        request_timeout: Duration::from_millis(p.request_timeout_ms),
        connection_timeout: Duration::from_millis(p.connection_timeout_ms),
        max_connections: p.max_connections,
        requests_per_client: p.requests_per_hour,
        request_window: Duration::from_secs(3600),
    })
}

/// Warnings for redirect profiles whose addresses the portal does not serve on port 80.
fn redirect_notices(p: &PortalConfig, policy: &Policy, notices: &mut Vec<String>) {
    let serves = |ip: IpAddr| {
        p.listen.iter().any(|l| {
            l.port() == 80
                && (l.ip() == ip || (l.ip().is_unspecified() && l.is_ipv4() == ip.is_ipv4()))
        })
    };
    let mut redirecting = false;
    for profile in policy.profiles() {
        if profile.action != BlockAction::Redirect {
            continue;
        }
        redirecting = true;
        for &ip in &profile.redirect_to {
            if !serves(ip) {
                notices.push(format!(
                    "profile `{}` redirects blocked names to {ip}, but `portal.listen` has no {} port 80: browsers sent there will not find the block page",
                    profile.name,
                    if ip.is_ipv6() { format!("[{ip}]:80, its") } else { format!("{ip}:80, its") }
                ));
            }
        }
    }
    if !redirecting {
        notices.push("[portal] is set but no profile has action = \"redirect\": browsers are never sent to the block page (the \"Why is this blocked?\" page still works)".into());
    }
}

/// Starts the portal on `checked`, deciding with the DNS server's live snapshot.
pub fn start(checked: &Checked, server: &hedge_dns::Server) -> anyhow::Result<Portal> {
    let live = server.profiles();
    let profiles: ProfileFor = Arc::new(move |ip| live.profile_for(ip));
    let portal = Portal::start(checked.settings.clone(), profiles, None)?;
    for (addr, tls) in portal.bound() {
        tracing::info!(
            "portal on {}://{addr}/",
            if *tls { "https" } else { "http" }
        );
    }
    Ok(portal)
}
