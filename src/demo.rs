//! The demo company: regions, a company name and one user of every role, so that a newcomer
//! can sign in and look around. Each step is idempotent, so an interrupted load completes on
//! the next start. Later capabilities add their own demo records here.

use crate::db::Db;
use crate::domain::Role;
use crate::error::AppError;
use crate::service::{Actor, users};
use crate::{on_conn, store};

pub const DEMO_PASSWORD: &str = "demo1234";

/// (login, display name, roles, region)
pub const DEMO_USERS: &[(&str, &str, &[Role], Option<&str>)] = &[
    ("admin", "系统管理员", &[Role::Admin], None),
    ("gm", "王建国", &[Role::GeneralManager], None),
    ("manager", "李明", &[Role::ServiceManager], None),
    ("dispatcher", "陈静", &[Role::Dispatcher], Some("east")),
    ("quality", "赵强", &[Role::Quality], None),
    ("engineer", "张伟", &[Role::Engineer], Some("east")),
    ("engineer2", "刘洋", &[Role::Engineer], Some("south")),
    ("warehouse", "孙丽", &[Role::Warehouse], None),
];

const REGIONS: &[(&str, &str, &str)] = &[
    ("east", "华东区", "East China"),
    ("south", "华南区", "South China"),
    ("north", "华北区", "North China"),
    ("southwest", "西南区", "Southwest China"),
];

/// Loads the demo company into an empty database; does nothing where users already exist
/// unless they are the demo's own (an interrupted load).
pub async fn load(db: &Db) -> anyhow::Result<bool> {
    {
        let mut c = db.read().await?;
        let n = store::users::count(c.conn()).await?;
        let done = store::settings::get(c.conn(), "demo_loaded").await?.is_some();
        if done || (n > 0 && store::users::by_login(c.conn(), "admin").await?.is_none()) {
            return Ok(false);
        }
    }
    let mut tx = db.begin().await?;
    for (code, zh, en) in REGIONS {
        on_conn!(tx.conn(), |e| {
            sqlx::query(
                "INSERT INTO regions (code, name_zh, name_en) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING",
            )
            .bind(code)
            .bind(zh)
            .bind(en)
            .execute(&mut *e)
            .await
            .map(|_| ())
        })?;
    }
    store::settings::set(tx.conn(), "company_name", "华信机电设备有限公司").await?;
    store::settings::set(tx.conn(), "service_hotline", "400-820-8820").await?;
    tx.commit().await?;

    let actor = Actor::system("demo");
    for (login, name, roles, region) in DEMO_USERS {
        let input = users::NewUserInput {
            login: login.to_string(),
            display_name: name.to_string(),
            password: DEMO_PASSWORD.into(),
            email: format!("{login}@demo.example.cn"),
            phone: String::new(),
            roles: roles.iter().map(|r| r.code().to_string()).collect(),
            region: region.unwrap_or("").to_string(),
            locale: "zh-CN".into(),
        };
        match users::create(db, &actor, &input, None).await {
            Ok(_) => {}
            Err(AppError::Validation(v)) if v.iter().any(|f| f.field == "login") => {} // already there
            Err(e) => anyhow::bail!("loading the demo user {login} failed: {e:?}"),
        }
    }
    load_archive(db, &actor).await?;
    load_work_orders(db, &actor).await?;
    load_parts(db, &actor).await?;
    load_handbook(db).await?;
    let mut tx = db.begin().await?;
    store::settings::set(tx.conn(), "demo_loaded", &chrono::Utc::now().to_rfc3339()).await?;
    tx.commit().await?;
    Ok(true)
}

