//! The corridor relay: the daemon's parts and the commands of the `corridor` binary.
//!
//! - [`vectors`]: runs folders of verification vectors (`corridor vectors ...`).

pub mod vectors;
