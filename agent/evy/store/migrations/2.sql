-- v2: cases. A case is one person's conversation with the kit (agent/evy/cases/state.py has its rules);
-- each inbound message names its case, and a reply's case is its message's.
CREATE TABLE IF NOT EXISTS cases (
    id            INTEGER PRIMARY KEY,
    sender        TEXT    NOT NULL,
    opened_at     REAL    NOT NULL,
    updated_at    REAL    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'new',  -- new | acknowledged | dispatched | resolved | closed
    language      TEXT    NOT NULL DEFAULT 'en',
    category      TEXT,
    topic         TEXT,                    -- the protocol followed, e.g. 'cpr'
    priority      INTEGER NOT NULL DEFAULT 3,
    emergency     INTEGER NOT NULL DEFAULT 0,
    step          TEXT    NOT NULL DEFAULT '',   -- protocol step reached, answer classes joined by '/'
    asked         TEXT    NOT NULL DEFAULT '',   -- questions already asked, keys joined by ','
    location_text TEXT,
    latitude      REAL,
    longitude     REAL,
    people        INTEGER,
    last_in_at    REAL,
    last_out_at   REAL
);
CREATE INDEX IF NOT EXISTS cases_sender ON cases (sender, updated_at);
CREATE INDEX IF NOT EXISTS cases_board ON cases (status, priority, opened_at);

ALTER TABLE messages ADD COLUMN case_id INTEGER REFERENCES cases(id);
CREATE INDEX IF NOT EXISTS messages_case ON messages (case_id, received_at);
