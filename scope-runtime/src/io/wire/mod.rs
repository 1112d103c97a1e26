//! TensorFlow's wire format, shared by TF1 checkpoints and TensorBoard
//! events: `DataType` numbers, masked CRCs, varints, tensor bytes and slice keys.

pub(crate) mod crc;
pub(crate) mod dtype;
pub(crate) mod ordered_code;
pub(crate) mod tensor_bytes;
pub(crate) mod varint;
