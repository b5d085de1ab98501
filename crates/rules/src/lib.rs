//! Pure domain rules of the after-sales system. Nothing here does I/O or async work, so every
//! decision can be unit-, property- and fuzz-tested, and benchmarked on its own.
//!
//! Every decision names the rule it applied (regulation and article, or a company policy and
//! its version) so that users and auditors can see why.

pub mod calendar;
pub mod care;
pub mod entitlement;
pub mod error;
pub mod sla;
pub mod work_order;

pub use error::FieldError;
