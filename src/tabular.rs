//! Lists as spreadsheets: CSV (UTF-8 with a byte-order mark, so Excel shows Chinese) and
//! .xlsx. Serial numbers and phones are written as text so leading zeros survive.

use anyhow::Context;

pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map(Cell::Text).unwrap_or(Cell::Empty)
    }
}

impl From<Option<chrono::NaiveDate>> for Cell {
    fn from(d: Option<chrono::NaiveDate>) -> Self {
        d.map(|d| Cell::Text(d.to_string())).unwrap_or(Cell::Empty)
    }
}

impl From<Option<i64>> for Cell {
    fn from(n: Option<i64>) -> Self {
        n.map(|n| Cell::Number(n as f64)).unwrap_or(Cell::Empty)
    }
}

pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "xlsx" | "" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

pub fn to_csv(t: &Table) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(&t.headers)?;
        for row in &t.rows {
            w.write_record(row.iter().map(|c| match c {
                Cell::Text(s) => s.clone(),
                Cell::Number(n) => n.to_string(),
                Cell::Empty => String::new(),
            }))?;
        }
        w.flush()?;
    }
    Ok(out)
}

pub fn to_xlsx(t: &Table, sheet: &str) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).context("sheet name")?;
    let bold = XFormat::new().set_bold();
    for (c, h) in t.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
        ws.set_column_width(c as u16, 16)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(s) => {
                    ws.write_string(r, c as u16, s)?;
                }
                Cell::Number(n) => {
                    ws.write_number(r, c as u16, *n)?;
                }
                Cell::Empty => {}
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(wb.save_to_buffer()?)
}

/// Renders off the async threads (a large sheet takes a while).
pub async fn render(t: Table, format: Format, sheet: &'static str) -> anyhow::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || match format {
        Format::Csv => to_csv(&t),
        Format::Xlsx => to_xlsx(&t, sheet),
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            headers: vec!["序列号".into(), "客户".into(), "里程".into()],
            rows: vec![
                vec!["00123".into(), "华联, \"商厦\"".into(), Cell::Number(12.0)],
                vec!["007".into(), Cell::Empty, Cell::Empty],
            ],
        }
    }

    #[test]
    fn csv_has_bom_quotes_and_keeps_zeros() {
        let s = String::from_utf8(to_csv(&table()).unwrap()).unwrap();
        assert!(s.starts_with('\u{feff}'));
        assert!(s.contains("00123,\"华联, \"\"商厦\"\"\",12\n"), "{s}");
        assert!(s.contains("007,,\n"));
    }

    #[test]
    fn xlsx_round_trips_through_calamine() {
        use calamine::{Reader, Xlsx};
        let bytes = to_xlsx(&table(), "units").unwrap();
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("units").unwrap();
        assert_eq!(range.get_value((1, 0)).unwrap().to_string(), "00123", "leading zeros survive");
        assert_eq!(range.get_value((0, 1)).unwrap().to_string(), "客户");
    }
}
