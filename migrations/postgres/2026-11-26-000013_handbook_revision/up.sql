-- A handbook's revision: bumped, in the same transaction, by every change to what the mother's
-- home page shows (src/handbook/home_cache.rs keeps the rendered page per handbook and uses it
-- only while the revision it was rendered at is still current). Triggers rather than application
-- code, so that no write path can forget, and a change made by another process (a second
-- server, the command line) counts too.
-- The bump finds the handbook by its primary key alone: a row written with a county code that a
-- concurrent move of the family has just changed must still move its handbook's revision on.
-- Keep the table list in step with the other backend's copy and with HOME_PAGE_TABLES in
-- src/handbook/home_cache.rs (tests/api/home_cache.rs checks that each has its triggers).
ALTER TABLE handbooks ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

-- The handbook row itself (profile corrections): any update that did not set the revision.
CREATE FUNCTION handbooks_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revision = OLD.revision THEN
        NEW.revision := OLD.revision + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER handbooks_revision BEFORE UPDATE ON handbooks
    FOR EACH ROW EXECUTE FUNCTION handbooks_revision();

-- A row of a table the home page reads changed: its handbook's revision moves on. The triggers
-- are deferred to the commit, so the handbook's row is locked last and briefly: a grading
-- (which locks pregnancy_risk first) and a checkup of the same pregnancy (which would otherwise
-- lock the handbook at its INSERT, then pregnancy_risk) cannot deadlock over it.
CREATE FUNCTION bump_handbook_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE handbooks SET revision = revision + 1 WHERE id = OLD.handbook_id;
    END IF;
    IF TG_OP = 'INSERT'
       OR (TG_OP = 'UPDATE' AND NEW.handbook_id IS DISTINCT FROM OLD.handbook_id) THEN
        UPDATE handbooks SET revision = revision + 1 WHERE id = NEW.handbook_id;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER pregnancies_revision AFTER INSERT OR UPDATE OR DELETE ON pregnancies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE CONSTRAINT TRIGGER checkups_revision AFTER INSERT OR UPDATE OR DELETE ON checkups
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE CONSTRAINT TRIGGER lab_results_revision AFTER INSERT OR UPDATE OR DELETE ON lab_results
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE CONSTRAINT TRIGGER ultrasounds_revision AFTER INSERT OR UPDATE OR DELETE ON ultrasounds
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE CONSTRAINT TRIGGER pregnancy_risk_revision AFTER INSERT OR UPDATE OR DELETE ON pregnancy_risk
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE CONSTRAINT TRIGGER children_revision AFTER INSERT OR UPDATE OR DELETE ON children
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
