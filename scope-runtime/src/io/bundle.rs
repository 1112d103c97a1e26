//! Reading TensorFlow 1 checkpoints: the tensor bundle (`prefix.index`, a
//! LevelDB-style table of `BundleEntryProto`s, and `prefix.data-*` shards),
//! tensors saved in slices assembled whole.

use super::bundle_writer::with_suffix;
use super::table::read_table;
use super::wire::crc::unmask;
use super::wire::dtype::from_enum as dtype_of;
use super::wire::ordered_code::slice_key;
use super::wire::tensor_bytes::decode;
use super::wire::varint::read as varint;
use crate::base::error::FileKind;
use crate::base::{DType, Error, Result, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// A tensor as a checkpoint holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// A value of a supported dtype.
    Value(Value),
    /// A tensor of a dtype scopeflow does not hold (TensorFlow's dtype enum).
    Unsupported {
        /// The dtype's name or number.
        dtype: String,
        /// The shape.
        shape: Vec<usize>,
    },
}

/// Reads every tensor of the TF1 checkpoint at `prefix` (the path without
/// `.index`), checking each table block's and each tensor's CRC-32C. A
/// tensor saved in slices (a partitioned variable) is read whole, under its name.
///
/// # Errors
///
/// [`Error::Io`] when a file cannot be read;
/// [`Error::Format`] for a damaged or unsupported file, naming what
/// is wrong (a bad checksum, a truncated block, a missing slice).
///
/// # Examples
///
/// ```no_run
/// let tensors = scope_runtime::read_tf1_checkpoint("model.ckpt")?;
/// for (name, tensor) in &tensors {
///     println!("{name}: {tensor:?}");
/// }
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn read_tf1_checkpoint(prefix: impl AsRef<Path>) -> Result<BTreeMap<String, Stored>> {
    let prefix = prefix.as_ref();
    let index_path = with_suffix(prefix, ".index");
    let shown = index_path.display().to_string();
    let bad = |reason: String| Error::Format { path: shown.clone(), format: FileKind::Tf1Bundle, reason };
    let index = std::fs::read(&index_path).map_err(|source| Error::Io {
        what: FileKind::Tf1Bundle,
        path: shown.clone(),
        source,
    })?;
    let mut entries: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for (key, value) in read_table(&index).map_err(&bad)? {
        if entries.contains_key(&key) {
            // TensorFlow would take the first copy; a table holding two is damaged.
            return Err(bad(format!("the index holds `{}` twice", String::from_utf8_lossy(&key))));
        }
        entries.insert(key, value);
    }
    let num_shards = entries.get(&[][..]).map(|v| header_shards(v).map_err(&bad)).transpose()?.unwrap_or(1);
    let mut data = Shards { prefix, num_shards, files: BTreeMap::new(), bad: &bad };
    let mut out = BTreeMap::new();
    // Slice keys start with byte 0 and are read through their tensor's entry.
    for (key, value) in entries.iter().filter(|(k, _)| k.first().is_some_and(|b| *b != 0)) {
        let name = String::from_utf8(key.clone()).map_err(|_| bad("a tensor name is not UTF-8".into()))?;
        let entry = Entry::parse(value).map_err(|r| bad(format!("entry `{name}`: {r}")))?;
        let Some(dtype) = dtype_of(entry.dtype) else {
            out.insert(name, Stored::Unsupported { dtype: format!("DataType {}", entry.dtype), shape: entry.shape });
            continue;
        };
        let bytes = if entry.slices.is_empty() {
            data.bytes(&name, &entry)?.to_vec()
        } else {
            assemble(&name, &entry, element_size(dtype), &entries, &mut data)?
        };
        let value = decode(dtype, &entry.shape, &bytes)
            .ok_or_else(|| bad(format!("`{name}` has {} bytes, which do not fill its shape", bytes.len())))?;
        out.insert(name, Stored::Value(value));
    }
    Ok(out)
}

/// Bytes per element as bundles store them.
fn element_size(dtype: DType) -> usize {
    match dtype {
        DType::F64 | DType::I64 => 8,
        DType::F32 | DType::I32 => 4,
        DType::Bool => 1,
    }
}

