//! Missing episodes: reported missing or absent, found, return home interviews within 72 hours, and pattern alerts that prompt a risk review.
//!
//! Practice (`shared/guide/domain.md` §6, §13.1, §13.2):
//! - an episode is *missing* (whereabouts unknown), *absent* (not where expected, no apparent
//!   risk) or *away from placement without authorisation* (whereabouts known); the police place
//!   it on a continuum of risk from "no apparent risk" to high;
//! - the local authority offers a return home interview (RHI) after every return, to be
//!   completed within 72 hours of the child's return (statutory guidance, 2014), ideally by
//!   someone independent of the placement and the local authority; a decision not to offer one
//!   is recorded with its reason;
//! - missing episodes feed risk: repeat episodes and places where a child is found raise a
//!   prompt to review the child's risk (§13.3 rule 9).
//!
//! An episode may be recorded while the child is still missing and updated when they are found.
//! Anyone who may change the child's record records episodes and interviews (as for plans);
//! only those who may open the record see them. Every step is in the chronology (kinds
//! `missing` and `return_interview`) and audited in its transaction; refusals are recorded.
//!
//! Places of concern are a small partnership list (name, full postcode or district, note) kept
//! by police intelligence officers and partnership managers; a child found at one raises a
//! prompt.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor, Role, Scope};
use crate::cases::{self, ChronologyEntry, event};
use crate::error::{Error, Result};
use crate::person::{Person, text_enum};
use crate::ports::{AuditLog, CaseRepo, PersonRepo};
use crate::postcode::Postcode;
use crate::validate::{Errors, optional_text, short, text};
use serde::Serialize;
use std::future::Future;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

text_enum!(
    /// What kind of episode (the 2014 statutory guidance's definitions).
    EpisodeCategory {
        Missing => "missing", "Missing (whereabouts not known)";
        Absent => "absent", "Absent (not where expected, no apparent risk)";
        AwayFromPlacement => "away_from_placement", "Away from placement without authorisation (whereabouts known)";
    }
);

text_enum!(
    /// Who reported the child missing.
    Reporter {
        Parent => "parent", "Parent";
        Carer => "carer", "Carer (for example a foster carer)";
        ChildrensHome => "childrens_home", "Children's home";
        School => "school", "School";
        Other => "other", "Other";
    }
);

text_enum!(
    /// The police continuum of risk.
    MissingRisk {
        NoApparentRisk => "no_apparent_risk", "No apparent risk";
        Low => "low", "Low";
        Medium => "medium", "Medium";
        High => "high", "High";
    }
);

text_enum!(
    /// Who found the child, or how they came back.
    FoundBy {
        Police => "police", "Police";
        ReturnedThemselves => "returned_themselves", "Came back by themselves";
        ParentCarer => "parent_carer", "Parent or carer";
        Other => "other", "Other";
    }
);

text_enum!(
    /// Who offers or holds the return home interview (the FOI option list, §6.2).
    Interviewer {
        SocialWorker => "social_worker", "The child's social worker";
        DedicatedTeam => "dedicated_team", "A dedicated local authority team";
        YouthWorker => "youth_worker", "A youth worker";
        IndependentService => "independent_service", "An independent commissioned service";
        Other => "other", "Other";
    }
);

text_enum!(
    /// Why a prompt to review the child's risk was raised.
    PromptReason {
        RepeatMissing => "repeat_missing", "Repeat missing episodes";
        PlaceOfConcern => "place_of_concern", "Found at a place of concern";
    }
);

/// An RHI is due this long after the child's return (statutory guidance; §6.2, §13.2).
pub const RHI_DUE_WITHIN: Duration = Duration::hours(72);
/// Repeat missing: this many episodes…
pub const REPEAT_EPISODES: usize = 3;
/// …reported within this many days raise a prompt.
pub const REPEAT_WINDOW_DAYS: i64 = 90;
/// A reason not to offer an interview, or a note resolving a prompt: shortest length.
pub const REASON_MIN: usize = 10;

/// A return home interview as recorded on its episode. Each step keeps its own time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReturnInterview {
    pub offered_at: Option<OffsetDateTime>,
    pub offered_by: Option<Interviewer>,
    /// The name or role of whoever offered it.
    pub offered_name: String,
    /// When the child said no.
    pub declined_at: Option<OffsetDateTime>,
    pub held_at: Option<OffsetDateTime>,
    pub held_by: Option<Interviewer>,
    /// The interviewer's name or role.
    pub interviewer: String,
    /// The interviewer was independent of the placement and of the local authority.
    pub independent: Option<bool>,
    /// What the child said (a summary, in their words where possible).
    pub child_said: String,
    pub follow_up: String,
    /// A decision not to offer one, with its reason.
    pub not_offered_at: Option<OffsetDateTime>,
    pub not_offered_reason: String,
}

/// One missing episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Episode {
    pub id: Uuid,
    pub person_id: Uuid,
    pub category: EpisodeCategory,
    pub reported_at: OffsetDateTime,
    pub reported_by: Reporter,
    /// The reporter's name or role, as written.
    pub reporter_name: String,
    pub police_reference: String,
    /// A looked-after child away from their placement.
    pub from_care: bool,
    /// The placement or children's home, when from care.
    pub placement: String,
    pub risk: MissingRisk,
    /// When the child was located (`None`: still missing).
    pub found_at: Option<OffsetDateTime>,
    /// When the child returned home or to their placement.
    pub returned_at: Option<OffsetDateTime>,
    pub found_where: String,
    pub found_postcode: Option<Postcode>,
    /// Who the child was with, as written.
    pub found_with: String,
    pub found_by: Option<FoundBy>,
    /// Any harm noted (optional).
    pub harm: String,
    pub rhi: ReturnInterview,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Where an episode's return home interview stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RhiState {
    /// The child has not been found yet.
    StillMissing,
    /// Still to be completed; due at this time (offered or not yet).
    Due {
        due_at: OffsetDateTime,
        offered: bool,
    },
    /// Past its due time and not completed.
    Overdue {
        due_at: OffsetDateTime,
        offered: bool,
    },
    /// Held; `in_time` when within 72 hours of the return.
    Held { in_time: bool },
    /// The child declined it.
    Declined,
    /// A decision not to offer one was recorded.
    NotOffered,
}

