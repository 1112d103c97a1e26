//! LevelDB-style sorted tables, the layout of a TF1 checkpoint's `.index`
//! file (TensorFlow's `table::TableBuilder` and `Table`), written and read.
//!
//! A table is data blocks of key/value entries, an empty metaindex block, an
//! index block holding one key and block handle per data block, and a
//! 48-byte footer ending in the magic number. Keys share prefixes with the
//! key before them, except at restart points (every 16 entries). Each block
//! is followed by its compression type (none) and masked CRC-32C.

use super::wire::crc::{mask, unmask};
use super::wire::varint::{put, read as varint};

const MAGIC: u64 = 0xdb47_7524_8b80_fb57;
const FOOTER: usize = 48;
/// TensorFlow's `table::Options` defaults.
const BLOCK_SIZE: usize = 262_144;
const RESTART_INTERVAL: usize = 16;

/// A table entry: key and value bytes.
pub(crate) type TableEntry = (Vec<u8>, Vec<u8>);

/// One block being built.
#[derive(Default)]
struct Block {
    buffer: Vec<u8>,
    restarts: Vec<u32>,
    since_restart: usize,
    last_key: Vec<u8>,
}

impl Block {
    fn add(&mut self, key: &[u8], value: &[u8], restart_interval: usize) {
        let shared = if self.restarts.is_empty() || self.since_restart >= restart_interval {
            self.restarts.push(self.buffer.len() as u32);
            self.since_restart = 0;
            0
        } else {
            key.iter().zip(&self.last_key).take_while(|(a, b)| a == b).count()
        };
        put(&mut self.buffer, shared as u64);
        put(&mut self.buffer, (key.len() - shared) as u64);
        put(&mut self.buffer, value.len() as u64);
        self.buffer.extend_from_slice(&key[shared..]);
        self.buffer.extend_from_slice(value);
        self.last_key = key.to_vec();
        self.since_restart += 1;
    }

    fn size_estimate(&self) -> usize {
        self.buffer.len() + 4 * self.restarts.len().max(1) + 4
    }

    /// The block's bytes (entries, then the restart offsets and their count); resets it.
    fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buffer);
        let restarts = std::mem::take(&mut self.restarts);
        let restarts = if restarts.is_empty() { vec![0] } else { restarts };
        restarts.iter().for_each(|r| out.extend_from_slice(&r.to_le_bytes()));
        out.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
        *self = Block::default();
        out
    }
}

/// Appends a block with its trailer (no compression, masked CRC-32C of both) and returns its handle.
fn write_block(file: &mut Vec<u8>, contents: &[u8]) -> Vec<u8> {
    let mut handle = Vec::new();
    put(&mut handle, file.len() as u64);
    put(&mut handle, contents.len() as u64);
    file.extend_from_slice(contents);
    let crc = crc32c::crc32c_append(crc32c::crc32c(contents), &[0]);
    file.push(0);
    file.extend_from_slice(&mask(crc).to_le_bytes());
    handle
}

/// The bytes of a table holding `entries`, which must be sorted by key and
/// distinct, byte for byte as TensorFlow's `TableBuilder` writes them.
pub(crate) fn write_table(entries: &[TableEntry]) -> Vec<u8> {
    let mut file = Vec::new();
    let (mut data, mut index) = (Block::default(), Block::default());
    // The index entry of a full data block waits for the next key, to use a short separator.
    let mut pending: Option<Vec<u8>> = None;
    let mut last_key: Vec<u8> = Vec::new();
    for (n, (key, value)) in entries.iter().enumerate() {
        debug_assert!(n == 0 || key.as_slice() > last_key.as_slice(), "table keys must be sorted and distinct");
        if n > 0 && key.len() + value.len() >= 2 * BLOCK_SIZE && !data.buffer.is_empty() {
            pending = Some(write_block(&mut file, &data.finish()));
        }
        if let Some(handle) = pending.take() {
            index.add(&shortest_separator(&last_key, key), &handle, 1);
        }
        last_key.clone_from(key);
        data.add(key, value, RESTART_INTERVAL);
        if data.size_estimate() >= BLOCK_SIZE {
            pending = Some(write_block(&mut file, &data.finish()));
        }
    }
    if !data.buffer.is_empty() {
        pending = Some(write_block(&mut file, &data.finish()));
    }
    let metaindex = write_block(&mut file, &Block::default().finish());
    if let Some(handle) = pending {
        index.add(&short_successor(&last_key), &handle, 1);
    }
    let index = write_block(&mut file, &index.finish());
    let mut footer = [metaindex, index].concat();
    footer.resize(FOOTER - 8, 0);
    footer.extend_from_slice(&MAGIC.to_le_bytes());
    file.extend_from_slice(&footer);
    file
}

