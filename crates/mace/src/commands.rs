//! The operator commands. Each returns `anyhow::Result`; `main` prints an error as one line.

use crate::config::{Config, LogFormat, Overrides};
use anyhow::{Context, Result};
use mace_domain::audit::ChainKey;
use mace_domain::authz::{OrgType, Role};
use mace_domain::identity::admin::{self, AdminActor};
use mace_domain::identity::model::Email;
use mace_domain::identity::password;
use mace_domain::person::{self, NewPerson};
use mace_domain::ports::MetaRepo;
use mace_domain::{Ctx, demo};
use mace_store::Store;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

const DEMO_MARKER: &str = "demo.loaded_at";

pub(crate) fn init_logging(cfg: &Config) {
    let filter = EnvFilter::try_new(&cfg.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: keep the first subscriber.
    let _ = match cfg.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// Open the configured database and bring its schema up to date.
async fn open_store(cfg: &Config) -> Result<Store> {
    cfg.prepare_data_dir()?;
    let store = Store::open(&cfg.db_config()?).await?;
    store.migrate().await?;
    Ok(store)
}

pub async fn serve(file: Option<&Path>, o: &Overrides) -> Result<()> {
    let cfg = Config::load(file, o)?;
    init_logging(&cfg);
    let store = open_store(&cfg).await?;
    let ctx = crate::test_clock::serve_ctx();
    let audit_key = crate::keys::load_audit_key(&cfg.audit_key_path(), true)?;
    if cfg.demo {
        load_demo_once(&store, &ctx, &audit_key, cfg.demo_people, cfg.demo_seed).await?;
    }

    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.addr))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let settings = mace_web::WebSettings {
        demo: cfg.demo,
        request_timeout: Duration::from_secs(cfg.request_timeout_secs),
        max_body_bytes: cfg.max_body_bytes,
        map_tile_url: cfg.map_tile_url.clone(),
        map_attribution: cfg.map_attribution.clone(),
        ..mace_web::WebSettings::default()
    };
    let state = mace_web::AppState {
        store: store.clone(),
        ctx,
        settings: Arc::new(settings),
        audit_key,
        networks: Arc::default(),
    };
    let app = mace_web::router(state);
    let signal = shutdown_signal()?;

    {
        let mut out = std::io::stdout().lock();
        if cfg.demo {
            print_demo_banner(&mut out)?;
        }
        writeln!(out, "mace listening on http://{bound}")?;
        out.flush()?;
    }
    tracing::info!(addr = %bound, backend = store.backend().as_str(), demo = cfg.demo, "serving");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let graceful = async move {
        signal.await;
        tracing::info!("shutdown signal received: finishing in-flight requests");
        let _ = stop_tx.send(true);
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(graceful);
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    let mut stop_rx2 = stop_rx.clone();
    tokio::select! {
        r = server => r.context("the web server stopped with an error")?,
        () = async move {
            // Only start the grace timer once shutdown has begun.
            let _ = stop_rx2.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("grace period over: closing remaining connections"),
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Install the SIGTERM/Ctrl-C handlers now (before mace says it is listening, so a signal that
/// arrives straight after cannot kill the process with the default disposition); the returned
/// future completes when one arrives.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot install the SIGINT handler")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

fn print_demo_banner(out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "demo: synthetic data. Every person in this instance is invented; none is real."
    )?;
    writeln!(
        out,
        "demo accounts (password {DEMO_PASSWORD:?}; each enrols an authenticator app at first sign-in):"
    )?;
    for a in DEMO_ACCOUNTS {
        writeln!(out, "  {:<36} {} at {}", a.email, a.role.label(), a.org)?;
    }
    Ok(())
}

/// The demo's shared password. Demo instances hold only synthetic data.
pub const DEMO_PASSWORD: &str = "demo-password-for-mace";

struct DemoOrg {
    name: &'static str,
    org_type: OrgType,
}

struct DemoAccount {
    email: &'static str,
    name: &'static str,
    org: &'static str,
    role: Role,
}

const DEMO_ORGS: &[DemoOrg] = &[
    DemoOrg {
        name: "Thames Estuary Academy",
        org_type: OrgType::School,
    },
    DemoOrg {
        name: "Estuary Children's Social Care",
        org_type: OrgType::ChildrensSocialCare,
    },
    DemoOrg {
        name: "Estuary Police",
        org_type: OrgType::Police,
    },
    DemoOrg {
        name: "Estuary Exploitation Service",
        org_type: OrgType::SpecialistService,
    },
    DemoOrg {
        name: "Estuary Safeguarding Partnership",
        org_type: OrgType::Partnership,
    },
    DemoOrg {
        name: "Estuary Youth Service",
        org_type: OrgType::VoluntarySector,
    },
];

const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "dsl@school.demo.invalid",
        name: "Priya Shah",
        org: "Thames Estuary Academy",
        role: Role::DesignatedSafeguardingLead,
    },
    DemoAccount {
        email: "teacher@school.demo.invalid",
        name: "Tom Bennett",
        org: "Thames Estuary Academy",
        role: Role::Practitioner,
    },
    DemoAccount {
        email: "social.worker@csc.demo.invalid",
        name: "Grace Adeyemi",
        org: "Estuary Children's Social Care",
        role: Role::SocialWorker,
    },
    DemoAccount {
        email: "manager@csc.demo.invalid",
        name: "Martin Hughes",
        org: "Estuary Children's Social Care",
        role: Role::TeamManager,
    },
    DemoAccount {
        email: "intel@police.demo.invalid",
        name: "Sam Okoro",
        org: "Estuary Police",
        role: Role::PoliceIntelligenceOfficer,
    },
    DemoAccount {
        email: "worker@exploitation.demo.invalid",
        name: "Leah Morgan",
        org: "Estuary Exploitation Service",
        role: Role::ExploitationWorker,
    },
    DemoAccount {
        email: "admin@partnership.demo.invalid",
        name: "Nadia Clarke",
        org: "Estuary Safeguarding Partnership",
        role: Role::PartnershipAdmin,
    },
    DemoAccount {
        email: "manager@partnership.demo.invalid",
        name: "Ruth Bennett",
        org: "Estuary Safeguarding Partnership",
        role: Role::PartnershipManager,
    },
    DemoAccount {
        email: "youth.worker@youth.demo.invalid",
        name: "Jordan Ellis",
        org: "Estuary Youth Service",
        role: Role::Practitioner,
    },
    DemoAccount {
        email: "privacy@partnership.demo.invalid",
        name: "Owen Price",
        org: "Estuary Safeguarding Partnership",
        role: Role::PrivacyOfficer,
    },
];

/// The demo team: its organisation, name and members (so the manager's team work list shows).
const DEMO_TEAM: (&str, &str, &[&str]) = (
    "Estuary Children's Social Care",
    "Exploitation team",
    &["social.worker@csc.demo.invalid", "manager@csc.demo.invalid"],
);

/// Create the demo organisations and accounts, with their audit events.
async fn load_demo_accounts(store: &Store, ctx: &Ctx, key: &ChainKey) -> Result<()> {
    let hash = tokio::task::spawn_blocking(|| {
        password::hash(DEMO_PASSWORD, password::HashParams::default())
    })
    .await
    .context("the password hashing task failed")?
    .context("cannot hash the demo password")?;
    store
        .write(|tx| {
            let (ctx, key, hash) = (ctx.clone(), key.clone(), hash.clone());
            Box::pin(async move {
                let by = AdminActor::Operator("demo");
                let mut ids = std::collections::HashMap::new();
                for o in DEMO_ORGS {
                    let org = admin::create_org(&ctx, tx, &key, &by, o.name, o.org_type).await?;
                    ids.insert(o.name, org.id);
                    // The demo partnership has agreed that concerns may also go to its
                    // children's social care front door.
                    if o.org_type == OrgType::ChildrensSocialCare {
                        admin::set_front_door(&ctx, tx, &key, &by, Some(org.id)).await?;
                    }
                }
                for a in DEMO_ACCOUNTS {
                    let org_id = *ids
                        .get(a.org)
                        .ok_or_else(|| mace_domain::Error::store("demo organisation missing"))?;
                    let email = Email::parse(a.email)
                        .map_err(|e| mace_domain::Error::Validation(vec![e]))?;
                    let new = admin::NewUser {
                        org_id,
                        email,
                        display_name: a.name.into(),
                        roles: vec![a.role],
                        password_hash: Some(hash.clone()),
                    };
                    let u = admin::create_user(&ctx, tx, &key, &by, new).await?;
                    ids.insert(a.email, u.id);
                }
                let (org, name, members) = DEMO_TEAM;
                let org_id = *ids
                    .get(org)
                    .ok_or_else(|| mace_domain::Error::store("demo organisation missing"))?;
                let team = admin::create_team(&ctx, tx, &key, &by, org_id, name).await?;
                for m in members {
                    let user = *ids
                        .get(m)
                        .ok_or_else(|| mace_domain::Error::store("demo account missing"))?;
                    admin::set_team(&ctx, tx, &key, &by, user, Some(team.id)).await?;
                }
                Ok(())
            })
        })
        .await
        .context("cannot create the demo accounts")
}

/// Load the demo people on the first start only (a marker in `app_meta` records it).
async fn load_demo_once(
    store: &Store,
    ctx: &Ctx,
    key: &ChainKey,
    people: usize,
    seed: u64,
) -> Result<()> {
    let already = store
        .read(|tx| Box::pin(async move { tx.get_meta(DEMO_MARKER).await }))
        .await
        .context("cannot read the demo marker")?;
    if already.is_some() {
        return Ok(());
    }
    load_demo_accounts(store, ctx, key).await?;
    crate::demo_cases::load(store, ctx, key).await?;
    crate::demo_referrals::load(store, ctx, key).await?;
    crate::demo_programmes::load(store, ctx, key).await?;
    crate::demo_missing::load(store, ctx, key).await?;
    crate::demo_nrm::load(store, ctx, key).await?;
    crate::demo_intelligence::load(store, ctx, key).await?;
    crate::demo_hotspots::load(store, ctx, key).await?;
    let generated = demo::people(seed, people, ctx.clock.now().date());
    insert_people(store, ctx, generated).await?;
    let now = ctx.clock.now();
    let stamp = now.unix_timestamp().to_string();
    store
        .write(|tx| {
            let stamp = stamp.clone();
            Box::pin(async move { tx.set_meta(DEMO_MARKER, &stamp, now).await })
        })
        .await
        .context("cannot record the demo marker")?;
    tracing::info!(people, seed, "demo data loaded");
    Ok(())
}

/// Insert people in batches, one transaction per batch. Each child is made known to one of
/// the organisations that hold case records, in turn, so it appears in someone's lists.
async fn insert_people(store: &Store, ctx: &Ctx, people: Vec<NewPerson>) -> Result<usize> {
    let orgs = crate::demo_cases::case_holding_orgs(store).await?;
    let mut added = 0;
    for (n, chunk) in people.chunks(500).enumerate() {
        let n = store
            .write(|tx| {
                let (chunk, orgs) = (chunk.to_vec(), orgs.clone());
                let ctx = ctx.clone();
                Box::pin(async move {
                    for (i, p) in chunk.into_iter().enumerate() {
                        let p = person::create(&ctx, tx, p).await?;
                        if p.kind == person::PersonKind::Child && !orgs.is_empty() {
                            let org = orgs[(n * 500 + i) % orgs.len()];
                            crate::demo_cases::involve(tx, &ctx, p.id, org).await?;
                        }
                    }
                    Ok(())
                })
            })
            .await
            .map(|()| chunk.len())
            .context("cannot store the demo people")?;
        added += n;
    }
    Ok(added)
}

pub async fn migrate(file: Option<&Path>, o: &Overrides) -> Result<()> {
    let cfg = Config::load(file, o)?;
    init_logging(&cfg);
    cfg.prepare_data_dir()?;
    let store = Store::open(&cfg.db_config()?).await?;
    let applied = store.migrate().await?;
    println!(
        "{}: {applied} migration(s) applied; schema is up to date",
        cfg.database_display()
    );
    store.close().await;
    Ok(())
}

pub async fn demo(file: Option<&Path>, o: &Overrides, people: usize, seed: u64) -> Result<()> {
    let cfg = Config::load(file, o)?;
    init_logging(&cfg);
    let store = open_store(&cfg).await?;
    let ctx = Ctx::system();
    let generated = demo::people(seed, people, ctx.clock.now().date());
    let added = insert_people(&store, &ctx, generated).await?;
    println!(
        "added {added} synthetic people (seed {seed}) to {}",
        cfg.database_display()
    );
    store.close().await;
    Ok(())
}

pub async fn config_check(file: Option<&Path>, o: &Overrides) -> Result<()> {
    let cfg = Config::load(file, o)?;
    cfg.prepare_data_dir()?;
    let store = Store::open(&cfg.db_config()?).await?;
    store
        .ping()
        .await
        .map_err(|e| anyhow::anyhow!("database is not answering: {e}"))?;
    store.close().await;
    let mut shown = cfg.clone();
    shown.database_url = shown.database_url.as_deref().map(crate::config::redact_url);
    let toml = serde_json::to_string_pretty(&shown).context("cannot show the configuration")?;
    println!("{toml}");
    println!("configuration OK ({})", cfg.database_display());
    Ok(())
}

pub struct UserAdd {
    pub email: String,
    pub name: String,
    pub org: String,
    pub org_type: String,
    pub roles: Vec<String>,
    pub password_stdin: bool,
}

pub async fn user_add(file: Option<&Path>, o: &Overrides, req: UserAdd) -> Result<()> {
    let cfg = Config::load(file, o)?;
    init_logging(&cfg);
    let email = Email::parse(&req.email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let org_type = OrgType::parse(&req.org_type).ok_or_else(|| {
        let all: Vec<&str> = OrgType::ALL.iter().map(|t| t.as_str()).collect();
        anyhow::anyhow!(
            "unknown organisation type {:?}; choose one of {}",
            req.org_type,
            all.join(", ")
        )
    })?;
    let roles = req
        .roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                anyhow::anyhow!("unknown role {r:?}; choose from {}", all.join(", "))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (secret, generated) = if req.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_string(), None)
    } else {
        let p = generate_password()?;
        (p.clone(), Some(p))
    };
    let context = [email.as_str(), req.name.as_str(), req.org.as_str()];
    password::check_new(&secret, &context).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let store = open_store(&cfg).await?;
    let key = crate::keys::load_audit_key(&cfg.audit_key_path(), true)?;
    let hash = tokio::task::spawn_blocking(move || {
        password::hash(&secret, password::HashParams::default())
    })
    .await
    .context("the password hashing task failed")?
    .context("cannot hash the password")?;
    let ctx = Ctx::system();
    let user = store
        .write(|tx| {
            let (ctx, key, hash, email) = (ctx.clone(), key.clone(), hash.clone(), email.clone());
            let (org_name, name, roles) = (req.org.clone(), req.name.clone(), roles.clone());
            Box::pin(async move {
                use mace_domain::ports::IdentityRepo;
                let by = AdminActor::Operator("cli");
                let existing = tx
                    .list_orgs()
                    .await?
                    .into_iter()
                    .find(|o| person::fold(&o.name) == person::fold(&org_name));
                let org = match existing {
                    Some(o) => o,
                    None => admin::create_org(&ctx, tx, &key, &by, &org_name, org_type).await?,
                };
                let new = admin::NewUser {
                    org_id: org.id,
                    email,
                    display_name: name,
                    roles,
                    password_hash: Some(hash),
                };
                admin::create_user(&ctx, tx, &key, &by, new).await
            })
        })
        .await
        .map_err(|e| match e {
            mace_domain::Error::Validation(f) => anyhow::anyhow!(
                "{}",
                f.first().map(|f| f.message.clone()).unwrap_or_default()
            ),
            mace_domain::Error::Conflict(m) => anyhow::anyhow!("{m}"),
            other => anyhow::anyhow!("cannot create the account: {other}"),
        })?;
    println!("created account {} ({})", user.email.as_str(), user.id);
    if let Some(p) = generated {
        println!(
            "one-time password, shown once (the user enrols a second factor at first sign-in): {p}"
        );
    }
    store.close().await;
    Ok(())
}

/// Import staff accounts from a CSV file (`mace user import FILE`): every row is checked
/// (`identity::import::parse`, then against the database) and either every account is created,
/// each with a one-time password printed once, or none is and every problem is listed with its
/// line. Organisations must exist already (created with `mace user add` or on `/admin`).
pub async fn user_import(file: Option<&Path>, o: &Overrides, csv: &Path) -> Result<()> {
    use mace_domain::identity::import;
    let cfg = Config::load(file, o)?;
    init_logging(&cfg);
    let size = std::fs::metadata(csv)
        .with_context(|| format!("cannot read {}", csv.display()))?
        .len();
    if size > import::MAX_BYTES as u64 {
        anyhow::bail!(
            "{} is too big: import at most {} KB ({} accounts) at once",
            csv.display(),
            import::MAX_BYTES / 1024,
            import::MAX_ROWS
        );
    }
    let bytes = std::fs::read(csv).with_context(|| format!("cannot read {}", csv.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{} is not UTF-8 text: save the spreadsheet as \"CSV UTF-8\"",
            csv.display()
        )
    })?;
    let problems = |errors: &[import::LineError]| {
        for e in errors {
            eprintln!("{}: {e}", csv.display());
        }
        anyhow::anyhow!(
            "nothing was imported: {} problem{} in {} (listed above)",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            csv.display()
        )
    };
    let rows = import::parse(&text).map_err(|e| problems(&e))?;
    let mut secrets = Vec::with_capacity(rows.len());
    for _ in &rows {
        secrets.push(generate_password()?);
    }
    let hashes = hash_all(secrets.clone()).await?;
    let accounts: Vec<(import::ImportRow, String)> = rows.into_iter().zip(hashes).collect();
    let store = open_store(&cfg).await?;
    let key = crate::keys::load_audit_key(&cfg.audit_key_path(), true)?;
    let ctx = Ctx::system();
    let made = store
        .write(|tx| {
            let (ctx, key) = (ctx.clone(), key.clone());
            let to_create = accounts
                .iter()
                .map(|(row, hash)| import::ToCreate {
                    row: row.clone(),
                    password_hash: hash.clone(),
                })
                .collect();
            Box::pin(async move {
                let by = AdminActor::Operator("cli");
                import::import(&ctx, tx, &key, &by, to_create).await
            })
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot import the accounts: {e}"))?;
    store.close().await;
    let users = made.map_err(|e| problems(&e))?;
    println!(
        "created {} accounts; one-time passwords, shown once (each person changes theirs at first sign-in, then enrols a second factor):",
        users.len()
    );
    println!("email,one_time_password");
    for (u, secret) in users.iter().zip(&secrets) {
        println!("{},{secret}", u.email.as_str());
    }
    Ok(())
}

/// Hash many passwords with Argon2id, on as many threads as there are cores.
async fn hash_all(secrets: Vec<String>) -> Result<Vec<String>> {
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let chunk = secrets.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = secrets
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|p| password::hash(p, password::HashParams::default()))
                            .collect::<std::result::Result<Vec<_>, _>>()
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(secrets.len());
            for h in handles {
                let part = h
                    .join()
                    .map_err(|_| anyhow::anyhow!("a password hashing thread failed"))?
                    .map_err(|_| anyhow::anyhow!("cannot hash a password"))?;
                out.extend(part);
            }
            Ok(out)
        })
    })
    .await
    .context("the password hashing task failed")?
}

