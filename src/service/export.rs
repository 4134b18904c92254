//! Exporting a case list to a spreadsheet.

use super::listing::{CaseQuery, channels_by_id, listed_case};
use super::{Service, ServiceError, ServiceResult};
use crate::domain::activity::EventKind;
use crate::domain::user::User;
use crate::export::{Column, ExportRow, XlsxExport};
use crate::store::Reads;

/// The most cases one export holds.
pub const EXPORT_MAX: usize = 1_000_000;

/// Cases read from one store snapshot while exporting.
const EXPORT_CHUNK: usize = 500;

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
        query: CaseQuery,
        columns: Vec<Column>,
        with_messages: bool,
        max_rows: usize,
    ) -> ServiceResult<std::fs::File> {
        let scratch = self.config.data_dir.join("tmp");
        std::fs::create_dir_all(&scratch).map_err(export_failed)?;
        let path = scratch.join(format!("export-{}.xlsx", super::random_password()));
        let mut export =
            XlsxExport::new(columns, with_messages, &scratch).map_err(export_failed)?;
        // A little over the rows asked for from the index, which may hold a
        // case the actor no longer sees: the store decides.
        let asked = max_rows.saturating_add(max_rows / 10 + 1);
        let numbers = runtime.block_on(self.listed_numbers(actor, &query, asked))?;
        // A snapshot per chunk: a long export does not hold one read
        // transaction (and the pages it pins) for its whole run.
        for chunk in numbers.chunks(EXPORT_CHUNK) {
            if export.rows() as usize >= max_rows {
                break;
            }
            let txn = self.store.read()?;
            let channels = txn.shared_channels()?;
            let channel_of = channels_by_id(&channels);
            for number in chunk {
                if export.rows() as usize >= max_rows {
                    break;
                }
                let Some(case) = txn.case(*number)? else {
                    continue;
                };
                let Some(case) = listed_case(actor, &channel_of, case) else {
                    continue;
                };
                let messages = if with_messages {
                    let mut texts = Vec::new();
                    txn.visit_activity(case.number, &mut |event| {
                        if let EventKind::Message { body, .. } = event.kind {
                            texts.push(body);
                        }
                        true
                    })?;
                    Some(texts.join("\n\n———\n\n"))
                } else {
                    None
                };
                let channel = channel_of
                    .get(&case.channel)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                export
                    .add(&ExportRow {
                        channel,
                        case,
                        messages,
                    })
                    .map_err(export_failed)?;
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
