//! Group programmes (issue 6, items 3 and 6): a programme run by one organisation for children
//! who meet its eligibility rules (for example a seven-week peer programme for young women aged
//! 13 to 16; `shared/guide/domain.md` §10, Choices), run as cohorts with weekly sessions.
//!
//! A programme has a running organisation, eligibility (an age range at the cohort's start date,
//! optionally genders and postcode districts), a number of sessions, a capacity per cohort and,
//! optionally, the directory service through which children are referred to it. Partnership
//! administrators and managers, or the running organisation's team manager, create programmes;
//! cohorts are added by them or by the running organisation's case workers.
//!
//! Only the running organisation's people who may open a child's record see that child in a
//! cohort, add them, record attendance, change their place or record the outcome: each view of
//! a cohort's members is audited as a consultation of each child shown, each change as an
//! alteration, each refusal as `authz_denied`. Adding a child checks eligibility and capacity
//! with reasons, and the child's chronology shows the place offered, a withdrawal and completion.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor, Role};
use crate::cases::{self, event, record_refusal};
use crate::error::{Error, FieldError, Result};
use crate::identity::model::Organisation;
use crate::person::{Gender, Person, text_enum};
use crate::ports::{AuditLog, CaseRepo, IdentityRepo, PersonRepo};
use crate::postcode::Postcode;
use crate::validate::{Errors, optional_text, required, short, today};
use serde::Serialize;
use std::future::Future;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

text_enum!(
    /// Where a child's place on a cohort stands.
    MemberStatus {
        Offered => "offered", "Offered a place";
        Attending => "attending", "Attending";
        Completed => "completed", "Completed";
        Withdrew => "withdrew", "Withdrew";
    }
);

text_enum!(
    /// A child's attendance at one session.
    Attendance {
        Attended => "attended", "Attended";
        Absent => "absent", "Absent";
        Excused => "excused", "Excused";
    }
);

text_enum!(
    /// What came of the programme for the child, as the facilitators judge it with the child.
    ProgrammeOutcome {
        PositiveChange => "positive_change", "Positive change";
        SomeChange => "some_change", "Some change";
        NoChange => "no_change", "No change seen yet";
        FurtherSupport => "further_support", "Further support needed";
    }
);

impl MemberStatus {
    /// Holds a place (counts against the cohort's capacity).
    pub fn holds_place(self) -> bool {
        self != Self::Withdrew
    }
}

/// The widest age range a programme may set (care leavers and young people with SEND are
/// supported up to 25).
pub const MAX_AGE: i32 = 25;
pub const MAX_SESSIONS: i32 = 52;
pub const MAX_CAPACITY: i32 = 100;
/// A child's self-rating of how safe they feel runs from 1 (not at all) to 10 (completely).
pub const RATING_MIN: i32 = 1;
pub const RATING_MAX: i32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Programme {
    pub id: Uuid,
    pub name: String,
    /// The running organisation.
    pub org_id: Uuid,
    pub description: String,
    /// Eligible ages in whole years at the cohort's start date, both inclusive.
    pub min_age: i32,
    pub max_age: i32,
    /// Eligible genders; empty: any.
    pub genders: Vec<Gender>,
    /// Eligible postcode districts (outward codes such as `CO15`); empty: any.
    pub districts: Vec<String>,
    /// Sessions in a cohort (weekly).
    pub session_count: i32,
    /// Children per cohort.
    pub capacity: i32,
    /// The directory service children are referred through, if any.
    pub service_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

/// Why a child is not eligible for a programme on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Ineligible {
    DateOfBirthUnknown,
    TooYoung { age: i32 },
    TooOld { age: i32 },
    Gender { gender: Gender },
    PostcodeUnknown,
    OutsideArea { district: String },
}

impl Programme {
    /// The reasons `child` is not eligible for a cohort starting `on` (empty: eligible).
    pub fn eligibility(&self, child: &Person, on: Date) -> Vec<Ineligible> {
        let mut out = Vec::new();
        match child.age_on(on) {
            None => out.push(Ineligible::DateOfBirthUnknown),
            Some(age) if age < self.min_age => out.push(Ineligible::TooYoung { age }),
            Some(age) if age > self.max_age => out.push(Ineligible::TooOld { age }),
            Some(_) => {}
        }
        if !self.genders.is_empty() && !self.genders.contains(&child.gender) {
            out.push(Ineligible::Gender {
                gender: child.gender,
            });
        }
        if !self.districts.is_empty() {
            match &child.postcode {
                None => out.push(Ineligible::PostcodeUnknown),
                Some(p) if !self.districts.iter().any(|d| d == p.outward()) => {
                    out.push(Ineligible::OutsideArea {
                        district: p.outward().to_string(),
                    })
                }
                Some(_) => {}
            }
        }
        out
    }

    /// The eligible ages in words: "13 to 16".
    pub fn ages(&self) -> String {
        if self.min_age == self.max_age {
            format!("{}", self.min_age)
        } else {
            format!("{} to {}", self.min_age, self.max_age)
        }
    }

