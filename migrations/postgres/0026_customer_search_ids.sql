-- Word searches of rarer words find their matches through the word index (GIN) and keep
-- those within a window of the newest customer ids. A block-range index on the id marks the
-- window's pages for almost nothing (search rows are written in id order), where the primary
-- key had to list each of the window's ids first (50,000 ids: 1.7 ms a search).
CREATE INDEX customer_search_ids ON customer_search USING brin (customer_id) WITH (pages_per_range = 8);
