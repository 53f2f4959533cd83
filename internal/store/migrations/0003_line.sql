-- Master data: products and their batches known on this line.
CREATE TABLE products (
    gtin   TEXT PRIMARY KEY,
    market TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE batches (
    gtin   TEXT NOT NULL REFERENCES products(gtin),
    batch  TEXT NOT NULL,
    expiry TEXT NOT NULL DEFAULT '',        -- YYMMDD
    PRIMARY KEY (gtin, batch)
) STRICT;

-- The serial ledger: one row per serial number of a product.
CREATE TABLE serials (
    gtin        TEXT    NOT NULL,
    serial      TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('available', 'allocated', 'printing', 'printed', 'unknown',
                                                  'commissioned', 'decommissioned')),
    origin      TEXT    NOT NULL DEFAULT 'generated' CHECK (origin IN ('generated', 'imported')),
    order_id    TEXT,
    label_id    INTEGER,
    batch       TEXT    NOT NULL DEFAULT '',
    expiry      TEXT    NOT NULL DEFAULT '',
    parent_sscc TEXT,
    reason      TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (gtin, serial)
) STRICT;
CREATE INDEX serials_pool ON serials(gtin, state);

CREATE TABLE label_orders (
    order_id    TEXT    PRIMARY KEY,
    gtin        TEXT    NOT NULL,
    batch       TEXT    NOT NULL,
    expiry      TEXT    NOT NULL DEFAULT '',
    quantity    INTEGER NOT NULL,
    extra       INTEGER NOT NULL DEFAULT 0,
    destination TEXT    NOT NULL,
    template    TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('created', 'released', 'printing', 'completed', 'suspended')),
    message     TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    request     BLOB    NOT NULL               -- the order as received (JSON)
) STRICT;

-- One row per physical label.
CREATE TABLE labels (
    id         INTEGER PRIMARY KEY,
    order_id   TEXT    NOT NULL REFERENCES label_orders(order_id),
    gtin       TEXT    NOT NULL,
    serial     TEXT    NOT NULL,
    printer    TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('queued', 'printing', 'printed', 'unknown', 'voided')),
    reason     TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX labels_order ON labels(order_id, state);
CREATE INDEX labels_state ON labels(state);

CREATE TABLE packaging_orders (
    order_id   TEXT    PRIMARY KEY,
    data       BLOB    NOT NULL,               -- the order (JSON, V2 fields)
    status     TEXT    NOT NULL,               -- Open, Pending release, In progress, …
    origin     TEXT    NOT NULL CHECK (origin IN ('local', 'cloud')),
    line       TEXT    NOT NULL DEFAULT '',    -- the line it is active on
    created_at INTEGER NOT NULL
) STRICT;
