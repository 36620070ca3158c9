//! Opening the store: bad configuration is an error with a clear message, never a panic, and
//! never shows a password.

use mace_store::{DbConfig, OpenError, Store};

#[tokio::test]
async fn missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DbConfig::Sqlite {
        path: dir.path().join("nope").join("mace.db"),
    };
    let err = Store::open(&cfg).await.unwrap_err();
    assert!(matches!(err, OpenError::Sqlite { .. }));
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn unreachable_postgres_is_a_clear_error_without_the_password() {
    let cfg = DbConfig::Postgres {
        url: "postgres://mace:topsecret@127.0.0.1:1/mace".into(),
    };
    let err = Store::open(&cfg).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, OpenError::Postgres { .. }), "{msg}");
    assert!(!msg.contains("topsecret"), "{msg}");
    assert!(msg.contains("REDACTED"), "{msg}");
    assert_eq!(msg.lines().count(), 1);
}

#[test]
fn urls_choose_the_engine() {
    let dir = std::path::Path::new("/data");
    assert_eq!(
        DbConfig::from_url_or_dir(None, dir).unwrap(),
        DbConfig::Sqlite {
            path: dir.join("mace.db")
        }
    );
    assert!(matches!(
        DbConfig::from_url_or_dir(Some("postgres://h/db"), dir),
        Ok(DbConfig::Postgres { .. })
    ));
    assert!(matches!(
        DbConfig::from_url_or_dir(Some("mysql://h/db"), dir),
        Err(OpenError::BadUrl)
    ));
}