    /// The eligible genders in words ("any gender" when open to all).
    pub fn genders_text(&self) -> String {
        if self.genders.is_empty() {
            "Any gender".into()
        } else {
            self.genders
                .iter()
                .map(|g| g.label())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// The area in words ("anywhere" when open to all).
    pub fn area_text(&self) -> String {
        if self.districts.is_empty() {
            "Anywhere in the partnership".into()
        } else {
            self.districts.join(", ")
        }
    }

    /// A reason in words, naming the child and the date.
    pub fn reason_text(&self, child_name: &str, on: Date, r: &Ineligible) -> String {
        let day = day_words(on);
        match r {
            Ineligible::DateOfBirthUnknown => format!(
                "{child_name}'s date of birth is not recorded, so their age on the start date \
                 ({day}) cannot be checked against the programme's ages ({})",
                self.ages()
            ),
            Ineligible::TooYoung { age } | Ineligible::TooOld { age } => format!(
                "{child_name} is {age} on the cohort's start date ({day}); the programme is for \
                 ages {}",
                self.ages()
            ),
            Ineligible::Gender { gender } => format!(
                "The programme is for {} young people; {child_name}'s recorded gender is {}",
                self.genders_text().to_lowercase(),
                gender.label().to_lowercase()
            ),
            Ineligible::PostcodeUnknown => format!(
                "{child_name}'s postcode is not recorded, so it cannot be checked against the \
                 programme's area ({})",
                self.area_text()
            ),
            Ineligible::OutsideArea { district } => format!(
                "{child_name} lives in {district}; the programme is for children living in {}",
                self.area_text()
            ),
        }
    }
}

fn day_words(d: Date) -> String {
    format!("{} {} {}", d.day(), d.month(), d.year())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cohort {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub start_on: Date,
    pub venue: String,
    /// The facilitators, as written.
    pub facilitators: String,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CohortSession {
    pub id: Uuid,
    pub cohort_id: Uuid,
    /// 1, 2, … in date order.
    pub number: i32,
    pub held_on: Date,
    pub topic: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CohortMember {
    pub id: Uuid,
    pub cohort_id: Uuid,
    pub person_id: Uuid,
    pub status: MemberStatus,
    /// Why the child withdrew (when they did).
    pub withdraw_reason: Option<String>,
    pub outcome: Option<ProgrammeOutcome>,
    /// A short note on the outcome.
    pub outcome_note: String,
    /// How safe the child said they felt, 1 to 10, at the start and at the end (optional).
    pub safety_before: Option<i32>,
    pub safety_after: Option<i32>,
    /// The organisation that added the child (the running organisation).
    pub org_id: Uuid,
    pub added_by: Uuid,
    pub added_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One child's attendance at one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttendanceMark {
    pub session_id: Uuid,
    pub member_id: Uuid,
    pub attendance: Attendance,
    pub recorded_by: Uuid,
    pub recorded_at: OffsetDateTime,
}

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait ProgrammeRepo: Send {
    fn insert_programme(&mut self, p: &Programme) -> impl Future<Output = Result<()>> + Send;
    fn get_programme(&mut self, id: Uuid)
    -> impl Future<Output = Result<Option<Programme>>> + Send;
    /// Every programme, by name.
    fn list_programmes(&mut self) -> impl Future<Output = Result<Vec<Programme>>> + Send;
    fn insert_cohort(&mut self, c: &Cohort) -> impl Future<Output = Result<()>> + Send;
    fn get_cohort(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Cohort>>> + Send;
    /// The cohort, locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's single
    /// writer already serialises), so two additions cannot both take its last place.
    fn lock_cohort(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Cohort>>> + Send;
    /// A programme's cohorts, by start date.
    fn cohorts_of(
        &mut self,
        programme_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Cohort>>> + Send;
    /// Cohorts of programmes run by `org_id` starting on or after `from`, by start date.
    fn cohorts_run_by(
        &mut self,
        org_id: Uuid,
        from: Date,
    ) -> impl Future<Output = Result<Vec<Cohort>>> + Send;
    /// Places held (members who have not withdrawn) per cohort of a programme.
    fn places_taken(
        &mut self,
        programme_id: Uuid,
    ) -> impl Future<Output = Result<Vec<(Uuid, i64)>>> + Send;
    fn insert_session(&mut self, s: &CohortSession) -> impl Future<Output = Result<()>> + Send;
    fn get_session(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<CohortSession>>> + Send;
    /// A cohort's sessions, by number.
    fn sessions_of(
        &mut self,
        cohort_id: Uuid,
    ) -> impl Future<Output = Result<Vec<CohortSession>>> + Send;
    fn insert_member(&mut self, m: &CohortMember) -> impl Future<Output = Result<()>> + Send;
    /// Store the status, withdrawal reason, outcome, ratings and update time.
    fn update_member(&mut self, m: &CohortMember) -> impl Future<Output = Result<()>> + Send;
    fn get_member(&mut self, id: Uuid)
    -> impl Future<Output = Result<Option<CohortMember>>> + Send;
    /// A cohort's members, in the order they were added.
    fn members_of(
        &mut self,
        cohort_id: Uuid,
    ) -> impl Future<Output = Result<Vec<CohortMember>>> + Send;
    /// A child's places on any cohort, newest first.
    fn memberships_of(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<CohortMember>>> + Send;
    /// Record (or replace) a child's attendance at a session.
    fn set_attendance(&mut self, a: &AttendanceMark) -> impl Future<Output = Result<()>> + Send;
    /// Every attendance mark of a cohort's sessions.
    fn attendance_of(
        &mut self,
        cohort_id: Uuid,
    ) -> impl Future<Output = Result<Vec<AttendanceMark>>> + Send;
    /// Every attendance mark of one member.
    fn member_attendance(
        &mut self,
        member_id: Uuid,
    ) -> impl Future<Output = Result<Vec<AttendanceMark>>> + Send;
    /// The name of a directory service (the referrals module's `services`).
    fn service_name(&mut self, id: Uuid) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Directory services a programme may be linked to (id, name), by name.
    fn linkable_services(&mut self) -> impl Future<Output = Result<Vec<(Uuid, String)>>> + Send;
}

// --- who may do what ------------------------------------------------------------------------------

/// May the actor create a programme run by `org_id`? Partnership administrators and managers
/// for any organisation; a team manager for their own.
pub fn may_create(actor: &Actor, org_id: Option<Uuid>) -> bool {
    actor.any(&[Role::PartnershipAdmin, Role::PartnershipManager])
        || (actor.has(Role::TeamManager) && org_id.is_none_or(|o| o == actor.org_id))
}

/// May the actor work with the programme's children: someone of the running organisation who
/// opens children's records (each child's record is still decided on its own).
pub fn may_run(actor: &Actor, p: &Programme) -> bool {
    actor.org_id == p.org_id && actor.reads_case_data()
}

/// May the actor add cohorts: whoever may create the programme, or run it.
pub fn may_add_cohort(actor: &Actor, p: &Programme) -> bool {
    may_create(actor, Some(p.org_id)) || may_run(actor, p)
}

// --- validation helpers ---------------------------------------------------------------------------

/// Postcode districts as typed (spaces or commas between them): each an outward code, upper
/// case, without repeats.
pub fn parse_districts(input: &str) -> std::result::Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for raw in input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let d = raw.to_ascii_uppercase();
        // An outward code is valid when it makes a real postcode with any inward code.
        let ok = Postcode::parse(&format!("{d} 1AA")).is_ok_and(|p| p.outward() == d);
        if !ok {
            return Err(FieldError::new(
                "districts",
                format!("{raw} is not a postcode district: enter districts like CO15 or SS1"),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > 50 {
        return Err(FieldError::new(
            "districts",
            "Enter 50 postcode districts or fewer",
        ));
    }
    Ok(out)
}

// --- programmes -----------------------------------------------------------------------------------

/// A programme as created.
#[derive(Debug, Clone, Default)]
pub struct ProgrammeInput {
    pub name: String,
    pub org_id: Option<Uuid>,
    pub description: String,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub genders: Vec<Gender>,
    pub districts: Vec<String>,
    pub session_count: Option<i32>,
    pub capacity: Option<i32>,
    pub service_id: Option<Uuid>,
}

/// A programme with the names shown beside it.
#[derive(Debug, Clone, Serialize)]
pub struct ProgrammeLine {
    pub programme: Programme,
    pub org_name: String,
    pub service_name: Option<String>,
}

/// Every programme (no personal data: open to anyone signed in), by name, and whether the
/// actor may create one.
pub async fn list_programmes<R: ProgrammeRepo + IdentityRepo>(
    tx: &mut R,
    actor: &Actor,
) -> Result<(Vec<ProgrammeLine>, bool)> {
    let orgs = tx.list_orgs().await?;
    let services = tx.linkable_services().await?;
    let lines = tx
        .list_programmes()
        .await?
        .into_iter()
        .map(|p| ProgrammeLine {
            org_name: org_name(&orgs, p.org_id),
            service_name: p.service_id.and_then(|s| {
                services
                    .iter()
                    .find(|(id, _)| *id == s)
                    .map(|(_, n)| n.clone())
            }),
            programme: p,
        })
        .collect();
    Ok((lines, may_create(actor, None)))
}

fn org_name(orgs: &[Organisation], id: Uuid) -> String {
    orgs.iter()
        .find(|o| o.id == id)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| "Unknown organisation".into())
}

/// What the programme form offers: organisations the actor may choose and linkable services.
pub async fn programme_choices<R: ProgrammeRepo + IdentityRepo>(
    tx: &mut R,
    actor: &Actor,
) -> Result<(Vec<Organisation>, Vec<(Uuid, String)>)> {
    let orgs = tx
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| may_create(actor, Some(o.id)))
        .collect();
    Ok((orgs, tx.linkable_services().await?))
}

/// Create a programme. Decided first (refusals recorded); audited as an alteration.
pub async fn create_programme<R: ProgrammeRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    input: &ProgrammeInput,
) -> Result<Programme> {
    if !may_create(actor, input.org_id) {
        let target = input.org_id.unwrap_or(actor.org_id);
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            "programme.create",
            target,
            "organisation",
            Some("{\"reason\":\"not_permitted_for_role\"}".into()),
        )
        .await?;
        return Err(Error::Forbidden {
            reason: "may not create programmes for this organisation".into(),
        });
    }
    let mut errs = Errors::default();
    let name = errs.take(required(
        "name",
        &input.name,
        200,
        "Enter the programme's name",
    ));
    let description = errs.take(required(
        "description",
        &input.description,
        5_000,
        "Describe the programme: who it is for and what it covers",
    ));
    let org = match input.org_id {
        None => {
            errs.push("org_id", "Choose the organisation that runs the programme");
            None
        }
        Some(o) => {
            let found = tx.get_org(o).await?;
            if found.is_none() {
                errs.push("org_id", "Choose an organisation from the list");
            }
            found
        }
    };
    if let Some(o) = &org {
        let taken = tx.list_programmes().await?.into_iter().any(|p| {
            p.org_id == o.id && p.name.to_lowercase() == name.to_lowercase() && !name.is_empty()
        });
        if taken {
            errs.push(
                "name",
                "This organisation already runs a programme with that name",
            );
        }
    }
    let (min, max) = (input.min_age, input.max_age);
    match min {
        None => errs.push("min_age", "Enter the youngest age the programme is for"),
        Some(a) if !(0..=MAX_AGE).contains(&a) => errs.push(
            "min_age",
            &format!("The youngest age must be between 0 and {MAX_AGE}"),
        ),
        _ => {}
    }
    match max {
        None => errs.push("max_age", "Enter the oldest age the programme is for"),
        Some(a) if !(0..=MAX_AGE).contains(&a) => errs.push(
            "max_age",
            &format!("The oldest age must be between 0 and {MAX_AGE}"),
        ),
        Some(a) if min.is_some_and(|m| a < m) => errs.push(
            "max_age",
            "The oldest age must be the same as or more than the youngest",
        ),
        _ => {}
    }
    match input.session_count {
        None => errs.push("session_count", "Enter the number of sessions"),
        Some(n) if !(1..=MAX_SESSIONS).contains(&n) => errs.push(
            "session_count",
            &format!("The number of sessions must be between 1 and {MAX_SESSIONS}"),
        ),
        _ => {}
    }
    match input.capacity {
        None => errs.push("capacity", "Enter how many children a cohort can take"),
        Some(n) if !(1..=MAX_CAPACITY).contains(&n) => errs.push(
            "capacity",
            &format!("A cohort can take between 1 and {MAX_CAPACITY} children"),
        ),
        _ => {}
    }
    let districts = errs
        .take(parse_districts(&input.districts.join(" ")).map_err(|e| Error::Validation(vec![e])));
    if let Some(s) = input.service_id
        && tx.service_name(s).await?.is_none()
    {
        errs.push("service_id", "Choose a service from the directory");
    }
    errs.done()?;
    let (Some(org), Some(min_age), Some(max_age), Some(session_count), Some(capacity)) = (
        org,
        input.min_age,
        input.max_age,
        input.session_count,
        input.capacity,
    ) else {
        return Err(Error::validation("name", "Complete the programme"));
    };
    let mut genders: Vec<Gender> = Vec::new();
    for g in &input.genders {
        if !genders.contains(g) {
            genders.push(*g);
        }
    }
    let p = Programme {
        id: ctx.ids.new_id(),
        name,
        org_id: org.id,
        description,
        min_age,
        max_age,
        genders,
        districts,
        session_count,
        capacity,
        service_id: input.service_id,
        created_by: actor.user_id,
        created_at: ctx.clock.now(),
    };
    tx.insert_programme(&p).await?;
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        "programme.create",
        Outcome::Success,
        p.id,
        "programme",
    );
    e.detail = Some(format!("{{\"organisation\":\"{}\"}}", p.org_id));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(p)
}

/// A cohort in a programme's list: places taken (a count, never names).
#[derive(Debug, Clone, Serialize)]
pub struct CohortLine {
    pub cohort: Cohort,
    pub places_taken: i64,
}

/// A programme with its cohorts (counts only: no personal data).
#[derive(Debug, Clone, Serialize)]
pub struct ProgrammeView {
    pub line: ProgrammeLine,
    pub cohorts: Vec<CohortLine>,
    pub may_add_cohort: bool,
}

pub async fn programme_view<R: ProgrammeRepo + IdentityRepo>(
    tx: &mut R,
    actor: &Actor,
    id: Uuid,
) -> Result<ProgrammeView> {
    let p = tx.get_programme(id).await?.ok_or(Error::NotFound)?;
    let taken = tx.places_taken(id).await?;
    let cohorts = tx
        .cohorts_of(id)
        .await?
        .into_iter()
        .map(|c| CohortLine {
            places_taken: taken
                .iter()
                .find(|(cid, _)| *cid == c.id)
                .map(|(_, n)| *n)
                .unwrap_or(0),
            cohort: c,
        })
        .collect();
    let org_name = tx
        .get_org(p.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_else(|| "Unknown organisation".into());
    let service_name = match p.service_id {
        Some(s) => tx.service_name(s).await?,
        None => None,
    };
    Ok(ProgrammeView {
        may_add_cohort: may_add_cohort(actor, &p),
        line: ProgrammeLine {
            programme: p,
            org_name,
            service_name,
        },
        cohorts,
    })
}

// --- cohorts --------------------------------------------------------------------------------------

/// One session as planned.
#[derive(Debug, Clone, Default)]
pub struct SessionInput {
    pub held_on: Option<Date>,
    pub topic: String,
}

/// A cohort as created. With no sessions given, the programme's number of sessions is planned
/// weekly from the start date, with `topics` (in order) as far as they go.
#[derive(Debug, Clone, Default)]
pub struct CohortInput {
    pub start_on: Option<Date>,
    pub venue: String,
    pub facilitators: String,
    pub topics: Vec<String>,
    pub sessions: Vec<SessionInput>,
}

/// `n` weekly sessions from `start`, with `topics` in order as far as they go.
pub fn weekly_sessions(start: Date, n: i32, topics: &[String]) -> Vec<SessionInput> {
    (0..n.max(0))
        .map(|i| SessionInput {
            held_on: Some(start + Duration::weeks(i64::from(i))),
            topic: usize::try_from(i)
                .ok()
                .and_then(|i| topics.get(i))
                .cloned()
                .unwrap_or_default(),
        })
        .collect()
}

/// Add a cohort to a programme, with its sessions. Audited as an alteration.
pub async fn create_cohort<R: ProgrammeRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    programme_id: Uuid,
    input: &CohortInput,
) -> Result<(Cohort, Vec<CohortSession>)> {
    let p = tx
        .get_programme(programme_id)
        .await?
        .ok_or(Error::NotFound)?;
    if !may_add_cohort(actor, &p) {
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            "programme.cohort.create",
            p.id,
            "programme",
            Some("{\"reason\":\"not_running_organisation\"}".into()),
        )
        .await?;
        return Err(Error::Forbidden {
            reason: "not the running organisation".into(),
        });
    }
    let mut errs = Errors::default();
    let day = today(ctx);
    match input.start_on {
        None => errs.push("start_on", "Enter the date of the first session"),
        Some(d) if (d - day).whole_days().abs() > 366 * 2 => errs.push(
            "start_on",
            "The first session must be within two years of today",
        ),
        _ => {}
    }
    let venue = errs.take(required(
        "venue",
        &input.venue,
        300,
        "Enter where the sessions are held",
    ));
    let facilitators = errs.take(required(
        "facilitators",
        &input.facilitators,
        1_000,
        "Say who facilitates the sessions",
    ));
    let planned = match (input.sessions.is_empty(), input.start_on) {
        (false, _) => input.sessions.clone(),
        (true, Some(start)) => {
            if input.topics.len() > usize::try_from(p.session_count).unwrap_or(0) {
                errs.push(
                    "topics",
                    &format!(
                        "The programme has {} sessions: enter at most one topic for each",
                        p.session_count
                    ),
                );
            }
            weekly_sessions(start, p.session_count, &input.topics)
        }
        (true, None) => Vec::new(),
    };
    if planned.len() > usize::try_from(MAX_SESSIONS).unwrap_or(52) {
        errs.push(
            "sessions",
            &format!("A cohort has at most {MAX_SESSIONS} sessions"),
        );
    }
    let mut sessions = Vec::new();
    for (i, s) in planned.iter().enumerate() {
        let topic = errs.take(optional_text("topics", &s.topic, 200));
        match (s.held_on, input.start_on) {
            (None, _) => errs.push("sessions", "Enter the date of every session"),
            (Some(d), Some(start)) if d < start => errs.push(
                "sessions",
                "Sessions cannot be before the cohort's start date",
            ),
            (Some(d), _) => sessions.push((i, d, topic)),
        }
    }
    errs.done()?;
    let Some(start_on) = input.start_on else {
        return Err(Error::validation(
            "start_on",
            "Enter the date of the first session",
        ));
    };
    let c = Cohort {
        id: ctx.ids.new_id(),
        programme_id: p.id,
        start_on,
        venue,
        facilitators,
        created_by: actor.user_id,
        created_at: ctx.clock.now(),
    };
    tx.insert_cohort(&c).await?;
    sessions.sort_by_key(|(i, d, _)| (*d, *i));
    let mut out = Vec::new();
    for (n, (_, held_on, topic)) in sessions.into_iter().enumerate() {
        let s = CohortSession {
            id: ctx.ids.new_id(),
            cohort_id: c.id,
            number: i32::try_from(n + 1).unwrap_or(i32::MAX),
            held_on,
            topic,
        };
        tx.insert_session(&s).await?;
        out.push(s);
    }
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        "programme.cohort.create",
        Outcome::Success,
        c.id,
        "cohort",
    );
    e.detail = Some(format!(
        "{{\"programme\":\"{}\",\"sessions\":{}}}",
        p.id,
        out.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok((c, out))
}

/// A member of a cohort as the running organisation sees them.
#[derive(Debug, Clone, Serialize)]
pub struct MemberLine {
    pub member: CohortMember,
    pub child: Person,
    /// Attendance by session id.
    pub attendance: Vec<(Uuid, Attendance)>,
}

impl MemberLine {
    pub fn at(&self, session_id: Uuid) -> Option<Attendance> {
        self.attendance
            .iter()
            .find(|(s, _)| *s == session_id)
            .map(|(_, a)| *a)
    }
}

/// A cohort, its sessions and, for the running organisation, its members.
#[derive(Debug, Clone, Serialize)]
pub struct CohortView {
    pub programme: Programme,
    pub org_name: String,
    pub cohort: Cohort,
    pub sessions: Vec<CohortSession>,
    /// The members the viewer may see (empty unless they run the programme).
    pub members: Vec<MemberLine>,
    /// Members not shown (the viewer is not of the running organisation, or may not open
    /// those children's records): counted, never named.
    pub hidden: usize,
    pub places_taken: i64,
    /// The viewer runs the programme: may add children, record attendance and outcomes.
    pub may_run: bool,
    pub today: Date,
}

/// Open a cohort. Its members are shown only to the running organisation's people who may open
/// each child's record; each child shown is audited as a consultation of their record.
pub async fn open_cohort<R: ProgrammeRepo + PersonRepo + CaseRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    cohort_id: Uuid,
) -> Result<CohortView> {
    let cohort = tx.get_cohort(cohort_id).await?.ok_or(Error::NotFound)?;
    let programme = tx
        .get_programme(cohort.programme_id)
        .await?
        .ok_or(Error::NotFound)?;
    let sessions = tx.sessions_of(cohort.id).await?;
    let all = tx.members_of(cohort.id).await?;
    let places_taken =
        i64::try_from(all.iter().filter(|m| m.status.holds_place()).count()).unwrap_or(i64::MAX);
    let runs = may_run(actor, &programme);
    let mut members = Vec::new();
    let mut hidden = 0;
    if runs {
        let marks = tx.attendance_of(cohort.id).await?;
        let now = ctx.clock.now();
        for m in all {
            let facts = tx
                .record_facts(m.person_id, actor.user_id, actor.org_id, now)
                .await?;
            let d = authz::decide(actor, Action::ViewRecord, Some(&facts));
            let child = match tx.get_person(m.person_id).await? {
                Some(c) if d.allow => c,
                _ => {
                    hidden += 1;
                    continue;
                }
            };
            let mut e = event(
                ctx,
                actor,
                Category::Consultation,
                "programme.cohort.view",
                Outcome::Success,
                child.id,
                "person",
            );
            e.detail = Some(format!(
                "{{\"cohort\":\"{}\",\"reason\":\"{}\"}}",
                cohort.id,
                d.reason.as_str()
            ));
            tx.append(key, ctx.ids.new_id(), &e).await?;
            let attendance = marks
                .iter()
                .filter(|a| a.member_id == m.id)
                .map(|a| (a.session_id, a.attendance))
                .collect();
            members.push(MemberLine {
                member: m,
                child,
                attendance,
            });
        }
    } else {
        hidden = all.len();
    }
    let org_name = tx
        .get_org(programme.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_else(|| "Unknown organisation".into());
    Ok(CohortView {
        programme,
        org_name,
        cohort,
        sessions,
        members,
        hidden,
        places_taken,
        may_run: runs,
        today: today(ctx),
    })
}

/// The cohort and programme, when the actor runs the programme; otherwise the refusal of
/// `action` is recorded (on the cohort) and `Forbidden` returned.
async fn running<R: ProgrammeRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    cohort: Cohort,
    action: &str,
) -> Result<(Cohort, Programme)> {
    let p = tx
        .get_programme(cohort.programme_id)
        .await?
        .ok_or(Error::NotFound)?;
    if !may_run(actor, &p) {
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            action,
            cohort.id,
            "cohort",
            Some("{\"reason\":\"not_running_organisation\"}".into()),
        )
        .await?;
        return Err(Error::Forbidden {
            reason: "not the running organisation".into(),
        });
    }
    Ok((cohort, p))
}

/// Offer a child a place on a cohort. The actor must run the programme and may change the
/// child's record (a legitimate relationship: in practice the child was referred to the running
/// organisation); the child must be eligible on the cohort's start date and a place free.
/// In the child's chronology; audited as an alteration.
pub async fn add_member<R: ProgrammeRepo + PersonRepo + CaseRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    cohort_id: Uuid,
    person_id: Uuid,
) -> Result<CohortMember> {
    let cohort = tx.lock_cohort(cohort_id).await?.ok_or(Error::NotFound)?;
    let (cohort, p) = running(ctx, tx, key, actor, cohort, "programme.member.add").await?;
    let (child, _) = cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        person_id,
        Action::EditRecord,
        "programme.member.add",
    )
    .await?;
    let members = tx.members_of(cohort.id).await?;
    let name = format!("{} {}", child.given_name, child.family_name);
    if members.iter().any(|m| m.person_id == child.id) {
        return Err(Error::validation(
            "person_id",
            &format!("{name} is already in this cohort"),
        ));
    }
    let mut errs: Vec<FieldError> = p
        .eligibility(&child, cohort.start_on)
        .iter()
        .map(|r| FieldError::new("person_id", p.reason_text(&name, cohort.start_on, r)))
        .collect();
    let taken = members.iter().filter(|m| m.status.holds_place()).count();
    if i64::try_from(taken).unwrap_or(i64::MAX) >= i64::from(p.capacity) {
        errs.push(FieldError::new(
            "person_id",
            format!("The cohort is full: all {} places are taken", p.capacity),
        ));
    }
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let now = ctx.clock.now();
    let m = CohortMember {
        id: ctx.ids.new_id(),
        cohort_id: cohort.id,
        person_id: child.id,
        status: MemberStatus::Offered,
        withdraw_reason: None,
        outcome: None,
        outcome_note: String::new(),
        safety_before: None,
        safety_after: None,
        org_id: actor.org_id,
        added_by: actor.user_id,
        added_at: now,
        updated_at: now,
    };
    tx.insert_member(&m).await?;
    let org = tx
        .get_org(p.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    cases::chronicle(
        ctx,
        tx,
        actor,
        child.id,
        "programme",
        m.id,
        format!(
            "Offered a place on {} ({org}), cohort starting {} at {}",
            short(&p.name, 120),
            day_words(cohort.start_on),
            short(&cohort.venue, 120)
        ),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "programme.member.add",
        child.id,
        format!("{{\"cohort\":\"{}\",\"member\":\"{}\"}}", cohort.id, m.id),
    )
    .await?;
    Ok(m)
}

/// The member, cohort and programme for a change by someone who runs the programme and may
/// change the child's record (refusals recorded).
async fn member_for_change<R: ProgrammeRepo + PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    member_id: Uuid,
    action: &str,
) -> Result<(CohortMember, Cohort, Programme)> {
    let m = tx.get_member(member_id).await?.ok_or(Error::NotFound)?;
    let cohort = tx.get_cohort(m.cohort_id).await?.ok_or(Error::NotFound)?;
    let (cohort, p) = running(ctx, tx, key, actor, cohort, action).await?;
    cases::may_edit(ctx, tx, key, actor, m.person_id, action).await?;
    Ok((m, cohort, p))
}

/// A member's cohort (for pages that start from a member).
pub async fn member_cohort<R: ProgrammeRepo>(tx: &mut R, member_id: Uuid) -> Result<Uuid> {
    Ok(tx
        .get_member(member_id)
        .await?
        .ok_or(Error::NotFound)?
        .cohort_id)
}

/// The attendance sheet of one session: the session and the cohort as the actor sees it, for
/// someone who runs the programme (a refusal of `programme.attendance` is recorded otherwise).
pub async fn session_sheet<R: ProgrammeRepo + PersonRepo + CaseRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    session_id: Uuid,
) -> Result<(CohortSession, CohortView)> {
    let s = tx.get_session(session_id).await?.ok_or(Error::NotFound)?;
    let cohort = tx.get_cohort(s.cohort_id).await?.ok_or(Error::NotFound)?;
    running(ctx, tx, key, actor, cohort, "programme.attendance").await?;
    let view = open_cohort(ctx, tx, key, actor, s.cohort_id).await?;
    Ok((s, view))
}

/// One member as the running organisation sees them, before changing their place or outcome:
/// decided as the change is (refusals of `action` recorded) and audited as a consultation.
pub async fn member_sheet<R: ProgrammeRepo + PersonRepo + CaseRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    member_id: Uuid,
    action: &str,
) -> Result<(MemberLine, Cohort, Programme)> {
    let (m, cohort, p) = member_for_change(ctx, tx, key, actor, member_id, action).await?;
    let child = cases::child(tx, m.person_id).await?;
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "programme.member.view",
        Outcome::Success,
        child.id,
        "person",
    );
    e.detail = Some(format!("{{\"member\":\"{}\"}}", m.id));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    let attendance = tx
        .member_attendance(m.id)
        .await?
        .into_iter()
        .map(|a| (a.session_id, a.attendance))
        .collect();
    Ok((
        MemberLine {
            member: m,
            child,
            attendance,
        },
        cohort,
        p,
    ))
}

