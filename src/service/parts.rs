//! The parts catalogue and the stock locations (R8.1): parts with the models they fit, the
//! warehouses (central, regional, each engineer's van), the reorder point of a part at a
//! location and the replenishment list it gives.
//!
//! Anyone signed in reads the catalogue and the locations; keeping them needs
//! [`Perm::ManageParts`]. Every change is one transaction with its audit entry. Stock
//! quantities are not changed here: only movements (`service::stock`) do that.

use chrono::{DateTime, Utc};
use rules::FieldError;
use serde::{Deserialize, Serialize};

use super::{Actor, Idem, audit};
use crate::db::{Conn, Db, Tx};
use crate::domain::archive::{optional, required};
use crate::domain::{Perm, Role};
use crate::error::{AppError, AppResult};
use crate::i18n::{field_error, tr_args};
use crate::store;
use crate::store::parts::{FittedModel, LowStock, Part, PartData, PartFilter, StockAt, WarehouseData, WarehouseView};

pub const KINDS: [&str; 3] = ["central", "regional", "van"];

const MAX_PART_NO: usize = 40;
const MAX_NAME: usize = 200;
const MAX_SUPPLIER: usize = 200;
const MAX_CODE: usize = 40;
const MAX_WAREHOUSE_NAME: usize = 100;
/// The most a piece may cost or sell for, in cents (¥100,000,000): a typing slip is refused.
pub const MAX_CENTS: i64 = 10_000_000_000;
/// The largest reorder point or quantity.
pub const MAX_REORDER: i64 = rules::parts::MAX_QTY;
/// Stock rows shown per page of a location.
pub const STOCK_PAGE: i64 = 200;

pub use crate::domain::money::{BadAmount, parse_yuan, yuan};

/// A code as the company writes it: letters, digits and `- _ . /`, upper case.
fn code_of(field: &str, raw: &str, max: usize, key: &str, errors: &mut Vec<FieldError>) -> String {
    let v = required(field, raw, max, errors).to_ascii_uppercase();
    if !v.is_empty() && !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')) {
        errors.push(field_error(field, key));
    }
    v
}

fn message(field: &str, key: &str, args: &[(&str, String)]) -> FieldError {
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    FieldError::new(field, tr_args("zh-CN", key, &args), tr_args("en", key, &args))
}

/// "Part number exists: PN-1 压缩机 (#12)" — pointing at the part that has it.
pub fn part_no_taken(existing: &Part) -> FieldError {
    message(
        "part_no",
        "part.error.part_no_taken",
        &[("part_no", existing.part_no.clone()), ("name", existing.name_zh.clone()), ("id", existing.id.to_string())],
    )
}

// ================================================================ the catalogue

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PartInput {
    /// Unique; letters, digits and - _ . / (kept in upper case).
    #[serde(default)]
    pub part_no: String,
    #[serde(default)]
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    /// Motor, controller, axle …: its failures are watched (R8.2).
    #[serde(default)]
    pub key_part: bool,
    /// Each piece has a serial number.
    #[serde(default)]
    pub serial_tracked: bool,
    /// What a piece costs the company, in cents (分), ≥ 0.
    #[serde(default)]
    pub unit_cost_cents: i64,
    /// What a paying customer is charged per piece, in cents, ≥ 0.
    #[serde(default)]
    pub price_cents: i64,
    #[serde(default)]
    pub supplier: String,
    /// The product models it fits.
    #[serde(default)]
    pub model_ids: Vec<i64>,
}

/// Changes to a part over its `version`; fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PartUpdate {
    /// The version read (409 when the part changed meanwhile).
    pub version: i64,
    pub part_no: Option<String>,
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub key_part: Option<bool>,
    pub serial_tracked: Option<bool>,
    pub unit_cost_cents: Option<i64>,
    pub price_cents: Option<i64>,
    pub supplier: Option<String>,
    /// Replaces the models it fits.
    pub model_ids: Option<Vec<i64>>,
    /// False deactivates the part (no longer offered), true reactivates it.
    pub active: Option<bool>,
}

