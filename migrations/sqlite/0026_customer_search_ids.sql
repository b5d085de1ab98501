-- PostgreSQL only (a block-range index on customer_search for word searches); SQLite's
-- full-text table yields its matches by id already.
SELECT 1;
