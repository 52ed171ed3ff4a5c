-- Foundation: regions, institutions, staff, family (WeChat) accounts, sessions, audit.
-- Ids are UUIDv7 text; timestamps are UTC. Keep in step with ../../sqlite (same names).

CREATE TABLE regions (
    code        TEXT PRIMARY KEY NOT NULL CHECK (char_length(code) = 12),
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'township', 'village')),
    parent_code TEXT REFERENCES regions (code),
    county_code TEXT NOT NULL CHECK (char_length(county_code) = 6),
    elevation_m INTEGER,
    created_at  TIMESTAMP(6) NOT NULL
);
CREATE INDEX regions_parent ON regions (parent_code);
CREATE INDEX regions_county ON regions (county_code, code);

CREATE TABLE institutions (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions (code),
    county_code TEXT NOT NULL,
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP(6) NOT NULL,
    updated_at  TIMESTAMP(6) NOT NULL
);
CREATE INDEX institutions_county ON institutions (county_code, id);
CREATE INDEX institutions_region ON institutions (region_code);

CREATE TABLE staff_accounts (
    id             TEXT PRIMARY KEY NOT NULL,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    full_name      TEXT NOT NULL,
    phone          TEXT,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    county_code    TEXT NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP(6) NOT NULL,
    updated_at     TIMESTAMP(6) NOT NULL
);
CREATE INDEX staff_accounts_institution ON staff_accounts (institution_id, id);
CREATE INDEX staff_accounts_county ON staff_accounts (county_code, id);

CREATE TABLE staff_roles (
    staff_id TEXT NOT NULL REFERENCES staff_accounts (id),
    role     TEXT NOT NULL CHECK (role IN ('clinician', 'village_doctor', 'institution_admin', 'county_reviewer', 'system_admin')),
    PRIMARY KEY (staff_id, role)
);

CREATE TABLE family_accounts (
    id             TEXT PRIMARY KEY NOT NULL,
    wechat_openid  TEXT NOT NULL UNIQUE,
    wechat_unionid TEXT,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP(6) NOT NULL,
    last_login_at  TIMESTAMP(6) NOT NULL
);
CREATE INDEX family_accounts_unionid ON family_accounts (wechat_unionid);

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    subject_kind      TEXT NOT NULL CHECK (subject_kind IN ('staff', 'family')),
    subject_id        TEXT NOT NULL,
    created_at        TIMESTAMP(6) NOT NULL,
    last_refreshed_at TIMESTAMP(6) NOT NULL,
    expires_at        TIMESTAMP(6) NOT NULL,
    revoked_at        TIMESTAMP(6),
    revoked_reason    TEXT,
    user_agent        TEXT,
    client_addr       TEXT
);
CREATE INDEX sessions_subject ON sessions (subject_kind, subject_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    issued_at  TIMESTAMP(6) NOT NULL,
    expires_at TIMESTAMP(6) NOT NULL,
    used_at    TIMESTAMP(6)
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE audit_events (
    id            TEXT PRIMARY KEY NOT NULL,
    occurred_at   TIMESTAMP(6) NOT NULL,
    actor_kind    TEXT NOT NULL CHECK (actor_kind IN ('staff', 'family', 'anonymous', 'system')),
    actor_id      TEXT,
    actor_label   TEXT,
    actor_roles   TEXT,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT,
    outcome       TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    request_id    TEXT,
    client_addr   TEXT,
    county_code   TEXT,
    detail        TEXT
);
CREATE INDEX audit_events_time ON audit_events (occurred_at, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, occurred_at);
CREATE INDEX audit_events_resource ON audit_events (resource_type, resource_id, occurred_at);
CREATE INDEX audit_events_login_label ON audit_events (action, actor_label, occurred_at);
CREATE INDEX audit_events_login_addr ON audit_events (action, client_addr, occurred_at);
CREATE INDEX audit_events_county ON audit_events (county_code, occurred_at);

-- The audit log is append-only: nothing, not even a direct SQL session of the app, edits it.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
