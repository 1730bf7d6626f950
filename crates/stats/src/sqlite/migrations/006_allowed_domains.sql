-- Allowed queries per profile and the name they are counted under (the listed name of
-- a listed one, else the query name); never who asked.
CREATE TABLE allowed_domains (
    day      TEXT    NOT NULL,
    profile  TEXT    NOT NULL,
    domain   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, profile, domain)
) WITHOUT ROWID;
