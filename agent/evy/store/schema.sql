-- One row per received SMS part. The UNIQUE key makes a re-read of the same part (after a crash between
-- commit and delete from the SIM) a no-op instead of a second message. The text is part of the key because
-- SMSC timestamps have one-second resolution: two different messages from one phone in the same second
-- must stay two messages.
CREATE TABLE IF NOT EXISTS parts (
    id           INTEGER PRIMARY KEY,
    sender       TEXT    NOT NULL,
    scts         TEXT    NOT NULL,           -- SMSC timestamp, ISO-8601, '' when absent
    concat_ref   INTEGER NOT NULL,           -- -1 for a single-part SMS
    concat_total INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    text         TEXT    NOT NULL,
    encoding     TEXT    NOT NULL,
    pdu          TEXT    NOT NULL,
    received_at  REAL    NOT NULL,
    message_id   INTEGER REFERENCES messages(id),
    UNIQUE (sender, scts, concat_ref, seq, text)
);
CREATE INDEX IF NOT EXISTS parts_pending ON parts (message_id, sender, concat_ref);

-- A whole inbound message (parts joined). state: 'new' → 'handled'.
CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY,
    sender      TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    encoding    TEXT    NOT NULL,
    incomplete  INTEGER NOT NULL DEFAULT 0,
    received_at REAL    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'new',
    verdict     TEXT,                        -- what the guards/triage decided, for `evy status` and audits
    handled_at  REAL
);
CREATE INDEX IF NOT EXISTS messages_state ON messages (state, received_at);
CREATE INDEX IF NOT EXISTS messages_sender ON messages (sender, received_at);

-- A reply (or follow-up) to one message. UNIQUE (message_id, kind): a message is answered once.
CREATE TABLE IF NOT EXISTS outbox (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER REFERENCES messages(id),
    kind         TEXT    NOT NULL,           -- 'reply' | 'followup' | 'relay' (from another kit)
    recipient    TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    encoding     TEXT    NOT NULL,
    priority     INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'queued',   -- queued | sent | failed | relaying | relayed
    mesh_id      INTEGER,                    -- while handed to another kit over LoRa (relaying)
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL    NOT NULL,
    last_error   TEXT,
    created_at   REAL    NOT NULL,
    finished_at  REAL,
    UNIQUE (message_id, kind)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, priority, next_attempt);

-- Each SMS-SUBMIT part of an outbox entry. Stored sending: pending → stored → sent; direct: pending → sending → sent.
CREATE TABLE IF NOT EXISTS outbox_parts (
    outbox_id       INTEGER NOT NULL REFERENCES outbox(id),
    seq             INTEGER NOT NULL,
    pdu             TEXT    NOT NULL,
    tpdu_length     INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',   -- pending | stored | sending | sent
    location        INTEGER,                 -- modem storage slot while stored (AT+CMGW)
    reference       INTEGER,                 -- TP-MR the modem gave it
    sent_at         REAL,
    report_status   INTEGER,                 -- TP-ST of the last delivery report
    report_at       REAL,
    PRIMARY KEY (outbox_id, seq)
);
CREATE INDEX IF NOT EXISTS outbox_parts_ref ON outbox_parts (reference, sent_at);

-- Stored PDUs that do not decode: kept raw (for a later codec or a human) and removed from the SIM.
CREATE TABLE IF NOT EXISTS unreadable (
    id          INTEGER PRIMARY KEY,
    pdu         TEXT NOT NULL UNIQUE,
    reason      TEXT NOT NULL,
    received_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS optouts (
    sender     TEXT PRIMARY KEY,
    stopped_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS modem_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    at    REAL NOT NULL
);

-- What happened to the database itself (a damaged file moved aside and salvaged), for `evy status`.
CREATE TABLE IF NOT EXISTS incidents (
    id        INTEGER PRIMARY KEY,
    at        REAL NOT NULL,
    kind      TEXT NOT NULL,                 -- 'damaged'
    detail    TEXT NOT NULL,                 -- the error, one line
    moved_to  TEXT,                          -- where the damaged file was kept for forensics
    recovered TEXT                           -- JSON: rows read back per table, and tables only partly read
);
