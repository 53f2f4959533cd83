-- The audit log becomes append-only and hash-chained (see internal/audit):
-- each entry holds the SHA-256 of the entry before it and its own, as 64
-- lowercase hexadecimal characters. SQL has no SHA-256: the entries
-- written before this migration are sealed by audit.Seal, in Go, in the
-- same transaction right after this file (internal/store/migrate.go).
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR (length(prev_hash) = 64 AND prev_hash NOT GLOB '*[^0-9a-f]*'));
ALTER TABLE audit_log ADD COLUMN hash TEXT CHECK (hash IS NULL OR (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'));
-- What an electronic signature means (21 CFR 11.50); NULL: not a signature.
ALTER TABLE audit_log ADD COLUMN meaning TEXT;

-- The dashboard pages through entries newest first, by user, action,
-- subject or time.
CREATE INDEX audit_log_actor ON audit_log(actor, id);
CREATE INDEX audit_log_action ON audit_log(action, id);
CREATE INDEX audit_log_subject ON audit_log(subject, id);
-- at with its fraction of a second padded to nine digits, so that text
-- order is time order ("10:00:00Z" sorts after "10:00:00.5Z" as written).
-- internal/audit/query.go uses this exact expression.
CREATE INDEX audit_log_time ON audit_log((substr(at, 1, 19) || substr(rtrim(substr(at, 21), 'Z') || '000000000', 1, 9)), id);

-- An entry is never changed. The one update allowed gives an entry written
-- before the chain its prev_hash and hash, once, leaving everything else
-- as it was: that is how audit.Seal seals them.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN OLD.hash IS NOT NULL OR OLD.prev_hash IS NOT NULL OR NEW.hash IS NULL OR NEW.prev_hash IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor IS NOT OLD.actor OR NEW.action IS NOT OLD.action
  OR NEW.subject IS NOT OLD.subject OR NEW.old_value IS NOT OLD.old_value OR NEW.new_value IS NOT OLD.new_value
  OR NEW.reason IS NOT OLD.reason OR NEW.meaning IS NOT OLD.meaning
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- A new entry must extend the chain: the next id, linked to the newest
-- entry (the first one to Genesis, 64 zeros), with a hash. Only
-- audit.Write and audit.WriteSigned write such entries.
CREATE TRIGGER audit_log_append BEFORE INSERT ON audit_log
WHEN NEW.hash IS NULL
  OR NEW.id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log)
  OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1),
                                   '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: a new entry must follow the newest one in the chain');
END;
