//! `[portal]`: its checks (for `serve` and `check-config`), and starting it beside the DNS
//! listeners with a read handle on what they serve.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hedge_dns::PortalName;
use hedge_policy::{BlockAction, Policy};
use hedge_portal::{Limits, Portal, ProfileFor, RequestStore, Settings, SqliteRequests};
use serde::Deserialize;

use crate::cli::UsageError;

/// `[portal]`: the web pages patrons see (crates/portal, docs/portal.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// HTTP addresses, e.g. `["10.20.0.80:80"]`: the `redirect_to` addresses of `redirect`
    /// profiles, so a blocked name's browser lands here. Empty (the default): no web pages.
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    /// The portal's own name (`portal.library`), for links and EDE texts; a request for it
    /// gets the home page.
    #[serde(default)]
    pub portal_name: Option<String>,
    /// PEM certificate chain, relative to this file: with `tls_key`, HTTPS on port
    /// `tls_port` of every `listen` address's IP.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`, relative to this file.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// The HTTPS port on each `listen` address's IP (default 443); needs `tls_cert`.
    #[serde(default)]
    pub tls_port: Option<u16>,
    /// Largest request body, in bytes (default 16384); larger gets 413.
    #[serde(default = "default_portal_body")]
    pub max_body_bytes: usize,
    /// A request's headers must arrive within this long (milliseconds, default 5000).
    #[serde(default = "default_portal_header_ms")]
    pub header_timeout_ms: u64,
    /// A request must be read and answered within this long (milliseconds, default 10000).
    #[serde(default = "default_portal_request_ms")]
    pub request_timeout_ms: u64,
    /// No connection is kept longer than this (milliseconds, default 60000).
    #[serde(default = "default_portal_connection_ms")]
    pub connection_timeout_ms: u64,
    /// Connections open at once (default 512); more are closed at once.
    #[serde(default = "default_portal_connections")]
    pub max_connections: usize,
    /// Connections open at once from one client address (default 16).
    #[serde(default = "default_portal_client_connections")]
    pub max_connections_per_client: usize,
    /// Access requests per client address per hour (default 10); the address is kept in
    /// memory for the hour, never stored.
    #[serde(default = "default_portal_requests")]
    pub requests_per_hour: u32,
    /// How to ask for a blocked site (FOI Q5), as `hedge policy show` prints it and the
    /// request form's confirmation page says.
    #[serde(default)]
    pub procedure: Option<String>,
    /// The staff pages' addresses (default `["127.0.0.1:8081"]`); never the patron ones.
    #[serde(default = "default_staff_listen")]
    pub staff_listen: Vec<SocketAddr>,
    /// Allow a `staff_listen` address that clients of a listener can reach (default false).
    #[serde(default)]
    pub staff_allow_from_clients: bool,
    /// Failed logins in a row that lock a staff account (default 5).
    #[serde(default = "default_staff_failures")]
    pub staff_max_failed_logins: u32,
    /// How long a locked staff account stays locked, in minutes (default 15).
    #[serde(default = "default_staff_lockout")]
    pub staff_lockout_minutes: u64,
    /// A staff session unused this long ends, in minutes (default 30).
    #[serde(default = "default_staff_idle")]
    pub staff_session_idle_minutes: u64,
    /// No staff session lasts longer, in hours (default 8).
    #[serde(default = "default_staff_hours")]
    pub staff_session_hours: u64,
}

fn default_staff_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 8081))]
}
fn default_staff_failures() -> u32 {
    5
}
fn default_staff_lockout() -> u64 {
    15
}
fn default_staff_idle() -> u64 {
    30
}
fn default_staff_hours() -> u64 {
    8
}

fn default_portal_body() -> usize {
    16 * 1024
}
fn default_portal_header_ms() -> u64 {
    5000
}
fn default_portal_request_ms() -> u64 {
    10_000
}
fn default_portal_connection_ms() -> u64 {
    60_000
}
fn default_portal_connections() -> usize {
    512
}
fn default_portal_client_connections() -> usize {
    16
}
fn default_portal_requests() -> u32 {
    10
}

/// A `[portal]` that passed its checks.
#[derive(Clone)]
pub struct Checked {
    /// What the portal runs with (its certificate loaded).
    pub settings: Settings,
    /// The address EDE texts point to.
    pub url: String,
    /// `portal_name` and the `listen` addresses, answered by every DNS listener.
    pub dns_name: Option<Arc<PortalName>>,
}

/// Points the DNS side at the portal: block EDE texts name its address, and every
/// listener answers its name.
pub fn point_dns(portal: Option<&Checked>, snapshot: &mut hedge_dns::Snapshot) {
    snapshot.portal_url = portal.map(|p| p.url.clone());
    snapshot.portal_name = portal.and_then(|p| p.dns_name.clone());
}

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg))
}

