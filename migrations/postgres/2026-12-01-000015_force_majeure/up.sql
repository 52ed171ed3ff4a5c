-- Force-majeure periods (nutrition-pack.md S1): days in which not collecting packs does not
-- count towards a stop (an epidemic closure, a flood), declared per county, optionally for one
-- township or village. Withdrawn, not deleted: a report already computed can be traced.
CREATE TABLE force_majeure_periods (
    id           TEXT PRIMARY KEY NOT NULL,
    county_code  TEXT NOT NULL,
    region_code  TEXT NOT NULL REFERENCES regions (code),
    starts_on    DATE NOT NULL,
    ends_on      DATE NOT NULL,
    reason       TEXT NOT NULL,
    declared_by  TEXT NOT NULL REFERENCES staff_accounts (id),
    declared_at  TIMESTAMP(6) NOT NULL,
    withdrawn_by TEXT REFERENCES staff_accounts (id),
    withdrawn_at TIMESTAMP(6),
    CHECK (starts_on <= ends_on)
);
CREATE INDEX force_majeure_periods_county ON force_majeure_periods (county_code, starts_on);
