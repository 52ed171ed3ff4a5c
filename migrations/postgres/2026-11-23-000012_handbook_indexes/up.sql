-- The mother's home page and the handbook views read checkups, results and scans by handbook:
-- without these indexes each request scanned the whole table (bench/RESULTS.md).
-- Keep in step with the other backend's copy.
CREATE INDEX checkups_handbook ON checkups (handbook_id, visit_date);
CREATE INDEX lab_results_handbook ON lab_results (handbook_id);
CREATE INDEX ultrasounds_handbook ON ultrasounds (handbook_id);
