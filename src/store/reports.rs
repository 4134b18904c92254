//! The daily figures reports read, and what each case contributed to them
//! (so a change replaces exactly its own share). Both are derived from the
//! cases and rebuilt from them on demand. Beside the figures per slice,
//! each channel's day is summed once more: a report that narrows by
//! nothing but channels reads one row per channel and day.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use redb::ReadableTable;

use super::records::{decode, encode};
use super::tables::*;
use super::{ReadTxn, StoreError, StoreResult, WriteTxn};
use crate::domain::case::CaseNumber;
use crate::domain::report::{Figures, Slice};

/// A case's contribution as stored: its slices and figures.
type Contribution = Vec<(Slice, Figures)>;

/// Which figures a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportGrain {
    /// Every slice: category, agent and source can be told apart.
    Slices,
    /// One row per channel and day (category, agent and source empty).
    ChannelDays,
}

pub trait ReportReads {
    /// Visits every stored row of `grain` up to and including `to`,
    /// oldest first.
    fn visit_report_slices(
        &self,
        grain: ReportGrain,
        to: NaiveDate,
        visit: &mut dyn FnMut(&Slice, &Figures),
    ) -> StoreResult<()>;
    /// Whether the figures were built from the cases in the zone `zone`
    /// (a [`zone_code`]) since the last rebuild was asked for.
    fn reports_built(&self, zone: u64) -> StoreResult<bool>;
    /// The rebuild asked for last (0: none yet).
    fn reports_wanted(&self) -> StoreResult<u64>;
    /// Case numbers from `from` on, at most `limit`, ascending.
    fn case_numbers_from(&self, from: CaseNumber, limit: usize) -> StoreResult<Vec<CaseNumber>>;
}

macro_rules! impl_report_reads {
    ($txn:ty) => {
        impl ReportReads for $txn {
            fn visit_report_slices(
                &self,
                grain: ReportGrain,
                to: NaiveDate,
                visit: &mut dyn FnMut(&Slice, &Figures),
            ) -> StoreResult<()> {
                let end = day_key(to.succ_opt().unwrap_or(to));
                let table = self.open_table(match grain {
                    ReportGrain::Slices => REPORT_DAYS,
                    ReportGrain::ChannelDays => REPORT_CHANNEL_DAYS,
                })?;
                for entry in table.range(..end.as_slice())? {
                    let (key, value) = entry?;
                    let slice = slice_of(key.value())?;
                    let figures: Figures = decode("report figures", value.value())?;
                    visit(&slice, &figures);
                }
                Ok(())
            }

            fn reports_built(&self, zone: u64) -> StoreResult<bool> {
                let table = self.open_table(META)?;
                let get =
                    |key| -> StoreResult<Option<u64>> { Ok(table.get(key)?.map(|v| v.value())) };
                let wanted = get(KEY_REPORTS_WANTED)?.unwrap_or(0);
                Ok(get(KEY_REPORTS_BUILT)? == Some(wanted) && get(KEY_REPORTS_ZONE)? == Some(zone))
            }

            fn reports_wanted(&self) -> StoreResult<u64> {
                let table = self.open_table(META)?;
                let found = table.get(KEY_REPORTS_WANTED)?;
                Ok(found.map_or(0, |v| v.value()))
            }

            fn case_numbers_from(
                &self,
                from: CaseNumber,
                limit: usize,
            ) -> StoreResult<Vec<CaseNumber>> {
                let table = self.open_table(CASES)?;
                let mut numbers = Vec::new();
                for entry in table.range(from..)?.take(limit) {
                    numbers.push(entry?.0.value());
                }
                Ok(numbers)
            }
        }
    };
}

impl_report_reads!(ReadTxn);
impl_report_reads!(WriteTxn);

pub trait ReportWrites {
    /// Replaces what a case contributes: its old share is taken out of the
    /// daily figures and the new one added.
    fn replace_contribution(
        &self,
        number: CaseNumber,
        new: BTreeMap<Slice, Figures>,
    ) -> StoreResult<()>;
    /// Forgets every figure.
    fn clear_reports(&self) -> StoreResult<()>;
    /// Asks for the figures to be built again (the report consumer does).
    fn request_report_rebuild(&self) -> StoreResult<()>;
    /// Records that the figures were built for rebuild `wanted` in `zone`.
    fn mark_reports_built(&self, wanted: u64, zone: u64) -> StoreResult<()>;
}

impl ReportWrites for WriteTxn {
    fn replace_contribution(
        &self,
        number: CaseNumber,
        new: BTreeMap<Slice, Figures>,
    ) -> StoreResult<()> {
        let mut contributions = self.open_table(REPORT_CONTRIBUTIONS)?;
        let old: Contribution = match contributions.get(number)? {
            Some(value) => decode("report contribution", value.value())?,
            None => Vec::new(),
        };
        let new: Contribution = new.into_iter().collect();
        if old == new {
            return Ok(());
        }
        let mut days = self.open_table(REPORT_DAYS)?;
        for (slice, figures) in &old {
            change_row(&mut days, &slice_key(slice), &|kept| kept.subtract(figures))?;
        }
        for (slice, figures) in &new {
            change_row(&mut days, &slice_key(slice), &|kept| kept.add(figures))?;
        }
        let mut channel_days = self.open_table(REPORT_CHANNEL_DAYS)?;
        for (key, figures) in by_channel_day(&old) {
            change_row(&mut channel_days, &key, &|kept| kept.subtract(&figures))?;
        }
        for (key, figures) in by_channel_day(&new) {
            change_row(&mut channel_days, &key, &|kept| kept.add(&figures))?;
        }
        if new.is_empty() {
            contributions.remove(number)?;
        } else {
            contributions.insert(number, encode(&new).as_slice())?;
        }
        Ok(())
    }

