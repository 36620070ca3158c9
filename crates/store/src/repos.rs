//! The domain's ports, implemented once over both engines.

use crate::tx::{Tx, db_err, on_both};
use crate::types::DbTime;
use mace_domain::identifiers::{IdentifierKind, PersonIdentifier};
use mace_domain::person::{Gender, Person, PersonKind, fold};
use mace_domain::ports::{MetaRepo, PersonRepo};
use mace_domain::postcode::Postcode;
use mace_domain::{Error, Result};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

const META_GET: &str = "SELECT value FROM app_meta WHERE key = $1";
const META_SET: &str = "INSERT INTO app_meta (key, value, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

impl MetaRepo for Tx {
    async fn get_meta(&mut self, key: &str) -> Result<Option<String>> {
        on_both!(self, |c| sqlx::query_scalar::<_, String>(META_GET)
            .bind(key)
            .fetch_optional(c)
            .await)
        .map_err(db_err)
    }

    async fn set_meta(&mut self, key: &str, value: &str, at: OffsetDateTime) -> Result<()> {
        on_both!(self, |c| sqlx::query(META_SET)
            .bind(key)
            .bind(value)
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PersonRow {
    pub(crate) id: Uuid,
    pub(crate) kind: String,
    pub(crate) given_name: String,
    pub(crate) family_name: String,
    pub(crate) date_of_birth: Option<Date>,
    pub(crate) dob_approximate: bool,
    pub(crate) gender: String,
    pub(crate) postcode: Option<String>,
    pub(crate) created_at: DbTime,
    pub(crate) updated_at: DbTime,
}

impl TryFrom<PersonRow> for Person {
    type Error = Error;
    fn try_from(r: PersonRow) -> Result<Person> {
        let corrupt = |what: &str| Error::store(format!("stored person has an invalid {what}"));
        Ok(Person {
            id: r.id,
            kind: PersonKind::parse(&r.kind).ok_or_else(|| corrupt("kind"))?,
            given_name: r.given_name,
            family_name: r.family_name,
            date_of_birth: r.date_of_birth,
            dob_approximate: r.dob_approximate,
            gender: Gender::parse(&r.gender).ok_or_else(|| corrupt("gender"))?,
            postcode: r
                .postcode
                .map(|p| Postcode::parse(&p).map_err(|_| corrupt("postcode")))
                .transpose()?,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

pub(crate) const PERSON_COLUMNS: &str = "id, kind, given_name, family_name, date_of_birth, dob_approximate, gender, postcode, created_at, updated_at";
const PERSON_INSERT: &str = "INSERT INTO people (id, kind, given_name, family_name, given_name_folded, family_name_folded, \
     date_of_birth, dob_approximate, gender, postcode, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const PERSON_COUNT: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM people";

fn match_pool_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE kind = 'child' AND merged_into IS NULL AND \
             (family_name_folded LIKE $1 ESCAPE '\\' OR given_name_folded LIKE $2 ESCAPE '\\' \
              OR date_of_birth = $3 OR date_of_birth = $4) \
             ORDER BY family_name_folded, given_name_folded, id LIMIT $5"
        )
    })
}

/// `LIKE` pattern for "starts with this letter"; matches nothing for an empty initial.
pub(crate) fn initial_pattern(initial: &str) -> String {
    match initial.chars().next() {
        Some(c) if c != '%' && c != '_' && c != '\\' => format!("{c}%"),
        _ => String::new(),
    }
}

fn person_by_id() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1"))
}

impl PersonRepo for Tx {
    async fn insert_person(&mut self, p: &Person) -> Result<()> {
        on_both!(self, |c| sqlx::query(PERSON_INSERT)
            .bind(p.id)
            .bind(p.kind.as_str())
            .bind(&p.given_name)
            .bind(&p.family_name)
            .bind(fold(&p.given_name))
            .bind(fold(&p.family_name))
            .bind(p.date_of_birth)
            .bind(p.dob_approximate)
            .bind(p.gender.as_str())
            .bind(p.postcode.as_ref().map(Postcode::as_str))
            .bind(DbTime(p.created_at))
            .bind(DbTime(p.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_person(&mut self, id: Uuid) -> Result<Option<Person>> {
        let sql = person_by_id();
        let row = on_both!(self, |c| sqlx::query_as::<_, PersonRow>(sql)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Person::try_from).transpose()
    }

    async fn match_pool(
        &mut self,
        family_initial: &str,
        given_initial: &str,
        dates: &[Date],
        limit: i64,
    ) -> Result<Vec<Person>> {
        let sql = match_pool_sql();
        let (f, g) = (
            initial_pattern(family_initial),
            initial_pattern(given_initial),
        );
        let (d1, d2) = (dates.first().copied(), dates.get(1).copied());
        let rows = on_both!(self, |c| sqlx::query_as::<_, PersonRow>(sql)
            .bind(&f)
            .bind(&g)
            .bind(d1)
            .bind(d2)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Person::try_from).collect()
    }

    async fn count_people(&mut self) -> Result<i64> {
        on_both!(self, |c| sqlx::query_scalar::<_, i64>(PERSON_COUNT)
            .fetch_one(c)
            .await)
        .map_err(db_err)
    }

    async fn insert_identifier(&mut self, i: &PersonIdentifier) -> Result<()> {
        on_both!(self, |c| sqlx::query(IDENTIFIER_INSERT)
            .bind(i.id)
            .bind(i.person_id)
            .bind(i.kind.as_str())
            .bind(&i.value)
            .bind(i.org_id)
            .bind(i.created_by)
            .bind(DbTime(i.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn identifiers(&mut self, person_id: Uuid) -> Result<Vec<PersonIdentifier>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, IdentifierRow>(IDENTIFIERS)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(PersonIdentifier {
                    id: r.id,
                    person_id: r.person_id,
                    kind: IdentifierKind::parse(&r.kind)
                        .ok_or_else(|| Error::store("stored identifier kind is invalid"))?,
                    value: r.value,
                    org_id: r.org_id,
                    created_by: r.created_by,
                    created_at: r.created_at.0,
                })
            })
            .collect()
    }
}

const IDENTIFIER_INSERT: &str = "INSERT INTO person_identifiers (id, person_id, kind, value, org_id, created_by, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const IDENTIFIERS: &str = "SELECT id, person_id, kind, value, org_id, created_by, created_at FROM person_identifiers \
     WHERE person_id = $1 ORDER BY created_at, id LIMIT 500";

#[derive(sqlx::FromRow)]
struct IdentifierRow {
    id: Uuid,
    person_id: Uuid,
    kind: String,
    value: String,
    org_id: Uuid,
    created_by: Uuid,
    created_at: DbTime,
}
