//! Import of customers, sold units, product models, the parts catalogue and opening stock from
//! the spreadsheets companies keep (.xlsx, .csv):
//! parse, guess the column mapping from the headers (Chinese or English), check every row
//! and report each problem by row and column, then write everything in one transaction —
//! or nothing. Serials and phones stay text; Excel date serials become dates.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rules::FieldError;
use serde::{Deserialize, Serialize};

use super::archive::{self, CustomerInput, UnitInput};
use super::{Actor, parts};
use crate::db::Db;
use crate::domain::Perm;
use crate::error::{AppError, AppResult};
use crate::i18n::field_error;
use crate::store;
use crate::store::customers::Contact;

pub const MAX_ROWS: usize = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Customers,
    Units,
    Models,
    /// The parts catalogue: a part number already there updates its part.
    Parts,
    /// Opening stock: a receipt per row, and the reorder point and quantity when given.
    Stock,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "customers" => Some(Kind::Customers),
            "units" => Some(Kind::Units),
            "models" => Some(Kind::Models),
            "parts" => Some(Kind::Parts),
            "stock" => Some(Kind::Stock),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Kind::Customers => "customers",
            Kind::Units => "units",
            Kind::Models => "models",
            Kind::Parts => "parts",
            Kind::Stock => "stock",
        }
    }

    /// What importing it takes: the archive's kinds, the parts catalogue, or moving stock too.
    pub fn allowed(self, actor: &Actor) -> bool {
        match self {
            Kind::Customers | Kind::Units | Kind::Models => actor.can(Perm::EditArchive),
            Kind::Parts => actor.can(Perm::ManageParts),
            Kind::Stock => actor.can(Perm::ManageParts) && actor.can(Perm::MoveStock),
        }
    }

    pub fn require(self, actor: &Actor) -> AppResult<()> {
        if self.allowed(actor) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// Target fields and the header names (lower-case) that mean them.
    pub fn fields(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Kind::Customers => &[
                ("name", &["名称", "客户名称", "客户", "单位名称", "姓名", "name", "customer", "customer name"]),
                ("kind", &["类型", "客户类型", "kind", "type"]),
                ("class", &["等级", "客户等级", "级别", "class", "grade"]),
                ("key_customer", &["重点客户", "key customer", "key"]),
                ("region", &["区域", "大区", "region"]),
                ("province", &["省份", "省", "province"]),
                ("city", &["城市", "市", "city"]),
                ("district", &["区县", "区", "district"]),
                ("address", &["地址", "详细地址", "address"]),
                ("phone", &["电话", "联系电话", "手机", "phone", "telephone", "mobile"]),
                ("email", &["电子邮箱", "邮箱", "email", "e-mail"]),
                ("tags", &["标签", "tags"]),
                ("notes", &["备注", "notes", "remarks"]),
                ("contact_name", &["联系人", "contact", "contact name"]),
                ("contact_phone", &["联系人电话", "联系人手机", "contact phone"]),
                ("contact_position", &["职务", "联系人职务", "position"]),
            ],
            Kind::Units => &[
                (
                    "serial",
                    &[
                        "序列号",
                        "序列号 / vin",
                        "机号",
                        "出厂编号",
                        "vin",
                        "serial",
                        "serial number",
                        "serial number / vin",
                    ],
                ),
                ("model", &["型号编码", "型号", "产品型号", "model", "model code"]),
                ("customer_id", &["客户编号", "customer number", "customer id"]),
                (
                    "customer_name",
                    &["客户", "客户名称", "客户（所有人）", "所有人", "customer", "customer (owner)", "owner"],
                ),
                ("dealer", &["销售单位", "经销商", "dealer", "sold by"]),
                ("sale_date", &["销售日期", "购买日期", "sale date", "purchase date"]),
                ("invoice_no", &["发票号", "发票号码", "invoice number", "invoice no"]),
                ("invoice_date", &["发票日期", "开票日期", "invoice date"]),
                ("delivery_date", &["交付日期", "交车日期", "delivery date"]),
                ("install_date", &["安装日期", "installation date", "install date"]),
                (
                    "certificate_no",
                    &["三包凭证编号", "三包凭证", "保修卡号", "三包 certificate number", "certificate number"],
                ),
                ("odometer_km", &["行驶里程（km）", "里程", "行驶里程", "odometer (km)", "odometer"]),
            ],
            Kind::Models => &[
                ("code", &["型号编码", "型号", "model code", "code"]),
                ("name", &["名称", "产品名称", "型号名称", "name"]),
                ("category", &["类别", "产品类别", "类别编码", "category"]),
                ("grade", &["档次", "grade"]),
                ("policy", &["三包政策", "政策", "policy", "entitlement policy"]),
                ("warranty_months", &["保修月数", "保修期（月）", "warranty months"]),
                ("key_parts", &["关键零部件", "key parts"]),
                (
                    "service_interval_months",
                    &["保养周期（月）", "保养周期", "service interval (months)", "service interval"],
                ),
            ],
            Kind::Parts => &[
                ("part_no", PART_NO_NAMES),
                ("name_zh", &["名称", "配件名称", "中文名称", "名称（中文）", "name", "part name", "chinese name"]),
                ("name_en", &["英文名称", "名称（英文）", "english name", "name (en)"]),
                ("key_part", &["关键件", "关键零部件", "key part"]),
                ("serial_tracked", &["序列号管理", "按序列号管理", "serial-tracked", "serial tracked"]),
                (
                    "unit_cost",
                    &["单位成本", "成本", "成本价", "单位成本（元）", "unit cost", "cost", "unit cost (yuan)"],
                ),
                ("price", &["售价", "价格", "销售价", "售价（元）", "price", "price (yuan)"]),
                ("supplier", &["供应商", "supplier"]),
                ("models", &["适用型号", "型号", "models", "fits models", "models fitted"]),
            ],
            Kind::Stock => &[
                ("part_no", PART_NO_NAMES),
                ("warehouse", &["库位", "库位编码", "仓库", "仓库编码", "warehouse", "location", "location code"]),
                ("qty", &["数量", "期初数量", "库存数量", "quantity", "qty", "opening quantity"]),
                ("reorder_point", &["再订货点", "reorder point"]),
                ("reorder_qty", &["订货量", "再订货量", "reorder quantity", "reorder qty"]),
            ],
        }
    }
}

