//! One integration-test binary: the real server on port 0, each database test on a temporary
//! SQLite file and on a fresh PostgreSQL database.

mod analysis;
mod appraisal;
mod archive;
mod browser;
mod calendars;
mod care;
mod care_plans;
mod certification;
mod cli;
mod complaints;
mod dashboard;
mod entitlement;
mod foundation;
mod r#gen;
mod helpers;
mod notifications;
mod objectives;
mod parts;
mod registers;
mod reminders;
mod sla;
mod stock;
mod teams;
mod work_orders;
