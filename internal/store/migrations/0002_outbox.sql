-- Facts bound for the cloud, written in the same transaction as the state
-- change they report, and delivered in order by the dispatcher.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,              -- commission, decommission, aggregate, …
    stream       TEXT    NOT NULL,              -- FIFO scope, e.g. a packaging order
    key          TEXT    NOT NULL,              -- natural key, e.g. GTIN/serial or SSCC
    batch_key    TEXT    NOT NULL DEFAULT '',   -- items with equal kind, stream and batch key may share a request
    payload      BLOB    NOT NULL,              -- JSON
    state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'parked')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL DEFAULT 0,    -- unix ms: not before
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,              -- unix ms
    delivered_at INTEGER,                       -- unix ms
    UNIQUE (kind, key)
) STRICT;
CREATE INDEX outbox_work ON outbox(state, stream, id);
CREATE INDEX outbox_delivered ON outbox(delivered_at) WHERE state = 'delivered';

-- An item waits until the items it depends on are delivered.
CREATE TABLE outbox_deps (
    item       INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    depends_on INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    PRIMARY KEY (item, depends_on)
) STRICT, WITHOUT ROWID;
CREATE INDEX outbox_deps_on ON outbox_deps(depends_on);
