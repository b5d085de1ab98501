//! Complaints, suggestions and praise (R5): the versioned complaint policy, the records with
//! their deadlines as last evaluated, and the steps taken on each.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::db::Conn;
use crate::{from_row, on_conn};

// ------------------------------------------------------------------ policy

#[derive(Clone, Debug)]
pub struct StoredPolicy {
    pub version: i64,
    pub policy_json: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}
from_row!(StoredPolicy { version: i64, policy_json: String, created_at: DateTime<Utc>, created_by: String });

pub async fn latest_policy(c: Conn<'_>) -> sqlx::Result<Option<StoredPolicy>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT version, policy_json, created_at, created_by FROM complaint_policies ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&mut *e)
        .await
    })
}

pub async fn policy(c: Conn<'_>, version: i64) -> sqlx::Result<Option<StoredPolicy>> {
    on_conn!(c, |e| {
        sqlx::query_as("SELECT version, policy_json, created_at, created_by FROM complaint_policies WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *e)
            .await
    })
}

/// Writes version `version`; false when it exists (someone saved first).
pub async fn insert_policy(c: Conn<'_>, version: i64, json: &str, now: DateTime<Utc>, by: &str) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO complaint_policies (version, policy_json, created_at, created_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(json)
        .bind(now)
        .bind(by)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

// ------------------------------------------------------------------ records

/// A complaint, suggestion or praise with the names a page shows.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Complaint {
    pub id: i64,
    /// complaint | suggestion | praise
    pub kind: String,
    /// general | major
    pub severity: String,
    pub status: String,
    /// quality | service | sales
    pub department: String,
    pub channel: String,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub unit_id: Option<i64>,
    pub unit_serial: Option<String>,
    pub order_id: Option<i64>,
    pub engineer_id: Option<i64>,
    pub engineer_name: Option<String>,
    pub region_code: Option<String>,
    pub contact_name: String,
    pub contact_phone: Option<String>,
    pub subject: String,
    pub description: String,
    pub policy_version: i64,
    pub received_at: DateTime<Utc>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub answer_due_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answer_channel: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub answered_on: Option<NaiveDate>,
    pub answer_text: String,
    pub accepted: Option<bool>,
    pub root_cause: String,
    pub inspection_body: String,
    /// conforming | nonconforming
    pub conclusion: Option<String>,
    pub forwarded_to: Option<String>,
    pub valuable: bool,
    pub adopted: Option<bool>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}
from_row!(Complaint { id: i64, kind: String, severity: String, status: String, department: String,
    channel: String, customer_id: Option<i64>, customer_name: Option<String>, unit_id: Option<i64>,
    unit_serial: Option<String>, order_id: Option<i64>, engineer_id: Option<i64>, engineer_name: Option<String>,
    region_code: Option<String>, contact_name: String, contact_phone: Option<String>, subject: String,
    description: String, policy_version: i64, received_at: DateTime<Utc>, ack_due_at: Option<DateTime<Utc>>,
    answer_due_at: Option<DateTime<Utc>>, acknowledged_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>, answer_channel: Option<String>, answered_on: Option<NaiveDate>,
    answer_text: String, accepted: Option<bool>, root_cause: String, inspection_body: String,
    conclusion: Option<String>, forwarded_to: Option<String>, valuable: bool, adopted: Option<bool>,
    closed_at: Option<DateTime<Utc>>, version: i64, created_by: Option<i64>, created_at: DateTime<Utc> });

impl Complaint {
    /// The number printed on letters and lists: TS and the id.
    pub fn number(&self) -> String {
        number(self.id)
    }
}

pub fn number(id: i64) -> String {
    format!("TS{id:07}")
}

const SELECT: &str = "SELECT k.id, k.kind, k.severity, k.status, k.department, k.channel, k.customer_id, \
    c.name AS customer_name, k.unit_id, u.serial AS unit_serial, k.order_id, k.engineer_id, \
    e.display_name AS engineer_name, k.region_code, k.contact_name, k.contact_phone, k.subject, k.description, \
    k.policy_version, k.received_at, k.ack_due_at, k.answer_due_at, k.acknowledged_at, k.answered_at, \
    k.answer_channel, k.answered_on, k.answer_text, k.accepted, k.root_cause, k.inspection_body, k.conclusion, \
    k.forwarded_to, k.valuable, k.adopted, k.closed_at, k.version, k.created_by, k.created_at FROM complaints k \
    LEFT JOIN customers c ON c.id = k.customer_id LEFT JOIN units u ON u.id = k.unit_id \
    LEFT JOIN users e ON e.id = k.engineer_id";

/// Writes a new record from `k` (its id, names and version are ignored); returns the id.
pub async fn insert(c: Conn<'_>, k: &Complaint) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "INSERT INTO complaints (kind, severity, status, department, channel, customer_id, unit_id, order_id, \
             engineer_id, region_code, contact_name, contact_phone, subject, description, policy_version, \
             received_at, ack_due_at, answer_due_at, valuable, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
             RETURNING id",
        )
        .bind(&k.kind)
        .bind(&k.severity)
        .bind(&k.status)
        .bind(&k.department)
        .bind(&k.channel)
        .bind(k.customer_id)
        .bind(k.unit_id)
        .bind(k.order_id)
        .bind(k.engineer_id)
        .bind(&k.region_code)
        .bind(&k.contact_name)
        .bind(&k.contact_phone)
        .bind(&k.subject)
        .bind(&k.description)
        .bind(k.policy_version)
        .bind(k.received_at)
        .bind(k.ack_due_at)
        .bind(k.answer_due_at)
        .bind(k.valuable)
        .bind(k.created_by)
        .bind(k.created_at)
        .fetch_one(&mut *e)
        .await
    })
}

