DROP TABLE risk_notices;
DROP TABLE risk_cases;