/// The row-major bytes of the tensor `entry` saved in slices, each slice
/// read from its own entry (under its `EncodeTensorNameSlice` key) and
/// placed; the slices must cover the tensor exactly once.
fn assemble(
    name: &str,
    entry: &Entry,
    width: usize,
    entries: &BTreeMap<Vec<u8>, Vec<u8>>,
    data: &mut Shards<'_>,
) -> Result<Vec<u8>> {
    let bad = data.bad;
    let mut parts = Vec::with_capacity(entry.slices.len());
    for slice in &entry.slices {
        let extents: Vec<(usize, usize)> = slice
            .iter()
            .zip(&entry.shape)
            .map(|(&(start, length), &dim)| match length {
                None => Some((0, dim)),
                Some(l) => Some((usize::try_from(start).ok()?, usize::try_from(l).ok()?))
                    .filter(|(s, l)| s.checked_add(*l).is_some_and(|e| e <= dim)),
            })
            .collect::<Option<_>>()
            .filter(|e: &Vec<_>| e.len() == entry.shape.len())
            .ok_or_else(|| bad(format!("`{name}` has a slice outside its shape")))?;
        let key: Vec<(i64, i64)> = slice.iter().map(|&(s, l)| (s, l.unwrap_or(-1))).collect();
        let part = entries
            .get(&slice_key(name, &key))
            .ok_or_else(|| bad(format!("`{name}` lists a slice the index does not hold")))?;
        let part = Entry::parse(part).map_err(|r| bad(format!("a slice of `{name}`: {r}")))?;
        let part_shape: Vec<usize> = extents.iter().map(|e| e.1).collect();
        if part.dtype != entry.dtype || part.shape != part_shape {
            return Err(bad(format!("a slice of `{name}` differs from its dtype or slice shape")));
        }
        let bytes = data.bytes(name, &part)?;
        if Some(bytes.len()) != part_shape.iter().try_fold(width, |n, d| n.checked_mul(*d)) {
            return Err(bad(format!("a slice of `{name}` has {} bytes, which do not fill it", bytes.len())));
        }
        parts.push((extents, bytes.to_vec()));
    }
    // The parts' sizes (bounded by the data files) must add up to the whole before it is allocated.
    let total = entry.shape.iter().try_fold(width, |n, d| n.checked_mul(*d));
    if total != parts.iter().try_fold(0usize, |n, (_, b)| n.checked_add(b.len())) {
        return Err(bad(format!("the slices of `{name}` do not add up to its shape")));
    }
    let total = total.unwrap_or(0);
    let mut whole = vec![0u8; total];
    let mut covered = vec![false; total / width.max(1)];
    for (extents, bytes) in &parts {
        place(&mut whole, &mut covered, &entry.shape, width, extents, bytes)
            .map_err(|()| bad(format!("the slices of `{name}` overlap")))?;
    }
    Ok(whole)
}

/// Copies the row-major bytes of the slice `extents` into `whole`, a
/// row-major tensor of `shape`, marking the elements it fills in `covered`;
/// fails when one was filled before.
///
/// Indexing cannot fail: `assemble` checked that `extents` has `shape`'s
/// rank and lies inside it, that `part` fills the extents, and that `whole`
/// and `covered` hold the whole shape, so every run lies inside both.
fn place(
    whole: &mut [u8],
    covered: &mut [bool],
    shape: &[usize],
    width: usize,
    extents: &[(usize, usize)],
    part: &[u8],
) -> std::result::Result<(), ()> {
    let strides: Vec<usize> = (0..shape.len()).map(|d| shape[d + 1..].iter().product()).collect();
    // Contiguous runs are the slice's last dimension (one element for a scalar);
    // the other dimensions are walked as an odometer.
    let (run_start, run) = extents.last().copied().unwrap_or((0, 1));
    let outer = &extents[..extents.len().saturating_sub(1)];
    if run == 0 || part.is_empty() {
        return Ok(());
    }
    let mut at = vec![0; outer.len()];
    for chunk in part.chunks_exact(run * width) {
        let first: usize =
            outer.iter().zip(&at).zip(&strides).map(|((e, i), s)| (e.0 + i) * s).sum::<usize>() + run_start;
        if covered[first..first + run].iter().any(|c| *c) {
            return Err(());
        }
        covered[first..first + run].fill(true);
        whole[first * width..(first + run) * width].copy_from_slice(chunk);
        for d in (0..outer.len()).rev() {
            at[d] += 1;
            if at[d] < outer[d].1 {
                break;
            }
            at[d] = 0;
        }
    }
    Ok(())
}

