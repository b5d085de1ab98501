-- Days of the dashboard's figures to count again (R9.5). The aggregation finds the days of
-- changed orders from what the orders still say (created, completed, clocks started); a
-- reopened order no longer says on which day it was completed, so the reopening marks that
-- day here in its own transaction, and the next run counts it again. Read like the orders'
-- `updated_at`: rows marked since the last run (with its margin); older ones are deleted.
CREATE TABLE dashboard_recount (
    day        TEXT NOT NULL PRIMARY KEY,
    marked_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX dashboard_recount_marked ON dashboard_recount(marked_at);

-- Service teams (R9.5's team filter): a team has a name, optionally a region and a leader, and
-- may be deactivated; an engineer belongs to at most one team (users.team_id).
CREATE TABLE teams (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    region_code  TEXT REFERENCES regions(code),
    leader_id    BIGINT REFERENCES users(id),
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    version      BIGINT NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
ALTER TABLE users ADD COLUMN team_id BIGINT REFERENCES teams(id);
CREATE INDEX users_team ON users(team_id) WHERE team_id IS NOT NULL;

-- An order belongs to the team of its engineer when he was assigned (kept when the engineer
-- later changes team, so past figures stay as they were; a new assignment takes the new
-- engineer's team; declined or reopened, the order has no engineer and no team).
ALTER TABLE work_orders ADD COLUMN team_id BIGINT REFERENCES teams(id);
CREATE INDEX work_orders_team ON work_orders(team_id, status, id) WHERE team_id IS NOT NULL;

-- The day figures get the team: rows of team_id 0 are the totals of all orders (what the
-- table held so far), rows of a team the same facts of that team's orders only (orders
-- without a team are in the totals alone). The team comes first after the measure, so the
-- dashboard without a team filter reads as many rows as before and a team's reads its own.
-- Rebuilt empty: the aggregation's next run backfills every closed day (done_to NULL).
DROP TABLE dashboard_day_stats;
CREATE TABLE dashboard_day_stats (
    measure        TEXT NOT NULL,
    team_id        BIGINT NOT NULL DEFAULT 0,
    day            TEXT NOT NULL,
    region_code    TEXT NOT NULL DEFAULT '',
    category_code  TEXT NOT NULL DEFAULT '',
    item           TEXT NOT NULL DEFAULT '',
    n              BIGINT NOT NULL,
    ok             BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (measure, team_id, day, region_code, category_code, item)
) WITHOUT ROWID;
UPDATE dashboard_state SET done_to = NULL, checked_at = NULL, refreshed_at = NULL;
