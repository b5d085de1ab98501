//! The `aftersales` command: the server and the operator's tools.

use std::path::PathBuf;
use std::process::ExitCode;

use aftersales::config::{Config, FileConfig, Overrides};
use aftersales::db::{Db, SqliteSync};
use aftersales::error::AppError;
use aftersales::http::AppState;
use aftersales::service::{Actor, entitlement, tokens, users};
use aftersales::{demo, startup, store};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "aftersales", version, about = "售后服务管理系统 — after-sales service management")]
struct Cli {
    /// A TOML configuration file (keys: listen, database_url, public_url, sqlite_sync,
    /// trust_forwarded_for, session_idle_minutes, login_max_failures_per_account,
    /// login_max_failures_per_address, files_dir).
    #[arg(long, global = true, env = "AFTERSALES_CONFIG")]
    config: Option<PathBuf>,
    /// sqlite://FILE (default sqlite://./data/aftersales.db) or postgres://USER@HOST/DB.
    #[arg(long = "database", global = true, env = "DATABASE_URL")]
    database: Option<String>,
    /// SQLite durability: normal survives a killed process, full also a power loss.
    #[arg(long, global = true, env = "AFTERSALES_SQLITE_SYNC", value_enum)]
    sqlite_sync: Option<SqliteSync>,
    /// Folder for photos and signatures (default: `files` beside the SQLite database).
    #[arg(long, global = true, env = "AFTERSALES_FILES_DIR")]
    files_dir: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and the JSON API (migrates the database first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Load the demo company (regions, one user of every role) into an empty database.
    Demo,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Warranty and 三包 entitlement decisions.
    #[command(subcommand)]
    Entitlement(EntitlementCommand),
    /// Fill the database with realistic synthetic customers and sold units (for benchmarks).
    Gen(GenArgs),
    /// Service clocks (SLA).
    #[command(subcommand)]
    Sla(SlaCommand),
    /// Follow-up visits (回访).
    #[command(subcommand)]
    Visits(VisitsCommand),
    /// The management dashboard's daily figures.
    #[command(subcommand)]
    Dashboard(DashboardCommand),
}

#[derive(Subcommand)]
enum DashboardCommand {
    /// Store the figures of every closed day not stored yet and recount days whose orders
    /// changed (what every running server does every five minutes); prints what it did.
    Refresh,
}

#[derive(Subcommand)]
enum VisitsCommand {
    /// Plan the follow-up visits the visit rules ask for, due in a date window, for every
    /// customer. Visits already planned are skipped, so running it again adds nothing.
    Plan {
        /// First due day (default today).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last due day (default: a year after the first).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
    },
}

#[derive(Subcommand)]
enum SlaCommand {
    /// Run the SLA sweeper now until nothing is due (what every running server does every
    /// half minute): record warnings and breaches, queue escalation notices; prints timings.
    Sweep {
        /// Clocks claimed per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
        /// Sweep as if it were this instant (RFC 3339): rehearses a catch-up after downtime on a
        /// copy of the data, or measures one. Warnings and notices are recorded at that instant.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
}

#[derive(Args)]
#[command(after_help = "Deterministic: the same seed, sizes and starting database give the same data (except the \
public tokens of units, orders and surveys, which always come from the system's random source). A database that has the demo loaded \
already has customers: run `aftersales demo` first, then `aftersales gen --append`.")]
struct GenArgs {
    /// Customers to create, with contacts, phones, addresses, tags, notes and search terms.
    #[arg(long, default_value_t = 10_000)]
    customers: u64,
    /// Sold units to create, each owned by one of the new customers (or, with --customers 0,
    /// of the customers already there).
    #[arg(long, default_value_t = 20_000)]
    units: u64,
    /// Work orders to create on the units, two years of them, each with its time line; the
    /// completed ones with their surveys, and about 1 % with a complaint, suggestion or praise.
    #[arg(long, default_value_t = 0)]
    orders: u64,
    /// Engineers to create (login engNNNNN, the demo password) for the orders; 0 uses the
    /// engineers already there.
    #[arg(long, default_value_t = 0)]
    engineers: u64,
    /// Open orders registered in the last two days, on top of --orders (a dispatch backlog
    /// with running SLA clocks).
    #[arg(long, default_value_t = 0)]
    backlog: u64,
    /// Spare parts to add to the catalogue (Chinese and English names, part numbers, about a
    /// tenth key parts, some serial-tracked, costs and prices, suppliers, the models they fit).
    #[arg(long, default_value_t = 0)]
    parts: u64,
    /// Stock locations to create: a few central warehouses, one regional warehouse per region,
    /// the rest engineers' vans (engineers are created when there are too few).
    #[arg(long, default_value_t = 0)]
    warehouses: u64,
    /// Stock movements among the new locations over two years: receipts, transfers, issues to
    /// the work orders there are, returns, scrap, disposal and counts; the stock is written as
    /// their sum (needs --parts and --warehouses).
    #[arg(long, default_value_t = 0)]
    movements: u64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Add to a database that already has customers (otherwise refused).
    #[arg(long)]
    append: bool,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on, IP:PORT (default 127.0.0.1:8080).
    #[arg(long, env = "AFTERSALES_LISTEN")]
    listen: Option<String>,
    /// Address users reach the server at (links, QR codes; https turns on Secure cookies).
    #[arg(long, env = "AFTERSALES_PUBLIC_URL")]
    public_url: Option<String>,
    /// Load the demo company when the database is empty.
    #[arg(long)]
    demo: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Add {
        #[arg(long)]
        login: String,
        #[arg(long)]
        password: String,
        /// general_manager, service_manager, dispatcher, quality, engineer, warehouse or admin;
        /// repeat or separate with commas for several.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// Display name (defaults to the login).
        #[arg(long)]
        name: Option<String>,
        /// Region code (see the regions list); none means all regions.
        #[arg(long, default_value = "")]
        region: String,
        #[arg(long, default_value = "")]
        email: String,
        /// zh-CN or en.
        #[arg(long, default_value = "zh-CN")]
        locale: String,
    },
    /// Set a new password; the user's sessions end.
    ResetPassword {
        #[arg(long)]
        login: String,
        #[arg(long)]
        password: String,
    },
    /// List users.
    List,
}

#[derive(Subcommand)]
enum EntitlementCommand {
    /// Decide one request: reads the JSON of POST /api/v1/entitlement/evaluate from FILE (or
    /// standard input for -) and prints the same answer. Bad input: field errors on stderr,
    /// exit status 1.
    Evaluate {
        /// The request JSON file, or - for standard input.
        file: String,
        /// Use this version of the policy instead of its latest.
        #[arg(long)]
        policy_version: Option<u32>,
        /// Also store the decision (recorded as made by "cli").
        #[arg(long)]
        record: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it (use as `Authorization: Bearer TOKEN`).
    Create {
        #[arg(long)]
        login: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AFTERSALES_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).init();
}

/// mimalloc for Rust's allocations: memory allocated on one thread is often freed on another
/// (a request's arguments are built on a runtime thread and dropped on SQLite's connection
/// thread), which glibc's malloc serialises on the allocating thread's arena lock (a planner
/// run spent a tenth of its time waiting for it); mimalloc frees across threads without a lock.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// glibc raises its mmap threshold after the first large free, after which a large buffer freed
/// by C code (SQLite, the image libraries) stays in the heap for good. A fixed threshold keeps
/// large buffers mmapped, so they go back to the system when freed.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called once before any threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// SQLite counts every allocation under one process-wide mutex, for memory statistics that
/// nothing here reads. sqlx copies each column value it reads into a fresh allocation and the
/// runtime's threads free them, so under load every SQLite connection's thread and the
/// runtime's queued on that one mutex: a third of the stock page's time at 16 connections went
/// to waking each other up. Without the statistics SQLite allocates without the mutex.
///
/// SQLite also allocates through mimalloc instead of glibc's malloc: its page caches and every
/// column value sqlx copies are allocated on a connection's thread and the values freed on the
/// runtime's. glibc kept each connection thread's arena at its high-water mark (a server on a
/// million orders: 226 MiB after its start-up passes with glibc, 68 MiB with mimalloc kept
/// off transparent huge pages); mimalloc returns freed pages to the system and frees across
/// threads without a lock.
fn tune_sqlite() {
    use libsqlite3_sys as ffi;
    use std::ffi::{c_int, c_void};

    unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
        // SAFETY: plain allocation; SQLite asks only for positive sizes and checks for null.
        unsafe { libmimalloc_sys::mi_malloc(n.max(1) as usize) }
    }
    unsafe extern "C" fn free(p: *mut c_void) {
        // SAFETY: SQLite frees only what `malloc`/`realloc` above returned.
        unsafe { libmimalloc_sys::mi_free(p) }
    }
    unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        // SAFETY: `p` came from `malloc`/`realloc` above (SQLite never passes null here).
        unsafe { libmimalloc_sys::mi_realloc(p, n.max(1) as usize) }
    }
    unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        // SAFETY: `p` is null or a live allocation of this allocator.
        let n = if p.is_null() { 0 } else { unsafe { libmimalloc_sys::mi_usable_size(p) } };
        c_int::try_from(n).unwrap_or(c_int::MAX)
    }
    unsafe extern "C" fn roundup(n: c_int) -> c_int {
        // SAFETY: a pure size computation.
        let n = unsafe { libmimalloc_sys::mi_good_size(n.max(1) as usize) };
        c_int::try_from(n).unwrap_or(c_int::MAX)
    }
    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn shutdown(_: *mut c_void) {}

    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: sqlite3_config may only be called before SQLite is initialised; this runs first
    // thing in main, before any thread starts or any database is opened. SQLite copies the
    // methods. A refusal (an error code) leaves SQLite's defaults, which are only slower.
    unsafe {
        let rc = ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods);
        debug_assert_eq!(rc, ffi::SQLITE_OK);
        let rc = ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
        debug_assert_eq!(rc, ffi::SQLITE_OK);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    tune_sqlite();
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Turns a use-case error into a message for the shell.
fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Validation(list) => {
            anyhow::anyhow!(
                list.iter().map(|f| format!("{}: {}", f.field, f.message_en)).collect::<Vec<_>>().join("; ")
            )
        }
        AppError::Internal(e) => e,
        other => anyhow::anyhow!("{}", aftersales::i18n::tr("en", other.message_key())),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = FileConfig::load(cli.config.as_deref())?;
    let (listen, public_url, demo_flag) = match &cli.command {
        Command::Serve(a) => (a.listen.clone(), a.public_url.clone(), a.demo),
        _ => (None, None, false),
    };
    let config = Config::resolve(
        file,
        Overrides {
            listen,
            database_url: cli.database.clone(),
            public_url,
            sqlite_sync: cli.sqlite_sync,
            files_dir: cli.files_dir.clone(),
        },
    )?;
    let db = startup::open_database(&config).await?;
    let result = command(cli.command, &config, &db, demo_flag).await;
    if !matches!(result, Ok(true)) {
        db.close().await;
    }
    result.map(|_| ())
}

