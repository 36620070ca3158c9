//! The operator commands. Each returns `anyhow::Result`; `main` prints an error as one line.

use crate::config::{Config, LogFormat, Overrides};
use anyhow::{Context, Result};
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

fn init_logging(cfg: &Config) {
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
    let ctx = Ctx::system();
    if cfg.demo {
        load_demo_once(&store, &ctx, cfg.demo_people, cfg.demo_seed).await?;
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
        ..mace_web::WebSettings::default()
    };
    let state = mace_web::AppState {
        store: store.clone(),
        ctx,
        settings: Arc::new(settings),
    };
    let app = mace_web::router(state);

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
        shutdown_signal().await;
        tracing::info!("shutdown signal received: finishing in-flight requests");
        let _ = stop_tx.send(true);
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(graceful);
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

fn print_demo_banner(out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "demo: synthetic data. Every person in this instance is invented; none is real."
    )?;
    writeln!(
        out,
        "demo accounts: none yet (sign-in arrives with the identity and access work)"
    )?;
    Ok(())
}

/// Load the demo people on the first start only (a marker in `app_meta` records it).
async fn load_demo_once(store: &Store, ctx: &Ctx, people: usize, seed: u64) -> Result<()> {
    let already = store
        .read(|tx| Box::pin(async move { tx.get_meta(DEMO_MARKER).await }))
        .await
        .context("cannot read the demo marker")?;
    if already.is_some() {
        return Ok(());
    }
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

/// Insert people in batches, one transaction per batch.
async fn insert_people(store: &Store, ctx: &Ctx, people: Vec<NewPerson>) -> Result<usize> {
    let mut added = 0;
    for chunk in people.chunks(500) {
        let n = store
            .write(|tx| {
                let chunk = chunk.to_vec();
                let ctx = ctx.clone();
                Box::pin(async move {
                    for p in chunk {
                        person::create(&ctx, tx, p).await?;
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
