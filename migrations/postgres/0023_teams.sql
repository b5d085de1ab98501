-- Days of the dashboard's figures to count again (R9.5). The aggregation finds the days of
-- changed orders from what the orders still say (created, completed, clocks started); a
-- reopened order no longer says on which day it was completed, so the reopening marks that
-- day here in its own transaction, and the next run counts it again. Read like the orders'
-- `updated_at`: rows marked since the last run (with its margin); older ones are deleted.
CREATE TABLE dashboard_recount (
    day        DATE NOT NULL PRIMARY KEY,
    marked_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX dashboard_recount_marked ON dashboard_recount(marked_at);
