//! The customer and sold-product archive (客户档案 / 售后服务档案): customers with contacts,
//! product models, sold units with owner history, search, duplicate detection and the
//! warranty status of a unit today.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use rules::FieldError;
use serde::{Deserialize, Serialize};

use super::{Actor, Idem, audit};
use crate::db::{Db, Tx};
use crate::domain::Perm;
use crate::domain::archive::{
    CustomerKind, optional, parse_class, parse_date, parse_grade, parse_serial, parse_tags, required,
};
use crate::domain::user::{parse_email, parse_phone};
use crate::error::{AppError, AppResult};
use crate::i18n::{field_error, tr_args};
use crate::store;
use crate::store::customers::{Contact, Customer, CustomerData};
use crate::store::products::{Model, ModelData};
use crate::store::units::{Unit, UnitData};

/// The region a user is limited to, or None for those who see every region.
pub fn region_scope(actor: &Actor) -> Option<String> {
    if actor.can(Perm::AllRegions) { None } else { actor.region_code.clone() }
}

pub(crate) fn visible(actor: &Actor, region: &Option<String>) -> bool {
    match region_scope(actor) {
        None => true,
        Some(mine) => region.as_deref() == Some(mine.as_str()),
    }
}

/// The entitlement policy a model names: built-in or the company's, latest version.
async fn policy_for(db: &Db, code: &str) -> AppResult<Option<rules::entitlement::Policy>> {
    super::entitlement::latest_policy(db, code).await
}

