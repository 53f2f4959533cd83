-- Counters of the line's records, so that the dashboard and the metrics
-- read a handful of rows instead of counting whole tables: a page rendered
-- once a second for every open tab costs the same at ten million serials
-- as at ten thousand.
--
-- Triggers keep them, not the Go code that writes the tables: a trigger runs
-- inside the statement that changes a row, so a counter is changed in the
-- same transaction (and the same savepoint) as the fact it counts, by every
-- writer there is — the ledger, the stations, the dispatcher, the retention
-- purge, a later migration, a person with the sqlite3 shell — and rolls back
-- with it. A counter is never ahead of or behind what is committed, and no
-- writer can forget one.
--
-- what names what is counted, k1 and k2 by what:
--   labels        printer, state       (last_id: the printer's newest printed label)
--   order_labels  label order, state   (labels of a label order)
--   serials       GTIN, state
--   containers    level, state
--   order_cases   packaging order, state (cases only)
--   label_orders  status, ''
--   outbox        state, ''
-- A count that fell to 0 keeps its row with n = 0; readers skip those.
CREATE TABLE counters (
    what    TEXT    NOT NULL,
    k1      TEXT    NOT NULL,
    k2      TEXT    NOT NULL DEFAULT '',
    n       INTEGER NOT NULL DEFAULT 0,
    last_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (what, k1, k2)
) STRICT, WITHOUT ROWID;

-- Labels, by printer and state, and a label order's labels by state: one
-- trigger each for both, a label moving twice on its way to the printer.
-- A label is only ever moved into printed (never out of it) by the ledger,
-- so the newest printed label is the greatest id that entered the state;
-- should another writer take a label out of printed or delete it, the
-- newest is looked up again.
CREATE TRIGGER labels_count_insert AFTER INSERT ON labels
BEGIN
    INSERT INTO counters (what, k1, k2, n, last_id) VALUES ('labels', NEW.printer, NEW.state, 1, iif(NEW.state = 'printed', NEW.id, 0))
        ON CONFLICT DO UPDATE SET n = n + 1, last_id = max(last_id, excluded.last_id);
    INSERT INTO counters (what, k1, k2, n) SELECT 'order_labels', NEW.order_id, NEW.state, 1 WHERE NEW.order_id IS NOT NULL
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER labels_count_update AFTER UPDATE OF printer, state, order_id ON labels
WHEN OLD.printer IS NOT NEW.printer OR OLD.state IS NOT NEW.state OR OLD.order_id IS NOT NEW.order_id
BEGIN
    UPDATE counters SET n = n - 1,
        last_id = iif(last_id = OLD.id, COALESCE((SELECT MAX(id) FROM labels WHERE printer = OLD.printer AND state = 'printed'), 0), last_id)
        WHERE what = 'labels' AND k1 = OLD.printer AND k2 = OLD.state;
    INSERT INTO counters (what, k1, k2, n, last_id) VALUES ('labels', NEW.printer, NEW.state, 1, iif(NEW.state = 'printed', NEW.id, 0))
        ON CONFLICT DO UPDATE SET n = n + 1, last_id = max(last_id, excluded.last_id);
    UPDATE counters SET n = n - 1 WHERE what = 'order_labels' AND k1 = OLD.order_id AND k2 = OLD.state;
    INSERT INTO counters (what, k1, k2, n) SELECT 'order_labels', NEW.order_id, NEW.state, 1 WHERE NEW.order_id IS NOT NULL
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER labels_count_delete AFTER DELETE ON labels
BEGIN
    UPDATE counters SET n = n - 1,
        last_id = iif(last_id = OLD.id, COALESCE((SELECT MAX(id) FROM labels WHERE printer = OLD.printer AND state = 'printed'), 0), last_id)
        WHERE what = 'labels' AND k1 = OLD.printer AND k2 = OLD.state;
    UPDATE counters SET n = n - 1 WHERE what = 'order_labels' AND k1 = OLD.order_id AND k2 = OLD.state;
END;

-- Serials, by product and state.
CREATE TRIGGER serials_count_insert AFTER INSERT ON serials
BEGIN
    INSERT INTO counters (what, k1, k2, n) VALUES ('serials', NEW.gtin, NEW.state, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER serials_count_update AFTER UPDATE OF gtin, state ON serials
WHEN OLD.gtin IS NOT NEW.gtin OR OLD.state IS NOT NEW.state
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'serials' AND k1 = OLD.gtin AND k2 = OLD.state;
    INSERT INTO counters (what, k1, k2, n) VALUES ('serials', NEW.gtin, NEW.state, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER serials_count_delete AFTER DELETE ON serials
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'serials' AND k1 = OLD.gtin AND k2 = OLD.state;
END;

-- Containers, by level and state; cases also by packaging order and state.
CREATE TRIGGER containers_count_insert AFTER INSERT ON containers
BEGIN
    INSERT INTO counters (what, k1, k2, n) VALUES ('containers', NEW.level, NEW.state, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO counters (what, k1, k2, n) SELECT 'order_cases', NEW.order_id, NEW.state, 1 WHERE NEW.level = 'case'
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER containers_count_update AFTER UPDATE OF level, state, order_id ON containers
WHEN OLD.level IS NOT NEW.level OR OLD.state IS NOT NEW.state OR OLD.order_id IS NOT NEW.order_id
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'containers' AND k1 = OLD.level AND k2 = OLD.state;
    INSERT INTO counters (what, k1, k2, n) VALUES ('containers', NEW.level, NEW.state, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    UPDATE counters SET n = n - 1 WHERE OLD.level = 'case' AND what = 'order_cases' AND k1 = OLD.order_id AND k2 = OLD.state;
    INSERT INTO counters (what, k1, k2, n) SELECT 'order_cases', NEW.order_id, NEW.state, 1 WHERE NEW.level = 'case'
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER containers_count_delete AFTER DELETE ON containers
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'containers' AND k1 = OLD.level AND k2 = OLD.state;
    UPDATE counters SET n = n - 1 WHERE OLD.level = 'case' AND what = 'order_cases' AND k1 = OLD.order_id AND k2 = OLD.state;
END;

-- Label orders, by status.
CREATE TRIGGER label_orders_count_insert AFTER INSERT ON label_orders
BEGIN
    INSERT INTO counters (what, k1, n) VALUES ('label_orders', NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER label_orders_count_update AFTER UPDATE OF status ON label_orders
WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'label_orders' AND k1 = OLD.status AND k2 = '';
    INSERT INTO counters (what, k1, n) VALUES ('label_orders', NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER label_orders_count_delete AFTER DELETE ON label_orders
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'label_orders' AND k1 = OLD.status AND k2 = '';
END;

-- Outbox items, by state: the dispatcher's deliveries and the retention
-- purge change them by the hundred, a row each.
CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox
BEGIN
    INSERT INTO counters (what, k1, n) VALUES ('outbox', NEW.state, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER outbox_count_update AFTER UPDATE OF state ON outbox
WHEN OLD.state IS NOT NEW.state
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'outbox' AND k1 = OLD.state AND k2 = '';
    INSERT INTO counters (what, k1, n) VALUES ('outbox', NEW.state, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox
BEGIN
    UPDATE counters SET n = n - 1 WHERE what = 'outbox' AND k1 = OLD.state AND k2 = '';
END;

-- The counters start from the rows there are.
INSERT INTO counters (what, k1, k2, n, last_id)
    SELECT 'labels', printer, state, COUNT(*), iif(state = 'printed', MAX(id), 0) FROM labels GROUP BY printer, state;
INSERT INTO counters (what, k1, k2, n)
    SELECT 'order_labels', order_id, state, COUNT(*) FROM labels WHERE order_id IS NOT NULL GROUP BY order_id, state;
INSERT INTO counters (what, k1, k2, n) SELECT 'serials', gtin, state, COUNT(*) FROM serials GROUP BY gtin, state;
INSERT INTO counters (what, k1, k2, n) SELECT 'containers', level, state, COUNT(*) FROM containers GROUP BY level, state;
INSERT INTO counters (what, k1, k2, n)
    SELECT 'order_cases', order_id, state, COUNT(*) FROM containers WHERE level = 'case' GROUP BY order_id, state;
INSERT INTO counters (what, k1, n) SELECT 'label_orders', status, COUNT(*) FROM label_orders GROUP BY status;
INSERT INTO counters (what, k1, n) SELECT 'outbox', state, COUNT(*) FROM outbox GROUP BY state;

-- The oldest pending facts (the age of the first, and the queue page's
-- first fifty) and the newest parked ones are read from the front of an
-- index of their own, not sorted out from among everything delivered and
-- kept. The state leads in them, as in outbox_work, so that the planner
-- takes them for "state = 'pending' ORDER BY id" without statistics.
CREATE INDEX outbox_pending ON outbox(state, id) WHERE state = 'pending';
CREATE INDEX outbox_parked ON outbox(state, id) WHERE state = 'parked';

-- The newest label orders, for the overview and the orders page, without
-- sorting them all.
CREATE INDEX label_orders_newest ON label_orders(created_at DESC, order_id);
