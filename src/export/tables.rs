//! A report section's table as CSV or as a one-sheet workbook: the numbers
//! behind a chart, for whoever wants to work with them.

use rust_xlsxwriter::Workbook;

use super::ExportError;
use crate::domain::report::{Cell, Report, Section};

/// The formats a report section downloads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// By file extension.
    pub fn parse(extension: &str) -> Option<Format> {
        match extension {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// One section of a report as a file to download.
pub struct SectionFile {
    pub bytes: Vec<u8>,
    /// `attachment; filename="docket-daily-2026-03-01-2026-03-31.csv"`.
    pub disposition: String,
}

/// A section's numbers as a file, named by section and range.
pub fn section_file(
    section: Section,
    report: &Report,
    format: Format,
) -> Result<SectionFile, ExportError> {
    let (headers, rows) = section.table(report);
    let bytes = match format {
        Format::Csv => csv(&headers, &rows)?,
        Format::Xlsx => xlsx(section.name(), &headers, &rows)?,
    };
    let disposition = format!(
        "attachment; filename=\"docket-{}-{}-{}.{}\"",
        section.name(),
        report.from,
        report.to,
        format.extension()
    );
    Ok(SectionFile { bytes, disposition })
}

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
    let bold = rust_xlsxwriter::Format::new().set_bold();
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
