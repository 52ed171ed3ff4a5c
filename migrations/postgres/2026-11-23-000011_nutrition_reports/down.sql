DROP TABLE nutrition_reports;
ALTER TABLE county_settings DROP COLUMN baseline_stunting_pct;
ALTER TABLE county_settings DROP COLUMN baseline_anaemia_pct;
ALTER TABLE nutrition_followups DROP COLUMN correction_reason;
ALTER TABLE nutrition_followups DROP COLUMN superseded_by;
DELETE FROM handbook_access WHERE reason = 'residence';
