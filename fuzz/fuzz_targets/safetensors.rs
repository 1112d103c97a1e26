//! The safetensors loader (`read_safetensors`, and `read_checkpoint`, which
//! tells the format from the file) on any bytes: `Ok` or an error, never a
//! panic, an abort or an allocation the header only claims to need.
#![no_main]

#[path = "scratch.rs"]
mod scratch;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let path = scratch::write("model.safetensors", input);
    let _ = scope_runtime::read_safetensors(&path);
    let _ = scope_runtime::read_checkpoint(&path);
});
