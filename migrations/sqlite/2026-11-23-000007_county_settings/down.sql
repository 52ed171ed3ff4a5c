DROP TABLE county_settings;
