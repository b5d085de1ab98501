-- Visit tasks without foreign keys. A year of visits for a million customers is ten million
-- rows; each key was a trigger queued and run per row (a quarter of an insert's work).
-- Customers and users are never deleted (they are deactivated), and every task is written from
-- a customer, assignee or user the same transaction read, so the keys add no protection here.
ALTER TABLE visit_tasks DROP CONSTRAINT IF EXISTS visit_tasks_customer_id_fkey;
ALTER TABLE visit_tasks DROP CONSTRAINT IF EXISTS visit_tasks_assignee_id_fkey;
ALTER TABLE visit_tasks DROP CONSTRAINT IF EXISTS visit_tasks_done_by_fkey;
