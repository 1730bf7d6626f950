//! Staff sessions: a random 256-bit token in an HttpOnly, SameSite=Strict cookie, and the
//! CSRF token of every form, an HMAC of the session token.
//!
//! The login form has no session yet: its CSRF token is an HMAC, under a key the server
//! draws at start, of a random pre-session cookie and the token's expiry, so a page of
//! another site can neither read nor forge it (login CSRF would sign the victim in as the
//! attacker).
//!
//! Sessions are kept in memory, by the SHA-256 of their token: the token never reaches
//! disk, a page view writes nothing, and a restart logs everyone out (staff log in again).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// The cookie's name.
pub(crate) const COOKIE: &str = "hedge_staff";

/// The pre-session cookie of the login form.
pub(crate) const LOGIN_COOKIE: &str = "hedge_login";

/// How long a login form stays good.
const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(3600);

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused this long ends.
    pub idle: Duration,
    /// No session lasts longer than this, used or not.
    pub lifetime: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(8 * 3600),
        }
    }
}

struct Session {
    staff: String,
    started: Instant,
    last_seen: Instant,
}

/// The live sessions.
pub(crate) struct Sessions {
    limits: SessionLimits,
    live: Mutex<HashMap<[u8; 32], Session>>,
    /// The key of the login forms' CSRF tokens, drawn at start (a restart voids open forms);
    /// None if the OS had no randomness: then no login form is given or taken.
    login_key: Option<[u8; 32]>,
}

/// A request's session: who, and the token its forms' CSRF tokens derive from.
#[derive(Clone)]
pub(crate) struct Current {
    pub(crate) staff: String,
    token: String,
}

impl Current {
    /// The CSRF token of this session's forms.
    pub(crate) fn csrf(&self) -> String {
        hex(&csrf_mac(self.token.as_bytes(), &[]).finalize().into_bytes())
    }

    /// Whether `sent` is this session's CSRF token (compared in constant time).
    pub(crate) fn csrf_ok(&self, sent: &str) -> bool {
        mac_ok(csrf_mac(self.token.as_bytes(), &[]), sent)
    }
}

/// The HMAC under `key` of what a CSRF token binds (`bound`: nothing for a session's, the
/// pre-session cookie and expiry for a login form's).
fn csrf_mac(key: &[u8], bound: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"hedge staff csrf");
    for part in bound {
        // Length-prefixed, so parts cannot run into each other.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac
}

/// Whether `sent` (hex) is the MAC `mac` would give (compared in constant time).
fn mac_ok(mac: Hmac<Sha256>, sent: &str) -> bool {
    unhex(sent).is_some_and(|bytes| mac.verify_slice(&bytes).is_ok())
}

fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex(&bytes))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A login form's pre-session cookie value and its CSRF token.
pub(crate) struct LoginForm {
    /// The pre-session cookie's value (kept if the browser sent a good one).
    pub(crate) nonce: String,
    /// The form's `csrf` field: `<expiry, unix seconds>.<hex HMAC>`.
    pub(crate) csrf: String,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl Sessions {
    pub(crate) fn new(limits: SessionLimits) -> Sessions {
        Sessions {
            limits,
            live: Mutex::new(HashMap::new()),
            login_key: {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).ok().map(|()| key)
            },
        }
    }

    /// A login form for a browser that sent `headers`: its pre-session cookie (a new one if
    /// it sent none) and a token good for an hour. None if the OS has no randomness to give.
    pub(crate) fn login_form(&self, headers: &HeaderMap) -> Option<LoginForm> {
        let nonce = match cookie_value(headers, LOGIN_COOKIE) {
            Some(n) if unhex(&n).is_some() => n,
            _ => random_hex()?,
        };
        let key = self.login_key.as_ref()?;
        let expiry = (unix_now() + LOGIN_FORM_LIFETIME.as_secs()).to_string();
        let mac = csrf_mac(key, &[nonce.as_bytes(), expiry.as_bytes()]);
        let csrf = format!("{expiry}.{}", hex(&mac.finalize().into_bytes()));
        Some(LoginForm { nonce, csrf })
    }

    /// Whether `sent` is a login form's token, unexpired, for the pre-session cookie in
    /// `headers`.
    pub(crate) fn login_csrf_ok(&self, headers: &HeaderMap, sent: &str) -> bool {
        let (Some(key), Some(nonce)) = (&self.login_key, cookie_value(headers, LOGIN_COOKIE))
        else {
            return false;
        };
        let Some((expiry, mac)) = sent.split_once('.') else {
            return false;
        };
        let live = expiry
            .parse::<u64>()
            .is_ok_and(|e| e > unix_now() && e <= unix_now() + LOGIN_FORM_LIFETIME.as_secs());
        live && mac_ok(csrf_mac(key, &[nonce.as_bytes(), expiry.as_bytes()]), mac)
    }

