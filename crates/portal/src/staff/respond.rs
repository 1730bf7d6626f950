//! The staff pages' answers that are not a page of their own: a page with a status, and
//! the refusals of a form (shared by the handlers and the [`StaffForm`](super::checked::StaffForm) checks).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::Markup;

use super::pages;

/// A page with `status`.
pub(super) fn page(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A form sent without this session's token, or with no session: 403.
pub(super) fn forbidden() -> Response {
    page(
        StatusCode::FORBIDDEN,
        pages::problem(
            "The form has expired",
            "The form was not sent from this session. Go back, reload the page and send it again.",
        ),
    )
}

/// The answer to a form refused with `status`: 403 (no session or a wrong CSRF token), 413
/// (too large) or 400.
pub(super) fn refused(status: StatusCode) -> Response {
    if status == StatusCode::FORBIDDEN {
        return forbidden();
    }
    let status = match status {
        StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    page(
        status,
        pages::problem("The form could not be read", "Please send it again."),
    )
}
