-- A handbook's revision: bumped, in the same transaction, by every change to what the mother's
-- home page shows (src/handbook/home.rs caches the rendered page per handbook and serves it only
-- while the revision it was rendered at is still current). Triggers rather than application
-- code, so that no write path can forget, and a change made by another process (a second
-- server, the command line) invalidates the page too. Every UPDATE names the county code, the
-- distribution column, so the bump stays on the changed row's shard (Citus, YugabyteDB).
-- Keep the table list in step with the other backend's copy and with HOME_PAGE_TABLES in
-- src/handbook/home.rs (tests/api/home_cache.rs checks that every one of them has its triggers).
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

-- A row of a table the home page reads changed: its handbook's revision moves on.
CREATE FUNCTION bump_handbook_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE handbooks SET revision = revision + 1
        WHERE id = OLD.handbook_id AND county_code = OLD.county_code;
    END IF;
    IF TG_OP = 'INSERT'
       OR (TG_OP = 'UPDATE' AND (NEW.handbook_id, NEW.county_code)
                                IS DISTINCT FROM (OLD.handbook_id, OLD.county_code)) THEN
        UPDATE handbooks SET revision = revision + 1
        WHERE id = NEW.handbook_id AND county_code = NEW.county_code;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER pregnancies_revision AFTER INSERT OR UPDATE OR DELETE ON pregnancies
    FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE TRIGGER checkups_revision AFTER INSERT OR UPDATE OR DELETE ON checkups
    FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE TRIGGER lab_results_revision AFTER INSERT OR UPDATE OR DELETE ON lab_results
    FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE TRIGGER ultrasounds_revision AFTER INSERT OR UPDATE OR DELETE ON ultrasounds
    FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE TRIGGER pregnancy_risk_revision AFTER INSERT OR UPDATE OR DELETE ON pregnancy_risk
    FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
CREATE TRIGGER children_revision AFTER INSERT OR UPDATE OR DELETE ON children
    FOR EACH ROW EXECUTE FUNCTION bump_handbook_revision();
