//! Scheduled and queued work that runs beside the web server.

pub mod checkpoint;
pub mod dashboard;
pub mod idle;
pub mod outbox;
pub mod sla;
pub mod visits;
