DROP TABLE pregnancy_risk;
DROP TABLE risk_gradings;
DROP TABLE risk_screenings;
