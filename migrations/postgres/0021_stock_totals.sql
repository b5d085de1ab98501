-- Each location's stock totals (lines held, pieces, faulty pieces, value at cost, lines at or
-- below their reorder point), kept by triggers on every change of a stock row or of a part's
-- cost, so the stock page reads one row instead of summing thousands (issue 8's benchmark).
-- A line is held when it has usable or faulty pieces or a reorder point. Movements apply their
-- stock changes in location order, so two transactions lock totals rows in the same order.
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

CREATE FUNCTION warehouses_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stock_totals (warehouse_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER warehouses_totals AFTER INSERT ON warehouses FOR EACH ROW EXECUTE FUNCTION warehouses_totals();

CREATE FUNCTION stock_totals_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_lines BIGINT := 0;
    d_pieces BIGINT := 0;
    d_faulty BIGINT := 0;
    d_low BIGINT := 0;
    w BIGINT;
    p BIGINT;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        d_lines := d_lines - CASE WHEN OLD.on_hand > 0 OR OLD.faulty > 0 OR OLD.reorder_point > 0 THEN 1 ELSE 0 END;
        d_pieces := d_pieces - OLD.on_hand;
        d_faulty := d_faulty - OLD.faulty;
        d_low := d_low - CASE WHEN OLD.reorder_point > 0 AND OLD.on_hand <= OLD.reorder_point THEN 1 ELSE 0 END;
        w := OLD.warehouse_id;
        p := OLD.part_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        d_lines := d_lines + CASE WHEN NEW.on_hand > 0 OR NEW.faulty > 0 OR NEW.reorder_point > 0 THEN 1 ELSE 0 END;
        d_pieces := d_pieces + NEW.on_hand;
        d_faulty := d_faulty + NEW.faulty;
        d_low := d_low + CASE WHEN NEW.reorder_point > 0 AND NEW.on_hand <= NEW.reorder_point THEN 1 ELSE 0 END;
        w := NEW.warehouse_id;
        p := NEW.part_id;
    END IF;
    IF d_lines <> 0 OR d_pieces <> 0 OR d_faulty <> 0 OR d_low <> 0 THEN
        UPDATE stock_totals SET lines = lines + d_lines, pieces = pieces + d_pieces, faulty = faulty + d_faulty,
            value_cents = value_cents + d_pieces * (SELECT unit_cost_cents FROM parts WHERE id = p),
            low = low + d_low
        WHERE warehouse_id = w;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stock_totals_change AFTER INSERT OR UPDATE OR DELETE ON stock
    FOR EACH ROW EXECUTE FUNCTION stock_totals_change();

CREATE FUNCTION parts_cost_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stock_totals t SET value_cents = t.value_cents + (NEW.unit_cost_cents - OLD.unit_cost_cents) * s.on_hand
    FROM stock s WHERE s.part_id = NEW.id AND s.warehouse_id = t.warehouse_id AND s.on_hand <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER parts_cost_totals AFTER UPDATE OF unit_cost_cents ON parts
    FOR EACH ROW WHEN (NEW.unit_cost_cents IS DISTINCT FROM OLD.unit_cost_cents) EXECUTE FUNCTION parts_cost_totals();
