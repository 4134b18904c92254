//! Backups of the running server's data, for administrators. The copy is
//! read from one snapshot of the store, so writes go on meanwhile.

use std::io::Write;

use super::{Service, ServiceError, ServiceResult};
use crate::backup::{BackupError, BackupSummary, Progress};
use crate::domain::user::User;

impl Service {
    /// Only administrators may take a backup: it holds every case, account
    /// and secret.
    pub fn check_may_back_up(&self, actor: &User) -> ServiceResult<()> {
        if actor.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only administrators can take backups".into(),
            ))
        }
    }

    /// Writes a backup of this server's data to `out`. Blocking: run it off
    /// the async workers.
    pub fn write_backup<W: Write>(
        &self,
        actor: &User,
        out: W,
        progress: &mut dyn FnMut(Progress),
    ) -> ServiceResult<(W, BackupSummary)> {
        self.check_may_back_up(actor)?;
        crate::backup::write_backup(
            &self.store,
            &self.config.data_dir,
            self.config.config_file.as_deref(),
            out,
            progress,
        )
        .map_err(|e| match e {
            BackupError::Store(e) => ServiceError::Store(e),
            other => ServiceError::Output(other.to_string()),
        })
    }
}
