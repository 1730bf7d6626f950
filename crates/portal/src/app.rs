//! The routes: what each request gets.
//!
//! | request | answer |
//! |---|---|
//! | `GET /why?name=…` | the explanation of a typed name for the visitor's profile |
//! | `POST /request` | a request for access, checked, rate limited and stored |
//! | `GET` anything, `Host` a name other than the portal's | the block page for that name (or "not blocked here") |
//! | `GET /`, `Host` the portal's name, an address or none | the home page with the "Why is this blocked?" form |
//! | anything else | 404, or 405 for other methods |

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;

use crate::form::RequestFields;
use crate::name::{Host, parse_host, typed_name};
use crate::verdict::{Explained, Verdict, explain};
use crate::{AccessRequest, ProfileFor, RequestStore, Settings, pages, reference};

/// What every handler shares.
pub(crate) struct App {
    pub(crate) profiles: ProfileFor,
    pub(crate) portal_name: Option<String>,
    pub(crate) procedure: String,
    pub(crate) store: Option<Arc<dyn RequestStore>>,
    pub(crate) limiter: hedge_stats::RateLimiter,
}

type Shared = State<Arc<App>>;

/// The router, with the limits every response gets.
pub(crate) fn router(app: Arc<App>, settings: &Settings) -> Router {
    let limits = &settings.limits;
    Router::new()
        .route("/why", get(why))
        .route("/request", post(request))
        .fallback(by_host)
        .with_state(app)
        // A bug in a handler answers 500 instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(axum::middleware::map_response(security_headers))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            limits.max_body_bytes,
        ))
}

/// No caching (a block page must never stand in for the site once it is unblocked), no
/// scripts, no framing, no referrer, no content sniffing.
pub(crate) async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    ];
    for (name, value) in set {
        h.insert(name, HeaderValue::from_static(value));
    }
    r
}

