//! Service directory and referrals: services with eligibility rules, referrals from a child's
//! record with a chosen minimum set of information (a disclosure), statuses, response-time
//! targets and the service's inbox (issue 6, items 1, 2 and 6; `shared/guide/product.md` §2.5,
//! `shared/guide/domain.md` §13 "Service Referral").
//!
//! A **service** is run by an organisation, with contact routes, a description, eligibility
//! rules (age at the referral date, an open case held by some organisation, postcode districts)
//! and response-time targets: acknowledge within N **working hours** and decide (accept or
//! decline) within N **working days**. Working time is Monday to Friday, 09:00 to 17:00 UK time,
//! outside the bank holidays of England and Wales (computed by rule: New Year, Good Friday,
//! Easter Monday, the May, spring and summer bank holidays, Christmas and Boxing Day, with
//! substitute days). Partnership administrators and managers create and edit services; the
//! running organisation's team manager may edit its own. Every change is audited (`admin`).
//!
//! A **referral** is made from a child's record by someone who may change it. The referrer
//! chooses what to share (the minimum necessary); the chosen items are frozen into the referral,
//! and the send is audited as a **disclosure** naming the receiving organisation and the items.
//! An ineligible referral is refused with the reason. Sending involves the receiving
//! organisation with the child (`InvolvementReason::Referral`), so its workers can open the
//! record. Statuses: sent → acknowledged / accepted / declined; acknowledged → accepted /
//! declined; accepted → closed. The receiving organisation's staff change them (a decline needs
//! a reason, a close an outcome); the referring organisation may withdraw a referral not yet
//! decided (with a reason). Each step is in the child's chronology (kind `referral`), audited,
//! and the referrer is notified.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor, Role, Scope};
use crate::calendar::{is_working_day, next_working_day};
use crate::cases::{self, Concern, InvolvementReason, event, record_refusal};
use crate::error::{Error, Result};
use crate::identity::model::Organisation;
use crate::person::{Person, text_enum};
use crate::ports::{
    AssessmentRepo, AuditLog, CaseRepo, IdentityRepo, PersonRepo, PlanRepo, ProfileRepo,
};
use crate::validate::{Errors, optional_text, short, text};
use serde::Serialize;
use std::future::Future;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

text_enum!(
    /// What kind of service it is.
    ServiceKind {
        Exploitation => "exploitation", "Children at risk of exploitation service";
        FrontDoor => "front_door", "Children's social care front door";
        SexualHealth => "sexual_health", "Sexual health";
        SubstanceMisuse => "substance_misuse", "Substance misuse";
        GroupProgramme => "group_programme", "Group programme";
        Other => "other", "Other";
    }
);

text_enum!(
    /// Where a referral has got to.
    ReferralStatus {
        Sent => "sent", "Sent";
        Acknowledged => "acknowledged", "Acknowledged";
        Accepted => "accepted", "Accepted";
        Declined => "declined", "Declined";
        Closed => "closed", "Closed";
        Withdrawn => "withdrawn", "Withdrawn";
    }
);

text_enum!(
    /// What the referrer may choose to share (besides the reason, which is always sent, and
    /// the concerns, chosen one by one).
    ShareItem {
        Identity => "identity", "Identifying details: name, date of birth and gender";
        Address => "address", "Current address";
        School => "school", "Current school";
        RiskLevel => "risk_level", "Latest risk level";
        Plan => "plan", "Risk management plan summary";
    }
);

impl ReferralStatus {
    /// Waiting for the service: acknowledgement or decision still to come.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Sent | Self::Acknowledged)
    }

    /// The statuses this one may move to.
    pub fn next(self) -> &'static [ReferralStatus] {
        use ReferralStatus::*;
        match self {
            Sent => &[Acknowledged, Accepted, Declined, Withdrawn],
            Acknowledged => &[Accepted, Declined, Withdrawn],
            Accepted => &[Closed],
            Declined | Closed | Withdrawn => &[],
        }
    }

    pub fn may_become(self, to: ReferralStatus) -> bool {
        self.next().contains(&to)
    }

    /// The verb for the chronology and notifications: "accepted".
    pub fn verb(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Acknowledged => "acknowledged",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// A service in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub id: Uuid,
    pub name: String,
    pub kind: ServiceKind,
    /// The organisation that runs it (and receives its referrals).
    pub org_id: Uuid,
    pub description: String,
    pub email: String,
    pub phone: String,
    /// How to refer, in the service's words.
    pub how_to_refer: String,
    /// Youngest age taken, in whole years at the referral date.
    pub min_age: Option<i32>,
    /// Oldest age taken, in whole years at the referral date.
    pub max_age: Option<i32>,
    /// Only children whose case some organisation holds.
    pub open_case_required: bool,
    /// Postcode districts (outward codes) covered; empty: anywhere.
    pub areas: Vec<String>,
    /// Acknowledge within this many working hours.
    pub ack_hours: i32,
    /// Decide (accept or decline) within this many working days.
    pub decide_days: i32,
    /// Taking referrals now.
    pub accepting: bool,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_by: Uuid,
    pub updated_at: OffsetDateTime,
}

/// A service as typed in the form or the API.
#[derive(Debug, Clone, Default)]
pub struct ServiceInput {
    pub name: String,
    pub kind: Option<ServiceKind>,
    pub org_id: Option<Uuid>,
    pub description: String,
    pub email: String,
    pub phone: String,
    pub how_to_refer: String,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub open_case_required: bool,
    /// Space- or comma-separated outward codes.
    pub areas: String,
    pub ack_hours: Option<i32>,
    pub decide_days: Option<i32>,
    pub accepting: bool,
}

/// A referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Referral {
    pub id: Uuid,
    pub service_id: Uuid,
    pub person_id: Uuid,
    /// The receiving organisation (the service's when sent).
    pub to_org_id: Uuid,
    pub from_org_id: Uuid,
    /// The referrer.
    pub created_by: Uuid,
    pub sent_at: OffsetDateTime,
    /// Why the referral is made (always shared).
    pub reason: String,
    pub status: ReferralStatus,
    pub ack_due_at: OffsetDateTime,
    pub decision_due_at: OffsetDateTime,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub decided_at: Option<OffsetDateTime>,
    pub decline_reason: Option<String>,
    pub closed_at: Option<OffsetDateTime>,
    pub outcome: Option<String>,
    pub updated_at: OffsetDateTime,
}

/// One item of what was shared, frozen when the referral was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedItem {
    /// `identity`, `address`, `school`, `concern`, `risk_level`, `plan`.
    pub item: String,
    pub label: String,
    pub value: String,
}

/// One step of a referral: sent, then each status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferralEvent {
    pub id: Uuid,
    pub referral_id: Uuid,
    pub status: ReferralStatus,
    /// The decline reason, outcome, withdrawal reason or message.
    pub note: String,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub at: OffsetDateTime,
}

