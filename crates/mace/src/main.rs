//! `mace`: the multi-agency child exploitation safeguarding platform.
//!
//! The binary wires configuration, storage and the web layer together and offers the operator
//! commands. Every command that touches records goes through the same domain services as the
//! web UI.

mod backup;
mod commands;
mod config;
mod demo_cases;
mod demo_hotspots;
mod demo_intelligence;
mod demo_missing;
mod demo_nrm;
mod demo_programmes;
mod demo_referrals;
mod keys;
mod test_clock;

use clap::{Args, Parser, Subcommand};
use config::{LogFormat, Overrides};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "mace",
    version,
    about = "mace: multi-agency child exploitation safeguarding platform"
)]
struct Cli {
    /// A TOML configuration file (also MACE_CONFIG). Environment variables override it.
    #[arg(long, global = true, env = "MACE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args, Default)]
struct DbArgs {
    /// Directory for the embedded SQLite database [default: ./mace-data] (also MACE_DATA_DIR)
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// postgres://user:password@host/db selects PostgreSQL (also DATABASE_URL, MACE_DATABASE_URL)
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the web server (creating and migrating the database on first start).
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080] (also MACE_ADDR)
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<SocketAddr>,
        #[command(flatten)]
        db: DbArgs,
        /// Load synthetic demo data on first start and show the demo banner (also MACE_DEMO)
        #[arg(long)]
        demo: bool,
        /// Log format [default: text] (also MACE_LOG_FORMAT)
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Add synthetic, reproducible demo people to the database (never real people).
    Demo {
        /// How many people to add
        #[arg(long, default_value_t = 200)]
        people: usize,
        /// Seed: the same seed gives the same people
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage accounts from the command line (the first administrator).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API tokens (users can also manage their own at /account/tokens).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Postcode points for the hotspots map (from the ONS Postcode Directory or any CSV).
    Postcodes {
        #[command(subcommand)]
        action: PostcodesAction,
    },
    /// Work with the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Take an online, consistent backup while mace serves (SQLite: VACUUM INTO; PostgreSQL:
    /// pg_dump of an exported snapshot), optionally encrypted; `backup verify` checks one.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        action: Option<BackupAction>,
        /// The backup file to write (never overwritten)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Encrypt with this 256-bit key file (made by `mace backup key`); an encrypted backup
        /// also carries the audit key
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Restore a backup into the configured data directory (SQLite) or database (PostgreSQL),
    /// which must be empty, then check integrity, row counts and the audit chain.
    Restore {
        /// The backup file
        file: PathBuf,
        #[command(flatten)]
        keys: RestoreKeys,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Args)]
struct RestoreKeys {
    /// The backup key, for an encrypted backup
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// The audit key of the installation the backup came from (needed when the backup is not
    /// encrypted: plain backups never carry it)
    #[arg(long, value_name = "FILE")]
    audit_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum BackupAction {
    /// Restore a backup into a temporary place (a temporary directory; for PostgreSQL a
    /// temporary database on the configured server) and check integrity, row counts and the
    /// audit chain.
    Verify {
        /// The backup file
        file: PathBuf,
        #[command(flatten)]
        keys: RestoreKeys,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Make a new random backup key file (mode 0600).
    Key {
        /// Where to write it (never overwritten)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Create an account (and its organisation if it does not exist yet). Without
    /// --password-stdin a strong random password is generated and shown once.
    Add {
        /// Sign-in email address
        #[arg(long)]
        email: String,
        /// The person's name as colleagues know it
        #[arg(long)]
        name: String,
        /// Organisation name (created if missing)
        #[arg(long)]
        org: String,
        /// Organisation type, used when the organisation is created
        #[arg(long, default_value = "partnership")]
        org_type: String,
        /// Role (repeatable), for example partnership_admin, system_admin, privacy_officer
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Create many accounts from a CSV file with a header row: email, display name,
    /// organisation, roles (separated by ";"). Every row is checked first; if any is wrong,
    /// nothing is created and each problem is listed with its line. Organisations must exist.
    /// Each account's one-time password is printed once.
    Import {
        /// The CSV file (UTF-8, at most 1,000 accounts)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Create an API token for an account; the token is printed once and only its hash is kept.
    Create {
        /// The account the token acts as
        #[arg(long)]
        email: String,
        /// What will use the token, so it can be recognised later
        #[arg(long)]
        name: String,
        /// Scope (repeatable): read, write [default: read]
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Days until it expires (1 to 90)
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum PostcodesAction {
    /// Import (insert or replace) postcode points from a CSV with a header naming postcode,
    /// latitude and longitude (or the ONS Postcode Directory's pcds, lat and long). Bad rows
    /// are listed with their line numbers and skipped.
    Import {
        /// The CSV file (UTF-8)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Check the whole audit chain; names the first event that was altered, removed or reordered.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Load and validate the configuration, check the data directory and database, and print the
    /// effective settings (passwords redacted).
    Check {
        #[command(flatten)]
        db: DbArgs,
    },
}

fn overrides(db: DbArgs) -> Overrides {
    Overrides {
        data_dir: db.data_dir,
        database_url: db.database_url,
        ..Overrides::default()
    }
}

/// Replace Rust's default panic output (which prints the panic message, possibly holding data from
/// a request) with a record of where it happened only. The web layer turns a handler's panic into
/// the 500 page; this hook only decides what reaches the log.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, "panic caught (message withheld: it may contain personal data)");
    }));
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_panic_hook();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mace: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let file = cli.config.clone();
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve {
                addr,
                db,
                demo,
                log_format,
            } => {
                let o = Overrides {
                    addr,
                    demo: demo.then_some(true),
                    log_format,
                    ..overrides(db)
                };
                commands::serve(file.as_deref(), &o).await
            }
            Command::Migrate { db } => commands::migrate(file.as_deref(), &overrides(db)).await,
            Command::Demo { people, seed, db } => {
                commands::demo(file.as_deref(), &overrides(db), people, seed).await
            }
            Command::Config {
                action: ConfigAction::Check { db },
            } => commands::config_check(file.as_deref(), &overrides(db)).await,
            Command::User {
                action:
                    UserAction::Add {
                        email,
                        name,
                        org,
                        org_type,
                        roles,
                        password_stdin,
                        db,
                    },
            } => {
                let req = commands::UserAdd {
                    email,
                    name,
                    org,
                    org_type,
                    roles,
                    password_stdin,
                };
                commands::user_add(file.as_deref(), &overrides(db), req).await
            }
            Command::User {
                action: UserAction::Import { file: csv, db },
            } => commands::user_import(file.as_deref(), &overrides(db), &csv).await,
            Command::Token {
                action:
                    TokenAction::Create {
                        email,
                        name,
                        scopes,
                        days,
                        db,
                    },
            } => {
                let req = commands::TokenCreate {
                    email,
                    name,
                    scopes,
                    days,
                };
                commands::token_create(file.as_deref(), &overrides(db), req).await
            }
            Command::Postcodes {
                action: PostcodesAction::Import { file: csv, db },
            } => commands::postcodes_import(file.as_deref(), &overrides(db), &csv).await,
            Command::Audit {
                action: AuditAction::Verify { db },
            } => commands::audit_verify(file.as_deref(), &overrides(db)).await,
            Command::Backup {
                action: None,
                out,
                key_file,
                db,
            } => match out {
                Some(out) => {
                    let req = backup::BackupReq { out, key_file };
                    backup::backup(file.as_deref(), &overrides(db), req).await
                }
                None => Err(anyhow::anyhow!(
                    "give --out FILE for the backup (or see mace backup --help)"
                )),
            },
            Command::Backup {
                action: Some(BackupAction::Verify { file: f, keys, db }),
                ..
            } => {
                let req = backup::RestoreReq {
                    file: f,
                    key_file: keys.key_file,
                    audit_key: keys.audit_key,
                };
                backup::verify(file.as_deref(), &overrides(db), req).await
            }
            Command::Backup {
                action: Some(BackupAction::Key { out }),
                ..
            } => backup::make_key(&out),
            Command::Restore { file: f, keys, db } => {
                let req = backup::RestoreReq {
                    file: f,
                    key_file: keys.key_file,
                    audit_key: keys.audit_key,
                };
                backup::restore(file.as_deref(), &overrides(db), req).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line for the operator: the error and its causes, never a backtrace.
            eprintln!("mace: {e:#}");
            ExitCode::from(1)
        }
    }
}
