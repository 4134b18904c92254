//! Exporting a case list to a spreadsheet.

use std::collections::HashMap;

use super::listing::CaseQuery;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::activity::EventKind;
use crate::domain::user::User;
use crate::export::{Column, ExportRow, XlsxExport};
use crate::store::Reads;

/// The most cases one export holds.
pub const EXPORT_MAX: usize = 1_000_000;

impl Service {
    /// Writes every case `query` lists for the actor, in its order, to a
    /// new .xlsx file in the data directory's `tmp/` and returns it open,
    /// for the caller to stream. Runs off the async workers.
    pub async fn export_cases(
        &self,
        actor: &User,
        query: CaseQuery,
        columns: Vec<Column>,
        with_messages: bool,
        limit: Option<usize>,
    ) -> ServiceResult<std::fs::File> {
        if limit == Some(0) {
            return Err(ServiceError::invalid("limit", "must be at least 1"));
        }
        let max_rows = limit.unwrap_or(EXPORT_MAX).min(EXPORT_MAX);
        let service = self.clone();
        let actor = actor.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            service.write_export(&runtime, &actor, query, columns, with_messages, max_rows)
        })
        .await
        .map_err(|e| ServiceError::BadRequest(format!("the export was interrupted: {e}")))?
    }

    fn write_export(
        &self,
        runtime: &tokio::runtime::Handle,
        actor: &User,
        mut query: CaseQuery,
        columns: Vec<Column>,
        with_messages: bool,
        max_rows: usize,
    ) -> ServiceResult<std::fs::File> {
        let scratch = self.config.data_dir.join("tmp");
        std::fs::create_dir_all(&scratch).map_err(export_failed)?;
        let path = scratch.join(format!("export-{}.xlsx", super::random_password()));
        let mut export =
            XlsxExport::new(columns, with_messages, &scratch).map_err(export_failed)?;
        let names: HashMap<u64, String> = self
            .visible_channels(actor)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        query.limit = Some(self.config.limits.max_page_size);
        query.facets = false;
        query.cursor = None;
        loop {
            let page = runtime.block_on(self.list_cases(actor, &query))?;
            let txn = self.store.read()?;
            for item in page.items {
                if export.rows() as usize >= max_rows {
                    break;
                }
                let messages = if with_messages {
                    let mut texts = Vec::new();
                    txn.visit_activity(item.case.number, &mut |event| {
                        if let EventKind::Message { body, .. } = event.kind {
                            texts.push(body);
                        }
                        true
                    })?;
                    Some(texts.join("\n\n———\n\n"))
                } else {
                    None
                };
                export
                    .add(&ExportRow {
                        channel: names.get(&item.case.channel).cloned().unwrap_or_default(),
                        case: item.case,
                        messages,
                    })
                    .map_err(export_failed)?;
            }
            if export.rows() as usize >= max_rows {
                break;
            }
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        export.save(&path).map_err(export_failed)?;
        let file = std::fs::File::open(&path).map_err(export_failed)?;
        // The open file stays readable; its name goes at once, so nothing
        // is left behind however the download ends.
        let _ = std::fs::remove_file(&path);
        Ok(file)
    }
}

fn export_failed(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Output(format!("the export could not be written: {e}"))
}
