//! Staff accounts for the portal's staff pages: argon2id password hashes (PHC strings) and
//! the lockout after repeated failed logins, in the statistics file (`staff_accounts`).
//!
//! Adding, changing and removing an account, a login and a lockout each go into the audit
//! log in the same transaction as the change. A failed login alone is not logged (a
//! guessing attacker would fill the log); the lockout it leads to is.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::audited::audit;
use crate::error::Error;
use crate::sqlite::SqliteStore;
use crate::sqlite::{timestamp_column, ts_text};

/// The longest staff name, in characters.
pub const MAX_STAFF_NAME: usize = 64;
/// The shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password, in bytes: hashing is bounded whatever a login form sends.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// When failed logins lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failed logins in a row that lock the account.
    pub max_failures: u32,
    /// How long it stays locked.
    pub lock_for: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout {
            max_failures: 5,
            lock_for: Duration::from_secs(15 * 60),
        }
    }
}

/// A staff account, without its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffAccount {
    /// The login name.
    pub name: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// Failed logins since the last success or lockout.
    pub failed_logins: u32,
    /// Locked until then, if that is in the future.
    pub locked_until: Option<Timestamp>,
}

/// The outcome of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// Name and password are right.
    Accepted,
    /// Unknown name or wrong password (they are not told apart).
    Rejected,
    /// Too many failed logins: no password is checked until then.
    Locked {
        /// When the account opens again.
        until: Timestamp,
    },
}

/// OWASP's argon2id parameters: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's bounds.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A checked staff name: 1 to 64 letters, digits and `.-_@`.
pub fn staff_name(name: &str) -> Result<&str, Error> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_STAFF_NAME
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(name)
    } else {
        Err(Error::Invalid(format!(
            "staff name {name:?}: use 1 to {MAX_STAFF_NAME} letters, digits, '.', '-', '_' or '@'"
        )))
    }
}

/// The PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, Error> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::Invalid(format!(
            "a staff password needs {MIN_PASSWORD_CHARS} characters or more (and at most \
             {MAX_PASSWORD_BYTES} bytes)"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(format!("hashing the password failed: {e}")))
}

/// Whether `password` matches the PHC string `phc`; a damaged string matches nothing.
fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(h) => hasher().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A hash to check unknown names against, so that they take as long as known ones.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, matches nothing").unwrap_or_default())
}

impl SqliteStore {
    /// Adds staff account `name` with `password` (hashed here); `by` is recorded.
    pub fn add_staff(
        &mut self,
        name: &str,
        password: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let name = staff_name(name)?;
        let hash = hash_password(password)?;
        let at = ts_text(now);
        self.in_transaction("adding a staff account", |tx, err| {
            let added = tx
                .execute(
                    "INSERT INTO staff_accounts (name, password_hash, created_at) \
                     VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
                    params![name, hash, at],
                )
                .map_err(err)?;
            if added == 0 {
                return Err(Error::Invalid(format!(
                    "staff account {name:?} exists already (change its password with \
                     `hedge staff passwd {name}`)"
                )));
            }
            audit(tx, &at, by, "staff-add", &format!("staff {name}"), "").map_err(err)
        })
    }

    /// Sets the password of `name`, and unlocks it.
    pub fn set_staff_password(
        &mut self,
        name: &str,
        password: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let hash = hash_password(password)?;
        let at = ts_text(now);
        self.in_transaction("changing a staff password", |tx, err| {
            let changed = tx
                .execute(
                    "UPDATE staff_accounts SET password_hash = ?2, failed_logins = 0, \
                     locked_until = NULL WHERE name = ?1",
                    params![name, hash],
                )
                .map_err(err)?;
            if changed == 0 {
                return Err(no_such_staff(name));
            }
            audit(tx, &at, by, "staff-passwd", &format!("staff {name}"), "").map_err(err)
        })
    }

    /// Removes account `name`.
    pub fn remove_staff(&mut self, name: &str, by: &str, now: Timestamp) -> Result<(), Error> {
        let at = ts_text(now);
        self.in_transaction("removing a staff account", |tx, err| {
            let removed = tx
                .execute("DELETE FROM staff_accounts WHERE name = ?1", [name])
                .map_err(err)?;
            if removed == 0 {
                return Err(no_such_staff(name));
            }
            audit(tx, &at, by, "staff-remove", &format!("staff {name}"), "").map_err(err)
        })
    }

