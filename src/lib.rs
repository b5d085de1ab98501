//! Aftersales — an after-sales service management system (售后服务管理系统).
//!
//! Layout: `domain` parses input, `store` holds all SQL, `service` holds the use cases
//! (transactions, permissions, audit), `http` the thin web and API handlers. Pure rules live
//! in the `rules` crate.

rust_i18n::i18n!("locales", fallback = "zh-CN");

pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod files;
pub mod r#gen;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod search;
pub mod service;
pub mod startup;
pub mod store;
pub mod tabular;
