-- Maintenance reminders (R6.3): a model's routine service interval, each unit's last
-- completed maintenance, and reminder tasks in the visit queue that name their unit and
-- record whether the customer was told. Periodic survey campaigns (R7.1): a chosen group of
-- customers each gets a survey link.

ALTER TABLE product_models ADD COLUMN service_interval_months INTEGER;  -- none: no routine service
ALTER TABLE units ADD COLUMN last_service_on TEXT;                      -- the last completed maintenance
ALTER TABLE visit_tasks ADD COLUMN unit_id BIGINT;                      -- a maintenance reminder's unit
ALTER TABLE visit_tasks ADD COLUMN notified TEXT;                       -- reminders: email | none, once told
CREATE INDEX visit_tasks_to_notify ON visit_tasks(id) WHERE unit_id IS NOT NULL AND notified IS NULL;
CREATE INDEX visit_tasks_unit_open ON visit_tasks(unit_id) WHERE unit_id IS NOT NULL AND status = 'open';

CREATE TABLE survey_campaigns (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    filter_json   TEXT NOT NULL,               -- which customers: service::care::CampaignFilter
    surveys       BIGINT NOT NULL DEFAULT 0,   -- links created
    emailed       BIGINT NOT NULL DEFAULT 0,   -- of those, sent by e-mail
    created_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL
);
ALTER TABLE surveys ADD COLUMN campaign_id BIGINT REFERENCES survey_campaigns(id);
CREATE UNIQUE INDEX surveys_campaign_customer ON surveys(campaign_id, customer_id) WHERE campaign_id IS NOT NULL;
