-- The EPCIS 2.0 journal: every commission, aggregation, disaggregation,
-- decommission and shipment of the line as an EPCIS event, written in the
-- same transaction as the fact it describes. seq is the journal's order
-- (the order things happened on the line); event_id is the event's CBV 2.0
-- canonical hash, so the same event is never journalled twice. body is the
-- event as exported and captured (JSON-LD, without the document around it).
CREATE TABLE epcis_events (
    seq        INTEGER PRIMARY KEY,
    event_id   TEXT    NOT NULL UNIQUE CHECK (event_id LIKE 'ni:///sha-256;%'),
    event_type TEXT    NOT NULL CHECK (event_type IN ('ObjectEvent', 'AggregationEvent')),
    action     TEXT    NOT NULL CHECK (action IN ('ADD', 'OBSERVE', 'DELETE')),
    biz_step   TEXT    NOT NULL,
    event_time INTEGER NOT NULL,               -- unix ms
    order_id   TEXT    NOT NULL DEFAULT '',    -- the label order of the serial, where there is one
    body       BLOB    NOT NULL
) STRICT;
CREATE INDEX epcis_events_time ON epcis_events(event_time);
-- No index on order_id: every printed label writes an event, and an
-- order's export (which reads them once) can afford a scan.

-- Every EPC an event names (epcList, parentID, childEPCs), for queries by
-- EPC and for an order's export (the events of every EPC it commissioned).
CREATE TABLE epcis_epcs (
    epc TEXT    NOT NULL,
    seq INTEGER NOT NULL REFERENCES epcis_events(seq),
    PRIMARY KEY (epc, seq)
) STRICT, WITHOUT ROWID;

-- The journal is a record: never changed, never deleted.
CREATE TRIGGER epcis_events_no_update BEFORE UPDATE ON epcis_events
BEGIN
    SELECT RAISE(ABORT, 'the EPCIS journal is a record: an event is never changed');
END;
CREATE TRIGGER epcis_events_no_delete BEFORE DELETE ON epcis_events
BEGIN
    SELECT RAISE(ABORT, 'the EPCIS journal is a record: an event is never deleted');
END;