pub async fn get(c: Conn<'_>, id: i64) -> sqlx::Result<Option<Complaint>> {
    let sql = format!("{SELECT} WHERE k.id = $1");
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *e).await)
}

/// Saves what an action changed over `k.version`; false when the record changed meanwhile.
pub async fn save(c: Conn<'_>, k: &Complaint) -> sqlx::Result<bool> {
    on_conn!(c, |e| {
        sqlx::query(
            "UPDATE complaints SET severity = $1, status = $2, department = $3, ack_due_at = $4, answer_due_at = $5, \
             acknowledged_at = $6, answered_at = $7, answer_channel = $8, answered_on = $9, answer_text = $10, \
             accepted = $11, root_cause = $12, inspection_body = $13, conclusion = $14, forwarded_to = $15, \
             valuable = $16, adopted = $17, closed_at = $18, policy_version = $21, version = version + 1 \
             WHERE id = $19 AND version = $20",
        )
        .bind(&k.severity)
        .bind(&k.status)
        .bind(&k.department)
        .bind(k.ack_due_at)
        .bind(k.answer_due_at)
        .bind(k.acknowledged_at)
        .bind(k.answered_at)
        .bind(&k.answer_channel)
        .bind(k.answered_on)
        .bind(&k.answer_text)
        .bind(k.accepted)
        .bind(&k.root_cause)
        .bind(&k.inspection_body)
        .bind(&k.conclusion)
        .bind(&k.forwarded_to)
        .bind(k.valuable)
        .bind(k.adopted)
        .bind(k.closed_at)
        .bind(k.id)
        .bind(k.version)
        .bind(k.policy_version)
        .execute(&mut *e)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Which records a list shows.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub kind: Option<String>,
    pub severity: Option<String>,
    pub department: Option<String>,
    /// Open ones only (not closed or cancelled).
    pub open: bool,
    /// Open complaints whose acknowledgement or answer is past due at this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    pub customer_id: Option<i64>,
    pub order_id: Option<i64>,
    /// One region only (users limited to their region).
    pub region: Option<String>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    /// Keyset: older than this (received_at, id).
    pub before: Option<(DateTime<Utc>, i64)>,
    pub limit: i64,
}

/// Newest first.
pub async fn list(c: Conn<'_>, f: &ListFilter) -> sqlx::Result<Vec<Complaint>> {
    let mut sql = format!("{SELECT} WHERE 1 = 1");
    let mut n = 0;
    let mut p = || {
        n += 1;
        format!("${n}")
    };
    for (value, column) in [
        (&f.kind, "k.kind"),
        (&f.severity, "k.severity"),
        (&f.department, "k.department"),
        (&f.region, "k.region_code"),
    ] {
        if value.is_some() {
            sql.push_str(&format!(" AND {column} = {}", p()));
        }
    }
    if f.open || f.overdue_at.is_some() {
        sql.push_str(" AND k.status NOT IN ('closed', 'cancelled')");
    }
    if f.overdue_at.is_some() {
        let (a, b) = (p(), p());
        sql.push_str(&format!(
            " AND ((k.acknowledged_at IS NULL AND k.answered_at IS NULL AND k.ack_due_at < {a}) \
             OR (k.answered_at IS NULL AND k.status <> 'referred' AND k.answer_due_at < {b}))"
        ));
    }
    if f.customer_id.is_some() {
        sql.push_str(&format!(" AND k.customer_id = {}", p()));
    }
    if f.order_id.is_some() {
        sql.push_str(&format!(" AND k.order_id = {}", p()));
    }
    if f.received_from.is_some() {
        sql.push_str(&format!(" AND k.received_at >= {}", p()));
    }
    if f.received_to.is_some() {
        sql.push_str(&format!(" AND k.received_at < {}", p()));
    }
    if f.before.is_some() {
        let (a, b, c) = (p(), p(), p());
        sql.push_str(&format!(" AND (k.received_at < {a} OR (k.received_at = {b} AND k.id < {c}))"));
    }
    sql.push_str(&format!(" ORDER BY k.received_at DESC, k.id DESC LIMIT {}", p()));
    on_conn!(c, |e| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for v in [&f.kind, &f.severity, &f.department, &f.region].into_iter().flatten() {
            q = q.bind(v.clone());
        }
        if let Some(at) = f.overdue_at {
            q = q.bind(at).bind(at);
        }
        if let Some(id) = f.customer_id {
            q = q.bind(id);
        }
        if let Some(id) = f.order_id {
            q = q.bind(id);
        }
        if let Some(at) = f.received_from {
            q = q.bind(at);
        }
        if let Some(at) = f.received_to {
            q = q.bind(at);
        }
        if let Some((at, id)) = f.before {
            q = q.bind(at).bind(at).bind(id);
        }
        q.bind(f.limit).fetch_all(&mut *e).await
    })
}

/// An open complaint past a promise its managers have not been told of.
#[derive(Clone, Debug)]
pub struct Overdue {
    pub id: i64,
    /// acknowledge | answer
    pub target: String,
}

/// Up to `limit` broken promises not yet escalated (open complaints are few: the partial
/// index of open records serves this).
pub async fn overdue_unescalated(c: Conn<'_>, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<Overdue>> {
    let rows: Vec<(i64, bool, bool)> = on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, \
             (acknowledged_at IS NULL AND answered_at IS NULL AND ack_due_at < $1 AND ack_escalated_at IS NULL), \
             (answered_at IS NULL AND status <> 'referred' AND answer_due_at < $1 AND answer_escalated_at IS NULL) \
             FROM complaints WHERE kind = 'complaint' AND status NOT IN ('closed', 'cancelled') \
             AND ((acknowledged_at IS NULL AND answered_at IS NULL AND ack_due_at < $1 AND ack_escalated_at IS NULL) \
             OR (answered_at IS NULL AND status <> 'referred' AND answer_due_at < $1 AND answer_escalated_at IS NULL)) \
             ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *e)
        .await
    })?;
    let mut out = vec![];
    for (id, ack, answer) in rows {
        if ack {
            out.push(Overdue { id, target: "acknowledge".into() });
        }
        if answer {
            out.push(Overdue { id, target: "answer".into() });
        }
    }
    Ok(out)
}

