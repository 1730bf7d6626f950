CREATE TABLE counts (
    day      TEXT    NOT NULL,  -- UTC day, YYYY-MM-DD
    profile  TEXT    NOT NULL,
    category TEXT    NOT NULL,  -- taxonomy id, or '-' for no category
    action   TEXT    NOT NULL,  -- allowed|blocked|rewritten|refused|servfail
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, profile, category, action)
) WITHOUT ROWID;
CREATE TABLE blocked_domains (
    day      TEXT    NOT NULL,
    profile  TEXT    NOT NULL,
    category TEXT    NOT NULL,
    domain   TEXT    NOT NULL,  -- the blocked name; never who asked
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, profile, category, domain)
) WITHOUT ROWID;
