-- Service clocks (R4): SLA policies as immutable versions, service contracts that select them,
-- calendars of regions and engineers, one clock per promise on every order, the order's
-- pauses, and every warning or escalation sent (once: the primary key guards it).

-- Company SLA policies and edits of the built-ins (crates/rules/src/sla.rs, shipped as version 1).
-- The latest version of a code is in force; an inactive latest version switches the code off.
CREATE TABLE sla_policy_versions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    code             TEXT NOT NULL,
    version          BIGINT NOT NULL,
    policy_json      TEXT NOT NULL,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    note             TEXT NOT NULL DEFAULT '',
    created_by       BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_by_label TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (code, version)
);

-- A customer's service contract (服务合同): its code selects the policies written for it.
CREATE TABLE service_contracts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    code          TEXT NOT NULL UNIQUE,
    customer_id   BIGINT NOT NULL REFERENCES customers(id),
    name          TEXT NOT NULL,
    valid_from    TEXT NOT NULL,
    valid_to      TEXT,
    note          TEXT NOT NULL DEFAULT '',
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX service_contracts_customer ON service_contracts(customer_id, valid_from);

ALTER TABLE regions ADD COLUMN calendar_code TEXT;
ALTER TABLE users ADD COLUMN calendar_code TEXT;

-- The most urgent running clock of an open order, for colours and sorting in lists.
ALTER TABLE work_orders ADD COLUMN sla_due_at TEXT;
ALTER TABLE work_orders ADD COLUMN sla_warn_at TEXT;
CREATE INDEX work_orders_sla_due ON work_orders(sla_due_at, id) WHERE sla_due_at IS NOT NULL;

CREATE TABLE work_order_clocks (
    order_id        BIGINT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    target          TEXT NOT NULL,
    policy_code     TEXT NOT NULL,
    policy_version  BIGINT NOT NULL,
    calendar_code   TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    stopped_at      TEXT,
    deadline        TEXT,          -- the customer's requested time or an approved extension
    state           TEXT NOT NULL,        -- running | paused | warning | breached | met | met_late | cancelled
    due_at          TEXT,
    warn_at         TEXT,
    next_check_at   TEXT,          -- when the sweeper looks next; NULL: not before the order changes
    used_seconds    BIGINT NOT NULL DEFAULT 0,
    target_seconds  BIGINT NOT NULL,
    breached_at     TEXT,
    breach_cause    TEXT,
    breach_note     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (order_id, target)
);
CREATE INDEX work_order_clocks_check ON work_order_clocks(next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX work_order_clocks_started ON work_order_clocks(started_at);
CREATE INDEX work_order_clocks_breached ON work_order_clocks(breached_at) WHERE breached_at IS NOT NULL;

CREATE TABLE work_order_pauses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id    BIGINT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    reason      TEXT NOT NULL,            -- waiting_customer | waiting_parts | waiting_third_party | waiting_approval
    source      TEXT NOT NULL,            -- manual (pause/resume) | quote | approval (opened and closed by the flow)
    from_at     TEXT NOT NULL,
    to_at       TEXT,
    note        TEXT NOT NULL DEFAULT '',
    created_by  BIGINT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX work_order_pauses_order ON work_order_pauses(order_id, id);

CREATE TABLE sla_escalations (
    order_id      BIGINT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    target        TEXT NOT NULL,
    step_key      TEXT NOT NULL,
    notify_role   TEXT NOT NULL,
    kind          TEXT NOT NULL,          -- warning | breach | escalation
    at            TEXT NOT NULL,
    percent_used  BIGINT NOT NULL,
    recipients    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, target, step_key)
);
CREATE INDEX sla_escalations_at ON sla_escalations(at);