/// Marks a promise escalated; false when another instance did it first.
pub async fn claim_escalation(c: Conn<'_>, id: i64, target: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let column = if target == "acknowledge" { "ack_escalated_at" } else { "answer_escalated_at" };
    let sql = format!("UPDATE complaints SET {column} = $1 WHERE id = $2 AND {column} IS NULL");
    on_conn!(c, |e| {
        sqlx::query(AssertSqlSafe(sql)).bind(now).bind(id).execute(&mut *e).await.map(|r| r.rows_affected() == 1)
    })
}

/// Major complaints received in `from..to` and not cancelled.
pub async fn count_major(c: Conn<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> sqlx::Result<i64> {
    on_conn!(c, |e| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM complaints WHERE kind = 'complaint' AND severity = 'major' AND status <> 'cancelled' \
             AND received_at >= $1 AND received_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&mut *e)
        .await
    })
}

/// A period's figures (cancelled records left out).
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub complaints: i64,
    pub major: i64,
    pub suggestions: i64,
    pub praise: i64,
    /// Complaints answered, and of those within the answer deadline.
    pub answered: i64,
    pub answered_on_time: i64,
    /// Answers the customer accepted.
    pub accepted: i64,
    /// Records still open, and open complaints past a promise now.
    pub open: i64,
    pub overdue: i64,
    /// Suggestions marked valuable when forwarded, and adopted.
    pub valuable: i64,
    pub adopted: i64,
}
from_row!(Summary {
    complaints: i64,
    major: i64,
    suggestions: i64,
    praise: i64,
    answered: i64,
    answered_on_time: i64,
    accepted: i64,
    open: i64,
    overdue: i64,
    valuable: i64,
    adopted: i64
});

