-- Maintenance reminders are mailed when their visit comes due (14 days before the service),
-- not when the visit is planned: a year planned ahead must not mail a year of reminders at
-- once. The hourly pass reads the unmailed reminders due by today, oldest day first.
DROP INDEX visit_tasks_to_notify;
CREATE INDEX visit_tasks_to_notify ON visit_tasks(due_on, id) WHERE unit_id IS NOT NULL AND notified IS NULL;