const PART_NO_NAMES: &[&str] = &["配件编号", "配件号", "料号", "物料编码", "part number", "part no", "part_no"];

/// The cells of a sheet as text: the first row holds the headers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Grid {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Reads .xlsx (first sheet) or .csv (UTF-8, with or without BOM, or GB18030 as Excel in
/// China saves it).
pub fn parse_file(filename: &str, bytes: &[u8]) -> Result<Grid, FieldError> {
    let lower = filename.to_lowercase();
    let cells = if lower.ends_with(".xlsx") || bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)?
    } else if lower.ends_with(".csv") || lower.ends_with(".txt") || !lower.contains('.') {
        read_csv(bytes)?
    } else {
        return Err(field_error("file", "import.error_format"));
    };
    let mut it = cells.into_iter().filter(|r| r.iter().any(|c| !c.trim().is_empty()));
    let headers: Vec<String> = it.next().ok_or_else(|| field_error("file", "import.error_empty"))?;
    let headers: Vec<String> = headers.into_iter().map(|h| h.trim().to_string()).collect();
    let rows: Vec<Vec<String>> = it.collect();
    if rows.is_empty() {
        return Err(field_error("file", "import.error_empty"));
    }
    if rows.len() > MAX_ROWS {
        return Err(field_error("file", "import.error_too_many"));
    }
    Ok(Grid { headers, rows })
}

fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, FieldError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.trim_start_matches('\u{feff}').to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    };
    let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut out = vec![];
    for rec in r.records() {
        let rec = rec.map_err(|_| field_error("file", "import.error_unreadable"))?;
        out.push(rec.iter().map(str::to_string).collect());
    }
    Ok(out)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, FieldError> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes)).map_err(|_| field_error("file", "import.error_unreadable"))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| field_error("file", "import.error_empty"))?
        .map_err(|_| field_error("file", "import.error_unreadable"))?;
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    // Whole numbers without ".0": phones and serials typed into number cells.
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::DateTime(d) => date_cell(&(d.as_f64().floor() as i64).to_string()),
                    Data::DateTimeIso(s) => s.chars().take(10).collect(),
                    Data::DurationIso(s) => s.clone(),
                    Data::Error(e) => format!("#{e:?}"),
                })
                .collect()
        })
        .collect())
}

/// For each column, the field it fills, guessed from its header.
pub fn guess_mapping(kind: Kind, headers: &[String]) -> Vec<Option<&'static str>> {
    let mut used = HashSet::new();
    headers
        .iter()
        .map(|h| {
            let h = h.trim().to_lowercase();
            let found = kind.fields().iter().find(|(f, names)| !used.contains(f) && names.contains(&h.as_str()));
            found.map(|(f, _)| {
                used.insert(*f);
                *f
            })
        })
        .collect()
}

