-- After the job (R6, R7): follow-up visit rules as data, the visit tasks they plan (one per
-- customer, rule and period: the unique key makes planning idempotent and safe on several
-- instances), and satisfaction surveys answered from a tokened link or on site.

CREATE TABLE visit_rules (
    code        TEXT PRIMARY KEY,
    position    BIGINT NOT NULL,              -- ties between equally frequent rules go to the first
    rule_json   TEXT NOT NULL,                 -- rules::care::VisitRule
    version     BIGINT NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL
);

CREATE TABLE visit_tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   BIGINT NOT NULL REFERENCES customers(id),
    region_code   TEXT,                        -- the customer's, for the agents of that region
    rule_code     TEXT NOT NULL,
    period_key    TEXT NOT NULL,               -- period start, order:ID or survey:ID
    due_on        TEXT NOT NULL,
    order_id      BIGINT,                      -- the job it follows up
    survey_id     BIGINT,                      -- the low score it follows up
    in_warranty   BOOLEAN NOT NULL DEFAULT FALSE, -- planned by an in-warranty rule: counts in the revisit rate
    assignee_id   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    status        TEXT NOT NULL DEFAULT 'open', -- open | done | cancelled
    channel       TEXT,                        -- phone | letter | email | on_site
    outcome       TEXT,                        -- reached | unreachable | declined
    needs         TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    done_at       TEXT,
    done_on       TEXT,
    done_by       BIGINT REFERENCES users(id) ON DELETE SET NULL,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);
-- Few indexes, each cheap to write: a year for a million customers is ten million rows.
-- The queue of all regions merges the regions' queues.
CREATE UNIQUE INDEX visit_tasks_key ON visit_tasks(customer_id, rule_code, period_key);
CREATE INDEX visit_tasks_region_open ON visit_tasks(region_code, due_on, id) WHERE status = 'open';
CREATE INDEX visit_tasks_assignee_open ON visit_tasks(assignee_id, due_on, id) WHERE status = 'open' AND assignee_id IS NOT NULL;
CREATE INDEX visit_tasks_warranty ON visit_tasks(due_on) WHERE in_warranty;

-- How far the schedule has been planned: the next pass starts the day after.
CREATE TABLE visit_schedule (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    planned_to    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE surveys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    token          TEXT NOT NULL UNIQUE,       -- the customer's link; no account needed
    kind           TEXT NOT NULL,              -- job | on_site
    order_id       BIGINT REFERENCES work_orders(id),
    customer_id    BIGINT NOT NULL REFERENCES customers(id),
    engineer_id    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    region_code    TEXT,
    category_code  TEXT,
    request_kind   TEXT,
    created_at     TEXT NOT NULL,
    answered_at    TEXT,
    overall        INTEGER,
    timeliness     INTEGER,
    attitude       INTEGER,
    quality        INTEGER,
    comment        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX surveys_order_kind ON surveys(order_id, kind);
CREATE INDEX surveys_answered ON surveys(answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX surveys_customer ON surveys(customer_id, id);