/// A message to a referrer about their referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: Uuid,
    pub user_id: Uuid,
    pub referral_id: Uuid,
    pub message: String,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
}

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait ReferralRepo: Send {
    fn insert_service(&mut self, s: &Service) -> impl Future<Output = Result<()>> + Send;
    /// Store every field but the id and creation.
    fn update_service(&mut self, s: &Service) -> impl Future<Output = Result<()>> + Send;
    fn get_service(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Service>>> + Send;
    /// Every service, by name.
    fn list_services(&mut self) -> impl Future<Output = Result<Vec<Service>>> + Send;
    /// The referral and what was shared, in order.
    fn insert_referral(
        &mut self,
        r: &Referral,
        shared: &[SharedItem],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Store the status, times, decline reason and outcome.
    fn update_referral(&mut self, r: &Referral) -> impl Future<Output = Result<()>> + Send;
    fn get_referral(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Referral>>> + Send;
    /// What the referral shared, in the order shown.
    fn referral_shared(
        &mut self,
        referral_id: Uuid,
    ) -> impl Future<Output = Result<Vec<SharedItem>>> + Send;
    /// A child's referrals, newest first.
    fn referrals_for(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Referral>>> + Send;
    fn insert_referral_event(
        &mut self,
        e: &ReferralEvent,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A referral's steps, oldest first.
    fn referral_events(
        &mut self,
        referral_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ReferralEvent>>> + Send;
    /// Referrals to `org_id` about unmerged children inside `scope`, each with the child: open
    /// ones (sent, acknowledged) first, oldest first; then the rest, newest first; at most
    /// `limit`.
    fn referral_inbox(
        &mut self,
        scope: &Scope,
        org_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(Referral, Person)>>> + Send;
    /// Referrals made by `user_id` about unmerged children inside `scope`, newest first.
    fn referrals_made_by(
        &mut self,
        scope: &Scope,
        user_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(Referral, Person)>>> + Send;
    fn insert_notification(&mut self, n: &Notification) -> impl Future<Output = Result<()>> + Send;
    /// The user's notifications, newest first: unread ones only, or all; at most `limit`.
    fn notifications_for(
        &mut self,
        user_id: Uuid,
        unread_only: bool,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Notification>>> + Send;
    /// Mark these of the user's notifications read (already read ones are left as they are).
    fn mark_notifications_read(
        &mut self,
        user_id: Uuid,
        ids: &[Uuid],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Everything the referral services read and write.
pub trait Repos:
    PersonRepo
    + CaseRepo
    + IdentityRepo
    + ProfileRepo
    + AssessmentRepo
    + PlanRepo
    + ReferralRepo
    + AuditLog
{
}

impl<T> Repos for T where
    T: PersonRepo
        + CaseRepo
        + IdentityRepo
        + ProfileRepo
        + AssessmentRepo
        + PlanRepo
        + ReferralRepo
        + AuditLog
{
}

// --- working time ---------------------------------------------------------------------------------

/// The working day: 09:00 to 17:00 UK time.
pub const DAY_START_HOUR: u8 = 9;
pub const DAY_END_HOUR: u8 = 17;
/// The longest target accepted: a working fortnight of hours, and 60 working days.
pub const MAX_ACK_HOURS: i32 = 80;
pub const MAX_DECIDE_DAYS: i32 = 60;

/// The UK offset on this date during the working day (BST changes at 01:00 UTC, before it).
fn uk_offset(d: Date) -> UtcOffset {
    let sunday_before_end = |m: Month| {
        let last = Date::from_calendar_date(d.year(), m, time::util::days_in_month(m, d.year()))
            .unwrap_or(d);
        last - Duration::days(i64::from(last.weekday().number_days_from_sunday()))
    };
    let bst = d >= sunday_before_end(Month::March) && d < sunday_before_end(Month::October);
    if bst {
        UtcOffset::from_hms(1, 0, 0).unwrap_or(UtcOffset::UTC)
    } else {
        UtcOffset::UTC
    }
}

fn uk_local(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    // The offset of the instant: try the date's daytime offset, close enough away from 01:00.
    let off = uk_offset(t.date());
    let l = t.to_offset(off);
    PrimitiveDateTime::new(l.date(), l.time())
}

fn from_uk_local(l: PrimitiveDateTime) -> OffsetDateTime {
    l.assume_offset(uk_offset(l.date()))
        .to_offset(UtcOffset::UTC)
}

fn at_hour(d: Date, h: u8) -> PrimitiveDateTime {
    PrimitiveDateTime::new(d, Time::from_hms(h, 0, 0).unwrap_or(Time::MIDNIGHT))
}

/// The start of the next working time at or after `l`.
fn into_working_time(l: PrimitiveDateTime) -> PrimitiveDateTime {
    let d = l.date();
    if is_working_day(d) {
        if l.hour() < DAY_START_HOUR {
            return at_hour(d, DAY_START_HOUR);
        }
        if l < at_hour(d, DAY_END_HOUR) {
            return l;
        }
    }
    at_hour(next_working_day(d), DAY_START_HOUR)
}

/// `hours` working hours after `start` (09:00-17:00 UK time on working days). Something sent
/// out of hours starts the count at the next working morning.
pub fn add_working_hours(start: OffsetDateTime, hours: i32) -> OffsetDateTime {
    let mut l = into_working_time(uk_local(start));
    let mut left = Duration::hours(i64::from(hours.max(0)));
    loop {
        let end = at_hour(l.date(), DAY_END_HOUR);
        let available = end - l;
        if left <= available {
            return from_uk_local(l + left);
        }
        left -= available;
        l = at_hour(next_working_day(l.date()), DAY_START_HOUR);
    }
}

/// The end (17:00 UK time) of the `days`th working day after the day of `start`: within 5
/// working days of a Monday is the next Monday at 17:00. With 0 days, the end of the same
/// working day (or the next one, out of hours).
pub fn add_working_days(start: OffsetDateTime, days: i32) -> OffsetDateTime {
    let l = uk_local(start);
    let mut d = l.date();
    if days <= 0 {
        d = into_working_time(l).date();
    }
    for _ in 0..days.max(0) {
        d = next_working_day(d);
    }
    from_uk_local(at_hour(d, DAY_END_HOUR))
}

/// A response-time target as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Timer {
    /// Done at this time (within the target, or late).
    Met {
        at: OffsetDateTime,
        late: bool,
    },
    /// No longer running (declined, withdrawn before it was met).
    Stopped,
    DueIn(Duration),
    Overdue(Duration),
}

fn timer(
    due: OffsetDateTime,
    met: Option<OffsetDateTime>,
    running: bool,
    now: OffsetDateTime,
) -> Timer {
    match met {
        Some(at) => Timer::Met { at, late: at > due },
        None if !running => Timer::Stopped,
        None if now > due => Timer::Overdue(now - due),
        None => Timer::DueIn(due - now),
    }
}

impl Referral {
    /// The acknowledgement target: met by acknowledging, accepting or declining.
    pub fn ack_timer(&self, now: OffsetDateTime) -> Timer {
        timer(
            self.ack_due_at,
            self.acknowledged_at.or(self.decided_at),
            self.status.is_open(),
            now,
        )
    }

    /// The decision target: met by accepting or declining.
    pub fn decision_timer(&self, now: OffsetDateTime) -> Timer {
        timer(
            self.decision_due_at,
            self.decided_at,
            self.status.is_open(),
            now,
        )
    }

    /// Past either target with it still unmet.
    pub fn overdue(&self, now: OffsetDateTime) -> bool {
        matches!(self.ack_timer(now), Timer::Overdue(_))
            || matches!(self.decision_timer(now), Timer::Overdue(_))
    }
}

// --- eligibility ----------------------------------------------------------------------------------

/// Whether a service can take a referral for a child, with the reasons when it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Eligibility {
    Eligible,
    /// Each reason is a sentence for the referrer.
    Ineligible(Vec<String>),
}

impl Eligibility {
    pub fn is_eligible(&self) -> bool {
        matches!(self, Self::Eligible)
    }

    /// The reasons as one message.
    pub fn message(&self) -> String {
        match self {
            Self::Eligible => String::new(),
            Self::Ineligible(r) => r.join(" "),
        }
    }
}

impl Service {
    /// The ages taken, in words: "aged 13 to 16", "aged 11 and over", "of any age".
    pub fn ages(&self) -> String {
        match (self.min_age, self.max_age) {
            (Some(a), Some(b)) => format!("aged {a} to {b}"),
            (Some(a), None) => format!("aged {a} and over"),
            (None, Some(b)) => format!("aged {b} and under"),
            (None, None) => "of any age".into(),
        }
    }

    /// The areas covered, in words.
    pub fn area_words(&self) -> String {
        if self.areas.is_empty() {
            "Anywhere in the partnership".into()
        } else {
            self.areas.join(", ")
        }
    }
}

/// Check a service's rules for a child on `today` (the referral date). `open_case` is whether
/// some organisation holds the child's case.
pub fn eligibility(s: &Service, child: &Person, today: Date, open_case: bool) -> Eligibility {
    let mut why = Vec::new();
    if !s.accepting {
        why.push(format!("{} is not taking referrals at the moment.", s.name));
    }
    if s.min_age.is_some() || s.max_age.is_some() {
        match child.age_on(today) {
            None => why.push(format!(
                "The child's date of birth is not recorded, and {} takes children {}.",
                s.name,
                s.ages()
            )),
            Some(age) => {
                let young = s.min_age.is_some_and(|m| age < m);
                let old = s.max_age.is_some_and(|m| age > m);
                if young || old {
                    why.push(format!(
                        "The child is {age}; {} takes children {}.",
                        s.name,
                        s.ages()
                    ));
                }
            }
        }
    }
    if s.open_case_required && !open_case {
        why.push(format!(
            "{} needs an open case: no organisation holds this child's case.",
            s.name
        ));
    }
    if !s.areas.is_empty() {
        match &child.postcode {
            None => why.push(format!(
                "The child's postcode is not recorded, and {} covers {} only.",
                s.name,
                s.areas.join(", ")
            )),
            Some(p) => {
                let district = p.outward().to_ascii_uppercase();
                if !s.areas.iter().any(|a| a.eq_ignore_ascii_case(&district)) {
                    why.push(format!(
                        "The child lives in {district}; {} covers {} only.",
                        s.name,
                        s.areas.join(", ")
                    ));
                }
            }
        }
    }
    if why.is_empty() {
        Eligibility::Eligible
    } else {
        Eligibility::Ineligible(why)
    }
}

async fn has_open_case<R: CaseRepo>(tx: &mut R, child_id: Uuid) -> Result<bool> {
    Ok(tx
        .involvements(child_id)
        .await?
        .iter()
        .any(|i| i.reason == InvolvementReason::HoldsCase))
}

// --- validation helpers ---------------------------------------------------------------------------

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn day_words(d: Date) -> String {
    format!(
        "{} {} {}",
        d.day(),
        MONTHS[usize::from(u8::from(d.month())).saturating_sub(1) % 12],
        d.year()
    )
}

/// Parse the areas typed: outward codes separated by spaces or commas, upper-cased, unique.
pub fn parse_areas(input: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for a in input
        .split(|c: char| c == ',' || c.is_whitespace() || c == ';')
        .filter(|a| !a.is_empty())
    {
        let a = a.to_ascii_uppercase();
        let b = a.as_bytes();
        let ok = (2..=4).contains(&b.len())
            && b[0].is_ascii_uppercase()
            && b.iter().all(u8::is_ascii_alphanumeric)
            && b.iter().any(u8::is_ascii_digit);
        if !ok {
            return Err(Error::validation(
                "areas",
                &format!(
                    "{a} is not a postcode district: enter the first part of postcodes, such as SS1 or RM17"
                ),
            ));
        }
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

// --- the directory --------------------------------------------------------------------------------

/// May the actor create (`None`) or edit this service? Partnership administrators and managers
/// may do both; a team manager of the running organisation may edit its own.
pub fn may_manage(actor: &Actor, s: Option<&Service>) -> bool {
    if actor.any(&[Role::PartnershipAdmin, Role::PartnershipManager]) {
        return true;
    }
    match s {
        Some(s) => actor.has(Role::TeamManager) && actor.org_id == s.org_id,
        None => false,
    }
}

/// Every service, by name (no personal data: anyone signed in may browse).
pub async fn list_services<R: ReferralRepo>(tx: &mut R) -> Result<Vec<Service>> {
    tx.list_services().await
}

pub async fn get_service<R: ReferralRepo>(tx: &mut R, id: Uuid) -> Result<Service> {
    tx.get_service(id).await?.ok_or(Error::NotFound)
}

async fn validate_service<R: IdentityRepo>(
    tx: &mut R,
    input: &ServiceInput,
) -> Result<(String, ServiceKind, Organisation, Vec<String>, i32, i32)> {
    let mut errs = Errors::default();
    let name = errs.take(text(
        "name",
        &input.name,
        1,
        200,
        "Enter the service's name",
    ));
    if input.kind.is_none() {
        errs.push("kind", "Select the kind of service");
    }
    let org = match input.org_id {
        Some(id) => tx.get_org(id).await?,
        None => None,
    };
    if org.is_none() {
        errs.push("org_id", "Choose the organisation that runs the service");
    }
    errs.take(optional_text("description", &input.description, 4_000));
    let email = input.email.trim();
    if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
        errs.push(
            "email",
            "Enter an email address in the right format, like name@example.org",
        );
    }
    errs.take(optional_text("email", &input.email, 254));
    // A number to ring, checked as one (kept as typed, spaces and all, for people to read).
    let phone = errs.take(optional_text("phone", &input.phone, 50));
    if !phone.is_empty() && crate::identifiers::phone(&phone).is_err() {
        errs.push(
            "phone",
            "Enter a UK phone number, like 01632 960 101 or +44 1632 960101",
        );
    }
    errs.take(optional_text("how_to_refer", &input.how_to_refer, 2_000));
    for (field, v) in [("min_age", input.min_age), ("max_age", input.max_age)] {
        if v.is_some_and(|a| !(0..=25).contains(&a)) {
            errs.push(field, "Enter an age from 0 to 25");
        }
    }
    if let (Some(a), Some(b)) = (input.min_age, input.max_age)
        && a > b
    {
        errs.push(
            "max_age",
            "The oldest age must be the same as or more than the youngest",
        );
    }
    let areas = errs.take(parse_areas(&input.areas));
    match input.ack_hours {
        None => errs.push(
            "ack_hours",
            "Enter the working hours within which referrals are acknowledged",
        ),
        Some(h) if !(1..=MAX_ACK_HOURS).contains(&h) => errs.push(
            "ack_hours",
            &format!("Enter a number of working hours from 1 to {MAX_ACK_HOURS}"),
        ),
        _ => {}
    }
    match input.decide_days {
        None => errs.push(
            "decide_days",
            "Enter the working days within which referrals are decided",
        ),
        Some(d) if !(1..=MAX_DECIDE_DAYS).contains(&d) => errs.push(
            "decide_days",
            &format!("Enter a number of working days from 1 to {MAX_DECIDE_DAYS}"),
        ),
        _ => {}
    }
    errs.done()?;
    match (input.kind, org, input.ack_hours, input.decide_days) {
        (Some(k), Some(o), Some(h), Some(d)) => Ok((name, k, o, areas, h, d)),
        _ => Err(Error::validation("name", "Complete the service")),
    }
}

async fn refuse_service<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
    target: Uuid,
) -> Result<()> {
    record_refusal(
        ctx,
        tx,
        key,
        actor,
        action,
        target,
        "service",
        Some("{\"reason\":\"not_permitted_for_role\"}".into()),
    )
    .await
}

async fn audit_service<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
    s: &Service,
) -> Result<()> {
    let mut e = event(
        ctx,
        actor,
        Category::Admin,
        action,
        Outcome::Success,
        s.id,
        "service",
    );
    e.detail = Some(format!(
        "{{\"org\":\"{}\",\"kind\":\"{}\",\"accepting\":{}}}",
        s.org_id,
        s.kind.as_str(),
        s.accepting
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

/// Add a service to the directory (partnership administrators and managers). Audited (`admin`).
pub async fn create_service<R: IdentityRepo + ReferralRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    input: &ServiceInput,
) -> Result<Service> {
    if !may_manage(actor, None) {
        refuse_service(ctx, tx, key, actor, "service.create", actor.user_id).await?;
        return Err(Error::Forbidden {
            reason: "not_permitted_for_role".into(),
        });
    }
    let (name, kind, org, areas, ack_hours, decide_days) = validate_service(tx, input).await?;
    let now = ctx.clock.now();
    let s = Service {
        id: ctx.ids.new_id(),
        name,
        kind,
        org_id: org.id,
        description: input.description.trim().into(),
        email: input.email.trim().into(),
        phone: input.phone.trim().into(),
        how_to_refer: input.how_to_refer.trim().into(),
        min_age: input.min_age,
        max_age: input.max_age,
        open_case_required: input.open_case_required,
        areas,
        ack_hours,
        decide_days,
        accepting: input.accepting,
        created_by: actor.user_id,
        created_at: now,
        updated_by: actor.user_id,
        updated_at: now,
    };
    tx.insert_service(&s).await?;
    audit_service(ctx, tx, key, actor, "service.create", &s).await?;
    Ok(s)
}

/// Change a service (partnership administrators and managers; the running organisation's team
/// manager for its own, who may not hand it to another organisation). Audited (`admin`).
pub async fn update_service<R: IdentityRepo + ReferralRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
    input: &ServiceInput,
) -> Result<Service> {
    let mut s = get_service(tx, id).await?;
    if !may_manage(actor, Some(&s)) {
        refuse_service(ctx, tx, key, actor, "service.update", id).await?;
        return Err(Error::Forbidden {
            reason: "not_permitted_for_role".into(),
        });
    }
    let (name, kind, org, areas, ack_hours, decide_days) = validate_service(tx, input).await?;
    if org.id != s.org_id && !may_manage(actor, None) {
        return Err(Error::validation(
            "org_id",
            "Only the partnership can move a service to another organisation",
        ));
    }
    s.name = name;
    s.kind = kind;
    s.org_id = org.id;
    s.description = input.description.trim().into();
    s.email = input.email.trim().into();
    s.phone = input.phone.trim().into();
    s.how_to_refer = input.how_to_refer.trim().into();
    s.min_age = input.min_age;
    s.max_age = input.max_age;
    s.open_case_required = input.open_case_required;
    s.areas = areas;
    s.ack_hours = ack_hours;
    s.decide_days = decide_days;
    s.accepting = input.accepting;
    s.updated_by = actor.user_id;
    s.updated_at = ctx.clock.now();
    tx.update_service(&s).await?;
    audit_service(ctx, tx, key, actor, "service.update", &s).await?;
    Ok(s)
}

// --- making a referral ----------------------------------------------------------------------------

/// A service as offered to a referrer, with its eligibility for the child.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceOption {
    pub service: Service,
    pub org_name: String,
    pub eligibility: Eligibility,
}

/// Everything the referral form offers for a child: services with their eligibility, and what
/// could be shared (the values, so the referrer sees exactly what goes).
#[derive(Debug, Clone, Serialize)]
pub struct ReferralOptions {
    pub child: Person,
    pub services: Vec<ServiceOption>,
    /// Each shareable item with the value that would be sent; `None` when nothing is recorded.
    pub items: Vec<(ShareItem, Option<String>)>,
    /// The child's concerns, newest first, with the line that would be sent.
    pub concerns: Vec<(Concern, String)>,
}

/// What the referrer chose.
#[derive(Debug, Clone, Default)]
pub struct ReferralInput {
    pub service_id: Option<Uuid>,
    pub items: Vec<ShareItem>,
    pub concern_ids: Vec<Uuid>,
    pub reason: String,
}

/// The longest a referral's reason may be.
pub const REASON_MAX: usize = 4_000;

/// A referral not sent yet ("Check eligibility" shows the form again): what is typed so far
/// may be incomplete, but never what no referral could hold (a reason over [`REASON_MAX`]
/// characters, or with control characters).
pub fn check_unsent(input: &ReferralInput) -> Result<()> {
    optional_text("reason", &input.reason, REASON_MAX).map(|_| ())
}

async fn org_name<R: IdentityRepo>(tx: &mut R, id: Uuid) -> Result<String> {
    Ok(tx
        .get_org(id)
        .await?
        .map(|o| o.name)
        .unwrap_or_else(|| "Unknown organisation".into()))
}

fn concern_line(c: &Concern, raised_by: &str) -> String {
    let kinds = c
        .exploitation_types
        .iter()
        .map(|k| k.label())
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = format!("Raised {} by {raised_by}", day_words(c.created_at.date()));
    if !kinds.is_empty() {
        s.push_str(&format!(" ({kinds})"));
    }
    s.push_str(": ");
    s.push_str(&short(&c.narrative, 600));
    s
}

/// The values that would be shared for each item, read now.
async fn item_values<R: Repos>(
    tx: &mut R,
    child: &Person,
) -> Result<Vec<(ShareItem, Option<String>)>> {
    let mut out = Vec::new();
    for item in ShareItem::ALL {
        let v = match item {
            ShareItem::Identity => {
                let dob = match child.date_of_birth {
                    Some(d) if child.dob_approximate => format!("about {}", day_words(d)),
                    Some(d) => day_words(d),
                    None => "not known".into(),
                };
                Some(format!(
                    "{} {}, born {dob}, {}",
                    child.given_name,
                    child.family_name,
                    child.gender.label().to_lowercase()
                ))
            }
            ShareItem::Address => {
                let current = tx
                    .addresses(child.id)
                    .await?
                    .into_iter()
                    .find(|a| a.is_current);
                match current {
                    Some(a) => {
                        let parts: Vec<String> = [
                            a.line1.clone(),
                            a.line2.clone(),
                            a.town.clone(),
                            a.postcode.map(|p| p.to_string()).unwrap_or_default(),
                        ]
                        .into_iter()
                        .filter(|s| !s.trim().is_empty())
                        .collect();
                        Some(parts.join(", "))
                    }
                    None => child.postcode.as_ref().map(|p| format!("Postcode {p}")),
                }
            }
            ShareItem::School => tx
                .schools(child.id)
                .await?
                .into_iter()
                .find(|s| s.is_current)
                .map(|s| s.school_name),
            ShareItem::RiskLevel => {
                let signed = tx
                    .assessments_for(child.id)
                    .await?
                    .into_iter()
                    .filter(|a| a.signed_off_at.is_some())
                    .max_by_key(|a| a.signed_off_at);
                match signed {
                    Some(a) => Some(format!(
                        "{} (risk assessment signed off {})",
                        a.judged_level.label(),
                        a.signed_off_at
                            .map(|t| day_words(t.date()))
                            .unwrap_or_default()
                    )),
                    None => tx
                        .plans_for(child.id)
                        .await?
                        .into_iter()
                        .find(|p| p.is_open())
                        .map(|p| {
                            format!(
                                "{} (risk management plan agreed {})",
                                p.risk_level.label(),
                                day_words(p.agreed_on)
                            )
                        }),
                }
            }
            ShareItem::Plan => {
                let plan = tx
                    .plans_for(child.id)
                    .await?
                    .into_iter()
                    .find(|p| p.is_open());
                match plan {
                    Some(p) => {
                        let actions = tx.plan_actions(p.id).await?;
                        let open = actions.iter().filter(|a| a.status.is_open()).count();
                        let lead = org_name(tx, p.lead_org_id).await?;
                        let mut s = format!(
                            "Plan agreed {} (risk level {}), led by {lead}; {} actions, {open} still open; next review {}.",
                            day_words(p.agreed_on),
                            p.risk_level.label().to_lowercase(),
                            actions.len(),
                            day_words(p.next_review_on)
                        );
                        if !p.safety_goal.is_empty() {
                            s.push_str(&format!(" Safety goal: {}", short(&p.safety_goal, 400)));
                        }
                        Some(s)
                    }
                    None => None,
                }
            }
        };
        out.push((*item, v));
    }
    Ok(out)
}

/// The child's concerns, newest first, each with the line a referral would carry.
async fn child_concerns<R: Repos>(tx: &mut R, child_id: Uuid) -> Result<Vec<(Concern, String)>> {
    let ids: std::collections::HashSet<Uuid> = tx
        .list_chronology(child_id)
        .await?
        .into_iter()
        .filter(|e| e.kind == "concern")
        .map(|e| e.source_id)
        .collect();
    let mut out = Vec::new();
    // Organisations' names, each read once.
    let mut names: std::collections::HashMap<Uuid, String> = std::collections::HashMap::new();
    for c in tx.concerns_of(child_id).await? {
        if ids.contains(&c.id) {
            let by = match names.get(&c.raised_by_org) {
                Some(n) => n.clone(),
                None => {
                    let n = org_name(tx, c.raised_by_org).await?;
                    names.insert(c.raised_by_org, n.clone());
                    n
                }
            };
            let line = concern_line(&c, &by);
            out.push((c, line));
        }
    }
    Ok(out)
}

async fn services_for<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    child: &Person,
) -> Result<Vec<ServiceOption>> {
    let open_case = has_open_case(tx, child.id).await?;
    let today = uk_local(ctx.clock.now()).date();
    let mut out = Vec::new();
    for s in tx.list_services().await? {
        let org_name = org_name(tx, s.org_id).await?;
        out.push(ServiceOption {
            eligibility: eligibility(&s, child, today, open_case),
            service: s,
            org_name,
        });
    }
    Ok(out)
}

/// What the referral form offers for a child whose record the actor may change (refusals
/// recorded). The read is audited as a consultation.
pub async fn referral_options<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
) -> Result<ReferralOptions> {
    let (child, _) = cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        child_id,
        Action::EditRecord,
        "referral.form",
    )
    .await?;
    let services = services_for(ctx, tx, &child).await?;
    let items = item_values(tx, &child).await?;
    let concerns = child_concerns(tx, child_id).await?;
    let e = event(
        ctx,
        actor,
        Category::Consultation,
        "referral.form",
        Outcome::Success,
        child_id,
        "person",
    );
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(ReferralOptions {
        child,
        services,
        items,
        concerns,
    })
}

/// The legal basis recorded with each disclosure.
pub const LEGAL_BASIS: &str = "Safeguarding of children and individuals at risk (Data Protection Act 2018, Schedule 1, paragraph 18)";

/// Send a referral for a child whose record the actor may change. The service's eligibility
/// rules are checked on today's date (an ineligible referral is refused, with the reasons, on
/// `service_id`); a reason is required. The chosen items are frozen into the referral; the
/// receiving organisation becomes involved with the child; the timers start from the service's
/// targets. In the chronology (`referral`); audited as a disclosure naming the recipient and
/// the items.
pub async fn make_referral<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    input: &ReferralInput,
) -> Result<Referral> {
    let (child, _) = cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        child_id,
        Action::EditRecord,
        "referral.create",
    )
    .await?;
    let mut errs = Errors::default();
    let service = match input.service_id {
        Some(id) => tx.get_service(id).await?,
        None => None,
    };
    let reason = errs.take(text(
        "reason",
        &input.reason,
        10,
        REASON_MAX,
        "Say why you are making the referral, in at least 10 characters",
    ));
    let now = ctx.clock.now();
    match &service {
        None => errs.push("service_id", "Choose the service to refer to"),
        Some(s) => {
            let open_case = has_open_case(tx, child_id).await?;
            let e = eligibility(s, &child, uk_local(now).date(), open_case);
            if let Eligibility::Ineligible(_) = e {
                errs.push(
                    "service_id",
                    &format!("This referral cannot be sent. {}", e.message()),
                );
            }
        }
    }
    let concerns = child_concerns(tx, child_id).await?;
    let mut chosen_concerns = Vec::new();
    for cid in &input.concern_ids {
        match concerns.iter().find(|(c, _)| c.id == *cid) {
            Some(c) => {
                if !chosen_concerns
                    .iter()
                    .any(|(x, _): &(Concern, String)| x.id == c.0.id)
                {
                    chosen_concerns.push(c.clone());
                }
            }
            None => errs.push("concerns", "Choose concerns from the list"),
        }
    }
    errs.done()?;
    let Some(service) = service else {
        return Err(Error::validation(
            "service_id",
            "Choose the service to refer to",
        ));
    };
    // Freeze what is shared, in a fixed order.
    let values = item_values(tx, &child).await?;
    let mut shared = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (item, value) in &values {
        if input.items.contains(item) {
            names.push(item.as_str());
            shared.push(SharedItem {
                item: item.as_str().into(),
                label: item.label().into(),
                value: value.clone().unwrap_or_else(|| "Not recorded".into()),
            });
        }
        if *item == ShareItem::School && !chosen_concerns.is_empty() {
            names.push("concerns");
            for (_, line) in &chosen_concerns {
                shared.push(SharedItem {
                    item: "concern".into(),
                    label: "Concern".into(),
                    value: line.clone(),
                });
            }
        }
    }
    let r = Referral {
        id: ctx.ids.new_id(),
        service_id: service.id,
        person_id: child_id,
        to_org_id: service.org_id,
        from_org_id: actor.org_id,
        created_by: actor.user_id,
        sent_at: now,
        reason,
        status: ReferralStatus::Sent,
        ack_due_at: add_working_hours(now, service.ack_hours),
        decision_due_at: add_working_days(now, service.decide_days),
        acknowledged_at: None,
        decided_at: None,
        decline_reason: None,
        closed_at: None,
        outcome: None,
        updated_at: now,
    };
    tx.insert_referral(&r, &shared).await?;
    tx.insert_referral_event(&ReferralEvent {
        id: ctx.ids.new_id(),
        referral_id: r.id,
        status: ReferralStatus::Sent,
        note: String::new(),
        user_id: actor.user_id,
        org_id: actor.org_id,
        at: now,
    })
    .await?;
    cases::involve(
        ctx,
        tx,
        child_id,
        service.org_id,
        InvolvementReason::Referral,
    )
    .await?;
    let to_name = org_name(tx, service.org_id).await?;
    cases::chronicle(
        ctx,
        tx,
        actor,
        child_id,
        "referral",
        r.id,
        format!(
            "Referral sent to {} ({to_name}): {}",
            service.name,
            short(&r.reason, 200)
        ),
    )
    .await?;
    let mut e = event(
        ctx,
        actor,
        Category::Disclosure,
        "referral.send",
        Outcome::Success,
        child_id,
        "person",
    );
    e.recipient = Some(format!("{to_name} ({})", service.org_id));
    e.legal_basis = Some(LEGAL_BASIS.into());
    let items = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(",");
    e.detail = Some(format!(
        "{{\"referral\":\"{}\",\"service\":\"{}\",\"recipient_org\":\"{}\",\"items\":[{items}],\"concerns\":{}}}",
        r.id,
        service.id,
        service.org_id,
        chosen_concerns.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(r)
}

// --- reading a referral ---------------------------------------------------------------------------

/// A referral with what was shared and its history, as a viewer who may open the child's record
/// sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralView {
    pub referral: Referral,
    pub service: Service,
    pub child: Person,
    pub shared: Vec<SharedItem>,
    /// Oldest first.
    pub events: Vec<ReferralEvent>,
    /// Statuses the viewer may move it to now.
    pub may_move_to: Vec<ReferralStatus>,
    pub from_org_name: String,
    pub to_org_name: String,
    pub referrer_name: String,
    /// Names of the people on the history, by user id.
    pub people: Vec<(Uuid, String)>,
    pub now: OffsetDateTime,
}

impl ReferralView {
    pub fn person(&self, id: Uuid) -> &str {
        self.people
            .iter()
            .find(|(u, _)| *u == id)
            .map(|(_, n)| n.as_str())
            .unwrap_or("Unknown person")
    }
}

/// The statuses `actor` may move `r` to: the receiving organisation's staff move it on; the
/// referring organisation may withdraw it while it is undecided.
pub fn moves_for(actor: &Actor, r: &Referral) -> Vec<ReferralStatus> {
    r.status
        .next()
        .iter()
        .copied()
        .filter(|s| {
            if *s == ReferralStatus::Withdrawn {
                actor.org_id == r.from_org_id
            } else {
                actor.org_id == r.to_org_id
            }
        })
        .collect()
}

async fn user_name<R: IdentityRepo>(tx: &mut R, id: Uuid) -> Result<String> {
    Ok(tx
        .get_user(id)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_else(|| "Unknown person".into()))
}

async fn build_view<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    r: Referral,
    child: Person,
    may_edit: bool,
) -> Result<ReferralView> {
    let service = get_service(tx, r.service_id).await?;
    let shared = tx.referral_shared(r.id).await?;
    let events = tx.referral_events(r.id).await?;
    let mut people: Vec<(Uuid, String)> = Vec::new();
    for uid in events.iter().map(|e| e.user_id).chain([r.created_by]) {
        if !people.iter().any(|(u, _)| *u == uid) {
            let n = user_name(tx, uid).await?;
            people.push((uid, n));
        }
    }
    Ok(ReferralView {
        may_move_to: if may_edit {
            moves_for(actor, &r)
        } else {
            Vec::new()
        },
        from_org_name: org_name(tx, r.from_org_id).await?,
        to_org_name: org_name(tx, r.to_org_id).await?,
        referrer_name: people
            .iter()
            .find(|(u, _)| *u == r.created_by)
            .map(|(_, n)| n.clone())
            .unwrap_or_default(),
        referral: r,
        service,
        child,
        shared,
        events,
        people,
        now: ctx.clock.now(),
    })
}

/// A referral, for a viewer who may open the child's record (the receiving organisation is
/// involved once it is sent). Refusals recorded; the read audited as a consultation.
pub async fn open_referral<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
) -> Result<ReferralView> {
    let r = tx.get_referral(referral_id).await?.ok_or(Error::NotFound)?;
    let (child, facts) = cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        r.person_id,
        Action::ViewRecord,
        "referral.view",
    )
    .await?;
    let may_edit = authz::decide(actor, Action::EditRecord, Some(&facts)).allow;
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "referral.view",
        Outcome::Success,
        r.person_id,
        "person",
    );
    e.detail = Some(format!("{{\"referral\":\"{}\"}}", r.id));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    build_view(ctx, tx, actor, r, child, may_edit).await
}

