-- Service requests and work orders (R3): the order with its report, its timeline of status
-- changes, quotes, approvals, attachments (stored outside the database), the fault catalogue
-- per product category and the engineers' skills used by dispatch.

CREATE TABLE fault_codes (
    category_code  TEXT NOT NULL REFERENCES product_categories(code),
    code           TEXT NOT NULL,
    name_zh        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    PRIMARY KEY (category_code, code)
);

CREATE TABLE engineer_skills (
    user_id        BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    category_code  TEXT NOT NULL REFERENCES product_categories(code),
    PRIMARY KEY (user_id, category_code)
);

CREATE TABLE work_orders (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    status             TEXT NOT NULL,
    resume_status      TEXT,                      -- where a quote or approval returns to
    channel            TEXT NOT NULL,
    kind               TEXT NOT NULL,
    priority           TEXT NOT NULL,
    customer_id        BIGINT NOT NULL REFERENCES customers(id),
    unit_id            BIGINT REFERENCES units(id),
    region_code        TEXT REFERENCES regions(code),
    category_code      TEXT,
    contact_name       TEXT NOT NULL DEFAULT '',
    contact_phone      TEXT NOT NULL DEFAULT '',
    address            TEXT NOT NULL DEFAULT '',
    problem            TEXT NOT NULL,
    requested_at       TEXT,                      -- the visit time the customer asked for
    entitlement        TEXT NOT NULL,             -- free | paid | exchange | refund | none
    entitlement_note   TEXT NOT NULL DEFAULT '',
    decision_id        BIGINT REFERENCES entitlement_decisions(id),
    repeat_of          BIGINT REFERENCES work_orders(id),
    review_reason      TEXT,
    review_assessment  TEXT,
    review_plan        TEXT,
    reviewed_by        BIGINT REFERENCES users(id),
    reviewed_at        TEXT,
    engineer_id        BIGINT REFERENCES users(id),
    scheduled_at       TEXT,
    assigned_at        TEXT,
    accepted_at        TEXT,
    travel_started_at  TEXT,
    arrived_at         TEXT,
    completed_at       TEXT,
    closed_at          TEXT,
    cancelled_at       TEXT,
    cancel_reason      TEXT,
    fault_code         TEXT,
    diagnosis          TEXT NOT NULL DEFAULT '',
    work_done          TEXT NOT NULL DEFAULT '',
    parts_used         TEXT NOT NULL DEFAULT '',
    labour_minutes     BIGINT,
    travel_km          BIGINT,
    parts_cents        BIGINT NOT NULL DEFAULT 0,
    labour_cents       BIGINT NOT NULL DEFAULT 0,
    travel_cents       BIGINT NOT NULL DEFAULT 0,
    collected_cents    BIGINT NOT NULL DEFAULT 0,
    payment_method     TEXT,
    signed_by          TEXT,
    signature_id       BIGINT,
    rating             INTEGER,
    rating_comment     TEXT NOT NULL DEFAULT '',
    public_token       TEXT NOT NULL UNIQUE,     -- the customer's tracking link
    extras             INTEGER NOT NULL DEFAULT 0, -- has quotes 1, approvals 2, attachments 4: reads skip the rest
    created_by         BIGINT REFERENCES users(id),
    version            BIGINT NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX work_orders_status ON work_orders(status, id);
CREATE INDEX work_orders_engineer ON work_orders(engineer_id, status, scheduled_at); -- loads counted from the index alone
CREATE INDEX work_orders_engineer_id ON work_orders(engineer_id, id);     -- an engineer's list, newest first
CREATE INDEX work_orders_customer ON work_orders(customer_id, id);
CREATE INDEX work_orders_unit ON work_orders(unit_id, id);
CREATE INDEX work_orders_region ON work_orders(region_code, status, id);
CREATE INDEX work_orders_region_id ON work_orders(region_code, id);         -- a region's list, newest first
CREATE INDEX work_orders_completed ON work_orders(completed_at);            -- product feedback by period

-- Every status change and report edit, with who and when: the order's time line.
CREATE TABLE work_order_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     BIGINT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    actor_id     BIGINT REFERENCES users(id) ON DELETE SET NULL,
    actor_label  TEXT NOT NULL,
    action       TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX work_order_events_order ON work_order_events(order_id, id);

CREATE TABLE work_order_quotes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id      BIGINT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    parts_cents   BIGINT NOT NULL,
    labour_cents  BIGINT NOT NULL,
    travel_cents  BIGINT NOT NULL,
    description   TEXT NOT NULL,
    status        TEXT NOT NULL,               -- pending | approved | declined
    created_by    BIGINT REFERENCES users(id),
    created_at    TEXT NOT NULL,
    decided_at    TEXT,
    decided_via   TEXT,                        -- link | on_site | phone
    decided_by    TEXT,                        -- the name of whoever answered
    decision_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX work_order_quotes_order ON work_order_quotes(order_id, id);

CREATE TABLE work_order_approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id      BIGINT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,               -- extension | solution
    reason        TEXT NOT NULL,
    proposal      TEXT NOT NULL DEFAULT '',
    new_due       TEXT,
    status        TEXT NOT NULL,               -- pending | approved | refused
    requested_by  BIGINT REFERENCES users(id),
    requested_at  TEXT NOT NULL,
    decided_by    BIGINT REFERENCES users(id),
    decided_at    TEXT,
    decision_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX work_order_approvals_order ON work_order_approvals(order_id, id);
CREATE INDEX work_order_approvals_pending ON work_order_approvals(status, id);

-- Photos and signatures; the bytes live in the file store under storage_key.
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id      BIGINT NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,               -- photo | signature
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    storage_key   TEXT NOT NULL UNIQUE,
    filename      TEXT NOT NULL DEFAULT '',
    created_by    BIGINT REFERENCES users(id),
    created_at    TEXT NOT NULL
);
CREATE INDEX attachments_order ON attachments(order_id, id);

-- A user's saved filters of the order list (名称 → query string).
CREATE TABLE saved_views (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (user_id, name)
);
