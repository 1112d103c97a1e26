//! Files: checkpoints (safetensors and TF1 bundles, with TF1's `checkpoint`
//! state file), TensorBoard events,
//! Graphviz DOT and the model manifest.

pub(crate) mod atomic;
pub(crate) mod bundle;
pub(crate) mod bundle_writer;
pub(crate) mod checkpoint_state;
pub(crate) mod dot;
pub(crate) mod events;
pub(crate) mod manifest;
pub(crate) mod saver;
pub(crate) mod table;
mod wire;
