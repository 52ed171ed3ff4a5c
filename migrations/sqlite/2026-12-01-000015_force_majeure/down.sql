DROP TABLE force_majeure_periods;
