//! The TF1 bundle reader (`read_tf1_checkpoint`) on a damaged or made-up
//! index and data file: every input is `Ok` or an error, never a panic, an
//! abort, a hang or an allocation the file only claims to need.
//!
//! Input: a little-endian u32 `n`, then the index (its first `n` bytes, or all
//! that is left), then the data file (`ckpt.data-00000-of-00001`).
#![no_main]

#[path = "scratch.rs"]
mod scratch;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let (n, rest) = match input.split_first_chunk::<4>() {
        Some((n, rest)) => (u32::from_le_bytes(*n) as usize, rest),
        None => (0, input),
    };
    let (index, data) = rest.split_at(n.min(rest.len()));
    scratch::write("ckpt.index", index);
    scratch::write("ckpt.data-00000-of-00001", data);
    let prefix = scratch::dir().join("ckpt");
    let _ = scope_runtime::read_tf1_checkpoint(&prefix);
});
