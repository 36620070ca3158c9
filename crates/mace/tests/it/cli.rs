//! The command line, driven through the real binary: help everywhere, layered configuration,
//! and bad configuration that ends in one clear line and a non-zero exit, never a panic.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mace() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mace"));
    // Keep the caller's environment from leaking into the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("MACE_") || k == "DATABASE_URL" {
            c.env_remove(k);
        }
    }
    c.stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run mace")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A failure must be exactly one line on stderr, start with `mace: `, contain `needle`, and
/// never be a panic or a backtrace.
fn assert_one_line_failure(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "stderr should be one line: {err:?}"
    );
    assert!(err.starts_with("mace: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn help_on_every_command() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["config", "--help"],
        vec!["config", "check", "--help"],
        vec!["user", "add", "--help"],
        vec!["audit", "verify", "--help"],
    ] {
        let out = run(mace().args(&args));
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{args:?}");
    }
    let out = run(mace().arg("--version"));
    assert!(text(&out.stdout).starts_with("mace "));
}

#[test]
fn migrate_creates_the_database_then_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let first = run(mace().args(["migrate", "--data-dir"]).arg(&data));
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(data.join("mace.db").is_file());
    assert!(
        !text(&first.stdout).contains(" 0 migration"),
        "{}",
        text(&first.stdout)
    );
    let second = run(mace().args(["migrate", "--data-dir"]).arg(&data));
    assert!(second.status.success());
    assert!(
        text(&second.stdout).contains(": 0 migration(s) applied"),
        "{}",
        text(&second.stdout)
    );
}

#[test]
fn unusable_data_dir_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    for cmd in ["migrate", "serve"] {
        let out = run(mace().args([cmd, "--data-dir"]).arg(file.join("sub")));
        assert_one_line_failure(&out, "data directory");
    }
}

#[test]
fn bad_database_urls_are_one_clear_line_without_the_password() {
    let out = run(mace().args(["migrate", "--database-url", "mysql://root:pw@localhost/x"]));
    assert_one_line_failure(&out, "postgres://");

    let out = run(mace().args([
        "config",
        "check",
        "--database-url",
        "postgres://mace:hunter2secret@127.0.0.1:1/mace",
    ]));
    assert_one_line_failure(&out, "PostgreSQL");
    assert!(!text(&out.stderr).contains("hunter2secret"));

    // The same through the environment.
    let out = run(mace()
        .arg("migrate")
        .env("DATABASE_URL", "postgres://u:envsecret@127.0.0.1:1/db"));
    assert_one_line_failure(&out, "PostgreSQL");
    assert!(!text(&out.stderr).contains("envsecret"));
}

#[test]
fn port_in_use_is_one_clear_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = run(mace()
        .args(["serve", "--addr", &addr, "--data-dir"])
        .arg(dir.path()));
    assert_one_line_failure(&out, "cannot listen on");
}

#[test]
fn configuration_layers_defaults_file_env_flags() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("from-file");
    let from_env = dir.path().join("from-env");
    let from_flag = dir.path().join("from-flag");
    let cfg = dir.path().join("mace.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\ndemo_people = 42\nlog_format = \"json\"\n",
            from_file.display().to_string()
        ),
    )
    .unwrap();

    let shown = |c: &mut Command| -> serde_json::Value {
        let out = run(c);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let json_end = stdout.rfind('}').unwrap();
        serde_json::from_str(&stdout[..=json_end]).unwrap()
    };

    // Defaults.
    let v = shown(mace().args(["config", "check"]).current_dir(dir.path()));
    assert_eq!(v["addr"], "127.0.0.1:8080");
    assert_eq!(v["demo_people"], 200);
    // File over defaults.
    let v = shown(mace().arg("--config").arg(&cfg).args(["config", "check"]));
    assert_eq!(v["data_dir"], from_file.display().to_string());
    assert_eq!(v["demo_people"], 42);
    assert_eq!(v["log_format"], "json");
    // Environment over file.
    let v = shown(
        mace()
            .arg("--config")
            .arg(&cfg)
            .args(["config", "check"])
            .env("MACE_DATA_DIR", &from_env)
            .env("MACE_DEMO_PEOPLE", "7"),
    );
    assert_eq!(v["data_dir"], from_env.display().to_string());
    assert_eq!(v["demo_people"], 7);
    // Flags over environment.
    let v = shown(
        mace()
            .arg("--config")
            .arg(&cfg)
            .args(["config", "check", "--data-dir"])
            .arg(&from_flag)
            .env("MACE_DATA_DIR", &from_env),
    );
    assert_eq!(v["data_dir"], from_flag.display().to_string());
}

