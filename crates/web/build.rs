//! Builds mace's front-end assets from npm packages at compile time (architecture §4.1).
//!
//! Nothing third-party is committed. `frontend/` holds `package.json`, the committed
//! `package-lock.json`, and mace's own `src/` (Sass entry, init module, favicon). This script:
//!
//! 1. reruns when those files change;
//! 2. if `$OUT_DIR/assets` is missing or stale: runs `npm ci` unless `node_modules` already
//!    matches the lockfile, compiles the Sass with the npm `sass` CLI, copies
//!    `govuk-frontend.min.js`, mace's init module, its favicon and every image the CSS refers to
//!    into a temporary directory, then renames that into place;
//! 3. writes `$OUT_DIR/assets.rs`: each file as `include_bytes!`, its content type and hash;
//! 4. passes the `node_modules` path on as `MACE_NODE_MODULES` (the fixtures test reads it);
//! 5. fails with one plain `cargo::error=` when Node.js or npm is missing.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bump when this script's output changes for the same inputs.
const SCRIPT_VERSION: &str = "mace-web-assets-1";

/// Marker written into `node_modules` after a successful `npm ci`: the lockfile's hash.
const NODE_MODULES_STAMP: &str = ".mace-lockfile-sha256";

/// Marker written into `$OUT_DIR/assets`: the hash of every input.
const ASSETS_STAMP: &str = ".mace-inputs-sha256";