pub async fn summary(c: Conn<'_>, from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) -> sqlx::Result<Summary> {
    let n = |cond: &str, name: &str| format!("COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS {name}");
    let open = "status NOT IN ('closed', 'cancelled')";
    let columns = [
        n("kind = 'complaint'", "complaints"),
        n("kind = 'complaint' AND severity = 'major'", "major"),
        n("kind = 'suggestion'", "suggestions"),
        n("kind = 'praise'", "praise"),
        n("kind = 'complaint' AND answered_at IS NOT NULL", "answered"),
        n("kind = 'complaint' AND answered_at IS NOT NULL AND answered_at <= answer_due_at", "answered_on_time"),
        n("accepted", "accepted"),
        n(open, "open"),
        n(
            &format!(
                "kind = 'complaint' AND {open} AND ((acknowledged_at IS NULL AND answered_at IS NULL AND ack_due_at < $3) \
                 OR (answered_at IS NULL AND status <> 'referred' AND answer_due_at < $3))"
            ),
            "overdue",
        ),
        n("kind = 'suggestion' AND valuable", "valuable"),
        n("adopted", "adopted"),
    ];
    let sql = format!(
        "SELECT {} FROM complaints WHERE received_at >= $1 AND received_at < $2 AND status <> 'cancelled'",
        columns.join(", ")
    );
    on_conn!(c, |e| sqlx::query_as(AssertSqlSafe(sql)).bind(from).bind(to).bind(now).fetch_one(&mut *e).await)
}

// ------------------------------------------------------------------ steps

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    pub complaint_id: i64,
    /// register, or the action taken
    pub action: String,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub user_label: String,
    pub status_to: String,
    pub channel: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub on_day: Option<NaiveDate>,
    pub text: String,
    pub detail: String,
}
from_row!(Event { id: i64, complaint_id: i64, action: String, at: DateTime<Utc>, user_id: Option<i64>,
    user_label: String, status_to: String, channel: Option<String>, on_day: Option<NaiveDate>, text: String,
    detail: String });

pub async fn insert_event(c: Conn<'_>, ev: &Event) -> sqlx::Result<()> {
    on_conn!(c, |e| {
        sqlx::query(
            "INSERT INTO complaint_events (complaint_id, action, at, user_id, user_label, status_to, channel, on_day, \
             text, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(ev.complaint_id)
        .bind(&ev.action)
        .bind(ev.at)
        .bind(ev.user_id)
        .bind(&ev.user_label)
        .bind(&ev.status_to)
        .bind(&ev.channel)
        .bind(ev.on_day)
        .bind(&ev.text)
        .bind(&ev.detail)
        .execute(&mut *e)
        .await
        .map(|_| ())
    })
}

pub async fn events(c: Conn<'_>, complaint_id: i64) -> sqlx::Result<Vec<Event>> {
    on_conn!(c, |e| {
        sqlx::query_as(
            "SELECT id, complaint_id, action, at, user_id, user_label, status_to, channel, on_day, text, detail \
             FROM complaint_events WHERE complaint_id = $1 ORDER BY id",
        )
        .bind(complaint_id)
        .fetch_all(&mut *e)
        .await
    })
}
