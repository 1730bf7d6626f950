-- Always the sum of blocked_domains over the month's days still kept: written in
-- the same transaction, and the oldest month recomputed by each prune.
CREATE TABLE blocked_domains_monthly (
    domain   TEXT    NOT NULL,
    category TEXT    NOT NULL,
    month    TEXT    NOT NULL,  -- YYYY-MM
    profile  TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (domain, category, month, profile)
) WITHOUT ROWID;
INSERT INTO blocked_domains_monthly (domain, category, month, profile, n)
    SELECT domain, category, substr(day, 1, 7), profile, SUM(n)
    FROM blocked_domains GROUP BY 1, 2, 3, 4;