/// The service handbook's first revision: drafted by the service manager from the standard
/// chapters, issued by the general manager.
async fn load_handbook(db: &Db) -> anyhow::Result<()> {
    let as_user = |login: &'static str, role: Role| async move {
        let mut c = db.read().await?;
        let u = store::users::by_login(c.conn(), login).await?.ok_or_else(|| anyhow::anyhow!("demo user {login}"))?;
        anyhow::Ok(Actor {
            user_id: Some(u.id),
            label: u.display_name,
            roles: vec![role],
            region_code: None,
            ip: None,
            request_id: None,
        })
    };
    let manager = as_user("manager", Role::ServiceManager).await?;
    let gm = as_user("gm", Role::GeneralManager).await?;
    let fail = |e: AppError| anyhow::anyhow!("loading the demo handbook failed: {e:?}");
    let d = crate::service::handbook::save_draft(db, &manager, &crate::service::handbook::template())
        .await
        .map_err(fail)?;
    let issue = crate::service::handbook::IssueInput {
        version: d.version,
        change_summary: "首次发布".into(),
        effective_on: None,
    };
    crate::service::handbook::issue(db, &gm, &issue).await.map_err(fail)?;
    Ok(())
}

/// Categories, models, customers of every class and region, and units sold at dates that
/// show each warranty state (7-day window, 15-day window, in warranty, expired).
async fn load_archive(db: &Db, actor: &Actor) -> anyhow::Result<()> {
    use crate::service::archive::{self, CustomerInput, ModelInput, UnitInput};
    use crate::store::customers::Contact;
    {
        let mut c = db.read().await?;
        if !store::products::categories(c.conn()).await?.is_empty() {
            return Ok(());
        }
    }
    let mut tx = db.begin().await?;
    for (code, zh, en) in [
        ("air_conditioner", "空调", "Air conditioner"),
        ("compressor", "压缩机组", "Compressor unit"),
        ("vehicle", "家用电动汽车", "Electric car"),
        ("fan", "小家电", "Small appliance"),
    ] {
        let cat = store::products::Category { code: code.into(), name_zh: zh.into(), name_en: en.into() };
        store::products::upsert_category(tx.conn(), &cat).await?;
    }
    tx.commit().await?;
    let fail = |what: &str, e: AppError| anyhow::anyhow!("loading the demo {what} failed: {e:?}");
    for (code, name, cat, grade, policy, parts) in [
        ("HX-KF35", "华信 KF35 壁挂式变频空调", "air_conditioner", "high", "seed-company", "压缩机, 控制器, 电机"),
        ("HX-LG120", "华信 LG120 螺杆压缩机组", "compressor", "high", "seed-company", "压缩机, 控制器, 电机, 轴承"),
        ("HX-EV01", "华信 EV01 家用电动汽车", "vehicle", "high", "cn-car-2021", "驱动电机, 动力电池, 控制器"),
        ("HX-FS10", "华信 FS10 台式电风扇", "fan", "low", "cn-general-1995", "电机"),
    ] {
        let m = ModelInput {
            code: code.into(),
            name: name.into(),
            category: cat.into(),
            grade: grade.into(),
            policy: policy.into(),
            key_parts: parts.into(),
            // Compressor units are serviced twice a year (maintenance reminders, R6.3).
            service_interval_months: (code == "HX-LG120").then_some(6),
            ..Default::default()
        };
        archive::create_model(db, actor, &m).await.map_err(|e| fail("model", e))?;
    }
    let contact = |name: &str, phone: &str, position: &str| Contact {
        name: name.into(),
        phone: Some(phone.into()),
        email: None,
        position: position.into(),
    };
    let customers = [
        (
            "上海浦东华联商厦有限公司",
            "company",
            "A",
            true,
            "east",
            "上海市",
            "上海市",
            "浦东新区",
            "张江路88号",
            "021-58881234",
            "商场, 中央空调",
            "商场三楼机房有两台螺杆机，夏季高峰前需安排保养。",
            vec![contact("王建华", "13800138001", "工程部经理")],
        ),
        (
            "杭州西溪花园业主 张晓明",
            "person",
            "C",
            false,
            "east",
            "浙江省",
            "杭州市",
            "西湖区",
            "西溪花园 12 幢 302 室",
            "13912345678",
            "个人用户",
            "",
            vec![],
        ),
        (
            "广州天河宏远物业管理有限公司",
            "company",
            "B",
            false,
            "south",
            "广东省",
            "广州市",
            "天河区",
            "天河北路 233 号",
            "020-38765432",
            "物业, 经销商",
            "管理 6 个小区，空调维修需求集中在 6–9 月。",
            vec![contact("李倩", "13602001234", "采购主管")],
        ),
        (
            "北京中关村科技园服务中心",
            "company",
            "A",
            true,
            "north",
            "北京市",
            "北京市",
            "海淀区",
            "中关村大街 1 号",
            "010-62551234",
            "政府园区",
            "重点客户，每半年上门回访。",
            vec![contact("赵刚", "13701001234", "后勤处长")],
        ),
        (
            "成都锦江宾馆",
            "company",
            "B",
            false,
            "southwest",
            "四川省",
            "成都市",
            "锦江区",
            "人民南路二段 80 号",
            "028-85551234",
            "酒店",
            "",
            vec![contact("周敏", "13808001234", "设备主管")],
        ),
    ];
    let mut ids = vec![];
    for (name, kind, class, key, region, province, city, district, address, phone, tags, notes, contacts) in customers {
        let input = CustomerInput {
            kind: kind.into(),
            name: name.into(),
            class: class.into(),
            key_customer: key,
            region: region.into(),
            province: province.into(),
            city: city.into(),
            district: district.into(),
            address: address.into(),
            phone: phone.into(),
            tags: tags.into(),
            notes: notes.into(),
            contacts,
            ..Default::default()
        };
        ids.push(archive::create_customer(db, actor, &input, None).await.map_err(|e| fail("customer", e))?.customer.id);
    }
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let ago = |days: i64| (today - chrono::Duration::days(days)).to_string();
    let units = [
        ("KF35A0001", "HX-KF35", 1, 5, None),
        ("KF35A0002", "HX-KF35", 0, 12, None),
        ("LG120B0007", "HX-LG120", 0, 400, None),
        ("LG120B0008", "HX-LG120", 3, 800, None),
        ("FS10C0100", "HX-FS10", 1, 500, None),
        ("LHXEV01A5N0000123", "HX-EV01", 2, 45, Some(2800)),
        ("KF35A0010", "HX-KF35", 4, 200, None),
    ];
    for (i, (serial, model, owner, days, km)) in units.into_iter().enumerate() {
        let sold = ago(days);
        let input = UnitInput {
            serial: serial.into(),
            model: model.into(),
            customer_id: ids[owner],
            dealer: "华信机电华东销售公司".into(),
            sale_date: sold.clone(),
            invoice_no: format!("FP{:08}", 31_000_000 + i * 7919),
            invoice_date: sold.clone(),
            install_date: sold,
            certificate_no: format!("SB-{serial}"),
            odometer_km: km,
            ..Default::default()
        };
        archive::create_unit(db, actor, &input, None).await.map_err(|e| fail("unit", e))?;
    }
    Ok(())
}

