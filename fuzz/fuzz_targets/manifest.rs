//! The manifest parser (`read_manifest`) on any bytes: `Ok` or an error.
#![no_main]

#[path = "scratch.rs"]
mod scratch;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let path = scratch::write("manifest.txt", input);
    let _ = scope_runtime::read_manifest(&path);
});
