//! [`StaffForm`]: the checks every staff POST but the login makes before it acts.

use std::sync::Arc;

use axum::extract::{Form, FromRequest, Request};
use axum::response::Response;

use super::Staff;
use super::respond::{forbidden, refused};
use super::session::Current;

/// A staff form that passed its checks: the body read within the limits (else 413 or
/// 400), a live session (else 403) and that session's CSRF token (else 403). Its fields
/// are pairs, as checkboxes repeat a key.
pub(crate) struct StaffForm {
    /// Who sent it.
    pub(crate) current: Current,
    fields: Vec<(String, String)>,
}

impl StaffForm {
    /// The first value of field `name`; empty if absent.
    pub(crate) fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of field `name` (ticked checkboxes).
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl FromRequest<Arc<Staff>> for StaffForm {
    type Rejection = Response;

    async fn from_request(req: Request, staff: &Arc<Staff>) -> Result<Self, Response> {
        let current = staff.sessions.current(req.headers());
        // The body first: a form too large gets 413 whoever sends it.
        let fields = match Form::<Vec<(String, String)>>::from_request(req, staff).await {
            Ok(Form(f)) => f,
            Err(r) => return Err(refused(r.status())),
        };
        let Some(current) = current else {
            return Err(forbidden());
        };
        let form = StaffForm { current, fields };
        if !form.current.csrf_ok(form.field("csrf")) {
            return Err(forbidden());
        }
        Ok(form)
    }
}
