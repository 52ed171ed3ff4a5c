-- Monthly nutrition-pack follow-up cards (个案随访记录卡). Keep in step with ../../sqlite.
CREATE TABLE nutrition_followups (
    id               TEXT PRIMARY KEY NOT NULL,
    child_id         TEXT NOT NULL REFERENCES children (id),
    county_code      TEXT NOT NULL,
    institution_id   TEXT NOT NULL REFERENCES institutions (id),
    followed_on      DATE NOT NULL,
    age_days         INTEGER NOT NULL,
    hb_g_l           DOUBLE PRECISION,
    altitude_m       INTEGER,
    length_cm        DOUBLE PRECISION,
    measured_lying   BOOLEAN,
    weight_kg        DOUBLE PRECISION,
    remaining_at_home INTEGER,
    counselled       BOOLEAN NOT NULL,
    notes            TEXT,
    advice           TEXT,
    recorded_by      TEXT NOT NULL,
    recorded_at      TIMESTAMP(6) NOT NULL
);
CREATE INDEX nutrition_followups_child ON nutrition_followups (child_id, followed_on);
