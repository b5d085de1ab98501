-- Key-customer care plans (R6.3; seed 001: "负责开展重点客户关怀计划，了解客户需求，实施客户关怀计划"):
-- a plan for one customer with its goals, period and owner, and the actions planned to reach
-- them, each with its due day, owner and what was achieved. Progress is done / (all − cancelled).

CREATE TABLE care_plans (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   BIGINT NOT NULL REFERENCES customers(id),
    region_code   TEXT,                        -- the customer's, for the users of that region
    title         TEXT NOT NULL,
    goals         TEXT NOT NULL DEFAULT '',
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    owner_id      BIGINT NOT NULL REFERENCES users(id),
    status        TEXT NOT NULL DEFAULT 'active', -- active | completed | cancelled
    closed_at     TEXT,
    version       BIGINT NOT NULL DEFAULT 1,
    created_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
-- The lists: by status (everyone's), by region and status (region users), a customer's plans.
CREATE INDEX care_plans_status ON care_plans(status, id);
CREATE INDEX care_plans_region ON care_plans(region_code, status, id);
CREATE INDEX care_plans_customer ON care_plans(customer_id, id);
CREATE INDEX care_plans_owner ON care_plans(owner_id, id);

CREATE TABLE care_plan_actions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id       BIGINT NOT NULL REFERENCES care_plans(id),
    what          TEXT NOT NULL,
    due_on        TEXT NOT NULL,
    owner_id      BIGINT NOT NULL REFERENCES users(id),
    status        TEXT NOT NULL DEFAULT 'open', -- open | done | cancelled
    done_on       TEXT,                        -- the day it was done (company time)
    done_at       TEXT,                        -- when that was recorded
    note          TEXT NOT NULL DEFAULT '',    -- what was achieved, or why it was cancelled
    version       BIGINT NOT NULL DEFAULT 1,
    created_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX care_plan_actions_plan ON care_plan_actions(plan_id, due_on, id);
-- Open actions by due day (the overdue count and list), and by owner ("mine").
CREATE INDEX care_plan_actions_open ON care_plan_actions(due_on, plan_id) WHERE status = 'open';
CREATE INDEX care_plan_actions_owner ON care_plan_actions(owner_id, plan_id) WHERE status = 'open';
