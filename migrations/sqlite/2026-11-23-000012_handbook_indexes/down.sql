DROP INDEX ultrasounds_handbook;
DROP INDEX lab_results_handbook;
DROP INDEX checkups_handbook;