    fn clear_reports(&self) -> StoreResult<()> {
        self.open_table(REPORT_DAYS)?.retain(|_, _| false)?;
        self.open_table(REPORT_CHANNEL_DAYS)?.retain(|_, _| false)?;
        self.open_table(REPORT_CONTRIBUTIONS)?
            .retain(|_, _| false)?;
        Ok(())
    }

    fn request_report_rebuild(&self) -> StoreResult<()> {
        let wanted = self.reports_wanted()?;
        self.open_table(META)?
            .insert(KEY_REPORTS_WANTED, wanted + 1)?;
        Ok(())
    }

    fn mark_reports_built(&self, wanted: u64, zone: u64) -> StoreResult<()> {
        let mut meta = self.open_table(META)?;
        meta.insert(KEY_REPORTS_BUILT, wanted)?;
        meta.insert(KEY_REPORTS_ZONE, zone)?;
        Ok(())
    }
}

/// A stable code of a time zone's name (FNV-1a), to notice a change.
pub fn zone_code(zone: chrono_tz::Tz) -> u64 {
    zone.name()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Applies a change to one row of figures; a row left empty goes.
fn change_row(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    key: &[u8],
    apply: &dyn Fn(&mut Figures),
) -> StoreResult<()> {
    let mut figures: Figures = match table.get(key)? {
        Some(value) => decode("report figures", value.value())?,
        None => Figures::default(),
    };
    apply(&mut figures);
    if figures.is_empty() {
        table.remove(key)?;
    } else {
        table.insert(key, encode(&figures).as_slice())?;
    }
    Ok(())
}

/// A contribution summed by channel and day, keyed for
/// `report_channel_days_v1`.
fn by_channel_day(contribution: &Contribution) -> BTreeMap<Vec<u8>, Figures> {
    let mut sums: BTreeMap<Vec<u8>, Figures> = BTreeMap::new();
    for (slice, figures) in contribution {
        let key = slice_key(&Slice {
            day: slice.day,
            channel: slice.channel,
            category: String::new(),
            agent: String::new(),
            source: String::new(),
        });
        sums.entry(key).or_default().add(figures);
    }
    sums
}

/// Keys sort by day first, so a report reads one range.
fn day_key(day: NaiveDate) -> Vec<u8> {
    // Flipping the sign bit makes negative days sort before positive ones.
    let days = (day.num_days_from_ce() as u32) ^ 0x8000_0000;
    days.to_be_bytes().to_vec()
}

fn slice_key(slice: &Slice) -> Vec<u8> {
    let mut key = day_key(slice.day);
    key.extend_from_slice(&slice.channel.to_be_bytes());
    for text in [&slice.category, &slice.agent, &slice.source] {
        let bytes = text.as_bytes();
        let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        key.extend_from_slice(&len.to_be_bytes());
        key.extend_from_slice(&bytes[..usize::from(len)]);
    }
    key
}

fn slice_of(key: &[u8]) -> StoreResult<Slice> {
    let broken = || StoreError::Corrupt("a report key could not be read".into());
    let take = |at: usize, n: usize| key.get(at..at + n).ok_or_else(broken);
    let days = u32::from_be_bytes(take(0, 4)?.try_into().map_err(|_| broken())?) ^ 0x8000_0000;
    let day = NaiveDate::from_num_days_from_ce_opt(days as i32).ok_or_else(broken)?;
    let channel = u64::from_be_bytes(take(4, 8)?.try_into().map_err(|_| broken())?);
    let mut at = 12;
    let mut texts = Vec::with_capacity(3);
    for _ in 0..3 {
        let len = u16::from_be_bytes(take(at, 2)?.try_into().map_err(|_| broken())?);
        let text = take(at + 2, usize::from(len))?;
        texts.push(String::from_utf8(text.to_vec()).map_err(|_| broken())?);
        at += 2 + usize::from(len);
    }
    let source = texts.pop().unwrap_or_default();
    let agent = texts.pop().unwrap_or_default();
    let category = texts.pop().unwrap_or_default();
    Ok(Slice {
        day,
        channel,
        category,
        agent,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_keys_read_back_and_sort_by_day() {
        let slice = |y, m, d| Slice {
            day: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            channel: 7,
            category: "Billing".into(),
            agent: "amy".into(),
            source: "email".into(),
        };
        let a = slice(2025, 12, 31);
        let b = slice(2026, 1, 1);
        assert_eq!(slice_of(&slice_key(&a)).unwrap(), a);
        assert!(slice_key(&a) < slice_key(&b));
        assert!(slice_key(&b) < day_key(b.day.succ_opt().unwrap()));
    }
}
