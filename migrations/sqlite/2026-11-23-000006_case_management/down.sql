DROP TABLE consultations;
DROP TABLE case_followups;
