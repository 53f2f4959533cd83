-- Agent metadata: one row per key (instance id, creation time, …).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Every state change made by a person or an API client.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL,              -- RFC 3339 UTC
    actor     TEXT    NOT NULL,              -- token or user name
    action    TEXT    NOT NULL,              -- e.g. queue.retry
    subject   TEXT    NOT NULL DEFAULT '',   -- what was acted on
    old_value TEXT    NOT NULL DEFAULT '',
    new_value TEXT    NOT NULL DEFAULT '',
    reason    TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log(at);
