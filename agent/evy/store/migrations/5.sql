-- v5: fleet uplink. Every event a coordination cell should hear of, kept until the broker acknowledged it
-- (PUBACK). Case and message events are written by triggers, so they commit in the same transaction as the
-- change they describe: a crash keeps both or neither. Nothing is queued while the fleet is off.

-- seq is the event's number on this kit (AUTOINCREMENT: never reused after a delete, so kit + seq stays a
-- unique event id for ever). priority: the case's (0 most urgent), 4 kit health, 5 metrics; drained by
-- priority, then oldest first.
CREATE TABLE IF NOT EXISTS uplink (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    topic    TEXT    NOT NULL,               -- cases | health | metrics
    type     TEXT    NOT NULL,               -- case.opened | case.updated | case.status | case.location | message.in | message.out | health | metrics
    priority INTEGER NOT NULL,
    at       REAL    NOT NULL,               -- when it happened (seconds since the epoch)
    data     TEXT    NOT NULL                -- compact JSON
);
CREATE INDEX IF NOT EXISTS uplink_order ON uplink (priority, seq);

-- One row while the fleet is on (the agent sets it at start from fleet.enabled): the triggers queue only then.
CREATE TABLE IF NOT EXISTS uplink_enabled (
    one INTEGER PRIMARY KEY CHECK (one = 1)
);

CREATE TRIGGER IF NOT EXISTS uplink_case_opened AFTER INSERT ON cases
WHEN EXISTS (SELECT 1 FROM uplink_enabled)
BEGIN
    INSERT INTO uplink(topic, type, priority, at, data) VALUES ('cases', 'case.opened', NEW.priority, NEW.opened_at,
        json_object('case', NEW.id, 'sender', NEW.sender, 'opened_at', NEW.opened_at, 'status', NEW.status,
                    'language', NEW.language, 'priority', NEW.priority));
END;

CREATE TRIGGER IF NOT EXISTS uplink_case_changed AFTER UPDATE ON cases
WHEN EXISTS (SELECT 1 FROM uplink_enabled) AND (
    NEW.status IS NOT OLD.status OR NEW.category IS NOT OLD.category OR NEW.topic IS NOT OLD.topic
    OR NEW.priority IS NOT OLD.priority OR NEW.emergency IS NOT OLD.emergency
    OR NEW.location_text IS NOT OLD.location_text OR NEW.latitude IS NOT OLD.latitude
    OR NEW.longitude IS NOT OLD.longitude OR NEW.people IS NOT OLD.people)
BEGIN
    INSERT INTO uplink(topic, type, priority, at, data) VALUES ('cases',
        CASE WHEN NEW.status IS NOT OLD.status THEN 'case.status'
             WHEN NEW.location_text IS NOT OLD.location_text OR NEW.latitude IS NOT OLD.latitude
                  OR NEW.longitude IS NOT OLD.longitude THEN 'case.location'
             ELSE 'case.updated' END,
        NEW.priority, NEW.updated_at,
        json_object('case', NEW.id, 'sender', NEW.sender, 'opened_at', NEW.opened_at, 'status', NEW.status,
                    'language', NEW.language, 'category', NEW.category, 'topic', NEW.topic,
                    'priority', NEW.priority, 'emergency', json(CASE WHEN NEW.emergency THEN 'true' ELSE 'false' END),
                    'location', NEW.location_text, 'lat', NEW.latitude, 'lon', NEW.longitude,
                    'people', NEW.people));
END;

-- A message joins its case in the transaction that handles it.
CREATE TRIGGER IF NOT EXISTS uplink_message_in AFTER UPDATE OF case_id ON messages
WHEN EXISTS (SELECT 1 FROM uplink_enabled) AND NEW.case_id IS NOT NULL AND OLD.case_id IS NULL
BEGIN
    INSERT INTO uplink(topic, type, priority, at, data) VALUES ('cases', 'message.in',
        COALESCE((SELECT priority FROM cases WHERE id = NEW.case_id), 3), NEW.received_at,
        json_object('case', NEW.case_id, 'sender', NEW.sender, 'message', NEW.id, 'text', NEW.text,
                    'received_at', NEW.received_at));
END;

-- A reply to a message of a case has left the kit (by SMS, or relayed by a neighbour). Broadcasts (no
-- message) stay on the kit: the cell already knows what it broadcast.
CREATE TRIGGER IF NOT EXISTS uplink_message_out AFTER UPDATE OF state ON outbox
WHEN EXISTS (SELECT 1 FROM uplink_enabled) AND NEW.message_id IS NOT NULL
    AND NEW.state IN ('sent', 'relayed') AND OLD.state NOT IN ('sent', 'relayed')
BEGIN
    INSERT INTO uplink(topic, type, priority, at, data) VALUES ('cases', 'message.out', NEW.priority,
        COALESCE(NEW.finished_at, NEW.created_at),
        json_object('case', (SELECT case_id FROM messages WHERE id = NEW.message_id), 'recipient', NEW.recipient,
                    'outbox', NEW.id, 'kind', NEW.kind, 'text', NEW.text, 'state', NEW.state,
                    'sent_at', COALESCE(NEW.finished_at, NEW.created_at)));
END;
