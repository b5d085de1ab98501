-- Notifications (R3): e-mails and webhook calls written in the same transaction as the change
-- that causes them (an outbox), sent afterwards by a worker that claims due rows under a lease,
-- so a message is never sent from inside a transaction, never lost, and never sent twice by
-- two instances.

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event            TEXT NOT NULL,            -- order_created | order_assigned | quote_sent | order_completed
    order_id         BIGINT REFERENCES work_orders(id) ON DELETE CASCADE,
    channel          TEXT NOT NULL,            -- email | webhook
    recipient        TEXT NOT NULL,            -- an e-mail address or the webhook's URL
    webhook_id       BIGINT,
    subject          TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL,            -- text (e-mail) or JSON (webhook); %{base} is the public URL
    status           TEXT NOT NULL,            -- pending | sent | failed | skipped
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    locked_until     TEXT,
    sent_at          TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_order ON outbox(order_id);

-- Integrations: every subscribed event is POSTed as JSON, signed with HMAC-SHA256 of the secret.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,                 -- comma-separated event codes, or *
    secret      TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_by  BIGINT REFERENCES users(id),
    created_at  TEXT NOT NULL
);

-- Requests filed without an account (the warranty card's form), by address, to keep a flood out.
CREATE TABLE public_requests (
    ip   TEXT NOT NULL,
    at   TEXT NOT NULL
);
CREATE INDEX public_requests_ip ON public_requests(ip, at);
