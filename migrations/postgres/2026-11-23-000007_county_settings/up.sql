-- Per-county settings: high-risk reporting deadlines. Keep in step with ../../sqlite.
CREATE TABLE county_settings (
    county_code                TEXT PRIMARY KEY NOT NULL,
    report_hours_red           INTEGER NOT NULL,
    report_hours_orange_purple INTEGER NOT NULL,
    updated_by                 TEXT NOT NULL,
    updated_at                 TIMESTAMP(6) NOT NULL
);
