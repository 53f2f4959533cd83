-- Stations: what each one is doing, so a restart resumes where it was.
CREATE TABLE stations (
    name        TEXT    PRIMARY KEY,
    mode        TEXT    NOT NULL CHECK (mode IN ('case', 'pallet', 'decommission', 'ship')),
    reason      TEXT    NOT NULL DEFAULT '',     -- decommission reason
    order_id    TEXT    NOT NULL DEFAULT '',     -- active packaging order ('' = the line's only open one)
    container   TEXT    NOT NULL DEFAULT '',     -- the open container's SSCC
    remove_next INTEGER NOT NULL DEFAULT 0,      -- the next scanned item is taken out of its container
    updated_at  INTEGER NOT NULL
) STRICT;

-- SSCC serial references, per company prefix and extension digit: only
-- ever counted up, so an SSCC is never issued twice.
CREATE TABLE sscc_counters (
    prefix    TEXT    NOT NULL,
    extension INTEGER NOT NULL,
    next      INTEGER NOT NULL,
    PRIMARY KEY (prefix, extension)
) STRICT;

-- Cases and pallets.
CREATE TABLE containers (
    sscc        TEXT    PRIMARY KEY,
    level       TEXT    NOT NULL CHECK (level IN ('case', 'pallet')),
    state       TEXT    NOT NULL CHECK (state IN ('open', 'closed', 'cancelled', 'disaggregated')),
    station     TEXT    NOT NULL,
    order_id    TEXT    NOT NULL DEFAULT '',
    origin      TEXT    NOT NULL CHECK (origin IN ('allocated', 'scanned')),
    gen         INTEGER NOT NULL DEFAULT 1,       -- how many times it was closed (aggregation key)
    label_state TEXT    NOT NULL DEFAULT '',      -- of its SSCC label when printed here
    opened_at   INTEGER NOT NULL,
    closed_at   INTEGER
) STRICT;
CREATE INDEX containers_state ON containers(state, level);

-- What is in a container: packs (gtin, serial) or containers (child).
-- The unique indexes make it impossible to hold one item twice.
CREATE TABLE container_items (
    id     INTEGER PRIMARY KEY,
    sscc   TEXT    NOT NULL REFERENCES containers(sscc),
    gtin   TEXT,
    serial TEXT,
    child  TEXT    REFERENCES containers(sscc),
    batch  TEXT    NOT NULL DEFAULT '',
    expiry TEXT    NOT NULL DEFAULT '',
    CHECK ((child IS NULL) != (serial IS NULL))
) STRICT;
CREATE UNIQUE INDEX container_items_pack ON container_items(gtin, serial) WHERE serial IS NOT NULL;
CREATE UNIQUE INDEX container_items_child ON container_items(child) WHERE child IS NOT NULL;
CREATE INDEX container_items_sscc ON container_items(sscc, id);

-- Every scan at a station and its verdict.
CREATE TABLE scans (
    id        INTEGER PRIMARY KEY,
    station   TEXT    NOT NULL,
    source    TEXT    NOT NULL,
    at        INTEGER NOT NULL,                  -- unix ms the scan arrived
    raw       TEXT    NOT NULL,                  -- as read, control characters escaped
    ok        INTEGER NOT NULL,
    code      TEXT    NOT NULL,                  -- e.g. added, wrong_batch
    message   TEXT    NOT NULL,
    container TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX scans_station ON scans(station, id);

-- Shipping orders scanned at ship stations and what became of them.
CREATE TABLE ship_orders (
    id          INTEGER PRIMARY KEY,
    station     TEXT    NOT NULL,
    order_ref   TEXT    NOT NULL,                -- the order number as scanned
    state       TEXT    NOT NULL CHECK (state IN ('collected', 'requested', 'labelled', 'printing', 'printed',
                                                  'unknown', 'failed')),
    request     TEXT    NOT NULL DEFAULT '',     -- the request it went out with
    shipment_id TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT '',     -- the API's reason when it failed
    label       BLOB,                            -- ZPL as downloaded
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ship_orders_live ON ship_orders(order_ref) WHERE state NOT IN ('failed');
CREATE INDEX ship_orders_station ON ship_orders(station, state);
