//! Addresses, schools and relationships over both engines, and the look-ups search before create
//! makes with them (moved addresses, shared identifiers, related adults inside the viewer's scope).

use crate::cases::in_scope;
use crate::repos::{PersonRow, initial_pattern};
use crate::tx::{Tx, db_err, on_both};
use crate::types::DbTime;
use mace_domain::authz::Scope;
use mace_domain::identifiers::IdentifierKind;
use mace_domain::person::{Person, PersonKind};
use mace_domain::ports::ProfileRepo;
use mace_domain::postcode::Postcode;
use mace_domain::profile::{Address, Relationship, RelationshipKind, SchoolRecord};
use mace_domain::{Error, Result};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

fn corrupt(what: &str) -> Error {
    Error::store(format!("stored {what} is invalid"))
}

/// The person columns of `people` aliased `p`.
macro_rules! p_columns {
    () => {
        "p.id, p.kind, p.given_name, p.family_name, p.date_of_birth, p.dob_approximate, p.gender, \
         p.postcode, p.created_at, p.updated_at"
    };
}

const ADDRESS_INSERT: &str = "INSERT INTO person_addresses (id, person_id, line1, line2, town, postcode, moved_in, \
     moved_out, is_current, org_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const ADDRESS_END: &str = "UPDATE person_addresses SET is_current = $3, moved_out = $2 \
     WHERE person_id = $1 AND is_current = $4";
const ADDRESSES: &str = "SELECT id, person_id, line1, line2, town, postcode, moved_in, moved_out, is_current, org_id, \
     created_by, created_at FROM person_addresses WHERE person_id = $1 \
     ORDER BY is_current DESC, created_at DESC, id DESC";
const SET_POSTCODE: &str = "UPDATE people SET postcode = $2, updated_at = $3 WHERE id = $1";

const SCHOOL_INSERT: &str = "INSERT INTO person_schools (id, person_id, school_name, school_org_id, started_on, left_on, \
     is_current, org_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const SCHOOL_END: &str = "UPDATE person_schools SET is_current = $3, left_on = $2 \
     WHERE person_id = $1 AND is_current = $4";
const SCHOOLS: &str = "SELECT id, person_id, school_name, school_org_id, started_on, left_on, is_current, org_id, \
     created_by, created_at FROM person_schools WHERE person_id = $1 \
     ORDER BY is_current DESC, created_at DESC, id DESC";

const RELATIONSHIP_INSERT: &str = "INSERT INTO relationships (id, person_id, related_id, kind, notes, org_id, created_by, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const RELATIONSHIPS: &str = concat!(
    "SELECT r.id AS r_id, r.person_id AS r_person_id, r.related_id AS r_related_id, r.kind AS r_kind, \
     r.notes AS r_notes, r.org_id AS r_org_id, r.created_by AS r_created_by, r.created_at AS r_created_at, ",
    p_columns!(),
    " FROM relationships r JOIN people p ON p.id = CASE WHEN r.person_id = $1 THEN r.related_id ELSE r.person_id END \
     WHERE (r.person_id = $1 OR r.related_id = $1) AND p.merged_into IS NULL \
     ORDER BY r.created_at, r.id"
);

/// Adults of one kind linked to a child inside the scope (`in_scope!` reads `p`, the child).
const ADULT_POOL: &str = concat!(
    "SELECT q.id, q.kind, q.given_name, q.family_name, q.date_of_birth, q.dob_approximate, q.gender, \
     q.postcode, q.created_at, q.updated_at FROM people q \
     WHERE q.kind = $7 AND q.merged_into IS NULL \
       AND (q.family_name_folded LIKE $1 ESCAPE '\\' OR q.given_name_folded LIKE $2 ESCAPE '\\' \
            OR q.date_of_birth = $8 OR q.date_of_birth = $9) \
       AND EXISTS (SELECT 1 FROM relationships r JOIN people p \
            ON p.id = CASE WHEN r.related_id = q.id THEN r.person_id ELSE r.related_id END \
            WHERE (r.related_id = q.id OR r.person_id = q.id) AND p.kind = 'child' AND ",
    in_scope!(),
    ") ORDER BY q.family_name_folded, q.given_name_folded, q.id LIMIT $10"
);

