-- v6: cases handed between kits over the mesh. 'out': an operator handed this kit's case to a neighbour kit
-- nearer its sender (queued by the console, sent by the agent, settled by the mesh's end-to-end ACK). 'in': a
-- neighbour handed a case to this kit, which opened case_id for it; (peer, peer_code) is unique so a message
-- heard again after a retry opens nothing twice.
CREATE TABLE IF NOT EXISTS case_handovers (
    id          INTEGER PRIMARY KEY,
    direction   TEXT    NOT NULL,            -- out | in
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    peer        TEXT    NOT NULL,            -- the other kit's mesh node id, 8 hex digits
    peer_code   TEXT,                        -- in: the case's code on the kit that handed it over
    state       TEXT    NOT NULL,            -- out: queued | sent | delivered | failed; in: received
    mesh_id     INTEGER,                     -- out, while sent: the mesh message id its ACK will name
    actor       TEXT    NOT NULL DEFAULT '',
    created_at  REAL    NOT NULL,
    sent_at     REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS case_handovers_case ON case_handovers (case_id);
CREATE INDEX IF NOT EXISTS case_handovers_due ON case_handovers (direction, state);
CREATE UNIQUE INDEX IF NOT EXISTS case_handovers_received ON case_handovers (peer, peer_code) WHERE direction = 'in';
