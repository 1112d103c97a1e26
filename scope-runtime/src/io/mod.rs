//! Files: checkpoints (safetensors and TF1 bundles), TensorBoard events,
//! Graphviz DOT and the model manifest.

pub(crate) mod bundle;
pub(crate) mod dot;
pub(crate) mod events;
pub(crate) mod manifest;
pub(crate) mod saver;
mod wire;
