-- Every label the agent prints is a row of the ledger: pack labels of label
-- orders, SSCC labels of containers, carriers' shipping labels and test
-- labels alike. Printer runners take the oldest queued label of their
-- printer from here.
CREATE TABLE labels_v5 (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL DEFAULT 'pack' CHECK (kind IN ('pack', 'sscc', 'shipping', 'test')),
    order_id   TEXT    REFERENCES label_orders(order_id), -- pack labels: their label order
    gtin       TEXT    NOT NULL DEFAULT '',
    serial     TEXT    NOT NULL DEFAULT '',
    subject    TEXT    NOT NULL DEFAULT '',               -- what it carries: serial, SSCC, shipping order
    template   TEXT    NOT NULL DEFAULT '',               -- pack labels are rendered from it when printed
    data       BLOB,                                      -- other labels: the ZPL to print
    printer    TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('queued', 'printing', 'printed', 'unknown', 'voided')),
    reason     TEXT    NOT NULL DEFAULT '',
    reprints   INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO labels_v5 (id, kind, order_id, gtin, serial, subject, template, printer, state, reason, updated_at)
    SELECT l.id, 'pack', l.order_id, l.gtin, l.serial, l.serial, COALESCE(o.template, ''), l.printer, l.state, l.reason, l.updated_at
    FROM labels l LEFT JOIN label_orders o ON o.order_id = l.order_id;
DROP TABLE labels;
ALTER TABLE labels_v5 RENAME TO labels;
CREATE INDEX labels_order ON labels(order_id, state);
CREATE INDEX labels_state ON labels(state);
CREATE INDEX labels_queue ON labels(printer, state, id);