/// The data files of a bundle, read when first needed.
struct Shards<'a> {
    prefix: &'a Path,
    num_shards: u64,
    files: BTreeMap<u64, Vec<u8>>,
    /// A format error about the index file.
    bad: &'a dyn Fn(String) -> Error,
}

impl Shards<'_> {
    /// The stored bytes of `entry`, after checking its CRC-32C.
    fn bytes(&mut self, name: &str, entry: &Entry) -> Result<&[u8]> {
        let data = match self.files.entry(entry.shard) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let path = with_suffix(self.prefix, &format!(".data-{:05}-of-{:05}", entry.shard, self.num_shards));
                let bytes = std::fs::read(&path).map_err(|source| Error::Io {
                    what: FileKind::Tf1Bundle,
                    path: path.display().to_string(),
                    source,
                })?;
                e.insert(bytes)
            }
        };
        let bytes = usize::try_from(entry.offset)
            .ok()
            .zip(usize::try_from(entry.size).ok())
            .and_then(|(o, s)| data.get(o..o.checked_add(s)?))
            .ok_or_else(|| (self.bad)(format!("`{name}` points past the end of its data file")))?;
        // An entry without the field holds 0, as protocol buffers read it, and is checked as TF checks it.
        if unmask(entry.crc.unwrap_or(0)) != crc32c::crc32c(bytes) {
            return Err((self.bad)(format!("`{name}` fails its CRC-32C check: the data file is damaged")));
        }
        Ok(bytes)
    }
}

/// Protocol-buffer fields: (field number, wire type, varint or bytes).
fn fields(b: &[u8]) -> std::result::Result<Vec<(u64, Field<'_>)>, String> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        let tag = varint(b, &mut at)?;
        let field = match tag & 7 {
            0 => Field::Varint(varint(b, &mut at)?),
            // `at <= b.len()`, so `at + 8` cannot overflow; each slice is taken with `get`.
            1 => {
                let v = b.get(at..at + 8).ok_or("a fixed64 runs past the end")?;
                at += 8;
                Field::Varint(u64::from_le_bytes(v.try_into().expect("8 bytes")))
            }
            2 => {
                let len = varint(b, &mut at)? as usize;
                let v = b.get(at..at.saturating_add(len)).ok_or("a field runs past the end")?;
                at += len;
                Field::Bytes(v)
            }
            5 => {
                let v = b.get(at..at + 4).ok_or("a fixed32 runs past the end")?;
                at += 4;
                Field::Varint(u64::from(u32::from_le_bytes(v.try_into().expect("4 bytes"))))
            }
            w => return Err(format!("unknown protocol buffer wire type {w}")),
        };
        out.push((tag >> 3, field));
    }
    Ok(out)
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// `BundleHeaderProto.num_shards`, after checking the byte order.
fn header_shards(b: &[u8]) -> std::result::Result<u64, String> {
    let mut shards = 1;
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Varint(v)) => shards = v.max(1),
            (2, Field::Varint(e)) if e != 0 => {
                return Err("the checkpoint is big-endian, which is not supported".into());
            }
            _ => {}
        }
    }
    Ok(shards)
}

/// The parts of a `BundleEntryProto` a reader needs.
struct Entry {
    dtype: u64,
    shape: Vec<usize>,
    shard: u64,
    offset: u64,
    size: u64,
    crc: Option<u32>,
    /// Each slice's `(start, length)` per dimension, `None` for a whole dimension.
    slices: Vec<Vec<(i64, Option<i64>)>>,
}

