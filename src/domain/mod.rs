//! Domain types that parse and validate user input before anything touches the database.

pub mod archive;
pub mod money;
pub mod role;
pub mod user;

pub use role::{Perm, Role};