/// Checks a mapping chosen in a form: known fields, none twice, the required ones present.
pub fn check_mapping(kind: Kind, mapping: &[Option<String>]) -> Result<Vec<Option<&'static str>>, FieldError> {
    let mut out = vec![];
    let mut seen = HashSet::new();
    for m in mapping {
        match m.as_deref().filter(|m| !m.is_empty()) {
            None => out.push(None),
            Some(m) => {
                let f = kind.fields().iter().find(|(f, _)| *f == m).map(|(f, _)| *f);
                let f = f.ok_or_else(|| field_error("mapping", "import.error_mapping"))?;
                if !seen.insert(f) {
                    return Err(field_error("mapping", "import.error_mapping_twice"));
                }
                out.push(Some(f));
            }
        }
    }
    let required: &[&str] = match kind {
        Kind::Customers => &["name"],
        Kind::Units => &["serial", "model"],
        Kind::Models => &["code", "name", "category", "grade", "policy"],
        Kind::Parts => &["part_no", "name_zh"],
        Kind::Stock => &["part_no", "warehouse", "qty"],
    };
    if required.iter().any(|r| !seen.contains(r)) {
        return Err(field_error("mapping", "import.error_mapping_required"));
    }
    if kind == Kind::Units && !seen.contains("customer_id") && !seen.contains("customer_name") {
        return Err(field_error("mapping", "import.error_mapping_required"));
    }
    Ok(out)
}

/// One problem of one cell (or row) of the file.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The column's header, or empty when the problem is the row's.
    pub column: String,
    pub message_zh: String,
    pub message_en: String,
}

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub rows: usize,
    pub valid: usize,
    pub errors: Vec<RowError>,
    /// Rows written (0 for a check, or when errors stopped the import).
    pub imported: usize,
}

enum Checked {
    Customer(Box<archive::Parsed>),
    Unit(Box<store::units::UnitData>),
    Model(Box<store::products::ModelData>),
    Part(Box<parts::ImportPart>),
    Stock(Box<StockRow>),
}

/// A checked row of opening stock.
struct StockRow {
    part: store::parts::Part,
    warehouse: store::parts::Warehouse,
    qty: i64,
    /// The reorder point and quantity, when the row gives them.
    reorder: Option<(i64, i64)>,
}

/// A whole number in a cell (empty: None), or an error of `field`.
fn count_cell(raw: &str, field: &str, max: i64, key: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    if raw.is_empty() {
        return None;
    }
    match raw.replace([',', ' '], "").parse::<f64>() {
        Ok(v) if v.fract() == 0.0 && (0.0..=max as f64).contains(&v) => Some(v as i64),
        _ => {
            errors.push(field_error(field, key));
            None
        }
    }
}

/// "Same as row 3 of this file" on `field`.
fn duplicate_row(field: &str, first: usize) -> FieldError {
    let args = [("row", first.to_string())];
    let args: Vec<(&str, &str)> = args.iter().map(|(a, b)| (*a, b.as_str())).collect();
    FieldError::new(
        field,
        crate::i18n::tr_args("zh-CN", "import.error_duplicate_row", &args),
        crate::i18n::tr_args("en", "import.error_duplicate_row", &args),
    )
}

fn cell<'a>(row: &'a [String], mapping: &[Option<&'static str>], field: &str) -> &'a str {
    mapping.iter().position(|m| *m == Some(field)).and_then(|i| row.get(i)).map(|s| s.trim()).unwrap_or("")
}

/// Dates typed as text, or Excel serial numbers (days since 1899-12-30) left in a number cell.
fn date_cell(raw: &str) -> String {
    if let Ok(n) = raw.parse::<i64>()
        && (20_000..80_000).contains(&n)
    {
        let base = NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date");
        return (base + chrono::Duration::days(n)).to_string();
    }
    raw.to_string()
}

fn yes(raw: &str) -> bool {
    matches!(raw.trim().to_lowercase().as_str(), "是" | "y" | "yes" | "true" | "1" | "重点" | "√")
}

/// The two phases of an import, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Check,
    Write,
}

impl Phase {
    pub fn code(self) -> &'static str {
        match self {
            Phase::Check => "check",
            Phase::Write => "write",
        }
    }
}

/// Told how far an import has come: phase, rows done, rows in the phase.
pub type Progress<'a> = &'a (dyn Fn(Phase, usize, usize) + Sync);

/// Rows between two progress reports.
const PROGRESS_EVERY: usize = 500;
/// Customers or units written per round of multi-row statements (a progress report after each).
const BULK_ROWS: usize = 2000;

