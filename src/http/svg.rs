//! Charts drawn on the server as inline SVG (no JavaScript, no chart library): horizontal
//! bars, vertical stacked bars and a line. Each chart scales to its container (`viewBox`,
//! `width="100%"`), so it fits a 360 px phone; every bar or point carries a `<title>` shown on
//! hover or long press; colours come from CSS classes (`.c0` … `.c5`, `.ok`, `.bad`); every text
//! is escaped.

use std::fmt::Write;

/// Escapes text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `n` characters, with an ellipsis when cut (CJK text is wide: labels stay short).
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A number as a chart prints it: integers plainly, others with one decimal.
pub fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 { format!("{}", v.round() as i64) } else { format!("{v:.1}") }
}

/// One bar of a horizontal bar chart.
#[derive(Clone, Debug)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// What the value reads as (`12`, `93.4 %`).
    pub shown: String,
    /// CSS class of the bar's colour.
    pub class: &'static str,
    /// Where a click leads (the figure's list), if anywhere.
    pub href: Option<String>,
}

const WIDTH: f64 = 360.0;

fn open(out: &mut String, h: f64, label: &str, id: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" id="{}" viewBox="0 0 {WIDTH} {h}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{}">"#,
        esc(id),
        esc(label)
    );
}

/// Horizontal bars, one row each, scaled to the largest value (or `max` when given, e.g. 100
/// for percentages).
pub fn hbars(id: &str, label: &str, bars: &[Bar], max: Option<f64>) -> String {
    let row = 22.0;
    let h = (bars.len().max(1) as f64) * row + 4.0;
    let (x0, x1) = (112.0, WIDTH - 52.0);
    let top = max.unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max)).max(1e-9);
    let mut out = String::new();
    open(&mut out, h, label, id);
    if bars.is_empty() {
        let _ = write!(out, r#"<text class="empty" x="{}" y="16">–</text>"#, WIDTH / 2.0);
    }
    for (i, b) in bars.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let w = ((b.value.max(0.0) / top) * (x1 - x0)).clamp(0.0, x1 - x0);
        let title = format!("{}: {}", b.label, b.shown);
        if let Some(href) = &b.href {
            let _ = write!(out, r#"<a href="{}">"#, esc(href));
        }
        let _ = write!(
            out,
            r#"<g class="bar-row"><title>{}</title><text class="label" x="{}" y="{:.1}" text-anchor="end">{}</text><rect class="track" x="{x0}" y="{:.1}" width="{:.1}" height="14" rx="2"/><rect class="{}" x="{x0}" y="{:.1}" width="{w:.1}" height="14" rx="2"/><text class="value" x="{:.1}" y="{:.1}">{}</text></g>"#,
            esc(&title),
            x0 - 6.0,
            y + 12.0,
            esc(&clip(&b.label, 9)),
            y + 1.0,
            x1 - x0,
            b.class,
            y + 1.0,
            x0 + w + 4.0,
            y + 12.0,
            esc(&b.shown),
        );
        if b.href.is_some() {
            out.push_str("</a>");
        }
    }
    out.push_str("</svg>");
    out
}

/// One series of a stacked bar chart: a value per column.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub values: Vec<f64>,
}

