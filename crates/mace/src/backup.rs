//! `mace backup`, `mace restore` and `mace backup verify`.
//!
//! A backup is one file. Inside (after decryption, when encrypted) it holds a header, a JSON
//! manifest and the members the manifest lists, each with its length and SHA-256:
//!
//! ```text
//! "MACEBKP1" | u32 BE manifest length | manifest JSON | member bytes, in manifest order
//! ```
//!
//! Members: `mace.db` (SQLite: a consistent copy made with `VACUUM INTO` on a reader
//! connection while the writer keeps serving) or `mace.pgdump` (PostgreSQL: `pg_dump
//! --format=custom` of a snapshot exported from a `REPEATABLE READ` transaction, in which the
//! manifest's row counts were also taken), and, in encrypted backups only, `audit.key`.
//!
//! Encrypted backups (`--key-file`, a 256-bit key made by `mace backup key`) wrap that whole
//! stream in XChaCha20-Poly1305 in the STREAM construction (RustCrypto's `aead::stream`,
//! big-endian 32-bit counter, 64 KiB segments, the last segment flagged, so reordering,
//! truncation and any flipped bit are detected):
//!
//! ```text
//! "MACEBKE1" | alg 0x01 | key id (8 bytes) | nonce prefix (19 bytes, OS CSPRNG) | segments
//! ```
//!
//! The 36-byte header is the associated data of every segment. The key id is the first 8 bytes
//! of SHA-256("mace-backup-key-id" ‖ key), so a wrong key is named as such.
//!
//! The audit key: a restored database is only useful with the key its audit chain was made
//! with (without it `mace audit verify` cannot run, and `mace serve` would start a second key
//! and break the chain). An encrypted backup therefore carries it, sealed under the backup key;
//! a plain backup never does (it would put the key next to the data it protects), and its
//! restore needs `--audit-key FILE`, the key kept from the original installation.

use crate::config::{Config, Overrides};
use anyhow::{Context, Result, bail};
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305};
use mace_domain::audit::ChainKey;
use mace_store::backup::TableCounts;
use mace_store::{Backend, Store};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

const PLAIN_MAGIC: &[u8; 8] = b"MACEBKP1";
const ENC_MAGIC: &[u8; 8] = b"MACEBKE1";
const ALG_XCHACHA_STREAM: u8 = 1;
const NONCE_LEN: usize = 19;
const ENC_HEADER_LEN: usize = 8 + 1 + 8 + NONCE_LEN;
const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
const MAX_MANIFEST: u32 = 1 << 20;
const FORMAT: u32 = 1;

const DB_MEMBER: &str = "mace.db";
const PG_MEMBER: &str = "mace.pgdump";
const KEY_MEMBER: &str = "audit.key";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    name: String,
    len: u64,
    sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    /// `sqlite` or `postgres`.
    engine: String,
    mace_version: String,
    /// RFC 3339, UTC.
    created_at: String,
    schema_version: i64,
    /// Row counts per table at the backup point.
    tables: BTreeMap<String, i64>,
    audit_key_included: bool,
    members: Vec<Member>,
}

impl Manifest {
    fn audit_events(&self) -> i64 {
        self.tables.get("audit_events").copied().unwrap_or(0)
    }
}

// ------------------------------------------------------------------------------------------------
// Keys

fn key_id(key: &[u8; 32]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(b"mace-backup-key-id");
    h.update(key);
    let d = h.finalize();
    let mut id = [0u8; 8];
    id.copy_from_slice(&d[..8]);
    id
}