const AT_POSTCODE: &str = concat!(
    "SELECT ",
    p_columns!(),
    ", CASE WHEN p.postcode = $1 THEN 1 ELSE 0 END AS is_current FROM people p \
     WHERE p.kind = 'child' AND p.merged_into IS NULL AND (p.postcode = $1 \
        OR EXISTS (SELECT 1 FROM person_addresses a WHERE a.person_id = p.id AND a.postcode = $1)) \
     ORDER BY p.id LIMIT 500"
);

const WITH_IDENTIFIER: &str = concat!(
    "SELECT ",
    p_columns!(),
    " FROM people p WHERE p.kind = 'child' AND p.merged_into IS NULL AND EXISTS \
     (SELECT 1 FROM person_identifiers i WHERE i.person_id = p.id AND i.kind = $1 AND i.value = $2) \
     ORDER BY p.id LIMIT 50"
);

#[derive(sqlx::FromRow)]
struct AddressRow {
    id: Uuid,
    person_id: Uuid,
    line1: String,
    line2: String,
    town: String,
    postcode: Option<String>,
    moved_in: Option<Date>,
    moved_out: Option<Date>,
    is_current: bool,
    org_id: Uuid,
    created_by: Uuid,
    created_at: DbTime,
}

#[derive(sqlx::FromRow)]
struct SchoolRow {
    id: Uuid,
    person_id: Uuid,
    school_name: String,
    school_org_id: Option<Uuid>,
    started_on: Option<Date>,
    left_on: Option<Date>,
    is_current: bool,
    org_id: Uuid,
    created_by: Uuid,
    created_at: DbTime,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    r_id: Uuid,
    r_person_id: Uuid,
    r_related_id: Uuid,
    r_kind: String,
    r_notes: String,
    r_org_id: Uuid,
    r_created_by: Uuid,
    r_created_at: DbTime,
    #[sqlx(flatten)]
    person: PersonRow,
}

#[derive(sqlx::FromRow)]
struct PostcodeRow {
    #[sqlx(flatten)]
    person: PersonRow,
    is_current: i32,
}

