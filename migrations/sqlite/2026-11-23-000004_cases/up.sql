-- High-risk cases (专案管理) for orange, red and purple, and the reminder notices (温馨提示书)
-- given to the woman. Keep in step with ../../postgres.

CREATE TABLE risk_cases (
    id                              TEXT PRIMARY KEY NOT NULL,
    pregnancy_id                    TEXT NOT NULL UNIQUE REFERENCES pregnancies (id),
    handbook_id                     TEXT NOT NULL REFERENCES handbooks (id),
    county_code                     TEXT NOT NULL,
    institution_id                  TEXT NOT NULL REFERENCES institutions (id),
    opened_by_grading_id            TEXT NOT NULL REFERENCES risk_gradings (id),
    current_base                    TEXT NOT NULL,
    current_purple                  BOOLEAN NOT NULL,
    highest_base                    TEXT NOT NULL,
    stage                           TEXT NOT NULL CHECK (stage IN ('discovered', 'registered', 'reported', 'managed', 'treated', 'closed')),
    case_number                     TEXT,
    responsible_clinician_id        TEXT REFERENCES staff_accounts (id),
    planned_delivery_institution_id TEXT REFERENCES institutions (id),
    discovered_at                   TIMESTAMP NOT NULL,
    report_due_at                   TIMESTAMP NOT NULL,
    registered_at                   TIMESTAMP,
    registered_by                   TEXT,
    reported_at                     TIMESTAMP,
    reported_by                     TEXT,
    managed_at                      TIMESTAMP,
    managed_by                      TEXT,
    treated_at                      TIMESTAMP,
    treated_by                      TEXT,
    closed_at                       TIMESTAMP,
    closed_by                       TEXT,
    close_reason                    TEXT,
    close_note                      TEXT,
    flagged_for_review              BOOLEAN NOT NULL,
    version                         BIGINT NOT NULL,
    updated_at                      TIMESTAMP NOT NULL
);
CREATE INDEX risk_cases_county ON risk_cases (county_code, stage, current_base);
CREATE INDEX risk_cases_institution ON risk_cases (institution_id, stage);

CREATE TABLE risk_notices (
    id              TEXT PRIMARY KEY NOT NULL,
    case_id         TEXT NOT NULL REFERENCES risk_cases (id),
    handbook_id     TEXT NOT NULL REFERENCES handbooks (id),
    county_code     TEXT NOT NULL,
    institution_id  TEXT NOT NULL REFERENCES institutions (id),
    colour_label    TEXT NOT NULL,
    content         TEXT NOT NULL,
    issued_by       TEXT NOT NULL,
    issued_at       TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    acknowledged_by TEXT
);
CREATE INDEX risk_notices_case ON risk_notices (case_id);
CREATE INDEX risk_notices_handbook ON risk_notices (handbook_id);
