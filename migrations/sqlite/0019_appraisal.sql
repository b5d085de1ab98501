-- Monthly staff appraisal (员工考核, R9.4, RULES §7). A scheme per role lists the measured KPIs
-- with their weights, targets and scoring rules (data, edited by managers). A month of a role is
-- opened once: one row per active user of the role with the KPIs measured then, kept as a
-- snapshot with the counts (and the orders, surveys … counted) they came from; each person
-- enters his self-assessment, the manager his; closing ranks the month and freezes it. The
-- last places record a reason and an improvement plan, due a week after the results.

CREATE TABLE appraisal_schemes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    role        TEXT NOT NULL UNIQUE,         -- domain::Role code
    version     BIGINT NOT NULL DEFAULT 1,
    updated_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    updated_at  TEXT
);

CREATE TABLE appraisal_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    scheme_id   BIGINT NOT NULL REFERENCES appraisal_schemes(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    kpi         TEXT NOT NULL,                -- rules::appraisal::Kpi
    weight      REAL NOT NULL,
    target      REAL NOT NULL,
    rule        TEXT NOT NULL                 -- rules::appraisal::ScoreRule
);
CREATE INDEX appraisal_items_scheme ON appraisal_items(scheme_id, position);

CREATE TABLE appraisal_months (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    month       TEXT NOT NULL,                -- 2026-11
    role        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open', -- open | closed
    settings    TEXT NOT NULL,                -- rules::appraisal::Settings in force (JSON)
    opened_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    opened_at   TEXT NOT NULL,
    closed_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    closed_at   TEXT,
    results_on  TEXT,                         -- local day the ranking was published
    version     BIGINT NOT NULL DEFAULT 1,
    UNIQUE (month, role)
);

CREATE TABLE appraisal_rows (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    month_id         BIGINT NOT NULL REFERENCES appraisal_months(id) ON DELETE CASCADE,
    user_id          BIGINT NOT NULL REFERENCES users(id),
    user_name        TEXT NOT NULL,
    kpis             TEXT NOT NULL,           -- measured items with counts and evidence (JSON)
    kpi_score        REAL,
    self_score       REAL,
    self_comment     TEXT NOT NULL DEFAULT '',
    self_at          TEXT,
    manager_score    REAL,
    manager_comment  TEXT NOT NULL DEFAULT '',
    manager_reason   TEXT NOT NULL DEFAULT '',
    manager_id       BIGINT REFERENCES users(id) ON DELETE SET NULL,
    manager_at       TEXT,
    final_score      REAL,
    place            BIGINT,
    reward           BOOLEAN NOT NULL DEFAULT FALSE,
    last_place       BOOLEAN NOT NULL DEFAULT FALSE,
    last_streak      BIGINT NOT NULL DEFAULT 0,
    transfer         BOOLEAN NOT NULL DEFAULT FALSE,
    rank_rule        TEXT NOT NULL DEFAULT '',
    plan_due         TEXT,
    plan_reason      TEXT NOT NULL DEFAULT '',
    plan_text        TEXT NOT NULL DEFAULT '',
    plan_by          BIGINT REFERENCES users(id) ON DELETE SET NULL,
    plan_at          TEXT,
    version          BIGINT NOT NULL DEFAULT 1,
    UNIQUE (month_id, user_id)
);
CREATE INDEX appraisal_rows_user ON appraisal_rows(user_id, month_id);
CREATE INDEX appraisal_rows_plan ON appraisal_rows(plan_due) WHERE last_place AND plan_at IS NULL;

-- A dispatcher's follow-up visits done on time are read by who did them (open ones through
-- visit_tasks_assignee_open); only done visits are in this index.
CREATE INDEX visit_tasks_done_by ON visit_tasks(done_by, due_on) WHERE status = 'done';

-- Default schemes (the seeds' 客服绩效 and service-department figures, RULES §7 targets).
INSERT INTO appraisal_schemes (role) VALUES ('engineer'), ('dispatcher'), ('warehouse'), ('quality');
INSERT INTO appraisal_items (scheme_id, position, kpi, weight, target, rule)
SELECT s.id, i.position, i.kpi, i.weight, i.target, i.rule FROM appraisal_schemes s JOIN (
    SELECT 'engineer' AS role, 1 AS position, 'on_site_on_time' AS kpi, 25.0 AS weight, 100.0 AS target, 'linear' AS rule
    UNION ALL SELECT 'engineer', 2, 'first_time_fix', 20.0, 95.0, 'linear'
    UNION ALL SELECT 'engineer', 3, 'satisfaction', 25.0, 90.0, 'stepped'
    UNION ALL SELECT 'engineer', 4, 'completed_orders', 20.0, 40.0, 'linear'
    UNION ALL SELECT 'engineer', 5, 'repeat_repair_rate', 10.0, 2.0, 'threshold'
    UNION ALL SELECT 'dispatcher', 1, 'reply_on_time', 50.0, 100.0, 'linear'
    UNION ALL SELECT 'dispatcher', 2, 'visits_on_time', 50.0, 100.0, 'linear'
    UNION ALL SELECT 'warehouse', 1, 'picking_accuracy', 100.0, 98.0, 'stepped'
    UNION ALL SELECT 'quality', 1, 'actions_closed', 100.0, 100.0, 'linear'
) i ON i.role = s.role;