impl Tx {
    /// Mark the current rows of `table_sql`'s kind (an `... SET is_current = $3, <end> = $2
    /// WHERE person_id = $1 AND is_current = $4` statement) as ended on `on`.
    async fn end_current(&mut self, sql: &'static str, person_id: Uuid, on: Date) -> Result<()> {
        on_both!(self, |c| sqlx::query(sql)
            .bind(person_id)
            .bind(on)
            .bind(false)
            .bind(true)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }
}

impl ProfileRepo for Tx {
    async fn insert_address(&mut self, a: &Address) -> Result<()> {
        on_both!(self, |c| sqlx::query(ADDRESS_INSERT)
            .bind(a.id)
            .bind(a.person_id)
            .bind(&a.line1)
            .bind(&a.line2)
            .bind(&a.town)
            .bind(a.postcode.as_ref().map(Postcode::as_str))
            .bind(a.moved_in)
            .bind(a.moved_out)
            .bind(a.is_current)
            .bind(a.org_id)
            .bind(a.created_by)
            .bind(DbTime(a.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn end_current_addresses(&mut self, person_id: Uuid, on: Date) -> Result<()> {
        self.end_current(ADDRESS_END, person_id, on).await
    }

    async fn addresses(&mut self, person_id: Uuid) -> Result<Vec<Address>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, AddressRow>(ADDRESSES)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(Address {
                    id: r.id,
                    person_id: r.person_id,
                    line1: r.line1,
                    line2: r.line2,
                    town: r.town,
                    postcode: r
                        .postcode
                        .map(|p| Postcode::parse(&p).map_err(|_| corrupt("postcode")))
                        .transpose()?,
                    moved_in: r.moved_in,
                    moved_out: r.moved_out,
                    is_current: r.is_current,
                    org_id: r.org_id,
                    created_by: r.created_by,
                    created_at: r.created_at.0,
                })
            })
            .collect()
    }

    async fn set_person_postcode(
        &mut self,
        person_id: Uuid,
        postcode: Option<&Postcode>,
        at: OffsetDateTime,
    ) -> Result<()> {
        on_both!(self, |c| sqlx::query(SET_POSTCODE)
            .bind(person_id)
            .bind(postcode.map(Postcode::as_str))
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn insert_school(&mut self, s: &SchoolRecord) -> Result<()> {
        on_both!(self, |c| sqlx::query(SCHOOL_INSERT)
            .bind(s.id)
            .bind(s.person_id)
            .bind(&s.school_name)
            .bind(s.school_org_id)
            .bind(s.started_on)
            .bind(s.left_on)
            .bind(s.is_current)
            .bind(s.org_id)
            .bind(s.created_by)
            .bind(DbTime(s.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn end_current_school(&mut self, person_id: Uuid, on: Date) -> Result<()> {
        self.end_current(SCHOOL_END, person_id, on).await
    }

    async fn schools(&mut self, person_id: Uuid) -> Result<Vec<SchoolRecord>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, SchoolRow>(SCHOOLS)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| SchoolRecord {
                id: r.id,
                person_id: r.person_id,
                school_name: r.school_name,
                school_org_id: r.school_org_id,
                started_on: r.started_on,
                left_on: r.left_on,
                is_current: r.is_current,
                org_id: r.org_id,
                created_by: r.created_by,
                created_at: r.created_at.0,
            })
            .collect())
    }

    async fn insert_relationship(&mut self, r: &Relationship) -> Result<()> {
        on_both!(self, |c| sqlx::query(RELATIONSHIP_INSERT)
            .bind(r.id)
            .bind(r.person_id)
            .bind(r.related_id)
            .bind(r.kind.as_str())
            .bind(&r.notes)
            .bind(r.org_id)
            .bind(r.created_by)
            .bind(DbTime(r.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn relationships(&mut self, person_id: Uuid) -> Result<Vec<(Relationship, Person)>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, LinkRow>(RELATIONSHIPS)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    Relationship {
                        id: r.r_id,
                        person_id: r.r_person_id,
                        related_id: r.r_related_id,
                        kind: RelationshipKind::parse(&r.r_kind)
                            .ok_or_else(|| corrupt("relationship kind"))?,
                        notes: r.r_notes,
                        org_id: r.r_org_id,
                        created_by: r.r_created_by,
                        created_at: r.r_created_at.0,
                    },
                    Person::try_from(r.person)?,
                ))
            })
            .collect()
    }

    async fn adult_match_pool(
        &mut self,
        scope: &Scope,
        kind: PersonKind,
        family_initial: &str,
        given_initial: &str,
        dates: &[Date],
        limit: i64,
    ) -> Result<Vec<Person>> {
        let Scope::Related {
            org_id,
            user_id,
            now,
            police,
        } = scope
        else {
            return Ok(Vec::new());
        };
        let (f, g) = (
            initial_pattern(family_initial),
            initial_pattern(given_initial),
        );
        let (d1, d2) = (dates.first().copied(), dates.get(1).copied());
        let rows = on_both!(self, |c| sqlx::query_as::<_, PersonRow>(ADULT_POOL)
            .bind(&f)
            .bind(&g)
            .bind(*org_id)
            .bind(*user_id)
            .bind(DbTime(*now))
            .bind(*police)
            .bind(kind.as_str())
            .bind(d1)
            .bind(d2)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Person::try_from).collect()
    }

    async fn children_at_postcode(&mut self, postcode: &Postcode) -> Result<Vec<(Person, bool)>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, PostcodeRow>(AT_POSTCODE)
            .bind(postcode.as_str())
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| Ok((Person::try_from(r.person)?, r.is_current == 1)))
            .collect()
    }

    async fn children_with_identifier(
        &mut self,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Vec<Person>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, PersonRow>(WITH_IDENTIFIER)
            .bind(kind.as_str())
            .bind(value)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Person::try_from).collect()
    }
}
