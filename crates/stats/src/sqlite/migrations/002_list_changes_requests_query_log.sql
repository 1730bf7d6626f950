CREATE TABLE list_changes (
    id            INTEGER PRIMARY KEY,
    compiled_at   TEXT    NOT NULL,  -- UTC, YYYY-MM-DDTHH:MM:SSZ
    old_version   TEXT    NOT NULL,
    new_version   TEXT    NOT NULL,
    category      TEXT    NOT NULL,
    added         INTEGER NOT NULL,
    removed       INTEGER NOT NULL,
    recategorised INTEGER NOT NULL
);
CREATE INDEX list_changes_compiled_at ON list_changes (compiled_at);
CREATE TABLE list_change_names (
    change_id     INTEGER NOT NULL REFERENCES list_changes (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    change        TEXT    NOT NULL
                  CHECK (change IN ('added', 'removed', 'recategorised')),
    from_category TEXT,
    PRIMARY KEY (change_id, name, change)
) WITHOUT ROWID;
CREATE TABLE unblock_requests (
    id              INTEGER PRIMARY KEY,
    requested_at    TEXT NOT NULL,
    profile         TEXT NOT NULL,
    domain          TEXT NOT NULL,
    category        TEXT,
    reason          TEXT,              -- as typed by the requester; no contact details
    decision        TEXT NOT NULL DEFAULT 'pending',
    decided_at      TEXT,
    decided_by_role TEXT               -- a role ("librarian"), never a person
);
CREATE INDEX unblock_requests_requested_at ON unblock_requests (requested_at);
CREATE TABLE query_log (
    ts       TEXT NOT NULL,  -- UTC, YYYY-MM-DDTHH:MM:SSZ
    profile  TEXT NOT NULL,
    client   TEXT NOT NULL,  -- truncated network or keyed hash unless opted in
    name     TEXT NOT NULL,
    qtype    TEXT NOT NULL,
    action   TEXT NOT NULL,
    category TEXT NOT NULL
);
CREATE INDEX query_log_ts ON query_log (ts);