impl RhiState {
    pub fn code(self) -> &'static str {
        match self {
            Self::StillMissing => "still_missing",
            Self::Due { .. } => "due",
            Self::Overdue { .. } => "overdue",
            Self::Held { .. } => "held",
            Self::Declined => "declined",
            Self::NotOffered => "not_offered",
        }
    }

    /// Still to be done (due or overdue).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Due { .. } | Self::Overdue { .. })
    }
}

impl Episode {
    /// Found (located), or back, whichever is recorded first.
    pub fn is_open(&self) -> bool {
        self.found_at.is_none() && self.returned_at.is_none()
    }

    /// When the child came back: the return, or else when they were found. The RHI clock runs
    /// from here.
    pub fn back_at(&self) -> Option<OffsetDateTime> {
        self.returned_at.or(self.found_at)
    }

    /// How long the child was missing: reported until found (or returned); `None` while open.
    pub fn duration(&self) -> Option<Duration> {
        self.found_at
            .or(self.returned_at)
            .map(|t| t - self.reported_at)
    }

    pub fn rhi_due_at(&self) -> Option<OffsetDateTime> {
        self.back_at().map(|t| t + RHI_DUE_WITHIN)
    }

    pub fn rhi_state(&self, now: OffsetDateTime) -> RhiState {
        let Some(due_at) = self.rhi_due_at() else {
            return RhiState::StillMissing;
        };
        if let Some(held) = self.rhi.held_at {
            return RhiState::Held {
                in_time: held <= due_at,
            };
        }
        if self.rhi.not_offered_at.is_some() {
            return RhiState::NotOffered;
        }
        if self.rhi.declined_at.is_some() {
            return RhiState::Declined;
        }
        let offered = self.rhi.offered_at.is_some();
        if now > due_at {
            RhiState::Overdue { due_at, offered }
        } else {
            RhiState::Due { due_at, offered }
        }
    }
}

/// A prompt to review the child's risk, raised by a pattern of missing episodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    pub id: Uuid,
    pub person_id: Uuid,
    /// The episode that raised it.
    pub episode_id: Uuid,
    pub reason: PromptReason,
    /// What raised it, for display (no more than the record already holds).
    pub detail: String,
    /// The place of concern matched, for that reason.
    pub place_id: Option<Uuid>,
    pub raised_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<Uuid>,
    pub resolution: String,
}

impl Prompt {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
}

/// A place of concern on the partnership's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceOfConcern {
    pub id: Uuid,
    pub name: String,
    /// A full postcode, when the place is one address.
    pub postcode: Option<Postcode>,
    /// The postcode district (outward code): the whole district when no full postcode is given.
    pub outward: String,
    pub note: String,
    /// Where the place is, when recorded (drawn on the hotspots map).
    pub position: Option<crate::hotspots::LatLon>,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

impl PlaceOfConcern {
    /// A full postcode matches a place with that postcode, or a place that is its district.
    pub fn matches(&self, p: &Postcode) -> bool {
        match &self.postcode {
            Some(own) => own == p,
            None => self.outward == p.outward(),
        }
    }

