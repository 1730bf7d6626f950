//! `[portal] staff_listen` and its keys: checked for `serve` and `check-config`, and the
//! staff pages started beside the patron portal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hedge_dns::ListenerConfig;
use hedge_policy::Policy;
use hedge_portal::staff::{SessionLimits, StaffPortal, StaffSettings};
use hedge_stats::staff::Lockout;

use crate::cli::UsageError;
use crate::portal::PortalConfig;

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg))
}

/// The staff pages of a checked configuration: None without `[portal]` or with an empty
/// `staff_listen`. (Called by `serve` and `check-config` after `config::check`, so that
/// `config` does not import this module.)
pub fn check_config(
    loaded: &crate::config::Loaded,
    checked: &crate::config::Checked,
) -> anyhow::Result<Option<StaffSettings>> {
    let c = &loaded.config;
    match &c.portal {
        Some(p) if !p.staff_listen.is_empty() => Ok(Some(check(
            p,
            &c.listeners,
            &checked.policy,
            crate::config::time_zone(c.timezone.as_deref())?,
            loaded.stats_path(),
            checked.portal.as_ref().map(|p| &p.settings),
        )?)),
        _ => Ok(None),
    }
}

/// Checks the staff keys. A staff address must not be a patron address, and must not be
/// reachable from a listener's clients (inside an `allow` subnet, or a wildcard) unless
/// `staff_allow_from_clients = true`; loopback addresses are reachable from this machine
/// only.
fn check(
    p: &PortalConfig,
    listeners: &[ListenerConfig],
    policy: &Policy,
    zone: jiff::tz::TimeZone,
    stats_path: PathBuf,
    patron: Option<&hedge_portal::Settings>,
) -> anyhow::Result<StaffSettings> {
    // The patron portal's certificate, if it has one, serves the staff pages too.
    let tls = patron
        .and_then(|s| s.tls.as_ref())
        .map(|(config, _)| config.clone());
    for (i, a) in p.staff_listen.iter().enumerate() {
        if p.staff_listen[..i].contains(a) {
            return Err(bad(format!(
                "key `portal.staff_listen`: {a} is listed twice"
            )));
        }
        if p.listen.iter().any(|l| same_socket(*l, *a)) {
            return Err(bad(format!(
                "key `portal.staff_listen`: {a} is also in `portal.listen`; staff pages never share the patrons' addresses, so give another address or port"
            )));
        }
        if !p.staff_allow_from_clients
            && let Some(why) = reachable_by_clients(*a, listeners)
        {
            return Err(bad(format!(
                "key `portal.staff_listen`: {a} {why}, so patrons could reach the staff login; use a loopback or management address, or set `staff_allow_from_clients = true` if that is intended"
            )));
        }
    }
    let zero = [
        ("staff_max_failed_logins", p.staff_max_failed_logins == 0),
        ("staff_lockout_minutes", p.staff_lockout_minutes == 0),
        (
            "staff_session_idle_minutes",
            p.staff_session_idle_minutes == 0,
        ),
        ("staff_session_hours", p.staff_session_hours == 0),
    ];
    if let Some((key, _)) = zero.into_iter().find(|(_, z)| *z) {
        return Err(bad(format!("key `portal.{key}`: must be at least 1")));
    }
    Ok(StaffSettings {
        listen: p.staff_listen.clone(),
        tls,
        limits: crate::portal::limits(p)?,
        lockout: Lockout {
            max_failures: p.staff_max_failed_logins,
            lock_for: Duration::from_secs(p.staff_lockout_minutes.saturating_mul(60)),
        },
        sessions: SessionLimits {
            idle: Duration::from_secs(p.staff_session_idle_minutes.saturating_mul(60)),
            lifetime: Duration::from_secs(p.staff_session_hours.saturating_mul(3600)),
        },
        stats_path,
        profiles: policy.profiles().iter().map(|p| p.name.clone()).collect(),
        zone,
    })
}

fn same_socket(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// Why clients of a listener could reach `addr`; None if they cannot.
fn reachable_by_clients(addr: SocketAddr, listeners: &[ListenerConfig]) -> Option<String> {
    let ip = addr.ip();
    if ip.is_loopback() {
        return None;
    }
    if ip.is_unspecified() {
        return Some("listens on every address".into());
    }
    listeners.iter().find_map(|l| {
        l.allow
            .iter()
            .find(|net| net.contains(&ip))
            .map(|net| format!("is inside {net}, which listener `{}` serves", l.profile))
    })
}

/// Starts the staff pages.
pub fn start(settings: &StaffSettings) -> anyhow::Result<StaffPortal> {
    let staff = StaffPortal::start(settings.clone())?;
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    for addr in staff.bound() {
        tracing::info!("staff pages on {scheme}://{addr}/");
    }
    Ok(staff)
}

#[cfg(test)]
mod tests {
    use crate::config;

    const BASE: &str = "[[profile]]\nname = \"child\"\n\
        [[listener]]\nprofile = \"child\"\nbind = [\"127.0.0.1:5353\"]\nallow = [\"127.0.0.0/8\", \"10.20.0.0/16\"]\n";

    fn check(portal: &str) -> anyhow::Result<Option<hedge_portal::staff::StaffSettings>> {
        let loaded = config::parse(&format!("{BASE}[portal]\n{portal}"), "test", None)?;
        let checked = config::check(&loaded)?;
        super::check_config(&loaded, &checked)
    }

    #[test]
    fn by_default_the_staff_pages_are_on_loopback_with_the_lockout() {
        let c = check("listen = [\"10.20.0.80:80\"]\n").expect("ok");
        let staff = c.expect("staff pages");
        assert_eq!(staff.listen, ["127.0.0.1:8081".parse().expect("addr")]);
        assert_eq!(staff.lockout.max_failures, 5);
        assert_eq!(staff.lockout.lock_for.as_secs(), 15 * 60);
        assert_eq!(staff.profiles, ["child"]);
        let c = check("listen = [\"10.20.0.80:80\"]\nstaff_listen = []\n").expect("ok");
        assert!(c.is_none());
    }

    #[test]
    fn a_staff_address_clients_can_reach_is_refused_unless_allowed() {
        for (portal, says) in [
            (
                "staff_listen = [\"10.20.0.9:8081\"]\n",
                "inside 10.20.0.0/16",
            ),
            ("staff_listen = [\"0.0.0.0:8081\"]\n", "every address"),
            (
                "staff_listen = [\"10.20.0.80:80\"]\n",
                "also in `portal.listen`",
            ),
            ("staff_max_failed_logins = 0\n", "staff_max_failed_logins"),
            ("staff_session_hours = 0\n", "staff_session_hours"),
        ] {
            let e = match check(&format!("listen = [\"10.20.0.80:80\"]\n{portal}")) {
                Ok(_) => panic!("accepted: {portal}"),
                Err(e) => e.to_string(),
            };
            assert!(
                e.contains("key `portal.staff_") && e.contains(says),
                "{portal}: {e}"
            );
        }
        let c = check(
            "listen = [\"10.20.0.80:80\"]\nstaff_listen = [\"10.20.0.9:8081\"]\nstaff_allow_from_clients = true\n",
        )
        .expect("explicitly allowed");
        assert!(c.is_some());
        // A management address no listener serves is fine.
        check("listen = [\"10.20.0.80:80\"]\nstaff_listen = [\"10.99.0.1:8081\"]\n").expect("ok");
    }
}
