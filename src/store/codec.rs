//! How activity events are kept on disk: compressed with zstd, with a
//! dictionary trained on the store's own events.
//!
//! Events are most of a store (message bodies), and one event is too short
//! for a compressor to find much to reuse in it alone (2.6× on support
//! mail). A dictionary learned from a sample of the same store holds what
//! events share: field names, greetings, signatures, product names. With
//! it, the same mail shrinks 4.5× and compresses and decompresses faster.
//!
//! A stored value is either the JSON of older releases (it starts with
//! `{`), or [`COMPRESSED`] followed by one zstd frame. The frame names its
//! dictionary by zstd's own id (a hash of the dictionary's content, 0 for
//! none); the dictionaries live in `event_dictionaries_v1` and are never
//! deleted, so every value ever written stays readable.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use zstd::dict::{DecoderDictionary, EncoderDictionary};
use zstd::zstd_safe::{CCtx, DCtx};

use super::{StoreError, StoreResult};

/// The first byte of a compressed value. JSON never starts with it.
pub const COMPRESSED: u8 = 1;
/// zstd's level: its default, as fast as the writer needs for imports
/// (level 9 saves another 15 % at seven times the time).
const LEVEL: i32 = 3;
/// Largest dictionary trained: zstd's own default size.
pub const DICTIONARY_BYTES: usize = 112 * 1024;
/// Largest event a value may decompress to: far above any message the
/// intake accepts, so a damaged frame cannot ask for unbounded memory.
const MAX_EVENT_BYTES: u64 = 256 << 20;

/// A dictionary ready for both directions.
pub struct Dictionary {
    pub id: u32,
    encoder: EncoderDictionary<'static>,
    decoder: DecoderDictionary<'static>,
}

impl Dictionary {
    /// Prepares the raw bytes of a trained dictionary.
    pub fn new(bytes: &[u8]) -> StoreResult<Dictionary> {
        let id = zstd::zstd_safe::get_dict_id_from_dict(bytes)
            .map(|id| id.get())
            .ok_or_else(|| StoreError::Corrupt("an event dictionary without an id".into()))?;
        Ok(Dictionary {
            id,
            encoder: EncoderDictionary::copy(bytes, LEVEL),
            decoder: DecoderDictionary::copy(bytes),
        })
    }
}

/// Dictionaries already prepared in this process, by id. Ids are hashes
/// of the content, so stores opened side by side (a backup's copy, tests)
/// share entries safely; a process sees a handful at most.
static PREPARED: LazyLock<RwLock<HashMap<u32, Arc<Dictionary>>>> = LazyLock::new(Default::default);

/// The prepared dictionary `id`, preparing it from `load` (the stored
/// bytes) the first time.
pub fn dictionary(
    id: u32,
    load: impl FnOnce() -> StoreResult<Option<Vec<u8>>>,
) -> StoreResult<Arc<Dictionary>> {
    if let Some(found) = PREPARED.read().expect("dictionary cache").get(&id) {
        return Ok(found.clone());
    }
    let bytes = load()?.ok_or_else(|| {
        StoreError::Corrupt(format!("event dictionary {id} is missing from the store"))
    })?;
    let prepared = Arc::new(Dictionary::new(&bytes)?);
    if prepared.id != id {
        return Err(StoreError::Corrupt(format!(
            "event dictionary {id} holds dictionary {}",
            prepared.id
        )));
    }
    PREPARED
        .write()
        .expect("dictionary cache")
        .insert(id, prepared.clone());
    Ok(prepared)
}

