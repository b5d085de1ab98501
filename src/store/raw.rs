//! SQLite statements run on the calling thread, straight on a pooled connection's handle.
//!
//! sqlx runs every SQLite connection on a thread of its own: each statement, and each row it
//! returns, is handed from the caller's thread to the connection's thread and back. For the
//! order writer, which runs a dozen statements per group one after the other, those hand-overs
//! were the limit (a profile of creates showed the two threads waiting on each other for a
//! third of the time). [`Raw`] takes the connection's handle from sqlx (`lock_handle`: its
//! thread waits meanwhile) and runs the statements through rusqlite on the caller's thread.
//!
//! Values are written and read exactly as sqlx does on SQLite (timestamps as RFC 3339 text,
//! dates as `YYYY-MM-DD`, booleans as integers), so rows written here and rows written through
//! sqlx are one and the same, and [`from_row!`](crate::from_row) structs read from both.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{Value, ValueRef};
use sqlx::SqliteConnection;
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::sqlite::LockedSqliteHandle;

/// A pooled SQLite connection taken over from sqlx until this is dropped.
pub struct Raw<'c> {
    // Dropped first: finalizes the statements prepared here before sqlx gets the handle back.
    conn: rusqlite::Connection,
    _locked: LockedSqliteHandle<'c>,
}

impl<'c> Raw<'c> {
    pub async fn lock(c: &'c mut SqliteConnection) -> sqlx::Result<Raw<'c>> {
        let mut locked = c.lock_handle().await?;
        // SAFETY: the handle stays open and unused by sqlx's thread while `locked` lives, and
        // `conn` (which does not close it) is dropped before `locked`.
        let conn = unsafe { rusqlite::Connection::from_handle(locked.as_raw_handle().as_ptr()) }.map_err(error)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Raw { conn, _locked: locked })
    }

    /// Runs statements that take no parameters and return no rows (`BEGIN`, `COMMIT`).
    pub fn batch(&self, sql: &str) -> sqlx::Result<()> {
        self.conn.execute_batch(sql).map_err(error)
    }

    /// A statement to bind (prepared once per [`Raw`] for each text).
    pub fn query(&self, sql: &str) -> sqlx::Result<Query<'_>> {
        Ok(Query { stmt: self.conn.prepare_cached(sql).map_err(error)?, args: vec![] })
    }
}

/// A statement with its parameters, bound in order like sqlx's `query(..).bind(..)`.
pub struct Query<'c> {
    stmt: rusqlite::CachedStatement<'c>,
    args: Vec<Value>,
}

impl Query<'_> {
    pub fn bind<T: Bind>(mut self, v: T) -> Self {
        self.args.push(v.value());
        self
    }

    fn bound(&mut self) -> sqlx::Result<()> {
        let args = std::mem::take(&mut self.args);
        let count = self.stmt.parameter_count();
        let mut used = 0;
        for i in 1..=count {
            // `$N` names its argument; an anonymous `?` takes the next one, as in sqlx.
            let at = self.stmt.parameter_name(i).and_then(|n| n[1..].parse::<usize>().ok()).unwrap_or(i);
            let v = args
                .get(at - 1)
                .ok_or_else(|| sqlx::Error::Protocol(format!("parameter {at} of {count} is not bound")))?;
            self.stmt.raw_bind_parameter(i, v).map_err(error)?;
            used = used.max(at);
        }
        // As sqlx: more values than the statement takes is a mistake, not something to drop.
        if used != args.len() {
            return Err(sqlx::Error::Protocol(format!("{} values bound to {used} parameters", args.len())));
        }
        Ok(())
    }

    pub fn execute(mut self) -> sqlx::Result<usize> {
        self.bound()?;
        self.stmt.raw_execute().map_err(error)
    }

    /// Every row, each read by `f`.
    pub fn map<T>(mut self, mut f: impl FnMut(&Row<'_>) -> sqlx::Result<T>) -> sqlx::Result<Vec<T>> {
        self.bound()?;
        let mut rows = self.stmt.raw_query();
        let mut out = vec![];
        while let Some(r) = rows.next().map_err(error)? {
            out.push(f(&Row(r))?);
        }
        Ok(out)
    }

    /// Every row as a [`from_row!`](crate::from_row) struct.
    pub fn fetch_all<T: FromRaw>(self) -> sqlx::Result<Vec<T>> {
        self.map(|r| T::from_raw(r))
    }
}

/// One row of a [`Query`]'s answer.
pub struct Row<'r>(&'r rusqlite::Row<'r>);

impl Row<'_> {
    /// The column `name`, decoded as sqlx decodes it on SQLite.
    pub fn get<T: Get>(&self, name: &str) -> sqlx::Result<T> {
        let i = self.0.as_ref().column_index(name).map_err(|_| sqlx::Error::ColumnNotFound(name.to_string()))?;
        let v = self.0.get_ref(i).map_err(error)?;
        T::get(v).map_err(|e| sqlx::Error::ColumnDecode { index: name.to_string(), source: e.into() })
    }
}