/// A child's referrals as listed on the record.
#[derive(Debug, Clone, Serialize)]
pub struct ChildReferrals {
    pub child: Person,
    /// Newest first, each with the service and receiving organisation's names.
    pub referrals: Vec<(Referral, String, String)>,
    /// The viewer may make a referral.
    pub may_refer: bool,
    pub now: OffsetDateTime,
}

/// A child's referrals, for a viewer who may open the record (refusals recorded; audited).
pub async fn child_referrals<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
) -> Result<ChildReferrals> {
    let (child, facts) = cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        child_id,
        Action::ViewRecord,
        "referral.list",
    )
    .await?;
    let may_refer = authz::decide(actor, Action::EditRecord, Some(&facts)).allow;
    let mut list = Vec::new();
    for r in tx.referrals_for(child_id).await? {
        let service = tx
            .get_service(r.service_id)
            .await?
            .map(|s| s.name)
            .unwrap_or_default();
        let org = org_name(tx, r.to_org_id).await?;
        list.push((r, service, org));
    }
    let e = event(
        ctx,
        actor,
        Category::Consultation,
        "referral.list",
        Outcome::Success,
        child_id,
        "person",
    );
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(ChildReferrals {
        child,
        referrals: list,
        may_refer,
        now: ctx.clock.now(),
    })
}