    /// A new session for `staff`; its token, or None if the OS has no randomness to give.
    pub(crate) fn start(&self, staff: &str) -> Option<String> {
        let token = random_hex()?;
        let now = Instant::now();
        let mut live = self.live.lock();
        // Ended sessions go when a new one starts, so the map stays as small as the staff.
        live.retain(|_, s| self.alive(s, now));
        live.insert(
            key(&token),
            Session {
                staff: staff.to_owned(),
                started: now,
                last_seen: now,
            },
        );
        Some(token)
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last_seen) < self.limits.idle
            && now.duration_since(s.started) < self.limits.lifetime
    }

    /// The live session the request's cookie names, touched; None if none.
    pub(crate) fn current(&self, headers: &HeaderMap) -> Option<Current> {
        let token = cookie_value(headers, COOKIE)?;
        let now = Instant::now();
        let mut live = self.live.lock();
        let k = key(&token);
        let session = live.get_mut(&k)?;
        if !self.alive(session, now) {
            live.remove(&k);
            return None;
        }
        session.last_seen = now;
        Some(Current {
            staff: session.staff.clone(),
            token,
        })
    }

    /// Ends the session of `current`.
    pub(crate) fn end(&self, current: &Current) {
        self.live.lock().remove(&key(&current.token));
    }
}

/// The value of cookie `name` in the request's cookies.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// An `HttpOnly`, `SameSite=Strict` cookie for `path` (`Secure` when the listener speaks
/// TLS), kept for `max_age`, or removed if None.
fn strict_cookie(
    name: &'static str,
    value: &str,
    path: &'static str,
    secure: bool,
    max_age: Option<Duration>,
) -> String {
    let mut c = Cookie::build((name, value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(path)
        .secure(secure)
        .build();
    match max_age {
        Some(age) => c.set_max_age(cookie::time::Duration::seconds(
            i64::try_from(age.as_secs()).unwrap_or(i64::MAX),
        )),
        None => c.make_removal(),
    }
    c.to_string()
}

/// The `Set-Cookie` value of a login form's pre-session cookie: for `/login` only, gone
/// when the form expires.
pub(crate) fn login_cookie(nonce: &str, secure: bool) -> String {
    strict_cookie(
        LOGIN_COOKIE,
        nonce,
        "/login",
        secure,
        Some(LOGIN_FORM_LIFETIME),
    )
}

/// The `Set-Cookie` value of a new session.
pub(crate) fn set_cookie(token: &str, secure: bool, limits: SessionLimits) -> String {
    strict_cookie(COOKIE, token, "/", secure, Some(limits.lifetime))
}

/// The `Set-Cookie` value that deletes the session cookie.
pub(crate) fn clear_cookie(secure: bool) -> String {
    strict_cookie(COOKIE, "", "/", secure, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("other=1; {COOKIE}={token}");
        h.insert(header::COOKIE, v.parse().expect("header"));
        h
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_its_csrf_token_is_bound_to_it() {
        let s = Sessions::new(SessionLimits::default());
        let a = s.start("ana").expect("random");
        let b = s.start("bob").expect("random");
        assert_eq!(a.len(), 64);
        let ca = s.current(&headers(&a)).expect("a");
        let cb = s.current(&headers(&b)).expect("b");
        assert_eq!(ca.staff, "ana");
        assert!(ca.csrf_ok(&ca.csrf()));
        assert!(!ca.csrf_ok(&cb.csrf()), "another session's token");
        assert!(!ca.csrf_ok(""));
        assert!(!ca.csrf_ok(&"0".repeat(64)));
        assert!(s.current(&headers(&"0".repeat(64))).is_none());
        s.end(&ca);
        assert!(s.current(&headers(&a)).is_none());
    }

    #[test]
    fn a_login_token_is_bound_to_its_cookie_and_expires() {
        let s = Sessions::new(SessionLimits::default());
        let form = s.login_form(&HeaderMap::new()).expect("random");
        let mut h = HeaderMap::new();
        let v = format!("{LOGIN_COOKIE}={}", form.nonce);
        h.insert(header::COOKIE, v.parse().expect("header"));
        assert!(s.login_csrf_ok(&h, &form.csrf));
        assert!(!s.login_csrf_ok(&HeaderMap::new(), &form.csrf), "no cookie");
        let other = s.login_form(&HeaderMap::new()).expect("random");
        assert!(!s.login_csrf_ok(&h, &other.csrf), "another cookie's token");
        let (_, mac) = form.csrf.split_once('.').expect("dot");
        let old = unix_now() - 1;
        assert!(!s.login_csrf_ok(&h, &format!("{old}.{mac}")), "expired");
        assert!(!s.login_csrf_ok(&h, ""));
        // Another server (another key) does not take it.
        let t = Sessions::new(SessionLimits::default());
        assert!(!t.login_csrf_ok(&h, &form.csrf));
        // The browser's cookie is kept while it is well formed.
        assert_eq!(s.login_form(&h).expect("random").nonce, form.nonce);
    }

    #[test]
    fn idle_and_old_sessions_end() {
        let s = Sessions::new(SessionLimits {
            idle: Duration::ZERO,
            lifetime: Duration::from_secs(60),
        });
        let t = s.start("ana").expect("random");
        assert!(s.current(&headers(&t)).is_none());
        let s = Sessions::new(SessionLimits {
            idle: Duration::from_secs(60),
            lifetime: Duration::ZERO,
        });
        let t = s.start("ana").expect("random");
        assert!(s.current(&headers(&t)).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_under_tls() {
        let c = set_cookie("abc", true, SessionLimits::default());
        for flag in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Secure",
            "Max-Age=28800",
        ] {
            assert!(c.contains(flag), "{c}");
        }
        assert!(!set_cookie("abc", false, SessionLimits::default()).contains("Secure"));
    }
}
