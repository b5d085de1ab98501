//! All SQL lives here, one file per aggregate. Functions take a [`Conn`](crate::db::Conn) so
//! the caller decides the transaction; nothing here checks permissions.

pub mod analysis;
pub mod appraisal;
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod calendars;
pub mod campaigns;
pub mod care;
pub mod care_plans;
pub mod certification;
pub mod complaints;
pub mod customers;
pub mod dashboard;
pub mod entitlement;
pub mod handbook;
pub mod imports;
pub mod intake;
pub mod maintenance;
pub mod objectives;
pub mod outbox;
pub mod part_requests;
pub mod parts;
pub mod products;
pub mod raw;
pub mod reports;
pub mod settings;
pub mod sla;
pub mod stock;
pub mod teams;
pub mod units;
pub mod users;
pub mod work_orders;

/// `$first, $first+1, …` placeholders for an `IN (…)` list of `n` values.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}