// --- status changes -------------------------------------------------------------------------------

/// Move a referral on. Only legal moves (409 otherwise); the receiving organisation's staff
/// acknowledge, accept, decline (with a reason) and close (with an outcome); the referring
/// organisation withdraws (with a reason). Others are refused and recorded. In the chronology;
/// audited as an alteration; the referrer is notified of every change they did not make.
pub async fn change_status<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
    to: Option<ReferralStatus>,
    note: &str,
) -> Result<Referral> {
    let mut r = tx.get_referral(referral_id).await?.ok_or(Error::NotFound)?;
    cases::may_edit(ctx, tx, key, actor, r.person_id, "referral.status").await?;
    let to =
        to.ok_or_else(|| Error::validation("status", "Select what has happened to the referral"))?;
    if !r.status.may_become(to) {
        return Err(Error::Conflict(format!(
            "a referral that is {} cannot be {}",
            r.status.verb(),
            to.verb()
        )));
    }
    if !moves_for(actor, &r).contains(&to) {
        let why = if to == ReferralStatus::Withdrawn {
            "not_referring_organisation"
        } else {
            "not_receiving_service"
        };
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            "referral.status",
            r.person_id,
            "person",
            Some(format!(
                "{{\"reason\":\"{why}\",\"referral\":\"{}\"}}",
                r.id
            )),
        )
        .await?;
        return Err(Error::Forbidden { reason: why.into() });
    }
    let note = match to {
        ReferralStatus::Declined => text(
            "note",
            note,
            10,
            2_000,
            "Say why the referral is declined, in at least 10 characters",
        )?,
        ReferralStatus::Closed => text(
            "note",
            note,
            10,
            2_000,
            "Record the outcome of the work, in at least 10 characters",
        )?,
        ReferralStatus::Withdrawn => text(
            "note",
            note,
            10,
            2_000,
            "Say why the referral is withdrawn, in at least 10 characters",
        )?,
        _ => optional_text("note", note, 2_000)?,
    };
    let now = ctx.clock.now();
    match to {
        ReferralStatus::Acknowledged => r.acknowledged_at = Some(now),
        ReferralStatus::Accepted => r.decided_at = Some(now),
        ReferralStatus::Declined => {
            r.decided_at = Some(now);
            r.decline_reason = Some(note.clone());
        }
        ReferralStatus::Closed => {
            r.closed_at = Some(now);
            r.outcome = Some(note.clone());
        }
        ReferralStatus::Withdrawn => r.closed_at = Some(now),
        ReferralStatus::Sent => {}
    }
    r.status = to;
    r.updated_at = now;
    tx.update_referral(&r).await?;
    tx.insert_referral_event(&ReferralEvent {
        id: ctx.ids.new_id(),
        referral_id: r.id,
        status: to,
        note: note.clone(),
        user_id: actor.user_id,
        org_id: actor.org_id,
        at: now,
    })
    .await?;
    let service = get_service(tx, r.service_id).await?;
    let by = org_name(tx, actor.org_id).await?;
    let mut summary = format!("Referral to {} {} by {by}", service.name, to.verb());
    if !note.is_empty() {
        summary.push_str(&format!(": {}", short(&note, 300)));
    }
    cases::chronicle(ctx, tx, actor, r.person_id, "referral", r.id, summary).await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "referral.status",
        r.person_id,
        format!(
            "{{\"referral\":\"{}\",\"status\":\"{}\"}}",
            r.id,
            to.as_str()
        ),
    )
    .await?;
    if actor.user_id != r.created_by {
        let mut message = format!("{by} {} your referral to {}", to.verb(), service.name);
        match to {
            ReferralStatus::Declined => {
                message.push_str(&format!(". Reason: {}", short(&note, 300)))
            }
            ReferralStatus::Closed => {
                message.push_str(&format!(". Outcome: {}", short(&note, 300)))
            }
            _ => {}
        }
        message.push('.');
        tx.insert_notification(&Notification {
            id: ctx.ids.new_id(),
            user_id: r.created_by,
            referral_id: r.id,
            message,
            created_at: now,
            read_at: None,
        })
        .await?;
    }
    Ok(r)
}

