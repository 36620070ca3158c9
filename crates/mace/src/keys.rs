//! Keys kept outside the database (security guide CRY-01, CRY-04): the audit chain's HMAC key
//! and the backup key.
//!
//! | key | algorithm | purpose | location | rotation |
//! |---|---|---|---|---|
//! | audit | HMAC-SHA-256, 256 bits | chains the audit log | `audit_key_file` (default `<data_dir>/keys/audit.key`), mode 0600 | new chain segment (not yet automated) |
//! | backup | XChaCha20-Poly1305 (STREAM), 256 bits | encrypts backups (`mace backup --key-file`) | wherever the operator keeps it, off the host, mode 0600; `mace backup key --out FILE` makes one | new key for new backups; keep old keys while their backups are kept |
//!
//! A missing audit key file is created on first start from the OS CSPRNG. A key file that the group or
//! others can read is refused, as is one of the wrong size.

use anyhow::{Context, Result, bail};
use mace_domain::audit::ChainKey;
use rand::TryRngCore;
use std::io::Write;
use std::path::Path;

/// Load the key, creating it if `create` and it does not exist yet.
pub fn load_audit_key(path: &Path, create: bool) -> Result<ChainKey> {
    if !path.exists() {
        if !create {
            bail!("audit key file {} does not exist", path.display());
        }
        create_key(path)?;
    }
    Ok(ChainKey::from_bytes(load_key_bytes(path, "audit key")?))
}

/// Read a 256-bit key file (64 hexadecimal characters, mode 0600): the audit key or a backup key.
pub fn load_key_bytes(path: &Path, what: &str) -> Result<[u8; 32]> {
    if !path.exists() {
        bail!("{what} file {} does not exist", path.display());
    }
    check_permissions(path, what)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} file {}", path.display()))?;
    parse_key(&text).with_context(|| format!("{what} file {}", path.display()))
}

/// 64 hexadecimal characters (surrounding whitespace ignored) as 32 bytes.
pub fn parse_key(text: &str) -> Result<[u8; 32]> {
    let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32);
    let Some(bytes) = bytes else {
        bail!("must hold 64 hexadecimal characters (256 bits)");
    };
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Create a new random 256-bit key file (refusing to overwrite one), mode 0600.
pub fn create_key(path: &Path) -> Result<()> {
    let mut key = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut key)
        .context("the operating system's random source failed")?;
    write_key(path, &key)
}

/// Write `key` as a new key file (refusing to overwrite one), mode 0600, synced.
pub fn write_key(path: &Path, key: &[u8; 32]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create key directory {}", dir.display()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create key file {}", path.display()))?;
    f.write_all(hex::encode(key).as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn check_permissions(path: &Path, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "{what} file {} is readable by group or others (mode {:o}): run chmod 600 on it",
                path.display(),
                mode & 0o777
            );
        }
    }
    Ok(())
}
