-- Visit tasks without foreign keys. A year of visits for a million customers is ten million
-- rows written in multi-row statements; with a foreign key on the table SQLite must be able to
-- undo a statement halfway, so it copied every page each statement touched into a statement
-- journal first (a fifth of the planner's time). Customers and users are never deleted (they
-- are deactivated), and every task is written from a customer, assignee or user the same
-- transaction read, so the keys add no protection here. SQLite cannot drop a foreign key: the
-- table is rebuilt (ids kept; no AUTOINCREMENT either, as tasks are never deleted, so ids are
-- still never reused), which takes about a minute per ten million tasks, once.
CREATE TABLE visit_tasks_lean (
    id            INTEGER PRIMARY KEY,
    customer_id   BIGINT NOT NULL,             -- customers(id)
    region_code   TEXT,                        -- the customer's, for the agents of that region
    rule_code     TEXT NOT NULL,
    period_key    TEXT NOT NULL,               -- period start, order:ID or survey:ID
    due_on        TEXT NOT NULL,
    order_id      BIGINT,                      -- the job it follows up
    survey_id     BIGINT,                      -- the low score it follows up
    in_warranty   BOOLEAN NOT NULL DEFAULT FALSE, -- planned by an in-warranty rule: counts in the revisit rate
    assignee_id   BIGINT,                      -- users(id)
    status        TEXT NOT NULL DEFAULT 'open', -- open | done | cancelled
    channel       TEXT,                        -- phone | letter | email | on_site
    outcome       TEXT,                        -- reached | unreachable | declined
    needs         TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    done_at       TEXT,
    done_on       TEXT,
    done_by       BIGINT,                      -- users(id)
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    unit_id       BIGINT,                      -- a maintenance reminder's unit
    notified      TEXT                         -- reminders: email | none, once told
);
INSERT INTO visit_tasks_lean (id, customer_id, region_code, rule_code, period_key, due_on, order_id, survey_id,
    in_warranty, assignee_id, status, channel, outcome, needs, note, done_at, done_on, done_by, version,
    created_at, unit_id, notified)
SELECT id, customer_id, region_code, rule_code, period_key, due_on, order_id, survey_id, in_warranty,
    assignee_id, status, channel, outcome, needs, note, done_at, done_on, done_by, version, created_at,
    unit_id, notified
FROM visit_tasks ORDER BY id;
DROP TABLE visit_tasks;
ALTER TABLE visit_tasks_lean RENAME TO visit_tasks;
CREATE UNIQUE INDEX visit_tasks_key ON visit_tasks(customer_id, rule_code, period_key);
CREATE INDEX visit_tasks_region_open ON visit_tasks(region_code, due_on, id) WHERE status = 'open';
CREATE INDEX visit_tasks_assignee_open ON visit_tasks(assignee_id, due_on, id) WHERE status = 'open' AND assignee_id IS NOT NULL;
CREATE INDEX visit_tasks_warranty ON visit_tasks(due_on) WHERE in_warranty;
CREATE INDEX visit_tasks_to_notify ON visit_tasks(id) WHERE unit_id IS NOT NULL AND notified IS NULL;
CREATE INDEX visit_tasks_unit_open ON visit_tasks(unit_id) WHERE unit_id IS NOT NULL AND status = 'open';
CREATE INDEX visit_tasks_done_by ON visit_tasks(done_by, due_on) WHERE status = 'done';
