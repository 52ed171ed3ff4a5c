-- Storage log of the nutrition-pack store room: readings and the storage checklist.
-- Keep in step with ../../sqlite.
CREATE TABLE storage_checks (
    id              TEXT PRIMARY KEY NOT NULL,
    institution_id  TEXT NOT NULL REFERENCES institutions (id),
    county_code     TEXT NOT NULL,
    checked_at      TIMESTAMP(6) NOT NULL,
    temperature_c   DOUBLE PRECISION NOT NULL,
    humidity_pct    DOUBLE PRECISION NOT NULL,
    out_of_range    BOOLEAN NOT NULL,
    -- JSON: {keeper_named, off_wall_and_floor, no_hazardous_goods, pest_control}
    checklist       TEXT NOT NULL,
    checklist_ok    BOOLEAN NOT NULL,
    recorded_by     TEXT NOT NULL,
    recorded_at     TIMESTAMP(6) NOT NULL
);
CREATE INDEX storage_checks_institution ON storage_checks (institution_id, checked_at);
