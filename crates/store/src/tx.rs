//! The transaction type that implements the domain's ports, and the error mapping.

use mace_domain::Error;
use mace_domain::error::StoreFailure;

/// A transaction on either engine. Every port method runs inside it.
pub struct Tx {
    pub(crate) inner: Inner,
}

pub(crate) enum Inner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Run one body against whichever engine the transaction is on. The body is written once and
/// type-checked against both drivers (`$c` is `&mut <Engine>Connection`).
macro_rules! on_both {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::tx::Inner::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::tx::Inner::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_both;

impl Tx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self.inner {
            Inner::Sqlite(t) => t.commit().await,
            Inner::Postgres(t) => t.commit().await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.inner {
            Inner::Sqlite(t) => t.rollback().await,
            Inner::Postgres(t) => t.rollback().await,
        }
    }
}

/// A stored value the domain cannot read back.
pub(crate) fn corrupt(what: &str) -> Error {
    Error::store(format!("stored {what} is invalid"))
}

/// A scope's binds for the `in_scope!` filter (organisation, user, now, police); `None` when the
/// scope reaches nothing.
pub(crate) fn scope_parts(
    scope: &mace_domain::authz::Scope,
) -> Option<(uuid::Uuid, uuid::Uuid, crate::types::DbTime, bool)> {
    use mace_domain::authz::Scope;
    match scope {
        Scope::Nothing => None,
        Scope::Related {
            org_id,
            user_id,
            now,
            police,
        } => Some((*org_id, *user_id, crate::types::DbTime(*now), *police)),
    }
}

/// Rows of a record with its child: each split into the record's row and the child's, then read.
pub(crate) fn with_children<R, A, T>(
    rows: Vec<R>,
    split: impl Fn(R) -> (A, crate::repos::PersonRow),
) -> Result<Vec<(T, mace_domain::person::Person)>, Error>
where
    T: TryFrom<A, Error = Error>,
{
    rows.into_iter()
        .map(|r| {
            let (a, p) = split(r);
            Ok((T::try_from(a)?, mace_domain::person::Person::try_from(p)?))
        })
        .collect()
}

/// Map a driver error to the domain's. The detail names the failure, never the bound values, so
/// it can be logged without personal data.
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return Error::Conflict("a record with the same key already exists".into());
        }
        let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
        return Error::Store(StoreFailure {
            detail: format!("database error {code}"),
            retryable: is_retryable_code(&code),
        });
    }
    let retryable = matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_));
    let detail = match &e {
        sqlx::Error::RowNotFound => "row not found".to_string(),
        sqlx::Error::ColumnDecode { index, .. } => format!("cannot decode column {index}"),
        sqlx::Error::Decode(_) => "cannot decode a value".to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection".to_string(),
        sqlx::Error::PoolClosed => "the database pool is closed".to_string(),
        sqlx::Error::Io(_) => "database i/o error".to_string(),
        other => format!("database failure: {}", kind_name(other)),
    };
    Error::Store(StoreFailure { detail, retryable })
}

fn kind_name(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::Configuration(_) => "configuration",
        sqlx::Error::Tls(_) => "tls",
        sqlx::Error::Protocol(_) => "protocol",
        sqlx::Error::TypeNotFound { .. } => "type not found",
        sqlx::Error::ColumnNotFound(_) => "column not found",
        sqlx::Error::ColumnIndexOutOfBounds { .. } => "column index out of bounds",
        sqlx::Error::WorkerCrashed => "worker crashed",
        sqlx::Error::Migrate(_) => "migration",
        _ => "other",
    }
}

/// PostgreSQL serialization failure and deadlock; SQLite busy and locked (and their extended codes).
fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "40001" | "40P01" | "5" | "6" | "517" | "261" | "262" | "773"
    )
}
