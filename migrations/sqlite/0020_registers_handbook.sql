-- Registers (R9.3): the calls and letters register reads orders by the time they were
-- registered; the dispatch records read the assignment events of a period.
CREATE INDEX IF NOT EXISTS work_orders_created ON work_orders(created_at, id);
CREATE INDEX work_order_events_assign ON work_order_events(at, id) WHERE action = 'assign';

-- The service handbook (售后服务手册, R10.2): its revisions. At most one draft is being edited;
-- the general manager issues it, which numbers it and keeps it, unchanged, as history.
CREATE TABLE handbook_revisions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    status          TEXT NOT NULL,               -- draft | issued
    revision_no     BIGINT,                      -- 1, 2, … from issue on
    title           TEXT NOT NULL,
    sections        TEXT NOT NULL,               -- JSON [{code, title, body}]
    matrix          TEXT NOT NULL,               -- JSON {departments: [..], processes: [{name, cells: [..]}]}
    objectives      TEXT NOT NULL DEFAULT '[]',  -- JSON: the year's approved objectives, frozen at issue
    change_summary  TEXT NOT NULL DEFAULT '',
    effective_on    TEXT,
    drafted_by      BIGINT REFERENCES users(id) ON DELETE SET NULL,
    drafted_by_name TEXT NOT NULL DEFAULT '',
    drafted_at      TEXT NOT NULL,
    issued_by       BIGINT REFERENCES users(id) ON DELETE SET NULL,
    issued_by_name  TEXT NOT NULL DEFAULT '',
    issued_at       TEXT,
    version         BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX handbook_revision_no ON handbook_revisions(revision_no) WHERE revision_no IS NOT NULL;
CREATE UNIQUE INDEX handbook_one_draft ON handbook_revisions(status) WHERE status = 'draft';
