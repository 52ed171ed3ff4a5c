-- Nutrition-pack programme: the dated history of each child (the state is derived from it), the
-- village stock by lot with its movements, and idempotency keys for retried writes.
-- Keep in step with ../../postgres.

CREATE TABLE nutrition_events (
    id             TEXT PRIMARY KEY NOT NULL,
    child_id       TEXT NOT NULL REFERENCES children (id),
    county_code    TEXT NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    kind           TEXT NOT NULL CHECK (kind IN ('consent', 'medical_clearance', 'issue', 'withdraw', 'moved_out', 'died', 'legacy_stopped_at_24')),
    event_date     DATE NOT NULL,
    -- issues: the month (YYYY-MM) and quantity; clearances: the decision
    issue_month    TEXT,
    sachets        INTEGER,
    suitable       BOOLEAN,
    detail         TEXT,
    recorded_by    TEXT NOT NULL,
    recorded_at    TIMESTAMP NOT NULL
);
CREATE INDEX nutrition_events_child ON nutrition_events (child_id, event_date);
-- One distribution per child per calendar month, whatever races.
CREATE UNIQUE INDEX nutrition_one_issue_per_month ON nutrition_events (child_id, issue_month) WHERE kind = 'issue';

CREATE TABLE nutrition_flags (
    child_id                TEXT PRIMARY KEY NOT NULL REFERENCES children (id),
    county_code             TEXT NOT NULL,
    needs_medical_clearance BOOLEAN NOT NULL,
    condition               TEXT,
    registered_poor         BOOLEAN NOT NULL,
    relocation_site         BOOLEAN NOT NULL,
    updated_at              TIMESTAMP NOT NULL
);

CREATE TABLE stock_lots (
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    lot            TEXT NOT NULL,
    county_code    TEXT NOT NULL,
    expiry         DATE NOT NULL,
    balance        INTEGER NOT NULL CHECK (balance >= 0),
    PRIMARY KEY (institution_id, lot)
);

CREATE TABLE stock_movements (
    id             TEXT PRIMARY KEY NOT NULL,
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    county_code    TEXT NOT NULL,
    lot            TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    reason         TEXT NOT NULL CHECK (reason IN ('receipt', 'issue', 'transfer', 'adjustment')),
    counterparty   TEXT,
    ref_id         TEXT,
    moved_on       DATE NOT NULL,
    recorded_by    TEXT NOT NULL,
    recorded_at    TIMESTAMP NOT NULL
);
CREATE INDEX stock_movements_institution ON stock_movements (institution_id, moved_on);

CREATE TABLE idempotency_keys (
    caller_id    TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (caller_id, idem_key)
);