/// Reads a struct from a row; [`from_row!`](crate::from_row) implements it.
pub trait FromRaw: Sized {
    fn from_raw(row: &Row<'_>) -> sqlx::Result<Self>;
}

/// A value bound to a parameter.
pub trait Bind {
    fn value(&self) -> Value;
}

impl<T: Bind + ?Sized> Bind for &T {
    fn value(&self) -> Value {
        (**self).value()
    }
}

impl<T: Bind> Bind for Option<T> {
    fn value(&self) -> Value {
        self.as_ref().map_or(Value::Null, Bind::value)
    }
}

macro_rules! bind_integer {
    ($($t:ty),*) => {$(
        impl Bind for $t {
            fn value(&self) -> Value {
                Value::Integer(i64::from(*self))
            }
        }
    )*};
}
bind_integer!(i64, i32, bool);

impl Bind for f64 {
    fn value(&self) -> Value {
        Value::Real(*self)
    }
}

impl Bind for str {
    fn value(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl Bind for String {
    fn value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl Bind for Cow<'_, str> {
    fn value(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl Bind for DateTime<Utc> {
    fn value(&self) -> Value {
        Value::Text(self.to_rfc3339_opts(SecondsFormat::AutoSi, false))
    }
}

impl Bind for NaiveDate {
    fn value(&self) -> Value {
        Value::Text(self.format("%F").to_string())
    }
}

/// A column's value decoded into a field's type.
pub trait Get: Sized {
    fn get(v: ValueRef<'_>) -> Result<Self, String>;
}

impl<T: Get> Get for Option<T> {
    fn get(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::get(v).map(Some),
        }
    }
}

impl Get for i64 {
    fn get(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Integer(i) => Ok(i),
            other => Err(format!("expected an integer, found {:?}", other.data_type())),
        }
    }
}

impl Get for i32 {
    fn get(v: ValueRef<'_>) -> Result<Self, String> {
        i32::try_from(i64::get(v)?).map_err(|e| e.to_string())
    }
}

impl Get for bool {
    fn get(v: ValueRef<'_>) -> Result<Self, String> {
        Ok(i64::get(v)? != 0)
    }
}

impl Get for f64 {
    fn get(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {:?}", other.data_type())),
        }
    }
}

fn text(v: ValueRef<'_>) -> Result<&str, String> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(|e| e.to_string()),
        other => Err(format!("expected text, found {:?}", other.data_type())),
    }
}

impl Get for String {
    fn get(v: ValueRef<'_>) -> Result<Self, String> {
        text(v).map(str::to_string)
    }
}

impl Get for DateTime<Utc> {
    fn get(v: ValueRef<'_>) -> Result<Self, String> {
        if let ValueRef::Integer(secs) = v {
            return DateTime::from_timestamp(secs, 0).ok_or_else(|| format!("timestamp {secs} out of range"));
        }
        let t = text(v)?;
        // What sqlx writes (RFC 3339), and the naive forms it also reads (taken as UTC).
        DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| NaiveDateTime::parse_from_str(t, "%F %T%.f").map(|n| n.and_utc()))
            .or_else(|_| NaiveDateTime::parse_from_str(t, "%FT%T%.f").map(|n| n.and_utc()))
            .map_err(|e| format!("{t:?} is not a timestamp: {e}"))
    }
}

impl Get for NaiveDate {
    fn get(v: ValueRef<'_>) -> Result<Self, String> {
        let t = text(v)?;
        NaiveDate::parse_from_str(t, "%F").map_err(|e| format!("{t:?} is not a date: {e}"))
    }
}

/// A rusqlite error as sqlx reports a database error, so callers match on one kind of error
/// (a unique violation stays a unique violation).
fn error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => sqlx::Error::Database(Box::new(RawError {
            code: code.extended_code,
            message: message.unwrap_or_else(|| code.to_string()),
        })),
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

#[derive(Debug)]
struct RawError {
    code: i32,
    message: String,
}

impl std::fmt::Display for RawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for RawError {}

impl DatabaseError for RawError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use libsqlite3_sys as ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_sqlx_text_form() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T22:52:36.135871+00:00").unwrap().with_timezone(&Utc);
        let Value::Text(t) = at.value() else { panic!("text") };
        assert_eq!(t, "2026-12-07T22:52:36.135871+00:00");
        assert_eq!(DateTime::<Utc>::get(ValueRef::Text(t.as_bytes())).unwrap(), at);
        let naive = DateTime::<Utc>::get(ValueRef::Text(b"2026-12-07 22:52:36")).unwrap();
        assert_eq!(naive, chrono::Timelike::with_nanosecond(&at, 0).unwrap());
        assert!(DateTime::<Utc>::get(ValueRef::Text(b"yesterday")).is_err());
    }

    #[test]
    fn options_dates_and_flags_decode_like_sqlx() {
        assert_eq!(Option::<i64>::get(ValueRef::Null).unwrap(), None);
        assert_eq!(Option::<i64>::get(ValueRef::Integer(7)).unwrap(), Some(7));
        assert!(bool::get(ValueRef::Integer(1)).unwrap());
        assert_eq!(
            NaiveDate::get(ValueRef::Text(b"2026-02-28")).unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        assert!(i64::get(ValueRef::Text(b"7")).is_err());
        assert_eq!(Some("x").value(), Value::Text("x".into()));
        assert_eq!(None::<&str>.value(), Value::Null);
    }
}
