-- Customer and sold-product archive (R1): customers with contacts and phones, product
-- categories and models, sold units with their owner history, and the search index.
-- Dates (sale, invoice, …) are ISO text on SQLite, DATE on PostgreSQL.

CREATE TABLE customers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,                 -- company | person
    name          TEXT NOT NULL,
    class         TEXT NOT NULL DEFAULT 'C',     -- A | B | C by importance
    key_customer  BOOLEAN NOT NULL DEFAULT FALSE,
    region_code   TEXT REFERENCES regions(code),
    province      TEXT NOT NULL DEFAULT '',
    city          TEXT NOT NULL DEFAULT '',
    district      TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    phone         TEXT,
    email         TEXT,
    tags          TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    version       BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT
);
CREATE INDEX customers_region ON customers(region_code, id);
CREATE INDEX customers_name_city ON customers(name, city);

CREATE TABLE customer_contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    phone        TEXT,
    email        TEXT,
    position     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX customer_contacts_customer ON customer_contacts(customer_id);

-- Every phone of a customer (its own and its contacts'), digits only, for exact and prefix lookup.
CREATE TABLE customer_phones (
    phone        TEXT NOT NULL,
    customer_id  BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (phone, customer_id)
);
CREATE INDEX customer_phones_customer ON customer_phones(customer_id);

-- Words of name, address, tags, notes and contacts, segmented by jieba (rowid = customer id).
CREATE VIRTUAL TABLE customer_search USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2');

CREATE TABLE product_categories (
    code         TEXT PRIMARY KEY,
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL
);

CREATE TABLE product_models (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    code            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    category_code   TEXT NOT NULL REFERENCES product_categories(code),
    grade           TEXT NOT NULL,               -- high | mid | low (中高档 / 低档)
    policy_code     TEXT NOT NULL,               -- entitlement policy
    warranty_months INTEGER,                     -- overrides the policy's period when set
    key_parts       TEXT NOT NULL DEFAULT '',
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT
);

CREATE TABLE units (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    serial          TEXT NOT NULL UNIQUE,        -- serial number or VIN, as printed
    model_id        BIGINT NOT NULL REFERENCES product_models(id),
    customer_id     BIGINT NOT NULL REFERENCES customers(id),
    dealer          TEXT NOT NULL DEFAULT '',
    sale_date       TEXT,
    invoice_no      TEXT,
    invoice_date    TEXT,
    delivery_date   TEXT,
    install_date    TEXT,
    certificate_no  TEXT,                        -- 三包凭证编号
    odometer_km     BIGINT,
    public_token    TEXT NOT NULL UNIQUE,        -- the QR code's secret link
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT
);
CREATE INDEX units_customer ON units(customer_id);
CREATE INDEX units_model ON units(model_id);
CREATE INDEX units_invoice ON units(invoice_no);
CREATE INDEX units_certificate ON units(certificate_no);

CREATE TABLE unit_owners (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id      BIGINT NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    customer_id  BIGINT NOT NULL REFERENCES customers(id),
    from_at      TEXT NOT NULL,
    to_at        TEXT,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX unit_owners_unit ON unit_owners(unit_id, id);
CREATE INDEX unit_owners_customer ON unit_owners(customer_id);
