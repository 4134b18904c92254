//! File records (attachments, uploads, recordings) and each case's index
//! of them. The contents live in the blob store under their hash.

use redb::ReadableTable;

use super::records::{decode, encode, next_in_sequence};
use super::tables::*;
use super::{ReadTxn, StoreResult, WriteTxn};
use crate::domain::case::CaseNumber;
use crate::domain::file::{FileId, FileRecord};

pub trait FileReads {
    fn file(&self, id: FileId) -> StoreResult<Option<FileRecord>>;
    fn case_files(&self, number: CaseNumber) -> StoreResult<Vec<FileRecord>>;
}

macro_rules! impl_file_reads {
    ($txn:ty) => {
        impl FileReads for $txn {
            fn file(&self, id: FileId) -> StoreResult<Option<FileRecord>> {
                let table = self.open_table(FILES)?;
                let found = table.get(id)?;
                found.map(|v| decode("file", v.value())).transpose()
            }

            fn case_files(&self, number: CaseNumber) -> StoreResult<Vec<FileRecord>> {
                let index = self.open_table(CASE_FILES)?;
                let files = self.open_table(FILES)?;
                let mut found = Vec::new();
                for entry in index.range((number, 0)..=(number, u64::MAX))? {
                    let (key, _) = entry?;
                    if let Some(value) = files.get(key.value().1)? {
                        found.push(decode("file", value.value())?);
                    }
                }
                Ok(found)
            }
        }
    };
}

impl_file_reads!(ReadTxn);
impl_file_reads!(WriteTxn);

pub trait FileWrites {
    /// Stores a new file record, giving it its id.
    fn add_file(&self, file: &mut FileRecord) -> StoreResult<()>;
    fn put_file(&self, file: &FileRecord) -> StoreResult<()>;
    /// Re-homes a file on another case.
    fn move_file(&self, id: FileId, to: CaseNumber) -> StoreResult<()>;
    /// Forgets a purged case's files (their blobs may be shared).
    fn delete_case_files(&self, number: CaseNumber) -> StoreResult<()>;
}

impl FileWrites for WriteTxn {
    fn add_file(&self, file: &mut FileRecord) -> StoreResult<()> {
        file.id = next_in_sequence(self, KEY_NEXT_FILE)?;
        self.open_table(FILES)?
            .insert(file.id, encode(file).as_slice())?;
        self.open_table(CASE_FILES)?
            .insert((file.case, file.id), ())?;
        Ok(())
    }

    fn put_file(&self, file: &FileRecord) -> StoreResult<()> {
        self.open_table(FILES)?
            .insert(file.id, encode(file).as_slice())?;
        Ok(())
    }

    fn move_file(&self, id: FileId, to: CaseNumber) -> StoreResult<()> {
        let Some(mut file) = self.file(id)? else {
            return Ok(());
        };
        let mut index = self.open_table(CASE_FILES)?;
        index.remove((file.case, id))?;
        index.insert((to, id), ())?;
        file.case = to;
        drop(index);
        self.put_file(&file)
    }

    fn delete_case_files(&self, number: CaseNumber) -> StoreResult<()> {
        let mut ids = Vec::new();
        {
            let mut index = self.open_table(CASE_FILES)?;
            index.retain_in((number, 0)..=(number, u64::MAX), |key, _| {
                ids.push(key.1);
                false
            })?;
        }
        let mut files = self.open_table(FILES)?;
        for id in ids {
            files.remove(id)?;
        }
        Ok(())
    }
}
