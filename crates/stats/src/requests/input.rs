//! What callers give, checked: names, labels, staff members and free text.

use crate::error::Error;
use crate::requests::types::MAX_LABEL_CHARS;

/// A name as list entries are normalised (punycode, lower case), or why it is not one.
pub fn normalize_name(name: &str) -> Result<String, Error> {
    hedge_lists::normalize(name).map_err(|e| Error::Invalid(format!("name {name:?}: {e}")))
}

/// Free text as kept: line breaks as `\n`, trimmed, no other control characters, at most
/// `max` characters.
pub(super) fn clean_text(what: &str, text: &str, max: usize) -> Result<String, Error> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::Invalid(format!(
            "{what}: control character {c:?} is not allowed"
        )));
    }
    let n = text.chars().count();
    if n > max {
        return Err(Error::Invalid(format!(
            "{what}: {n} characters, at most {max} are kept; shorten it"
        )));
    }
    Ok(text.to_owned())
}

/// A profile, category or staff member name: 1 to [`MAX_LABEL_CHARS`] characters, no spaces
/// or control characters.
pub(super) fn label<'a>(what: &str, s: &'a str) -> Result<&'a str, Error> {
    let bad = s
        .chars()
        .find(|c| c.is_control() || c.is_whitespace())
        .map(|c| format!("character {c:?} is not allowed"));
    let problem = if s.is_empty() {
        Some("empty".to_owned())
    } else if s.chars().count() > MAX_LABEL_CHARS {
        Some(format!("longer than {MAX_LABEL_CHARS} characters"))
    } else {
        bad
    };
    match problem {
        Some(p) => Err(Error::Invalid(format!("{what} {s:?}: {p}"))),
        None => Ok(s),
    }
}

/// A staff member's name for the audit log: like a label, but spaces are allowed inside.
pub(super) fn actor(s: &str) -> Result<&str, Error> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_LABEL_CHARS || t.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "staff member {s:?}: give a name of 1 to {MAX_LABEL_CHARS} characters"
        )));
    }
    Ok(t)
}
