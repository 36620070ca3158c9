//! Configuration: built-in defaults, then an optional TOML file, then `MACE_*` environment
//! variables (and `DATABASE_URL`), then command-line flags. Later layers win.

use anyhow::{Context, Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Where the embedded database (and later, keys) live.
    pub data_dir: PathBuf,
    /// `postgres://…` selects PostgreSQL; unset means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Load synthetic demo data on first start and show the demo banner.
    pub demo: bool,
    /// How many synthetic people the demo loads on first start.
    pub demo_people: usize,
    /// Seed for the demo data, so a demo is reproducible.
    pub demo_seed: u64,
    pub log_format: LogFormat,
    /// A `tracing` filter, for example `info` or `mace=debug,info`.
    pub log_level: String,
    pub request_timeout_secs: u64,
    pub max_body_bytes: usize,
    /// How long in-flight requests get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// The audit chain's key file (kept outside the database); default `<data_dir>/keys/audit.key`.
    pub audit_key_file: Option<PathBuf>,
    /// A map tile server for the hotspots map: a URL template with `{z}`, `{x}` and `{y}` (also
    /// MACE_MAP_TILE_URL). Unset draws a plain grid.
    pub map_tile_url: Option<String>,
    /// The tile server's attribution text, shown under the map (also MACE_MAP_ATTRIBUTION).
    pub map_attribution: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./mace-data"),
            database_url: None,
            demo: false,
            demo_people: 200,
            demo_seed: 2026,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            request_timeout_secs: 30,
            max_body_bytes: 1024 * 1024,
            shutdown_grace_secs: 20,
            audit_key_file: None,
            map_tile_url: None,
            map_attribution: String::new(),
        }
    }
}

/// The environment variables mace reads (`MACE_` + the upper-cased field name).
const ENV_KEYS: &[&str] = &[
    "addr",
    "data_dir",
    "database_url",
    "demo",
    "demo_people",
    "demo_seed",
    "log_format",
    "log_level",
    "request_timeout_secs",
    "max_body_bytes",
    "shutdown_grace_secs",
    "audit_key_file",
    "map_tile_url",
    "map_attribution",
];

/// Values given on the command line; `None` leaves the lower layers alone.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                bail!(
                    "configuration file {} does not exist or is not a file",
                    path.display()
                );
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        fig = fig.merge(Env::prefixed("MACE_").only(ENV_KEYS));
        if let Ok(url) = std::env::var("DATABASE_URL")
            && std::env::var_os("MACE_DATABASE_URL").is_none()
            && !url.is_empty()
        {
            fig = fig.merge(Serialized::default("database_url", url));
        }
        fig = fig.merge(Serialized::defaults(overrides));
        let cfg: Config = fig
            .extract()
            .map_err(|e| anyhow::anyhow!(one_line_figment(&e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            bail!(
                "database URL must start with postgres:// (leave it unset to use the embedded SQLite database)"
            );
        }
        if self.request_timeout_secs == 0 {
            bail!("request_timeout_secs must be at least 1");
        }
        if self.max_body_bytes < 1024 {
            bail!("max_body_bytes must be at least 1024");
        }
        if let Some(url) = &self.map_tile_url {
            let settings = mace_web::WebSettings {
                map_tile_url: Some(url.clone()),
                ..mace_web::WebSettings::default()
            };
            if settings.map_tile_origin().is_none()
                || !(url.contains("{z}") && url.contains("{x}") && url.contains("{y}"))
            {
                bail!(
                    "map_tile_url must be an http(s) URL template with {{z}}, {{x}} and {{y}}, like https://tile.example.org/{{z}}/{{x}}/{{y}}.png"
                );
            }
            if self.map_attribution.trim().is_empty() {
                bail!(
                    "map_attribution must give the tile server's attribution when map_tile_url is set"
                );
            }
        }
        Ok(())
    }

    pub fn db_config(&self) -> Result<mace_store::DbConfig> {
        mace_store::DbConfig::from_url_or_dir(self.database_url.as_deref(), &self.data_dir)
            .context("invalid database configuration")
    }

    /// For SQLite, make sure the data directory exists and is writable; one clear error if not.
    pub fn prepare_data_dir(&self) -> Result<()> {
        if self.database_url.is_some() {
            return Ok(());
        }
        let dir = &self.data_dir;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        let probe = dir.join(".mace-write-check");
        std::fs::write(&probe, b"ok")
            .with_context(|| format!("data directory {} is not writable", dir.display()))?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }

    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys").join("audit.key"))
    }

    /// The database target for messages, with any password removed.
    pub fn database_display(&self) -> String {
        match &self.database_url {
            None => format!("sqlite:{}", self.data_dir.join("mace.db").display()),
            Some(url) => redact_url(url),
        }
    }
}

pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("REDACTED"));
            }
            u.to_string()
        }
        Err(_) => "(unparseable URL)".into(),
    }
}

fn one_line_figment(e: &figment::Error) -> String {
    let mut parts = Vec::new();
    for err in e.clone() {
        let mut s = format!("configuration error: {}", err.kind);
        if !err.path.is_empty() {
            s = format!(
                "configuration error in `{}`: {}",
                err.path.join("."),
                err.kind
            );
        }
        if let Some(meta) = &err.metadata {
            s.push_str(&format!(" (from {})", meta.name));
        }
        parts.push(s);
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        let s = redact_url("postgres://mace:s3cret@db.example:5432/mace");
        assert!(!s.contains("s3cret"));
        assert!(s.contains("REDACTED"));
    }

    #[test]
    fn defaults_validate() {
        assert!(Config::default().validate().is_ok());
        let bad = Config {
            database_url: Some("mysql://x".into()),
            ..Config::default()
        };
        assert!(bad.validate().is_err());
    }
}
