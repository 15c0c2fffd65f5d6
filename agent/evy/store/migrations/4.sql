-- v4: the operator console. A merged case points at the case that took its thread over; the audit log keeps
-- every operator action (and, for a case, its status history); notes are the operators' own.
ALTER TABLE cases ADD COLUMN merged_into INTEGER REFERENCES cases(id);

CREATE TABLE IF NOT EXISTS case_notes (
    id      INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    at      REAL    NOT NULL,
    author  TEXT    NOT NULL,
    text    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS case_notes_case ON case_notes (case_id, at);

-- One row per operator action. action_key is the form's one-time key: a resubmitted form (a double click, a
-- browser retry) finds its key taken and does nothing, so a reply or a status SMS is queued exactly once.
CREATE TABLE IF NOT EXISTS audit_log (
    id         INTEGER PRIMARY KEY,
    at         REAL    NOT NULL,
    actor      TEXT    NOT NULL,           -- the console account ('operator', 'observer') or '-' before login
    address    TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,           -- login | login-failed | logout | reply | status | note | merge | export
    case_id    INTEGER REFERENCES cases(id),
    detail     TEXT    NOT NULL DEFAULT '',
    action_key TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_log_case ON audit_log (case_id, at);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
