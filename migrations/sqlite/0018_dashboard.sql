-- The management dashboard (R9.5). Figures of closed days (before the company's today) are
-- kept per day, so a quarter's chart sums a few thousand rows instead of scanning millions of
-- orders; today's figures are counted live from today's rows. One row per measure, day,
-- region, product category and item:
--   channel   item = channel, n = orders created that day
--   kind      item = request kind, n = orders created that day
--   completed item = '', n = orders completed that day
--   fault     item = fault code, n = orders completed that day with that fault
--   sla       item = target, n = clocks started that day and stopped since, ok = of them met in time
--               (clocks still running are counted live: they may still be met or breached)
--   survey    item = '', n = survey answers given that day, ok = satisfied answers
-- '' stands for "no region" / "no category".
CREATE TABLE dashboard_day_stats (
    measure        TEXT NOT NULL,
    day            TEXT NOT NULL,
    region_code    TEXT NOT NULL DEFAULT '',
    category_code  TEXT NOT NULL DEFAULT '',
    item           TEXT NOT NULL DEFAULT '',
    n              BIGINT NOT NULL,
    ok             BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (measure, day, region_code, category_code, item)
) WITHOUT ROWID;

-- The aggregation's progress and its lease (one instance works at a time): days before
-- `done_to` are in the table; orders changed since `checked_at` make their days be counted again.
CREATE TABLE dashboard_state (
    id            INTEGER PRIMARY KEY,
    done_to       TEXT,
    checked_at    TEXT,
    refreshed_at  TEXT,
    lease_owner   TEXT,
    lease_until   TEXT
);
INSERT INTO dashboard_state (id) VALUES (1);

-- Today's orders counted live; changed orders found by the aggregation; running clocks.
CREATE INDEX IF NOT EXISTS work_orders_created ON work_orders(created_at, id); -- also the calls register's (0020)
CREATE INDEX work_orders_updated ON work_orders(updated_at);
CREATE INDEX work_order_clocks_running ON work_order_clocks(started_at) WHERE stopped_at IS NULL;