fn page(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// The host a request names: the absolute URI's, else the `Host` header.
fn host_of(uri: &Uri, headers: &HeaderMap) -> Host {
    let header = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    parse_host(uri.authority().map(|a| a.as_str()).or(header))
}

impl App {
    /// Whether a host is the portal itself.
    fn is_portal(&self, host: &Host) -> bool {
        match host {
            Host::Portal => true,
            Host::Name(n) => self.portal_name.as_deref() == Some(n.as_str()),
        }
    }

    /// `name` decided for the profile that serves `client`; None if no listener serves it.
    fn explain(&self, client: IpAddr, name: &str) -> Option<Explained> {
        let (policy, profile) = (self.profiles)(client)?;
        Some(explain(&policy, profile, name))
    }
}

/// The page for a client no listener serves.
fn not_served() -> Response {
    page(
        StatusCode::FORBIDDEN,
        pages::problem(
            "Not on a library network",
            "This computer's address is not on a network the library's filter serves, so there is nothing to explain.",
        ),
    )
}

/// The block page, or "not blocked here", for `name` and the visitor's profile.
fn explanation(app: &App, client: IpAddr, name: &str) -> Response {
    let Some(e) = app.explain(client, name) else {
        return not_served();
    };
    match e.verdict {
        Verdict::Blocked(_) => block_page(&e, None, &[], StatusCode::FORBIDDEN),
        Verdict::NotBlocked => page(StatusCode::OK, pages::not_blocked(&e)),
    }
}

/// `GET` on any path: the block page for a redirected name, the home page for the portal.
async fn by_host(
    State(app): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = page(
            StatusCode::METHOD_NOT_ALLOWED,
            pages::problem(
                "Not allowed",
                "The portal only shows pages and takes its own forms.",
            ),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let host = host_of(&uri, &headers);
    match host {
        Host::Name(name) if !app.is_portal(&Host::Name(name.clone())) => {
            explanation(&app, peer.ip(), &name)
        }
        _ if uri.path() == "/" => page(StatusCode::OK, pages::home(None, "")),
        _ => page(
            StatusCode::NOT_FOUND,
            pages::problem("Page not found", "There is no such page on the portal."),
        ),
    }
}

#[derive(Deserialize)]
struct WhyQuery {
    #[serde(default)]
    name: String,
}

/// `GET /why?name=…`.
async fn why(
    State(app): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    query: Result<Query<WhyQuery>, QueryRejection>,
) -> Response {
    let typed = match query {
        Ok(Query(q)) => q.name,
        Err(_) => String::new(),
    };
    match typed_name(&typed) {
        Some(name) => explanation(&app, peer.ip(), &name),
        None => page(
            StatusCode::BAD_REQUEST,
            pages::home(
                Some("That is not a site address. Type one such as www.example.com."),
                &typed,
            ),
        ),
    }
}

/// `POST /request`: checked, rate limited per address, decided again for the visitor's
/// profile (the form's word is not taken for what is blocked), then stored.
async fn request(
    State(app): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<RequestFields>, FormRejection>,
) -> Response {
    let fields = match form {
        Ok(Form(f)) => f,
        Err(rejection) => {
            let status = match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                _ => StatusCode::BAD_REQUEST,
            };
            return page(
                status,
                pages::problem(
                    "The form could not be read",
                    "Please go back and send the form again.",
                ),
            );
        }
    };
    let client = peer.ip();
    let valid = match fields.validate() {
        Ok(v) => v,
        Err(problems) => return form_again(&app, client, &fields, &problems),
    };
    let Some(e) = app.explain(client, &valid.name) else {
        return not_served();
    };
    let Verdict::Blocked(why) = &e.verdict else {
        return page(StatusCode::OK, pages::not_blocked(&e));
    };
    if let Err(hedge_stats::RetryAfter(wait)) = app.limiter.check(client, Instant::now()) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            pages::problem(
                "Too many requests",
                &format!(
                    "This computer has sent several requests in a short time. Please try again in {minutes} minute{}, or ask a member of staff.",
                    if minutes == 1 { "" } else { "s" }
                ),
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let code = valid.reference.clone().unwrap_or_else(|| {
        reference::reference(&e.name, &e.profile, e.at.timestamp().as_second() / 60)
    });
    let Some(store) = app.store.clone() else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::problem(
                "Requests are not taken here",
                &format!(
                    "This network does not take requests online. Please ask a member of staff, and give them the reference {code}."
                ),
            ),
        );
    };
    let request = AccessRequest {
        name: e.name.clone(),
        category: why.label(),
        profile: e.profile.clone(),
        reason: valid.reason,
        contact: valid.contact,
    };
    let stored = tokio::task::spawn_blocking(move || store.submit(&request)).await;
    match stored {
        Ok(Ok(receipt)) => page(
            StatusCode::OK,
            pages::sent(&e.name, &code, &receipt, &app.procedure),
        ),
        Ok(Err(err)) => {
            tracing::error!(
                "portal: a request for {} could not be stored: {err}",
                e.name
            );
            unavailable(&code)
        }
        Err(err) => {
            tracing::error!("portal: storing a request for {} failed: {err}", e.name);
            unavailable(&code)
        }
    }
}

fn unavailable(code: &str) -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::problem(
            "Your request could not be saved",
            &format!(
                "Something went wrong on the library's side. Please try again later, or ask a member of staff and give them the reference {code}."
            ),
        ),
    )
}

/// The block page, stamped with the date and a reference for this minute.
fn block_page(
    e: &Explained,
    fields: Option<&RequestFields>,
    problems: &[String],
    status: StatusCode,
) -> Response {
    // `format`, not `strftime(..).to_string()`: a formatting error must not panic.
    let date = jiff::fmt::strtime::format("%-d %B %Y, %H:%M", &e.at)
        .unwrap_or_else(|_| e.at.date().to_string());
    let code = reference::reference(&e.name, &e.profile, e.at.timestamp().as_second() / 60);
    let stamp = pages::Stamp {
        date: &date,
        reference: &code,
    };
    page(status, pages::blocked(e, &stamp, fields, problems))
}

/// The block page again with the patron's answers and what is wrong with them.
fn form_again(app: &App, client: IpAddr, fields: &RequestFields, problems: &[String]) -> Response {
    let name = typed_name(&fields.name);
    let explained = name.as_deref().and_then(|n| app.explain(client, n));
    match explained {
        Some(e) if matches!(e.verdict, Verdict::Blocked(_)) => {
            block_page(&e, Some(fields), problems, StatusCode::UNPROCESSABLE_ENTITY)
        }
        _ => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::home(problems.first().map(String::as_str), &fields.name),
        ),
    }
}