/// Vertical bars, one per column, each stacked from the series' values, with a legend.
pub fn stacked(id: &str, label: &str, columns: &[String], series: &[Series]) -> String {
    let (top_pad, plot_h, label_h) = (14.0, 120.0, 20.0);
    let legend_rows = series.len().div_ceil(3) as f64;
    let h = top_pad + plot_h + label_h + legend_rows * 16.0 + 4.0;
    let totals: Vec<f64> =
        (0..columns.len()).map(|c| series.iter().map(|s| s.values.get(c).copied().unwrap_or(0.0)).sum()).collect();
    let top = totals.iter().copied().fold(0.0, f64::max).max(1e-9);
    let (x0, x1) = (8.0, WIDTH - 8.0);
    let slot = (x1 - x0) / columns.len().max(1) as f64;
    let bw = (slot * 0.7).min(48.0);
    let mut out = String::new();
    open(&mut out, h, label, id);
    let base = top_pad + plot_h;
    let _ = write!(out, r#"<line class="axis" x1="{x0}" y1="{base}" x2="{x1}" y2="{base}"/>"#);
    for (c, col) in columns.iter().enumerate() {
        let x = x0 + slot * c as f64 + (slot - bw) / 2.0;
        let mut y = base;
        for s in series {
            let v = s.values.get(c).copied().unwrap_or(0.0).max(0.0);
            if v <= 0.0 {
                continue;
            }
            let bh = v / top * plot_h;
            y -= bh;
            let _ = write!(
                out,
                r#"<rect class="{}" x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}"><title>{}</title></rect>"#,
                s.class,
                esc(&format!("{} · {}: {}", col, s.name, num(v)))
            );
        }
        let cx = x + bw / 2.0;
        let _ = write!(
            out,
            r#"<text class="value" x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="label" x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            (y - 3.0).max(10.0),
            num(totals[c]),
            base + 14.0,
            esc(&clip(col, (slot / 11.0).max(2.0) as usize))
        );
    }
    legend(&mut out, series.iter().map(|s| (s.name.as_str(), s.class)), base + label_h + 2.0);
    out.push_str("</svg>");
    out
}

fn legend<'a>(out: &mut String, items: impl Iterator<Item = (&'a str, &'static str)>, y0: f64) {
    for (i, (name, class)) in items.enumerate() {
        let (x, y) = (8.0 + (i % 3) as f64 * 118.0, y0 + (i / 3) as f64 * 16.0);
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x}" y="{y}" width="10" height="10"/><text class="legend" x="{}" y="{}">{}</text>"#,
            x + 14.0,
            y + 9.0,
            esc(&clip(name, 12))
        );
    }
}

