//! Storage for `mace_domain::referrals` over both engines: the service directory, referrals with
//! what they shared and their steps, the referrer's notifications, and the work lists (a
//! service's inbox, "referrals you made") with the viewer's scope applied inside the query.

use crate::cases::in_scope;
use crate::plans::person_columns;
use crate::repos::PersonRow;
use crate::tx::{Tx, corrupt, db_err, on_both, scope_parts, with_children};
use crate::types::DbTime;
use mace_domain::authz::Scope;
use mace_domain::person::Person;
use mace_domain::ports::ReferralRepo;
use mace_domain::referrals::{
    Notification, Referral, ReferralEvent, ReferralStatus, Service, ServiceKind, SharedItem,
};
use mace_domain::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! service_columns {
    () => {
        "id, name, kind, org_id, description, email, phone, how_to_refer, min_age, max_age, \
         open_case_required, areas, ack_hours, decide_days, accepting, created_by, created_at, \
         updated_by, updated_at"
    };
}

macro_rules! referral_columns {
    () => {
        "r.id AS r_id, r.service_id AS r_service_id, r.person_id AS r_person_id, \
         r.to_org_id AS r_to_org_id, r.from_org_id AS r_from_org_id, r.created_by AS r_created_by, \
         r.sent_at AS r_sent_at, r.reason AS r_reason, r.status AS r_status, \
         r.ack_due_at AS r_ack_due_at, r.decision_due_at AS r_decision_due_at, \
         r.acknowledged_at AS r_acknowledged_at, r.decided_at AS r_decided_at, \
         r.decline_reason AS r_decline_reason, r.closed_at AS r_closed_at, r.outcome AS r_outcome, \
         r.updated_at AS r_updated_at"
    };
}

const SERVICE_INSERT: &str = "INSERT INTO services (id, name, kind, org_id, description, email, phone, how_to_refer, \
     min_age, max_age, open_case_required, areas, ack_hours, decide_days, accepting, created_by, created_at, \
     updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
     $18, $19)";
const SERVICE_UPDATE: &str = "UPDATE services SET name = $2, kind = $3, org_id = $4, description = $5, email = $6, \
     phone = $7, how_to_refer = $8, min_age = $9, max_age = $10, open_case_required = $11, areas = $12, \
     ack_hours = $13, decide_days = $14, accepting = $15, updated_by = $16, updated_at = $17 WHERE id = $1";
const SERVICE_BY_ID: &str = concat!(
    "SELECT ",
    service_columns!(),
    " FROM services WHERE id = $1"
);
const SERVICES: &str = concat!(
    "SELECT ",
    service_columns!(),
    " FROM services ORDER BY lower(name), id"
);

const REFERRAL_INSERT: &str = "INSERT INTO referrals (id, service_id, person_id, to_org_id, from_org_id, created_by, \
     sent_at, reason, status, ack_due_at, decision_due_at, acknowledged_at, decided_at, decline_reason, closed_at, \
     outcome, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
const REFERRAL_UPDATE: &str = "UPDATE referrals SET status = $2, acknowledged_at = $3, decided_at = $4, \
     decline_reason = $5, closed_at = $6, outcome = $7, updated_at = $8 WHERE id = $1";
const REFERRAL_BY_ID: &str = concat!(
    "SELECT ",
    referral_columns!(),
    " FROM referrals r WHERE r.id = $1"
);
const REFERRALS_FOR: &str = concat!(
    "SELECT ",
    referral_columns!(),
    " FROM referrals r WHERE r.person_id = $1 ORDER BY r.sent_at DESC, r.id DESC"
);
const SHARED_INSERT: &str = "INSERT INTO referral_shared (referral_id, position, item, label, value) VALUES ($1, $2, $3, $4, $5)";
const SHARED_OF: &str =
    "SELECT item, label, value FROM referral_shared WHERE referral_id = $1 ORDER BY position";
const EVENT_INSERT: &str = "INSERT INTO referral_events (id, referral_id, status, note, user_id, org_id, at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const EVENTS_OF: &str = "SELECT id, referral_id, status, note, user_id, org_id, at FROM referral_events \
     WHERE referral_id = $1 ORDER BY at, id";