/// Checks a `[portal]` with `listen` addresses: addresses, name, certificate, limits; warns when a `redirect` profile
/// sends blocked names somewhere the portal does not listen.
pub fn check(
    p: &PortalConfig,
    policy: &Policy,
    base_dir: &Path,
    notices: &mut Vec<String>,
) -> anyhow::Result<Checked> {
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
            Some((config, tls_port(p)?))
        }
    };
    if tls.is_none() && p.tls_port.is_some() {
        return Err(bad(
            "key `portal.tls_port`: HTTPS needs `tls_cert` and `tls_key`; give them, or remove `tls_port`".into(),
        ));
    }
    let limits = limits(p)?;
    redirect_notices(p, policy, notices);
    let url = hedge_portal::url(portal_name.as_deref(), &p.listen)
        .ok_or_else(|| bad("key `portal.listen`: no address".into()))?;
    let dns_name = portal_name
        .as_deref()
        .map(|n| Arc::new(PortalName::new(n, p.listen.iter().map(SocketAddr::ip))));
    if let Some(n) = &portal_name
        && p.listen.iter().all(|a| a.ip().is_unspecified())
    {
        notices.push(format!(
            "key `portal.listen`: every address is unspecified (0.0.0.0 or ::), so DNS answers `{n}` with no address; list the portal's own addresses to make its name resolve"
        ));
    }
    Ok(Checked {
        dns_name,
        settings: Settings {
            listen: p.listen.clone(),
            portal_name,
            tls,
            limits,
            procedure: p
                .procedure
                .clone()
                .unwrap_or_else(|| hedge_portal::DEFAULT_PROCEDURE.to_string()),
        },
        url,
    })
}

/// The HTTPS port: `tls_port` (default 443), not 0 and not a port `listen` already serves
/// plain HTTP on at the same IP.
fn tls_port(p: &PortalConfig) -> anyhow::Result<u16> {
    let port = p.tls_port.unwrap_or(443);
    if port == 0 {
        return Err(bad(
            "key `portal.tls_port`: 0 is not a port; give the HTTPS port, e.g. tls_port = 8443"
                .into(),
        ));
    }
    if let Some(a) = p.listen.iter().find(|a| a.port() == port) {
        return Err(bad(format!(
            "key `portal.tls_port`: {port} is also the plain HTTP port of `portal.listen` {a}; give another port"
        )));
    }
    Ok(port)
}

/// The limits, each at least 1 (a zero would refuse every request).
pub(crate) fn limits(p: &PortalConfig) -> anyhow::Result<Limits> {
    let zero = [
        ("header_timeout_ms", p.header_timeout_ms == 0),
        ("request_timeout_ms", p.request_timeout_ms == 0),
        ("connection_timeout_ms", p.connection_timeout_ms == 0),
        ("max_connections", p.max_connections == 0),
        (
            "max_connections_per_client",
            p.max_connections_per_client == 0,
        ),
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
        max_connections_per_client: p.max_connections_per_client,
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
                    "profile `{}` redirects blocked names to {ip}, but `portal.listen` has no {}: browsers sent there will not find the block page",
                    profile.name,
                    std::net::SocketAddr::new(ip, 80)
                ));
            }
        }
    }
    if !redirecting {
        notices.push("[portal] is set but no profile has action = \"redirect\": browsers are never sent to the block page (the \"Why is this blocked?\" page still works)".into());
    }
}

/// Starts the portal on `checked`, deciding with the DNS server's live snapshot (schedules,
/// grants and reloads included) and keeping requests in the statistics file `stats_path`.
pub fn start(
    checked: &Checked,
    server: &hedge_dns::Server,
    stats_path: PathBuf,
) -> anyhow::Result<Portal> {
    let live = server.profiles();
    let profiles: ProfileFor = Arc::new(move |ip| live.profile_for(ip));
    let store: Arc<dyn RequestStore> = Arc::new(SqliteRequests::new(stats_path));
    let portal = Portal::start(checked.settings.clone(), profiles, Some(store))?;
    for (addr, tls) in portal.bound() {
        tracing::info!(
            "portal on {}://{addr}/",
            if *tls { "https" } else { "http" }
        );
    }
    Ok(portal)
}

#[cfg(test)]
mod tests {
    use crate::config;

    const BASE: &str = "[[profile]]\nname = \"child\"\naction = \"redirect\"\nredirect_to = [\"10.20.0.80\"]\n\
        [[listener]]\nprofile = \"child\"\nbind = [\"127.0.0.1:5353\"]\nallow = [\"127.0.0.0/8\"]\n";

    fn check(portal: &str) -> anyhow::Result<config::Checked> {
        let loaded = config::parse(&format!("{BASE}[portal]\n{portal}"), "test", None)?;
        config::check(&loaded)
    }

