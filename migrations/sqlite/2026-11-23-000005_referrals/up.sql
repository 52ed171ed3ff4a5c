-- Referrals (转诊) between institutions. Keep in step with ../../postgres.

CREATE TABLE referrals (
    id                  TEXT PRIMARY KEY NOT NULL,
    handbook_id         TEXT NOT NULL REFERENCES handbooks (id),
    pregnancy_id        TEXT REFERENCES pregnancies (id),
    county_code         TEXT NOT NULL,
    from_institution_id TEXT NOT NULL REFERENCES institutions (id),
    to_institution_id   TEXT NOT NULL REFERENCES institutions (id),
    reason              TEXT NOT NULL,
    urgency             TEXT NOT NULL CHECK (urgency IN ('routine', 'urgent', 'emergency')),
    direction           TEXT NOT NULL CHECK (direction IN ('up', 'down')),
    clinical_summary    TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('sent', 'accepted', 'declined', 'arrived', 'completed')),
    decline_reason      TEXT,
    sent_at             TIMESTAMP NOT NULL,
    sent_by             TEXT NOT NULL,
    accepted_at         TIMESTAMP,
    accepted_by         TEXT,
    declined_at         TIMESTAMP,
    declined_by         TEXT,
    arrived_at          TIMESTAMP,
    arrived_by          TEXT,
    completed_at        TIMESTAMP,
    completed_by        TEXT,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX referrals_to ON referrals (to_institution_id, status, sent_at);
CREATE INDEX referrals_from ON referrals (from_institution_id, sent_at);
CREATE INDEX referrals_handbook ON referrals (handbook_id);