/// A short key `k` with `start <= k < limit` (LevelDB's `FindShortestSeparator`).
fn shortest_separator(start: &[u8], limit: &[u8]) -> Vec<u8> {
    let common = start.iter().zip(limit).take_while(|(a, b)| a == b).count();
    let mut out = start.to_vec();
    if common < start.len().min(limit.len()) {
        let byte = start[common];
        if byte < 0xff && byte + 1 < limit[common] {
            out[common] += 1;
            out.truncate(common + 1);
        }
    }
    out
}

/// A short key `k >= key` (LevelDB's `FindShortSuccessor`).
fn short_successor(key: &[u8]) -> Vec<u8> {
    match key.iter().position(|b| *b != 0xff) {
        Some(i) => {
            let mut out = key[..=i].to_vec();
            out[i] += 1;
            out
        }
        None => key.to_vec(),
    }
}

/// Every entry of a table, in order, after checking the footer and each block's CRC.
pub(crate) fn read_table(file: &[u8]) -> Result<Vec<TableEntry>, String> {
    if file.len() < FOOTER {
        return Err("the index file is shorter than its footer".into());
    }
    // The file holds at least FOOTER (48) bytes (checked above): `footer[40..]` is its last 8.
    let footer = &file[file.len() - FOOTER..];
    if u64::from_le_bytes(footer[40..].try_into().expect("8 bytes")) != MAGIC {
        return Err("the index file does not end with the table magic number".into());
    }
    let mut at = 0;
    let _metaindex = (varint(footer, &mut at)?, varint(footer, &mut at)?);
    let index_handle = (varint(footer, &mut at)?, varint(footer, &mut at)?);
    let mut entries = Vec::new();
    for (_, handle) in block_entries(block(file, index_handle)?)? {
        let mut h = 0;
        let data_handle = (varint(&handle, &mut h)?, varint(&handle, &mut h)?);
        entries.extend(block_entries(block(file, data_handle)?)?);
    }
    Ok(entries)
}

/// The contents of the table block at `handle`, after checking its trailer.
fn block(file: &[u8], (offset, size): (u64, u64)) -> Result<&[u8], String> {
    let (o, s) =
        (usize::try_from(offset).map_err(|e| e.to_string())?, usize::try_from(size).map_err(|e| e.to_string())?);
    let whole = file
        .get(o..o.checked_add(s).and_then(|e| e.checked_add(5)).ok_or("block size overflows")?)
        .ok_or("a block points past the end of the index file")?;
    // `whole` is `s + 5` bytes (taken with `get` above): the trailer is the type byte and a 4-byte CRC.
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
fn block_entries(b: &[u8]) -> Result<Vec<TableEntry>, String> {
    let n = b.len().checked_sub(4).ok_or("a block is too short")?;
    let restarts = u32::from_le_bytes(b[n..].try_into().expect("4 bytes")) as usize;
    let end = restarts.checked_mul(4).and_then(|r| n.checked_sub(r)).ok_or("a block's restart array is too long")?;
    // Entries end where the restart array begins, as TF's `Block::Iter` reads
    // them (`end <= n < b.len()`, checked above).
    let b = &b[..end];
    let (mut at, mut key, mut out) = (0, Vec::new(), Vec::new());
    while at < end {
        let shared = varint(b, &mut at)? as usize;
        let unshared = varint(b, &mut at)? as usize;
        let len = varint(b, &mut at)? as usize;
        let delta = b.get(at..at.saturating_add(unshared)).ok_or("a key runs past its block")?;
        // `at + unshared` and then `at + len` are at most `b.len()`: each slice was taken with `get`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_short_and_in_between() {
        assert_eq!(shortest_separator(b"the quick brown fox", b"the who"), b"the r");
        assert_eq!(shortest_separator(b"abc", b"abcd"), b"abc");
        assert_eq!(short_successor(b"wide"), b"x");
        assert_eq!(short_successor(b"\xff\xffa"), b"\xff\xffb");
    }

    #[test]
    fn tables_read_back_across_blocks_and_restarts() {
        let entries: Vec<TableEntry> =
            (0..3000).map(|i| (format!("key/{i:05}").into_bytes(), vec![i as u8; 200])).collect();
        let file = write_table(&entries);
        assert_eq!(read_table(&file).as_ref(), Ok(&entries));
        assert_eq!(read_table(&write_table(&[])), Ok(vec![]));
    }
}
