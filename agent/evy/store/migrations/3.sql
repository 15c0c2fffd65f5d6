-- v3: operations. Subscribers to broadcasts (JOIN/LEAVE), broadcasts and their recipients, the local
-- information an operator sets for the responder, and the agent's health snapshots for the console.

-- People who texted JOIN: they get broadcasts until they text LEAVE or STOP (STOP removes them).
CREATE TABLE IF NOT EXISTS subscribers (
    sender    TEXT PRIMARY KEY,
    language  TEXT NOT NULL DEFAULT 'en',   -- the language of their JOIN
    joined_at REAL NOT NULL
);

-- One operator broadcast. Its recipients are fixed when it is queued (state 'queued').
CREATE TABLE IF NOT EXISTS broadcasts (
    id          INTEGER PRIMARY KEY,
    text        TEXT    NOT NULL,
    audience    TEXT    NOT NULL,            -- subscribers | recent | open_cases
    hours       REAL,                        -- 'recent': everyone who texted in the last this many hours
    encoding    TEXT    NOT NULL,            -- gsm7 | ucs2
    segments    INTEGER NOT NULL,            -- SMS per recipient
    created_at  REAL    NOT NULL,
    created_by  TEXT,                        -- the operator, for the audit trail
    state       TEXT    NOT NULL DEFAULT 'queued',  -- queued | cancelled
    recipients  INTEGER NOT NULL DEFAULT 0
);

-- Each recipient of a broadcast and the outbox entry that carries it (one per recipient, exactly once).
CREATE TABLE IF NOT EXISTS broadcast_recipients (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
    recipient    TEXT    NOT NULL,
    outbox_id    INTEGER,                    -- no REFERENCES: salvage may drop an outbox row it cannot send
    PRIMARY KEY (broadcast_id, recipient)
);
CREATE INDEX IF NOT EXISTS broadcast_recipients_outbox ON broadcast_recipients (outbox_id);
CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (recipient, kind, state);

-- Facts the responder gives for routine questions (shelter, water, food, clinic, roads) until they expire.
CREATE TABLE IF NOT EXISTS local_info (
    id         INTEGER PRIMARY KEY,
    topic      TEXT NOT NULL,                -- shelter | water | food | clinic | roads
    language   TEXT NOT NULL DEFAULT '',     -- '' for every language, else the only one it is given in
    text       TEXT NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    updated_by TEXT
);
CREATE INDEX IF NOT EXISTS local_info_topic ON local_info (topic, expires_at);

-- What only the agent process knows (modem, mesh, airtime, model), as JSON, for the console process:
-- the latest snapshot per source, written at most every health.snapshot_interval seconds.
CREATE TABLE IF NOT EXISTS health_latest (
    source TEXT PRIMARY KEY,                 -- 'agent'
    at     REAL NOT NULL,
    data   TEXT NOT NULL
);

-- Battery and solar history, one row per snapshot, kept health.history_days.
CREATE TABLE IF NOT EXISTS power_history (
    at          REAL PRIMARY KEY,
    battery_pct INTEGER,
    charging    INTEGER,
    external    INTEGER,                     -- a charger (solar, mains) is connected
    volts       REAL,
    amps        REAL,
    watts       REAL
);

-- Events the agent counts that leave no row behind (a follow-up dropped), for /metrics.
CREATE TABLE IF NOT EXISTS event_counts (
    name   TEXT NOT NULL,
    label  TEXT NOT NULL DEFAULT '',
    value  INTEGER NOT NULL,
    PRIMARY KEY (name, label)
);
