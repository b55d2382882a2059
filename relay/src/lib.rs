//! The corridor relay: the daemon's parts and the commands of the `corridor` binary.
//!
//! - [`demo`]: the embedded devnet demo (`corridor devnet`).
//! - [`vectors`]: runs folders of verification vectors (`corridor vectors ...`).

pub mod demo;
pub mod vectors;
