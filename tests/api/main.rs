//! One integration-test binary: the real server on port 0, each database test on a temporary
//! SQLite file and on a fresh PostgreSQL database.

mod browser;
mod cli;
mod foundation;
mod helpers;
