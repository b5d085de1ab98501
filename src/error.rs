//! One error type for every use case, rendered as JSON for the API and as a page (or a
//! redirect to the login) for the web, in the user's language. Handlers return it; the
//! `render_errors` middleware, which knows the request's locale and kind, writes the body.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rules::FieldError;

#[derive(Debug)]
pub enum AppError {
    NotFound,
    Unauthorized,
    Forbidden,
    /// Field → messages, each in both languages.
    Validation(Vec<FieldError>),
    /// A stale version or a duplicate: the locale key of the explanation.
    Conflict(&'static str),
    /// Too many attempts: the locale key and the seconds to wait.
    TooManyRequests(&'static str, u64),
    Internal(anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::Validation(_) => "validation",
            AppError::Conflict(_) => "conflict",
            AppError::TooManyRequests(..) => "too_many_requests",
            AppError::Internal(_) => "internal",
        }
    }

    /// The locale key of the headline message.
    pub fn message_key(&self) -> &'static str {
        match self {
            AppError::NotFound => "error.not_found",
            AppError::Unauthorized => "error.unauthorized",
            AppError::Forbidden => "error.forbidden",
            AppError::Validation(_) => "error.validation",
            AppError::Conflict(k) => k,
            AppError::TooManyRequests(k, _) => k,
            AppError::Internal(_) => "error.internal",
        }
    }

    pub fn one(field: &str, key: &str) -> AppError {
        AppError::Validation(vec![crate::i18n::field_error(field, key)])
    }

    /// `Err(Validation)` when there are errors, so callers can `check(errors)?`.
    pub fn check(errors: Vec<FieldError>) -> AppResult<()> {
        if errors.is_empty() { Ok(()) } else { Err(AppError::Validation(errors)) }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

/// Carries the error from the handler to the rendering middleware.
#[derive(Clone)]
pub struct PendingError(pub Arc<AppError>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = self.status().into_response();
        if let AppError::TooManyRequests(_, secs) = &self {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, (*secs).into());
        }
        res.extensions_mut().insert(PendingError(Arc::new(self)));
        res
    }
}
