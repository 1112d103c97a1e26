//! TensorBoard event files: the graph, grouped by scope names, and scalars.

use super::wire::crc::masked_crc;
use super::wire::dtype::to_enum as dtype_enum;
use super::wire::tensor_bytes::encode;
use super::wire::varint::{put_bytes, put_field as put_varint_field};
use crate::base::error::FileKind;
use crate::base::{Error, Result, Shape};
use crate::graph::{DTypes, Graph, GraphState, Kernel, Node};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes a TensorBoard events file (TF `tf.summary.FileWriter`): records
/// framed as TFRecords with masked CRC-32Cs, holding `Event` protos.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, variable_scope, EventWriter, Graph};
/// let dir = std::env::temp_dir().join(format!("events-doc-{}", std::process::id()));
/// let graph = Graph::new();
/// graph.with_default(|| variable_scope("layer").with(|_| constant(1.0f32)))?;
/// let mut writer = EventWriter::create(&dir)?;
/// writer.add_graph(&graph)?;
/// writer.add_scalar("loss", 0.5, 0)?;
/// writer.flush()?;
/// assert!(writer.path().file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents."));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub struct EventWriter {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
}

impl EventWriter {
    /// Creates `logdir` if needed and a new `events.out.tfevents.<seconds>.<host>`
    /// in it, starting with the `brain.Event:2` version record.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the directory or file cannot be created.
    pub fn create(logdir: impl AsRef<Path>) -> Result<EventWriter> {
        let logdir = logdir.as_ref();
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| Error::Io { what: FileKind::Events, path, source }
        };
        std::fs::create_dir_all(logdir).map_err(io(logdir))?;
        let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        let path = logdir.join(format!("events.out.tfevents.{seconds}.{host}"));
        let file = std::fs::File::create(&path).map_err(io(&path))?;
        let mut writer = EventWriter { path, file: std::io::BufWriter::new(file) };
        let mut event = event_head(0);
        put_bytes(&mut event, 3, b"brain.Event:2");
        writer.record(&event)?;
        Ok(writer)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the graph (every node with its op, inputs and dtype), which
    /// TensorBoard groups by the scopes in the names.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn add_graph(&mut self, graph: &Graph) -> Result<()> {
        let mut graph_def = Vec::new();
        {
            let state = graph.read();
            for node in state.nodes.iter() {
                put_bytes(&mut graph_def, 1, &node_def(&state, node));
            }
        }
        let mut versions = Vec::new();
        put_varint_field(&mut versions, 1, 27);
        put_bytes(&mut graph_def, 4, &versions);
        let mut event = event_head(0);
        put_bytes(&mut event, 4, &graph_def);
        self.record(&event)
    }

    /// Writes one scalar summary (`simple_value`) at `step`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn add_scalar(&mut self, tag: &str, value: f32, step: i64) -> Result<()> {
        let mut v = Vec::new();
        put_bytes(&mut v, 1, tag.as_bytes());
        v.push(2 << 3 | 5);
        v.extend_from_slice(&value.to_le_bytes());
        let mut summary = Vec::new();
        put_bytes(&mut summary, 1, &v);
        let mut event = event_head(step);
        put_bytes(&mut event, 5, &summary);
        self.record(&event)
    }

    /// Writes buffered records to the file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn flush(&mut self) -> Result<()> {
        let path = self.path.display().to_string();
        self.file.flush().map_err(|source| Error::Io { what: FileKind::Events, path, source })
    }

    /// One TFRecord: length, its masked CRC, the data, its masked CRC.
    fn record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut framed = Vec::with_capacity(data.len() + 16);
        framed.extend_from_slice(&len);
        framed.extend_from_slice(&masked_crc(&len).to_le_bytes());
        framed.extend_from_slice(data);
        framed.extend_from_slice(&masked_crc(data).to_le_bytes());
        let path = self.path.display().to_string();
        self.file.write_all(&framed).map_err(|source| Error::Io { what: FileKind::Events, path, source })
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let _ = self.file.flush();
    }
}

/// An `Event` with its wall time and step set.
fn event_head(step: i64) -> Vec<u8> {
    let mut e = Vec::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    e.push(1 << 3 | 1);
    e.extend_from_slice(&now.to_le_bytes());
    put_varint_field(&mut e, 2, step as u64);
    e
}

fn shape_proto(shape: &Shape) -> Vec<u8> {
    let mut s = Vec::new();
    match shape.dims() {
        Some(dims) => {
            for d in dims {
                let mut dim = Vec::new();
                put_varint_field(&mut dim, 1, d.map_or(u64::MAX, |d| d as u64)); // -1: unknown
                put_bytes(&mut s, 2, &dim);
            }
        }
        None => put_varint_field(&mut s, 3, 1),
    }
    s
}

fn attr(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let mut entry = Vec::new();
    put_bytes(&mut entry, 1, key.as_bytes());
    put_bytes(&mut entry, 2, value);
    put_bytes(out, 5, &entry);
}

/// A `NodeDef`: name, op, inputs (control inputs as `^name`), and the dtype / shape / value attributes.
fn node_def(state: &GraphState, node: &Node) -> Vec<u8> {
    let info = state.node_info(node);
    let mut n = Vec::new();
    put_bytes(&mut n, 1, info.name.as_bytes());
    put_bytes(&mut n, 2, info.op_type.as_bytes());
    for input in &info.inputs {
        put_bytes(&mut n, 3, input.as_bytes());
    }
    for control in &info.control_inputs {
        put_bytes(&mut n, 3, format!("^{control}").as_bytes());
    }
    // `T` is the dtype an op computes in: its inputs' (one dtype for all,
    // by its row), else its output's (a source's `dtype`, or ops whose inputs
    // play different roles, such as Select's condition).
    let computes_in = match (node.op.dtypes, node.inputs.first()) {
        (DTypes::Mixed, _) | (_, None) => info.outputs.first().map(|o| o.1),
        (_, Some(input)) => Some(state.nodes[input.node as usize].outputs[input.index as usize].1),
    };
    if let Some(dtype) = computes_in {
        let mut type_attr = Vec::new();
        put_varint_field(&mut type_attr, 6, dtype_enum(dtype));
        attr(&mut n, if node.op.kernel.is_source() { "dtype" } else { "T" }, &type_attr);
    }
    if matches!(node.op.kernel, Kernel::Placeholder | Kernel::Variable) {
        let mut shape_attr = Vec::new();
        put_bytes(&mut shape_attr, 7, &shape_proto(&info.shape));
        attr(&mut n, "shape", &shape_attr);
    }
    if let Some(value) = &info.constant {
        let mut tensor = Vec::new();
        put_varint_field(&mut tensor, 1, dtype_enum(value.dtype()));
        put_bytes(&mut tensor, 2, &shape_proto(&Shape::from(value.shape())));
        put_bytes(&mut tensor, 4, &encode(value));
        let mut value_attr = Vec::new();
        put_bytes(&mut value_attr, 8, &tensor);
        attr(&mut n, "value", &value_attr);
    }
    n
}
