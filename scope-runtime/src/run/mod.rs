//! Running graphs: the `Session`, its plans and its executor, and the loop
//! op whose body a session runs once per step.

mod scan;
mod session;

pub use scan::{ScanOutput, ScanStep, scan};
pub use session::{Session, SessionOptions};