/// The checks of a part that need no database; the data to write when there are none.
pub fn part_errors(input: &PartInput) -> (PartData, Vec<FieldError>) {
    let mut errors = vec![];
    let part_no = code_of("part_no", &input.part_no, MAX_PART_NO, "part.error.part_no", &mut errors);
    let name_zh = required("name_zh", &input.name_zh, MAX_NAME, &mut errors);
    let name_en = optional("name_en", &input.name_en, MAX_NAME, &mut errors);
    let supplier = optional("supplier", &input.supplier, MAX_SUPPLIER, &mut errors);
    for (field, v) in [("unit_cost_cents", input.unit_cost_cents), ("price_cents", input.price_cents)] {
        if !(0..=MAX_CENTS).contains(&v) {
            errors.push(field_error(field, "part.error.amount"));
        }
    }
    let data = PartData {
        part_no,
        name_zh,
        name_en,
        key_part: input.key_part,
        serial_tracked: input.serial_tracked,
        unit_cost_cents: input.unit_cost_cents,
        price_cents: input.price_cents,
        supplier,
    };
    (data, errors)
}

/// The models named, without repeats; an unknown one is an error of `model_ids`.
async fn check_models(c: &mut Tx, ids: &[i64], errors: &mut Vec<FieldError>) -> AppResult<Vec<i64>> {
    let mut out: Vec<i64> = ids.to_vec();
    out.sort_unstable();
    out.dedup();
    for id in &out {
        if store::products::get_model(c.conn(), *id).await?.is_none() {
            errors.push(field_error("model_ids", "error.unknown_model"));
            break;
        }
    }
    Ok(out)
}

/// A part with the models it fits and its stock at each location.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartDetail {
    pub part: Part,
    pub models: Vec<FittedModel>,
    /// Every location with a stock row for the part (central, regional, vans).
    pub stock: Vec<StockAt>,
}

impl PartDetail {
    pub fn on_hand(&self) -> i64 {
        self.stock.iter().map(|s| s.on_hand).sum()
    }
    pub fn faulty(&self) -> i64 {
        self.stock.iter().map(|s| s.faulty).sum()
    }
    pub fn fits(&self, model_id: &i64) -> bool {
        self.models.iter().any(|m| m.id == *model_id)
    }
}

/// What the audit trail keeps of a part.
#[derive(Serialize)]
struct PartRecord<'a> {
    #[serde(flatten)]
    part: &'a Part,
    models: Vec<&'a str>,
}

fn record_of(d: &PartDetail) -> PartRecord<'_> {
    PartRecord { part: &d.part, models: d.models.iter().map(|m| m.code.as_str()).collect() }
}

async fn detail_of(c: &mut Tx, part: Part) -> AppResult<PartDetail> {
    let models = store::parts::models_of(c.conn(), part.id).await?;
    let stock = store::parts::stock_of_part(c.conn(), part.id).await?;
    Ok(PartDetail { part, models, stock })
}

pub async fn get(db: &Db, _actor: &Actor, id: i64) -> AppResult<PartDetail> {
    let mut c = db.read().await?;
    let part = store::parts::get_part(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    let models = store::parts::models_of(c.conn(), id).await?;
    let stock = store::parts::stock_of_part(c.conn(), id).await?;
    Ok(PartDetail { part, models, stock })
}

/// Adds a part to the catalogue; a part number in use is refused with the part that has it.
pub async fn create(db: &Db, actor: &Actor, input: &PartInput, idem: Option<&Idem<'_>>) -> AppResult<PartDetail> {
    actor.require(Perm::ManageParts)?;
    let (data, mut errors) = part_errors(input);
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let models = check_models(&mut tx, &input.model_ids, &mut errors).await?;
    if !data.part_no.is_empty()
        && let Some(existing) = store::parts::part_by_no(tx.conn(), &data.part_no).await?
    {
        errors.push(part_no_taken(&existing));
    }
    AppError::check(errors)?;
    let detail = insert_part(&mut tx, actor, &data, &models, now).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &detail).await?;
    }
    tx.commit().await?;
    Ok(detail)
}

