-- Working-time calendars (R4): company calendars and edited copies of the built-ins, as
-- immutable versions. The built-ins (cn-standard, always) ship with the program
-- (crates/rules/src/calendar/builtin.rs) as version 0; once edited, the latest stored version
-- of that code is the one in force. UNIQUE (code, version) guards concurrent edits.
CREATE TABLE calendar_versions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    code             TEXT NOT NULL,
    version          BIGINT NOT NULL,
    calendar_json    TEXT NOT NULL,
    name_zh          TEXT NOT NULL,
    name_en          TEXT NOT NULL,
    note             TEXT NOT NULL DEFAULT '',
    created_by       BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_by_label TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (code, version)
);