/// Validates every row; returns the report and the rows ready to write.
async fn check_rows(
    db: &Db,
    actor: &Actor,
    kind: Kind,
    grid: &Grid,
    mapping: &[Option<&'static str>],
    allow_duplicates: bool,
    progress: Progress<'_>,
) -> AppResult<(Report, Vec<Checked>)> {
    let mut report = Report { rows: grid.rows.len(), ..Default::default() };
    let mut ready = vec![];
    let header_of = |field: &str| -> String {
        let base = field.split(['[', '.']).next().unwrap_or(field);
        let target = match (kind, base) {
            (Kind::Customers, "contacts") => {
                if field.ends_with(".phone") {
                    "contact_phone"
                } else {
                    "contact_name"
                }
            }
            (Kind::Parts, "unit_cost_cents") => "unit_cost",
            (Kind::Parts, "price_cents") => "price",
            (Kind::Parts, "model_ids") => "models",
            _ => base,
        };
        mapping.iter().position(|m| *m == Some(target)).and_then(|i| grid.headers.get(i).cloned()).unwrap_or_default()
    };
    let mut seen_keys: HashMap<String, usize> = HashMap::new();
    let mut customer_by_name: HashMap<String, Option<i64>> = HashMap::new();
    let region_codes: Vec<String> = {
        let mut c = db.read().await?;
        store::settings::regions(c.conn()).await?.into_iter().map(|r| r.code).collect()
    };
    // The catalogues the parts kinds look rows up in (tens to thousands of entries).
    let mut model_codes: HashMap<String, i64> = HashMap::new();
    let mut parts_by_no: HashMap<String, Option<store::parts::Part>> = HashMap::new();
    let mut warehouses_by_code: HashMap<String, Option<store::parts::Warehouse>> = HashMap::new();
    if kind == Kind::Parts {
        model_codes = parts::models(db).await?.into_iter().map(|m| (m.code.to_ascii_uppercase(), m.id)).collect();
    }
    let total = grid.rows.len();
    for (i, row) in grid.rows.iter().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            progress(Phase::Check, i, total);
        }
        let row_no = i + 2;
        let push = |errs: Vec<FieldError>, report: &mut Report| {
            for e in errs {
                report.errors.push(RowError {
                    row: row_no,
                    column: header_of(&e.field),
                    message_zh: e.message_zh,
                    message_en: e.message_en,
                });
            }
        };
        match kind {
            Kind::Customers => {
                let contact_name = cell(row, mapping, "contact_name");
                let contact_phone = cell(row, mapping, "contact_phone");
                let input = CustomerInput {
                    kind: cell(row, mapping, "kind").into(),
                    name: cell(row, mapping, "name").into(),
                    class: cell(row, mapping, "class").into(),
                    key_customer: yes(cell(row, mapping, "key_customer")),
                    region: cell(row, mapping, "region").into(),
                    province: cell(row, mapping, "province").into(),
                    city: cell(row, mapping, "city").into(),
                    district: cell(row, mapping, "district").into(),
                    address: cell(row, mapping, "address").into(),
                    phone: cell(row, mapping, "phone").into(),
                    email: cell(row, mapping, "email").into(),
                    tags: cell(row, mapping, "tags").into(),
                    notes: cell(row, mapping, "notes").into(),
                    contacts: if contact_name.is_empty() && contact_phone.is_empty() {
                        vec![]
                    } else {
                        vec![Contact {
                            name: contact_name.into(),
                            phone: Some(contact_phone.into()),
                            email: None,
                            position: cell(row, mapping, "contact_position").into(),
                        }]
                    },
                    ..Default::default()
                };
                match archive::parse_customer_with(db, actor, &input, Some(&region_codes)).await {
                    Ok(p) => {
                        let mut dup_errors = vec![];
                        if !allow_duplicates {
                            // Inside the file: the same phone, or the same name in the same city.
                            let mut keys: Vec<String> = p.phones.iter().map(|ph| format!("p:{ph}")).collect();
                            keys.push(format!("n:{}|{}", p.data.name, p.data.city));
                            for k in keys {
                                if let Some(first) = seen_keys.get(&k) {
                                    let args = [("row", first.to_string())];
                                    let args: Vec<(&str, &str)> = args.iter().map(|(a, b)| (*a, b.as_str())).collect();
                                    dup_errors.push(FieldError::new(
                                        "name",
                                        crate::i18n::tr_args("zh-CN", "import.error_duplicate_row", &args),
                                        crate::i18n::tr_args("en", "import.error_duplicate_row", &args),
                                    ));
                                    break;
                                }
                                seen_keys.insert(k, row_no);
                            }
                            let mut c = db.read().await?;
                            let dups = store::customers::possible_duplicates(
                                c.conn(),
                                &p.phones,
                                &p.data.name,
                                &p.data.city,
                                None,
                            )
                            .await?;
                            dup_errors.extend(dups.iter().map(|d| {
                                let args = [("name", d.name.as_str()), ("id", &d.id.to_string())];
                                FieldError::new(
                                    "name",
                                    crate::i18n::tr_args("zh-CN", "error.possible_duplicate_import", &args),
                                    crate::i18n::tr_args("en", "error.possible_duplicate_import", &args),
                                )
                            }));
                        }
                        if dup_errors.is_empty() {
                            report.valid += 1;
                            ready.push(Checked::Customer(Box::new(p)));
                        } else {
                            push(dup_errors, &mut report);
                        }
                    }
                    Err(AppError::Validation(errs)) => push(errs, &mut report),
                    Err(e) => return Err(e),
                }
            }
            Kind::Models => {
                let mut pre = vec![];
                let months = cell(row, mapping, "warranty_months");
                let warranty_months = match months {
                    "" => None,
                    raw => raw.parse().map(Some).unwrap_or_else(|_| {
                        pre.push(field_error("warranty_months", "error.number"));
                        None
                    }),
                };
                let service_interval_months = match cell(row, mapping, "service_interval_months") {
                    "" => None,
                    raw => raw.parse().map(Some).unwrap_or_else(|_| {
                        pre.push(field_error("service_interval_months", "error.number"));
                        None
                    }),
                };
                let input = archive::ModelInput {
                    code: cell(row, mapping, "code").into(),
                    name: cell(row, mapping, "name").into(),
                    category: cell(row, mapping, "category").into(),
                    grade: cell(row, mapping, "grade").into(),
                    policy: cell(row, mapping, "policy").into(),
                    warranty_months,
                    key_parts: cell(row, mapping, "key_parts").into(),
                    service_interval_months,
                    version: None,
                };
                let code_key = format!("m:{}", input.code.trim().to_ascii_uppercase());
                if let Some(first) = seen_keys.get(&code_key) {
                    let args = [("row", first.to_string())];
                    let args: Vec<(&str, &str)> = args.iter().map(|(a, b)| (*a, b.as_str())).collect();
                    pre.push(FieldError::new(
                        "code",
                        crate::i18n::tr_args("zh-CN", "import.error_duplicate_row", &args),
                        crate::i18n::tr_args("en", "import.error_duplicate_row", &args),
                    ));
                } else {
                    seen_keys.insert(code_key, row_no);
                }
                match archive::parse_model(db, &input).await {
                    Ok(d) => {
                        let mut c = db.read().await?;
                        if store::products::model_by_code(c.conn(), &d.code).await?.is_some() {
                            pre.push(field_error("code", "error.model_code_taken"));
                        }
                        if pre.is_empty() {
                            report.valid += 1;
                            ready.push(Checked::Model(Box::new(d)));
                        } else {
                            push(pre, &mut report);
                        }
                    }
                    Err(AppError::Validation(errs)) => {
                        pre.extend(errs);
                        push(pre, &mut report)
                    }
                    Err(e) => return Err(e),
                }
            }
            Kind::Parts => {
                let mut pre = vec![];
                let unit_cost = parts::parse_yuan(cell(row, mapping, "unit_cost")).unwrap_or_else(|_| {
                    pre.push(field_error("unit_cost", "part.error.amount"));
                    None
                });
                let price = parts::parse_yuan(cell(row, mapping, "price")).unwrap_or_else(|_| {
                    pre.push(field_error("price", "part.error.amount"));
                    None
                });
                let mut model_ids = vec![];
                for code in cell(row, mapping, "models")
                    .split(['、', ',', ';', '，', '；', '\n'])
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                {
                    match model_codes.get(&code.to_ascii_uppercase()) {
                        Some(id) => model_ids.push(*id),
                        None => {
                            let args = [("code", code)];
                            pre.push(FieldError::new(
                                "models",
                                crate::i18n::tr_args("zh-CN", "part.error.unknown_model_code", &args),
                                crate::i18n::tr_args("en", "part.error.unknown_model_code", &args),
                            ));
                        }
                    }
                }
                let input = parts::PartInput {
                    part_no: cell(row, mapping, "part_no").into(),
                    name_zh: cell(row, mapping, "name_zh").into(),
                    name_en: cell(row, mapping, "name_en").into(),
                    key_part: yes(cell(row, mapping, "key_part")),
                    serial_tracked: yes(cell(row, mapping, "serial_tracked")),
                    unit_cost_cents: unit_cost.unwrap_or(0),
                    price_cents: price.unwrap_or(0),
                    supplier: cell(row, mapping, "supplier").into(),
                    model_ids: vec![],
                };
                let (data, errs) = parts::part_errors(&input);
                let key = format!("p:{}", data.part_no);
                if !data.part_no.is_empty() {
                    match seen_keys.get(&key).copied() {
                        Some(first) => pre.push(duplicate_row("part_no", first)),
                        None => {
                            seen_keys.insert(key, row_no);
                        }
                    }
                }
                pre.extend(errs);
                if pre.is_empty() {
                    report.valid += 1;
                    model_ids.sort_unstable();
                    model_ids.dedup();
                    ready.push(Checked::Part(Box::new(parts::ImportPart { data, model_ids })));
                } else {
                    push(pre, &mut report);
                }
            }
            Kind::Stock => {
                let mut pre = vec![];
                let part_no = cell(row, mapping, "part_no").to_ascii_uppercase();
                let code = cell(row, mapping, "warehouse").to_ascii_uppercase();
                if !parts_by_no.contains_key(&part_no) {
                    let mut c = db.read().await?;
                    let found = store::parts::part_by_no(c.conn(), &part_no).await?;
                    parts_by_no.insert(part_no.clone(), found);
                }
                if !warehouses_by_code.contains_key(&code) {
                    let mut c = db.read().await?;
                    let found = store::parts::warehouse_by_code(c.conn(), &code).await?;
                    warehouses_by_code.insert(code.clone(), found);
                }
                let part = parts_by_no[&part_no].clone();
                let warehouse = warehouses_by_code[&code].clone();
                match (&part, part_no.is_empty()) {
                    (_, true) => pre.push(field_error("part_no", "error.required")),
                    (None, false) => pre.push(field_error("part_no", "part.error.unknown_part")),
                    // Inactive parts are received no more (their stock stays as it is).
                    (Some(p), _) if !p.active => pre.push(field_error("part_no", "stock.error.inactive_part")),
                    _ => {}
                }
                match (&warehouse, code.is_empty()) {
                    (_, true) => pre.push(field_error("warehouse", "error.required")),
                    (None, false) => pre.push(field_error("warehouse", "warehouse.error.unknown")),
                    (Some(w), _) if !w.active => pre.push(field_error("warehouse", "warehouse.error.inactive")),
                    _ => {}
                }
                let max = rules::parts::MAX_QTY;
                let qty = count_cell(cell(row, mapping, "qty"), "qty", max, "warehouse.error.qty", &mut pre);
                let key = "warehouse.error.reorder";
                let point = count_cell(cell(row, mapping, "reorder_point"), "reorder_point", max, key, &mut pre);
                let reorder_qty = count_cell(cell(row, mapping, "reorder_qty"), "reorder_qty", max, key, &mut pre);
                if let (Some(p), Some(w)) = (&part, &warehouse) {
                    let key = format!("s:{}:{}", w.id, p.id);
                    match seen_keys.get(&key).copied() {
                        Some(first) => pre.push(duplicate_row("part_no", first)),
                        None => {
                            seen_keys.insert(key, row_no);
                        }
                    }
                }
                let reorder = match (point, reorder_qty) {
                    (None, None) => None,
                    (p, q) => Some((p.unwrap_or(0), q.unwrap_or(0))),
                };
                match (part, warehouse) {
                    (Some(part), Some(warehouse)) if pre.is_empty() => {
                        report.valid += 1;
                        let qty = qty.unwrap_or(0);
                        ready.push(Checked::Stock(Box::new(StockRow { part, warehouse, qty, reorder })));
                    }
                    _ => push(pre, &mut report),
                }
            }
            Kind::Units => {
                let mut pre = vec![];
                let customer_id = match cell(row, mapping, "customer_id") {
                    "" => {
                        let name = cell(row, mapping, "customer_name").to_string();
                        if !customer_by_name.contains_key(&name) {
                            let found = find_customer_by_name(db, actor, &name).await?;
                            customer_by_name.insert(name.clone(), found);
                        }
                        customer_by_name[&name].unwrap_or(0)
                    }
                    raw => raw.parse().unwrap_or_else(|_| {
                        pre.push(field_error("customer_id", "error.number"));
                        0
                    }),
                };
                let odometer = cell(row, mapping, "odometer_km");
                let odometer_km = match odometer {
                    "" => None,
                    raw => match raw.replace([',', ' '], "").parse::<f64>() {
                        Ok(v) => Some(v.round() as i64),
                        Err(_) => {
                            pre.push(field_error("odometer_km", "error.number"));
                            None
                        }
                    },
                };
                let input = UnitInput {
                    serial: cell(row, mapping, "serial").into(),
                    model: cell(row, mapping, "model").into(),
                    customer_id,
                    dealer: cell(row, mapping, "dealer").into(),
                    sale_date: date_cell(cell(row, mapping, "sale_date")),
                    invoice_no: cell(row, mapping, "invoice_no").into(),
                    invoice_date: date_cell(cell(row, mapping, "invoice_date")),
                    delivery_date: date_cell(cell(row, mapping, "delivery_date")),
                    install_date: date_cell(cell(row, mapping, "install_date")),
                    certificate_no: cell(row, mapping, "certificate_no").into(),
                    odometer_km,
                    version: None,
                };
                let serial_key = format!("s:{}", input.serial.trim().to_ascii_uppercase());
                if let Some(first) = seen_keys.get(&serial_key) {
                    let args = [("row", first.to_string())];
                    let args: Vec<(&str, &str)> = args.iter().map(|(a, b)| (*a, b.as_str())).collect();
                    pre.push(FieldError::new(
                        "serial",
                        crate::i18n::tr_args("zh-CN", "import.error_duplicate_row", &args),
                        crate::i18n::tr_args("en", "import.error_duplicate_row", &args),
                    ));
                } else {
                    seen_keys.insert(serial_key, row_no);
                }
                match archive::parse_unit(db, actor, &input, None).await {
                    Ok(d) if pre.is_empty() => {
                        report.valid += 1;
                        ready.push(Checked::Unit(Box::new(d)));
                    }
                    Ok(_) => push(pre, &mut report),
                    Err(AppError::Validation(errs)) => {
                        pre.extend(errs);
                        push(pre, &mut report)
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    progress(Phase::Check, total, total);
    // As a spreadsheet reads: by row, then left to right.
    let col = |name: &str| grid.headers.iter().position(|h| h == name).unwrap_or(usize::MAX);
    report.errors.sort_by_key(|e| (e.row, col(&e.column)));
    Ok((report, ready))
}

/// A customer of the caller's regions with exactly this name (None when none or several).
async fn find_customer_by_name(db: &Db, actor: &Actor, name: &str) -> AppResult<Option<i64>> {
    if name.is_empty() {
        return Ok(None);
    }
    let mut c = db.read().await?;
    let found = store::customers::by_exact_name(c.conn(), name, archive::region_scope(actor).as_deref()).await?;
    Ok(if found.len() == 1 { Some(found[0]) } else { None })
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Accept rows that look like existing customers (same phone, or name and city).
    pub allow_duplicates: bool,
    /// Write the valid rows even when others have errors.
    pub only_valid: bool,
    /// Write (true) or only check (false).
    pub commit: bool,
}

/// Checks every row, or checks and then writes all valid rows in one transaction. With
/// errors and without `only_valid`, nothing is written.
pub async fn run(
    db: &Db,
    actor: &Actor,
    kind: Kind,
    grid: &Grid,
    mapping: &[Option<&'static str>],
    o: Options,
    progress: Progress<'_>,
) -> AppResult<Report> {
    kind.require(actor)?;
    let started = std::time::Instant::now();
    let (mut report, ready) = check_rows(db, actor, kind, grid, mapping, o.allow_duplicates, progress).await?;
    tracing::info!(
        kind = kind.code(),
        rows = report.rows,
        valid = report.valid,
        seconds = started.elapsed().as_secs_f64(),
        "import checked"
    );
    if !o.commit || ready.is_empty() || (!report.errors.is_empty() && !o.only_valid) {
        return Ok(report);
    }
    let now = Utc::now();
    let total = ready.len();
    // Customers and units go in bulk: customers' search terms first, on every core and outside
    // the transaction, then multi-row statements.
    let mut customers = vec![];
    let mut units = vec![];
    let mut models = vec![];
    let mut part_rows = vec![];
    let mut stock_rows = vec![];
    for item in ready {
        match item {
            Checked::Customer(p) => customers.push(*p),
            Checked::Unit(d) => units.push(*d),
            Checked::Model(d) => models.push(*d),
            Checked::Part(p) => part_rows.push(*p),
            Checked::Stock(s) => stock_rows.push(*s),
        }
    }
    let mut customers = archive::index_customers(customers).await?;
    let mut tx = db.begin().await?;
    while !customers.is_empty() {
        progress(Phase::Write, report.imported, total);
        let rest = customers.split_off(customers.len().min(BULK_ROWS));
        let chunk = std::mem::replace(&mut customers, rest);
        report.imported += archive::insert_customers_bulk(&mut tx, db.backend(), actor, chunk, now).await?;
    }
    while !units.is_empty() {
        progress(Phase::Write, report.imported, total);
        let rest = units.split_off(units.len().min(BULK_ROWS));
        let chunk = std::mem::replace(&mut units, rest);
        report.imported += archive::insert_units_bulk(&mut tx, db.backend(), actor, chunk, now).await?;
    }
    // Catalogues are small: models are written one by one.
    for d in models {
        if report.imported % PROGRESS_EVERY == 0 {
            progress(Phase::Write, report.imported, total);
        }
        archive::insert_model(&mut tx, actor, &d, now).await?;
        report.imported += 1;
    }
    for p in part_rows {
        if report.imported % PROGRESS_EVERY == 0 {
            progress(Phase::Write, report.imported, total);
        }
        parts::import_part(&mut tx, actor, &p, now).await?;
        report.imported += 1;
    }
    for s in stock_rows {
        if report.imported % PROGRESS_EVERY == 0 {
            progress(Phase::Write, report.imported, total);
        }
        write_stock_row(&mut tx, actor, &s, now).await?;
        report.imported += 1;
    }
    super::audit::record::<(), _>(
        &mut tx,
        actor,
        now,
        "import",
        kind.code(),
        "-",
        None,
        Some(&serde_json::json!({"rows": report.rows, "imported": report.imported, "skipped": report.rows - report.imported})),
    )
    .await?;
    tx.commit().await?;
    progress(Phase::Write, total, total);
    tracing::info!(
        kind = kind.code(),
        imported = report.imported,
        seconds = started.elapsed().as_secs_f64(),
        "import written"
    );
    Ok(report)
}

/// Opening stock: the pieces arrive as a receipt, then the reorder point is set when given.
async fn write_stock_row(tx: &mut crate::db::Tx, actor: &Actor, s: &StockRow, now: DateTime<Utc>) -> AppResult<()> {
    if s.qty > 0 {
        let note = crate::i18n::tr("zh-CN", "part.opening_stock");
        super::stock::receive_in_tx(tx, actor, s.part.id, s.warehouse.id, s.qty, &note, now).await?;
    }
    if let Some((point, qty)) = s.reorder {
        parts::reorder_in_tx(tx, actor, &s.warehouse, &s.part, point, qty, now).await?;
    }
    Ok(())
}

/// Keeps an uploaded file (as parsed cells) for the preview and the import that follow.
pub async fn store_upload(db: &Db, actor: &Actor, kind: Kind, filename: &str, grid: &Grid) -> AppResult<i64> {
    kind.require(actor)?;
    let user_id = actor.user_id.ok_or(AppError::Unauthorized)?;
    let json = serde_json::to_string(grid).map_err(anyhow::Error::from)?;
    let mut tx = db.begin().await?;
    let id = store::imports::insert(tx.conn(), user_id, kind.code(), filename, &json, Utc::now()).await?;
    tx.commit().await?;
    Ok(id)
}

/// An upload of the caller's (someone else's is "not found").
pub async fn load_upload(db: &Db, actor: &Actor, id: i64) -> AppResult<(Kind, String, Grid)> {
    let mut c = db.read().await?;
    let u = store::imports::get(c.conn(), id).await?.ok_or(AppError::NotFound)?;
    if Some(u.user_id) != actor.user_id {
        return Err(AppError::NotFound);
    }
    let kind = Kind::parse(&u.kind).ok_or(AppError::NotFound)?;
    let grid: Grid = serde_json::from_str(&u.grid_json).map_err(anyhow::Error::from)?;
    Ok((kind, u.filename, grid))
}

pub async fn forget_upload(db: &Db, id: i64) -> AppResult<()> {
    let mut tx = db.begin().await?;
    store::imports::delete(tx.conn(), id).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_gb18030_and_utf8_with_bom() {
        let text = "客户名称,电话\n华联商厦,021-58881234\n";
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        let g = parse_file("x.csv", &gbk).unwrap();
        assert_eq!(g.headers, vec!["客户名称", "电话"]);
        assert_eq!(g.rows[0][0], "华联商厦");
        let bom = format!("\u{feff}{text}");
        assert_eq!(parse_file("x.csv", bom.as_bytes()).unwrap().headers[0], "客户名称");
        assert!(parse_file("x.csv", b"name\n").is_err(), "a header without rows is empty");
        assert!(parse_file("x.pdf", b"%PDF").is_err());
    }

    #[test]
    fn headers_map_in_both_languages() {
        let h: Vec<String> =
            ["序列号", "Model code", "客户", "发票日期", "whatever"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            guess_mapping(Kind::Units, &h),
            vec![Some("serial"), Some("model"), Some("customer_name"), Some("invoice_date"), None]
        );
        assert!(check_mapping(Kind::Units, &[Some("serial".into()), Some("model".into())]).is_err(), "no customer");
        assert!(check_mapping(Kind::Customers, &[Some("name".into()), Some("name".into())]).is_err());
    }

    #[test]
    fn excel_date_serials() {
        assert_eq!(date_cell("45352"), "2024-03-01");
        assert_eq!(date_cell("2024-03-01"), "2024-03-01");
        assert_eq!(date_cell("123"), "123");
    }
}