/// Writes a checked part and the models it fits, and audits it, in the caller's transaction.
async fn insert_part(
    tx: &mut Tx,
    actor: &Actor,
    data: &PartData,
    models: &[i64],
    now: DateTime<Utc>,
) -> AppResult<PartDetail> {
    let id = match store::parts::insert_part(tx.conn(), data, now).await {
        Ok(id) => id,
        // Two people adding the same part number at once: the second loses on the unique index.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(AppError::one("part_no", "part.error.part_no_taken_plain"));
        }
        Err(e) => return Err(e.into()),
    };
    store::parts::set_models(tx.conn(), id, models).await?;
    let part = store::parts::get_part(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let detail = detail_of(tx, part).await?;
    audit::record::<(), _>(tx, actor, now, "create", "part", &id.to_string(), None, Some(&record_of(&detail))).await?;
    Ok(detail)
}

/// Changes a part over its `version`: its data, the models it fits, deactivating or
/// reactivating it.
pub async fn update(db: &Db, actor: &Actor, id: i64, upd: &PartUpdate) -> AppResult<PartDetail> {
    actor.require(Perm::ManageParts)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let part = store::parts::get_part(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let before = detail_of(&mut tx, part).await?;
    let b = &before.part;
    let input = PartInput {
        part_no: upd.part_no.clone().unwrap_or_else(|| b.part_no.clone()),
        name_zh: upd.name_zh.clone().unwrap_or_else(|| b.name_zh.clone()),
        name_en: upd.name_en.clone().unwrap_or_else(|| b.name_en.clone()),
        key_part: upd.key_part.unwrap_or(b.key_part),
        serial_tracked: upd.serial_tracked.unwrap_or(b.serial_tracked),
        unit_cost_cents: upd.unit_cost_cents.unwrap_or(b.unit_cost_cents),
        price_cents: upd.price_cents.unwrap_or(b.price_cents),
        supplier: upd.supplier.clone().unwrap_or_else(|| b.supplier.clone()),
        model_ids: upd.model_ids.clone().unwrap_or_else(|| before.models.iter().map(|m| m.id).collect()),
    };
    let (data, mut errors) = part_errors(&input);
    let models = check_models(&mut tx, &input.model_ids, &mut errors).await?;
    if data.part_no != b.part_no
        && !data.part_no.is_empty()
        && let Some(existing) = store::parts::part_by_no(tx.conn(), &data.part_no).await?
        && existing.id != id
    {
        errors.push(part_no_taken(&existing));
    }
    AppError::check(errors)?;
    if b.version != upd.version {
        return Err(AppError::Conflict("error.stale"));
    }
    let active = upd.active.unwrap_or(b.active);
    match store::parts::update_part(tx.conn(), id, upd.version, &data, active, now).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::Conflict("error.stale")),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(AppError::one("part_no", "part.error.part_no_taken_plain"));
        }
        Err(e) => return Err(e.into()),
    }
    if upd.model_ids.is_some() {
        store::parts::set_models(tx.conn(), id, &models).await?;
    }
    let part = store::parts::get_part(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let after = detail_of(&mut tx, part).await?;
    let action = match (b.active, active) {
        (true, false) => "deactivate",
        (false, true) => "reactivate",
        _ => "update",
    };
    let key = id.to_string();
    audit::record(&mut tx, actor, now, action, "part", &key, Some(&record_of(&before)), Some(&record_of(&after)))
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// `active` (default) | `inactive` | `any`.
pub fn parse_active(s: &str) -> Option<Option<bool>> {
    match s.trim() {
        "" | "active" => Some(Some(true)),
        "inactive" => Some(Some(false)),
        "any" => Some(None),
        _ => None,
    }
}

#[derive(Debug, Clone, Default)]
pub struct PartQuery {
    /// Part number prefix or a word of the name.
    pub q: String,
    pub key_only: bool,
    /// None: active and inactive.
    pub active: Option<bool>,
    pub model_id: Option<i64>,
    /// `next_after` of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartPage {
    pub items: Vec<Part>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
}

/// The catalogue by part number.
pub async fn list(db: &Db, _actor: &Actor, q: &PartQuery) -> AppResult<PartPage> {
    let limit = q.limit.clamp(1, 200);
    let f = PartFilter {
        q: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
        key_only: q.key_only,
        active: q.active,
        model_id: q.model_id,
        after: q.after.clone().filter(|s| !s.is_empty()),
        limit: limit + 1,
    };
    let mut c = db.read().await?;
    let mut items = store::parts::list_parts(c.conn(), &f).await?;
    let next_after = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|p| p.part_no.clone())
    } else {
        None
    };
    Ok(PartPage { items, next_after })
}