/// One session's attendance as recorded: a mark for each member listed.
pub async fn record_attendance<R: ProgrammeRepo + PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    session_id: Uuid,
    marks: &[(Uuid, Attendance)],
) -> Result<usize> {
    let s = tx.get_session(session_id).await?.ok_or(Error::NotFound)?;
    let cohort = tx.get_cohort(s.cohort_id).await?.ok_or(Error::NotFound)?;
    let (cohort, _) = running(ctx, tx, key, actor, cohort, "programme.attendance").await?;
    if s.held_on > today(ctx) {
        return Err(Error::validation(
            "attendance",
            "Attendance can be recorded once the session has taken place",
        ));
    }
    if marks.is_empty() {
        return Err(Error::validation(
            "attendance",
            "Record attendance for at least one child",
        ));
    }
    let members = tx.members_of(cohort.id).await?;
    let now = ctx.clock.now();
    for (member_id, attendance) in marks {
        let Some(m) = members.iter().find(|m| m.id == *member_id) else {
            return Err(Error::validation(
                "attendance",
                "Record attendance only for children in this cohort",
            ));
        };
        cases::may_edit(ctx, tx, key, actor, m.person_id, "programme.attendance").await?;
        tx.set_attendance(&AttendanceMark {
            session_id: s.id,
            member_id: m.id,
            attendance: *attendance,
            recorded_by: actor.user_id,
            recorded_at: now,
        })
        .await?;
        if m.status == MemberStatus::Offered && *attendance == Attendance::Attended {
            let mut m = m.clone();
            m.status = MemberStatus::Attending;
            m.updated_at = now;
            tx.update_member(&m).await?;
        }
        cases::audit_alteration(
            ctx,
            tx,
            key,
            actor,
            "programme.attendance",
            m.person_id,
            format!(
                "{{\"session\":\"{}\",\"member\":\"{}\",\"attendance\":\"{}\"}}",
                s.id,
                m.id,
                attendance.as_str()
            ),
        )
        .await?;
    }
    Ok(marks.len())
}

