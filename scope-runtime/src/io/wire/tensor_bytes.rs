//! Tensor contents as bytes: little-endian, row-major (the layout of
//! safetensors, TF1 bundles and TensorFlow's `tensor_content`).

use crate::base::{DType, Element, Value};

/// The bytes of a value.
pub(crate) fn encode(v: &Value) -> Vec<u8> {
    match v {
        Value::F32(a) => a.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Value::F64(a) => a.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Value::I32(a) => a.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Value::I64(a) => a.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Value::Bool(a) => a.iter().map(|&x| u8::from(x)).collect(),
    }
}

/// A value of `dtype` and `shape` from its bytes; `None` when they do not fill the shape.
pub(crate) fn decode(dtype: DType, shape: &[usize], b: &[u8]) -> Option<Value> {
    fn read<T: Element, const N: usize>(shape: &[usize], b: &[u8], f: fn([u8; N]) -> T) -> Option<Value> {
        if !b.len().is_multiple_of(N) {
            return None;
        }
        let data: Vec<T> = b.chunks_exact(N).map(|c| c.try_into().map(f)).collect::<Result<_, _>>().ok()?;
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), data).ok().map(T::wrap)
    }
    match dtype {
        DType::F32 => read(shape, b, f32::from_le_bytes),
        DType::F64 => read(shape, b, f64::from_le_bytes),
        DType::I32 => read(shape, b, i32::from_le_bytes),
        DType::I64 => read(shape, b, i64::from_le_bytes),
        DType::Bool => read(shape, b, |[x]: [u8; 1]| x != 0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_round_trip() {
        let v = crate::base::Value::from(vec![1.5f32, -2.0]);
        assert_eq!(super::decode(v.dtype(), v.shape(), &super::encode(&v)), Some(v));
    }
}
