-- Complaints, suggestions and praise (R5): what the customer said, who handles it, the two
-- promises of the complaint policy (acknowledge, answer) and every step taken, with the
-- inspection body's finding on quality disputes.

-- The complaint policy, one row per saved version; a complaint cites the version it started with.
CREATE TABLE complaint_policies (
    version      BIGINT PRIMARY KEY,
    policy_json  TEXT NOT NULL,                -- rules::complaint::ComplaintPolicy
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL
);

CREATE TABLE complaints (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,            -- complaint | suggestion | praise
    severity         TEXT NOT NULL,            -- general | major
    status           TEXT NOT NULL,            -- rules::complaint::Status
    department       TEXT NOT NULL,            -- quality | service | sales
    channel          TEXT NOT NULL,            -- how it reached us (the work orders' channels)
    customer_id      BIGINT REFERENCES customers(id),
    unit_id          BIGINT REFERENCES units(id),
    order_id         BIGINT REFERENCES work_orders(id),
    engineer_id      BIGINT REFERENCES users(id) ON DELETE SET NULL, -- whom it is about (praise is credited)
    region_code      TEXT,
    contact_name     TEXT NOT NULL DEFAULT '',
    contact_phone    TEXT,
    subject          TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    policy_version   BIGINT NOT NULL,
    received_at      TEXT NOT NULL,
    ack_due_at       TEXT,                     -- as last evaluated, for the overdue list
    answer_due_at    TEXT,
    acknowledged_at  TEXT,
    answered_at      TEXT,
    answer_channel   TEXT,                     -- letter | phone | email | on_site
    answered_on      TEXT,                     -- the day the letter went or the call was made
    answer_text      TEXT NOT NULL DEFAULT '',
    accepted         BOOLEAN,                  -- the customer's word on the answer
    root_cause       TEXT NOT NULL DEFAULT '',
    inspection_body  TEXT NOT NULL DEFAULT '',
    conclusion       TEXT,                     -- conforming | nonconforming
    forwarded_to     TEXT,                     -- the department a suggestion went to
    valuable         BOOLEAN NOT NULL DEFAULT FALSE,
    adopted          BOOLEAN,
    closed_at        TEXT,
    ack_escalated_at    TEXT,                 -- when the managers were told a promise was broken
    answer_escalated_at TEXT,
    version          BIGINT NOT NULL DEFAULT 1,
    created_by       BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX complaints_received ON complaints(received_at, id);
CREATE INDEX complaints_open ON complaints(department, received_at, id) WHERE status NOT IN ('closed', 'cancelled');
CREATE INDEX complaints_customer ON complaints(customer_id, id);
CREATE INDEX complaints_order ON complaints(order_id) WHERE order_id IS NOT NULL;
CREATE INDEX complaints_major ON complaints(received_at) WHERE kind = 'complaint' AND severity = 'major' AND status <> 'cancelled';

CREATE TABLE complaint_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id  BIGINT NOT NULL REFERENCES complaints(id),
    action        TEXT NOT NULL,               -- register, or a rules::complaint::Action
    at            TEXT NOT NULL,
    user_id       BIGINT REFERENCES users(id) ON DELETE SET NULL,
    user_label    TEXT NOT NULL,
    status_to     TEXT NOT NULL,
    channel       TEXT,
    on_day        TEXT,
    text          TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT ''      -- what changed: severity, department, conclusion …
);
CREATE INDEX complaint_events_of ON complaint_events(complaint_id, id);