/// Change where a child's place stands: offered, attending, or withdrew (with a reason).
/// Completion is recorded with the outcome ([`record_outcome`]). A withdrawal is in the
/// chronology; audited as an alteration.
pub async fn set_status<R: ProgrammeRepo + PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    member_id: Uuid,
    status: Option<MemberStatus>,
    reason: &str,
) -> Result<CohortMember> {
    let (mut m, cohort, p) =
        member_for_change(ctx, tx, key, actor, member_id, "programme.member.status").await?;
    let status = match status {
        None => return Err(Error::validation("status", "Select where the place stands")),
        Some(MemberStatus::Completed) => {
            return Err(Error::validation(
                "status",
                "Record the outcome to mark the programme completed",
            ));
        }
        Some(s) => s,
    };
    let reason = if status == MemberStatus::Withdrew {
        Some(required(
            "reason",
            reason,
            1_000,
            "Say why the child withdrew",
        )?)
    } else {
        // Not kept, but refused as it would be with a withdrawal: never quietly dropped.
        optional_text("reason", reason, 1_000)?;
        None
    };
    if status.holds_place() && !m.status.holds_place() {
        let taken = tx
            .members_of(cohort.id)
            .await?
            .iter()
            .filter(|o| o.status.holds_place())
            .count();
        if i64::try_from(taken).unwrap_or(i64::MAX) >= i64::from(p.capacity) {
            return Err(Error::validation(
                "status",
                &format!("The cohort is full: all {} places are taken", p.capacity),
            ));
        }
    }
    let withdrew_now = status == MemberStatus::Withdrew && m.status != MemberStatus::Withdrew;
    m.status = status;
    m.withdraw_reason = reason;
    if status != MemberStatus::Completed {
        m.outcome = None;
        m.outcome_note = String::new();
    }
    m.updated_at = ctx.clock.now();
    tx.update_member(&m).await?;
    if withdrew_now {
        cases::chronicle(
            ctx,
            tx,
            actor,
            m.person_id,
            "programme",
            m.id,
            format!(
                "Withdrew from {}: {}",
                short(&p.name, 120),
                short(m.withdraw_reason.as_deref().unwrap_or_default(), 300)
            ),
        )
        .await?;
    }
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "programme.member.status",
        m.person_id,
        format!(
            "{{\"member\":\"{}\",\"status\":\"{}\"}}",
            m.id,
            status.as_str()
        ),
    )
    .await?;
    Ok(m)
}

