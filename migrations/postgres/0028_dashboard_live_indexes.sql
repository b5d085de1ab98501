-- The dashboard's live figures (open orders now, running clocks) are read from two small
-- covering indexes instead of the orders' and clocks' rows: at 5 M orders those rows are
-- scattered over a 16 GB file, and the first view after a start read them from disk (1.2 s).
-- The status list is store::work_orders::OPEN_STATUSES, as the statements write it.
CREATE INDEX work_orders_open ON work_orders(status, region_code, category_code, team_id, engineer_id, sla_due_at)
    WHERE status IN ('review', 'open', 'assigned', 'accepted', 'travelling', 'on_site', 'waiting_customer', 'waiting_approval');
-- stopped_at is always NULL here; as a column it lets SQLite read the index alone.
DROP INDEX work_order_clocks_running;
CREATE INDEX work_order_clocks_running
    ON work_order_clocks(started_at, order_id, target, state, due_at, breached_at, stopped_at) WHERE stopped_at IS NULL;