/// The product models, by code, for the "fits" choice.
pub async fn models(db: &Db) -> AppResult<Vec<store::products::Model>> {
    let mut c = db.read().await?;
    let mut list = store::products::models(c.conn()).await?;
    list.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(list)
}

// ================================================================ warehouses

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct WarehouseInput {
    /// Unique; letters, digits and - _ . / (kept in upper case).
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    /// central | regional | van
    #[serde(default)]
    pub kind: String,
    /// Required for a regional warehouse; a van's defaults to its engineer's.
    pub region_code: Option<String>,
    /// A van's engineer (one van per engineer); only for vans.
    pub engineer_id: Option<i64>,
}

/// Changes to a location over its `version`; fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct WarehouseUpdate {
    /// The version read (409 when the location changed meanwhile).
    pub version: i64,
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    /// An empty string clears it.
    pub region_code: Option<String>,
    /// For vans. Left out: a van keeps its engineer, another kind has none.
    pub engineer_id: Option<i64>,
    /// False deactivates the location (only when it holds no pieces), true reactivates it.
    pub active: Option<bool>,
}

/// Checks a location against the database; `editing` is its own id (for uniqueness).
async fn parse_warehouse(tx: &mut Tx, input: &WarehouseInput, editing: Option<i64>) -> AppResult<WarehouseData> {
    let mut errors = vec![];
    let code = code_of("code", &input.code, MAX_CODE, "warehouse.error.code", &mut errors);
    let name = required("name", &input.name, MAX_WAREHOUSE_NAME, &mut errors);
    let kind = input.kind.trim().to_string();
    if kind.is_empty() {
        errors.push(field_error("kind", "error.required"));
    } else if !KINDS.contains(&kind.as_str()) {
        errors.push(field_error("kind", "warehouse.error.kind"));
    }
    let mut region = input.region_code.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
    if let Some(r) = &region {
        let regions = store::settings::regions(tx.conn()).await?;
        if !regions.iter().any(|x| &x.code == r) {
            errors.push(field_error("region_code", "error.unknown_region"));
        }
    }
    let mut engineer = None;
    if kind == "van" {
        match input.engineer_id {
            None => errors.push(field_error("engineer_id", "warehouse.error.engineer_required")),
            Some(id) => match store::users::get(tx.conn(), id).await? {
                Some(u) if u.active && u.roles.contains(&Role::Engineer) => {
                    if let Some(van) = store::parts::van_of(tx.conn(), id).await?
                        && Some(van.id) != editing
                    {
                        errors.push(message(
                            "engineer_id",
                            "warehouse.error.van_taken",
                            &[("engineer", u.display_name.clone()), ("code", van.code), ("id", van.id.to_string())],
                        ));
                    }
                    if region.is_none() {
                        region = u.region_code.clone();
                    }
                    engineer = Some(id);
                }
                _ => errors.push(field_error("engineer_id", "warehouse.error.not_engineer")),
            },
        }
    } else if input.engineer_id.is_some() {
        errors.push(field_error("engineer_id", "warehouse.error.engineer_only_van"));
    }
    if kind == "regional" && region.is_none() && !errors.iter().any(|e| e.field == "region_code") {
        errors.push(field_error("region_code", "warehouse.error.region_required"));
    }
    if !code.is_empty()
        && let Some(other) = store::parts::warehouse_by_code(tx.conn(), &code).await?
        && Some(other.id) != editing
    {
        errors.push(message(
            "code",
            "warehouse.error.code_taken",
            &[("code", other.code.clone()), ("name", other.name.clone()), ("id", other.id.to_string())],
        ));
    }
    AppError::check(errors)?;
    Ok(WarehouseData { code, name, kind, region_code: region, engineer_id: engineer })
}