    /// The postcode or district, as shown.
    pub fn area(&self) -> String {
        match &self.postcode {
            Some(p) => p.to_string(),
            None => format!("{} (district)", self.outward),
        }
    }
}

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait MissingRepo: Send {
    fn insert_episode(&mut self, e: &Episode) -> impl Future<Output = Result<()>> + Send;
    /// Store every mutable field: found and returned, and the interview.
    fn update_episode(&mut self, e: &Episode) -> impl Future<Output = Result<()>> + Send;
    fn get_episode(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Episode>>> + Send;
    /// A child's episodes, newest reported first.
    fn episodes_for(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Episode>>> + Send;
    /// How many of the child's episodes were reported from `from` to `to` (both included).
    fn count_episodes_between(
        &mut self,
        person_id: Uuid,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Episodes of unmerged children inside `scope` that need something: the child is still
    /// missing, or back with no interview held, declined or decided against. Each with the
    /// child; oldest return (or report) first; at most `limit`.
    fn open_episodes(
        &mut self,
        scope: &Scope,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(Episode, Person)>>> + Send;
    fn insert_prompt(&mut self, p: &Prompt) -> impl Future<Output = Result<()>> + Send;
    /// Store the resolution.
    fn update_prompt(&mut self, p: &Prompt) -> impl Future<Output = Result<()>> + Send;
    fn get_prompt(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Prompt>>> + Send;
    /// A child's prompts, newest first.
    fn prompts_for(&mut self, person_id: Uuid) -> impl Future<Output = Result<Vec<Prompt>>> + Send;
    /// Unresolved prompts of unmerged children inside `scope`, with the child, oldest first.
    fn open_prompts(
        &mut self,
        scope: &Scope,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(Prompt, Person)>>> + Send;
    fn insert_place(&mut self, p: &PlaceOfConcern) -> impl Future<Output = Result<()>> + Send;
    /// The list, by name.
    fn places(&mut self) -> impl Future<Output = Result<Vec<PlaceOfConcern>>> + Send;
    /// Places that match a full postcode: that postcode, or its district listed as a whole.
    fn places_matching(
        &mut self,
        postcode: &Postcode,
    ) -> impl Future<Output = Result<Vec<PlaceOfConcern>>> + Send;
}

// --- input checks ---------------------------------------------------------------------------------

/// A duration in words: `45 minutes`, `5 hours`, `2 days 3 hours`.
pub fn duration_words(d: Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let minutes = d.whole_minutes().max(0);
    if minutes < 60 {
        plural(minutes, "minute")
    } else if minutes < 48 * 60 {
        let (h, m) = (minutes / 60, minutes % 60);
        if m == 0 {
            plural(h, "hour")
        } else {
            format!("{} {}", plural(h, "hour"), plural(m, "minute"))
        }
    } else {
        let (days, h) = (minutes / (24 * 60), (minutes / 60) % 24);
        if h == 0 {
            plural(days, "day")
        } else {
            format!("{} {}", plural(days, "day"), plural(h, "hour"))
        }
    }
}

/// A time that must not be in the future, nor before `not_before` (with its words).
fn check_time(
    errs: &mut Errors,
    field: &str,
    t: Option<OffsetDateTime>,
    now: OffsetDateTime,
    not_before: Option<(OffsetDateTime, &str)>,
    what: &str,
) {
    match t {
        Some(t) if t > now => errs.push(field, &format!("{what} must be now or in the past")),
        Some(t) => {
            if let Some((b, words)) = not_before
                && t < b
            {
                errs.push(field, &format!("{what} must not be before {words}"));
            }
        }
        None => {}
    }
}

/// Write a chronology entry for what happened at `at` (recorded now, by the actor's organisation).
#[allow(clippy::too_many_arguments)]
async fn chronicle_at<R: CaseRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    person_id: Uuid,
    kind: &str,
    source_id: Uuid,
    at: OffsetDateTime,
    summary: String,
) -> Result<()> {
    tx.insert_chronology(&ChronologyEntry {
        id: ctx.ids.new_id(),
        person_id,
        kind: kind.into(),
        source_id,
        org_id: actor.org_id,
        event_at: at,
        recorded_at: ctx.clock.now(),
        summary,
        marking: None,
    })
    .await
}

/// The chronology kinds this module writes.
pub const KIND_MISSING: &str = "missing";
pub const KIND_RHI: &str = "return_interview";

// --- reading --------------------------------------------------------------------------------------

/// A child's missing episodes and prompts, as a viewer who may open the record sees them.
#[derive(Debug, Clone, Serialize)]
pub struct ChildMissing {
    pub child: Person,
    /// Newest reported first.
    pub episodes: Vec<Episode>,
    /// Newest first; open and resolved.
    pub prompts: Vec<Prompt>,
    /// The viewer may record episodes and interviews and resolve prompts.
    pub may_edit: bool,
    pub now: OffsetDateTime,
}

impl ChildMissing {
    /// Episodes reported within the repeat window before now.
    pub fn recent(&self) -> usize {
        let from = self.now - Duration::days(REPEAT_WINDOW_DAYS);
        self.episodes
            .iter()
            .filter(|e| e.reported_at >= from)
            .count()
    }
}

/// The viewer may open the child's record (decided; a refusal of `action` recorded).
async fn may_view<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    action: &str,
) -> Result<(Person, authz::RecordFacts)> {
    cases::may_on_child(ctx, tx, key, actor, child_id, Action::ViewRecord, action).await
}

/// A child's missing episodes and prompts, for a viewer who may open the record (decided,
/// refusals recorded; the read audited as a consultation).
pub async fn child_missing<R: PersonRepo + CaseRepo + MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
) -> Result<ChildMissing> {
    let (child, facts) = may_view(ctx, tx, key, actor, child_id, "missing.view").await?;
    let d = authz::decide(actor, Action::ViewRecord, Some(&facts));
    let may_edit = authz::decide(actor, Action::EditRecord, Some(&facts)).allow;
    let episodes = tx.episodes_for(child_id).await?;
    let prompts = tx.prompts_for(child_id).await?;
    cases::record_consultation(ctx, tx, key, actor, "missing.view", child_id, d).await?;
    Ok(ChildMissing {
        child,
        episodes,
        prompts,
        may_edit,
        now: ctx.clock.now(),
    })
}

/// The child's open prompts, for a banner on a record the caller has already opened (and
/// audited): decided again, nothing appended. Refused viewers get `Forbidden`.
pub async fn open_prompts_for_child<R: PersonRepo + CaseRepo + MissingRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    child_id: Uuid,
) -> Result<Vec<Prompt>> {
    cases::child(tx, child_id).await?;
    let facts = tx
        .record_facts(child_id, actor.user_id, actor.org_id, ctx.clock.now())
        .await?;
    let d = authz::decide(actor, Action::ViewRecord, Some(&facts));
    if !d.allow {
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    Ok(tx
        .prompts_for(child_id)
        .await?
        .into_iter()
        .filter(Prompt::is_open)
        .collect())
}

/// The episode and its child, or `NotFound`.
pub async fn episode_child<R: MissingRepo>(tx: &mut R, episode_id: Uuid) -> Result<Episode> {
    tx.get_episode(episode_id).await?.ok_or(Error::NotFound)
}

/// The prompt, or `NotFound`.
pub async fn prompt_of<R: MissingRepo>(tx: &mut R, prompt_id: Uuid) -> Result<Prompt> {
    tx.get_prompt(prompt_id).await?.ok_or(Error::NotFound)
}

// --- recording an episode ---------------------------------------------------------------------------

/// What is known when the child is found (or came back).
#[derive(Debug, Clone, Default)]
pub struct FoundInput {
    pub found_at: Option<OffsetDateTime>,
    /// Optional; the interview clock runs from the found time when blank.
    pub returned_at: Option<OffsetDateTime>,
    pub found_where: String,
    /// Optional full postcode, as typed.
    pub found_postcode: String,
    pub found_with: String,
    pub found_by: Option<FoundBy>,
    pub harm: String,
}

impl FoundInput {
    fn is_blank(&self) -> bool {
        self.found_at.is_none()
            && self.returned_at.is_none()
            && self.found_where.trim().is_empty()
            && self.found_postcode.trim().is_empty()
            && self.found_with.trim().is_empty()
            && self.found_by.is_none()
            && self.harm.trim().is_empty()
    }
}

/// An episode as reported.
#[derive(Debug, Clone, Default)]
pub struct EpisodeInput {
    pub category: Option<EpisodeCategory>,
    pub reported_at: Option<OffsetDateTime>,
    pub reported_by: Option<Reporter>,
    pub reporter_name: String,
    pub police_reference: String,
    pub from_care: bool,
    pub placement: String,
    pub risk: Option<MissingRisk>,
    /// Blank while the child is still missing.
    pub found: FoundInput,
}

struct FoundChecked {
    found_at: OffsetDateTime,
    returned_at: Option<OffsetDateTime>,
    found_where: String,
    found_postcode: Option<Postcode>,
    found_with: String,
    found_by: FoundBy,
    harm: String,
}

fn check_found(
    errs: &mut Errors,
    f: &FoundInput,
    reported_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<FoundChecked> {
    if f.found_at.is_none() {
        errs.push("found_at", "Enter when the child was found or came back");
    }
    let reported = reported_at.map(|r| (r, "the time they were reported missing"));
    check_time(
        errs,
        "found_at",
        f.found_at,
        now,
        reported,
        "The time found",
    );
    let returned_floor = f
        .found_at
        .map(|t| (t, "the time they were found"))
        .or(reported);
    check_time(
        errs,
        "returned_at",
        f.returned_at,
        now,
        returned_floor,
        "The time they returned",
    );
    let found_where = errs.take(text(
        "found_where",
        &f.found_where,
        1,
        500,
        "Say where the child was found, or write 'not known'",
    ));
    let found_postcode = if f.found_postcode.trim().is_empty() {
        None
    } else {
        match Postcode::parse(&f.found_postcode) {
            Ok(p) => Some(p),
            Err(_) => {
                errs.push(
                    "found_postcode",
                    "Enter a real UK postcode, like SS1 2AB, or leave it blank",
                );
                None
            }
        }
    };
    let found_with = errs.take(optional_text("found_with", &f.found_with, 1_000));
    if f.found_by.is_none() {
        errs.push(
            "found_by",
            "Select who found the child, or how they came back",
        );
    }
    let harm = errs.take(optional_text("harm", &f.harm, 2_000));
    Some(FoundChecked {
        found_at: f.found_at?,
        returned_at: f.returned_at,
        found_where,
        found_postcode,
        found_with,
        found_by: f.found_by?,
        harm,
    })
}

fn apply_found(e: &mut Episode, f: FoundChecked) {
    e.found_at = Some(f.found_at);
    e.returned_at = f.returned_at;
    e.found_where = f.found_where;
    e.found_postcode = f.found_postcode;
    e.found_with = f.found_with;
    e.found_by = Some(f.found_by);
    e.harm = f.harm;
}

fn reported_summary(e: &Episode) -> String {
    let mut s = format!(
        "{}: reported by {}",
        match e.category {
            EpisodeCategory::Missing => "Reported missing",
            EpisodeCategory::Absent => "Reported absent",
            EpisodeCategory::AwayFromPlacement => "Away from placement without authorisation",
        },
        e.reported_by.label().to_lowercase()
    );
    if !e.reporter_name.is_empty() {
        s.push_str(&format!(" ({})", short(&e.reporter_name, 80)));
    }
    if e.from_care {
        s.push_str(&format!(
            "; missing from care ({})",
            short(&e.placement, 80)
        ));
    }
    s.push_str(&format!(
        "; police risk level {}",
        e.risk.label().to_lowercase()
    ));
    if !e.police_reference.is_empty() {
        s.push_str(&format!("; police reference {}", e.police_reference));
    }
    s
}

fn found_summary(e: &Episode) -> String {
    let mut s = String::from("Found");
    if let Some(by) = e.found_by {
        s = match by {
            FoundBy::ReturnedThemselves => "Came back by themselves".into(),
            FoundBy::Police => "Found by police".into(),
            FoundBy::ParentCarer => "Found by a parent or carer".into(),
            FoundBy::Other => "Found".into(),
        };
    }
    if let Some(d) = e.duration() {
        s.push_str(&format!(" after {}", duration_words(d)));
    }
    s.push_str(&format!(": {}", short(&e.found_where, 150)));
    if let Some(p) = &e.found_postcode {
        s.push_str(&format!(" ({p})"));
    }
    if !e.found_with.is_empty() {
        s.push_str(&format!("; with {}", short(&e.found_with, 150)));
    }
    if !e.harm.is_empty() {
        s.push_str(&format!("; harm noted: {}", short(&e.harm, 200)));
    }
    s
}

/// Record a missing episode for a child whose record the actor may change, open (still
/// missing) or with what is known of the child's return. A repeat pattern or a place of
/// concern raises a prompt. In the chronology; audited as an alteration.
pub async fn record_episode<R: PersonRepo + CaseRepo + MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    input: &EpisodeInput,
) -> Result<Episode> {
    cases::may_edit(ctx, tx, key, actor, child_id, "missing.create").await?;
    let now = ctx.clock.now();
    let mut errs = Errors::default();
    if input.category.is_none() {
        errs.push("category", "Select the kind of episode");
    }
    if input.reported_at.is_none() {
        errs.push("reported_at", "Enter when the child was reported missing");
    }
    check_time(
        &mut errs,
        "reported_at",
        input.reported_at,
        now,
        None,
        "The time reported",
    );
    if input.reported_by.is_none() {
        errs.push("reported_by", "Select who reported the child missing");
    }
    let reporter_name = if input.reported_by == Some(Reporter::Other) {
        errs.take(text(
            "reporter_name",
            &input.reporter_name,
            1,
            200,
            "Give the name or role of who reported it",
        ))
    } else {
        errs.take(optional_text("reporter_name", &input.reporter_name, 200))
    };
    let police_reference = errs.take(optional_text(
        "police_reference",
        &input.police_reference,
        50,
    ));
    let placement = if input.from_care {
        errs.take(text(
            "placement",
            &input.placement,
            1,
            200,
            "Give the placement or children's home the child is missing from",
        ))
    } else {
        errs.take(optional_text("placement", &input.placement, 200))
    };
    if input.risk.is_none() {
        errs.push("risk", "Select the police risk level");
    }
    let found = if input.found.is_blank() {
        None
    } else {
        check_found(&mut errs, &input.found, input.reported_at, now)
    };
    errs.done()?;
    let (Some(category), Some(reported_at), Some(reported_by), Some(risk)) = (
        input.category,
        input.reported_at,
        input.reported_by,
        input.risk,
    ) else {
        return Err(Error::validation("category", "Complete the episode"));
    };
    let mut ep = Episode {
        id: ctx.ids.new_id(),
        person_id: child_id,
        category,
        reported_at,
        reported_by,
        reporter_name,
        police_reference,
        from_care: input.from_care,
        placement: if input.from_care {
            placement
        } else {
            String::new()
        },
        risk,
        found_at: None,
        returned_at: None,
        found_where: String::new(),
        found_postcode: None,
        found_with: String::new(),
        found_by: None,
        harm: String::new(),
        rhi: ReturnInterview::default(),
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
    };
    if let Some(f) = found {
        apply_found(&mut ep, f);
    }
    tx.insert_episode(&ep).await?;
    chronicle_at(
        ctx,
        tx,
        actor,
        child_id,
        KIND_MISSING,
        ep.id,
        ep.reported_at,
        reported_summary(&ep),
    )
    .await?;
    if let Some(t) = ep.found_at {
        chronicle_at(
            ctx,
            tx,
            actor,
            child_id,
            KIND_MISSING,
            ep.id,
            t,
            found_summary(&ep),
        )
        .await?;
    }
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "missing.create",
        child_id,
        format!(
            "{{\"episode\":\"{}\",\"category\":\"{}\",\"risk\":\"{}\",\"found\":{}}}",
            ep.id,
            category.as_str(),
            risk.as_str(),
            ep.found_at.is_some()
        ),
    )
    .await?;
    raise_repeat_prompt(ctx, tx, key, actor, &ep).await?;
    raise_place_prompts(ctx, tx, key, actor, &ep).await?;
    Ok(ep)
}

/// Record (or correct) that the child was found and when they returned. The first time it is
/// in the chronology, a correction is too; a place of concern raises a prompt. Audited.
pub async fn record_found<R: PersonRepo + CaseRepo + MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    episode_id: Uuid,
    input: &FoundInput,
) -> Result<Episode> {
    let mut ep = episode_child(tx, episode_id).await?;
    let child_id = ep.person_id;
    cases::may_edit(ctx, tx, key, actor, child_id, "missing.found").await?;
    let now = ctx.clock.now();
    let mut errs = Errors::default();
    let found = check_found(&mut errs, input, Some(ep.reported_at), now);
    errs.done()?;
    let Some(found) = found else {
        return Err(Error::validation(
            "found_at",
            "Enter when the child was found",
        ));
    };
    let first = ep.is_open();
    let before_place = ep.found_postcode.clone();
    apply_found(&mut ep, found);
    if let (Some(held), Some(back)) = (ep.rhi.held_at, ep.back_at())
        && held < back
    {
        return Err(Error::validation(
            "returned_at",
            "The interview was recorded before this return time: check the times",
        ));
    }
    ep.updated_at = now;
    tx.update_episode(&ep).await?;
    let mut summary = found_summary(&ep);
    if !first {
        summary = format!("Found details corrected. {summary}");
    }
    chronicle_at(
        ctx,
        tx,
        actor,
        child_id,
        KIND_MISSING,
        ep.id,
        ep.found_at.unwrap_or(now),
        summary,
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "missing.found",
        child_id,
        format!(
            "{{\"episode\":\"{}\",\"first\":{},\"found_by\":\"{}\"}}",
            ep.id,
            first,
            ep.found_by.map(FoundBy::as_str).unwrap_or("")
        ),
    )
    .await?;
    if ep.found_postcode.is_some() && ep.found_postcode != before_place {
        raise_place_prompts(ctx, tx, key, actor, &ep).await?;
    }
    Ok(ep)
}

// --- prompts --------------------------------------------------------------------------------------

/// The repeat rule on reported times: `count` episodes within the window ending at the newest.
pub fn is_repeat(count_in_window: i64) -> bool {
    usize::try_from(count_in_window).is_ok_and(|n| n >= REPEAT_EPISODES)
}

#[allow(clippy::too_many_arguments)]
async fn raise<R: CaseRepo + MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    ep: &Episode,
    reason: PromptReason,
    detail: String,
    place_id: Option<Uuid>,
) -> Result<Prompt> {
    let now = ctx.clock.now();
    let p = Prompt {
        id: ctx.ids.new_id(),
        person_id: ep.person_id,
        episode_id: ep.id,
        reason,
        detail,
        place_id,
        raised_at: now,
        resolved_at: None,
        resolved_by: None,
        resolution: String::new(),
    };
    tx.insert_prompt(&p).await?;
    chronicle_at(
        ctx,
        tx,
        actor,
        ep.person_id,
        KIND_MISSING,
        p.id,
        now,
        format!("Prompt to review risk: {}", p.detail),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "missing.prompt.raise",
        ep.person_id,
        format!(
            "{{\"prompt\":\"{}\",\"episode\":\"{}\",\"reason\":\"{}\"}}",
            p.id,
            ep.id,
            reason.as_str()
        ),
    )
    .await?;
    Ok(p)
}

