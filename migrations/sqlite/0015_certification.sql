-- Certification self-assessment (R10.1; GB/T 27922-2011, SB/T 10401-2006): one assessment per
-- year and scheme, each indicator's status with its evidence and who assessed it, the special
-- deductions with their reasons and the bonus with its reason; and the company's configured
-- points per indicator. The score and level are kept with the assessment for the list; the
-- page recomputes them from the items with rules::certification.

CREATE TABLE certification_points (
    scheme        TEXT PRIMARY KEY,            -- gbt27922-2011 | sbt10401-2006
    points        TEXT NOT NULL,               -- JSON object: indicator code → points
    version       BIGINT NOT NULL DEFAULT 1,
    updated_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE certification_assessments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    year          BIGINT NOT NULL,
    scheme        TEXT NOT NULL,
    notes         TEXT NOT NULL DEFAULT '',
    bonus_reason  TEXT,                        -- the special bonus (+1) when set
    score         REAL,                        -- as of the last save; none while nothing is assessed
    level         TEXT,
    version       BIGINT NOT NULL DEFAULT 1,
    created_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    updated_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (year, scheme)
);

CREATE TABLE certification_items (
    assessment_id BIGINT NOT NULL REFERENCES certification_assessments(id),
    code          TEXT NOT NULL,
    points        REAL NOT NULL,               -- the company's points when the assessment began, or as edited
    status        TEXT,                        -- met | partial | not_met | not_applicable; none: not assessed yet
    fraction      REAL,                        -- share met, when partial
    evidence      TEXT NOT NULL DEFAULT '',
    assessed_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    assessed_at   TEXT,
    PRIMARY KEY (assessment_id, code)
);

CREATE TABLE certification_deductions (
    assessment_id BIGINT NOT NULL REFERENCES certification_assessments(id),
    position      BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    recorded_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    recorded_at   TEXT NOT NULL,
    PRIMARY KEY (assessment_id, position)
);