#[test]
fn bad_configuration_values_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mace.toml");
    std::fs::write(&cfg, "data_dri = \"typo\"\n").unwrap();
    let out = run(mace().arg("--config").arg(&cfg).args(["config", "check"]));
    assert_one_line_failure(&out, "data_dri");

    let out = run(mace()
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .args(["config", "check"]));
    assert_one_line_failure(&out, "does not exist");

    let out = run(mace()
        .args(["config", "check"])
        .env("MACE_ADDR", "not-an-address")
        .current_dir(dir.path()));
    assert_one_line_failure(&out, "addr");
}

#[test]
fn demo_command_adds_reproducible_people() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(mace()
        .args(["demo", "--people", "25", "--seed", "7", "--data-dir"])
        .arg(dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("added 25 synthetic people (seed 7)"));
}

/// A running `mace serve`, killed on drop.
struct Served {
    child: Child,
    addr: String,
    stdout_head: String,
}

impl Served {
    fn start(data_dir: &Path, extra: &[&str]) -> Served {
        let mut child = mace()
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut head = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "mace exited before listening: {head}"
            );
            head.push_str(&line);
            if let Some(rest) = line.trim().strip_prefix("mace listening on http://") {
                let addr = rest.to_string();
                return Served {
                    child,
                    addr,
                    stdout_head: head,
                };
            }
            assert!(Instant::now() < deadline, "no listening line");
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.get_with(path, "")
    }

    /// GET with extra header lines (each ending in CRLF).
    fn get_with(&self, path: &str, headers: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{headers}Connection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let status = raw
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, raw)
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "mace did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_demo_shows_banner_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(dir.path(), &["--demo"]);
    assert!(
        served.stdout_head.contains("demo: synthetic data"),
        "{}",
        served.stdout_head
    );
    let (status, body) = served.get("/");
    assert_eq!(status, 200);
    assert!(
        body.contains("demo: synthetic data"),
        "home page has the demo banner"
    );
    assert_eq!(served.get("/healthz").0, 200);
    assert_eq!(served.get("/readyz").0, 200);
    let status = served.terminate();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );

    // A second start on the same data directory keeps the data and does not load the demo again.
    let mut again = Served::start(dir.path(), &["--demo"]);
    assert_eq!(again.get("/readyz").0, 200);
    assert!(again.terminate().success());
}

fn sqlite_exec(db: &Path, statements: &[&str]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
            .await
            .unwrap();
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
                .execute(&mut c)
                .await
                .unwrap();
        }
        c.close().await.unwrap();
    });
}

