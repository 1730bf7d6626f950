-- The table of version 2 was never written by hedge; it is rebuilt with a status
-- the database checks, a repeat count and the decision's details (see requests.rs).
CREATE TABLE unblock_requests_v4 (
    id                INTEGER PRIMARY KEY,
    requested_at      TEXT    NOT NULL,  -- first asked, UTC
    last_requested_at TEXT,              -- the latest repeat merged into it
    profile           TEXT    NOT NULL,
    domain            TEXT    NOT NULL,
    category          TEXT,              -- what blocked it, when the asker saw it
    reason            TEXT,              -- as typed by the first asker
    count             INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
    status            TEXT    NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'granted', 'denied', 'withdrawn')),
    decided_at        TEXT,
    decided_by        TEXT,              -- the staff member (or role) who decided
    note              TEXT,
    grant_until       TEXT               -- a grant's expiry; NULL: no expiry
);
INSERT INTO unblock_requests_v4
    (id, requested_at, profile, domain, category, reason, status, decided_at,
     decided_by)
    SELECT id, requested_at, profile, domain, category, reason,
           CASE WHEN decision IN ('granted', 'denied', 'withdrawn') THEN decision
                ELSE 'open' END,
           decided_at, decided_by_role
    FROM unblock_requests;
DROP TABLE unblock_requests;
ALTER TABLE unblock_requests_v4 RENAME TO unblock_requests;
CREATE INDEX unblock_requests_requested_at ON unblock_requests (requested_at);
CREATE INDEX unblock_requests_name ON unblock_requests (domain, profile, status);
-- Personal data, apart from the request so that it is never exported and is
-- deleted sooner (requests.rs: CONTACT_*_DAYS).
CREATE TABLE unblock_request_contacts (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES unblock_requests (id) ON DELETE CASCADE,
    given_at   TEXT    NOT NULL,
    contact    TEXT    NOT NULL
);
CREATE INDEX unblock_request_contacts_request
    ON unblock_request_contacts (request_id);
-- One row per granted (name, profile); live while not revoked and not expired.
CREATE TABLE grants (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER REFERENCES unblock_requests (id) ON DELETE SET NULL,
    domain     TEXT    NOT NULL,
    profile    TEXT    NOT NULL,
    granted_at TEXT    NOT NULL,
    granted_by TEXT    NOT NULL,
    until      TEXT,                     -- NULL: until revoked
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE INDEX grants_live ON grants (revoked_at, until);
-- The live local recategorisations, one per (name, category); their history is
-- in the audit log.
CREATE TABLE recategorisations (
    domain   TEXT    NOT NULL,
    category TEXT    NOT NULL,
    added    INTEGER NOT NULL CHECK (added IN (0, 1)),  -- 1 into, 0 out of
    by       TEXT    NOT NULL,
    at       TEXT    NOT NULL,
    PRIMARY KEY (domain, category)
) WITHOUT ROWID;
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT    NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    detail TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
