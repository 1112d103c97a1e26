//! TensorFlow's wire format, shared by TF1 checkpoints and TensorBoard
//! events: `DataType` numbers, masked CRCs, varints and tensor bytes.

pub(crate) mod crc;
pub(crate) mod dtype;
pub(crate) mod tensor_bytes;
pub(crate) mod varint;
