//! Port 53 for any user: a test binary that may not bind it enters its own user and network
//! namespace before `main`, where it is root of a private loopback.
//!
//! `unshare(CLONE_NEWUSER)` works only in a single-threaded process, and the test harness
//! starts its threads in `main`; so the switch is made from an ELF constructor
//! ([`port_53_for_any_user!`](crate::port_53_for_any_user)), before `main`, in the test
//! process itself: no re-exec, no external binary, and every thread and child process (the
//! `hedge` binary the end-to-end tests start) inherits the namespace. A binary that may
//! already bind port 53 (root, as in CI, or `CAP_NET_BIND_SERVICE`) stays where it is.
//!
//! The outcome is kept so that a fake internet that cannot bind says why and how to run the
//! tests (`how_to_run`); a test never passes without its servers.

// The constructor calls unshare(2) and ioctl(2): no safe wrapper in std or libc.
#![allow(unsafe_code)]

use std::io;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

/// Declares, once per test binary, that its tests may run in their own user and network
/// namespace when the user running them may not bind port 53.
///
/// Expands to an ELF constructor (`.init_array`) that runs before `main`, while the process
/// is still single-threaded. Put it at the top level of each integration test file (or a
/// module every such file includes) whose tests call [`FakeInternet::start_for_test`].
///
/// [`FakeInternet::start_for_test`]: crate::FakeInternet::start_for_test
#[macro_export]
macro_rules! port_53_for_any_user {
    () => {
        #[cfg(target_os = "linux")]
        #[allow(unsafe_code)]
        #[used]
        #[unsafe(link_section = ".init_array")]
        static HEDGE_TESTKIT_ENTER_NAMESPACE: extern "C" fn() = {
            extern "C" fn enter() {
                $crate::netns::enter_if_unprivileged();
            }
            enter
        };
    };
}

/// Where this process's tests run.
#[derive(Debug)]
enum Outcome {
    /// Port 53 could be bound as things were: nothing changed.
    Privileged,
    /// In a new user and network namespace, as its root, with `lo` up.
    Entered,
    /// Port 53 cannot be bound and the namespace could not be set up: why.
    Failed(String),
}

static OUTCOME: OnceLock<Outcome> = OnceLock::new();

/// The address tried to learn whether this process may bind port 53: inside `127.53.0.0/16`
/// like every fake internet, at the top where none of their servers live.
const PROBE: (Ipv4Addr, u16) = (Ipv4Addr::new(127, 53, 255, 254), 53);

/// Called by [`port_53_for_any_user!`](crate::port_53_for_any_user) before `main`. Not for
/// other use: it must run while the process has a single thread. Never panics (a panic
/// here would abort before the harness could report anything); failures are kept for
/// `how_to_run`.
#[doc(hidden)]
pub fn enter_if_unprivileged() {
    let outcome = if may_bind_port_53() {
        Outcome::Privileged
    } else {
        match enter_namespace() {
            Ok(()) if may_bind_port_53() => Outcome::Entered,
            Ok(()) => Outcome::Failed(
                "entered a new user and network namespace, but port 53 is still refused there \
                 (a security module such as AppArmor may restrict unprivileged user namespaces)"
                    .to_owned(),
            ),
            Err(why) => Outcome::Failed(why),
        }
    };
    let _ = OUTCOME.set(outcome);
}

/// Whether binding port 53 on loopback is allowed. The kernel checks the privilege before
/// whether the port is free, so "in use" means allowed.
fn may_bind_port_53() -> bool {
    match UdpSocket::bind(PROBE) {
        Ok(_) => true,
        Err(error) => error.kind() != io::ErrorKind::PermissionDenied,
    }
}

