//! Reading TensorFlow 1 checkpoints: the tensor bundle (`prefix.index`, a
//! LevelDB-style table of `BundleEntryProto`s, and `prefix.data-*` shards).

use super::wire::crc::unmask;
use super::wire::dtype::from_enum as dtype_of;
use super::wire::tensor_bytes::decode;
use super::wire::varint::read as varint;
use crate::base::error::FileKind;
use crate::base::{Error, Result, Value};
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

const MAGIC: u64 = 0xdb47_7524_8b80_fb57;
const FOOTER: usize = 48;

/// Reads every tensor of the TF1 checkpoint at `prefix` (the path without
/// `.index`), checking each table block's and each tensor's CRC-32C.
///
/// # Errors
///
/// [`Error::Io`] when a file cannot be read;
/// [`Error::Format`] for a damaged or unsupported file, naming what
/// is wrong (a bad checksum, a truncated block, a sliced tensor).
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
    if index.len() < FOOTER {
        return Err(bad("the index file is shorter than its footer".into()));
    }
    let footer = &index[index.len() - FOOTER..];
    if u64::from_le_bytes(footer[40..].try_into().expect("8 bytes")) != MAGIC {
        return Err(bad("the index file does not end with the table magic number".into()));
    }
    let mut at = 0;
    let _metaindex = (varint(footer, &mut at).map_err(&bad)?, varint(footer, &mut at).map_err(&bad)?);
    let index_handle = (varint(footer, &mut at).map_err(&bad)?, varint(footer, &mut at).map_err(&bad)?);

    let mut entries = Vec::new();
    for (_, handle) in block_entries(block(&index, index_handle).map_err(&bad)?).map_err(&bad)? {
        let mut h = 0;
        let data_handle = (varint(&handle, &mut h).map_err(&bad)?, varint(&handle, &mut h).map_err(&bad)?);
        entries.extend(block_entries(block(&index, data_handle).map_err(&bad)?).map_err(&bad)?);
    }

    let mut shards: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let num_shards = entries
        .iter()
        .find(|(k, _)| k.is_empty())
        .map(|(_, v)| header_shards(v).map_err(&bad))
        .transpose()?
        .unwrap_or(1);
    let mut out = BTreeMap::new();
    for (key, value) in entries.into_iter().filter(|(k, _)| !k.is_empty()) {
        let name = String::from_utf8(key).map_err(|_| bad("a tensor name is not UTF-8".into()))?;
        let entry = Entry::parse(&value).map_err(|r| bad(format!("entry `{name}`: {r}")))?;
        if entry.sliced {
            return Err(bad(format!("`{name}` is saved in slices (partitioned), which is not supported yet")));
        }
        let Some(dtype) = dtype_of(entry.dtype) else {
            out.insert(name, Stored::Unsupported { dtype: format!("DataType {}", entry.dtype), shape: entry.shape });
            continue;
        };
        let data = match shards.entry(entry.shard) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let path = with_suffix(prefix, &format!(".data-{:05}-of-{:05}", entry.shard, num_shards));
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
            .ok_or_else(|| bad(format!("`{name}` points past the end of its data file")))?;
        if let Some(crc) = entry.crc
            && unmask(crc) != crc32c::crc32c(bytes)
        {
            return Err(bad(format!("`{name}` fails its CRC-32C check: the data file is damaged")));
        }
        let value = decode(dtype, &entry.shape, bytes)
            .ok_or_else(|| bad(format!("`{name}` has {} bytes, which do not fill its shape", bytes.len())))?;
        out.insert(name, Stored::Value(value));
    }
    Ok(out)
}

fn with_suffix(prefix: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// The contents of the table block at `handle`, after checking its trailer.
fn block(file: &[u8], (offset, size): (u64, u64)) -> std::result::Result<&[u8], String> {
    let (o, s) =
        (usize::try_from(offset).map_err(|e| e.to_string())?, usize::try_from(size).map_err(|e| e.to_string())?);
    let whole = file
        .get(o..o.checked_add(s).and_then(|e| e.checked_add(5)).ok_or("block size overflows")?)
        .ok_or("a block points past the end of the index file")?;
    let (contents, trailer) = whole.split_at(s);
    if trailer[0] != 0 {
        return Err(format!("a block uses compression type {}, which is not supported", trailer[0]));
    }
    let stored = u32::from_le_bytes(trailer[1..5].try_into().expect("4 bytes"));
    let crc = crc32c::crc32c_append(crc32c::crc32c(contents), &trailer[..1]);
    if unmask(stored) != crc {
        return Err("an index block fails its CRC-32C check: the index file is damaged".into());
    }
    Ok(contents)
}

/// The key/value entries of a table block (keys share prefixes with the previous key).
/// A table entry: key and value bytes.
type TableEntry = (Vec<u8>, Vec<u8>);

fn block_entries(b: &[u8]) -> std::result::Result<Vec<TableEntry>, String> {
    let n = b.len().checked_sub(4).ok_or("a block is too short")?;
    let restarts = u32::from_le_bytes(b[n..].try_into().expect("4 bytes")) as usize;
    let end = restarts.checked_mul(4).and_then(|r| n.checked_sub(r)).ok_or("a block's restart array is too long")?;
    let (mut at, mut key, mut out) = (0, Vec::new(), Vec::new());
    while at < end {
        let shared = varint(b, &mut at)? as usize;
        let unshared = varint(b, &mut at)? as usize;
        let len = varint(b, &mut at)? as usize;
        let delta = b.get(at..at.saturating_add(unshared)).ok_or("a key runs past its block")?;
        at += unshared;
        let value = b.get(at..at.saturating_add(len)).ok_or("a value runs past its block")?;
        at += len;
        if shared > key.len() {
            return Err("a key shares more bytes than the previous key has".into());
        }
        key.truncate(shared);
        key.extend_from_slice(delta);
        out.push((key.clone(), value.to_vec()));
    }
    Ok(out)
}

/// Protocol-buffer fields: (field number, wire type, varint or bytes).
fn fields(b: &[u8]) -> std::result::Result<Vec<(u64, Field<'_>)>, String> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        let tag = varint(b, &mut at)?;
        let field = match tag & 7 {
            0 => Field::Varint(varint(b, &mut at)?),
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
    sliced: bool,
}

impl Entry {
    fn parse(b: &[u8]) -> std::result::Result<Entry, String> {
        let mut e = Entry { dtype: 0, shape: Vec::new(), shard: 0, offset: 0, size: 0, crc: None, sliced: false };
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
                (7, _) => e.sliced = true,
                _ => {}
            }
        }
        Ok(e)
    }
}
