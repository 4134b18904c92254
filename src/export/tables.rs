//! A report section's table as CSV or as a one-sheet workbook: the numbers
//! behind a chart, for whoever wants to work with them.

use rust_xlsxwriter::{Format, Workbook};

use super::ExportError;
use crate::domain::report::Cell;

/// The table as CSV (RFC 4180, a header line first).
pub fn csv(headers: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, ExportError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(headers)
        .map_err(|e| ExportError::Csv(e.to_string()))?;
    for row in rows {
        let fields: Vec<String> = row.iter().map(cell_text).collect();
        out.write_record(&fields)
            .map_err(|e| ExportError::Csv(e.to_string()))?;
    }
    out.into_inner()
        .map_err(|e| ExportError::Csv(e.to_string()))
}

/// The table as an .xlsx workbook with one sheet named `sheet`; numbers are
/// numbers, so the spreadsheet can chart and sum them.
pub fn xlsx(sheet: &str, headers: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, ExportError> {
    let mut book = Workbook::new();
    let page = book.add_worksheet();
    page.set_name(sheet)?;
    let bold = Format::new().set_bold();
    for (column, heading) in headers.iter().enumerate() {
        page.write_string_with_format(0, column as u16, *heading, &bold)?;
    }
    for (index, row) in rows.iter().enumerate() {
        let at = index as u32 + 1;
        for (column, cell) in row.iter().enumerate() {
            let column = column as u16;
            match cell {
                Cell::Text(text) => {
                    page.write_string(at, column, text)?;
                }
                Cell::Number(n) => {
                    page.write_number(at, column, *n)?;
                }
                Cell::Empty => {}
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
        Cell::Number(n) => n.to_string(),
        Cell::Empty => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_writes_whole_numbers_plainly() {
        let rows = vec![vec![
            Cell::Text("Work, on site".into()),
            Cell::Number(90.0),
            Cell::Number(87.5),
            Cell::Empty,
        ]];
        let text =
            String::from_utf8(csv(&["type", "minutes", "share", "none"], &rows).unwrap()).unwrap();
        assert_eq!(
            text,
            "type,minutes,share,none\n\"Work, on site\",90,87.5,\n"
        );
    }

    #[test]
    fn a_workbook_is_a_zip() {
        let bytes = xlsx("daily", &["date"], &[vec![Cell::Text("2026-03-06".into())]]).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
