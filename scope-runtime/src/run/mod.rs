//! Running graphs: the `Session`, its plans and its executor.

mod session;

pub use session::{Session, SessionOptions};