    /// The accounts, by name.
    pub fn list_staff(&self) -> Result<Vec<StaffAccount>, Error> {
        let err = self.err("listing staff accounts");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, created_at, failed_logins, locked_until FROM staff_accounts \
                 ORDER BY name",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| {
                let locked: Option<String> = r.get(3)?;
                Ok(StaffAccount {
                    name: r.get(0)?,
                    created_at: timestamp_column(r, 1)?,
                    failed_logins: r.get(2)?,
                    locked_until: match locked {
                        Some(_) => Some(timestamp_column(r, 3)?),
                        None => None,
                    },
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// Checks a login. `lockout.max_failures` failures in a row lock the account for
    /// `lockout.lock_for`; a success resets the count. The hash is checked outside any
    /// transaction (it takes tens of milliseconds).
    pub fn staff_login(
        &mut self,
        name: &str,
        password: &str,
        lockout: Lockout,
        now: Timestamp,
    ) -> Result<Login, Error> {
        let found: Option<(String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT password_hash, locked_until FROM staff_accounts WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err("reading a staff account"))?;
        let Some((hash, locked_until)) = found else {
            verify(password, decoy());
            return Ok(Login::Rejected);
        };
        if let Some(until) = locked_until.and_then(|t| t.parse::<Timestamp>().ok())
            && until > now
        {
            return Ok(Login::Locked { until });
        }
        let right = verify(password, &hash);
        let at = ts_text(now);
        self.in_transaction("recording a staff login", |tx, err| {
            if right {
                tx.execute(
                    "UPDATE staff_accounts SET failed_logins = 0, locked_until = NULL \
                     WHERE name = ?1",
                    [name],
                )
                .map_err(err)?;
                audit(tx, &at, name, "login", &format!("staff {name}"), "").map_err(err)?;
                return Ok(Login::Accepted);
            }
            let failures: u32 = tx
                .query_row(
                    "UPDATE staff_accounts SET failed_logins = failed_logins + 1 \
                     WHERE name = ?1 RETURNING failed_logins",
                    [name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?
                .unwrap_or(0);
            if failures < lockout.max_failures.max(1) {
                return Ok(Login::Rejected);
            }
            let span = jiff::SignedDuration::try_from(lockout.lock_for).unwrap_or_default();
            let until = now.checked_add(span).unwrap_or(now);
            tx.execute(
                "UPDATE staff_accounts SET failed_logins = 0, locked_until = ?2 WHERE name = ?1",
                params![name, ts_text(until)],
            )
            .map_err(err)?;
            let detail = format!("{failures} failed logins; locked until {}", ts_text(until));
            audit(
                tx,
                &at,
                name,
                "staff-locked",
                &format!("staff {name}"),
                &detail,
            )
            .map_err(err)?;
            Ok(Login::Locked { until })
        })
    }

    /// Records that `name` logged out.
    pub fn staff_logout(&mut self, name: &str, now: Timestamp) -> Result<(), Error> {
        let at = ts_text(now);
        self.in_transaction("recording a staff logout", |tx, err| {
            audit(tx, &at, name, "logout", &format!("staff {name}"), "").map_err(err)
        })
    }
}

fn no_such_staff(name: &str) -> Error {
    Error::Invalid(format!(
        "no staff account {name:?} (`hedge staff list` shows them)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "correct horse battery";

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("s.sqlite")).expect("open");
        (dir, store)
    }

    fn now() -> Timestamp {
        "2026-12-06T10:00:00Z".parse().expect("time")
    }

    #[test]
    fn add_login_passwd_remove_are_audited() {
        let (_d, mut s) = store();
        s.add_staff("ana", PW, "root", now()).expect("add");
        assert!(s.add_staff("ana", PW, "root", now()).is_err(), "twice");
        let hash: String = s
            .conn
            .query_row("SELECT password_hash FROM staff_accounts", [], |r| r.get(0))
            .expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let l = Lockout::default();
        assert_eq!(
            s.staff_login("ana", PW, l, now()).expect("login"),
            Login::Accepted
        );
        assert_eq!(
            s.staff_login("ana", "wrong password", l, now()).expect("l"),
            Login::Rejected
        );
        assert_eq!(
            s.staff_login("bob", PW, l, now()).expect("l"),
            Login::Rejected
        );
        s.set_staff_password("ana", "another long one", "root", now())
            .expect("passwd");
        assert_eq!(
            s.staff_login("ana", PW, l, now()).expect("l"),
            Login::Rejected
        );
        s.remove_staff("ana", "root", now()).expect("remove");
        assert!(s.list_staff().expect("list").is_empty());
        assert!(s.remove_staff("ana", "root", now()).is_err());
        let actions: Vec<String> = s
            .audit_log(None, 100)
            .expect("audit")
            .into_iter()
            .map(|e| format!("{} {} {}", e.actor, e.action, e.target))
            .collect();
        assert_eq!(
            actions,
            [
                "root staff-add staff ana",
                "ana login staff ana",
                "root staff-passwd staff ana",
                "root staff-remove staff ana"
            ]
        );
    }

    #[test]
    fn failures_lock_then_expire() {
        let (_d, mut s) = store();
        s.add_staff("ana", PW, "root", now()).expect("add");
        let l = Lockout {
            max_failures: 3,
            lock_for: Duration::from_secs(600),
        };
        for _ in 0..2 {
            assert_eq!(
                s.staff_login("ana", "nope nope!", l, now()).expect("l"),
                Login::Rejected
            );
        }
        let until = now()
            .checked_add(jiff::SignedDuration::from_secs(600))
            .expect("t");
        assert_eq!(
            s.staff_login("ana", "nope nope!", l, now()).expect("l"),
            Login::Locked { until }
        );
        // Locked: even the right password is refused.
        assert_eq!(
            s.staff_login("ana", PW, l, now()).expect("l"),
            Login::Locked { until }
        );
        assert_eq!(s.list_staff().expect("list")[0].locked_until, Some(until));
        let later = until
            .checked_add(jiff::SignedDuration::from_secs(1))
            .expect("t");
        assert_eq!(
            s.staff_login("ana", PW, l, later).expect("l"),
            Login::Accepted
        );
        let log = s.audit_log(None, 100).expect("audit");
        assert!(log.iter().any(|e| e.action == "staff-locked"), "{log:?}");
    }

    #[test]
    fn bad_names_and_passwords_are_refused() {
        let (_d, mut s) = store();
        for name in ["", "a b", "<script>", &"x".repeat(65)] {
            assert!(s.add_staff(name, PW, "root", now()).is_err(), "{name:?}");
        }
        assert!(s.add_staff("ana", "short", "root", now()).is_err());
        assert!(
            s.add_staff("ana", &"x".repeat(2000), "root", now())
                .is_err()
        );
        assert_eq!(
            s.staff_login("ana", &"x".repeat(1 << 20), Lockout::default(), now())
                .expect("l"),
            Login::Rejected
        );
    }
}
