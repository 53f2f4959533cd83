-- A large label order is released in steps, each its own short
-- transaction: allocated counts the labels queued so far, and the order is
-- 'released' until all are.
ALTER TABLE label_orders ADD COLUMN allocated INTEGER NOT NULL DEFAULT 0;
UPDATE label_orders SET allocated = (SELECT COUNT(*) FROM labels l WHERE l.order_id = label_orders.order_id);

-- Printers take labels by seq, then id: a pack label's seq is its order's
-- (so an order released in steps is not interleaved with a later one),
-- other labels have 0 and go first (someone at a station waits for them).
ALTER TABLE labels ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE labels SET seq = COALESCE((SELECT o.rowid FROM label_orders o WHERE o.order_id = labels.order_id), 0) WHERE kind = 'pack';
DROP INDEX labels_queue;
CREATE INDEX labels_queue ON labels(printer, state, seq, id);