// ------------------------------------------------------------------ customers

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CustomerInput {
    /// company | person
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    /// A, B or C (default C)
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub key_customer: bool,
    /// Region code; users limited to one region may only use theirs.
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    /// Comma-separated.
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Create even though customers with the same phone, or name and city, exist.
    #[serde(default)]
    pub confirm_duplicate: bool,
    /// For updates: the version that was read.
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CustomerDetail {
    #[serde(flatten)]
    pub customer: Customer,
    pub contacts: Vec<Contact>,
}

/// A validated customer, ready to write.
pub struct Parsed {
    pub data: CustomerData,
    pub contacts: Vec<Contact>,
    pub phones: Vec<String>,
}

pub async fn parse_customer(db: &Db, actor: &Actor, input: &CustomerInput) -> AppResult<Parsed> {
    parse_customer_with(db, actor, input, None).await
}

/// [`parse_customer`] with the region codes already at hand (an import checks thousands of
/// rows against the same few regions).
pub async fn parse_customer_with(
    db: &Db,
    actor: &Actor,
    input: &CustomerInput,
    region_codes: Option<&[String]>,
) -> AppResult<Parsed> {
    let mut errors: Vec<FieldError> = vec![];
    let kind = match CustomerKind::parse(&input.kind) {
        Some(k) => k.code().to_string(),
        None if input.kind.trim().is_empty() => "company".into(),
        None => {
            errors.push(field_error("kind", "error.customer_kind"));
            input.kind.clone()
        }
    };
    let name = required("name", &input.name, 100, &mut errors);
    let class = parse_class(&input.class, &mut errors);
    let phone = parse_phone("phone", &input.phone, &mut errors);
    let email = {
        let mut e = vec![];
        let v = parse_email(&input.email, &mut e);
        errors.extend(e);
        v
    };
    let mut region = Some(input.region.trim().to_string()).filter(|r| !r.is_empty());
    if let Some(mine) = region_scope(actor) {
        match &region {
            None => region = Some(mine),
            Some(r) if *r != mine => errors.push(field_error("region", "error.region_not_yours")),
            _ => {}
        }
    }
    if let Some(r) = &region {
        let known = match region_codes {
            Some(codes) => codes.contains(r),
            None => {
                let mut c = db.read().await?;
                store::settings::regions(c.conn()).await?.iter().any(|x| &x.code == r)
            }
        };
        if !known {
            errors.push(field_error("region", "error.unknown_region"));
        }
    }
    let mut contacts = vec![];
    let mut phones: Vec<String> = phone.iter().cloned().collect();
    for (i, ct) in input.contacts.iter().enumerate() {
        let blank = ct.name.trim().is_empty()
            && ct.phone.as_deref().unwrap_or("").trim().is_empty()
            && ct.email.as_deref().unwrap_or("").trim().is_empty();
        if blank {
            continue; // an empty row of the form
        }
        let mut e = vec![];
        let name = required("name", &ct.name, 50, &mut e);
        let p = parse_phone("phone", ct.phone.as_deref().unwrap_or(""), &mut e);
        let mail = parse_email(ct.email.as_deref().unwrap_or(""), &mut e);
        let position = optional("position", &ct.position, 50, &mut e);
        errors.extend(e.into_iter().map(|f| FieldError { field: format!("contacts[{i}].{}", f.field), ..f }));
        if let Some(p) = &p
            && !phones.contains(p)
        {
            phones.push(p.clone());
        }
        contacts.push(Contact { name, phone: p, email: mail, position });
    }
    let data = CustomerData {
        kind,
        name,
        class,
        key_customer: input.key_customer,
        region_code: region,
        province: optional("province", &input.province, 20, &mut errors),
        city: optional("city", &input.city, 30, &mut errors),
        district: optional("district", &input.district, 30, &mut errors),
        address: optional("address", &input.address, 200, &mut errors),
        phone,
        email,
        tags: parse_tags(&input.tags),
        notes: optional("notes", &input.notes, 4000, &mut errors),
    };
    AppError::check(errors)?;
    Ok(Parsed { data, contacts, phones })
}

/// The words a customer is found by (also used by `gen`, so generated data searches alike).
pub fn search_terms(d: &CustomerData, contacts: &[Contact]) -> String {
    let mut parts: Vec<&str> = vec![&d.name, &d.province, &d.city, &d.district, &d.address, &d.tags, &d.notes];
    for c in contacts {
        parts.push(&c.name);
        parts.push(&c.position);
    }
    if let Some(e) = &d.email {
        parts.push(e);
    }
    crate::search::index_terms(&parts)
}

/// "Possible duplicate of 华信机电 (#12)" in both languages, one error per match.
fn duplicate_errors(dups: &[Customer]) -> Vec<FieldError> {
    dups.iter()
        .map(|d| {
            let args = [("name", d.name.as_str()), ("id", &d.id.to_string())];
            FieldError::new(
                "name",
                tr_args("zh-CN", "error.possible_duplicate", &args),
                tr_args("en", "error.possible_duplicate", &args),
            )
        })
        .collect()
}

pub async fn create_customer(
    db: &Db,
    actor: &Actor,
    input: &CustomerInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<CustomerDetail> {
    actor.require(Perm::EditArchive)?;
    let p = parse_customer(db, actor, input).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if !input.confirm_duplicate {
        let dups = possible_duplicates(&mut tx, &p).await?;
        if !dups.is_empty() {
            return Err(AppError::Validation(duplicate_errors(&dups)));
        }
    }
    let detail = insert_customer(&mut tx, db.backend(), actor, p, now).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &detail).await?;
    }
    tx.commit().await?;
    Ok(detail)
}

pub async fn possible_duplicates(tx: &mut Tx, p: &Parsed) -> AppResult<Vec<Customer>> {
    Ok(store::customers::possible_duplicates(tx.conn(), &p.phones, &p.data.name, &p.data.city, None).await?)
}

/// Writes a validated customer with its contacts, phones and search terms, and audits it,
/// inside the caller's transaction (one customer from a form, or a whole import).
pub async fn insert_customer(
    tx: &mut Tx,
    backend: crate::db::Backend,
    actor: &Actor,
    p: Parsed,
    now: chrono::DateTime<Utc>,
) -> AppResult<CustomerDetail> {
    let id = store::customers::insert(tx.conn(), &p.data, now).await?;
    let terms = search_terms(&p.data, &p.contacts);
    store::customers::write_details(tx.conn(), backend, id, &p.contacts, &p.phones, &terms).await?;
    let customer = store::customers::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let detail = CustomerDetail { customer, contacts: p.contacts };
    audit::record::<(), _>(tx, actor, now, "create", "customer", &id.to_string(), None, Some(&detail)).await?;
    Ok(detail)
}