fn main() {
    if let Err(msg) = run() {
        // One plain line, not a backtrace: the person building can act on it.
        println!("cargo::error={}", msg.replace('\n', " "));
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    let frontend = manifest_dir.join("frontend");
    let node_modules = frontend.join("node_modules");
    let src = frontend.join("src");

    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=frontend/package.json");
    println!("cargo::rerun-if-changed=frontend/package-lock.json");
    println!("cargo::rerun-if-changed=frontend/src");
    // npm's own record of what it installed: rerun if node_modules is removed or reinstalled.
    println!("cargo::rerun-if-changed=frontend/node_modules/.package-lock.json");
    println!(
        "cargo::rustc-env=MACE_NODE_MODULES={}",
        node_modules.display()
    );

    let inputs = inputs_hash(&frontend, &src)?;
    let assets_dir = out_dir.join("assets");

    // Several builds (check, clippy, test) may share this checkout's node_modules at once.
    let _lock = lock_frontend(&frontend)?;

    ensure_node_modules(&frontend, &node_modules)?;

    let fresh = fs::read_to_string(assets_dir.join(ASSETS_STAMP))
        .map(|s| s.trim() == inputs)
        .unwrap_or(false);
    if !fresh {
        build_assets(
            &frontend,
            &node_modules,
            &src,
            &out_dir,
            &assets_dir,
            &inputs,
        )?;
    }

    write_assets_rs(&out_dir, &assets_dir)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set; build mace-web with cargo"))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A hash over everything the assets are built from.
fn inputs_hash(frontend: &Path, src: &Path) -> Result<String, String> {
    let mut h = Sha256::new();
    h.update(SCRIPT_VERSION.as_bytes());
    for name in ["package.json", "package-lock.json"] {
        h.update(name.as_bytes());
        h.update(read(&frontend.join(name))?);
    }
    for path in sorted_files(src)? {
        h.update(
            path.strip_prefix(src)
                .unwrap_or(&path)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(read(&path)?);
    }
    Ok(hex::encode(h.finalize()))
}

fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            files.extend(sorted_files(&path)?);
        } else {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// An exclusive lock on a file outside the source tree, named after this checkout.
fn lock_frontend(frontend: &Path) -> Result<fs::File, String> {
    let tag = &sha256_hex(frontend.to_string_lossy().as_bytes())[..16];
    let path = std::env::temp_dir().join(format!("mace-web-frontend-{tag}.lock"));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(file)
}

fn tool_version(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

const NEED_NODE: &str = "mace-web needs Node.js and npm to build its front-end assets \
     (GOV.UK Frontend and Sass come from npm at build time). Install them, for example with \
     `apt-get install nodejs npm`, then build again.";

/// Run `npm ci` unless `node_modules` was installed from exactly this lockfile.
fn ensure_node_modules(frontend: &Path, node_modules: &Path) -> Result<(), String> {
    let lock_hash = sha256_hex(&read(&frontend.join("package-lock.json"))?);
    let stamp = node_modules.join(NODE_MODULES_STAMP);
    let installed = fs::read_to_string(&stamp)
        .map(|s| s.trim() == lock_hash)
        .unwrap_or(false);
    let complete = ["govuk-frontend", "sass", "axe-core"]
        .iter()
        .all(|p| node_modules.join(p).join("package.json").is_file());
    if installed && complete {
        return Ok(());
    }

    if tool_version("node").is_none() || tool_version("npm").is_none() {
        return Err(NEED_NODE.to_string());
    }
    println!(
        "cargo::warning=installing front-end packages with npm ci (node_modules does not match package-lock.json)"
    );
    let out = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(frontend)
        .output()
        .map_err(|e| format!("cannot run npm ci: {e}. {NEED_NODE}"))?;
    if !out.status.success() {
        return Err(format!(
            "npm ci failed in {} ({}): {}",
            frontend.display(),
            out.status,
            last_lines(&out.stderr)
        ));
    }
    fs::write(&stamp, &lock_hash).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

fn last_lines(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

fn build_assets(
    frontend: &Path,
    node_modules: &Path,
    src: &Path,
    out_dir: &Path,
    assets_dir: &Path,
    inputs: &str,
) -> Result<(), String> {
    let tmp = out_dir.join(format!("assets.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| format!("cannot clear {}: {e}", tmp.display()))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;

    // 1. mace.css, compiled by the npm `sass` CLI (grass cannot compile govuk-frontend 6).
    let css_path = tmp.join("mace.css");
    let out = Command::new("node")
        .arg(node_modules.join("sass").join("sass.js"))
        .args([
            "--pkg-importer=node",
            "--style=compressed",
            "--no-source-map",
            "--quiet-deps",
        ])
        .arg(src.join("mace.scss"))
        .arg(&css_path)
        .current_dir(frontend)
        .output()
        .map_err(|e| format!("cannot run node: {e}. {NEED_NODE}"))?;
    if !out.status.success() {
        return Err(format!(
            "sass failed to compile frontend/src/mace.scss: {}",
            last_lines(&out.stderr)
        ));
    }
    let css =
        String::from_utf8(read(&css_path)?).map_err(|_| "mace.css is not UTF-8".to_string())?;
    if css.contains("GDS Transport") {
        return Err(
            "mace.css still refers to GDS Transport; mace uses Arial (architecture §4.2)".into(),
        );
    }

    // 2. Every image the CSS refers to (relative to the stylesheet, see src/_url-handlers.scss).
    let govuk_assets = node_modules.join("govuk-frontend/dist/govuk/assets");
    for url in css_urls(&css) {
        if url.starts_with("data:") {
            continue;
        }
        if url.starts_with('/')
            || url.contains("..")
            || url.contains("://")
            || !url.starts_with("images/")
        {
            return Err(format!(
                "mace.css refers to {url}, which build.rs cannot serve"
            ));
        }
        let from = govuk_assets.join(&url);
        let to = tmp.join(&url);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::copy(&from, &to).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }

    // 3. GOV.UK Frontend's ES module, without the source-map comment (the map is not served).
    let js = read(&node_modules.join("govuk-frontend/dist/govuk/govuk-frontend.min.js"))?;
    let js = String::from_utf8(js).map_err(|_| "govuk-frontend.min.js is not UTF-8".to_string())?;
    let js = match js.rfind("//# sourceMappingURL=") {
        Some(i) => js[..i].trim_end().to_string() + "\n",
        None => js,
    };
    write(&tmp.join("govuk-frontend.min.js"), js.as_bytes())?;

    // 4. mace's own files.
    write(&tmp.join("mace.mjs"), &read(&src.join("mace.mjs"))?)?;
    write(&tmp.join("favicon.svg"), &read(&src.join("favicon.svg"))?)?;

    write(&tmp.join(ASSETS_STAMP), inputs.as_bytes())?;

    if assets_dir.exists() {
        fs::remove_dir_all(assets_dir)
            .map_err(|e| format!("cannot remove {}: {e}", assets_dir.display()))?;
    }
    fs::rename(&tmp, assets_dir)
        .map_err(|e| format!("cannot move assets into {}: {e}", assets_dir.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The targets of `url(...)` in compiled CSS, unquoted.
fn css_urls(css: &str) -> Vec<String> {
    let mut urls = Vec::new();
    let mut rest = css;
    while let Some(i) = rest.find("url(") {
        rest = &rest[i + 4..];
        let Some(end) = rest.find(')') else { break };
        let url = rest[..end]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
        if !urls.contains(&url) {
            urls.push(url);
        }
        rest = &rest[end..];
    }
    urls
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// `$OUT_DIR/assets.rs`: a static table of every asset, and one hash over all of them that
/// becomes the URL prefix `/assets/<hash>/`, so relative references between assets resolve.
fn write_assets_rs(out_dir: &Path, assets_dir: &Path) -> Result<(), String> {
    let mut bundle = Sha256::new();
    let mut entries = String::new();
    for path in sorted_files(assets_dir)? {
        let Ok(rel) = path.strip_prefix(assets_dir) else {
            continue;
        };
        let name = rel.to_string_lossy().replace('\\', "/");
        if name.starts_with('.') {
            continue;
        }
        let bytes = read(&path)?;
        let hash = sha256_hex(&bytes);
        bundle.update(name.as_bytes());
        bundle.update(hash.as_bytes());
        let _ = writeln!(
            entries,
            "    Asset {{ name: {name:?}, content_type: {ct:?}, sha256: {hash:?}, bytes: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/assets/{name}\")) }},",
            ct = content_type(&name),
        );
    }
    let bundle = hex::encode(bundle.finalize());
    let code = format!(
        "// @generated by crates/web/build.rs\n\
         /// One hash over every asset: the `/assets/<hash>/` URL prefix.\n\
         pub const BUNDLE_HASH: &str = {short:?};\n\
         pub static ASSETS: &[Asset] = &[\n{entries}];\n",
        short = &bundle[..20],
    );
    let target = out_dir.join("assets.rs");
    if fs::read_to_string(&target)
        .map(|old| old == code)
        .unwrap_or(false)
    {
        return Ok(());
    }
    write(&target, code.as_bytes())
}
