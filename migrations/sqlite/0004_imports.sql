-- Uploaded spreadsheets between preview and import: the parsed cells as JSON, kept one day.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    filename    TEXT NOT NULL,
    grid_json   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX imports_created ON imports(created_at);
