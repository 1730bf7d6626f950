//! The staff pages over real sockets: login and lockout, sessions and their cookie, CSRF,
//! escaping, limits, and decisions reaching the statistics file with their audit entries.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hedge_portal::staff::{SessionLimits, StaffPortal, StaffSettings};
use hedge_portal::{Limits, Portal, ProfileFor, Settings};
use hedge_stats::staff::Lockout;
use hedge_stats::{NewRequest, RequestStatus, SqliteStore};

const PASSWORD: &str = "a long staff password";
const XSS: &str = "<script>alert(1)</script>";

struct Running {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    staff: StaffPortal,
}

impl Running {
    fn start(limits: Limits) -> Running {
        Running::start_with(limits, None)
    }

    fn start_with(limits: Limits, tls: Option<Arc<rustls::ServerConfig>>) -> Running {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("stats.sqlite");
        let mut store = SqliteStore::open(&db).expect("store");
        let now = jiff::Timestamp::now();
        store.add_staff("sam", PASSWORD, "root", now).expect("add");
        store
            .submit_request(
                &NewRequest {
                    name: "games.example".into(),
                    category: Some(format!("games{XSS}")),
                    profile: "child".into(),
                    reason: format!("homework {XSS}"),
                    contact: None,
                },
                now,
            )
            .expect("submit");
        let settings = StaffSettings {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            tls,
            limits,
            lockout: Lockout {
                max_failures: 3,
                lock_for: Duration::from_secs(600),
            },
            sessions: SessionLimits::default(),
            stats_path: db.clone(),
            profiles: vec!["child".into(), "adult".into()],
            zone: jiff::tz::TimeZone::UTC,
        };
        let staff = StaffPortal::start(settings).expect("start");
        Running {
            _dir: dir,
            db,
            staff,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.staff.bound()[0]
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db).expect("store")
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A login form: its pre-session cookie's `name=value`, and its CSRF token.
async fn login_form(c: &reqwest::Client, base: &str) -> (String, String) {
    let resp = c
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET /login");
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    (cookie, csrf(&resp.text().await.expect("body")))
}

/// Logs in as sam through the login form; the session cookie's `name=value` and the full
/// `Set-Cookie`.
async fn login(r: &Running, password: &str) -> (u16, Option<(String, String)>) {
    let (cookie, token) = login_form(&client(), &r.url("")).await;
    let resp = client()
        .post(r.url("/login"))
        .header("cookie", cookie)
        .form(&[("name", "sam"), ("password", password), ("csrf", &token)])
        .send()
        .await
        .expect("POST /login");
    let status = resp.status().as_u16();
    // The session's cookie only (a refused login gets a fresh login form and its cookie).
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|full| full.starts_with("hedge_staff="))
        .map(|full| {
            let pair = full.split(';').next().unwrap_or("").to_owned();
            (pair, full.to_owned())
        });
    (status, cookie)
}

async fn get(r: &Running, cookie: &str, path: &str) -> (u16, String) {
    let resp = client()
        .get(r.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("GET");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

async fn post(r: &Running, cookie: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let resp = client()
        .post(r.url(path))
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    let len = page[at..].find('"').expect("the value's end");
    page[at..at + len].to_owned()
}

fn open_request_id(r: &Running) -> i64 {
    r.store()
        .list_requests(&hedge_stats::RequestFilter::default())
        .expect("list")[0]
        .id
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_even_against_the_right_one() {
    let r = Running::start(Limits::default());
    for _ in 0..2 {
        assert_eq!(login(&r, "wrong password!").await.0, 401);
    }
    let (status, cookie) = login(&r, "wrong password!").await;
    assert_eq!(status, 429);
    assert!(cookie.is_none());
    let (status, cookie) = login(&r, PASSWORD).await;
    assert_eq!(status, 429, "locked: the right password is refused too");
    assert!(cookie.is_none());
    let log = r.store().audit_log(None, 100).expect("audit");
    assert!(log.iter().any(|e| e.action == "staff-locked"), "{log:?}");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_pages_need_it() {
    let r = Running::start(Limits::default());
    // Without a session: the login form.
    let resp = client().get(r.url("/")).send().await.expect("GET");
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/login");
    let (status, cookie) = login(&r, PASSWORD).await;
    assert_eq!(status, 303);
    let (pair, full) = cookie.expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(full.contains(flag), "{full}");
    }
    assert!(!full.contains("Secure"), "plain HTTP: {full}");
    let token = pair.split('=').nth(1).expect("value");
    assert_eq!(token.len(), 64, "256 bits in hex: {pair}");
    let (status, page) = get(&r, &pair, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("games.example"), "{page}");
    // A made-up session is no session.
    let (status, _) = get(&r, &format!("hedge_staff={}", "0".repeat(64)), "/").await;
    assert_eq!(status, 303);
    // Logout ends it.
    let token = csrf(&page);
    assert_eq!(post(&r, &pair, "/logout", &[("csrf", &token)]).await.0, 303);
    assert_eq!(get(&r, &pair, "/").await.0, 303);
}

#[tokio::test]
async fn a_missing_or_wrong_csrf_token_gets_403_and_changes_nothing() {
    let r = Running::start(Limits::default());
    let (pair, _) = login(&r, PASSWORD).await.1.expect("cookie");
    let (other, _) = login(&r, PASSWORD).await.1.expect("cookie");
    let id = open_request_id(&r);
    let other_token = csrf(&get(&r, &other, "/").await.1);
    let grant = format!("/requests/{id}/grant");
    for fields in [
        vec![("profile", "child")],
        vec![("profile", "child"), ("csrf", "")],
        vec![("profile", "child"), ("csrf", "0123")],
        vec![("profile", "child"), ("csrf", other_token.as_str())],
    ] {
        let (status, _) = post(&r, &pair, &grant, &fields).await;
        assert_eq!(status, 403, "{fields:?}");
    }
    // Without a session at all, too.
    let (status, _) = post(&r, "", &grant, &[("profile", "child")]).await;
    assert_eq!(status, 403);
    let request = r.store().request(id).expect("request");
    assert_eq!(request.status, RequestStatus::Open);
}

#[tokio::test]
async fn grant_and_deny_are_recorded_with_the_staff_member_and_payloads_come_back_escaped() {
    let r = Running::start(Limits::default());
    let (pair, _) = login(&r, PASSWORD).await.1.expect("cookie");
    let id = open_request_id(&r);
    let (status, page) = get(&r, &pair, &format!("/requests/{id}")).await;
    assert_eq!(status, 200);
    assert!(!page.contains(XSS), "raw payload on the request page");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    let token = csrf(&page);
    // A deny needs its note.
    let deny = format!("/requests/{id}/deny");
    let (status, _) = post(&r, &pair, &deny, &[("csrf", &token), ("note", " ")]).await;
    assert_eq!(status, 422);
    let grant = format!("/requests/{id}/grant");
    let note = format!("term project {XSS}");
    let fields = [
        ("csrf", token.as_str()),
        ("profile", "child"),
        ("profile", "adult"),
        ("until", "2099-01-31"),
        ("note", note.as_str()),
    ];
    assert_eq!(post(&r, &pair, &grant, &fields).await.0, 303);
    let granted = r.store().request(id).expect("request");
    assert_eq!(granted.status, RequestStatus::Granted);
    assert_eq!(granted.decided_by.as_deref(), Some("sam"));
    let overrides = r
        .store()
        .active_overrides(jiff::Timestamp::now())
        .expect("overrides");
    assert_eq!(overrides.grants.len(), 2, "{overrides:?}");
    for path in ["/decided", "/audit", &format!("/requests/{id}")] {
        let (status, page) = get(&r, &pair, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!page.contains(XSS), "{path}: raw payload");
        assert!(
            page.contains("term project &lt;script&gt;"),
            "{path}: {page}"
        );
    }
    // A recategorisation, by the same staff member.
    let fields = [
        ("csrf", token.as_str()),
        ("name", "chess.example"),
        ("category", "games"),
        ("into", "no"),
    ];
    assert_eq!(post(&r, &pair, "/recategorise", &fields).await.0, 303);
    let log = r.store().audit_log(None, 100).expect("audit");
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    assert!(actions.contains(&("sam", "grant")), "{actions:?}");
    assert!(actions.contains(&("sam", "recategorise")), "{actions:?}");
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let r = Running::start(Limits::default());
    let big = "a".repeat(64 * 1024);
    let resp = client()
        .post(r.url("/login"))
        .form(&[("name", "sam"), ("password", big.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 413);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_sending_a_byte_a_second_is_cut_off() {
    let r = Running::start(Limits {
        header_timeout: Duration::from_secs(2),
        ..Limits::default()
    });
    let cut = support::slow_client(r.addr(), b"GET /login HTTP/1.1\r\n", b"X").await;
    assert!(cut.is_some_and(|t| t < Duration::from_secs(10)), "{cut:?}");
}

#[tokio::test]
async fn staff_pages_are_not_on_the_patron_listener() {
    let r = Running::start(Limits::default());
    let profiles: ProfileFor = Arc::new(|_| None);
    let patron = Portal::start(
        Settings {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            portal_name: Some("portal.library".into()),
            tls: None,
            limits: Limits::default(),
            procedure: String::new(),
        },
        profiles,
        None,
    )
    .expect("patron portal");
    let patron_addr = patron.bound()[0].0;
    for path in ["/login", "/audit", "/decided", "/requests/1"] {
        let resp = client()
            .get(format!("http://{patron_addr}{path}"))
            .header("host", "portal.library")
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
    let resp = client()
        .post(format!("http://{patron_addr}/login"))
        .header("host", "portal.library")
        .form(&[("name", "sam"), ("password", PASSWORD)])
        .send()
        .await
        .expect("POST");
    assert_ne!(
        resp.status().as_u16(),
        303,
        "no login on the patron listener"
    );
    assert!(resp.headers().get("set-cookie").is_none());
    drop(r);
}

#[tokio::test]
async fn over_tls_the_session_cookie_is_secure() {
    let cert = support::SelfSigned::new("staff.library");
    let r = Running::start_with(Limits::default(), Some(cert.config.clone()));
    let c = cert
        .client("staff.library", r.addr())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = format!("https://staff.library:{}", r.addr().port());
    let (pre, token) = login_form(&c, &base).await;
    let resp = c
        .post(format!("{base}/login"))
        .header("cookie", pre)
        .form(&[("name", "sam"), ("password", PASSWORD), ("csrf", &token)])
        .send()
        .await
        .expect("HTTPS login");
    assert_eq!(resp.status().as_u16(), 303);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address() {
    let r = Running::start(Limits::default());
    // Unknown names: no account to lock, but each costs a hash.
    let (pre, token) = login_form(&client(), &r.url("")).await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let resp = client()
            .post(r.url("/login"))
            .header("cookie", &pre)
            .form(&[
                ("name", "nobody"),
                ("password", "a wrong password"),
                ("csrf", &token),
            ])
            .send()
            .await
            .expect("POST /login");
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(&statuses[..10], [401; 10]);
    assert_eq!(statuses[10], 429);
}

#[tokio::test]
async fn a_login_without_its_form_token_and_cookie_gets_403_and_no_session() {
    let r = Running::start(Limits::default());
    let right = [("name", "sam"), ("password", PASSWORD)];
    // The right password alone, as a page of another site could send it.
    let resp = client()
        .post(r.url("/login"))
        .form(&right)
        .send()
        .await
        .expect("POST /login");
    assert_eq!(
        resp.status().as_u16(),
        403,
        "a login without its form's token"
    );
    assert!(resp.headers().get("set-cookie").is_none());
    let (pre, token) = login_form(&client(), &r.url("")).await;
    let (other_pre, _) = login_form(&client(), &r.url("")).await;
    let cases: [(&str, Option<&str>, &str); 4] = [
        ("an empty token, no cookie", None, ""),
        ("no token", Some(&pre), ""),
        ("a token without its cookie", None, &token),
        ("another form's cookie", Some(&other_pre), &token),
    ];
    for (what, cookie, sent) in cases {
        let mut req = client().post(r.url("/login"));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = req
            .form(&[right[0], right[1], ("csrf", sent)])
            .send()
            .await
            .expect("POST /login");
        assert_eq!(resp.status().as_u16(), 403, "{what}");
        let cookie = resp.headers().get("set-cookie");
        assert!(cookie.is_none(), "{what}: {cookie:?}");
    }
    // The form's cookie is HttpOnly, Strict and for /login only.
    let resp = client().get(r.url("/login")).send().await.expect("GET");
    let full = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    for flag in ["hedge_login=", "HttpOnly", "SameSite=Strict", "Path=/login"] {
        assert!(full.contains(flag), "{full}");
    }
    // With both, the same password gets in.
    let (status, cookie) = login(&r, PASSWORD).await;
    assert_eq!(status, 303);
    assert!(cookie.is_some());
}

#[tokio::test]
async fn live_grants_and_recategorisations_are_revoked_and_cleared_with_csrf_and_audit() {
    let r = Running::start(Limits::default());
    let id = open_request_id(&r);
    let now = jiff::Timestamp::now();
    let grants = r
        .store()
        .grant(id, &["child".into()], None, None, "root", now)
        .expect("grant");
    r.store()
        .recategorise("chess.example", "games", false, "root", now)
        .expect("recategorise");
    let (pair, _) = login(&r, PASSWORD).await.1.expect("cookie");
    let (status, page) = get(&r, &pair, "/overrides").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("games.example") && page.contains("chess.example"),
        "{page}"
    );
    let token = csrf(&page);
    let revoke = format!("/grants/{}/revoke", grants[0]);
    let clear = "/recategorisations/clear";
    let clear_fields = [("name", "chess.example"), ("category", "games")];
    // Without the session's token: 403, and both stay.
    assert_eq!(post(&r, &pair, &revoke, &[]).await.0, 403);
    assert_eq!(post(&r, &pair, clear, &clear_fields).await.0, 403);
    assert_eq!(post(&r, "", &revoke, &[("csrf", &token)]).await.0, 403);
    let live = r
        .store()
        .active_overrides(jiff::Timestamp::now())
        .expect("overrides");
    assert_eq!((live.grants.len(), live.recategorised.len()), (1, 1));
    // With it: gone, and back to the list.
    let (status, _) = post(&r, &pair, &revoke, &[("csrf", &token)]).await;
    assert_eq!(status, 303);
    let (status, _) = post(
        &r,
        &pair,
        clear,
        &[clear_fields[0], clear_fields[1], ("csrf", &token)],
    )
    .await;
    assert_eq!(status, 303);
    let live = r
        .store()
        .active_overrides(jiff::Timestamp::now())
        .expect("overrides");
    assert_eq!(live, hedge_stats::ActiveOverrides::default());
    // Twice: refused with why, not a failure.
    let (status, page) = post(&r, &pair, &revoke, &[("csrf", &token)]).await;
    assert_eq!(status, 422, "{page}");
    let (_, page) = get(&r, &pair, "/audit").await;
    for action in ["revoke", "unrecategorise"] {
        assert!(
            page.contains(&format!("<td>{action}</td>")),
            "{action}: {page}"
        );
    }
    assert!(page.contains("<td>sam</td><td>revoke</td>"), "{page}");
}