#[test]
fn user_add_creates_the_first_administrator_once() {
    let dir = tempfile::tempdir().unwrap();
    let add = |email: &str, stdin: &str| {
        let mut c = mace();
        c.args([
            "user",
            "add",
            "--email",
            email,
            "--name",
            "Nadia Clarke",
            "--org",
            "Estuary Partnership",
        ])
        .args([
            "--role",
            "partnership_admin",
            "--role",
            "system_admin",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("admin@partnership.example", "plum-violin-harbour-77\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("created account admin@partnership.example"));
    // The same email again is refused, clearly.
    let again = add("ADMIN@partnership.example", "plum-violin-harbour-77\n");
    assert_one_line_failure(&again, "already exists");
    // A weak password is refused before anything is stored (AUTH-01, AUTH-02).
    let weak = add("other@partnership.example", "password123\n");
    assert_one_line_failure(&weak, "characters");
    let weak = add("other@partnership.example", "Nadia.Clarke.2026!\n");
    assert_one_line_failure(&weak, "Password");
    // Without --password-stdin a strong password is generated and shown once.
    let out = run(mace()
        .args([
            "user",
            "add",
            "--email",
            "sys@partnership.example",
            "--name",
            "Sys Admin",
            "--org",
            "Estuary Partnership",
        ])
        .args(["--role", "system_admin", "--data-dir"])
        .arg(dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("one-time password"));
    // Creating accounts is audited, and the chain verifies.
    let out = run(mace()
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("audit chain OK: 3 events"),
        "{}",
        text(&out.stdout)
    );
    // Unknown roles are named.
    let out = run(mace()
        .args([
            "user",
            "add",
            "--email",
            "x@y.example",
            "--name",
            "X",
            "--org",
            "O",
            "--role",
            "superuser",
            "--data-dir",
        ])
        .arg(dir.path()));
    assert_one_line_failure(&out, "unknown role");
}

#[test]
fn token_create_prints_a_token_once_that_the_api_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(dir.path(), &["--demo"]);
    assert!(served.terminate().success());
    let create = |email: &str, scope: &str| {
        run(mace()
            .args([
                "token",
                "create",
                "--email",
                email,
                "--name",
                "Nightly export",
            ])
            .args(["--scope", scope, "--days", "7", "--data-dir"])
            .arg(dir.path()))
    };
    let out = create("intel@police.demo.invalid", "read");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("token, shown once: "))
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_string();
    assert!(token.starts_with("mace_"));
    assert_one_line_failure(
        &create("nobody@nowhere.demo.invalid", "read"),
        "no account has that email address",
    );
    assert_one_line_failure(
        &create("intel@police.demo.invalid", "admin"),
        "unknown scope",
    );

    let mut served = Served::start(dir.path(), &[]);
    let (status, body) =
        served.get_with("/api/v1/me", &format!("Authorization: Bearer {token}\r\n"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("intel@police.demo.invalid"), "{body}");
    let (status, _) = served.get_with("/api/v1/me", "Authorization: Bearer mace_wrong\r\n");
    assert_eq!(status, 401);
    assert!(served.terminate().success());
}

#[test]
fn audit_verify_names_the_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    // serve --demo creates the demo organisations, accounts and casework, each audited:
    // 5 organisations, 8 accounts, 3 children's records and 2 concerns, and two children's
    // worlds (2 addresses, 2 schools, 3 related people created and linked: 10 events).
    let mut served = Served::start(dir.path(), &["--demo"]);
    assert!(
        served.stdout_head.contains("dsl@school.demo.invalid"),
        "{}",
        served.stdout_head
    );
    assert!(served.terminate().success());
    let verify = || {
        run(mace()
            .args(["audit", "verify", "--data-dir"])
            .arg(dir.path()))
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("audit chain OK: 31 events"),
        "{}",
        text(&ok.stdout)
    );

    // mace's own schema refuses edits…
    let db = dir.path().join("mace.db");
    let refused = std::panic::catch_unwind(|| {
        sqlite_exec(&db, &["UPDATE audit_events SET action = 'x' WHERE seq = 4"])
    });
    assert!(
        refused.is_err(),
        "the append-only trigger refused the update"
    );
    // …and someone with the file who drops the triggers is caught.
    sqlite_exec(
        &db,
        &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
            "UPDATE audit_events SET action = 'user.delete' WHERE seq = 4",
        ],
    );
    let bad = verify();
    assert_one_line_failure(&bad, "event 4: altered");
    assert!(text(&bad.stderr).contains("audit chain BROKEN"));
}

#[test]
fn audit_key_must_be_private_and_present() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(mace().args(["migrate", "--data-dir"]).arg(dir.path()));
    assert!(out.status.success());
    // verify never invents a key: without one it says so.
    let out = run(mace()
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path()));
    assert_one_line_failure(&out, "does not exist");
    // A group-readable key file is refused (CRY-01).
    let key = dir.path().join("keys").join("audit.key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, "00".repeat(32)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(mace()
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path()));
    assert_one_line_failure(&out, "readable by group or others");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&key, "not hex").unwrap();
    let out = run(mace()
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path()));
    assert_one_line_failure(&out, "64 hexadecimal");
}
