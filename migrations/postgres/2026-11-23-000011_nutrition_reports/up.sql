-- Nutrition-pack reporting chain: village clinics see the children resident in their village
-- (a 'residence' grant), follow-up cards are corrected by new versions, counties keep the
-- programme's baseline survey figures, and monthly reports are frozen snapshots with a review.
-- Keep in step with ../../sqlite.

ALTER TABLE handbook_access DROP CONSTRAINT handbook_access_reason_check;
ALTER TABLE handbook_access ADD CONSTRAINT handbook_access_reason_check
    CHECK (reason IN ('registration', 'checkup', 'share_code', 'referral', 'residence'));

-- A correction is a new card; the old one keeps its values and points at its successor.
ALTER TABLE nutrition_followups ADD COLUMN superseded_by TEXT;
ALTER TABLE nutrition_followups ADD COLUMN correction_reason TEXT;

-- Baseline survey prevalence (%) for the county, to report the change in percentage points.
ALTER TABLE county_settings ADD COLUMN baseline_anaemia_pct DOUBLE PRECISION;
ALTER TABLE county_settings ADD COLUMN baseline_stunting_pct DOUBLE PRECISION;

CREATE TABLE nutrition_reports (
    id             TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    county_code    TEXT NOT NULL,
    region_code    TEXT NOT NULL,
    level          TEXT NOT NULL CHECK (level IN ('village', 'township')),
    month          TEXT NOT NULL CHECK (length(month) = 7),
    version        INTEGER NOT NULL CHECK (version >= 1),
    status         TEXT NOT NULL CHECK (status IN ('submitted', 'returned', 'approved')),
    -- JSON: the counts and rates as submitted (frozen)
    figures        TEXT NOT NULL,
    -- JSON: the village reports a township aggregate was built from
    sources        TEXT NOT NULL,
    late           BOOLEAN NOT NULL,
    reason         TEXT,
    submitted_by   TEXT NOT NULL,
    submitted_at   TIMESTAMP(6) NOT NULL,
    reviewed_by    TEXT,
    reviewed_at    TIMESTAMP(6),
    review_comment TEXT
);
CREATE UNIQUE INDEX nutrition_reports_version ON nutrition_reports (institution_id, month, version);
CREATE INDEX nutrition_reports_county ON nutrition_reports (county_code, month);