    fn refused(portal: &str) -> String {
        match check(portal) {
            Ok(_) => panic!("accepted: {portal}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_good_portal_gives_the_url_edes_point_to() {
        let c =
            check("listen = [\"10.20.0.80:80\"]\nportal_name = \"Portal.Library.\"\n").expect("ok");
        let portal = c.portal.as_ref().expect("portal");
        assert_eq!(portal.url, "http://portal.library/");
        assert_eq!(
            portal.settings.portal_name.as_deref(),
            Some("portal.library")
        );
        assert!(
            c.notices.iter().all(|n| !n.contains("portal")),
            "{:?}",
            c.notices
        );
        let snapshot = c.snapshot(None);
        assert_eq!(
            snapshot.portal_url.as_deref(),
            Some("http://portal.library/")
        );
        let c = check("listen = [\"[fd00::80]:8080\"]\n").expect("ok");
        assert_eq!(c.portal.expect("portal").url, "http://[fd00::80]:8080/");
        // A name DNS could only answer with a wildcard address is warned about.
        let c = check("listen = [\"0.0.0.0:80\"]\nportal_name = \"portal.library\"\n").expect("ok");
        assert!(
            c.notices
                .iter()
                .any(|n| n.contains("DNS answers `portal.library` with no address")),
            "{:?}",
            c.notices
        );
    }

    #[test]
    fn each_bad_key_is_named() {
        for (portal, key) in [
            (
                "listen = [\"10.20.0.80:80\", \"10.20.0.80:80\"]\n",
                "key `portal.listen`",
            ),
            (
                "listen = [\"10.20.0.80:80\"]\nportal_name = \"not a name\"\n",
                "key `portal.portal_name`",
            ),
            (
                "listen = [\"10.20.0.80:80\"]\ntls_cert = \"c.pem\"\n",
                "key `portal.tls_key`",
            ),
            (
                "listen = [\"10.20.0.80:80\"]\ntls_key = \"k.pem\"\n",
                "key `portal.tls_cert`",
            ),
            (
                "listen = [\"10.20.0.80:80\"]\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"\n",
                "key `portal.tls_cert`: /nonexistent/c.pem",
            ),
            (
                "listen = [\"10.20.0.80:80\"]\nmax_connections = 0\n",
                "key `portal.max_connections`",
            ),
            (
                "listen = [\"10.20.0.80:80\"]\nheader_timeout_ms = 0\n",
                "key `portal.header_timeout_ms`",
            ),
            (
                "listen = [\"10.20.0.80:80\"]\nmax_body_bytes = 10\n",
                "key `portal.max_body_bytes`",
            ),
            ("listen = [\"10.20.0.80:80\"]\nlisten_on = 1\n", "listen_on"),
            (
                "listen = [\"10.20.0.80:80\"]\ntls_port = 8443\n",
                "key `portal.tls_port`: HTTPS needs `tls_cert`",
            ),
            ("listen = [\"10.20.0.80:80\"]\ntls_port = -1\n", "tls_port"),
        ] {
            let e = refused(portal);
            assert!(e.contains(key), "{portal:?}: {e}");
        }
    }

    #[test]
    fn the_https_port_is_443_or_tls_port_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["portal.library".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.pem()).expect("write");
        std::fs::write(&k, key.serialize_pem()).expect("write");
        let tls = format!(
            "listen = [\"10.20.0.80:80\"]\ntls_cert = {:?}\ntls_key = {:?}\n",
            c.display().to_string(),
            k.display().to_string()
        );
        let port = |extra: &str| {
            let c = check(&format!("{tls}{extra}")).expect("ok");
            c.portal.expect("portal").settings.tls.expect("tls").1
        };
        assert_eq!(port(""), 443);
        assert_eq!(port("tls_port = 8443\n"), 8443);
        for (extra, why) in [
            ("tls_port = 0\n", "key `portal.tls_port`: 0 is not a port"),
            (
                "tls_port = 80\n",
                "key `portal.tls_port`: 80 is also the plain HTTP port of `portal.listen` 10.20.0.80:80",
            ),
        ] {
            let e = refused(&format!("{tls}{extra}"));
            assert!(e.contains(why), "{extra}: {e}");
        }
    }

    #[test]
    fn a_redirect_the_portal_does_not_serve_is_warned_about() {
        let c = check("listen = [\"10.20.0.81:80\", \"10.20.0.80:8080\"]\n").expect("ok");
        assert!(
            c.notices.iter().any(|n| n
                .contains("profile `child` redirects blocked names to 10.20.0.80")
                && n.contains("10.20.0.80:80")),
            "{:?}",
            c.notices
        );
        let loaded = config::parse(
            "[[profile]]\nname = \"p\"\n[[listener]]\nprofile = \"p\"\nbind = [\"127.0.0.1:5353\"]\nallow = [\"127.0.0.0/8\"]\n[portal]\nlisten = [\"10.20.0.80:80\"]\n",
            "test",
            None,
        )
        .expect("parse");
        let c = config::check(&loaded).expect("ok");
        assert!(
            c.notices
                .iter()
                .any(|n| n.contains("no profile has action = \"redirect\"")),
            "{:?}",
            c.notices
        );
    }
}
