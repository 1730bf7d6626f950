//! The request-access form: what it carries, and its checks.

use serde::Deserialize;

use crate::name::typed_name;
use crate::reference::is_reference;

/// The longest reason, in characters: what the store takes.
pub const MAX_REASON: usize = hedge_stats::requests::MAX_TEXT_CHARS;
/// The longest contact (an email address or a phone number), in characters: what the
/// store takes.
pub const MAX_CONTACT: usize = hedge_stats::requests::MAX_CONTACT_CHARS;

/// The form's fields as sent; every one may be missing or hostile.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct RequestFields {
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) reason: String,
    #[serde(default)]
    pub(crate) contact: String,
    #[serde(default)]
    pub(crate) reference: String,
}

/// What is wrong with a form, one sentence each.
pub(crate) type Problems = Vec<String>;

/// A form that passed its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidRequest {
    /// The name, as DNS decides it.
    pub(crate) name: String,
    /// The reason, trimmed.
    pub(crate) reason: String,
    /// The contact, trimmed; None when left empty.
    pub(crate) contact: Option<String>,
    /// The block page's reference, if the form carried a well-formed one.
    pub(crate) reference: Option<String>,
}

impl RequestFields {
    /// Checks every field; all problems at once, so the patron fixes them in one go.
    pub(crate) fn validate(&self) -> Result<ValidRequest, Problems> {
        let mut problems = Problems::new();
        let name = typed_name(&self.name);
        if name.is_none() {
            problems.push("The site must be a web address such as www.example.com.".into());
        }
        let reason = self.reason.trim();
        if reason.is_empty() {
            problems.push("Please say why you need the site.".into());
        } else if reason.chars().count() > MAX_REASON {
            problems.push(format!(
                "The reason is too long: at most {MAX_REASON} characters, please."
            ));
        }
        let contact = self.contact.trim();
        if contact.chars().count() > MAX_CONTACT {
            problems.push(format!(
                "The contact is too long: at most {MAX_CONTACT} characters, please."
            ));
        }
        if [reason, contact].iter().any(|s| s.chars().any(is_control)) {
            problems
                .push("The reason or contact contains characters that cannot be stored.".into());
        }
        match name {
            Some(name) if problems.is_empty() => Ok(ValidRequest {
                name,
                reason: reason.to_string(),
                contact: (!contact.is_empty()).then(|| contact.to_string()),
                reference: is_reference(&self.reference).then(|| self.reference.clone()),
            }),
            _ => Err(problems),
        }
    }
}

/// Control characters other than line breaks and tabs (which a textarea sends).
fn is_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(name: &str, reason: &str, contact: &str) -> RequestFields {
        RequestFields {
            name: name.into(),
            reason: reason.into(),
            contact: contact.into(),
            reference: "K7QD-2M9F".into(),
        }
    }

    #[test]
    fn a_good_form_passes_with_its_fields_trimmed() {
        let v = fields(" https://www.Bet.com/x ", " homework \n", "  ")
            .validate()
            .expect("valid");
        assert_eq!(v.name, "www.bet.com");
        assert_eq!(v.reason, "homework");
        assert_eq!(v.contact, None);
        assert_eq!(v.reference.as_deref(), Some("K7QD-2M9F"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = fields("not a name", "", &"x".repeat(MAX_CONTACT + 1))
            .validate()
            .expect_err("invalid");
        assert_eq!(problems.len(), 3, "{problems:?}");
        let long = fields("bet.com", &"é".repeat(MAX_REASON + 1), "").validate();
        assert!(long.is_err());
        let exact = fields("bet.com", &"é".repeat(MAX_REASON), "").validate();
        assert!(exact.is_ok(), "the limit counts characters, not bytes");
        assert!(fields("bet.com", "a\u{0}b", "").validate().is_err());
        let mut bad_ref = fields("bet.com", "why", "");
        bad_ref.reference = "<script>".into();
        assert_eq!(bad_ref.validate().expect("valid").reference, None);
    }
}