/// A validated customer with its search terms, ready for [`insert_customers_bulk`].
pub struct Indexed {
    pub parsed: Parsed,
    pub terms: String,
}

/// Segments the customers' text for search on every core (jieba is the costly part of writing
/// a customer), before any transaction starts.
pub async fn index_customers(parsed: Vec<Parsed>) -> AppResult<Vec<Indexed>> {
    let job = tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let per = parsed.len().div_ceil(threads).max(1);
        let terms: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = parsed
                .chunks(per)
                .map(|part| {
                    s.spawn(move || part.iter().map(|p| search_terms(&p.data, &p.contacts)).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("indexing thread")).collect()
        });
        parsed.into_iter().zip(terms).map(|(parsed, terms)| Indexed { parsed, terms }).collect::<Vec<_>>()
    });
    Ok(job.await.map_err(anyhow::Error::from)?)
}

/// Writes many customers at once, as [`insert_customer`] writes one (contacts, phones, search
/// terms, an audit entry each), with multi-row statements inside the caller's transaction.
pub async fn insert_customers_bulk(
    tx: &mut Tx,
    backend: crate::db::Backend,
    actor: &Actor,
    rows: Vec<Indexed>,
    now: chrono::DateTime<Utc>,
) -> AppResult<usize> {
    let ids = store::bulk::reserve_ids(tx.conn(), backend, store::bulk::IdTable::Customers, rows.len()).await?;
    let rows: Vec<store::bulk::NewCustomer> = rows
        .into_iter()
        .zip(ids)
        .map(|(r, id)| store::bulk::NewCustomer {
            id,
            data: r.parsed.data,
            contacts: r.parsed.contacts,
            phones: r.parsed.phones,
            terms: r.terms,
        })
        .collect();
    store::bulk::insert_customers(tx.conn(), backend, &rows, now).await?;
    let created = rows.iter().map(|r| {
        let d = &r.data;
        let detail = CustomerDetail {
            customer: Customer {
                id: r.id,
                kind: d.kind.clone(),
                name: d.name.clone(),
                class: d.class.clone(),
                key_customer: d.key_customer,
                region_code: d.region_code.clone(),
                province: d.province.clone(),
                city: d.city.clone(),
                district: d.district.clone(),
                address: d.address.clone(),
                phone: d.phone.clone(),
                email: d.email.clone(),
                tags: d.tags.clone(),
                notes: d.notes.clone(),
                version: 1,
                created_at: now,
                updated_at: now,
            },
            contacts: r.contacts.clone(),
        };
        (r.id, detail)
    });
    audit::record_created(tx, backend, actor, now, "customer", created).await?;
    Ok(rows.len())
}

