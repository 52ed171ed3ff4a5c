DROP INDEX handbooks_pending_identity;
-- Several app starts may share a number now; the oldest takes it back unless a clinic holds it.
UPDATE handbooks SET id_blind_index = pending_identity_index
WHERE pending_identity_index IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM handbooks h2 WHERE h2.id_blind_index = handbooks.pending_identity_index)
  AND id = (SELECT MIN(h3.id) FROM handbooks h3
            WHERE h3.pending_identity_index = handbooks.pending_identity_index);
ALTER TABLE handbooks DROP COLUMN pending_identity_index;
DROP TABLE throttle_locks;
DROP TABLE throttle_attempts;