/// Raise a repeat-missing prompt when this episode is the child's [`REPEAT_EPISODES`]th (or
/// more) reported within [`REPEAT_WINDOW_DAYS`] days ending at its report, unless one is
/// already open for the child (so the same pattern is not raised again before anyone has
/// looked at it).
async fn raise_repeat_prompt<R: CaseRepo + MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    ep: &Episode,
) -> Result<Option<Prompt>> {
    let from = ep.reported_at - Duration::days(REPEAT_WINDOW_DAYS);
    let n = tx
        .count_episodes_between(ep.person_id, from, ep.reported_at)
        .await?;
    if !is_repeat(n) {
        return Ok(None);
    }
    let already = tx
        .prompts_for(ep.person_id)
        .await?
        .iter()
        .any(|p| p.is_open() && p.reason == PromptReason::RepeatMissing);
    if already {
        return Ok(None);
    }
    let detail = format!("{n} missing episodes in {REPEAT_WINDOW_DAYS} days");
    raise(
        ctx,
        tx,
        key,
        actor,
        ep,
        PromptReason::RepeatMissing,
        detail,
        None,
    )
    .await
    .map(Some)
}

/// Raise a prompt for each place of concern the episode's where-found postcode matches.
async fn raise_place_prompts<R: CaseRepo + MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    ep: &Episode,
) -> Result<Vec<Prompt>> {
    let Some(pc) = &ep.found_postcode else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for place in tx.places_matching(pc).await? {
        let detail = format!(
            "found at {} ({}), a place of concern",
            short(&place.name, 100),
            place.area()
        );
        out.push(
            raise(
                ctx,
                tx,
                key,
                actor,
                ep,
                PromptReason::PlaceOfConcern,
                detail,
                Some(place.id),
            )
            .await?,
        );
    }
    Ok(out)
}

