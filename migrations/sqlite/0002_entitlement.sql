-- Entitlement (三包): company policies as immutable versions, and the decisions made with them.
-- The built-in policies (cn-general-1995, cn-car-2021, seed-company) are not stored here: they
-- ship with the program (crates/rules/data/entitlement) and are read-only.

-- One row per version; a change inserts the next version, nothing is updated in place.
-- UNIQUE (code, version) is the optimistic-concurrency guard: two editors of version N both
-- try to insert N+1 and the second fails.
CREATE TABLE entitlement_policy_versions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    code         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    policy_json  TEXT NOT NULL,
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL,
    family       TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    copied_from  TEXT,
    created_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_by_label TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (code, version)
);

-- A decision keeps the request and the answer as they were, and the policy version that
-- made it. unit_id / work_order_id link it to the archive and work orders once those exist.
CREATE TABLE entitlement_decisions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_code     TEXT NOT NULL,
    policy_version  BIGINT NOT NULL,
    request_json    TEXT NOT NULL,
    result_json     TEXT NOT NULL,
    remedies        TEXT NOT NULL,
    source          TEXT NOT NULL,
    unit_id         BIGINT,
    work_order_id   BIGINT,
    decided_by      BIGINT REFERENCES users(id) ON DELETE SET NULL,
    decided_by_label TEXT NOT NULL,
    decided_at      TEXT NOT NULL
);
CREATE INDEX entitlement_decisions_policy ON entitlement_decisions(policy_code, policy_version);
CREATE INDEX entitlement_decisions_unit ON entitlement_decisions(unit_id, id);