/// Runs one command; `Ok(true)` means the server ran and already closed the database.
async fn command(cmd: Command, config: &Config, db: &Db, demo_flag: bool) -> anyhow::Result<bool> {
    let actor = Actor::system("cli");
    match cmd {
        Command::Serve(_) => {
            if demo_flag && demo::load(db).await? {
                println!("{}", demo::describe(&config.public_url));
            } else if demo_flag {
                println!(
                    "The database already has data; the demo was not loaded. Demo logins, if present: password {}",
                    demo::DEMO_PASSWORD
                );
            }
            let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {}: {e} (is another server running there? use --listen)",
                    config.listen
                )
            })?;
            let addr = listener.local_addr()?;
            println!("Aftersales is serving http://{addr}/ (public URL {})", config.public_url);
            let state = AppState::new(db.clone(), config.clone())?;
            startup::serve(state, listener, startup::shutdown_signal()).await?;
            Ok(true)
        }
        Command::Migrate => {
            println!("The database is migrated.");
            Ok(false)
        }
        Command::Demo => {
            if demo::load(db).await? {
                println!("{}", demo::describe(&config.public_url));
            } else {
                println!("The database already has users; the demo was not loaded.");
            }
            Ok(false)
        }
        Command::User(UserCommand::Add { login, password, roles, name, region, email, locale }) => {
            let input = users::NewUserInput {
                display_name: name.unwrap_or_else(|| login.clone()),
                login,
                password,
                email,
                phone: String::new(),
                roles,
                region,
                locale,
            };
            let u = users::create(db, &actor, &input, None).await.map_err(explain)?;
            println!("Created user {} (id {}).", u.login, u.id);
            Ok(false)
        }
        Command::User(UserCommand::ResetPassword { login, password }) => {
            let u = {
                let mut c = db.read().await?;
                store::users::by_login(c.conn(), &login.trim().to_lowercase()).await?
            }
            .ok_or_else(|| anyhow::anyhow!("no user with login {login}"))?;
            // A running server trusts the ended sessions for up to AUTH_CACHE_TTL more.
            users::reset_password(db, &aftersales::service::auth::AuthCache::new(), &actor, u.id, &password)
                .await
                .map_err(explain)?;
            println!("Password of {} reset; their sessions have ended.", u.login);
            Ok(false)
        }
        Command::User(UserCommand::List) => {
            let filter = store::users::ListFilter { limit: 1_000_000, ..Default::default() };
            for u in users::list(db, &actor, &filter).await.map_err(explain)? {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.code()).collect();
                println!(
                    "{:<6} {:<16} {:<12} {:<30} {:<10} {}",
                    u.id,
                    u.login,
                    u.display_name,
                    roles.join(","),
                    u.region_code.as_deref().unwrap_or("-"),
                    if u.active { "active" } else { "disabled" }
                );
            }
            Ok(false)
        }
        Command::Entitlement(EntitlementCommand::Evaluate { file, policy_version, record }) => {
            let body = if file == "-" {
                tokio::task::spawn_blocking(|| std::io::read_to_string(std::io::stdin())).await??
            } else {
                std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))?
            };
            let cache = entitlement::PolicyCache::new();
            let opts = entitlement::EvaluateOptions { policy_version, record, source: "cli" };
            match entitlement::evaluate(db, &cache, &actor, &body, &opts).await {
                Ok(out) => {
                    println!("{}", serde_json::to_string_pretty(&out.evaluation)?);
                    if let Some(id) = out.decision_id {
                        eprintln!("Recorded as decision {id}.");
                    }
                    Ok(false)
                }
                Err(AppError::Validation(list)) => {
                    let lines: Vec<String> = list.iter().map(|f| format!("  {}: {}", f.field, f.message_en)).collect();
                    Err(anyhow::anyhow!("the request is not valid:\n{}", lines.join("\n")))
                }
                Err(e) => Err(explain(e)),
            }
        }
        Command::Gen(a) => {
            let opts = aftersales::r#gen::Options {
                customers: a.customers,
                units: a.units,
                orders: a.orders,
                engineers: a.engineers,
                backlog: a.backlog,
                parts: a.parts,
                warehouses: a.warehouses,
                movements: a.movements,
                seed: a.seed,
                append: a.append,
                progress: true,
            };
            let r = aftersales::r#gen::run(db, &opts).await?;
            let secs = r.elapsed.as_secs_f64();
            if r.parts + r.warehouses + r.movements > 0 {
                println!(
                    "Spare parts: {} parts, {} stock locations, {} stock movements, {} stock rows.",
                    r.parts, r.warehouses, r.movements, r.stock_rows
                );
            }
            println!(
                "Generated {} customers, {} units and {} work orders with {} surveys and {} complaints, suggestions \
                 and praise ({} rows in all) in {secs:.1} s, {:.0} rows/s. The database now has {} customers and {} \
                 units.",
                r.customers,
                r.units,
                r.orders,
                r.surveys,
                r.complaints,
                r.rows,
                r.rows as f64 / secs.max(1e-9),
                r.totals.customers,
                r.totals.units
            );
            Ok(false)
        }
        Command::Visits(VisitsCommand::Plan { from, to }) => {
            let from = from.unwrap_or_else(aftersales::service::work_orders::today);
            let to = to.unwrap_or_else(|| from + chrono::Months::new(12) - chrono::Days::new(1));
            let started = std::time::Instant::now();
            let o = aftersales::service::care::plan(db, from, to, |n| {
                if n % 100_000 == 0 {
                    eprintln!("  {n} customers …");
                }
            })
            .await
            .map_err(explain)?;
            aftersales::service::care::mark_planned(db, from, to).await.map_err(explain)?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "Visits {from} to {to}: {} customers, {} visits due, {} new (the rest were planned already), \
                 in {secs:.1} s ({:.0} visits/s).",
                o.customers,
                o.planned,
                o.added,
                o.planned as f64 / secs.max(1e-9)
            );
            Ok(false)
        }
        Command::Dashboard(DashboardCommand::Refresh) => {
            let started = std::time::Instant::now();
            let o = aftersales::service::dashboard::refresh_now(db).await.map_err(explain)?;
            println!(
                "Dashboard figures: {} days stored, {} days recounted, {} rows, in {:.1} s.",
                o.caught_up,
                o.recounted,
                o.rows,
                started.elapsed().as_secs_f64()
            );
            Ok(false)
        }
        Command::Sla(SlaCommand::Sweep { batch, at }) => {
            let sla = aftersales::service::sla::Sla::new(std::sync::Arc::new(
                aftersales::service::calendars::CalendarCache::new(),
            ));
            let started = std::time::Instant::now();
            let (mut passes, mut clocks, mut escalations, mut slowest) = (0u64, 0usize, 0usize, 0f64);
            loop {
                let t = std::time::Instant::now();
                let now = at.map(|t| t.with_timezone(&chrono::Utc)).unwrap_or_else(chrono::Utc::now);
                let o = sla.sweep(db, now, batch.clamp(1, 10_000)).await.map_err(explain)?;
                let secs = t.elapsed().as_secs_f64();
                passes += 1;
                clocks += o.clocks;
                escalations += o.escalations;
                slowest = slowest.max(secs);
                if (o.clocks as i64) < batch {
                    println!(
                        "SLA sweep: {passes} passes, {clocks} clocks checked, {escalations} warnings and escalations \
                         recorded in {:.3} s (slowest pass {:.3} s; the last, which found {} due, {:.4} s).",
                        started.elapsed().as_secs_f64(),
                        slowest,
                        o.clocks,
                        secs
                    );
                    break;
                }
            }
            Ok(false)
        }
        Command::Token(TokenCommand::Create { login, name }) => {
            let u = {
                let mut c = db.read().await?;
                store::users::by_login(c.conn(), &login.trim().to_lowercase()).await?
            }
            .ok_or_else(|| anyhow::anyhow!("no user with login {login}"))?;
            let t = tokens::create(db, &actor, u.id, &name, None).await.map_err(explain)?;
            println!("{}", t.token);
            Ok(false)
        }
    }
}