/// Resolve a prompt with a note (for example "risk assessment started"), on a record the
/// actor may change. In the chronology; audited.
pub async fn resolve_prompt<R: PersonRepo + CaseRepo + MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    prompt_id: Uuid,
    note: &str,
) -> Result<Prompt> {
    let mut p = prompt_of(tx, prompt_id).await?;
    cases::may_edit(ctx, tx, key, actor, p.person_id, "missing.prompt.resolve").await?;
    if !p.is_open() {
        return Err(Error::Conflict("the prompt is already resolved".into()));
    }
    let note = text(
        "resolution",
        note,
        REASON_MIN,
        1_000,
        "Say what was done, for example 'risk assessment started', in at least 10 characters",
    )?;
    let now = ctx.clock.now();
    p.resolved_at = Some(now);
    p.resolved_by = Some(actor.user_id);
    p.resolution = note;
    tx.update_prompt(&p).await?;
    chronicle_at(
        ctx,
        tx,
        actor,
        p.person_id,
        KIND_MISSING,
        p.id,
        now,
        format!(
            "Prompt to review risk resolved ({}): {}",
            p.reason.label().to_lowercase(),
            short(&p.resolution, 300)
        ),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "missing.prompt.resolve",
        p.person_id,
        format!("{{\"prompt\":\"{}\"}}", p.id),
    )
    .await?;
    Ok(p)
}