// --- the work list --------------------------------------------------------------------------------

/// One referral in a work list.
#[derive(Debug, Clone, Serialize)]
pub struct WorkLine {
    pub referral: Referral,
    pub child: Person,
    pub service_name: String,
    /// The other side: the referring organisation (incoming) or the receiving one (made).
    pub org_name: String,
    /// Time since it was sent.
    pub age: Duration,
    pub overdue: bool,
}

/// The referral work list.
#[derive(Debug, Clone, Serialize)]
pub struct WorkReferrals {
    /// Updates on the viewer's referrals they had not seen (now marked read), newest first.
    pub unread: Vec<Notification>,
    /// Referrals to the viewer's organisation: waiting ones first, oldest first; then the rest,
    /// newest first.
    pub incoming: Vec<WorkLine>,
    /// Referrals the viewer made, newest first.
    pub made: Vec<WorkLine>,
    pub now: OffsetDateTime,
}

async fn lines<R: Repos>(
    tx: &mut R,
    rows: Vec<(Referral, Person)>,
    incoming: bool,
    now: OffsetDateTime,
) -> Result<Vec<WorkLine>> {
    let mut out = Vec::new();
    for (r, child) in rows {
        let service_name = tx
            .get_service(r.service_id)
            .await?
            .map(|s| s.name)
            .unwrap_or_default();
        let org_name = org_name(tx, if incoming { r.from_org_id } else { r.to_org_id }).await?;
        out.push(WorkLine {
            age: now - r.sent_at,
            overdue: r.overdue(now),
            referral: r,
            child,
            service_name,
            org_name,
        });
    }
    Ok(out)
}