/// `mace backup key --out FILE`: a new random backup key, mode 0600.
pub fn make_key(out: &Path) -> Result<()> {
    if out.exists() {
        bail!(
            "{} already exists: mace never overwrites a key",
            out.display()
        );
    }
    crate::keys::create_key(out)?;
    println!(
        "backup key written to {} (mode 0600): keep it off this host, apart from the backups",
        out.display()
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// The container: writing

/// Where the plaintext stream goes: the file directly, or through the STREAM encryptor.
enum Sink {
    Plain(BufWriter<File>),
    Sealed {
        file: BufWriter<File>,
        enc: Option<EncryptorBE32<XChaCha20Poly1305>>,
        aad: Vec<u8>,
        buf: Vec<u8>,
    },
}

fn aead_io(what: &str) -> std::io::Error {
    std::io::Error::other(what.to_string())
}

impl Sink {
    fn create(path: &Path, key: Option<&[u8; 32]>) -> Result<Sink> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut file = BufWriter::with_capacity(SEGMENT + TAG, file);
        let Some(key) = key else {
            return Ok(Sink::Plain(file));
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng
            .try_fill_bytes(&mut nonce)
            .context("the operating system's random source failed")?;
        let mut header = Vec::with_capacity(ENC_HEADER_LEN);
        header.extend_from_slice(ENC_MAGIC);
        header.push(ALG_XCHACHA_STREAM);
        header.extend_from_slice(&key_id(key));
        header.extend_from_slice(&nonce);
        file.write_all(&header)?;
        let aead = XChaCha20Poly1305::new(&Key::from(*key));
        let enc = EncryptorBE32::from_aead(aead, (&nonce).into());
        Ok(Sink::Sealed {
            file,
            enc: Some(enc),
            aad: header,
            buf: Vec::with_capacity(SEGMENT),
        })
    }

    /// Flush the last segment and sync the file to disk.
    fn finish(self) -> Result<()> {
        let mut file = match self {
            Sink::Plain(f) => f,
            Sink::Sealed {
                mut file,
                enc,
                aad,
                buf,
            } => {
                let enc = enc.ok_or_else(|| anyhow::anyhow!("the backup stream was closed"))?;
                let ct = enc
                    .encrypt_last(Payload {
                        msg: &buf,
                        aad: &aad,
                    })
                    .map_err(|_| anyhow::anyhow!("encryption failed"))?;
                file.write_all(&ct)?;
                file
            }
        };
        file.flush()?;
        let f = file
            .into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write the backup: {}", e.error()))?;
        f.sync_all().context("cannot sync the backup to disk")?;
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(f) => f.write(data),
            Sink::Sealed {
                file,
                enc,
                aad,
                buf,
            } => {
                if data.is_empty() {
                    return Ok(0);
                }
                // A full segment is sealed only once more data follows: the last one is
                // sealed by `finish` with the last-segment flag.
                if buf.len() == SEGMENT {
                    let enc = enc.as_mut().ok_or_else(|| aead_io("stream closed"))?;
                    let ct = enc
                        .encrypt_next(Payload {
                            msg: buf.as_slice(),
                            aad: aad.as_slice(),
                        })
                        .map_err(|_| aead_io("encryption failed"))?;
                    file.write_all(&ct)?;
                    buf.clear();
                }
                let n = data.len().min(SEGMENT - buf.len());
                buf.extend_from_slice(&data[..n]);
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(f) => f.flush(),
            Sink::Sealed { file, .. } => file.flush(),
        }
    }
}

/// Copy `len` bytes from `from` to `to`, returning their SHA-256 (hex).
fn copy_hashed(from: &mut impl Read, to: &mut impl Write, len: u64) -> Result<String> {
    let mut h = Sha256::new();
    let mut left = len;
    let mut buf = vec![0u8; SEGMENT];
    while left > 0 {
        let want = usize::try_from(left.min(SEGMENT as u64)).unwrap_or(SEGMENT);
        let n = from.read(&mut buf[..want])?;
        if n == 0 {
            bail!("the backup is cut short");
        }
        h.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(hex::encode(h.finalize()))
}

fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let mut f = BufReader::new(File::open(path)?);
    let len = std::fs::metadata(path)?.len();
    let digest = copy_hashed(&mut f, &mut std::io::sink(), len)?;
    Ok((len, digest))
}

/// Write the container to `out` (through a temporary name, then renamed, both synced).
fn write_container(
    out: &Path,
    key: Option<&[u8; 32]>,
    mut manifest: Manifest,
    files: &[(String, PathBuf)],
    audit_key: Option<&[u8; 32]>,
) -> Result<u64> {
    manifest.members.clear();
    for (name, path) in files {
        let (len, sha256) = sha256_file(path)?;
        manifest.members.push(Member {
            name: name.clone(),
            len,
            sha256,
        });
    }
    let key_text = audit_key.map(hex::encode);
    if let Some(k) = &key_text {
        let mut h = Sha256::new();
        h.update(k.as_bytes());
        manifest.members.push(Member {
            name: KEY_MEMBER.into(),
            len: k.len() as u64,
            sha256: hex::encode(h.finalize()),
        });
    }
    manifest.audit_key_included = key_text.is_some();
    let json = serde_json::to_vec(&manifest).context("cannot encode the manifest")?;
    let json_len = u32::try_from(json.len()).context("the manifest is too large")?;

    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    let partial = dir.join(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&partial);
    let result = (|| -> Result<()> {
        let mut sink = Sink::create(&partial, key)?;
        sink.write_all(PLAIN_MAGIC)?;
        sink.write_all(&json_len.to_be_bytes())?;
        sink.write_all(&json)?;
        for ((_, path), member) in files.iter().zip(&manifest.members) {
            let mut f = BufReader::new(File::open(path)?);
            let digest = copy_hashed(&mut f, &mut sink, member.len)?;
            if digest != member.sha256 {
                bail!("{} changed while it was being written", member.name);
            }
        }
        if let Some(k) = &key_text {
            sink.write_all(k.as_bytes())?;
        }
        sink.finish()?;
        std::fs::rename(&partial, out)
            .with_context(|| format!("cannot move the backup into place at {}", out.display()))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result?;
    Ok(std::fs::metadata(out)?.len())
}

// ------------------------------------------------------------------------------------------------
// The container: reading

struct Unsealer {
    file: BufReader<File>,
    dec: Option<DecryptorBE32<XChaCha20Poly1305>>,
    aad: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    carry: Option<u8>,
}

const DECRYPT_FAILED: &str = "cannot decrypt the backup: the file was altered or cut short";

impl Read for Unsealer {
    fn read(&mut self, to: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.out.len() {
            if self.dec.is_none() {
                return Ok(0);
            }
            let mut ct = Vec::with_capacity(SEGMENT + TAG);
            if let Some(b) = self.carry.take() {
                ct.push(b);
            }
            let mut chunk = [0u8; 8192];
            while ct.len() < SEGMENT + TAG {
                let want = (SEGMENT + TAG - ct.len()).min(chunk.len());
                let n = self.file.read(&mut chunk[..want])?;
                if n == 0 {
                    break;
                }
                ct.extend_from_slice(&chunk[..n]);
            }
            let mut last = ct.len() < SEGMENT + TAG;
            if !last {
                let mut one = [0u8; 1];
                if self.file.read(&mut one)? == 0 {
                    last = true;
                } else {
                    self.carry = Some(one[0]);
                }
            }
            let payload = Payload {
                msg: &ct,
                aad: &self.aad,
            };
            let pt = if last {
                let dec = self.dec.take().ok_or_else(|| aead_io(DECRYPT_FAILED))?;
                dec.decrypt_last(payload)
            } else {
                let dec = self.dec.as_mut().ok_or_else(|| aead_io(DECRYPT_FAILED))?;
                dec.decrypt_next(payload)
            }
            .map_err(|_| aead_io(DECRYPT_FAILED))?;
            self.out = pt;
            self.pos = 0;
        }
        let n = to.len().min(self.out.len() - self.pos);
        to[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

enum Source {
    Plain(BufReader<File>),
    Sealed(Box<Unsealer>),
}

impl Read for Source {
    fn read(&mut self, to: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::Plain(f) => f.read(to),
            Source::Sealed(u) => u.read(to),
        }
    }
}

fn open_source(path: &Path, key_file: Option<&Path>) -> Result<Source> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut file = BufReader::with_capacity(SEGMENT + TAG, file);
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic)
        .map_err(|_| anyhow::anyhow!("{} is not a mace backup", path.display()))?;
    if &magic == PLAIN_MAGIC {
        // Positioned just after the magic, as the encrypted case below leaves it.
        return Ok(Source::Plain(file));
    }
    if &magic != ENC_MAGIC {
        bail!("{} is not a mace backup", path.display());
    }
    let Some(key_file) = key_file else {
        bail!("this backup is encrypted: give --key-file with the key it was made with");
    };
    let key = crate::keys::load_key_bytes(key_file, "backup key")?;
    let mut rest = [0u8; ENC_HEADER_LEN - 8];
    file.read_exact(&mut rest)
        .map_err(|_| anyhow::anyhow!("the backup is cut short"))?;
    if rest[0] != ALG_XCHACHA_STREAM {
        bail!("this backup uses an encryption this mace does not know");
    }
    if rest[1..9] != key_id(&key) {
        bail!(
            "this backup was encrypted with another key than {}",
            key_file.display()
        );
    }
    let mut aad = magic.to_vec();
    aad.extend_from_slice(&rest);
    let nonce: [u8; NONCE_LEN] = rest[9..]
        .try_into()
        .map_err(|_| anyhow::anyhow!("the backup header is damaged"))?;
    let aead = XChaCha20Poly1305::new(&Key::from(key));
    let dec = DecryptorBE32::from_aead(aead, (&nonce).into());
    let mut src = Source::Sealed(Box::new(Unsealer {
        file,
        dec: Some(dec),
        aad,
        out: Vec::new(),
        pos: 0,
        carry: None,
    }));
    let mut inner = [0u8; 8];
    src.read_exact(&mut inner)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if &inner != PLAIN_MAGIC {
        bail!("the backup's contents are not a mace backup");
    }
    Ok(src)
}

/// A backup unpacked into a directory.
struct Unpacked {
    manifest: Manifest,
    /// `mace.db` or `mace.pgdump`.
    data: PathBuf,
    audit_key: Option<[u8; 32]>,
}

fn create_private(path: &Path) -> Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Read, decrypt (when sealed) and check a backup, writing its data member into `dir`.
fn unpack(path: &Path, key_file: Option<&Path>, dir: &Path) -> Result<Unpacked> {
    let mut src = open_source(path, key_file)?;
    let cut = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => anyhow::anyhow!("the backup is cut short"),
        _ => anyhow::anyhow!("{e}"),
    };
    let mut len = [0u8; 4];
    src.read_exact(&mut len).map_err(cut)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_MANIFEST {
        bail!("the backup's manifest is damaged");
    }
    let mut json = vec![0u8; len as usize];
    src.read_exact(&mut json).map_err(cut)?;
    let manifest: Manifest = serde_json::from_slice(&json)
        .map_err(|_| anyhow::anyhow!("the backup's manifest is damaged"))?;
    if manifest.format != FORMAT {
        bail!(
            "this backup has format {}; this mace reads format {FORMAT}",
            manifest.format
        );
    }
    let mut data = None;
    let mut audit_key = None;
    for m in &manifest.members {
        match m.name.as_str() {
            DB_MEMBER | PG_MEMBER if data.is_none() => {
                let to = dir.join(&m.name);
                let mut f = BufWriter::new(create_private(&to)?);
                let digest = copy_hashed(&mut src, &mut f, m.len)?;
                f.flush()?;
                f.get_ref().sync_all()?;
                if digest != m.sha256 {
                    bail!("{} in the backup is damaged (SHA-256 differs)", m.name);
                }
                data = Some(to);
            }
            KEY_MEMBER if audit_key.is_none() && m.len <= 128 => {
                let mut buf = Vec::new();
                let digest = copy_hashed(&mut src, &mut buf, m.len)?;
                if digest != m.sha256 {
                    bail!("the audit key in the backup is damaged");
                }
                let text = String::from_utf8(buf)
                    .map_err(|_| anyhow::anyhow!("the audit key in the backup is damaged"))?;
                audit_key = Some(crate::keys::parse_key(&text)?);
            }
            other => bail!("the backup holds an unexpected member {other:?}"),
        }
    }
    // Read to the end: the last sealed segment authenticates the end of the stream.
    let mut rest = [0u8; 1];
    if src.read(&mut rest)? != 0 {
        bail!("the backup has unexpected bytes after its contents");
    }
    let Some(data) = data else {
        bail!("the backup holds no database");
    };
    Ok(Unpacked {
        manifest,
        data,
        audit_key,
    })
}

// ------------------------------------------------------------------------------------------------
// PostgreSQL tools

fn pg_tool_path(tool: &str) -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(tool);
            if p.is_file() {
                return p;
            }
        }
    }
    // Debian keeps the versioned tools off PATH when only the server is installed.
    for v in ["17", "16", "15"] {
        let p = PathBuf::from(format!("/usr/lib/postgresql/{v}/bin/{tool}"));
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from(tool)
}

/// `pg_dump`/`pg_restore` with the connection in libpq's environment variables, never on the
/// command line (where `ps` would show the password).
fn pg_command(tool: &str, url: &str) -> Result<tokio::process::Command> {
    let u = url::Url::parse(url).map_err(|_| anyhow::anyhow!("the database URL is not valid"))?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let mut c = tokio::process::Command::new(pg_tool_path(tool));
    for v in [
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGSERVICE",
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "PGOPTIONS",
    ] {
        c.env_remove(v);
    }
    if let Some(h) = u.host_str() {
        c.env("PGHOST", h.trim_start_matches('[').trim_end_matches(']'));
    }
    if let Some(p) = u.port() {
        c.env("PGPORT", p.to_string());
    }
    if !u.username().is_empty() {
        c.env("PGUSER", decode(u.username()));
    }
    if let Some(p) = u.password() {
        c.env("PGPASSWORD", decode(p));
    }
    let db = decode(u.path().trim_start_matches('/'));
    if !db.is_empty() {
        c.env("PGDATABASE", db);
    }
    for (k, v) in u.query_pairs() {
        match k.as_ref() {
            "sslmode" => {
                c.env("PGSSLMODE", v.as_ref());
            }
            "sslrootcert" => {
                c.env("PGSSLROOTCERT", v.as_ref());
            }
            _ => {}
        }
    }
    c.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    Ok(c)
}

async fn run_tool(mut c: tokio::process::Command, tool: &str) -> Result<()> {
    let out = c
        .output()
        .await
        .with_context(|| format!("cannot run {tool} (install the PostgreSQL client tools)"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        bail!("{tool} failed ({}): {last}", out.status);
    }
    Ok(())
}

async fn pg_dump(url: &str, snapshot: &str, out: &Path) -> Result<()> {
    let mut c = pg_command("pg_dump", url)?;
    c.args([
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        "--snapshot",
        snapshot,
        "--file",
    ])
    .arg(out);
    run_tool(c, "pg_dump").await
}

async fn pg_restore(url: &str, dump: &Path) -> Result<()> {
    let u = url::Url::parse(url).map_err(|_| anyhow::anyhow!("the database URL is not valid"))?;
    let db = u.path().trim_start_matches('/').to_string();
    let mut c = pg_command("pg_restore", url)?;
    c.args([
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--dbname",
        &db,
    ])
    .arg(dump);
    run_tool(c, "pg_restore").await
}

// ------------------------------------------------------------------------------------------------
// Checks

/// Integrity, row counts against the manifest, and the audit chain with `key`.
async fn check_restored(store: &Store, m: &Manifest, key: &ChainKey) -> Result<String> {
    let report = store
        .integrity_check()
        .await
        .map_err(|e| anyhow::anyhow!("cannot run the integrity check: {e}"))?;
    if !report.is_clean() {
        bail!("integrity check failed: {}", report.problems.join("; "));
    }
    let counts: BTreeMap<String, i64> = store
        .table_counts()
        .await
        .map_err(|e| anyhow::anyhow!("cannot count rows: {e}"))?
        .into_iter()
        .collect();
    for (t, want) in &m.tables {
        let got = counts.get(t).copied();
        if got != Some(*want) {
            bail!(
                "table {t}: {} rows restored, the backup recorded {want}",
                got.map_or("no".to_string(), |n| n.to_string())
            );
        }
    }
    if let Some(extra) = counts.keys().find(|t| !m.tables.contains_key(*t)) {
        bail!("table {extra} is not in the backup's manifest");
    }
    let verified = store
        .verify_audit(key)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the audit log: {e}"))?;
    let v = match verified {
        Ok(v) => v,
        Err(bad) => bail!("audit chain BROKEN: {bad}"),
    };
    if v.events != m.audit_events() {
        bail!(
            "audit chain has {} events, the backup recorded {}",
            v.events,
            m.audit_events()
        );
    }
    let rows: i64 = counts.values().sum();
    Ok(format!(
        "{} tables, {rows} rows as recorded; integrity OK ({}); audit chain OK: {} events, head at event {}",
        counts.len(),
        report.checks.join(", "),
        v.events,
        v.head_seq
    ))
}

fn sqlite_files(db: &Path) -> [PathBuf; 3] {
    let s = db.as_os_str().to_owned();
    let with = |suffix: &str| {
        let mut p = s.clone();
        p.push(suffix);
        PathBuf::from(p)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
}

fn engine_name(b: Backend) -> &'static str {
    b.as_str()
}

// ------------------------------------------------------------------------------------------------
// Commands

pub struct BackupReq {
    pub out: PathBuf,
    pub key_file: Option<PathBuf>,
}

/// `mace backup --out FILE [--key-file KEY]`.
pub async fn backup(file: Option<&Path>, o: &Overrides, req: BackupReq) -> Result<()> {
    let cfg = Config::load(file, o)?;
    crate::commands::init_logging(&cfg);
    if req.out.exists() {
        bail!(
            "{} already exists: choose a new name (mace never overwrites a backup)",
            req.out.display()
        );
    }
    let key = req
        .key_file
        .as_deref()
        .map(|p| crate::keys::load_key_bytes(p, "backup key"))
        .transpose()?;
    // An encrypted backup carries the audit key (see the module documentation).
    let audit_key = match key {
        Some(_) => Some(crate::keys::load_key_bytes(
            &cfg.audit_key_path(),
            "audit key",
        )?),
        None => None,
    };
    if cfg.database_url.is_none() && !cfg.data_dir.join("mace.db").is_file() {
        bail!(
            "there is no database at {}: nothing to back up",
            cfg.database_display()
        );
    }
    let out_dir = req
        .out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    if !out_dir.is_dir() {
        bail!("directory {} does not exist", out_dir.display());
    }
    let started = Instant::now();
    let store = Store::open(&cfg.db_config()?).await?;
    let schema_version = store
        .schema_version()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the schema version: {e}"))?;
    let tmp = tempfile::Builder::new()
        .prefix(".mace-backup-")
        .tempdir_in(&out_dir)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                out_dir.display()
            )
        })?;
    let backend = store.backend();
    let copied: Result<(String, PathBuf, TableCounts)> = async {
        match backend {
            Backend::Sqlite => {
                let p = tmp.path().join(DB_MEMBER);
                let (counts, report) = store
                    .sqlite_snapshot_into(&p)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot copy the database: {e}"))?;
                if !report.is_clean() {
                    bail!(
                        "the copy failed its integrity check: {}",
                        report.problems.join("; ")
                    );
                }
                Ok((DB_MEMBER.to_string(), p, counts))
            }
            Backend::Postgres => {
                let url = cfg.database_url.clone().unwrap_or_default();
                let pin = store
                    .pin_snapshot()
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot open a snapshot: {e}"))?;
                let p = tmp.path().join(PG_MEMBER);
                let dumped = pg_dump(&url, pin.id(), &p).await;
                let counts = pin.counts().clone();
                pin.release().await;
                dumped?;
                Ok((PG_MEMBER.to_string(), p, counts))
            }
        }
    }
    .await;
    store.close().await;
    let (member, path, counts) = copied?;
    let copy_time = started.elapsed();
    let now = mace_domain::Ctx::system().clock.now();
    let manifest = Manifest {
        format: FORMAT,
        engine: engine_name(backend).into(),
        mace_version: env!("CARGO_PKG_VERSION").into(),
        created_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        schema_version,
        tables: counts.into_iter().collect(),
        audit_key_included: false,
        members: Vec::new(),
    };
    let events = manifest.audit_events();
    let rows: i64 = manifest.tables.values().sum();
    let size = write_container(
        &req.out,
        key.as_ref(),
        manifest,
        &[(member, path)],
        audit_key.as_ref(),
    )?;
    drop(tmp);
    println!(
        "backup written to {}: {size} bytes, {} database (schema {schema_version}), {rows} rows, {events} audit events; {}; copied in {:.2}s, written in {:.2}s",
        req.out.display(),
        engine_name(backend),
        if key.is_some() {
            "encrypted (XChaCha20-Poly1305), audit key included"
        } else {
            "NOT encrypted, audit key NOT included (keep it separately)"
        },
        copy_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

pub struct RestoreReq {
    pub file: PathBuf,
    pub key_file: Option<PathBuf>,
    pub audit_key: Option<PathBuf>,
}

/// The audit key to check (and, on restore, to install): the one in the backup, else the one
/// given with `--audit-key`, else (verify only) the configured one when it exists.
fn choose_audit_key(
    carried: Option<[u8; 32]>,
    given: Option<&Path>,
    configured: Option<&Path>,
) -> Result<[u8; 32]> {
    let given = given
        .map(|p| crate::keys::load_key_bytes(p, "audit key"))
        .transpose()?;
    match (carried, given) {
        (Some(c), Some(g)) if c != g => {
            bail!("the audit key given differs from the one in the backup")
        }
        (Some(c), _) => Ok(c),
        (None, Some(g)) => Ok(g),
        (None, None) => match configured.filter(|p| p.exists()) {
            Some(p) => crate::keys::load_key_bytes(p, "audit key"),
            None => bail!(
                "this backup does not carry the audit key (it is not encrypted): give --audit-key FILE, the key kept from the installation it was taken from"
            ),
        },
    }
}

fn check_engine(m: &Manifest, configured: Backend) -> Result<()> {
    if m.engine != engine_name(configured) {
        bail!(
            "this is a {} backup, but the configuration points at a {} database",
            m.engine,
            engine_name(configured)
        );
    }
    Ok(())
}

/// `mace restore FILE`: into the configured data directory (SQLite) or database (PostgreSQL),
/// which must be empty; then checked as `mace backup verify` checks.
pub async fn restore(file: Option<&Path>, o: &Overrides, req: RestoreReq) -> Result<()> {
    let cfg = Config::load(file, o)?;
    crate::commands::init_logging(&cfg);
    let started = Instant::now();
    let key_path = cfg.audit_key_path();
    let configured = if cfg.database_url.is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    if configured == Backend::Sqlite && !is_empty_dir(&cfg.data_dir)? {
        bail!(
            "data directory {} is not empty: mace restores only into an empty data directory (move the old one aside first)",
            cfg.data_dir.display()
        );
    }
    let existing_key = if key_path.exists() {
        Some(crate::keys::load_key_bytes(&key_path, "audit key")?)
    } else {
        None
    };
    let db_cfg = cfg.db_config()?;
    if configured == Backend::Postgres {
        let store = Store::open(&db_cfg).await?;
        let empty = store
            .is_empty()
            .await
            .map_err(|e| anyhow::anyhow!("cannot inspect the database: {e}"));
        store.close().await;
        if !empty? {
            bail!(
                "the database {} is not empty: mace restores only into an empty database",
                cfg.database_display()
            );
        }
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".mace-restore-")
        .tempdir_in(&cfg.data_dir)
        .with_context(|| format!("cannot write in {}", cfg.data_dir.display()))?;
    let unpacked = unpack(&req.file, req.key_file.as_deref(), tmp.path())?;
    check_engine(&unpacked.manifest, configured)?;
    let key = choose_audit_key(unpacked.audit_key, req.audit_key.as_deref(), None)?;
    if let Some(existing) = existing_key
        && existing != key
    {
        bail!(
            "audit key file {} already holds another key: the restored audit chain needs the backup's key",
            key_path.display()
        );
    }
    let chain_key = ChainKey::from_bytes(key);
    let summary = match configured {
        Backend::Sqlite => {
            // Check the copy where it was unpacked, then move it into place.
            let store = Store::open(&mace_store::DbConfig::Sqlite {
                path: unpacked.data.clone(),
            })
            .await?;
            let checked = check_restored(&store, &unpacked.manifest, &chain_key).await;
            store.close().await;
            let summary = checked?;
            let target = cfg.data_dir.join("mace.db");
            for (from, to) in sqlite_files(&unpacked.data)
                .iter()
                .zip(sqlite_files(&target))
            {
                if from.exists() {
                    std::fs::rename(from, &to)
                        .with_context(|| format!("cannot move the database to {}", to.display()))?;
                }
            }
            summary
        }
        Backend::Postgres => {
            let url = cfg.database_url.clone().unwrap_or_default();
            pg_restore(&url, &unpacked.data).await?;
            let store = Store::open(&db_cfg).await?;
            let checked = check_restored(&store, &unpacked.manifest, &chain_key).await;
            store.close().await;
            checked?
        }
    };
    drop(tmp);
    if existing_key.is_none() {
        crate::keys::write_key(&key_path, &key)?;
    }
    if let Ok(d) = File::open(&cfg.data_dir) {
        let _ = d.sync_all();
    }
    println!(
        "restored {} (taken {}) into {} in {:.2}s: {summary}",
        req.file.display(),
        unpacked.manifest.created_at,
        cfg.database_display(),
        started.elapsed().as_secs_f64()
    );
    println!("audit key at {}", key_path.display());
    Ok(())
}

/// `mace backup verify FILE`: restore into a temporary place (a temporary directory; for
/// PostgreSQL a temporary database on the configured server) and check it.
pub async fn verify(file: Option<&Path>, o: &Overrides, req: RestoreReq) -> Result<()> {
    let cfg = Config::load(file, o)?;
    crate::commands::init_logging(&cfg);
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("mace-verify-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let unpacked = unpack(&req.file, req.key_file.as_deref(), tmp.path())?;
    let configured_key = cfg.audit_key_path();
    let key = choose_audit_key(
        unpacked.audit_key,
        req.audit_key.as_deref(),
        Some(&configured_key),
    )?;
    let chain_key = ChainKey::from_bytes(key);
    let m = &unpacked.manifest;
    let summary = match m.engine.as_str() {
        "sqlite" => {
            let store = Store::open(&mace_store::DbConfig::Sqlite {
                path: unpacked.data.clone(),
            })
            .await?;
            let checked = check_restored(&store, m, &chain_key).await;
            store.close().await;
            checked?
        }
        "postgres" => {
            let Some(url) = cfg.database_url.clone() else {
                bail!(
                    "a PostgreSQL backup is verified on a PostgreSQL server: give --database-url (a temporary database is created there and dropped; needs CREATEDB)"
                );
            };
            let mut suffix = [0u8; 8];
            rand::rngs::OsRng
                .try_fill_bytes(&mut suffix)
                .context("the operating system's random source failed")?;
            let name = format!("mace_verify_{}", hex::encode(suffix));
            let temp_url = mace_store::backup::pg_create_database(&url, &name)
                .await
                .map_err(|e| anyhow::anyhow!("cannot create a temporary database: {e}"))?;
            let checked: Result<String> = async {
                pg_restore(&temp_url, &unpacked.data).await?;
                let store = Store::open(&mace_store::DbConfig::Postgres {
                    url: temp_url.clone(),
                })
                .await?;
                let c = check_restored(&store, m, &chain_key).await;
                store.close().await;
                c
            }
            .await;
            let dropped = mace_store::backup::pg_drop_database(&url, &name).await;
            let summary = checked?;
            dropped.map_err(|e| anyhow::anyhow!("cannot drop temporary database {name}: {e}"))?;
            summary
        }
        other => bail!("this backup is of an unknown engine {other:?}"),
    };
    println!(
        "backup OK: {} ({} database, schema {}, taken {}, {}): {summary}; restored and checked in {:.2}s",
        req.file.display(),
        m.engine,
        m.schema_version,
        m.created_at,
        if m.audit_key_included {
            "encrypted, audit key included"
        } else {
            "audit key kept separately"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