// --- return home interviews -----------------------------------------------------------------------

/// One step of the return home interview.
#[derive(Debug, Clone)]
pub enum RhiStep {
    Offered {
        at: Option<OffsetDateTime>,
        by: Option<Interviewer>,
        name: String,
    },
    Declined {
        at: Option<OffsetDateTime>,
    },
    Held {
        at: Option<OffsetDateTime>,
        by: Option<Interviewer>,
        interviewer: String,
        independent: Option<bool>,
        child_said: String,
        follow_up: String,
    },
    NotOffered {
        reason: String,
    },
}

impl RhiStep {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Offered { .. } => "offered",
            Self::Declined { .. } => "declined",
            Self::Held { .. } => "held",
            Self::NotOffered { .. } => "not_offered",
        }
    }
}

/// Record a step of the episode's return home interview: offered, declined by the child, held,
/// or a decision not to offer one (with a reason). Only after the child is back; an interview
/// held or decided against is final. In the chronology (`return_interview`); audited.
pub async fn record_interview<R: PersonRepo + CaseRepo + MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    episode_id: Uuid,
    step: &RhiStep,
) -> Result<Episode> {
    let mut ep = episode_child(tx, episode_id).await?;
    let child_id = ep.person_id;
    let action = format!("missing.rhi.{}", step.code());
    cases::may_edit(ctx, tx, key, actor, child_id, &action).await?;
    let Some(back) = ep.back_at() else {
        return Err(Error::Conflict(
            "the child has not been found yet: record that first".into(),
        ));
    };
    if ep.rhi.held_at.is_some() {
        return Err(Error::Conflict(
            "the return home interview has already been held".into(),
        ));
    }
    if ep.rhi.not_offered_at.is_some() {
        return Err(Error::Conflict(
            "a decision not to offer an interview has been recorded".into(),
        ));
    }
    let now = ctx.clock.now();
    let floor = Some((back, "the child's return"));
    let mut errs = Errors::default();
    let (at, summary) = match step {
        RhiStep::Offered { at, by, name } => {
            if at.is_none() {
                errs.push("at", "Enter when the interview was offered");
            }
            check_time(&mut errs, "at", *at, now, floor, "The time offered");
            if by.is_none() {
                errs.push("by", "Select who offered the interview");
            }
            let name = errs.take(optional_text("name", name, 200));
            errs.done()?;
            let (Some(at), Some(by)) = (*at, *by) else {
                return Err(Error::validation("at", "Complete the offer"));
            };
            ep.rhi.offered_at = Some(at);
            ep.rhi.offered_by = Some(by);
            ep.rhi.offered_name = name;
            (
                at,
                format!(
                    "Return home interview offered by {}",
                    by.label().to_lowercase()
                ),
            )
        }
        RhiStep::Declined { at } => {
            if ep.rhi.offered_at.is_none() {
                return Err(Error::Conflict(
                    "record the offer before the child's answer".into(),
                ));
            }
            if at.is_none() {
                errs.push("at", "Enter when the child declined");
            }
            let offered = ep.rhi.offered_at.map(|t| (t, "the offer"));
            check_time(&mut errs, "at", *at, now, offered, "The time declined");
            errs.done()?;
            let Some(at) = *at else {
                return Err(Error::validation("at", "Enter when the child declined"));
            };
            ep.rhi.declined_at = Some(at);
            (
                at,
                "Return home interview declined by the child".to_string(),
            )
        }
        RhiStep::Held {
            at,
            by,
            interviewer,
            independent,
            child_said,
            follow_up,
        } => {
            if at.is_none() {
                errs.push("at", "Enter when the interview was held");
            }
            check_time(&mut errs, "at", *at, now, floor, "The time held");
            if by.is_none() {
                errs.push("by", "Select who held the interview");
            }
            let interviewer = errs.take(optional_text("interviewer", interviewer, 200));
            if independent.is_none() {
                errs.push(
                    "independent",
                    "Say whether the interviewer was independent of the placement and the local authority",
                );
            }
            let said = errs.take(text(
                "child_said",
                child_said,
                1,
                5_000,
                "Summarise what the child said, or that they chose not to say",
            ));
            let follow = errs.take(optional_text("follow_up", follow_up, 2_000));
            errs.done()?;
            let (Some(at), Some(by), Some(independent)) = (*at, *by, *independent) else {
                return Err(Error::validation("at", "Complete the interview"));
            };
            if ep.rhi.offered_at.is_none() {
                ep.rhi.offered_at = Some(at);
                ep.rhi.offered_by = Some(by);
                ep.rhi.offered_name = interviewer.clone();
            }
            ep.rhi.held_at = Some(at);
            ep.rhi.held_by = Some(by);
            ep.rhi.interviewer = interviewer;
            ep.rhi.independent = Some(independent);
            ep.rhi.child_said = said;
            ep.rhi.follow_up = follow;
            let within = if at <= back + RHI_DUE_WITHIN {
                "within 72 hours"
            } else {
                "after 72 hours"
            };
            let mut s = format!(
                "Return home interview held {within} by {}{}: {}",
                by.label().to_lowercase(),
                if independent { " (independent)" } else { "" },
                short(&ep.rhi.child_said, 300).trim_end_matches('.')
            );
            if !ep.rhi.follow_up.is_empty() {
                s.push_str(&format!(". Follow-up: {}", short(&ep.rhi.follow_up, 200)));
            }
            (at, s)
        }
        RhiStep::NotOffered { reason } => {
            if ep.rhi.offered_at.is_some() {
                return Err(Error::Conflict(
                    "the interview has already been offered".into(),
                ));
            }
            let reason = text(
                "reason",
                reason,
                REASON_MIN,
                2_000,
                "Give the reason for not offering an interview, in at least 10 characters",
            )?;
            ep.rhi.not_offered_at = Some(now);
            ep.rhi.not_offered_reason = reason;
            (
                now,
                format!(
                    "Decision not to offer a return home interview: {}",
                    short(&ep.rhi.not_offered_reason, 300)
                ),
            )
        }
    };
    ep.updated_at = now;
    tx.update_episode(&ep).await?;
    chronicle_at(ctx, tx, actor, child_id, KIND_RHI, ep.id, at, summary).await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        &action,
        child_id,
        format!("{{\"episode\":\"{}\"}}", ep.id),
    )
    .await?;
    Ok(ep)
}

