-- Issue #14. Throttles counted atomically: an attempt is reserved (state 'pending') in the same
-- transaction that counts, under a row lock on its key (throttle_locks), and becomes a
-- 'failure' or is deleted once the outcome is known. Operational state, purged after the window.
CREATE TABLE throttle_attempts (
    id          TEXT PRIMARY KEY NOT NULL,
    action      TEXT NOT NULL,
    label       TEXT NOT NULL,
    client_addr TEXT,
    started_at  TIMESTAMP(6) NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'failure'))
);
CREATE INDEX throttle_attempts_label ON throttle_attempts (action, label, started_at);
CREATE INDEX throttle_attempts_addr ON throttle_attempts (action, client_addr, started_at);
CREATE TABLE throttle_locks (
    key        TEXT PRIMARY KEY NOT NULL,
    touched_at TIMESTAMP(6) NOT NULL
);

-- A handbook started in the app does not claim its identity document: anyone can type a number,
-- and refusing a second start would tell a stranger the number is registered. Its blind index
-- waits in pending_identity_index (not unique) until a clinic registers the woman.
ALTER TABLE handbooks ADD COLUMN pending_identity_index TEXT;
UPDATE handbooks SET pending_identity_index = id_blind_index, id_blind_index = 'pending:' || id
WHERE status = 'pending';
CREATE INDEX handbooks_pending_identity ON handbooks (pending_identity_index)
WHERE pending_identity_index IS NOT NULL;
