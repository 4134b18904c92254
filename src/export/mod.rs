//! Spreadsheet exports of case lists: rows are written as they come, in
//! rust_xlsxwriter's constant-memory mode (each row goes to a temporary
//! file at once), and the finished workbook is saved to a file that the
//! caller streams.

use std::path::Path;

pub mod tables;

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::domain::case::Case;

/// Excel's limit on the text of one cell.
const CELL_MAX_CHARS: usize = 32_767;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the spreadsheet could not be written: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("the CSV file could not be written: {0}")]
    Csv(String),
}

/// A column of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Number,
    Subject,
    Status,
    Priority,
    Channel,
    Assignee,
    Category,
    Type,
    Customer,
    Source,
    Important,
    Created,
    Updated,
    Closed,
    Deadline,
}

impl Column {
    pub const ALL: [Column; 15] = [
        Column::Number,
        Column::Subject,
        Column::Status,
        Column::Priority,
        Column::Channel,
        Column::Assignee,
        Column::Category,
        Column::Type,
        Column::Customer,
        Column::Source,
        Column::Important,
        Column::Created,
        Column::Updated,
        Column::Closed,
        Column::Deadline,
    ];

    /// The columns when none are asked for.
    pub const DEFAULT: [Column; 8] = [
        Column::Number,
        Column::Subject,
        Column::Status,
        Column::Priority,
        Column::Channel,
        Column::Assignee,
        Column::Created,
        Column::Updated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Column::Number => "number",
            Column::Subject => "subject",
            Column::Status => "status",
            Column::Priority => "priority",
            Column::Channel => "channel",
            Column::Assignee => "assignee",
            Column::Category => "category",
            Column::Type => "type",
            Column::Customer => "customer",
            Column::Source => "source",
            Column::Important => "important",
            Column::Created => "created",
            Column::Updated => "updated",
            Column::Closed => "closed",
            Column::Deadline => "deadline",
        }
    }

    pub fn parse(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name.trim())
    }

    fn heading(self) -> &'static str {
        match self {
            Column::Number => "Case",
            Column::Subject => "Subject",
            Column::Status => "Status",
            Column::Priority => "Priority",
            Column::Channel => "Channel",
            Column::Assignee => "Assignee",
            Column::Category => "Category",
            Column::Type => "Type",
            Column::Customer => "Customer",
            Column::Source => "Source",
            Column::Important => "Important",
            Column::Created => "Created (UTC)",
            Column::Updated => "Updated (UTC)",
            Column::Closed => "Closed (UTC)",
            Column::Deadline => "Deadline (UTC)",
        }
    }

    fn width(self) -> f64 {
        match self {
            Column::Number | Column::Important => 9.0,
            Column::Subject => 48.0,
            Column::Created | Column::Updated | Column::Closed | Column::Deadline => 18.0,
            _ => 16.0,
        }
    }
}

/// One row: the case, its channel's name and, on request, its messages.
pub struct ExportRow {
    pub case: Case,
    pub channel: String,
    pub messages: Option<String>,
}

/// Writes rows into a new workbook and saves it at `path`.
pub struct XlsxExport {
    workbook: Workbook,
    columns: Vec<Column>,
    with_messages: bool,
    next_row: u32,
}

fn clip(text: &str) -> &str {
    match text.char_indices().nth(CELL_MAX_CHARS) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn time(at: Option<crate::domain::Timestamp>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The text of a column that holds text.
fn text_of(column: Column, row: &ExportRow) -> String {
    let case = &row.case;
    match column {
        Column::Number => case.number.to_string(),
        Column::Important => case.important.to_string(),
        Column::Subject => case.subject.clone(),
        Column::Status => case.status.label().to_owned(),
        Column::Priority => case.priority.label().to_owned(),
        Column::Channel => row.channel.clone(),
        Column::Assignee => case.assignee.clone().unwrap_or_default(),
        Column::Category => case.category.clone().unwrap_or_default(),
        Column::Type => case.case_type.clone().unwrap_or_default(),
        Column::Customer => case
            .customer
            .as_ref()
            .and_then(|c| c.name.clone().or(c.email.clone()))
            .unwrap_or_default(),
        Column::Source => case.source.as_str().to_owned(),
        Column::Created => time(Some(case.created_at)),
        Column::Updated => time(Some(case.updated_at)),
        Column::Closed => time(case.closed_at),
        Column::Deadline => time(case.deadline),
    }
}

impl XlsxExport {
    /// `scratch` is where the worksheet's rows wait until the save.
    pub fn new(
        columns: Vec<Column>,
        with_messages: bool,
        scratch: &Path,
    ) -> Result<Self, ExportError> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(scratch)?;
        let bold = Format::new().set_bold();
        let sheet = workbook.add_worksheet_with_constant_memory();
        sheet.set_name("Cases")?;
        let mut headings: Vec<(&str, f64)> =
            columns.iter().map(|c| (c.heading(), c.width())).collect();
        if with_messages {
            headings.push(("Messages", 80.0));
        }
        for (col, (heading, width)) in headings.into_iter().enumerate() {
            sheet.set_column_width(col as u16, width)?;
            sheet.write_string_with_format(0, col as u16, heading, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(XlsxExport {
            workbook,
            columns,
            with_messages,
            next_row: 1,
        })
    }

    pub fn add(&mut self, row: &ExportRow) -> Result<(), ExportError> {
        let sheet = self.workbook.worksheet_from_index(0)?;
        let r = self.next_row;
        let case = &row.case;
        for (col, column) in self.columns.iter().enumerate() {
            let col = col as u16;
            match column {
                Column::Number => {
                    sheet.write_number(r, col, case.number as f64)?;
                }
                Column::Important => {
                    sheet.write_boolean(r, col, case.important)?;
                }
                text_column => {
                    let text = text_of(*text_column, row);
                    if !text.is_empty() {
                        sheet.write_string(r, col, clip(&text))?;
                    }
                }
            }
        }
        if self.with_messages
            && let Some(messages) = &row.messages
            && !messages.is_empty()
        {
            sheet.write_string(r, self.columns.len() as u16, clip(messages))?;
        }
        self.next_row += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u32 {
        self.next_row - 1
    }

    pub fn save(mut self, path: &Path) -> Result<(), ExportError> {
        self.workbook.save(path)?;
        Ok(())
    }
}