// --- work list ------------------------------------------------------------------------------------

/// One line of the missing work list.
#[derive(Debug, Clone, Serialize)]
pub struct EpisodeLine {
    pub episode: Episode,
    pub child: Person,
    pub state: RhiState,
}

/// One open prompt, with its child.
#[derive(Debug, Clone, Serialize)]
pub struct PromptLine {
    pub prompt: Prompt,
    pub child: Person,
}

/// The missing work list of children inside the viewer's scope (applied in the query).
#[derive(Debug, Clone, Serialize, Default)]
pub struct MissingWork {
    /// Interviews overdue, then due, soonest due first.
    pub interviews: Vec<EpisodeLine>,
    /// Children still missing, longest first.
    pub still_missing: Vec<EpisodeLine>,
    /// Open prompts, oldest first.
    pub prompts: Vec<PromptLine>,
}

/// The missing work list: return home interviews due and overdue, children still missing, and
/// open prompts to review risk, for children inside the actor's scope. Audited as a
/// consultation.
pub async fn work<R: MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<MissingWork> {
    let scope = authz::scope(actor);
    if scope == Scope::Nothing {
        return Ok(MissingWork::default());
    }
    let now = ctx.clock.now();
    let mut out = MissingWork::default();
    for (episode, child) in tx.open_episodes(&scope, 500).await? {
        let state = episode.rhi_state(now);
        let line = EpisodeLine {
            episode,
            child,
            state,
        };
        match state {
            RhiState::StillMissing => out.still_missing.push(line),
            s if s.is_open() => out.interviews.push(line),
            _ => {}
        }
    }
    out.interviews.sort_by_key(|l| {
        (
            !matches!(l.state, RhiState::Overdue { .. }),
            l.episode.rhi_due_at(),
        )
    });
    out.still_missing.sort_by_key(|l| l.episode.reported_at);
    out.prompts = tx
        .open_prompts(&scope, 500)
        .await?
        .into_iter()
        .map(|(prompt, child)| PromptLine { prompt, child })
        .collect();
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "missing.work");
    e.detail = Some(format!(
        "{{\"interviews\":{},\"still_missing\":{},\"prompts\":{}}}",
        out.interviews.len(),
        out.still_missing.len(),
        out.prompts.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(out)
}

// --- places of concern ----------------------------------------------------------------------------

/// May keep the list of places of concern: police intelligence officers and partnership
/// managers.
pub fn may_add_place(actor: &Actor) -> bool {
    actor.any(&[Role::PoliceIntelligenceOfficer, Role::PartnershipManager])
}

/// May read the list: anyone who opens children's records, and partnership managers.
pub fn may_read_places(actor: &Actor) -> bool {
    actor.reads_case_data() || actor.has(Role::PartnershipManager)
}

async fn refuse_untargeted<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
) -> Result<()> {
    let mut e = cases::untargeted(ctx, actor, Category::AuthzDenied, action);
    e.outcome = Outcome::Denied;
    e.detail = Some("{\"reason\":\"not_permitted_for_role\"}".into());
    tx.append(key, ctx.ids.new_id(), &e).await.map(|_| ())
}

