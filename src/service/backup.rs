//! Backups of the running server's data, for administrators. The copy is
//! read from one snapshot of the store, so writes go on meanwhile.

use std::io::Write;

use super::{Service, ServiceError, ServiceResult};
use crate::backup::{BackupError, BackupSummary, Progress};
use crate::domain::user::User;

impl Service {
    /// A running server's backup: the configuration, never the index (it
    /// changes under the copy; a restore rebuilds it).
    fn backup_contents(&self) -> crate::backup::Include {
        crate::backup::Include {
            config_file: self.config.config_file.clone(),
            index: false,
        }
    }

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
            &self.backup_contents(),
            out,
            progress,
        )
        .map_err(|e| match e {
            BackupError::Store(e) => ServiceError::Store(e),
            other => ServiceError::Output(other.to_string()),
        })
    }
}

impl Service {
    /// Takes the scheduled backup into `dir` when the newest one there is
    /// older than `every`, and keeps the newest `keep`. Blocking. Returns
    /// the new backup's path when one was written.
    pub fn scheduled_backup(
        &self,
        schedule: &crate::config::BackupSchedule,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<Option<std::path::PathBuf>> {
        let newest = crate::backup::scheduled_backups(&schedule.dir).pop();
        let due = newest
            .and_then(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
            .is_none_or(|at| at.elapsed().unwrap_or_default() >= schedule.every);
        if !due {
            return Ok(None);
        }
        std::fs::create_dir_all(&schedule.dir).map_err(|e| {
            ServiceError::Output(format!("cannot make {}: {e}", schedule.dir.display()))
        })?;
        let target = schedule.dir.join(format!(
            "{}{}{}",
            crate::backup::SCHEDULED_PREFIX,
            now.format("%Y%m%dT%H%M%SZ"),
            crate::backup::SCHEDULED_SUFFIX
        ));
        crate::backup::write_backup_file(
            &self.store,
            &self.config.data_dir,
            &self.backup_contents(),
            &target,
            &mut |_| {},
        )
        .map_err(|e| ServiceError::Output(e.to_string()))?;
        for removed in crate::backup::prune_scheduled(&schedule.dir, schedule.keep) {
            tracing::info!(path = %removed.display(), "removed an old scheduled backup");
        }
        Ok(Some(target))
    }
}