/// The unique indexes, when two people write at once.
fn warehouse_unique(e: &sqlx::Error) -> Option<AppError> {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            let field = if d.message().contains("engineer") || d.constraint() == Some("warehouses_van") {
                "engineer_id"
            } else {
                "code"
            };
            Some(AppError::one(field, "warehouse.error.taken_plain"))
        }
        _ => None,
    }
}

/// A location with its stock rows by part number (a page of them).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WarehouseDetail {
    pub warehouse: WarehouseView,
    /// Usable and faulty pieces held, all parts.
    pub pieces: i64,
    pub stock: Vec<StockAt>,
    /// Pass as `after` for the next page of stock rows; absent on the last.
    pub stock_next_after: Option<String>,
}

async fn warehouse_detail(c: Conn<'_>, w: WarehouseView, after: Option<&str>) -> AppResult<WarehouseDetail> {
    let mut c = c;
    let pieces = store::parts::pieces_at(c.reborrow(), w.id).await?;
    let mut stock = store::parts::stock_of_warehouse(c.reborrow(), w.id, after, STOCK_PAGE + 1).await?;
    let stock_next_after = if stock.len() as i64 > STOCK_PAGE {
        stock.truncate(STOCK_PAGE as usize);
        stock.last().map(|s| s.part_no.clone())
    } else {
        None
    };
    Ok(WarehouseDetail { warehouse: w, pieces, stock, stock_next_after })
}