/// The fault catalogue shipped for the demo's product categories: (category, code, zh, en).
pub const FAULT_CODES: &[(&str, &str, &str, &str)] = &[
    ("air_conditioner", "AC-E1", "不制冷/制冷差", "poor or no cooling"),
    ("air_conditioner", "AC-E2", "室内机漏水", "indoor unit leaks water"),
    ("air_conditioner", "AC-E3", "压缩机不启动", "compressor does not start"),
    ("air_conditioner", "AC-E4", "噪音或振动异常", "abnormal noise or vibration"),
    ("air_conditioner", "AC-E5", "控制器/遥控故障", "controller or remote fault"),
    ("compressor", "CP-E1", "排气温度过高", "discharge temperature too high"),
    ("compressor", "CP-E2", "油压低", "low oil pressure"),
    ("compressor", "CP-E3", "电机过载保护", "motor overload trip"),
    ("compressor", "CP-E4", "轴承磨损", "bearing wear"),
    ("vehicle", "EV-E1", "动力电池故障", "traction battery fault"),
    ("vehicle", "EV-E2", "驱动电机异响", "drive motor noise"),
    ("vehicle", "EV-E3", "充电故障", "charging fault"),
    ("fan", "FS-E1", "电机不转", "motor does not turn"),
    ("fan", "FS-E2", "摇头失灵", "oscillation fails"),
];

