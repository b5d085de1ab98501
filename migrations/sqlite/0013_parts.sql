-- Spare parts (R8): the catalogue, warehouses (central, regional and each engineer's van), stock
-- per location, and every movement. Stock is only ever changed together with the movement that
-- explains it, so on_hand and faulty always equal the sum of the movements (a test checks it).

CREATE TABLE parts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    part_no         TEXT NOT NULL UNIQUE,
    name_zh         TEXT NOT NULL,
    name_en         TEXT NOT NULL DEFAULT '',
    key_part        BOOLEAN NOT NULL DEFAULT FALSE, -- motor, controller, axle …: failures watched (R8.2)
    serial_tracked  BOOLEAN NOT NULL DEFAULT FALSE,
    unit_cost_cents BIGINT NOT NULL DEFAULT 0,      -- what a piece costs the company
    price_cents     BIGINT NOT NULL DEFAULT 0,      -- what a paying customer is charged
    supplier        TEXT NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX parts_name ON parts(name_zh);

-- The models a part fits.
CREATE TABLE part_models (
    part_id   BIGINT NOT NULL REFERENCES parts(id) ON DELETE CASCADE,
    model_id  BIGINT NOT NULL REFERENCES product_models(id),
    PRIMARY KEY (part_id, model_id)
);
CREATE INDEX part_models_model ON part_models(model_id, part_id);

CREATE TABLE warehouses (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,                -- central | regional | van
    region_code  TEXT REFERENCES regions(code),
    engineer_id  BIGINT REFERENCES users(id),  -- a van's engineer
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    version      BIGINT NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX warehouses_van ON warehouses(engineer_id) WHERE engineer_id IS NOT NULL;

-- One row per part held at a location; a row appears with the first movement or reorder point.
CREATE TABLE stock (
    warehouse_id   BIGINT NOT NULL REFERENCES warehouses(id),
    part_id        BIGINT NOT NULL REFERENCES parts(id),
    on_hand        BIGINT NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    faulty         BIGINT NOT NULL DEFAULT 0 CHECK (faulty >= 0), -- faulty parts returned, not usable
    reorder_point  BIGINT NOT NULL DEFAULT 0,  -- at or below it the part is to be replenished
    reorder_qty    BIGINT NOT NULL DEFAULT 0,  -- how many to order then (0: up to twice the point)
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (warehouse_id, part_id)
);
CREATE INDEX stock_part ON stock(part_id, warehouse_id);
CREATE INDEX stock_low ON stock(warehouse_id, part_id) WHERE on_hand <= reorder_point AND reorder_point > 0;

CREATE TABLE stock_movements (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,     -- rules::parts::MovementKind
    part_id         BIGINT NOT NULL REFERENCES parts(id),
    qty             BIGINT NOT NULL,   -- pieces; an adjustment's is the signed change
    from_id         BIGINT REFERENCES warehouses(id),
    to_id           BIGINT REFERENCES warehouses(id),
    order_id        BIGINT REFERENCES work_orders(id),
    ref_id          BIGINT REFERENCES stock_movements(id), -- the issue a return undoes, the pick a wrong part came from
    serial          TEXT,              -- the piece's serial number (tracked parts)
    old_serial      TEXT,              -- the faulty piece taken out of the customer's product
    batch           TEXT,              -- production batch
    supplier        TEXT,
    unit_cost_cents BIGINT NOT NULL DEFAULT 0,
    price_cents     BIGINT NOT NULL DEFAULT 0, -- per piece, charged to the customer (paid orders)
    note            TEXT NOT NULL DEFAULT '',
    actor_id        BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX stock_movements_part ON stock_movements(part_id, id);
CREATE INDEX stock_movements_from ON stock_movements(from_id, id);
CREATE INDEX stock_movements_to ON stock_movements(to_id, id);
CREATE INDEX stock_movements_order ON stock_movements(order_id, id) WHERE order_id IS NOT NULL;
CREATE INDEX stock_movements_ref ON stock_movements(ref_id) WHERE ref_id IS NOT NULL;
-- Picking accuracy counts a period's picks by location.
CREATE INDEX stock_movements_picks ON stock_movements(created_at, from_id) WHERE kind IN ('transfer', 'issue');
-- Key-part failure monitoring reads only the faulty returns.
CREATE INDEX stock_movements_faulty ON stock_movements(created_at, part_id) WHERE kind = 'return_faulty';

-- An engineer's request for parts from a warehouse for an order; the warehouse picks it into
-- the engineer's van (a transfer).
CREATE TABLE part_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id      BIGINT REFERENCES work_orders(id),
    part_id       BIGINT NOT NULL REFERENCES parts(id),
    qty           BIGINT NOT NULL CHECK (qty > 0),
    warehouse_id  BIGINT NOT NULL REFERENCES warehouses(id), -- asked of
    van_id        BIGINT NOT NULL REFERENCES warehouses(id), -- delivered to
    status        TEXT NOT NULL DEFAULT 'open',              -- open | fulfilled | cancelled
    movement_id   BIGINT REFERENCES stock_movements(id),
    note          TEXT NOT NULL DEFAULT '',
    requested_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    closed_by     BIGINT REFERENCES users(id) ON DELETE SET NULL,
    closed_at     TEXT,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);
CREATE INDEX part_requests_open ON part_requests(warehouse_id, id) WHERE status = 'open';
CREATE INDEX part_requests_order ON part_requests(order_id) WHERE order_id IS NOT NULL;

-- A key part failing more often than its normal rate in a month (rules::parts::failure_alert),
-- handed to quality. One per part and month, whichever instance finds it first.
CREATE TABLE part_alerts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    part_id       BIGINT NOT NULL REFERENCES parts(id),
    month         TEXT NOT NULL,               -- YYYY-MM
    failures      BIGINT NOT NULL,
    baseline      REAL NOT NULL,   -- failures per month normally
    rule          TEXT NOT NULL,               -- the policy and version that raised it
    status        TEXT NOT NULL DEFAULT 'open', -- open | acknowledged | closed
    note          TEXT NOT NULL DEFAULT '',
    closed_by     BIGINT REFERENCES users(id) ON DELETE SET NULL,
    closed_at     TEXT,
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    UNIQUE (part_id, month)
);

-- What issued parts cost the company (in-warranty parts are free to the customer but costed).
ALTER TABLE work_orders ADD COLUMN parts_cost_cents BIGINT NOT NULL DEFAULT 0;
