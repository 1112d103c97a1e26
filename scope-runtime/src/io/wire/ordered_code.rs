//! TensorFlow's `OrderedCode` keys of tensor slices in TF1 checkpoints
//! (`checkpoint::EncodeTensorNameSlice`): the key under which a bundle stores
//! one slice of a partitioned variable.

/// The key of the slice `extents` (`(start, length)` per dimension, length
/// `-1` for a whole dimension) of the tensor `name`: the number 0, the name,
/// the number of dimensions, then each start and length, so that slice keys
/// sort before every tensor name and by name.
pub(crate) fn slice_key(name: &str, extents: &[(i64, i64)]) -> Vec<u8> {
    let mut out = Vec::new();
    put_num(&mut out, 0);
    put_string(&mut out, name.as_bytes());
    put_num(&mut out, extents.len() as u64);
    for &(start, length) in extents {
        put_signed(&mut out, start);
        put_signed(&mut out, length);
    }
    out
}

/// `WriteNumIncreasing`: a length byte, then the value big-endian without leading zeros.
fn put_num(out: &mut Vec<u8>, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push((8 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// `WriteString`: bytes 0 and 255 escaped as `0 255` and `255 0`, ended by `0 1`.
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            0 => out.extend_from_slice(&[0, 0xff]),
            0xff => out.extend_from_slice(&[0xff, 0]),
            b => out.push(b),
        }
    }
    out.extend_from_slice(&[0, 1]);
}

/// `WriteSignedNumIncreasing`: big-endian two's complement, its first bits
/// holding the sign and then one bit per extra byte, so that `n` bytes hold
/// numbers in `[-2^(7n-1), 2^(7n-1))`.
fn put_signed(out: &mut Vec<u8>, v: i64) {
    let magnitude = if v < 0 { !v } else { v } as u64;
    let bits = 64 - magnitude.leading_zeros() as usize; // bits after the sign
    let len = bits / 7 + 1;
    let mut buf = [if v < 0 { 0xff } else { 0 }; 10];
    buf[2..].copy_from_slice(&v.to_be_bytes());
    let begin = 10 - len;
    // `len` bits of the sign's value: one for the sign, one per extra byte.
    let header: u16 = !(0xffff_u16 >> len.min(16));
    buf[begin] ^= (header >> 8) as u8;
    if len > 1 {
        buf[begin + 1] ^= header as u8;
    }
    out.extend_from_slice(&buf[begin..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        put_signed(&mut out, v);
        out
    }

    #[test]
    fn signed_numbers_match_tensorflows_examples() {
        // From ordered_code.cc: 0x424242 -> f0 42 42 42, -0x800 -> 38 00.
        assert_eq!(signed(0x42_4242), [0xf0, 0x42, 0x42, 0x42]);
        assert_eq!(signed(-0x800), [0x38, 0x00]);
        assert_eq!(signed(0), [0x80]);
        assert_eq!(signed(2), [0x82]);
        assert_eq!(signed(-1), [0x7f]);
        assert_eq!(signed(63), [0xbf]);
        assert_eq!(signed(64), [0xc0, 0x40]);
        assert_eq!(signed(-64), [0x40]);
        assert_eq!(signed(i64::MAX).len(), 10);
        assert_eq!(signed(i64::MIN).len(), 10);
    }

    #[test]
    fn signed_numbers_sort_as_numbers() {
        let values = [i64::MIN, -1 << 40, -70_000, -8193, -65, -64, -1, 0, 1, 63, 64, 8191, 8192, 1 << 40, i64::MAX];
        for pair in values.windows(2) {
            assert!(signed(pair[0]) < signed(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn a_slice_key_is_what_tensorflow_wrote() {
        // `emb` [5, 2] in 3 parts, part 0 (tests/data/tf1_written).
        assert_eq!(slice_key("emb", &[(0, 2), (0, 2)]), b"\x00emb\x00\x01\x01\x02\x80\x82\x80\x82");
        assert_eq!(slice_key("a\0b", &[(0, -1)]), b"\x00a\x00\xffb\x00\x01\x01\x01\x80\x7f");
    }
}
