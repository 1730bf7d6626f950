//! [`Action`]: what the resolver did with one query, the vocabulary that counters, batches,
//! the store and reports share.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::Error;

/// What the resolver did with one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Resolved normally.
    Allowed,
    /// Answered with the sinkhole answer.
    Blocked,
    /// Rewritten (SafeSearch CNAME) and resolved.
    Rewritten,
    /// Refused (client outside the listener's subnets, or a refuse action).
    Refused,
    /// Answered SERVFAIL (upstream or internal failure).
    Servfail,
}

impl Action {
    /// Every action, in the order reports list them.
    pub const ALL: [Action; 5] = [
        Action::Allowed,
        Action::Blocked,
        Action::Rewritten,
        Action::Refused,
        Action::Servfail,
    ];

    /// The name stored and printed: `allowed`, `blocked`, `rewritten`, `refused`, `servfail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allowed => "allowed",
            Action::Blocked => "blocked",
            Action::Rewritten => "rewritten",
            Action::Refused => "refused",
            Action::Servfail => "servfail",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;

    fn from_str(s: &str) -> Result<Action, Error> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown action {s:?}; expected one of allowed, blocked, rewritten, refused, \
                     servfail"
                ))
            })
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().expect("known action"), a);
        }
        assert!("dropped".parse::<Action>().is_err());
    }
}
