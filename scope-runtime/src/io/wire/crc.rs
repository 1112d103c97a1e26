//! TensorFlow's masked CRC-32C, so that CRCs of data holding CRCs stay well distributed.

const DELTA: u32 = 0xa282_ead8;

/// Masks a CRC as TensorFlow stores it.
pub(crate) fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(DELTA)
}

/// Undoes [`mask`].
pub(crate) fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(DELTA).rotate_left(15)
}

/// The masked CRC-32C of `data`.
pub(crate) fn masked_crc(data: &[u8]) -> u32 {
    mask(crc32c::crc32c(data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn unmask_undoes_mask() {
        for crc in [0, 1, 0xdead_beef, u32::MAX] {
            assert_eq!(super::unmask(super::mask(crc)), crc);
        }
    }
}
