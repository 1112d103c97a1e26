//! Writing TensorFlow 1 checkpoints: the tensor bundle (`prefix.index`, a
//! sorted table of `BundleEntryProto`s, and `prefix.data-00000-of-00001`),
//! byte for byte as TensorFlow's `BundleWriter` writes them.

use super::atomic::write_all;
use super::checkpoint_state::updated;
use super::table::write_table;
use super::wire::crc::masked_crc;
use super::wire::dtype::to_enum;
use super::wire::ordered_code::slice_key;
use super::wire::tensor_bytes::encode;
use super::wire::varint::{put, put_bytes, put_field};
use crate::base::error::FileKind;
use crate::base::{DType, Result, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A tensor to save: whole, or in slices (a partitioned variable, saved as
/// TensorFlow saves one: its full shape and the list of slices under its
/// name, each slice's values under that slice's key).
pub(crate) enum Tf1Tensor {
    Whole(Value),
    Sliced { dtype: DType, shape: Vec<usize>, slices: Vec<(Vec<(usize, usize)>, Value)> },
}

/// Writes the TF1 checkpoint `prefix.index` and `prefix.data-00000-of-00001`
/// holding `values` whole, atomically: both files are written to temporary
/// files beside them and renamed into place (data first) only once complete.
///
/// [`Saver::save`](crate::Saver::save) writes a graph's variables this way,
/// partitioned ones in slices as TensorFlow does.
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io) when a file cannot be written; the
/// previous checkpoint at `prefix`, if any, stays whole.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use scope_runtime::{read_tf1_checkpoint, write_tf1_checkpoint, Stored, Value};
/// let prefix = std::env::temp_dir().join(format!("write-tf1-doc-{}", std::process::id())).join("model.ckpt");
/// std::fs::create_dir_all(prefix.parent().unwrap()).unwrap();
/// let values = BTreeMap::from([("dense/bias".to_owned(), Value::from(vec![0.5f32, -1.0]))]);
/// write_tf1_checkpoint(&prefix, &values)?;
/// assert_eq!(read_tf1_checkpoint(&prefix)?["dense/bias"], Stored::Value(Value::from(vec![0.5f32, -1.0])));
/// # std::fs::remove_dir_all(prefix.parent().unwrap()).ok();
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn write_tf1_checkpoint(prefix: impl AsRef<Path>, values: &BTreeMap<String, Value>) -> Result<()> {
    let tensors: Vec<(String, Tf1Tensor)> =
        values.iter().map(|(name, v)| (name.clone(), Tf1Tensor::Whole(v.clone()))).collect();
    write_bundle(prefix.as_ref(), &tensors, false)
}

/// Writes the bundle of `tensors` (sorted by name) at `prefix`, then, if
/// `write_state`, the directory's `checkpoint` state file naming it as the
/// latest; renamed into place in that order.
pub(crate) fn write_bundle(prefix: &Path, tensors: &[(String, Tf1Tensor)], write_state: bool) -> Result<()> {
    let (index, data) = encode_bundle(tensors);
    let files = [(with_suffix(prefix, ".data-00000-of-00001"), data), (with_suffix(prefix, ".index"), index)];
    write_all(FileKind::Tf1Bundle, &files, || {
        Ok(write_state.then(|| updated(prefix)).map(|(path, text)| (path, text.into_bytes())))
    })
}

/// `prefix` with `suffix` appended to its last component (`model.ckpt` + `.index`).
pub(crate) fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// The `.index` and `.data-00000-of-00001` bytes of `tensors`. Values go to
/// the data file in the order given (TensorFlow's Saver sorts by name),
/// slices in their order; the index holds the header under the empty key and
/// every entry sorted by key.
pub(crate) fn encode_bundle(tensors: &[(String, Tf1Tensor)]) -> (Vec<u8>, Vec<u8>) {
    let mut data = Vec::new();
    let mut entries: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let add = |entries: &mut BTreeMap<Vec<u8>, Vec<u8>>, key: Vec<u8>, value: &Value, data: &mut Vec<u8>| {
        let bytes = encode(value);
        entries.insert(key, entry(value.dtype(), value.shape(), data.len() as u64, &bytes));
        data.extend_from_slice(&bytes);
    };
    for (name, tensor) in tensors {
        match tensor {
            Tf1Tensor::Whole(v) => add(&mut entries, name.as_bytes().to_vec(), v, &mut data),
            Tf1Tensor::Sliced { slices, shape, .. } if slices.len() == 1 && slices[0].1.shape() == shape.as_slice() => {
                // A single slice covering the tensor is the tensor (TF's `IsFullSlice`).
                add(&mut entries, name.as_bytes().to_vec(), &slices[0].1, &mut data);
            }
            Tf1Tensor::Sliced { dtype, shape, slices } => {
                for (extents, v) in slices {
                    let key: Vec<(i64, i64)> = extents.iter().map(|&(s, l)| (s as i64, l as i64)).collect();
                    add(&mut entries, slice_key(name, &key), v, &mut data);
                }
                let extents: Vec<&[(usize, usize)]> = slices.iter().map(|(e, _)| e.as_slice()).collect();
                entries.insert(name.as_bytes().to_vec(), sliced_entry(*dtype, shape, &extents));
            }
        }
    }
    // BundleHeaderProto: num_shards 1, little-endian (the default, 0), version { producer 1 }.
    let mut header = Vec::new();
    put_field(&mut header, 1, 1);
    let mut version = Vec::new();
    put_field(&mut version, 1, 1);
    put_bytes(&mut header, 3, &version);
    entries.insert(Vec::new(), header);
    let entries: Vec<(Vec<u8>, Vec<u8>)> = entries.into_iter().collect();
    (write_table(&entries), data)
}

/// A `TensorShapeProto`: one `dim { size }` per dimension.
fn shape_proto(shape: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for &d in shape {
        let mut dim = Vec::new();
        if d != 0 {
            put_field(&mut dim, 1, d as u64);
        }
        put_bytes(&mut out, 2, &dim);
    }
    out
}

/// A `BundleEntryProto` of values stored in the data file (shard 0),
/// leaving out fields at their defaults as proto3 does.
fn entry(dtype: DType, shape: &[usize], offset: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_field(&mut out, 1, to_enum(dtype));
    put_bytes(&mut out, 2, &shape_proto(shape));
    if offset != 0 {
        put_field(&mut out, 4, offset);
    }
    if !bytes.is_empty() {
        put_field(&mut out, 5, bytes.len() as u64);
    }
    let crc = masked_crc(bytes);
    if crc != 0 {
        put(&mut out, 6 << 3 | 5); // fixed32
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

/// The `BundleEntryProto` of a tensor saved in slices: dtype, full shape and
/// one `TensorSliceProto` per slice, each `extent { start length }`.
fn sliced_entry(dtype: DType, shape: &[usize], slices: &[&[(usize, usize)]]) -> Vec<u8> {
    let mut out = Vec::new();
    put_field(&mut out, 1, to_enum(dtype));
    put_bytes(&mut out, 2, &shape_proto(shape));
    for extents in slices {
        let mut slice = Vec::new();
        for &(start, length) in *extents {
            let mut extent = Vec::new();
            if start != 0 {
                put_field(&mut extent, 1, start as u64);
            }
            put_field(&mut extent, 2, length as u64); // in a oneof: written even when 0
            put_bytes(&mut slice, 1, &extent);
        }
        put_bytes(&mut out, 7, &slice);
    }
    out
}