/// The list of places of concern (refused for roles that may not read it, recorded). Audited as
/// a consultation.
pub async fn list_places<R: MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<Vec<PlaceOfConcern>> {
    if !may_read_places(actor) {
        refuse_untargeted(ctx, tx, key, actor, "place_of_concern.list").await?;
        return Err(Error::Forbidden {
            reason: "not_permitted_for_role".into(),
        });
    }
    let places = tx.places().await?;
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "place_of_concern.list");
    e.detail = Some(format!("{{\"results\":{}}}", places.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(places)
}

/// A place of concern as entered.
#[derive(Debug, Clone, Default)]
pub struct PlaceInput {
    pub name: String,
    /// A full postcode, or a postcode district (outward code) such as `SS1`.
    pub postcode: String,
    pub note: String,
    /// Optional coordinates in decimal degrees (both or neither; inside the UK).
    pub latitude: String,
    pub longitude: String,
}

/// Parse a full postcode, or else a postcode district on its own.
pub fn parse_area(input: &str) -> Result<(Option<Postcode>, String)> {
    let bad = || {
        Error::validation(
            "postcode",
            "Enter a full postcode, like SS1 2AB, or a postcode district, like SS1",
        )
    };
    let t = input.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(p) = Postcode::parse(t) {
        let out = p.outward().to_string();
        return Ok((Some(p), out));
    }
    let compact: String = t
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    // A district is valid when it makes a valid postcode with any valid inward code.
    match Postcode::parse(&format!("{compact} 1AA")) {
        Ok(p) if p.outward() == compact => Ok((None, compact)),
        _ => Err(bad()),
    }
}

/// Add a place of concern (police intelligence officers and partnership managers; others are
/// refused and recorded). Audited as an alteration of the list.
pub async fn add_place<R: MissingRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    input: &PlaceInput,
) -> Result<PlaceOfConcern> {
    if !may_add_place(actor) {
        refuse_untargeted(ctx, tx, key, actor, "place_of_concern.create").await?;
        return Err(Error::Forbidden {
            reason: "not_permitted_for_role".into(),
        });
    }
    let mut errs = Errors::default();
    let name = errs.take(text(
        "name",
        &input.name,
        1,
        200,
        "Enter the name of the place",
    ));
    let area = errs.take(parse_area(&input.postcode).map(Some));
    let note = errs.take(optional_text("note", &input.note, 1_000));
    let position = errs.take(crate::hotspots::LatLon::parse_optional(
        &input.latitude,
        &input.longitude,
    ));
    errs.done()?;
    let Some((postcode, outward)) = area else {
        return Err(Error::validation("postcode", "Enter a postcode"));
    };
    let p = PlaceOfConcern {
        id: ctx.ids.new_id(),
        name,
        postcode,
        outward,
        note,
        position,
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: ctx.clock.now(),
    };
    tx.insert_place(&p).await?;
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        "place_of_concern.create",
        Outcome::Success,
        p.id,
        "place_of_concern",
    );
    e.detail = Some(format!("{{\"district\":\"{}\"}}", p.outward));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn episode() -> Episode {
        Episode {
            id: Uuid::from_u128(1),
            person_id: Uuid::from_u128(2),
            category: EpisodeCategory::Missing,
            reported_at: datetime!(2026-01-05 20:00 UTC),
            reported_by: Reporter::Carer,
            reporter_name: String::new(),
            police_reference: String::new(),
            from_care: false,
            placement: String::new(),
            risk: MissingRisk::Medium,
            found_at: None,
            returned_at: None,
            found_where: String::new(),
            found_postcode: None,
            found_with: String::new(),
            found_by: None,
            harm: String::new(),
            rhi: ReturnInterview::default(),
            org_id: Uuid::from_u128(3),
            created_by: Uuid::from_u128(4),
            created_at: datetime!(2026-01-05 20:00 UTC),
            updated_at: datetime!(2026-01-05 20:00 UTC),
        }
    }

    #[test]
    fn the_interview_falls_due_72_hours_after_the_return() {
        let mut e = episode();
        let now = datetime!(2026-01-06 12:00 UTC);
        assert_eq!(e.rhi_state(now), RhiState::StillMissing);
        assert!(e.duration().is_none());
        e.found_at = Some(datetime!(2026-01-06 10:00 UTC));
        assert_eq!(e.duration(), Some(Duration::hours(14)));
        let due = datetime!(2026-01-09 10:00 UTC);
        assert_eq!(
            e.rhi_state(now),
            RhiState::Due {
                due_at: due,
                offered: false
            }
        );
        e.returned_at = Some(datetime!(2026-01-06 11:00 UTC));
        let due = datetime!(2026-01-09 11:00 UTC);
        assert_eq!(
            e.rhi_state(due + Duration::minutes(1)),
            RhiState::Overdue {
                due_at: due,
                offered: false
            }
        );
        e.rhi.declined_at = Some(datetime!(2026-01-07 11:00 UTC));
        assert_eq!(e.rhi_state(due), RhiState::Declined);
        e.rhi.held_at = Some(datetime!(2026-01-10 11:00 UTC));
        assert_eq!(e.rhi_state(due), RhiState::Held { in_time: false });
    }

    #[test]
    fn places_match_their_postcode_or_district() {
        let pc = |s: &str| Postcode::parse(s).unwrap_or_else(|_| panic!("{s}"));
        let place = |p: Option<&str>, out: &str| PlaceOfConcern {
            id: Uuid::nil(),
            name: "Station".into(),
            postcode: p.map(pc),
            outward: out.into(),
            note: String::new(),
            position: None,
            org_id: Uuid::nil(),
            created_by: Uuid::nil(),
            created_at: datetime!(2026-01-01 0:00 UTC),
        };
        assert!(place(Some("SS1 1AA"), "SS1").matches(&pc("ss11aa")));
        assert!(!place(Some("SS1 1AA"), "SS1").matches(&pc("SS1 1AB")));
        assert!(place(None, "SS1").matches(&pc("SS1 9ZZ")));
        assert!(!place(None, "SS1").matches(&pc("SS11 9ZZ")));
        assert_eq!(parse_area(" ss1 ").ok(), Some((None, "SS1".to_string())));
        assert_eq!(
            parse_area("rm17 6ab")
                .ok()
                .and_then(|(p, o)| p.map(|p| (p.to_string(), o))),
            Some(("RM17 6AB".to_string(), "RM17".to_string()))
        );
        assert!(parse_area("not a place").is_err());
        assert!(parse_area("").is_err());
    }

    #[test]
    fn repeat_rule_and_words() {
        assert!(!is_repeat(2));
        assert!(is_repeat(3));
        assert_eq!(duration_words(Duration::minutes(45)), "45 minutes");
        assert_eq!(duration_words(Duration::hours(26)), "26 hours");
        assert_eq!(
            duration_words(Duration::hours(5) + Duration::minutes(1)),
            "5 hours 1 minute"
        );
        assert_eq!(duration_words(Duration::hours(51)), "2 days 3 hours");
        for c in EpisodeCategory::ALL {
            assert_eq!(EpisodeCategory::parse(c.as_str()), Some(*c));
        }
    }
}
