DROP TABLE nutrition_followups;