/// The viewer's referral work list: unread updates (marked read as they are shown, when
/// `mark_read`), the organisation's incoming referrals and the referrals the viewer made, each
/// filtered by the viewer's scope in the query. Audited as a consultation.
pub async fn work_referrals<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    mark_read: bool,
) -> Result<WorkReferrals> {
    let now = ctx.clock.now();
    let unread = tx.notifications_for(actor.user_id, true, 100).await?;
    if mark_read && !unread.is_empty() {
        let ids: Vec<Uuid> = unread.iter().map(|n| n.id).collect();
        tx.mark_notifications_read(actor.user_id, &ids, now).await?;
    }
    let scope = authz::scope(actor);
    let (incoming, made) = if scope == Scope::Nothing {
        (Vec::new(), Vec::new())
    } else {
        let inbox = tx.referral_inbox(&scope, actor.org_id, 500).await?;
        let made = tx.referrals_made_by(&scope, actor.user_id, 200).await?;
        (
            lines(tx, inbox, true, now).await?,
            lines(tx, made, false, now).await?,
        )
    };
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "referral.work");
    e.detail = Some(format!(
        "{{\"incoming\":{},\"made\":{}}}",
        incoming.len(),
        made.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(WorkReferrals {
        unread,
        incoming,
        made,
        now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::is_bank_holiday;
    use crate::person::{Gender, PersonKind};
    use crate::postcode::Postcode;
    use time::macros::{date, datetime};

    fn service() -> Service {
        Service {
            id: Uuid::from_u128(1),
            name: "Peer programme".into(),
            kind: ServiceKind::GroupProgramme,
            org_id: Uuid::from_u128(2),
            description: String::new(),
            email: String::new(),
            phone: String::new(),
            how_to_refer: String::new(),
            min_age: Some(13),
            max_age: Some(16),
            open_case_required: true,
            areas: vec!["SS1".into(), "SS2".into()],
            ack_hours: 8,
            decide_days: 5,
            accepting: true,
            created_by: Uuid::from_u128(3),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_by: Uuid::from_u128(3),
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn child(dob: Option<Date>, postcode: Option<&str>) -> Person {
        Person {
            id: Uuid::from_u128(9),
            kind: PersonKind::Child,
            given_name: "Amy".into(),
            family_name: "Test".into(),
            date_of_birth: dob,
            dob_approximate: false,
            gender: Gender::Female,
            postcode: postcode.and_then(|p| Postcode::parse(p).ok()),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn eligibility_checks_age_on_the_referral_date_case_and_area() {
        let s = service();
        let today = date!(2026 - 03 - 02);
        let ok = child(Some(date!(2012 - 03 - 02)), Some("SS1 2AB"));
        assert_eq!(eligibility(&s, &ok, today, true), Eligibility::Eligible);
        // Turns 13 tomorrow: still 12 today.
        let young = child(Some(date!(2013 - 03 - 03)), Some("SS1 2AB"));
        let e = eligibility(&s, &young, today, true);
        assert!(e.message().contains("The child is 12"), "{e:?}");
        assert!(e.message().contains("aged 13 to 16"));
        // 16 until the day before the 17th birthday.
        let sixteen = child(Some(date!(2009 - 03 - 03)), Some("ss2 1aa"));
        assert!(eligibility(&s, &sixteen, today, true).is_eligible());
        let seventeen = child(Some(date!(2009 - 03 - 02)), Some("SS2 1AA"));
        assert!(!eligibility(&s, &seventeen, today, true).is_eligible());
        let e = eligibility(&s, &ok, today, false);
        assert!(e.message().contains("needs an open case"), "{e:?}");
        let far = child(Some(date!(2012 - 03 - 02)), Some("RM17 6AB"));
        assert!(
            eligibility(&s, &far, today, true)
                .message()
                .contains("lives in RM17")
        );
        let unknown = child(None, None);
        let e = eligibility(&s, &unknown, today, true);
        let Eligibility::Ineligible(why) = e else {
            panic!("eligible without a date of birth");
        };
        assert_eq!(why.len(), 2);
        let mut closed = service();
        closed.accepting = false;
        closed.min_age = None;
        closed.max_age = None;
        closed.areas.clear();
        closed.open_case_required = false;
        assert!(
            eligibility(&closed, &unknown, today, false)
                .message()
                .contains("not taking referrals")
        );
        closed.accepting = true;
        assert!(eligibility(&closed, &unknown, today, false).is_eligible());
    }

    #[test]
    fn bank_holidays_follow_the_rules() {
        for d in [
            date!(2026 - 01 - 01),
            date!(2026 - 04 - 03),
            date!(2026 - 04 - 06),
            date!(2026 - 05 - 04),
            date!(2026 - 05 - 25),
            date!(2026 - 08 - 31),
            date!(2026 - 12 - 25),
            date!(2026 - 12 - 28),
            date!(2027 - 03 - 26),
            date!(2027 - 12 - 27),
            date!(2027 - 12 - 28),
            date!(2028 - 01 - 03),
            date!(2025 - 04 - 18),
        ] {
            assert!(is_bank_holiday(d), "{d}");
        }
        for d in [
            date!(2026 - 12 - 24),
            date!(2026 - 04 - 07),
            date!(2026 - 01 - 02),
        ] {
            assert!(!is_bank_holiday(d), "{d}");
        }
        assert!(!is_working_day(date!(2026 - 01 - 03)));
        assert!(is_working_day(date!(2026 - 01 - 05)));
    }

    #[test]
    fn working_hours_skip_nights_weekends_and_holidays() {
        // Monday 09:00 UTC (GMT) + 8 working hours: Monday 17:00.
        let mon = datetime!(2026-01-05 09:00 UTC);
        assert_eq!(add_working_hours(mon, 8), datetime!(2026-01-05 17:00 UTC));
        assert_eq!(add_working_hours(mon, 9), datetime!(2026-01-06 10:00 UTC));
        // Friday 16:00 + 4 hours: Monday 12:00.
        let fri = datetime!(2026-01-09 16:00 UTC);
        assert_eq!(add_working_hours(fri, 4), datetime!(2026-01-12 12:00 UTC));
        // Sent on Saturday: the count starts on Monday morning.
        let sat = datetime!(2026-01-10 11:00 UTC);
        assert_eq!(add_working_hours(sat, 2), datetime!(2026-01-12 11:00 UTC));
        // Sent at 20:00 on a weekday: from 09:00 the next day.
        let eve = datetime!(2026-01-06 20:00 UTC);
        assert_eq!(add_working_hours(eve, 1), datetime!(2026-01-07 10:00 UTC));
        // Maundy Thursday 15:00 BST (14:00 UTC) + 4: over Good Friday and Easter Monday to
        // Tuesday 11:00 BST (10:00 UTC).
        let thu = datetime!(2026-04-02 14:00 UTC);
        assert_eq!(add_working_hours(thu, 4), datetime!(2026-04-07 10:00 UTC));
    }

    #[test]
    fn working_days_end_at_five_on_the_nth_working_day() {
        let mon = datetime!(2026-01-05 10:00 UTC);
        assert_eq!(add_working_days(mon, 5), datetime!(2026-01-12 17:00 UTC));
        assert_eq!(add_working_days(mon, 1), datetime!(2026-01-06 17:00 UTC));
        // Over Christmas 2026: 24th (Thu) + 2 working days: the 29th (25th, 28th holidays).
        let eve = datetime!(2026-12-24 10:00 UTC);
        assert_eq!(add_working_days(eve, 2), datetime!(2026-12-30 17:00 UTC));
        // In summer time, 17:00 BST is 16:00 UTC.
        let june = datetime!(2026-06-01 10:00 UTC);
        assert_eq!(add_working_days(june, 1), datetime!(2026-06-02 16:00 UTC));
    }

    #[test]
    fn timers_count_down_and_stop() {
        let sent = datetime!(2026-01-05 09:00 UTC);
        let mut r = Referral {
            id: Uuid::from_u128(1),
            service_id: Uuid::from_u128(2),
            person_id: Uuid::from_u128(3),
            to_org_id: Uuid::from_u128(4),
            from_org_id: Uuid::from_u128(5),
            created_by: Uuid::from_u128(6),
            sent_at: sent,
            reason: "Needs specialist support".into(),
            status: ReferralStatus::Sent,
            ack_due_at: add_working_hours(sent, 8),
            decision_due_at: add_working_days(sent, 5),
            acknowledged_at: None,
            decided_at: None,
            decline_reason: None,
            closed_at: None,
            outcome: None,
            updated_at: sent,
        };
        let noon = datetime!(2026-01-05 12:00 UTC);
        assert_eq!(r.ack_timer(noon), Timer::DueIn(Duration::hours(5)));
        assert!(!r.overdue(noon));
        let next = datetime!(2026-01-06 09:00 UTC);
        assert_eq!(r.ack_timer(next), Timer::Overdue(Duration::hours(16)));
        assert!(r.overdue(next));
        r.status = ReferralStatus::Accepted;
        r.decided_at = Some(next);
        assert_eq!(
            r.ack_timer(next),
            Timer::Met {
                at: next,
                late: true
            }
        );
        assert_eq!(
            r.decision_timer(next),
            Timer::Met {
                at: next,
                late: false
            }
        );
        assert!(!r.overdue(next));
        r.status = ReferralStatus::Withdrawn;
        r.decided_at = None;
        assert_eq!(r.decision_timer(next), Timer::Stopped);
    }

    #[test]
    fn only_legal_transitions() {
        use ReferralStatus::*;
        assert!(Sent.may_become(Acknowledged));
        assert!(Sent.may_become(Accepted));
        assert!(Sent.may_become(Declined));
        assert!(Acknowledged.may_become(Declined));
        assert!(Accepted.may_become(Closed));
        assert!(!Sent.may_become(Closed));
        assert!(!Accepted.may_become(Declined));
        assert!(!Declined.may_become(Accepted));
        assert!(!Closed.may_become(Sent));
        assert!(!Accepted.may_become(Withdrawn));
        for s in ReferralStatus::ALL {
            assert_eq!(ReferralStatus::parse(s.as_str()), Some(*s));
        }
    }

    #[test]
    fn areas_are_outward_codes() {
        assert_eq!(
            parse_areas("ss1, SS2  rm17;ss1").ok(),
            Some(vec!["SS1".to_string(), "SS2".into(), "RM17".into()])
        );
        assert!(parse_areas("SS1 2AB").is_err());
        assert!(parse_areas("Southend").is_err());
        assert_eq!(parse_areas("  ").ok(), Some(Vec::new()));
    }
}
