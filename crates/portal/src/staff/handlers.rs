//! The staff routes (see the module table in `staff`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hedge_stats::staff::Login;
use hedge_stats::{RequestFilter, RequestStatus};
use jiff::Timestamp;
use serde::Deserialize;

use super::checked::StaffForm;
use super::respond::{forbidden, page, refused};
use super::session::{self, Current, Sessions};
use super::{Staff, StaffSettings, StoreError, pages};

type Shared = State<Arc<Staff>>;

/// Login attempts per client address: 10 at once, then one every 6 seconds.
const LOGIN_RATE: hedge_stats::RateLimit = hedge_stats::RateLimit {
    burst: 10,
    every: std::time::Duration::from_secs(6),
    max_clients: 10_000,
};

/// How many of the newest requests the decided page looks through.
const DECIDED_SHOWN: usize = 1000;

/// The router, with the portal's limits and security headers.
pub(crate) fn router(settings: StaffSettings) -> Router {
    let limits = settings.limits;
    let staff = Arc::new(Staff {
        sessions: Sessions::new(settings.sessions),
        logins: hedge_stats::RateLimiter::new(LOGIN_RATE),
        settings,
        store: parking_lot::Mutex::new(None),
    });
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/", get(queue))
        .route("/decided", get(decided))
        .route("/audit", get(audit))
        .route("/requests/{id}", get(request))
        .route("/requests/{id}/grant", post(grant))
        .route("/requests/{id}/deny", post(deny))
        .route("/recategorise", post(recategorise))
        .route("/overrides", get(overrides))
        .route("/grants/{id}/revoke", post(revoke))
        .route("/recategorisations/clear", post(clear_recategorisation))
        .fallback(|| async {
            page(
                StatusCode::NOT_FOUND,
                pages::problem("Page not found", "There is no such staff page."),
            )
        })
        .with_state(staff)
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(axum::middleware::map_response(crate::app::security_headers))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            limits.max_body_bytes,
        ))
}

fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

fn store_failed(e: StoreError) -> Response {
    match e {
        StoreError::Refused(why) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::problem("That could not be done", &why),
        ),
        StoreError::Failed(e) => {
            tracing::error!("staff pages: {e}");
            unavailable()
        }
        StoreError::Unavailable => unavailable(),
    }
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::problem(
            "The store is unavailable",
            "The statistics file could not be read or written; the log says why.",
        ),
    )
}

async fn login_form(State(staff): Shared, headers: HeaderMap) -> Response {
    if staff.sessions.current(&headers).is_some() {
        return Redirect::to("/").into_response();
    }
    login_page(&staff, &headers, StatusCode::OK, None)
}

/// The login form with a fresh CSRF token and its pre-session cookie, and a problem if
/// the last try failed.
fn login_page(
    staff: &Staff,
    headers: &HeaderMap,
    status: StatusCode,
    problem: Option<&str>,
) -> Response {
    let Some(form) = staff.sessions.login_form(headers) else {
        return unavailable();
    };
    let mut r = page(status, pages::login(&form.csrf, problem));
    let cookie = session::login_cookie(&form.nonce, staff.settings.tls.is_some());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct LoginFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(staff): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginFields>, FormRejection>,
) -> Response {
    let fields = match form {
        Ok(Form(f)) => f,
        Err(r) => return refused(r.status()),
    };
    // Before the rate limit and the hash: a forged login costs nothing and counts nothing.
    if !staff.sessions.login_csrf_ok(&headers, &fields.csrf) {
        return forbidden();
    }
    if let Err(hedge_stats::RetryAfter(wait)) =
        staff.logins.check(peer.ip(), std::time::Instant::now())
    {
        let mut r = login_page(
            &staff,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many sign-in attempts from this computer: wait a little."),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let lockout = staff.settings.lockout;
    let name = fields.name.trim().to_owned();
    let who = name.clone();
    let outcome = staff
        .with_store(move |s| s.staff_login(&who, &fields.password, lockout, Timestamp::now()))
        .await;
    match outcome {
        Ok(Login::Accepted) => match staff.sessions.start(&name) {
            Some(token) => {
                let mut r = Redirect::to("/").into_response();
                let cookie = session::set_cookie(
                    &token,
                    staff.settings.tls.is_some(),
                    staff.settings.sessions,
                );
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    r.headers_mut().insert(header::SET_COOKIE, v);
                }
                r
            }
            None => unavailable(),
        },
        Ok(Login::Rejected) => login_page(
            &staff,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("Wrong name or password."),
        ),
        Ok(Login::Locked { until }) => login_page(
            &staff,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Too many failed sign-ins: this account is locked until {}.",
                until.strftime("%H:%M UTC")
            )),
        ),
        Err(e) => store_failed(e),
    }
}

