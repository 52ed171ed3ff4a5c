-- A handbook's revision: bumped, in the same transaction, by every change to what the mother's
-- home page shows (src/handbook/home_cache.rs keeps the rendered page per handbook and uses it only
-- while the revision it was rendered at is still current). Triggers rather than application
-- code, so that no write path can forget, and a change made by another process (a second
-- server, the command line) invalidates the page too.
-- The bump finds the handbook by its primary key alone (not with the row's county code, which a
-- move of the family changes).
-- Keep the table list in step with the other backend's copy and with HOME_PAGE_TABLES in
-- src/handbook/home_cache.rs (tests/api/home_cache.rs checks that each has its triggers).
ALTER TABLE handbooks ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

-- The handbook row itself (profile corrections): any update that did not set the revision.
-- SQLite does not fire a trigger from its own statement again (recursive_triggers is off), and
-- the WHEN clause stops the bump made by the child tables' triggers from counting twice.
CREATE TRIGGER handbooks_revision AFTER UPDATE ON handbooks
WHEN NEW.revision = OLD.revision
BEGIN
    UPDATE handbooks SET revision = OLD.revision + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER pregnancies_insert_revision AFTER INSERT ON pregnancies
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = NEW.handbook_id;
END;
CREATE TRIGGER pregnancies_update_revision AFTER UPDATE ON pregnancies
BEGIN
    UPDATE handbooks SET revision = revision + 1
    WHERE id IN (OLD.handbook_id, NEW.handbook_id);
END;
CREATE TRIGGER pregnancies_delete_revision AFTER DELETE ON pregnancies
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = OLD.handbook_id;
END;

CREATE TRIGGER checkups_insert_revision AFTER INSERT ON checkups
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = NEW.handbook_id;
END;
CREATE TRIGGER checkups_update_revision AFTER UPDATE ON checkups
BEGIN
    UPDATE handbooks SET revision = revision + 1
    WHERE id IN (OLD.handbook_id, NEW.handbook_id);
END;
CREATE TRIGGER checkups_delete_revision AFTER DELETE ON checkups
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = OLD.handbook_id;
END;

CREATE TRIGGER lab_results_insert_revision AFTER INSERT ON lab_results
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = NEW.handbook_id;
END;
CREATE TRIGGER lab_results_update_revision AFTER UPDATE ON lab_results
BEGIN
    UPDATE handbooks SET revision = revision + 1
    WHERE id IN (OLD.handbook_id, NEW.handbook_id);
END;
CREATE TRIGGER lab_results_delete_revision AFTER DELETE ON lab_results
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = OLD.handbook_id;
END;

CREATE TRIGGER ultrasounds_insert_revision AFTER INSERT ON ultrasounds
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = NEW.handbook_id;
END;
CREATE TRIGGER ultrasounds_update_revision AFTER UPDATE ON ultrasounds
BEGIN
    UPDATE handbooks SET revision = revision + 1
    WHERE id IN (OLD.handbook_id, NEW.handbook_id);
END;
CREATE TRIGGER ultrasounds_delete_revision AFTER DELETE ON ultrasounds
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = OLD.handbook_id;
END;

CREATE TRIGGER pregnancy_risk_insert_revision AFTER INSERT ON pregnancy_risk
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = NEW.handbook_id;
END;
CREATE TRIGGER pregnancy_risk_update_revision AFTER UPDATE ON pregnancy_risk
BEGIN
    UPDATE handbooks SET revision = revision + 1
    WHERE id IN (OLD.handbook_id, NEW.handbook_id);
END;
CREATE TRIGGER pregnancy_risk_delete_revision AFTER DELETE ON pregnancy_risk
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = OLD.handbook_id;
END;

CREATE TRIGGER children_insert_revision AFTER INSERT ON children
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = NEW.handbook_id;
END;
CREATE TRIGGER children_update_revision AFTER UPDATE ON children
BEGIN
    UPDATE handbooks SET revision = revision + 1
    WHERE id IN (OLD.handbook_id, NEW.handbook_id);
END;
CREATE TRIGGER children_delete_revision AFTER DELETE ON children
BEGIN
    UPDATE handbooks SET revision = revision + 1 WHERE id = OLD.handbook_id;
END;
