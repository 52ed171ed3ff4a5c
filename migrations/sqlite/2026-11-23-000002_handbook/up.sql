-- The handbook record: profile, family links, access grants, one-time codes, pregnancies,
-- checkups (with versions), lab results, ultrasounds, children and growth.
-- Every patient-data table carries county_code (the distribution key). Keep in step with ../../postgres.

CREATE TABLE handbooks (
    id                        TEXT PRIMARY KEY NOT NULL,
    county_code               TEXT NOT NULL,
    status                    TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
    registered_institution_id TEXT REFERENCES institutions (id),
    registered_at             TIMESTAMP,
    id_type                   TEXT NOT NULL,
    id_number_enc             TEXT NOT NULL,
    id_blind_index            TEXT NOT NULL UNIQUE,
    id_masked                 TEXT NOT NULL,
    full_name                 TEXT NOT NULL,
    birth_date                DATE NOT NULL,
    phone                     TEXT,
    residence_region_code     TEXT NOT NULL REFERENCES regions (code),
    address                   TEXT,
    household_registered      BOOLEAN,
    ethnicity                 TEXT,
    education                 TEXT,
    occupation                TEXT,
    blood_group               TEXT,
    rh                        TEXT,
    height_cm                 DOUBLE PRECISION,
    pre_pregnancy_weight_kg   DOUBLE PRECISION,
    -- JSON objects: {medical, surgical, obstetric, family, allergies} and {name, age, health}
    history                   TEXT NOT NULL,
    partner                   TEXT NOT NULL,
    version                   BIGINT NOT NULL,
    created_by                TEXT NOT NULL,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL
);
CREATE INDEX handbooks_county ON handbooks (county_code, id);

-- Every earlier version of a profile (JSON snapshot, identity number masked), with who/when/why.
CREATE TABLE handbook_versions (
    handbook_id TEXT NOT NULL REFERENCES handbooks (id),
    version     BIGINT NOT NULL,
    county_code TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    reason      TEXT,
    PRIMARY KEY (handbook_id, version)
);

-- Family accounts (WeChat) linked to a handbook: the mother, and family members she shares with.
CREATE TABLE handbook_members (
    handbook_id       TEXT NOT NULL REFERENCES handbooks (id),
    family_account_id TEXT NOT NULL REFERENCES family_accounts (id),
    county_code       TEXT NOT NULL,
    relation          TEXT NOT NULL CHECK (relation IN ('mother', 'family')),
    created_at        TIMESTAMP NOT NULL,
    revoked_at        TIMESTAMP,
    PRIMARY KEY (handbook_id, family_account_id)
);
CREATE INDEX handbook_members_account ON handbook_members (family_account_id);

-- Institutions whose staff may see a handbook, and why.
CREATE TABLE handbook_access (
    handbook_id    TEXT NOT NULL REFERENCES handbooks (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    county_code    TEXT NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('registration', 'checkup', 'share_code', 'referral')),
    granted_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP,
    PRIMARY KEY (handbook_id, institution_id, reason)
);
CREATE INDEX handbook_access_institution ON handbook_access (institution_id, handbook_id);

-- Short-lived single-use codes: a clinic's binding code for the mother, the mother's share code
-- for a clinic or a family member. Only a hash of the code is kept.
CREATE TABLE access_codes (
    code_hash   TEXT PRIMARY KEY NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('bind', 'share_clinic', 'share_family')),
    handbook_id TEXT NOT NULL REFERENCES handbooks (id),
    county_code TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    used_by     TEXT
);
CREATE INDEX access_codes_handbook ON access_codes (handbook_id);

CREATE TABLE pregnancies (
    id                          TEXT PRIMARY KEY NOT NULL,
    handbook_id                 TEXT NOT NULL REFERENCES handbooks (id),
    county_code                 TEXT NOT NULL,
    lmp                         DATE,
    edd                         DATE NOT NULL,
    dating_source               TEXT NOT NULL CHECK (dating_source IN ('lmp', 'ultrasound', 'ivf_transfer', 'clinician')),
    dating_reason               TEXT,
    gravidity                   INTEGER NOT NULL,
    parity                      INTEGER NOT NULL,
    fetal_count                 INTEGER,
    registration_institution_id TEXT NOT NULL REFERENCES institutions (id),
    registration_date           DATE NOT NULL,
    early_registration          BOOLEAN NOT NULL,
    status                      TEXT NOT NULL CHECK (status IN ('ongoing', 'delivered', 'ended')),
    end_reason                  TEXT,
    ended_on                    DATE,
    delivered_at                TIMESTAMP,
    delivery_ga_days            INTEGER,
    delivery_mode               TEXT,
    delivery_institution_id     TEXT REFERENCES institutions (id),
    blood_loss_ml               INTEGER,
    maternal_outcome            TEXT,
    version                     BIGINT NOT NULL,
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL
);
CREATE INDEX pregnancies_handbook ON pregnancies (handbook_id);
CREATE INDEX pregnancies_county ON pregnancies (county_code, status, edd);
-- Only one ongoing pregnancy per handbook.
CREATE UNIQUE INDEX pregnancies_one_ongoing ON pregnancies (handbook_id) WHERE status = 'ongoing';

CREATE TABLE pregnancy_versions (
    pregnancy_id TEXT NOT NULL REFERENCES pregnancies (id),
    version      BIGINT NOT NULL,
    county_code  TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    changed_by   TEXT NOT NULL,
    changed_at   TIMESTAMP NOT NULL,
    reason       TEXT,
    PRIMARY KEY (pregnancy_id, version)
);

