-- Corrective actions (R9.2): the quality department acts on what the quarterly fault analysis
-- (or a key-part alert) shows — what is wrong, what will be done, by whom, by when — and
-- verifies the effect before closing. `baseline` is the count the analysis showed, so the
-- verification can compare it with the same group's count afterwards.

CREATE TABLE corrective_actions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dimension     TEXT NOT NULL,               -- fault | model | region | part
    key           TEXT NOT NULL,               -- the group's key (fault code as category/code, model code …)
    label         TEXT NOT NULL DEFAULT '',
    period_from   TEXT NOT NULL,               -- the analysed period
    period_to     TEXT NOT NULL,
    baseline      BIGINT NOT NULL DEFAULT 0,
    problem       TEXT NOT NULL,
    action        TEXT NOT NULL,
    owner_id      BIGINT NOT NULL REFERENCES users(id),
    due_on        TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open', -- open | done | verified | cancelled
    done_note     TEXT NOT NULL DEFAULT '',
    done_at       TEXT,
    verification  TEXT NOT NULL DEFAULT '',
    effective     BOOLEAN,
    verified_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    verified_at   TEXT,
    version       BIGINT NOT NULL DEFAULT 1,
    created_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX corrective_actions_status ON corrective_actions(status, due_on, id);
CREATE INDEX corrective_actions_key ON corrective_actions(dimension, key, id);
