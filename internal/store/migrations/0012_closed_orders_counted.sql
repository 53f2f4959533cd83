-- A closed label order is counted as closed, not as the status it kept
-- (completed, suspended, created): the dashboard and the metrics show
-- orders as their readers do. A closed order's status never changes
-- again, so the status trigger leaves closed orders alone.
DROP TRIGGER label_orders_count_update;
CREATE TRIGGER label_orders_count_update AFTER UPDATE OF status ON label_orders
WHEN OLD.status IS NOT NEW.status AND NEW.closed_at IS NULL
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'label_orders' AND k1 = OLD.status AND k2 = '';
    INSERT INTO counters (what, k1, n) VALUES ('label_orders', NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER label_orders_count_close AFTER UPDATE OF closed_at ON label_orders
WHEN OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'label_orders' AND k1 = OLD.status AND k2 = '';
    INSERT INTO counters (what, k1, n) VALUES ('label_orders', 'closed', 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

DROP TRIGGER label_orders_count_delete;
CREATE TRIGGER label_orders_count_delete AFTER DELETE ON label_orders
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'label_orders' AND k2 = ''
        AND k1 = CASE WHEN OLD.closed_at IS NULL THEN OLD.status ELSE 'closed' END;
END;

-- Orders closed before this migration move to 'closed'.
UPDATE counters SET n = n - (SELECT COUNT(*) FROM label_orders o WHERE o.closed_at IS NOT NULL AND o.status = counters.k1)
    WHERE what = 'label_orders' AND k2 = '';
INSERT INTO counters (what, k1, n) SELECT 'label_orders', 'closed', COUNT(*) FROM label_orders WHERE closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET n = excluded.n;