/// The outcome of a child's place, recorded when they complete the programme.
#[derive(Debug, Clone, Default)]
pub struct OutcomeInput {
    pub outcome: Option<ProgrammeOutcome>,
    pub note: String,
    pub safety_before: Option<i32>,
    pub safety_after: Option<i32>,
}

/// Record that a child completed the programme, with the outcome, a short note and optionally
/// how safe they said they felt before and after (1 to 10). In the chronology; audited.
pub async fn record_outcome<R: ProgrammeRepo + PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    member_id: Uuid,
    input: &OutcomeInput,
) -> Result<CohortMember> {
    let (mut m, _, p) =
        member_for_change(ctx, tx, key, actor, member_id, "programme.outcome").await?;
    if m.status == MemberStatus::Withdrew {
        return Err(Error::validation(
            "outcome",
            "The child withdrew: change their place back before recording an outcome",
        ));
    }
    let mut errs = Errors::default();
    if input.outcome.is_none() {
        errs.push("outcome", "Select the outcome");
    }
    let note = errs.take(required(
        "note",
        &input.note,
        1_000,
        "Write a short note on what changed for the child",
    ));
    for (field, v) in [
        ("safety_before", input.safety_before),
        ("safety_after", input.safety_after),
    ] {
        if v.is_some_and(|r| !(RATING_MIN..=RATING_MAX).contains(&r)) {
            errs.push(field, "The rating must be a whole number from 1 to 10");
        }
    }
    errs.done()?;
    let Some(outcome) = input.outcome else {
        return Err(Error::validation("outcome", "Select the outcome"));
    };
    let first = m.status != MemberStatus::Completed;
    m.status = MemberStatus::Completed;
    m.withdraw_reason = None;
    m.outcome = Some(outcome);
    m.outcome_note = note;
    m.safety_before = input.safety_before;
    m.safety_after = input.safety_after;
    m.updated_at = ctx.clock.now();
    tx.update_member(&m).await?;
    let rating = match (m.safety_before, m.safety_after) {
        (Some(b), Some(a)) => format!(" Feeling safe: {b} out of 10 before, {a} after."),
        _ => String::new(),
    };
    cases::chronicle(
        ctx,
        tx,
        actor,
        m.person_id,
        "programme",
        m.id,
        format!(
            "{} {}: {}. {}{rating}",
            if first {
                "Completed"
            } else {
                "Outcome updated for"
            },
            short(&p.name, 120),
            outcome.label(),
            short(&m.outcome_note, 300)
        ),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "programme.outcome",
        m.person_id,
        format!(
            "{{\"member\":\"{}\",\"outcome\":\"{}\"}}",
            m.id,
            outcome.as_str()
        ),
    )
    .await?;
    Ok(m)
}