/// Moves this (single-threaded) process into a new user namespace, as its root (mapped to
/// the caller's own uid and gid, the only mapping an unprivileged process may write), and a
/// new network namespace owned by it; then brings its loopback up.
fn enter_namespace() -> Result<(), String> {
    let metadata = std::fs::metadata("/proc/self")
        .map_err(|error| format!("cannot read /proc/self: {error}"))?;
    let (uid, gid) = (
        std::os::unix::fs::MetadataExt::uid(&metadata),
        std::os::unix::fs::MetadataExt::gid(&metadata),
    );
    // SAFETY: unshare(2) takes flags only; it touches no memory of ours.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        let error = io::Error::last_os_error();
        let why = match error.raw_os_error() {
            Some(libc::EPERM) => "unprivileged user namespaces are disabled here",
            Some(libc::ENOSPC) => "user.max_user_namespaces is 0 or used up",
            Some(libc::EINVAL) => "the process already had more than one thread",
            _ => "see unshare(2)",
        };
        return Err(format!(
            "unshare(CLONE_NEWUSER | CLONE_NEWNET) failed with {error}: {why}"
        ));
    }
    // setgroups must be denied before an unprivileged process may write its gid_map.
    for (file, content) in [
        ("/proc/self/setgroups", "deny".to_owned()),
        ("/proc/self/uid_map", format!("0 {uid} 1")),
        ("/proc/self/gid_map", format!("0 {gid} 1")),
    ] {
        std::fs::write(file, content)
            .map_err(|error| format!("in the new user namespace, writing {file}: {error}"))?;
    }
    bring_up_loopback()
        .map_err(|error| format!("in the new network namespace, bringing up lo: {error}"))
}

/// `ip link set lo up`, with the two ioctls it makes.
fn bring_up_loopback() -> io::Result<()> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    // SAFETY: ifreq is plain data (a name and a union of integers and addresses), for which
    // all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: both ioctls read and write one ifreq, which `request` is, for as long as the
    // call lasts; SIOCGIFFLAGS fills `ifru_flags`, which is therefore initialised.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) != 0 {
            return Err(io::Error::last_os_error());
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What to tell someone whose test could not bind port 53: what was tried, why it failed,
/// and how to run the tests.
pub(crate) fn how_to_run() -> String {
    advice(OUTCOME.get())
}

fn advice(outcome: Option<&Outcome>) -> String {
    let tried = match outcome {
        None => "This program does not declare hedge_testkit::port_53_for_any_user!() (a test \
                 binary should), so it cannot enter its own network namespace."
            .to_owned(),
        Some(Outcome::Privileged) => {
            "Port 53 was allowed when this test binary started, but is refused now.".to_owned()
        }
        Some(Outcome::Entered) => {
            "Port 53 is refused even in this test binary's own network namespace.".to_owned()
        }
        Some(Outcome::Failed(why)) => format!(
            "This test binary could not enter its own user and network namespace either: {why}."
        ),
    };
    format!(
        "{tried} The fake internet needs port 53 on loopback. Run the tests as root, or \
         enable unprivileged user namespaces (sysctl user.max_user_namespaces=10000, \
         kernel.unprivileged_userns_clone=1 where it exists, \
         kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu), or let every user bind \
         port 53 (sysctl net.ipv4.ip_unprivileged_port_start=53)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_says_what_was_tried_and_how_to_run_the_tests() {
        let failed = Outcome::Failed("unshare(..) failed: EPERM".to_owned());
        for (outcome, tried) in [
            (
                None,
                "does not declare hedge_testkit::port_53_for_any_user!()",
            ),
            (
                Some(&Outcome::Privileged),
                "was allowed when this test binary started",
            ),
            (
                Some(&Outcome::Entered),
                "even in this test binary's own network namespace",
            ),
            (
                Some(&failed),
                "could not enter its own user and network namespace either: unshare",
            ),
        ] {
            let advice = advice(outcome);
            assert!(advice.contains(tried), "{advice}");
            assert!(advice.contains("Run the tests as root"), "{advice}");
            assert!(advice.contains("user.max_user_namespaces"), "{advice}");
        }
    }
}
