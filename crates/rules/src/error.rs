//! Field-level validation errors shared by every rule module. The application renders them in
//! the user's language (HTTP 422 for the API, inline messages on forms).

use serde::Serialize;

/// One problem with one input field. `field` is a dotted path into the input
/// (`history[1].end`, `fault.kind`), so a form or an API client can point at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message_zh: String,
    pub message_en: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { field: field.into(), message_zh: zh.into(), message_en: en.into() }
    }

    /// The message in the given locale (`zh-CN` or `en`); Chinese is the default.
    pub fn message(&self, locale: &str) -> &str {
        if locale.starts_with("en") { &self.message_en } else { &self.message_zh }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message_en)
    }
}

impl std::error::Error for FieldError {}