pub async fn get_warehouse(db: &Db, _actor: &Actor, id: i64, after: Option<&str>) -> AppResult<WarehouseDetail> {
    let mut c = db.read().await?;
    let w = store::parts::warehouse_view(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    warehouse_detail(c.conn(), w, after).await
}

/// Every location, central first, then regional, then vans; `active` None for all.
pub async fn list_warehouses(db: &Db, _actor: &Actor, active: Option<bool>) -> AppResult<Vec<WarehouseView>> {
    let mut c = db.read().await?;
    Ok(store::parts::list_warehouses(c.conn(), active).await?)
}

pub async fn create_warehouse(
    db: &Db,
    actor: &Actor,
    input: &WarehouseInput,
    idem: Option<&Idem<'_>>,
) -> AppResult<WarehouseDetail> {
    actor.require(Perm::ManageParts)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let data = parse_warehouse(&mut tx, input, None).await?;
    let id = match store::parts::insert_warehouse(tx.conn(), &data, now).await {
        Ok(id) => id,
        Err(e) => return Err(warehouse_unique(&e).unwrap_or_else(|| e.into())),
    };
    let w = store::parts::warehouse_view(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    audit::record::<(), _>(&mut tx, actor, now, "create", "warehouse", &id.to_string(), None, Some(&w)).await?;
    let detail = warehouse_detail(tx.conn(), w, None).await?;
    if let Some(idem) = idem {
        super::remember(&mut tx, actor, idem, 201, &detail).await?;
    }
    tx.commit().await?;
    Ok(detail)
}

pub async fn update_warehouse(db: &Db, actor: &Actor, id: i64, upd: &WarehouseUpdate) -> AppResult<WarehouseDetail> {
    actor.require(Perm::ManageParts)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = store::parts::warehouse_view(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let kind = upd.kind.clone().unwrap_or_else(|| before.kind.clone());
    let input = WarehouseInput {
        code: upd.code.clone().unwrap_or_else(|| before.code.clone()),
        name: upd.name.clone().unwrap_or_else(|| before.name.clone()),
        engineer_id: if kind.trim() == "van" { upd.engineer_id.or(before.engineer_id) } else { upd.engineer_id },
        kind,
        region_code: upd.region_code.clone().or_else(|| before.region_code.clone()),
    };
    let data = parse_warehouse(&mut tx, &input, Some(id)).await?;
    let active = upd.active.unwrap_or(before.active);
    if before.active && !active && store::parts::pieces_at(tx.conn(), id).await? > 0 {
        return Err(AppError::one("active", "warehouse.error.has_stock"));
    }
    if before.version != upd.version {
        return Err(AppError::Conflict("error.stale"));
    }
    match store::parts::update_warehouse(tx.conn(), id, upd.version, &data, active, now).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::Conflict("error.stale")),
        Err(e) => return Err(warehouse_unique(&e).unwrap_or_else(|| e.into())),
    }
    let after = store::parts::warehouse_view(tx.conn(), id).await?.ok_or(AppError::NotFound)?;
    let action = match (before.active, active) {
        (true, false) => "deactivate",
        (false, true) => "reactivate",
        _ => "update",
    };
    audit::record(&mut tx, actor, now, action, "warehouse", &id.to_string(), Some(&before), Some(&after)).await?;
    let detail = warehouse_detail(tx.conn(), after, None).await?;
    tx.commit().await?;
    Ok(detail)
}

/// Active engineers without a van, and the one of the van being edited: who may get a van.
pub async fn engineers(db: &Db) -> AppResult<Vec<(i64, String)>> {
    super::users::active_names(db, Some(Role::Engineer)).await
}

// ================================================================ reorder points

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ReorderInput {
    /// The part, by id …
    pub part_id: Option<i64>,
    /// … or by part number.
    #[serde(default)]
    pub part_no: String,
    /// At or below it the part is to be replenished here (0: not watched).
    #[serde(default)]
    pub reorder_point: i64,
    /// How many to order then (0: up to twice the point).
    #[serde(default)]
    pub reorder_qty: i64,
}

/// The checks of a reorder point and quantity that need no database.
pub fn reorder_errors(point: i64, qty: i64) -> Vec<FieldError> {
    let mut errors = vec![];
    for (field, v) in [("reorder_point", point), ("reorder_qty", qty)] {
        if !(0..=MAX_REORDER).contains(&v) {
            errors.push(field_error(field, "warehouse.error.reorder"));
        }
    }
    errors
}

/// Sets a part's reorder point and quantity at a location (its stock row is created, empty,
/// when there is none). The quantities held are not touched.
pub async fn set_reorder(db: &Db, actor: &Actor, warehouse_id: i64, input: &ReorderInput) -> AppResult<StockAt> {
    actor.require(Perm::ManageParts)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let w = store::parts::get_warehouse(tx.conn(), warehouse_id).await?.ok_or(AppError::NotFound)?;
    let mut errors = reorder_errors(input.reorder_point, input.reorder_qty);
    let part = match input.part_id {
        Some(id) => store::parts::get_part(tx.conn(), id).await?,
        None if input.part_no.trim().is_empty() => None,
        None => store::parts::part_by_no(tx.conn(), &input.part_no.trim().to_ascii_uppercase()).await?,
    };
    if part.is_none() {
        let key = if input.part_id.is_none() && input.part_no.trim().is_empty() {
            "error.required"
        } else {
            "part.error.unknown_part"
        };
        errors.push(field_error("part_no", key));
    }
    if !w.active {
        errors.push(field_error("warehouse", "warehouse.error.inactive"));
    }
    AppError::check(errors)?;
    let Some(part) = part else { return Err(AppError::NotFound) };
    let row = reorder_in_tx(&mut tx, actor, &w, &part, input.reorder_point, input.reorder_qty, now).await?;
    tx.commit().await?;
    Ok(row)
}

/// Writes a checked reorder point and audits it, in the caller's transaction.
pub async fn reorder_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    w: &store::parts::Warehouse,
    part: &Part,
    point: i64,
    qty: i64,
    now: DateTime<Utc>,
) -> AppResult<StockAt> {
    let before = store::parts::stock_at(tx.conn(), w.id, part.id).await?;
    store::parts::set_reorder(tx.conn(), w.id, part.id, point, qty, now).await?;
    let after = store::parts::stock_at(tx.conn(), w.id, part.id).await?.ok_or(AppError::NotFound)?;
    let key = format!("{}:{}", w.code, part.part_no);
    audit::record(tx, actor, now, "reorder", "stock", &key, before.as_ref(), Some(&after)).await?;
    Ok(after)
}