pub async fn update_customer(db: &Db, actor: &Actor, id: i64, input: &CustomerInput) -> AppResult<CustomerDetail> {
    actor.require(Perm::EditArchive)?;
    let version = input.version.ok_or_else(|| AppError::one("version", "error.required"))?;
    let before = get_customer(db, actor, id).await?;
    let p = parse_customer(db, actor, input).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if !store::customers::update(tx.conn(), id, version, &p.data, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let terms = search_terms(&p.data, &p.contacts);
    store::customers::write_details(tx.conn(), db.backend(), id, &p.contacts, &p.phones, &terms).await?;
    let customer = store::customers::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let after = CustomerDetail { customer, contacts: p.contacts };
    audit::record(&mut tx, actor, now, "update", "customer", &id.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// Soft delete: the customer disappears from lists and search; history stays.
pub async fn delete_customer(db: &Db, actor: &Actor, id: i64, version: i64) -> AppResult<()> {
    actor.require(Perm::EditArchive)?;
    let before = get_customer(db, actor, id).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let owned =
        store::units::list(tx.conn(), &store::units::Filter { customer_id: Some(id), limit: 1, ..Default::default() })
            .await?;
    if !owned.is_empty() {
        return Err(AppError::Conflict("error.customer_has_units"));
    }
    if !store::customers::soft_delete(tx.conn(), id, version, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    store::customers::forget_lookups(tx.conn(), db.backend(), id).await?;
    audit::record::<_, ()>(&mut tx, actor, now, "delete", "customer", &id.to_string(), Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get_customer(db: &Db, actor: &Actor, id: i64) -> AppResult<CustomerDetail> {
    let mut c = db.read().await?;
    let customer = store::customers::get(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    // Another region's customer is "not found": its existence is not this user's to know.
    if !visible(actor, &customer.region_code) {
        return Err(AppError::NotFound);
    }
    let contacts = store::customers::contacts(c.conn(), id).await?;
    Ok(CustomerDetail { customer, contacts })
}

#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    pub q: String,
    pub region: Option<String>,
    pub class: Option<String>,
    pub city: Option<String>,
    pub key_only: bool,
    pub sort: store::customers::Sort,
    pub after: Option<(String, i64)>,
    pub limit: i64,
}

/// Lists or searches customers within the caller's regions. A query of digits (≥ 3) is a
/// phone prefix; anything else is matched word by word (Chinese segmented).
pub async fn list_customers(db: &Db, actor: &Actor, q: &CustomerQuery) -> AppResult<Vec<Customer>> {
    let text = q.q.trim();
    let digits = crate::search::digits(text);
    let is_phone = digits.len() >= 3 && text.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+'));
    let filter = store::customers::Filter {
        region_scope: region_scope(actor),
        region: q.region.clone(),
        class: q.class.clone(),
        key_only: q.key_only,
        city: q.city.clone(),
        words: if is_phone || text.is_empty() { vec![] } else { crate::search::query_terms(text) },
        phone_prefix: is_phone.then_some(digits),
        sort: q.sort,
        after: q.after.clone(),
        limit: q.limit,
        newer_than: None,
        intersect: false,
    };
    if !text.is_empty() && filter.words.is_empty() && filter.phone_prefix.is_none() {
        return Ok(vec![]);
    }
    let mut c = db.read().await?;
    if filter.words.is_empty() {
        return Ok(store::customers::list(c.conn(), db.backend(), &filter).await?);
    }
    // Words: look among the newest customers first and widen until a page is full. A word of
    // middling frequency (浦东新区: one customer in 200) otherwise made PostgreSQL walk a
    // hundred thousand rows for its newest matches; inside a window both databases intersect
    // the word's index with the id range and touch only the matches.
    let newest = store::customers::max_id(c.conn()).await?;
    let mut filter = filter;
    let mut window = SEARCH_WINDOW;
    if db.backend() == crate::db::Backend::Postgres {
        let freq = word_frequencies(db, &mut c).await?;
        // The rarest word bounds how often all of them occur together. Taken as the estimate,
        // not the product: a phrase is segmented into overlapping words (工程部经理: 工程, 工程部,
        // 经理), which occur together about as often as the rarest of them. An unlisted word is
        // rarer than those listed.
        let rarest =
            filter.words.iter().map(|w| freq.get(&w.to_lowercase()).copied().unwrap_or(RARE_WORD)).fold(1.0, f32::min);
        if rarest < WALK_FREQUENCY {
            filter.intersect = true;
            window = PG_INTERSECT_WINDOW;
        }
    }
    loop {
        filter.newer_than = Some(newest - window).filter(|floor| *floor > 0);
        let found = store::customers::list(c.conn(), db.backend(), &filter).await?;
        if found.len() as i64 >= q.limit || filter.newer_than.is_none() {
            return Ok(found);
        }
        window = window.saturating_mul(8);
    }
}

/// PostgreSQL: words at least this frequent are found by walking the customers
/// newest first (200 candidates cost about 200 / frequency rows); rarer ones through the word
/// index within the window (the word's whole index entry, then each match in the window).
/// Measured at 1M customers: 杭州市 (0.9 %) walked 22 ms, intersected 4–6 ms; 有限公司 (45 %)
/// walked under 1 ms, intersected 50 ms; they break even near 2–3 %.
const WALK_FREQUENCY: f32 = 0.025;
/// The frequency assumed for a word PostgreSQL's statistics do not list among the common ones.
const RARE_WORD: f32 = 0.001;
/// PostgreSQL's first window when intersecting: the rarer words it is used for find a page in
/// a smaller window, and each match in it is a row read (growing eightfold as below).
const PG_INTERSECT_WINDOW: i64 = 10_000;

/// PostgreSQL's word frequencies (see `store::customers::word_frequencies`), read again every
/// ten minutes (autovacuum's analyses change them slowly), per database.
async fn word_frequencies(db: &Db, c: &mut crate::db::ReadConn) -> AppResult<Arc<HashMap<String, f32>>> {
    static CACHE: LazyLock<super::Cached<String, HashMap<String, f32>>> =
        LazyLock::new(|| super::Cached::new(Duration::from_secs(600)));
    CACHE.get_or(db.identity(), || async { Ok(store::customers::word_frequencies(c.conn()).await?) }).await
}

/// The first window of a word search: the newest 50,000 customer ids; it grows eightfold while
/// a page is not full. (10,000 was measured too: rare words then took more rounds, and each
/// round's id range costs PostgreSQL a bitmap of its own; search throughput fell from 543 to
/// 119 requests/s at 1M customers. PostgreSQL's intersecting searches now start at
/// `PG_INTERSECT_WINDOW`: the block-range index marks a window's pages without that bitmap.)
const SEARCH_WINDOW: i64 = 50_000;

// ------------------------------------------------------------------ product models

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ModelInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub category: String,
    /// high | mid | low
    #[serde(default)]
    pub grade: String,
    /// Entitlement policy code (e.g. cn-general-1995, cn-car-2021, seed-company).
    #[serde(default)]
    pub policy: String,
    /// Overrides the policy's warranty period.
    #[serde(default)]
    pub warranty_months: Option<i32>,
    #[serde(default)]
    pub key_parts: String,
    /// Routine service every this many months (1–120): units get maintenance reminders.
    #[serde(default)]
    pub service_interval_months: Option<i32>,
    #[serde(default)]
    pub version: Option<i64>,
}

pub async fn parse_model(db: &Db, input: &ModelInput) -> AppResult<ModelData> {
    let mut errors = vec![];
    let code = required("code", &input.code, 40, &mut errors).to_ascii_uppercase();
    let name = required("name", &input.name, 100, &mut errors);
    let grade = parse_grade(&input.grade, &mut errors);
    let policy = input.policy.trim().to_string();
    if policy_for(db, &policy).await?.is_none() {
        errors.push(field_error("policy", "error.unknown_policy"));
    }
    let mut category = input.category.trim().to_string();
    {
        // The code, or the category's name in either language (as spreadsheets write it).
        let mut c = db.read().await?;
        let cats = store::products::categories(c.conn()).await?;
        match cats.iter().find(|x| x.code == category || x.name_zh == category || x.name_en == category) {
            Some(x) => category = x.code.clone(),
            None => errors.push(field_error("category", "error.unknown_category")),
        }
    }
    if let Some(m) = input.warranty_months
        && !(1..=240).contains(&m)
    {
        errors.push(field_error("warranty_months", "error.warranty_months"));
    }
    if let Some(m) = input.service_interval_months
        && !(1..=120).contains(&m)
    {
        errors.push(field_error("service_interval_months", "error.service_interval"));
    }
    AppError::check(errors)?;
    Ok(ModelData {
        code,
        name,
        category_code: category,
        grade,
        policy_code: policy,
        warranty_months: input.warranty_months,
        key_parts: parse_tags(&input.key_parts),
        service_interval_months: input.service_interval_months,
    })
}

pub async fn create_model(db: &Db, actor: &Actor, input: &ModelInput) -> AppResult<Model> {
    actor.require(Perm::EditArchive)?;
    let d = parse_model(db, input).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let m = insert_model(&mut tx, actor, &d, now).await?;
    tx.commit().await?;
    Ok(m)
}

/// Writes a validated model (refusing a taken code) and audits it, in the caller's transaction.
pub async fn insert_model(tx: &mut Tx, actor: &Actor, d: &ModelData, now: chrono::DateTime<Utc>) -> AppResult<Model> {
    if store::products::model_by_code(tx.conn(), &d.code).await?.is_some() {
        return Err(AppError::one("code", "error.model_code_taken"));
    }
    let id = store::products::insert_model(tx.conn(), d, now).await?;
    let m = store::products::get_model(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(tx, actor, now, "create", "product_model", &id.to_string(), None, Some(&m)).await?;
    Ok(m)
}

pub async fn update_model(db: &Db, actor: &Actor, id: i64, input: &ModelInput) -> AppResult<Model> {
    actor.require(Perm::EditArchive)?;
    let version = input.version.ok_or_else(|| AppError::one("version", "error.required"))?;
    let d = parse_model(db, input).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::products::get_model(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    if let Some(other) = store::products::model_by_code(tx.conn(), &d.code).await?
        && other.id != id
    {
        return Err(AppError::one("code", "error.model_code_taken"));
    }
    if !store::products::update_model(tx.conn(), id, version, &d, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let m = store::products::get_model(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "update", "product_model", &id.to_string(), Some(&before), Some(&m)).await?;
    tx.commit().await?;
    Ok(m)
}

// ------------------------------------------------------------------ units

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UnitInput {
    #[serde(default)]
    pub serial: String,
    /// Model code.
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub customer_id: i64,
    #[serde(default)]
    pub dealer: String,
    #[serde(default)]
    pub sale_date: String,
    #[serde(default)]
    pub invoice_no: String,
    #[serde(default)]
    pub invoice_date: String,
    #[serde(default)]
    pub delivery_date: String,
    #[serde(default)]
    pub install_date: String,
    #[serde(default)]
    pub certificate_no: String,
    #[serde(default)]
    pub odometer_km: Option<i64>,
    #[serde(default)]
    pub version: Option<i64>,
}

pub async fn parse_unit(db: &Db, actor: &Actor, input: &UnitInput, editing: Option<i64>) -> AppResult<UnitData> {
    let mut errors = vec![];
    let serial = parse_serial(&input.serial, &mut errors);
    let sale = parse_date("sale_date", &input.sale_date, &mut errors);
    let invoice = parse_date("invoice_date", &input.invoice_date, &mut errors);
    let delivery = parse_date("delivery_date", &input.delivery_date, &mut errors);
    let install = parse_date("install_date", &input.install_date, &mut errors);
    let today = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    for (field, d) in [("sale_date", sale), ("invoice_date", invoice), ("delivery_date", delivery)] {
        if d.is_some_and(|d| d > today) {
            errors.push(field_error(field, "error.date_in_future"));
        }
    }
    if let (Some(s), Some(i)) = (sale, install)
        && i < s
    {
        errors.push(field_error("install_date", "error.install_before_sale"));
    }
    if input.odometer_km.is_some_and(|k| k < 0) {
        errors.push(field_error("odometer_km", "error.negative"));
    }
    let mut c = db.read().await?;
    let model = store::products::model_by_code(c.conn(), input.model.trim()).await?;
    if model.is_none() {
        errors.push(field_error("model", "error.unknown_model"));
    }
    let owner = store::customers::get(c.conn(), input.customer_id).await?;
    match &owner {
        Some(o) if visible(actor, &o.region_code) => {}
        _ => errors.push(field_error("customer_id", "error.unknown_customer")),
    }
    if errors.iter().all(|e| e.field != "serial")
        && let Some(existing) = store::units::by_serial(c.conn(), &serial).await?
        && Some(existing.id) != editing
    {
        // Point at the unit that has it, so the user can open it instead.
        let args = [("id", existing.id.to_string()), ("customer", existing.customer_name.clone())];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        errors.push(FieldError::new(
            "serial",
            tr_args("zh-CN", "error.serial_taken", &args),
            tr_args("en", "error.serial_taken", &args),
        ));
    }
    AppError::check(errors)?;
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(UnitData {
        serial,
        model_id: model.map(|m| m.id).unwrap_or_default(),
        customer_id: input.customer_id,
        dealer: input.dealer.trim().to_string(),
        sale_date: sale,
        invoice_no: text(&input.invoice_no.to_ascii_uppercase()),
        invoice_date: invoice,
        delivery_date: delivery,
        install_date: install,
        certificate_no: text(&input.certificate_no.to_ascii_uppercase()),
        odometer_km: input.odometer_km,
    })
}

pub async fn create_unit(db: &Db, actor: &Actor, input: &UnitInput, idem: Option<&Idem<'_>>) -> AppResult<Unit> {
    actor.require(Perm::EditArchive)?;
    let d = parse_unit(db, actor, input, None).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let unit = insert_unit(&mut tx, actor, &d, now).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &unit).await?;
    }
    tx.commit().await?;
    Ok(unit)
}

/// Writes a validated unit with a fresh public token and its first owner, and audits it,
/// inside the caller's transaction.
pub async fn insert_unit(tx: &mut Tx, actor: &Actor, d: &UnitData, now: chrono::DateTime<Utc>) -> AppResult<Unit> {
    let (secret, _) = super::new_secret();
    let token = &secret[..32];
    let id = match store::units::insert(tx.conn(), d, token, now).await {
        Ok(id) => id,
        // Two people registering the same serial at once: the second loses on the unique index.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(AppError::one("serial", "error.serial_taken_plain"));
        }
        Err(e) => return Err(e.into()),
    };
    let unit = store::units::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(tx, actor, now, "create", "unit", &id.to_string(), None, Some(&unit)).await?;
    Ok(unit)
}

/// Writes many units at once, as [`insert_unit`] writes one (first owner, public token, an
/// audit entry each), with multi-row statements inside the caller's transaction.
pub async fn insert_units_bulk(
    tx: &mut Tx,
    backend: crate::db::Backend,
    actor: &Actor,
    rows: Vec<UnitData>,
    now: chrono::DateTime<Utc>,
) -> AppResult<usize> {
    let ids = store::bulk::reserve_ids(tx.conn(), backend, store::bulk::IdTable::Units, rows.len()).await?;
    let rows: Vec<store::bulk::NewUnit> = rows
        .into_iter()
        .zip(ids)
        .map(|(data, id)| store::bulk::NewUnit {
            id,
            data,
            public_token: super::new_secret().0[..32].to_owned(),
            owned_from: now,
        })
        .collect();
    store::bulk::insert_units(tx.conn(), backend, &rows, now).await.map_err(|e| match &e {
        // Someone registered one of these serials meanwhile: the import is refused whole.
        sqlx::Error::Database(d) if d.is_unique_violation() => AppError::one("serial", "error.serial_taken_plain"),
        _ => e.into(),
    })?;
    let mine: std::collections::HashSet<i64> = rows.iter().map(|r| r.id).collect();
    let (lo, hi) = (mine.iter().min().copied().unwrap_or(0), mine.iter().max().copied().unwrap_or(-1));
    // Other instances may have written units inside the range meanwhile (PostgreSQL).
    let written: Vec<Unit> =
        store::units::in_id_range(tx.conn(), lo, hi).await?.into_iter().filter(|u| mine.contains(&u.id)).collect();
    audit::record_created(tx, backend, actor, now, "unit", written.iter().map(|u| (u.id, u))).await?;
    Ok(rows.len())
}

pub async fn update_unit(db: &Db, actor: &Actor, id: i64, input: &UnitInput) -> AppResult<Unit> {
    actor.require(Perm::EditArchive)?;
    let version = input.version.ok_or_else(|| AppError::one("version", "error.required"))?;
    let before = get_unit(db, actor, id).await?;
    // The owner changes only through a transfer, which keeps the history.
    let input = UnitInput { customer_id: before.customer_id, ..input.clone() };
    let d = parse_unit(db, actor, &input, Some(id)).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if !store::units::update(tx.conn(), id, version, &d, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::units::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "update", "unit", &id.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// A change of owner (resale, gift, company takeover); the previous ownership is kept.
pub async fn transfer_unit(db: &Db, actor: &Actor, id: i64, version: i64, to: i64, note: &str) -> AppResult<Unit> {
    actor.require(Perm::EditArchive)?;
    let before = get_unit(db, actor, id).await?;
    if get_customer(db, actor, to).await.is_err() {
        return Err(AppError::one("customer_id", "error.unknown_customer"));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if !store::units::transfer(tx.conn(), id, version, to, note.trim(), now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    let after = store::units::get(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, actor, now, "transfer", "unit", &id.to_string(), Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// Soft delete of a unit registered by mistake; its serial stays taken so history keeps
/// pointing at one unit.
pub async fn delete_unit(db: &Db, actor: &Actor, id: i64, version: i64) -> AppResult<()> {
    actor.require(Perm::EditArchive)?;
    let before = get_unit(db, actor, id).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if !store::units::soft_delete(tx.conn(), id, version, now).await? {
        return Err(AppError::Conflict("error.stale"));
    }
    audit::record::<_, ()>(&mut tx, actor, now, "delete", "unit", &id.to_string(), Some(&before), None).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get_unit(db: &Db, actor: &Actor, id: i64) -> AppResult<Unit> {
    let mut c = db.read().await?;
    let unit = store::units::get(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    if !visible(actor, &unit.region_code) {
        return Err(AppError::NotFound);
    }
    Ok(unit)
}

pub async fn unit_owners(db: &Db, actor: &Actor, id: i64) -> AppResult<Vec<store::units::Ownership>> {
    get_unit(db, actor, id).await?;
    let mut c = db.read().await?;
    Ok(store::units::owners(c.conn(), id).await?)
}

#[derive(Debug, Clone, Default)]
pub struct UnitQuery {
    pub customer_id: Option<i64>,
    pub model_id: Option<i64>,
    pub number: String,
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn list_units(db: &Db, actor: &Actor, q: &UnitQuery) -> AppResult<Vec<Unit>> {
    let n = q.number.trim().to_ascii_uppercase();
    let filter = store::units::Filter {
        region_scope: region_scope(actor),
        customer_id: q.customer_id,
        model_id: q.model_id,
        number_prefix: Some(n).filter(|n| !n.is_empty()),
        before_id: q.before_id,
        limit: q.limit,
    };
    let mut c = db.read().await?;
    Ok(store::units::list(c.conn(), &filter).await?)
}

/// The unit behind a warranty card's QR code; no account needed, nothing else revealed.
pub async fn public_unit(db: &Db, token: &str) -> AppResult<Unit> {
    if token.len() != 32 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let mut c = db.read().await?;
    store::units::by_token(c.conn(), token).await?.ok_or(AppError::NotFound)
}

/// Warranty and 三包 status of a unit on `day`, decided by its model's policy for a general
/// fault with no repair history. None (with the reason's locale key) when the unit lacks the
/// dates a decision needs.
pub async fn warranty_status(
    db: &Db,
    unit: &Unit,
    day: NaiveDate,
) -> AppResult<Result<rules::entitlement::Evaluation, String>> {
    let (policy, req) = match entitlement_request(db, unit, day).await? {
        Ok(found) => found,
        Err(key) => return Ok(Err(key)),
    };
    Ok(rules::entitlement::evaluate(&policy, &req)
        .map_err(|errs| errs.first().map(|e| format!("{}: {}", e.field, e.message_en)).unwrap_or_default()))
}

/// The policy and the request that decide a general fault of `unit` reported on `day`, with
/// no history; callers add what they know. Err holds the locale key of what is missing.
pub async fn entitlement_request(
    db: &Db,
    unit: &Unit,
    day: NaiveDate,
) -> AppResult<Result<(rules::entitlement::Policy, rules::entitlement::EvaluateRequest), String>> {
    use rules::entitlement::{EvaluateRequest, Fault, FaultKind, Grade};
    let Some(start) = unit.invoice_date.or(unit.sale_date) else {
        return Ok(Err("archive.status_no_invoice".into()));
    };
    let Some(policy) = policy_for(db, &unit.policy_code).await? else {
        return Ok(Err("archive.status_no_policy".into()));
    };
    let mut req = EvaluateRequest::new(&unit.policy_code, start, day, 0, Fault::new(FaultKind::General));
    req.delivery_date = unit.delivery_date;
    req.grade = match unit.grade.as_str() {
        "high" => Some(Grade::High),
        "mid" => Some(Grade::Mid),
        "low" => Some(Grade::Low),
        _ => None,
    };
    req.category = Some(unit.category_code.clone());
    req.warranty_months = unit.warranty_months.and_then(|m| u32::try_from(m).ok());
    req.odometer_km = unit.odometer_km.and_then(|k| u64::try_from(k).ok()).or(Some(0));
    if day < start {
        return Ok(Err("archive.status_not_sold_yet".into()));
    }
    Ok(Ok((policy, req)))
}