async fn logout(State(staff): Shared, form: StaffForm) -> Response {
    let current = form.current;
    staff.sessions.end(&current);
    let who = current.staff.clone();
    if let Err(e) = staff
        .with_store(move |s| s.staff_logout(&who, Timestamp::now()))
        .await
    {
        return store_failed(e);
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(staff.settings.tls.is_some())) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn queue(State(staff): Shared, headers: HeaderMap) -> Response {
    let Some(current) = staff.sessions.current(&headers) else {
        return to_login();
    };
    let filter = RequestFilter {
        status: Some(RequestStatus::Open),
        ..RequestFilter::default()
    };
    match staff.with_store(move |s| s.list_requests(&filter)).await {
        Ok(open) => page(
            StatusCode::OK,
            pages::queue(&current.staff, &current.csrf(), &open, Timestamp::now()),
        ),
        Err(e) => store_failed(e),
    }
}

async fn decided(State(staff): Shared, headers: HeaderMap) -> Response {
    let Some(current) = staff.sessions.current(&headers) else {
        return to_login();
    };
    // The newest requests only: a page, not an archive (`hedge requests list` has them all).
    let newest = RequestFilter {
        limit: Some(DECIDED_SHOWN),
        ..RequestFilter::default()
    };
    let listed = staff.with_store(move |s| s.list_requests(&newest)).await;
    match listed {
        Ok(all) => {
            let rows: Vec<_> = all
                .into_iter()
                .filter(|r| r.status != RequestStatus::Open)
                .collect();
            page(
                StatusCode::OK,
                pages::decided(&current.staff, &current.csrf(), &rows),
            )
        }
        Err(e) => store_failed(e),
    }
}

async fn audit(State(staff): Shared, headers: HeaderMap) -> Response {
    let Some(current) = staff.sessions.current(&headers) else {
        return to_login();
    };
    match staff.with_store(|s| s.audit_log(None, 500)).await {
        Ok(entries) => page(
            StatusCode::OK,
            pages::audit(&current.staff, &current.csrf(), &entries),
        ),
        Err(e) => store_failed(e),
    }
}

async fn request(State(staff): Shared, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let Some(current) = staff.sessions.current(&headers) else {
        return to_login();
    };
    show_request(&staff, &current, id, None, StatusCode::OK).await
}

async fn show_request(
    staff: &Arc<Staff>,
    current: &Current,
    id: i64,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    match staff.with_store(move |s| s.request(id)).await {
        Ok(r) => page(
            status,
            pages::request(
                &current.staff,
                &current.csrf(),
                &r,
                &staff.settings.profiles,
                problem,
            ),
        ),
        Err(e) => store_failed(e),
    }
}

/// After a decision: back to the queue (303, so a reload does not send it again).
fn done() -> Response {
    Redirect::to("/").into_response()
}

async fn grant(State(staff): Shared, Path(id): Path<i64>, form: StaffForm) -> Response {
    let current = &form.current;
    let (profiles, until) = match grant_fields(&staff.settings, &form) {
        Ok(x) => x,
        Err(p) => {
            return show_request(
                &staff,
                current,
                id,
                Some(&p),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let note = Some(form.field("note").to_owned()).filter(|n| !n.trim().is_empty());
    let by = current.staff.clone();
    let granted = staff
        .with_store(move |s| s.grant(id, &profiles, until, note.as_deref(), &by, Timestamp::now()))
        .await;
    decided_on(&staff, current, id, granted).await
}

/// After a decision on request `id`: back to the queue, or the request's page again with
/// why it could not be made.
async fn decided_on<T>(
    staff: &Arc<Staff>,
    current: &Current,
    id: i64,
    outcome: Result<T, StoreError>,
) -> Response {
    match outcome {
        Ok(_) => done(),
        Err(StoreError::Refused(why)) => {
            show_request(
                staff,
                current,
                id,
                Some(&why),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => store_failed(e),
    }
}

/// A grant form's profiles (each a configured one, at least one) and its "until" (through
/// the end of that day in the configured zone); else what is wrong.
fn grant_fields(
    settings: &StaffSettings,
    form: &StaffForm,
) -> Result<(Vec<String>, Option<Timestamp>), String> {
    let profiles = form.all("profile");
    if profiles.is_empty() {
        return Err("Tick at least one filter setting.".into());
    }
    if let Some(p) = profiles.iter().find(|p| !settings.profiles.contains(p)) {
        return Err(format!("There is no filter setting {p:?}."));
    }
    let until = match form.field("until").trim() {
        "" => None,
        d => match d
            .parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.tomorrow().ok())
            .and_then(|d| d.to_zoned(settings.zone.clone()).ok())
        {
            Some(z) => Some(z.timestamp()),
            None => return Err("The date must look like 2026-12-31.".into()),
        },
    };
    Ok((profiles, until))
}

async fn deny(State(staff): Shared, Path(id): Path<i64>, form: StaffForm) -> Response {
    let note = form.field("note").to_owned();
    let by = form.current.staff.clone();
    let denied = staff
        .with_store(move |s| s.deny(id, &note, &by, Timestamp::now()))
        .await;
    decided_on(&staff, &form.current, id, denied).await
}

async fn recategorise(State(staff): Shared, form: StaffForm) -> Response {
    let name = form.field("name").to_owned();
    let category = form.field("category").trim().to_owned();
    let into = form.field("into") != "no";
    let by = form.current.staff.clone();
    let changed = staff
        .with_store(move |s| s.recategorise(&name, &category, into, &by, Timestamp::now()))
        .await;
    match changed {
        Ok(_) => done(),
        Err(e) => store_failed(e),
    }
}

async fn overrides(State(staff): Shared, headers: HeaderMap) -> Response {
    let Some(current) = staff.sessions.current(&headers) else {
        return to_login();
    };
    match staff
        .with_store(|s| s.active_overrides(Timestamp::now()))
        .await
    {
        Ok(live) => page(
            StatusCode::OK,
            pages::overrides(&current.staff, &current.csrf(), &live),
        ),
        Err(e) => store_failed(e),
    }
}

/// After a revoke or a clear: back to the live list (303, so a reload does not repeat it).
fn overrides_again<T>(outcome: Result<T, StoreError>) -> Response {
    match outcome {
        Ok(_) => Redirect::to("/overrides").into_response(),
        Err(e) => store_failed(e),
    }
}

async fn revoke(State(staff): Shared, Path(id): Path<i64>, form: StaffForm) -> Response {
    let by = form.current.staff.clone();
    let revoked = staff
        .with_store(move |s| s.revoke_grant(id, &by, Timestamp::now()))
        .await;
    overrides_again(revoked)
}

async fn clear_recategorisation(State(staff): Shared, form: StaffForm) -> Response {
    let name = form.field("name").to_owned();
    let category = form.field("category").to_owned();
    let by = form.current.staff.clone();
    let cleared = staff
        .with_store(move |s| s.clear_recategorisation(&name, &category, &by, Timestamp::now()))
        .await;
    overrides_again(cleared)
}