pub struct TokenCreate {
    pub email: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub days: i64,
}

pub async fn token_create(file: Option<&Path>, o: &Overrides, req: TokenCreate) -> Result<()> {
    use mace_domain::identity::model::TokenScope;
    use mace_domain::identity::tokens;
    let cfg = Config::load(file, o)?;
    init_logging(&cfg);
    let email = Email::parse(&req.email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut scopes = req
        .scopes
        .iter()
        .map(|s| {
            TokenScope::parse(s)
                .ok_or_else(|| anyhow::anyhow!("unknown scope {s:?}; choose read or write"))
        })
        .collect::<Result<Vec<_>>>()?;
    if scopes.is_empty() {
        scopes.push(TokenScope::Read);
    }
    if scopes.contains(&TokenScope::Write) {
        scopes.push(TokenScope::Read);
    }
    let new = tokens::NewToken {
        name: req.name,
        scopes,
        days: req.days,
    };
    let store = open_store(&cfg).await?;
    let key = crate::keys::load_audit_key(&cfg.audit_key_path(), true)?;
    let ctx = Ctx::system();
    let (token, secret) = store
        .write(|tx| {
            let (ctx, key, email, new) = (ctx.clone(), key.clone(), email.clone(), new.clone());
            Box::pin(async move {
                use mace_domain::ports::IdentityRepo;
                let user = tx
                    .find_user_by_email(&email)
                    .await?
                    .ok_or(mace_domain::Error::NotFound)?;
                tokens::create(&ctx, tx, &key, &user, &new).await
            })
        })
        .await
        .map_err(|e| match e {
            mace_domain::Error::NotFound => anyhow::anyhow!("no account has that email address"),
            mace_domain::Error::Validation(f) => anyhow::anyhow!(
                "{}",
                f.iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            mace_domain::Error::Forbidden { .. } => {
                anyhow::anyhow!("that account is not active")
            }
            other => anyhow::anyhow!("cannot create the token: {other}"),
        })?;
    println!(
        "created API token {:?} ({}), expires {}",
        token.name,
        token.id,
        token
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    println!("token, shown once: {secret}");
    store.close().await;
    Ok(())
}

/// A random password of 24 characters from the OS CSPRNG (about 143 bits).
fn generate_password() -> Result<String> {
    use rand::TryRngCore;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .context("the operating system's random source failed")?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

pub async fn audit_verify(file: Option<&Path>, o: &Overrides) -> Result<()> {
    let cfg = Config::load(file, o)?;
    init_logging(&cfg);
    let store = Store::open(&cfg.db_config()?).await?;
    let key = crate::keys::load_audit_key(&cfg.audit_key_path(), false)?;
    let result = store
        .verify_audit(&key)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the audit log: {e}"))?;
    store.close().await;
    match result {
        Ok(report) => {
            println!(
                "audit chain OK: {} events, head at event {}",
                report.events, report.head_seq
            );
            Ok(())
        }
        Err(bad) => anyhow::bail!("audit chain BROKEN: {bad}"),
    }
}

/// Import postcode points (`mace postcodes import FILE`): a CSV with `postcode,latitude,longitude`
/// (or the ONS Postcode Directory's `pcds,lat,long`). Rows are read one at a time and upserted in
/// batches; bad rows are reported with their line numbers and skipped.
pub async fn postcodes_import(file: Option<&Path>, o: &Overrides, csv: &Path) -> Result<()> {
    use mace_domain::hotspots::{PointReader, PostcodePoint};
    use mace_domain::ports::HotspotRepo;
    let cfg = Config::load(file, o)?;
    init_logging(&cfg);
    let input =
        std::fs::File::open(csv).with_context(|| format!("cannot read {}", csv.display()))?;
    let reader = PointReader::new(std::io::BufReader::new(input))
        .map_err(|e| anyhow::anyhow!("{}: {e}", csv.display()))?;
    let store = open_store(&cfg).await?;
    const BATCH: usize = 5_000;
    const SHOWN: usize = 50;
    let (mut read, mut added, mut bad) = (0_u64, 0_u64, 0_u64);
    let mut batch: Vec<PostcodePoint> = Vec::with_capacity(BATCH);
    let flush = |batch: Vec<PostcodePoint>| {
        let store = store.clone();
        async move {
            store
                .write(|tx| {
                    let batch = batch.clone();
                    Box::pin(async move { tx.upsert_postcode_points(&batch).await })
                })
                .await
                .map_err(|e| anyhow::anyhow!("cannot store the postcode points: {e}"))
        }
    };
    for row in reader {
        match row {
            Ok(p) => {
                read += 1;
                batch.push(p);
                if batch.len() >= BATCH {
                    added += flush(std::mem::take(&mut batch)).await?;
                }
            }
            Err(e) => {
                bad += 1;
                if bad as usize <= SHOWN {
                    eprintln!("{}: {e}", csv.display());
                }
            }
        }
    }
    if !batch.is_empty() {
        added += flush(batch).await?;
    }
    store.close().await;
    if bad as usize > SHOWN {
        eprintln!(
            "{}: ... and {} more bad rows",
            csv.display(),
            bad as usize - SHOWN
        );
    }
    println!(
        "imported {read} postcode points ({added} new, {} replaced); {bad} bad row{} skipped",
        read.saturating_sub(added),
        if bad == 1 { "" } else { "s" }
    );
    Ok(())
}
