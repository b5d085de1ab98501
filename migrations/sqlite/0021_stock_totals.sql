-- Each location's stock totals (lines held, pieces, faulty pieces, value at cost, lines at or
-- below their reorder point), kept by triggers on every change of a stock row or of a part's
-- cost, so the stock page reads one row instead of summing thousands (issue 8's benchmark).
-- A line is held when it has usable or faulty pieces or a reorder point.
CREATE TABLE stock_totals (
    warehouse_id  BIGINT PRIMARY KEY REFERENCES warehouses(id),
    lines         BIGINT NOT NULL DEFAULT 0,
    pieces        BIGINT NOT NULL DEFAULT 0,
    faulty        BIGINT NOT NULL DEFAULT 0,
    value_cents   BIGINT NOT NULL DEFAULT 0,
    low           BIGINT NOT NULL DEFAULT 0
);
INSERT INTO stock_totals (warehouse_id, lines, pieces, faulty, value_cents, low)
SELECT w.id,
       COALESCE(SUM(CASE WHEN s.on_hand > 0 OR s.faulty > 0 OR s.reorder_point > 0 THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(s.on_hand), 0), COALESCE(SUM(s.faulty), 0), COALESCE(SUM(s.on_hand * p.unit_cost_cents), 0),
       COALESCE(SUM(CASE WHEN s.reorder_point > 0 AND s.on_hand <= s.reorder_point THEN 1 ELSE 0 END), 0)
FROM warehouses w LEFT JOIN stock s ON s.warehouse_id = w.id LEFT JOIN parts p ON p.id = s.part_id
GROUP BY w.id;

CREATE TRIGGER warehouses_totals AFTER INSERT ON warehouses
BEGIN
    INSERT INTO stock_totals (warehouse_id) VALUES (NEW.id);
END;

CREATE TRIGGER stock_totals_insert AFTER INSERT ON stock
BEGIN
    UPDATE stock_totals SET
        lines = lines + (NEW.on_hand > 0 OR NEW.faulty > 0 OR NEW.reorder_point > 0),
        pieces = pieces + NEW.on_hand,
        faulty = faulty + NEW.faulty,
        value_cents = value_cents + NEW.on_hand * (SELECT unit_cost_cents FROM parts WHERE id = NEW.part_id),
        low = low + (NEW.reorder_point > 0 AND NEW.on_hand <= NEW.reorder_point)
    WHERE warehouse_id = NEW.warehouse_id;
END;

CREATE TRIGGER stock_totals_update AFTER UPDATE OF on_hand, faulty, reorder_point ON stock
BEGIN
    UPDATE stock_totals SET
        lines = lines + (NEW.on_hand > 0 OR NEW.faulty > 0 OR NEW.reorder_point > 0)
                      - (OLD.on_hand > 0 OR OLD.faulty > 0 OR OLD.reorder_point > 0),
        pieces = pieces + NEW.on_hand - OLD.on_hand,
        faulty = faulty + NEW.faulty - OLD.faulty,
        value_cents = value_cents
            + (NEW.on_hand - OLD.on_hand) * (SELECT unit_cost_cents FROM parts WHERE id = NEW.part_id),
        low = low + (NEW.reorder_point > 0 AND NEW.on_hand <= NEW.reorder_point)
                  - (OLD.reorder_point > 0 AND OLD.on_hand <= OLD.reorder_point)
    WHERE warehouse_id = NEW.warehouse_id;
END;

CREATE TRIGGER stock_totals_delete AFTER DELETE ON stock
BEGIN
    UPDATE stock_totals SET
        lines = lines - (OLD.on_hand > 0 OR OLD.faulty > 0 OR OLD.reorder_point > 0),
        pieces = pieces - OLD.on_hand,
        faulty = faulty - OLD.faulty,
        value_cents = value_cents - OLD.on_hand * (SELECT unit_cost_cents FROM parts WHERE id = OLD.part_id),
        low = low - (OLD.reorder_point > 0 AND OLD.on_hand <= OLD.reorder_point)
    WHERE warehouse_id = OLD.warehouse_id;
END;

CREATE TRIGGER parts_cost_totals AFTER UPDATE OF unit_cost_cents ON parts
WHEN NEW.unit_cost_cents <> OLD.unit_cost_cents
BEGIN
    UPDATE stock_totals SET value_cents = value_cents + (NEW.unit_cost_cents - OLD.unit_cost_cents)
        * (SELECT s.on_hand FROM stock s WHERE s.warehouse_id = stock_totals.warehouse_id AND s.part_id = NEW.id)
    WHERE warehouse_id IN (SELECT warehouse_id FROM stock WHERE part_id = NEW.id);
END;