/// A line over labelled points (None: no value, the line breaks), with a dashed reference
/// line at `target` when given; the y axis runs from `min` to `max`.
pub fn line(
    id: &str,
    label: &str,
    points: &[(String, Option<f64>)],
    min: f64,
    max: f64,
    target: Option<f64>,
    suffix: &str,
) -> String {
    let (x0, x1, y0, y1) = (30.0, WIDTH - 10.0, 12.0, 132.0);
    let h = y1 + 22.0;
    let span = (max - min).max(1e-9);
    let n = points.len().max(1);
    let step = if n > 1 { (x1 - x0) / (n - 1) as f64 } else { 0.0 };
    let x_of = |i: usize| if n > 1 { x0 + step * i as f64 } else { (x0 + x1) / 2.0 };
    let y_of = |v: f64| y1 - ((v.clamp(min, max) - min) / span) * (y1 - y0);
    let mut out = String::new();
    open(&mut out, h, label, id);
    for v in [min, (min + max) / 2.0, max] {
        let y = y_of(v);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}"/><text class="label" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            x0 - 3.0,
            y + 3.0,
            num(v)
        );
    }
    if let Some(t) = target {
        let y = y_of(t);
        let _ = write!(
            out,
            r#"<line class="target" x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}"><title>{}</title></line>"#,
            esc(&format!("{}{suffix}", num(t)))
        );
    }
    let mut path = String::new();
    let mut pen_down = false;
    for (i, (_, v)) in points.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(path, "{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x_of(i), y_of(*v));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    if !path.is_empty() {
        let _ = write!(out, r#"<path class="line" d="{}"/>"#, path.trim_end());
    }
    let every = n.div_ceil(6).max(1);
    for (i, (name, v)) in points.iter().enumerate() {
        let x = x_of(i);
        if let Some(v) = v {
            let _ = write!(
                out,
                r#"<circle class="point" cx="{x:.1}" cy="{:.1}" r="3"><title>{}</title></circle>"#,
                y_of(*v),
                esc(&format!("{name}: {}{suffix}", num(*v)))
            );
        }
        if i % every == 0 || i + 1 == n {
            let _ = write!(
                out,
                r#"<text class="label" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                y1 + 16.0,
                esc(&clip(name, 8))
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar { label: label.into(), value, shown: num(value), class: "c0", href: None }
    }

    /// The `width` of every `<rect class="c0" …>` in order.
    fn widths(svg: &str) -> Vec<f64> {
        svg.split(r#"<rect class="c0""#)
            .skip(1)
            .map(|s| {
                let w = s.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_labels() {
        let svg = hbars("x", "Faults <top>", &[bar("A & B", 10.0), bar("<script>", 5.0), bar("zero", 0.0)], None);
        assert!(svg.starts_with("<svg class=\"chart\" id=\"x\" viewBox=\"0 0 360 "));
        assert!(svg.contains("width=\"100%\""));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("aria-label=\"Faults &lt;top&gt;\""));
        assert!(svg.contains("<title>A &amp; B: 10</title>"));
        let w = widths(&svg);
        assert_eq!(w.len(), 3);
        assert!((w[0] - 2.0 * w[1]).abs() < 0.2, "{w:?}");
        assert_eq!(w[2], 0.0);
        assert_eq!(svg.matches("<title>").count(), 3, "a title per bar");
    }

    #[test]
    fn bars_with_a_fixed_maximum_and_links() {
        let mut b = bar("first_reply", 50.0);
        b.href = Some("/work-orders?status=open&kind=repair".into());
        let svg = hbars("x", "SLA", &[b], Some(100.0));
        assert!(svg.contains(r#"<a href="/work-orders?status=open&amp;kind=repair">"#));
        let w = widths(&svg)[0];
        assert!((w - (360.0 - 52.0 - 112.0) / 2.0).abs() < 0.1, "{w}");
        assert!(hbars("e", "empty", &[], None).contains("class=\"empty\""));
    }

    #[test]
    fn long_labels_are_clipped() {
        assert_eq!(clip("压缩机不启动故障很长", 5), "压缩机不…");
        assert_eq!(clip("short", 9), "short");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(93.44), "93.4");
    }

    #[test]
    fn stacked_columns_add_up_with_a_legend() {
        let cols = vec!["open".to_string(), "assigned".to_string()];
        let series = vec![
            Series { name: "on time".into(), class: "ok", values: vec![3.0, 1.0] },
            Series { name: "overdue".into(), class: "bad", values: vec![1.0, 0.0] },
        ];
        let svg = stacked("s", "Open", &cols, &series);
        assert_eq!(svg.matches("<rect class=\"ok\"").count(), 3, "two bars and a legend swatch");
        assert_eq!(svg.matches("<rect class=\"bad\"").count(), 2, "one bar (zero skipped) and a swatch");
        assert!(svg.contains("<title>open · overdue: 1</title>"));
        assert!(svg.contains(">4</text>"), "the column's total");
        assert!(svg.contains(">overdue</text>"));
    }

    #[test]
    fn a_line_breaks_where_values_are_missing() {
        let pts = vec![
            ("2026-01".to_string(), Some(90.0)),
            ("2026-02".to_string(), None),
            ("2026-03".to_string(), Some(100.0)),
            ("2026-04".to_string(), Some(80.0)),
        ];
        let svg = line("l", "Satisfaction", &pts, 0.0, 100.0, Some(90.0), " %");
        let d = svg.split("class=\"line\" d=\"").nth(1).unwrap();
        let d = &d[..d.find('"').unwrap()];
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("<title>2026-03: 100 %</title>"));
        assert!(svg.contains("class=\"target\""));
        // 100 is at the top of the plot, 0 at the bottom.
        assert!(svg.contains("cy=\"12.0\""));
    }
}
