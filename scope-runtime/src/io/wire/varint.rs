//! Protocol-buffer varints and fields, written and read.

/// Appends `v` as a varint.
pub(crate) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a varint field.
pub(crate) fn put_field(out: &mut Vec<u8>, field: u64, v: u64) {
    put(out, field << 3);
    put(out, v);
}

/// Appends a length-delimited field.
pub(crate) fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put(out, field << 3 | 2);
    put(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads a varint at `*at`, advancing it.
pub(crate) fn read(b: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or("a varint runs past the end of its buffer")?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("a varint is longer than 10 bytes".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn varints_round_trip() {
        for v in [0, 1, 127, 128, 300, u64::MAX] {
            let mut b = Vec::new();
            super::put(&mut b, v);
            let mut at = 0;
            assert_eq!(super::read(&b, &mut at), Ok(v));
            assert_eq!(at, b.len());
        }
    }
}