impl Entry {
    fn parse(b: &[u8]) -> std::result::Result<Entry, String> {
        let mut e = Entry { dtype: 0, shape: Vec::new(), shard: 0, offset: 0, size: 0, crc: None, slices: Vec::new() };
        for (n, f) in fields(b)? {
            match (n, f) {
                (1, Field::Varint(v)) => e.dtype = v,
                (2, Field::Bytes(shape)) => {
                    for (m, dim) in fields(shape)? {
                        if let (2, Field::Bytes(dim)) = (m, dim) {
                            let size = fields(dim)?
                                .into_iter()
                                .find_map(|(k, f)| match (k, f) {
                                    (1, Field::Varint(v)) => Some(v),
                                    _ => None,
                                })
                                .unwrap_or(0);
                            e.shape.push(usize::try_from(size).map_err(|_| "a dimension is too large")?);
                        }
                    }
                }
                (3, Field::Varint(v)) => e.shard = v,
                (4, Field::Varint(v)) => e.offset = v,
                (5, Field::Varint(v)) => e.size = v,
                (6, Field::Varint(v)) => e.crc = Some(v as u32),
                (7, Field::Bytes(slice)) => {
                    let mut extents = Vec::new();
                    for (m, extent) in fields(slice)? {
                        if let (1, Field::Bytes(extent)) = (m, extent) {
                            let (mut start, mut length) = (0, None);
                            for (k, f) in fields(extent)? {
                                match (k, f) {
                                    (1, Field::Varint(v)) => start = v as i64,
                                    (2, Field::Varint(v)) => length = Some(v as i64),
                                    _ => {}
                                }
                            }
                            extents.push((start, length));
                        }
                    }
                    e.slices.push(extents);
                }
                _ => {}
            }
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::super::bundle_writer::{Tf1Tensor, encode_bundle};
    use super::*;

    /// Reads back a bundle of one tensor `v` of shape [4] saved in the slices `extents` of [4].
    fn read_sliced(case: &str, extents: &[(usize, usize)]) -> Result<BTreeMap<String, Stored>> {
        let slices = extents.iter().map(|&(s, l)| (vec![(s, l)], Value::from(vec![1.0f32; l]))).collect();
        let tensors = [("v".to_owned(), Tf1Tensor::Sliced { dtype: DType::F32, shape: vec![4], slices })];
        let (index, data) = encode_bundle(&tensors);
        let dir = std::env::temp_dir().join(format!("scopeflow-sliced-{}-{case}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("m.index"), index).expect("index");
        std::fs::write(dir.join("m.data-00000-of-00001"), data).expect("data");
        let read = read_tf1_checkpoint(dir.join("m"));
        std::fs::remove_dir_all(&dir).ok();
        read
    }

    /// Writes `index` and `data` as a checkpoint and reads it back.
    fn read_files(case: &str, index: &[u8], data: &[u8]) -> Result<BTreeMap<String, Stored>> {
        let dir = std::env::temp_dir().join(format!("scopeflow-bundle-{}-{case}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("m.index"), index).expect("index");
        std::fs::write(dir.join("m.data-00000-of-00001"), data).expect("data");
        let read = read_tf1_checkpoint(dir.join("m"));
        std::fs::remove_dir_all(&dir).ok();
        read
    }

    #[test]
    fn an_entry_without_its_checksum_is_checked_as_tf_does() {
        let tensors = [("v".to_owned(), Tf1Tensor::Whole(Value::from(vec![1.0f32, 2.0])))];
        let (index, data) = encode_bundle(&tensors);
        let entries = crate::io::table::read_table(&index).expect("table");
        assert!(read_files("whole", &index, &data).is_ok());
        // The entry of `v` without its crc32c field (6, a fixed32).
        let without_crc: Vec<_> = entries
            .iter()
            .map(|(key, value)| {
                if key.as_slice() != b"v" {
                    return (key.clone(), value.clone());
                }
                let mut kept = Vec::new();
                let mut at = 0;
                while at < value.len() {
                    let start = at;
                    let tag = varint(value, &mut at).expect("tag");
                    match tag & 7 {
                        0 => drop(varint(value, &mut at).expect("varint")),
                        1 => at += 8,
                        2 => at += varint(value, &mut at).expect("length") as usize,
                        5 => at += 4,
                        _ => panic!("a wire type the writer does not use"),
                    }
                    if tag >> 3 != 6 {
                        kept.extend_from_slice(&value[start..at]);
                    }
                }
                (key.clone(), kept)
            })
            .collect();
        let mut flipped = data.clone();
        flipped[0] ^= 1;
        let err = read_files("no-crc", &crate::io::table::write_table(&without_crc), &flipped).unwrap_err();
        assert!(err.to_string().contains("CRC-32C") && err.to_string().contains("`v`"), "{err}");
    }

    #[test]
    fn slices_that_do_not_tile_the_tensor_are_format_errors() {
        assert_eq!(read_sliced("ok", &[(2, 2), (0, 2)]).expect("tiles")["v"], Stored::Value(vec![1.0f32; 4].into()));
        for (case, extents, says) in [
            ("gap", &[(0, 2)][..], "do not add up"),
            ("overlap", &[(0, 2), (1, 2)][..], "overlap"),
            ("outside", &[(0, 2), (3, 2)][..], "outside its shape"),
        ] {
            let err = read_sliced(case, extents).unwrap_err().to_string();
            assert!(err.contains(says) && err.contains("`v`"), "{case}: {err}");
        }
    }
}