// ================================================================ replenishment

/// A stock row at or below its reorder point, with what to order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplenishmentItem {
    #[serde(flatten)]
    pub row: LowStock,
    /// Pieces to order: the reorder quantity, or else up to twice the point.
    pub to_order: i64,
    /// `to_order` × unit cost, in cents.
    pub order_cost_cents: i64,
}

impl ReplenishmentItem {
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("en") && !self.row.name_en.is_empty() { &self.row.name_en } else { &self.row.name_zh }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplenishmentPage {
    pub items: Vec<ReplenishmentItem>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ReplenishmentQuery {
    pub warehouse_id: Option<i64>,
    pub after: Option<String>,
    pub limit: i64,
}

fn low_cursor(s: &str) -> AppResult<(String, String)> {
    let (w, p) = s.split_once('~').ok_or_else(|| AppError::one("after", "error.bad_parameter"))?;
    Ok((w.to_string(), p.to_string()))
}

/// Active parts at active locations at or below their reorder point, by location and part.
pub async fn replenishment(db: &Db, _actor: &Actor, q: &ReplenishmentQuery) -> AppResult<ReplenishmentPage> {
    let limit = q.limit.clamp(1, 500);
    let after = q.after.as_deref().filter(|s| !s.is_empty()).map(low_cursor).transpose()?;
    let mut c = db.read().await?;
    let after_ref = after.as_ref().map(|(w, p)| (w.as_str(), p.as_str()));
    let mut rows = store::parts::low_stock(c.conn(), q.warehouse_id, after_ref, limit + 1).await?;
    let next_after = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| format!("{}~{}", r.warehouse_code, r.part_no))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|row| {
            let to_order = rules::parts::reorder(row.on_hand, row.reorder_point, row.reorder_qty).unwrap_or(0);
            let order_cost_cents = to_order.saturating_mul(row.unit_cost_cents);
            ReplenishmentItem { row, to_order, order_cost_cents }
        })
        .collect();
    Ok(ReplenishmentPage { items, next_after })
}

// ================================================================ import

/// A checked catalogue row: the part and the models it fits.
#[derive(Debug, Clone)]
pub struct ImportPart {
    pub data: PartData,
    pub model_ids: Vec<i64>,
}

/// Writes an imported part: a new part number is added, an existing one is updated (its models
/// replaced; it stays active or inactive as it was), each audited, in the caller's transaction.
pub async fn import_part(tx: &mut Tx, actor: &Actor, row: &ImportPart, now: DateTime<Utc>) -> AppResult<()> {
    match store::parts::part_by_no(tx.conn(), &row.data.part_no).await? {
        None => {
            insert_part(tx, actor, &row.data, &row.model_ids, now).await?;
        }
        Some(existing) => {
            let before = detail_of(tx, existing.clone()).await?;
            if !store::parts::update_part(tx.conn(), existing.id, existing.version, &row.data, existing.active, now)
                .await?
            {
                return Err(AppError::Conflict("error.stale"));
            }
            store::parts::set_models(tx.conn(), existing.id, &row.model_ids).await?;
            let part = store::parts::get_part(tx.conn(), existing.id).await?.ok_or(AppError::NotFound)?;
            let after = detail_of(tx, part).await?;
            let key = existing.id.to_string();
            audit::record(tx, actor, now, "import", "part", &key, Some(&record_of(&before)), Some(&record_of(&after)))
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_checks() {
        let ok = PartInput { part_no: " cp-35a ".into(), name_zh: "压缩机".into(), ..Default::default() };
        let (d, errors) = part_errors(&ok);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(d.part_no, "CP-35A");
        let bad = PartInput { part_no: "压缩机 1".into(), price_cents: -1, ..Default::default() };
        let (_, errors) = part_errors(&bad);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["part_no", "name_zh", "price_cents"]);
        assert_eq!(reorder_errors(-1, MAX_REORDER + 1).len(), 2);
    }
}