/// `$1` the receiving organisation, `$2` limit; `$3`-`$6` the scope (`in_scope!` on `p`).
const INBOX: &str = concat!(
    "SELECT ",
    referral_columns!(),
    ", ",
    person_columns!(),
    " FROM referrals r JOIN people p ON p.id = r.person_id \
     WHERE r.to_org_id = $1 AND p.merged_into IS NULL AND ",
    in_scope!(),
    " ORDER BY CASE WHEN r.status IN ('sent', 'acknowledged') THEN 0 ELSE 1 END, \
       CASE WHEN r.status IN ('sent', 'acknowledged') THEN r.sent_at END ASC, \
       r.sent_at DESC, r.id LIMIT $2"
);

/// `$1` the referrer, `$2` limit; `$3`-`$6` the scope.
const MADE_BY: &str = concat!(
    "SELECT ",
    referral_columns!(),
    ", ",
    person_columns!(),
    " FROM referrals r JOIN people p ON p.id = r.person_id \
     WHERE r.created_by = $1 AND p.merged_into IS NULL AND ",
    in_scope!(),
    " ORDER BY r.sent_at DESC, r.id DESC LIMIT $2"
);

const NOTE_INSERT: &str = "INSERT INTO referral_notifications (id, user_id, referral_id, message, created_at, read_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const NOTES_FOR: &str = "SELECT id, user_id, referral_id, message, created_at, read_at FROM referral_notifications \
     WHERE user_id = $1 AND ($2 = FALSE OR read_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $3";
const NOTE_READ: &str = "UPDATE referral_notifications SET read_at = $3 \
     WHERE id = $1 AND user_id = $2 AND read_at IS NULL";

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: Uuid,
    name: String,
    kind: String,
    org_id: Uuid,
    description: String,
    email: String,
    phone: String,
    how_to_refer: String,
    min_age: Option<i32>,
    max_age: Option<i32>,
    open_case_required: bool,
    areas: String,
    ack_hours: i32,
    decide_days: i32,
    accepting: bool,
    created_by: Uuid,
    created_at: DbTime,
    updated_by: Uuid,
    updated_at: DbTime,
}

