//! The master key and what is derived from it.

mod master_key;

pub use master_key::{MasterKey, MasterKeyOrigin};
