-- Case management plan: follow-ups and consultations with higher-level experts.
-- Keep in step with ../../sqlite.

CREATE TABLE case_followups (
    id             TEXT PRIMARY KEY NOT NULL,
    case_id        TEXT NOT NULL REFERENCES risk_cases (id),
    county_code    TEXT NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    followed_on    DATE NOT NULL,
    findings       TEXT NOT NULL,
    next_due       DATE,
    recorded_by    TEXT NOT NULL,
    recorded_at    TIMESTAMP(6) NOT NULL
);
CREATE INDEX case_followups_case ON case_followups (case_id, followed_on);

CREATE TABLE consultations (
    id                  TEXT PRIMARY KEY NOT NULL,
    case_id             TEXT NOT NULL REFERENCES risk_cases (id),
    county_code         TEXT NOT NULL,
    from_institution_id TEXT NOT NULL REFERENCES institutions (id),
    to_institution_id   TEXT NOT NULL REFERENCES institutions (id),
    question            TEXT NOT NULL,
    requested_by        TEXT NOT NULL,
    requested_at        TIMESTAMP(6) NOT NULL,
    answer              TEXT,
    answered_by         TEXT,
    answered_at         TIMESTAMP(6)
);
CREATE INDEX consultations_case ON consultations (case_id);
CREATE INDEX consultations_to ON consultations (to_institution_id, answered_at);