CREATE TABLE checkups (
    id                         TEXT PRIMARY KEY NOT NULL,
    pregnancy_id               TEXT NOT NULL REFERENCES pregnancies (id),
    handbook_id                TEXT NOT NULL REFERENCES handbooks (id),
    county_code                TEXT NOT NULL,
    institution_id             TEXT NOT NULL REFERENCES institutions (id),
    version                    BIGINT NOT NULL,
    visit_date                 DATE NOT NULL,
    ga_days                    INTEGER NOT NULL,
    weight_kg                  DOUBLE PRECISION,
    bp_systolic                INTEGER,
    bp_diastolic               INTEGER,
    fundal_height_cm           DOUBLE PRECISION,
    abdominal_circumference_cm DOUBLE PRECISION,
    fetal_heart_rates          TEXT,
    fetal_presentation         TEXT,
    oedema                     TEXT,
    urine_protein              TEXT,
    urine_glucose              TEXT,
    symptoms                   TEXT,
    complaints                 TEXT,
    advice                     TEXT,
    next_appointment           DATE,
    recorded_by                TEXT NOT NULL,
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL,
    mother_seen_at             TIMESTAMP
);
CREATE INDEX checkups_pregnancy ON checkups (pregnancy_id, visit_date);
CREATE INDEX checkups_institution ON checkups (institution_id, visit_date);

CREATE TABLE checkup_versions (
    checkup_id  TEXT NOT NULL REFERENCES checkups (id),
    version     BIGINT NOT NULL,
    county_code TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    reason      TEXT,
    PRIMARY KEY (checkup_id, version)
);

CREATE TABLE lab_results (
    id             TEXT PRIMARY KEY NOT NULL,
    checkup_id     TEXT NOT NULL REFERENCES checkups (id),
    pregnancy_id   TEXT NOT NULL REFERENCES pregnancies (id),
    handbook_id    TEXT NOT NULL REFERENCES handbooks (id),
    county_code    TEXT NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    test           TEXT NOT NULL,
    value_num      DOUBLE PRECISION,
    value_text     TEXT,
    unit           TEXT,
    ga_days        INTEGER NOT NULL,
    recorded_by    TEXT NOT NULL,
    recorded_at    TIMESTAMP NOT NULL,
    mother_seen_at TIMESTAMP
);
CREATE INDEX lab_results_checkup ON lab_results (checkup_id);
CREATE INDEX lab_results_pregnancy ON lab_results (pregnancy_id, test);

CREATE TABLE ultrasounds (
    id                TEXT PRIMARY KEY NOT NULL,
    checkup_id        TEXT NOT NULL REFERENCES checkups (id),
    pregnancy_id      TEXT NOT NULL REFERENCES pregnancies (id),
    handbook_id       TEXT NOT NULL REFERENCES handbooks (id),
    county_code       TEXT NOT NULL,
    institution_id    TEXT NOT NULL REFERENCES institutions (id),
    ga_days           INTEGER NOT NULL,
    fetal_count       INTEGER,
    crl_mm            DOUBLE PRECISION,
    bpd_mm            DOUBLE PRECISION,
    hc_mm             DOUBLE PRECISION,
    ac_mm             DOUBLE PRECISION,
    fl_mm             DOUBLE PRECISION,
    efw_g             DOUBLE PRECISION,
    afi_cm            DOUBLE PRECISION,
    placenta_position TEXT,
    findings          TEXT,
    recorded_by       TEXT NOT NULL,
    recorded_at       TIMESTAMP NOT NULL,
    mother_seen_at    TIMESTAMP
);
CREATE INDEX ultrasounds_checkup ON ultrasounds (checkup_id);
CREATE INDEX ultrasounds_pregnancy ON ultrasounds (pregnancy_id);

CREATE TABLE children (
    id                   TEXT PRIMARY KEY NOT NULL,
    handbook_id          TEXT NOT NULL REFERENCES handbooks (id),
    pregnancy_id         TEXT REFERENCES pregnancies (id),
    county_code          TEXT NOT NULL,
    name                 TEXT,
    sex                  TEXT NOT NULL CHECK (sex IN ('female', 'male', 'undetermined')),
    born_at              TIMESTAMP NOT NULL,
    birth_weight_g       INTEGER,
    birth_length_cm      DOUBLE PRECISION,
    ga_at_birth_days     INTEGER,
    birth_institution_id TEXT REFERENCES institutions (id),
    created_by           TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX children_handbook ON children (handbook_id);
CREATE INDEX children_county ON children (county_code, born_at);

CREATE TABLE child_growth (
    id                    TEXT PRIMARY KEY NOT NULL,
    child_id              TEXT NOT NULL REFERENCES children (id),
    county_code           TEXT NOT NULL,
    institution_id        TEXT NOT NULL REFERENCES institutions (id),
    measured_on           DATE NOT NULL,
    weight_kg             DOUBLE PRECISION,
    length_cm             DOUBLE PRECISION,
    measured_lying        BOOLEAN,
    head_circumference_cm DOUBLE PRECISION,
    recorded_by           TEXT NOT NULL,
    recorded_at           TIMESTAMP NOT NULL,
    mother_seen_at        TIMESTAMP
);
CREATE INDEX child_growth_child ON child_growth (child_id, measured_on);