// --- a child's programmes -------------------------------------------------------------------------

/// One cohort a child is in, with their attendance so far.
#[derive(Debug, Clone, Serialize)]
pub struct ChildPlace {
    pub member: CohortMember,
    pub cohort: Cohort,
    pub programme: Programme,
    pub org_name: String,
    pub sessions: i64,
    pub attended: i64,
    pub absent: i64,
    pub excused: i64,
}

/// A cohort the viewer's organisation runs that the child could be offered a place on.
#[derive(Debug, Clone, Serialize)]
pub struct Offerable {
    pub cohort: Cohort,
    pub programme: Programme,
}

/// A child's group programmes, for a viewer who may open the record.
#[derive(Debug, Clone, Serialize)]
pub struct ChildProgrammes {
    pub child: Person,
    pub places: Vec<ChildPlace>,
    /// The viewer may change the record.
    pub may_edit: bool,
    /// Cohorts run by the viewer's organisation, starting from a week ago, the child is not in.
    pub offerable: Vec<Offerable>,
}

/// The cohorts a child is in (decided on the record; refusals recorded; the read audited as a
/// consultation).
pub async fn child_programmes<
    R: ProgrammeRepo + PersonRepo + CaseRepo + IdentityRepo + AuditLog,
>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
) -> Result<ChildProgrammes> {
    let (child, facts) = cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        child_id,
        Action::ViewRecord,
        "programme.child.view",
    )
    .await?;
    let may_edit = authz::decide(actor, Action::EditRecord, Some(&facts)).allow;
    let orgs = tx.list_orgs().await?;
    let mut places = Vec::new();
    for m in tx.memberships_of(child_id).await? {
        let Some(cohort) = tx.get_cohort(m.cohort_id).await? else {
            continue;
        };
        let Some(programme) = tx.get_programme(cohort.programme_id).await? else {
            continue;
        };
        let sessions = i64::try_from(tx.sessions_of(cohort.id).await?.len()).unwrap_or(0);
        let marks = tx.member_attendance(m.id).await?;
        let count = |a: Attendance| {
            i64::try_from(marks.iter().filter(|x| x.attendance == a).count()).unwrap_or(0)
        };
        places.push(ChildPlace {
            org_name: org_name(&orgs, programme.org_id),
            sessions,
            attended: count(Attendance::Attended),
            absent: count(Attendance::Absent),
            excused: count(Attendance::Excused),
            member: m,
            cohort,
            programme,
        });
    }
    let mut offerable = Vec::new();
    if may_edit && actor.reads_case_data() {
        let from = today(ctx) - Duration::weeks(1);
        for cohort in tx.cohorts_run_by(actor.org_id, from).await? {
            if places.iter().any(|p| p.cohort.id == cohort.id) {
                continue;
            }
            if let Some(programme) = tx.get_programme(cohort.programme_id).await? {
                offerable.push(Offerable { cohort, programme });
            }
        }
    }
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "programme.child.view",
        Outcome::Success,
        child_id,
        "person",
    );
    e.detail = Some(format!("{{\"results\":{}}}", places.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(ChildProgrammes {
        child,
        places,
        may_edit,
        offerable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::OrgType;
    use crate::person::PersonKind;
    use time::macros::{date, datetime};

    fn peer_programme() -> Programme {
        Programme {
            id: Uuid::from_u128(1),
            name: "Peer programme".into(),
            org_id: Uuid::from_u128(2),
            description: "Seven weeks".into(),
            min_age: 13,
            max_age: 16,
            genders: vec![Gender::Female],
            districts: vec![],
            session_count: 7,
            capacity: 8,
            service_id: None,
            created_by: Uuid::from_u128(3),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn child(dob: Option<Date>, gender: Gender, postcode: Option<&str>) -> Person {
        Person {
            id: Uuid::from_u128(9),
            kind: PersonKind::Child,
            given_name: "Jade".into(),
            family_name: "Whitmore".into(),
            date_of_birth: dob,
            dob_approximate: false,
            gender,
            postcode: postcode.and_then(|p| Postcode::parse(p).ok()),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn age_is_counted_on_the_cohorts_start_date_both_ends_inclusive() {
        let p = peer_programme();
        let start = date!(2026 - 01 - 12);
        let ok = |dob| p.eligibility(&child(Some(dob), Gender::Female, None), start);
        // 13 on the very day, and 16 until the day before the 17th birthday.
        assert!(ok(date!(2013 - 01 - 12)).is_empty());
        assert!(ok(date!(2009 - 01 - 13)).is_empty());
        assert_eq!(
            ok(date!(2013 - 01 - 13)),
            vec![Ineligible::TooYoung { age: 12 }]
        );
        assert_eq!(
            ok(date!(2009 - 01 - 12)),
            vec![Ineligible::TooOld { age: 17 }]
        );
        assert_eq!(
            p.eligibility(&child(None, Gender::Female, None), start),
            vec![Ineligible::DateOfBirthUnknown]
        );
    }

    #[test]
    fn gender_and_area_are_checked_only_when_the_programme_sets_them() {
        let mut p = peer_programme();
        let start = date!(2026 - 01 - 12);
        let dob = Some(date!(2011 - 04 - 09));
        assert_eq!(
            p.eligibility(&child(dob, Gender::Male, Some("SS1 2AB")), start),
            vec![Ineligible::Gender {
                gender: Gender::Male
            }]
        );
        p.genders.clear();
        assert!(
            p.eligibility(&child(dob, Gender::Male, None), start)
                .is_empty()
        );
        p.districts = vec!["CO15".into(), "CO16".into()];
        assert_eq!(
            p.eligibility(&child(dob, Gender::Male, Some("SS1 2AB")), start),
            vec![Ineligible::OutsideArea {
                district: "SS1".into()
            }]
        );
        assert_eq!(
            p.eligibility(&child(dob, Gender::Male, None), start),
            vec![Ineligible::PostcodeUnknown]
        );
        assert!(
            p.eligibility(&child(dob, Gender::Male, Some("co15 1ab")), start)
                .is_empty()
        );
        // Every reason at once, each in words that name the child and the rule.
        p.genders = vec![Gender::Female];
        let all = p.eligibility(
            &child(Some(date!(2015 - 01 - 01)), Gender::Male, Some("SS1 2AB")),
            start,
        );
        assert_eq!(all.len(), 3);
        let words: Vec<String> = all
            .iter()
            .map(|r| p.reason_text("Jade Whitmore", start, r))
            .collect();
        assert!(
            words[0].contains("Jade Whitmore is 11 on the cohort's start date (12 January 2026)")
        );
        assert!(words[0].contains("ages 13 to 16"));
        assert!(words[1].contains("for female young people"), "{}", words[1]);
        assert!(words[2].contains("lives in SS1"), "{}", words[2]);
    }

    #[test]
    fn districts_are_outward_codes() {
        assert_eq!(
            parse_districts(" co15, CO16  ss1 co15").ok(),
            Some(vec!["CO15".into(), "CO16".into(), "SS1".into()])
        );
        assert!(parse_districts("").is_ok_and(|d| d.is_empty()));
        assert!(parse_districts("CO15 1AB").is_err());
        assert!(parse_districts("15CO").is_err());
    }

    #[test]
    fn weekly_sessions_take_topics_in_order() {
        let s = weekly_sessions(date!(2026 - 01 - 12), 3, &["Healthy relationships".into()]);
        assert_eq!(
            s.iter().filter_map(|x| x.held_on).collect::<Vec<_>>(),
            vec![
                date!(2026 - 01 - 12),
                date!(2026 - 01 - 19),
                date!(2026 - 01 - 26)
            ]
        );
        assert_eq!(s[0].topic, "Healthy relationships");
        assert_eq!(s[2].topic, "");
    }

    #[test]
    fn who_may_create_and_run() {
        let org = Uuid::from_u128(2);
        let actor = |roles: Vec<Role>, org_id: Uuid| Actor {
            user_id: Uuid::from_u128(5),
            org_id,
            org_type: OrgType::SpecialistService,
            roles,
            mfa_at: None,
            now: datetime!(2026-01-05 09:00 UTC),
        };
        let p = peer_programme();
        assert!(may_create(
            &actor(vec![Role::PartnershipManager], Uuid::nil()),
            Some(org)
        ));
        assert!(may_create(
            &actor(vec![Role::PartnershipAdmin], Uuid::nil()),
            Some(org)
        ));
        assert!(may_create(&actor(vec![Role::TeamManager], org), Some(org)));
        assert!(!may_create(
            &actor(vec![Role::TeamManager], Uuid::nil()),
            Some(org)
        ));
        assert!(!may_create(
            &actor(vec![Role::ExploitationWorker], org),
            Some(org)
        ));
        assert!(may_run(&actor(vec![Role::ExploitationWorker], org), &p));
        assert!(!may_run(
            &actor(vec![Role::ExploitationWorker], Uuid::nil()),
            &p
        ));
        assert!(!may_run(&actor(vec![Role::PartnershipAdmin], org), &p));
        assert!(may_add_cohort(
            &actor(vec![Role::PartnershipAdmin], Uuid::nil()),
            &p
        ));
        for s in MemberStatus::ALL {
            assert_eq!(MemberStatus::parse(s.as_str()), Some(*s));
        }
        for a in Attendance::ALL {
            assert_eq!(Attendance::parse(a.as_str()), Some(*a));
        }
        for o in ProgrammeOutcome::ALL {
            assert_eq!(ProgrammeOutcome::parse(o.as_str()), Some(*o));
        }
        assert!(!MemberStatus::Withdrew.holds_place());
    }
}
