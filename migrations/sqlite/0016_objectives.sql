-- Service objectives (服务目标, R9.1): per year, a metric's target for the company or one
-- department, with its owner; proposed by the service manager, approved by the general manager;
-- every change is a revision kept with who and when (revised yearly: a year's objectives are
-- copied into the next and revised there).

CREATE TABLE objectives (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    year         INTEGER NOT NULL,
    metric       TEXT NOT NULL,              -- rules::metrics::Metric
    department   TEXT NOT NULL,              -- company | service | quality | warehouse | sales
    target       REAL NOT NULL,
    owner_id     BIGINT REFERENCES users(id) ON DELETE SET NULL,
    note         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'proposed', -- proposed | approved | withdrawn
    proposed_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    approved_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    approved_at  TEXT,
    version      BIGINT NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (year, metric, department)
);

CREATE TABLE objective_revisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    objective_id  BIGINT NOT NULL REFERENCES objectives(id),
    version       BIGINT NOT NULL,
    action        TEXT NOT NULL,             -- propose | revise | approve | withdraw
    target        REAL NOT NULL,
    status        TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    actor_id      BIGINT REFERENCES users(id) ON DELETE SET NULL,
    actor_label   TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX objective_revisions_objective ON objective_revisions(objective_id, id);
