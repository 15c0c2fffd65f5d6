-- v7: the signed downlink from the coordination cell (evy/downlink/). One row per signer with the highest
-- sequence number applied from it: a message at or below it is a replay or a rollback and is refused. Every
-- message the kit verified or refused is logged once, with what became of it.
CREATE TABLE IF NOT EXISTS downlink_signers (
    signer     TEXT PRIMARY KEY,                -- the key's fingerprint
    last_seq   INTEGER NOT NULL,
    last_digest TEXT   NOT NULL,                -- sha256 of the envelope applied at last_seq (a redelivery of it is no replay)
    updated_at REAL    NOT NULL
);

CREATE TABLE IF NOT EXISTS downlink_log (
    id          INTEGER PRIMARY KEY,
    received_at REAL    NOT NULL,
    topic       TEXT    NOT NULL,
    signer      TEXT,                           -- NULL when the message could not be read that far
    seq         INTEGER,
    kind        TEXT,                           -- localinfo | broadcast | protocols | knowledge | config
    outcome     TEXT    NOT NULL CHECK (outcome IN ('applied', 'refused')),
    reason      TEXT    NOT NULL,               -- refused: why (one line); applied: what changed
    digest      TEXT    NOT NULL                -- sha256 of the raw message
);
CREATE INDEX IF NOT EXISTS downlink_log_outcome ON downlink_log (outcome, id);
