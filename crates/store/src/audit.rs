//! The audit log's storage. Appends are serialised: SQLite by its single writer (the write
//! transaction began with BEGIN IMMEDIATE), PostgreSQL by locking the one `audit_head` row.

use crate::tx::{Inner, Tx, db_err, on_both};
use crate::types::DbTime;
use mace_domain::audit::{Category, ChainKey, Event, Head, NewEvent, Outcome, seal};
use mace_domain::ports::AuditLog;
use mace_domain::{Error, Result};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    id: Uuid,
    at: DbTime,
    category: String,
    action: String,
    outcome: String,
    actor_user: Option<Uuid>,
    actor_org: Option<Uuid>,
    actor_role: Option<String>,
    session_hash: Option<String>,
    source_addr: Option<String>,
    target_type: Option<String>,
    target_id: Option<Uuid>,
    justification: Option<String>,
    recipient: Option<String>,
    legal_basis: Option<String>,
    detail: Option<String>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

fn hash32(v: &[u8]) -> [u8; 32] {
    // A stored hash of the wrong length can never verify: keep it visibly wrong (all 0xFF).
    v.try_into().unwrap_or([0xFF; 32])
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Event {
        // Unknown category/outcome text means the row was edited; map to a value that cannot
        // reproduce the stored hash, so verification names this event.
        let category = Category::parse(&r.category).unwrap_or(Category::Admin);
        let outcome = Outcome::parse(&r.outcome).unwrap_or(Outcome::Failure);
        let tampered =
            Category::parse(&r.category).is_none() || Outcome::parse(&r.outcome).is_none();
        Event {
            seq: r.seq,
            id: r.id,
            body: NewEvent {
                at: r.at.0,
                category,
                action: if tampered {
                    format!("{}\u{0}unreadable", r.action)
                } else {
                    r.action
                },
                outcome,
                actor_user: r.actor_user,
                actor_org: r.actor_org,
                actor_role: r.actor_role,
                session_hash: r.session_hash,
                source_addr: r.source_addr,
                target_type: r.target_type,
                target_id: r.target_id,
                justification: r.justification,
                recipient: r.recipient,
                legal_basis: r.legal_basis,
                detail: r.detail,
            },
            prev_hash: hash32(&r.prev_hash),
            hash: hash32(&r.hash),
        }
    }
}

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT seq, id, at, category, action, outcome, actor_user, actor_org, actor_role, session_hash, source_addr, ",
            "target_type, target_id, justification, recipient, legal_basis, detail, prev_hash, hash FROM audit_events ",
            $rest
        )
    };
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    seq: i64,
    hash: Vec<u8>,
    mac: Vec<u8>,
}

const HEAD: &str = "SELECT seq, hash, mac FROM audit_head WHERE id = 1";
const HEAD_FOR_UPDATE: &str = "SELECT seq, hash, mac FROM audit_head WHERE id = 1 FOR UPDATE";

impl AuditLog for Tx {
    async fn append(&mut self, key: &ChainKey, id: Uuid, event: &NewEvent) -> Result<Event> {
        let head = match &mut self.inner {
            Inner::Sqlite(c) => {
                sqlx::query_as::<_, HeadRow>(HEAD)
                    .fetch_optional(&mut **c)
                    .await
            }
            Inner::Postgres(c) => {
                sqlx::query_as::<_, HeadRow>(HEAD_FOR_UPDATE)
                    .fetch_optional(&mut **c)
                    .await
            }
        }
        .map_err(db_err)?;
        let current = match head {
            Some(h) => Head {
                seq: h.seq,
                hash: hash32(&h.hash),
                mac: hash32(&h.mac),
            },
            None => {
                // First event: create the head row (on PostgreSQL a concurrent first append
                // conflicts on the primary key and the write is retried).
                let g = Head::genesis(key);
                const INIT: &str =
                    "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, $1, $2, $3)";
                on_both!(self, |c| sqlx::query(INIT)
                    .bind(g.seq)
                    .bind(&g.hash[..])
                    .bind(&g.mac[..])
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))
                .map_err(|e| match db_err(e) {
                    Error::Conflict(_) => Error::Store(mace_domain::error::StoreFailure {
                        detail: "concurrent first audit append".into(),
                        retryable: true,
                    }),
                    other => other,
                })?;
                if let Inner::Postgres(c) = &mut self.inner {
                    sqlx::query(HEAD_FOR_UPDATE)
                        .execute(&mut **c)
                        .await
                        .map_err(db_err)?;
                }
                g
            }
        };
        let e = seal(key, &current, id, event.clone());
        let next = Head::after(key, &e);
        const INS: &str = "INSERT INTO audit_events (seq, id, at, category, action, outcome, actor_user, actor_org, actor_role, \
             session_hash, source_addr, target_type, target_id, justification, recipient, legal_basis, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";
        let b = &e.body;
        on_both!(self, |c| sqlx::query(INS)
            .bind(e.seq)
            .bind(e.id)
            .bind(DbTime(b.at))
            .bind(b.category.as_str())
            .bind(&b.action)
            .bind(b.outcome.as_str())
            .bind(b.actor_user)
            .bind(b.actor_org)
            .bind(&b.actor_role)
            .bind(&b.session_hash)
            .bind(&b.source_addr)
            .bind(&b.target_type)
            .bind(b.target_id)
            .bind(&b.justification)
            .bind(&b.recipient)
            .bind(&b.legal_basis)
            .bind(&b.detail)
            .bind(&e.prev_hash[..])
            .bind(&e.hash[..])
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        const MOVE: &str = "UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1";
        on_both!(self, |c| sqlx::query(MOVE)
            .bind(next.seq)
            .bind(&next.hash[..])
            .bind(&next.mac[..])
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        Ok(e)
    }

    async fn audit_page(&mut self, after: i64, limit: i64) -> Result<Vec<Event>> {
        const SQL: &str = select_events!("WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows = on_both!(self, |c| sqlx::query_as::<_, EventRow>(SQL)
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Event::from).collect())
    }

    async fn audit_head(&mut self) -> Result<Option<Head>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, HeadRow>(HEAD)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        Ok(row.map(|h| Head {
            seq: h.seq,
            hash: hash32(&h.hash),
            mac: hash32(&h.mac),
        }))
    }

    async fn audit_for_target(&mut self, target_id: Uuid, limit: i64) -> Result<Vec<Event>> {
        const SQL: &str = select_events!("WHERE target_id = $1 ORDER BY seq DESC LIMIT $2");
        let rows = on_both!(self, |c| sqlx::query_as::<_, EventRow>(SQL)
            .bind(target_id)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Event::from).collect())
    }

    async fn audit_by_category(
        &mut self,
        categories: &[Category],
        limit: i64,
    ) -> Result<Vec<Event>> {
        // One query per category, merged: portable and index-friendly (category, seq).
        const SQL: &str = select_events!("WHERE category = $1 ORDER BY seq DESC LIMIT $2");
        let mut out = Vec::new();
        for cat in categories {
            let rows = on_both!(self, |c| sqlx::query_as::<_, EventRow>(SQL)
                .bind(cat.as_str())
                .bind(limit)
                .fetch_all(c)
                .await)
            .map_err(db_err)?;
            out.extend(rows.into_iter().map(Event::from));
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.seq));
        out.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(out)
    }
}
