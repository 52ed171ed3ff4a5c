-- Pregnancy risk: screenings (初筛), gradings (评估) with proposal and decision, and the current
-- state per pregnancy. Keep in step with ../../sqlite.

CREATE TABLE risk_screenings (
    id             TEXT PRIMARY KEY NOT NULL,
    pregnancy_id   TEXT NOT NULL REFERENCES pregnancies (id),
    handbook_id    TEXT NOT NULL REFERENCES handbooks (id),
    county_code    TEXT NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    positive       BOOLEAN NOT NULL,
    -- comma-separated codes: every positive item, and those the clinician ticked
    codes          TEXT NOT NULL,
    ticked         TEXT NOT NULL,
    input          TEXT NOT NULL,
    note           TEXT,
    screened_by    TEXT NOT NULL,
    screened_at    TIMESTAMP(6) NOT NULL
);
CREATE INDEX risk_screenings_pregnancy ON risk_screenings (pregnancy_id, screened_at);

CREATE TABLE risk_gradings (
    id              TEXT PRIMARY KEY NOT NULL,
    pregnancy_id    TEXT NOT NULL REFERENCES pregnancies (id),
    handbook_id     TEXT NOT NULL REFERENCES handbooks (id),
    county_code     TEXT NOT NULL,
    institution_id  TEXT NOT NULL REFERENCES institutions (id),
    -- what the engine was given: facts from the record merged with the clinician's (JSON)
    input           TEXT NOT NULL,
    facts           TEXT NOT NULL,
    ticked          TEXT NOT NULL,
    proposed_base   TEXT NOT NULL,
    proposed_purple BOOLEAN NOT NULL,
    proposed_codes  TEXT NOT NULL,
    decided_base    TEXT NOT NULL,
    decided_purple  BOOLEAN NOT NULL,
    override_reason TEXT,
    missing_core    TEXT NOT NULL,
    graded_by       TEXT NOT NULL,
    graded_at       TIMESTAMP(6) NOT NULL
);
CREATE INDEX risk_gradings_pregnancy ON risk_gradings (pregnancy_id, graded_at);

CREATE TABLE pregnancy_risk (
    pregnancy_id    TEXT PRIMARY KEY NOT NULL REFERENCES pregnancies (id),
    handbook_id     TEXT NOT NULL REFERENCES handbooks (id),
    county_code     TEXT NOT NULL,
    current_base    TEXT NOT NULL,
    current_purple  BOOLEAN NOT NULL,
    highest_base    TEXT NOT NULL,
    last_grading_id TEXT NOT NULL REFERENCES risk_gradings (id),
    needs_regrading BOOLEAN NOT NULL,
    updated_at      TIMESTAMP(6) NOT NULL
);
CREATE INDEX pregnancy_risk_county ON pregnancy_risk (county_code, needs_regrading);