impl TryFrom<ServiceRow> for Service {
    type Error = Error;
    fn try_from(r: ServiceRow) -> Result<Self> {
        Ok(Service {
            id: r.id,
            name: r.name,
            kind: ServiceKind::parse(&r.kind).ok_or_else(|| corrupt("service kind"))?,
            org_id: r.org_id,
            description: r.description,
            email: r.email,
            phone: r.phone,
            how_to_refer: r.how_to_refer,
            min_age: r.min_age,
            max_age: r.max_age,
            open_case_required: r.open_case_required,
            areas: r
                .areas
                .split(' ')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
            ack_hours: r.ack_hours,
            decide_days: r.decide_days,
            accepting: r.accepting,
            created_by: r.created_by,
            created_at: r.created_at.0,
            updated_by: r.updated_by,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ReferralRow {
    r_id: Uuid,
    r_service_id: Uuid,
    r_person_id: Uuid,
    r_to_org_id: Uuid,
    r_from_org_id: Uuid,
    r_created_by: Uuid,
    r_sent_at: DbTime,
    r_reason: String,
    r_status: String,
    r_ack_due_at: DbTime,
    r_decision_due_at: DbTime,
    r_acknowledged_at: Option<DbTime>,
    r_decided_at: Option<DbTime>,
    r_decline_reason: Option<String>,
    r_closed_at: Option<DbTime>,
    r_outcome: Option<String>,
    r_updated_at: DbTime,
}

impl TryFrom<ReferralRow> for Referral {
    type Error = Error;
    fn try_from(r: ReferralRow) -> Result<Self> {
        Ok(Referral {
            id: r.r_id,
            service_id: r.r_service_id,
            person_id: r.r_person_id,
            to_org_id: r.r_to_org_id,
            from_org_id: r.r_from_org_id,
            created_by: r.r_created_by,
            sent_at: r.r_sent_at.0,
            reason: r.r_reason,
            status: ReferralStatus::parse(&r.r_status).ok_or_else(|| corrupt("referral status"))?,
            ack_due_at: r.r_ack_due_at.0,
            decision_due_at: r.r_decision_due_at.0,
            acknowledged_at: r.r_acknowledged_at.map(|t| t.0),
            decided_at: r.r_decided_at.map(|t| t.0),
            decline_reason: r.r_decline_reason,
            closed_at: r.r_closed_at.map(|t| t.0),
            outcome: r.r_outcome,
            updated_at: r.r_updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ReferralChildRow {
    #[sqlx(flatten)]
    referral: ReferralRow,
    #[sqlx(flatten)]
    person: PersonRow,
}

#[derive(sqlx::FromRow)]
struct SharedRow {
    item: String,
    label: String,
    value: String,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    referral_id: Uuid,
    status: String,
    note: String,
    user_id: Uuid,
    org_id: Uuid,
    at: DbTime,
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: Uuid,
    user_id: Uuid,
    referral_id: Uuid,
    message: String,
    created_at: DbTime,
    read_at: Option<DbTime>,
}

impl Tx {
    async fn referral_list(
        &mut self,
        sql: &'static str,
        scope: &Scope,
        who: Uuid,
        limit: i64,
    ) -> Result<Vec<(Referral, Person)>> {
        let Some((s_org, s_user, now, police)) = scope_parts(scope) else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, ReferralChildRow>(sql)
            .bind(who)
            .bind(limit)
            .bind(s_org)
            .bind(s_user)
            .bind(now)
            .bind(police)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        with_children(rows, |r: ReferralChildRow| (r.referral, r.person))
    }
}

impl ReferralRepo for Tx {
    async fn insert_service(&mut self, s: &Service) -> Result<()> {
        let areas = s.areas.join(" ");
        on_both!(self, |c| sqlx::query(SERVICE_INSERT)
            .bind(s.id)
            .bind(&s.name)
            .bind(s.kind.as_str())
            .bind(s.org_id)
            .bind(&s.description)
            .bind(&s.email)
            .bind(&s.phone)
            .bind(&s.how_to_refer)
            .bind(s.min_age)
            .bind(s.max_age)
            .bind(s.open_case_required)
            .bind(&areas)
            .bind(s.ack_hours)
            .bind(s.decide_days)
            .bind(s.accepting)
            .bind(s.created_by)
            .bind(DbTime(s.created_at))
            .bind(s.updated_by)
            .bind(DbTime(s.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_service(&mut self, s: &Service) -> Result<()> {
        let areas = s.areas.join(" ");
        on_both!(self, |c| sqlx::query(SERVICE_UPDATE)
            .bind(s.id)
            .bind(&s.name)
            .bind(s.kind.as_str())
            .bind(s.org_id)
            .bind(&s.description)
            .bind(&s.email)
            .bind(&s.phone)
            .bind(&s.how_to_refer)
            .bind(s.min_age)
            .bind(s.max_age)
            .bind(s.open_case_required)
            .bind(&areas)
            .bind(s.ack_hours)
            .bind(s.decide_days)
            .bind(s.accepting)
            .bind(s.updated_by)
            .bind(DbTime(s.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_service(&mut self, id: Uuid) -> Result<Option<Service>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, ServiceRow>(SERVICE_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Service::try_from).transpose()
    }

    async fn list_services(&mut self) -> Result<Vec<Service>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ServiceRow>(SERVICES)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Service::try_from).collect()
    }

    async fn insert_referral(&mut self, r: &Referral, shared: &[SharedItem]) -> Result<()> {
        on_both!(self, |c| sqlx::query(REFERRAL_INSERT)
            .bind(r.id)
            .bind(r.service_id)
            .bind(r.person_id)
            .bind(r.to_org_id)
            .bind(r.from_org_id)
            .bind(r.created_by)
            .bind(DbTime(r.sent_at))
            .bind(&r.reason)
            .bind(r.status.as_str())
            .bind(DbTime(r.ack_due_at))
            .bind(DbTime(r.decision_due_at))
            .bind(r.acknowledged_at.map(DbTime))
            .bind(r.decided_at.map(DbTime))
            .bind(r.decline_reason.as_deref())
            .bind(r.closed_at.map(DbTime))
            .bind(r.outcome.as_deref())
            .bind(DbTime(r.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        for (i, s) in shared.iter().enumerate() {
            let pos = i32::try_from(i).map_err(|_| Error::store("too many shared items"))?;
            on_both!(self, |c| sqlx::query(SHARED_INSERT)
                .bind(r.id)
                .bind(pos)
                .bind(&s.item)
                .bind(&s.label)
                .bind(&s.value)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
        }
        Ok(())
    }

    async fn update_referral(&mut self, r: &Referral) -> Result<()> {
        on_both!(self, |c| sqlx::query(REFERRAL_UPDATE)
            .bind(r.id)
            .bind(r.status.as_str())
            .bind(r.acknowledged_at.map(DbTime))
            .bind(r.decided_at.map(DbTime))
            .bind(r.decline_reason.as_deref())
            .bind(r.closed_at.map(DbTime))
            .bind(r.outcome.as_deref())
            .bind(DbTime(r.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_referral(&mut self, id: Uuid) -> Result<Option<Referral>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, ReferralRow>(REFERRAL_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Referral::try_from).transpose()
    }

    async fn referral_shared(&mut self, referral_id: Uuid) -> Result<Vec<SharedItem>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, SharedRow>(SHARED_OF)
            .bind(referral_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| SharedItem {
                item: r.item,
                label: r.label,
                value: r.value,
            })
            .collect())
    }

    async fn referrals_for(&mut self, person_id: Uuid) -> Result<Vec<Referral>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ReferralRow>(REFERRALS_FOR)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Referral::try_from).collect()
    }

    async fn insert_referral_event(&mut self, e: &ReferralEvent) -> Result<()> {
        on_both!(self, |c| sqlx::query(EVENT_INSERT)
            .bind(e.id)
            .bind(e.referral_id)
            .bind(e.status.as_str())
            .bind(&e.note)
            .bind(e.user_id)
            .bind(e.org_id)
            .bind(DbTime(e.at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn referral_events(&mut self, referral_id: Uuid) -> Result<Vec<ReferralEvent>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, EventRow>(EVENTS_OF)
            .bind(referral_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(ReferralEvent {
                    id: r.id,
                    referral_id: r.referral_id,
                    status: ReferralStatus::parse(&r.status)
                        .ok_or_else(|| corrupt("referral status"))?,
                    note: r.note,
                    user_id: r.user_id,
                    org_id: r.org_id,
                    at: r.at.0,
                })
            })
            .collect()
    }

    async fn referral_inbox(
        &mut self,
        scope: &Scope,
        org_id: Uuid,
        limit: i64,
    ) -> Result<Vec<(Referral, Person)>> {
        self.referral_list(INBOX, scope, org_id, limit).await
    }

    async fn referrals_made_by(
        &mut self,
        scope: &Scope,
        user_id: Uuid,
        limit: i64,
    ) -> Result<Vec<(Referral, Person)>> {
        self.referral_list(MADE_BY, scope, user_id, limit).await
    }

    async fn insert_notification(&mut self, n: &Notification) -> Result<()> {
        on_both!(self, |c| sqlx::query(NOTE_INSERT)
            .bind(n.id)
            .bind(n.user_id)
            .bind(n.referral_id)
            .bind(&n.message)
            .bind(DbTime(n.created_at))
            .bind(n.read_at.map(DbTime))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn notifications_for(
        &mut self,
        user_id: Uuid,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<Notification>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, NoteRow>(NOTES_FOR)
            .bind(user_id)
            .bind(unread_only)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| Notification {
                id: r.id,
                user_id: r.user_id,
                referral_id: r.referral_id,
                message: r.message,
                created_at: r.created_at.0,
                read_at: r.read_at.map(|t| t.0),
            })
            .collect())
    }

    async fn mark_notifications_read(
        &mut self,
        user_id: Uuid,
        ids: &[Uuid],
        at: OffsetDateTime,
    ) -> Result<()> {
        for id in ids {
            on_both!(self, |c| sqlx::query(NOTE_READ)
                .bind(*id)
                .bind(user_id)
                .bind(DbTime(at))
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
        }
        Ok(())
    }
}
