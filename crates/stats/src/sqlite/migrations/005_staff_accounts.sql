-- Staff accounts of the portal's staff pages (staff.rs): argon2id PHC strings,
-- and the failed logins that lock an account for a while.
CREATE TABLE staff_accounts (
    name            TEXT    PRIMARY KEY,
    password_hash   TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT
) WITHOUT ROWID;