thread_local! {
    // Contexts are a few hundred KiB each: one per thread, reused.
    static COMPRESSOR: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DECOMPRESSOR: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// Compresses an event's JSON, with `dictionary` when the store has one.
pub fn compress(json: &[u8], dictionary: Option<&Dictionary>) -> Vec<u8> {
    let mut out = vec![0; 1 + zstd::zstd_safe::compress_bound(json.len())];
    out[0] = COMPRESSED;
    let written = COMPRESSOR.with_borrow_mut(|cctx| {
        let frame = &mut out[1..];
        let result = match dictionary {
            Some(dictionary) => {
                cctx.compress_using_cdict(frame, json, dictionary.encoder.as_cdict())
            }
            None => cctx.compress(frame, json, LEVEL),
        };
        // A buffer of `compress_bound` bytes always holds the frame.
        result.expect("zstd compresses into a buffer of its own bound")
    });
    out.truncate(1 + written);
    out
}

/// Which dictionary a stored value was compressed with: `None` for the
/// JSON of older releases, `Some(0)` for none.
pub fn dictionary_of(value: &[u8]) -> Option<u32> {
    match value.first() {
        Some(&COMPRESSED) => {
            Some(zstd::zstd_safe::get_dict_id_from_frame(&value[1..]).map_or(0, |id| id.get()))
        }
        _ => None,
    }
}

/// The JSON of a stored value. `load` reads a dictionary's bytes from the
/// store when this process has not prepared it yet.
pub fn decompress<'v>(
    value: &'v [u8],
    load: impl FnOnce(u32) -> StoreResult<Option<Vec<u8>>>,
) -> StoreResult<std::borrow::Cow<'v, [u8]>> {
    let Some(id) = dictionary_of(value) else {
        return Ok(std::borrow::Cow::Borrowed(value));
    };
    let frame = &value[1..];
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_EVENT_BYTES => size as usize,
        _ => return Err(StoreError::Corrupt("a compressed event is damaged".into())),
    };
    let dictionary = match id {
        0 => None,
        id => Some(dictionary(id, || load(id))?),
    };
    let mut out = Vec::with_capacity(size);
    DECOMPRESSOR.with_borrow_mut(|dctx| {
        let result = match &dictionary {
            Some(dictionary) => {
                dctx.decompress_using_ddict(&mut out, frame, dictionary.decoder.as_ddict())
            }
            None => dctx.decompress(&mut out, frame),
        };
        result.map_err(|code| {
            StoreError::Corrupt(format!(
                "a compressed event is damaged: {}",
                zstd::zstd_safe::get_error_name(code)
            ))
        })
    })?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Trains a dictionary from sample events (their JSON). `None` when the
/// samples are too few or too alike for zstd to learn from.
pub fn train(samples: &[Vec<u8>]) -> Option<Vec<u8>> {
    zstd::dict::from_samples(samples, DICTIONARY_BYTES).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_events() -> Vec<Vec<u8>> {
        (0..3000)
            .map(|i| {
                format!(
                    r#"{{"seq":{i},"at":"2026-11-0{}T10:00:00Z","actor":"customer{}","kind":{{"type":"message","direction":"inbound","body":"Hello, my printer model P-{} shows error E{} since this morning. Order {} arrived last week. Kind regards"}}}}"#,
                    i % 9 + 1,
                    i % 37,
                    i % 101,
                    i % 53,
                    100_000 + i * 7
                )
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn values_round_trip_with_and_without_a_dictionary_and_json_reads_as_is() {
        let samples = sample_events();
        let trained = train(&samples).expect("enough samples");
        let prepared = Dictionary::new(&trained).unwrap();
        let id = prepared.id;
        let event = &samples[17];
        let plain = compress(event, None);
        let with = compress(event, Some(&prepared));
        assert_eq!(dictionary_of(&plain), Some(0));
        assert_eq!(dictionary_of(&with), Some(id));
        assert!(with.len() < plain.len(), "{} < {}", with.len(), plain.len());
        assert!(with.len() * 2 < event.len());
        let load = |asked: u32| {
            assert_eq!(asked, id);
            Ok(Some(trained.clone()))
        };
        assert_eq!(&*decompress(&plain, load).unwrap(), event.as_slice());
        assert_eq!(&*decompress(&with, load).unwrap(), event.as_slice());
        assert_eq!(&*decompress(event, load).unwrap(), event.as_slice());
        assert_eq!(dictionary_of(event), None);
    }

    #[test]
    fn a_damaged_value_or_a_missing_dictionary_is_an_error_not_a_panic() {
        let samples = sample_events();
        let event = &samples[3];
        let mut damaged = compress(event, None);
        let last = damaged.len() - 1;
        damaged.truncate(last);
        assert!(decompress(&damaged, |_| Ok(None)).is_err());
        assert!(decompress(&[COMPRESSED, 0, 1], |_| Ok(None)).is_err());
        // A dictionary the store lacks (never prepared through `dictionary`).
        let other: Vec<Vec<u8>> = samples
            .iter()
            .map(|s| s.iter().rev().copied().collect())
            .collect();
        let trained = train(&other).unwrap();
        let prepared = Dictionary::new(&trained).unwrap();
        let with = compress(event, Some(&prepared));
        let err = decompress(&with, |_| Ok(None)).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