/// Writes the shipped fault catalogue for the product categories the database has (inside the
/// caller's transaction; existing codes keep their place and get these names).
pub async fn install_fault_codes(tx: &mut crate::db::Tx) -> anyhow::Result<()> {
    let categories: Vec<String> = store::products::categories(tx.conn()).await?.into_iter().map(|c| c.code).collect();
    for &(cat, code, zh, en) in FAULT_CODES.iter().filter(|f| categories.iter().any(|c| c == f.0)) {
        let f = store::work_orders::FaultCode {
            category_code: cat.into(),
            code: code.into(),
            name_zh: zh.into(),
            name_en: en.into(),
        };
        store::work_orders::upsert_fault_code(tx.conn(), &f).await?;
    }
    Ok(())
}

/// The fault catalogue of each category, the engineers' skills, and a few requests in
/// different states so that the dispatch board and an engineer's phone have something to show.
async fn load_work_orders(db: &Db, actor: &Actor) -> anyhow::Result<()> {
    use crate::service::work_orders::{self as wo, ActionInput, IntakeInput};
    let mut tx = db.begin().await?;
    install_fault_codes(&mut tx).await?;
    let mut engineer_ids = vec![];
    for (login, skills) in [
        ("engineer", &["air_conditioner", "compressor"][..]),
        ("engineer2", &["air_conditioner", "fan", "vehicle"][..]),
    ] {
        if let Some(u) = store::users::by_login(tx.conn(), login).await? {
            let skills: Vec<String> = skills.iter().map(|s| s.to_string()).collect();
            store::work_orders::set_skills(tx.conn(), u.id, &skills).await?;
            engineer_ids.push(u.id);
        }
    }
    tx.commit().await?;
    let fail = |what: &str, e: AppError| anyhow::anyhow!("loading the demo {what} failed: {e:?}");
    // A team in each engineer's region, led by its engineer (the dashboard's team filter).
    for (name, region, login) in [("华东维修一组", "east", "engineer"), ("华南服务组", "south", "engineer2")]
    {
        let member = {
            let mut c = db.read().await?;
            store::users::by_login(c.conn(), login).await?
        };
        let Some(u) = member else { continue };
        let input = crate::service::teams::TeamInput {
            name: name.into(),
            region: region.into(),
            leader_id: Some(u.id),
            members: vec![u.id],
        };
        match crate::service::teams::create(db, actor, &input, None).await {
            Ok(_) => {}
            Err(AppError::Validation(v)) if v.iter().any(|f| f.field == "name") => {} // already there
            Err(e) => return Err(fail("team", e)),
        }
    }
    let unit = |serial: &'static str| async move {
        let mut c = db.read().await?;
        store::units::by_serial(c.conn(), serial).await?.ok_or_else(|| anyhow::anyhow!("demo unit {serial} missing"))
    };
    let tomorrow =
        chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive() + chrono::Duration::days(1);
    let requests = [
        ("KF35A0001", "hotline", "repair", "high", "客厅空调开机半小时后不制冷，室外机有异响。", String::new()),
        (
            "LG120B0007",
            "email",
            "maintenance",
            "normal",
            "夏季高峰前的年度保养：检查油压、排气温度并更换滤芯。",
            format!("{tomorrow}T10:00"),
        ),
        ("FS10C0100", "walk_in", "return", "normal", "风扇买回来摇头功能失灵，要求退货。", String::new()),
    ];
    let sla = crate::service::sla::Sla::new(std::sync::Arc::new(crate::service::calendars::CalendarCache::new()));
    let intake = crate::service::intake::Intake::direct(db, &sla);
    for (i, (serial, channel, kind, priority, problem, requested)) in requests.into_iter().enumerate() {
        let u = unit(serial).await?;
        let input = IntakeInput {
            channel: channel.into(),
            kind: kind.into(),
            priority: priority.into(),
            customer_id: u.customer_id,
            unit_id: Some(u.id),
            problem: problem.into(),
            requested_at: requested.clone(),
            ..Default::default()
        };
        let d = wo::create(db, &intake, actor, &input, None, "").await.map_err(|e| fail("request", e))?;
        if i == 1
            && let Some(&engineer) = engineer_ids.first()
        {
            let assign = ActionInput { version: d.order.version, engineer_id: Some(engineer), ..Default::default() };
            let files = crate::files::Files::none();
            wo::act(db, &sla, &files, actor, d.order.id, rules::work_order::Action::Assign, &assign)
                .await
                .map_err(|e| fail("assignment", e))?;
        }
    }
    Ok(())
}

