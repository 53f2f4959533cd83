-- The printer's odometer around each label, as its runner read it:
-- odo_before just before the label's bytes left, odo_after when the
-- printer confirmed it. NULL: not read (a printer without an odometer, a
-- file transport, a label a person resolved as printed). A label order's
-- reconciliation compares the odometer's travel over the order with the
-- labels the ledger holds; the index finds a printer's other labels
-- confirmed within that travel.
ALTER TABLE labels ADD COLUMN odo_before INTEGER;
ALTER TABLE labels ADD COLUMN odo_after INTEGER;
CREATE INDEX labels_odometer ON labels(printer, odo_after) WHERE odo_after IS NOT NULL;

-- A label order a supervisor has closed: nothing of it is released or
-- printed again. NULL: open. Its status stays what it was (completed,
-- suspended, created); readers show it as closed.
ALTER TABLE label_orders ADD COLUMN closed_at INTEGER; -- unix ms

-- The reconciliation written when a label order is closed, in the same
-- transaction as the close and its audit entry: the report as answered by
-- GET /api/v1/label-orders/ID/reconciliation, who signed it and why, and
-- the SHA-256 of the report, which the audit entry also holds, so that the
-- report cannot be changed without the audit chain showing it.
CREATE TABLE reconciliations (
    order_id  TEXT    PRIMARY KEY REFERENCES label_orders(order_id),
    at        INTEGER NOT NULL,                -- unix ms
    signed_by TEXT    NOT NULL,                -- as the audit log names the actor: user:NAME, api:local, cli:…
    meaning   TEXT    NOT NULL DEFAULT '',     -- of the electronic signature; '' without one (the service token)
    reason    TEXT    NOT NULL,
    balanced  INTEGER NOT NULL,                -- 1: every check of the report holds
    report    BLOB    NOT NULL,                -- JSON
    sha256    TEXT    NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    audit_id  INTEGER NOT NULL                 -- the audit entry of the close
) STRICT;

-- A reconciliation is a record: never changed, never deleted.
CREATE TRIGGER reconciliations_no_update BEFORE UPDATE ON reconciliations
BEGIN
    SELECT RAISE(ABORT, 'a reconciliation is a record: it is never changed');
END;
CREATE TRIGGER reconciliations_no_delete BEFORE DELETE ON reconciliations
BEGIN
    SELECT RAISE(ABORT, 'a reconciliation is a record: it is never deleted');
END;