/// (part number, Chinese, English, key part, serial-tracked, cost, price in fen, supplier, models)
type DemoPart = (&'static str, &'static str, &'static str, bool, bool, i64, i64, &'static str, &'static [&'static str]);

/// Spare parts fitting the demo models, a central warehouse, a regional one per region, a van
/// for each engineer, reorder points on a few parts and opening stock received.
async fn load_parts(db: &Db, actor: &Actor) -> anyhow::Result<()> {
    use crate::service::parts::{self, PartInput, ReorderInput, WarehouseInput};
    {
        let mut c = db.read().await?;
        if !store::parts::list_parts(c.conn(), &store::parts::PartFilter { limit: 1, ..Default::default() })
            .await?
            .is_empty()
        {
            return Ok(());
        }
    }
    let fail = |what: &str, e: AppError| anyhow::anyhow!("loading the demo {what} failed: {e:?}");
    let models: std::collections::HashMap<String, i64> =
        parts::models(db).await.map_err(|e| fail("models", e))?.into_iter().map(|m| (m.code, m.id)).collect();
    let catalogue: [DemoPart; 11] = [
        (
            "CP-KF35",
            "压缩机（KF35 变频）",
            "Compressor (KF35 inverter)",
            true,
            true,
            68_000,
            128_000,
            "上海海立电器有限公司",
            &["HX-KF35"],
        ),
        (
            "CB-KF35",
            "室内机控制板",
            "Indoor unit controller board",
            true,
            false,
            18_500,
            36_000,
            "深圳拓邦股份有限公司",
            &["HX-KF35"],
        ),
        (
            "MT-KF35",
            "室外风机电机",
            "Outdoor fan motor",
            true,
            false,
            9_800,
            19_800,
            "卧龙电气驱动集团股份有限公司",
            &["HX-KF35"],
        ),
        ("FL-KF35", "空气滤网", "Air filter", false, false, 800, 2_500, "苏州净化滤材有限公司", &["HX-KF35"]),
        ("RC-KF35", "遥控器", "Remote control", false, false, 1_500, 4_500, "宁波遥控电子有限公司", &["HX-KF35"]),
        (
            "CP-LG120",
            "螺杆主机",
            "Screw compressor airend",
            true,
            true,
            2_800_000,
            4_500_000,
            "复盛实业（上海）有限公司",
            &["HX-LG120"],
        ),
        (
            "CB-LG120",
            "主控制器（PLC）",
            "Main controller (PLC)",
            true,
            false,
            320_000,
            580_000,
            "深圳拓邦股份有限公司",
            &["HX-LG120"],
        ),
        ("FL-LG120", "油过滤器", "Oil filter", false, false, 12_000, 26_000, "苏州净化滤材有限公司", &["HX-LG120"]),
        (
            "MT-EV01",
            "驱动电机",
            "Drive motor",
            true,
            true,
            1_250_000,
            2_200_000,
            "卧龙电气驱动集团股份有限公司",
            &["HX-EV01"],
        ),
        ("MT-FS10", "风扇电机", "Fan motor", true, false, 4_500, 9_800, "卧龙电气驱动集团股份有限公司", &["HX-FS10"]),
        (
            "BR-608",
            "轴承 608-2RS",
            "Bearing 608-2RS",
            false,
            false,
            300,
            1_200,
            "人本集团有限公司",
            &["HX-FS10", "HX-LG120"],
        ),
    ];
    for (no, zh, en, key, serial, cost, price, supplier, fits) in catalogue {
        let input = PartInput {
            part_no: no.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            key_part: key,
            serial_tracked: serial,
            unit_cost_cents: cost,
            price_cents: price,
            supplier: supplier.into(),
            model_ids: fits.iter().filter_map(|m| models.get(*m).copied()).collect(),
        };
        parts::create(db, actor, &input, None).await.map_err(|e| fail("part", e))?;
    }
    let mut locations = vec![
        ("WH-SH", "上海总仓", "central", Some("east"), None),
        ("RW-EAST", "华东分仓（杭州）", "regional", Some("east"), None),
        ("RW-SOUTH", "华南分仓（广州）", "regional", Some("south"), None),
        ("RW-NORTH", "华北分仓（北京）", "regional", Some("north"), None),
        ("RW-SW", "西南分仓（成都）", "regional", Some("southwest"), None),
    ];
    for (login, code) in [("engineer", "VAN-ENG1"), ("engineer2", "VAN-ENG2")] {
        let mut c = db.read().await?;
        if let Some(u) = store::users::by_login(c.conn(), login).await? {
            locations.push((
                code,
                if login == "engineer" { "张伟的车载库" } else { "刘洋的车载库" },
                "van",
                None,
                Some(u.id),
            ));
        }
    }
    let mut ids = std::collections::HashMap::new();
    for (code, name, kind, region, engineer) in locations {
        let input = WarehouseInput {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            region_code: region.map(str::to_string),
            engineer_id: engineer,
        };
        let d = parts::create_warehouse(db, actor, &input, None).await.map_err(|e| fail("warehouse", e))?;
        ids.insert(code, d.warehouse.id);
    }
    for (code, part_no, point, qty) in [
        ("WH-SH", "CP-KF35", 5, 10),
        ("WH-SH", "CB-KF35", 5, 0),
        ("WH-SH", "FL-KF35", 50, 200),
        ("WH-SH", "FL-LG120", 10, 20),
        ("RW-EAST", "FL-KF35", 10, 30),
        ("RW-SOUTH", "RC-KF35", 5, 0),
        ("VAN-ENG1", "FL-KF35", 2, 5),
        ("VAN-ENG2", "FL-KF35", 2, 5),
    ] {
        let Some(&w) = ids.get(code) else { continue };
        let input = ReorderInput { part_id: None, part_no: part_no.into(), reorder_point: point, reorder_qty: qty };
        parts::set_reorder(db, actor, w, &input).await.map_err(|e| fail("reorder point", e))?;
    }
    // Opening stock, received in one go; a few locations are left at or below their reorder
    // point so the replenishment list has something to show.
    let by_no: std::collections::HashMap<String, i64> = {
        let mut c = db.read().await?;
        let f = store::parts::PartFilter { limit: 1000, ..Default::default() };
        store::parts::list_parts(c.conn(), &f).await?.into_iter().map(|p| (p.part_no, p.id)).collect()
    };
    let opening: &[(&str, &[(&str, i64)])] = &[
        (
            "WH-SH",
            &[
                ("CP-KF35", 12),
                ("CB-KF35", 4),
                ("MT-KF35", 10),
                ("FL-KF35", 30),
                ("RC-KF35", 40),
                ("CP-LG120", 2),
                ("CB-LG120", 3),
                ("FL-LG120", 25),
                ("MT-EV01", 2),
                ("MT-FS10", 20),
                ("BR-608", 100),
            ],
        ),
        ("RW-EAST", &[("FL-KF35", 25), ("CB-KF35", 2), ("RC-KF35", 6)]),
        ("RW-SOUTH", &[("FL-KF35", 10), ("RC-KF35", 3)]),
        ("VAN-ENG1", &[("FL-KF35", 2), ("RC-KF35", 1), ("CB-KF35", 1)]),
        ("VAN-ENG2", &[("FL-KF35", 4), ("RC-KF35", 1)]),
    ];
    let now = chrono::Utc::now();
    let mut tx = db.begin().await?;
    for (code, lines) in opening {
        let Some(&w) = ids.get(code) else { continue };
        for (no, qty) in lines.iter() {
            let Some(&part) = by_no.get(*no) else { continue };
            crate::service::stock::receive_in_tx(&mut tx, actor, part, w, *qty, "期初库存", now)
                .await
                .map_err(|e| fail("opening stock", e))?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub fn describe(public_url: &str) -> String {
    let mut s = format!("Demo company loaded. Open {public_url}/ and sign in with password {DEMO_PASSWORD} as:\n");
    for (login, name, roles, _) in DEMO_USERS {
        let roles: Vec<&str> = roles.iter().map(|r| r.code()).collect();
        s.push_str(&format!("  {login:<11} {name} ({})\n", roles.join(", ")));
    }
    s
}
