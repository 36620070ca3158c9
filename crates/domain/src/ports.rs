//! Ports: the repository traits the domain needs from storage. The store's transaction type is
//! the only production implementer; each method runs inside the caller's transaction, so a
//! change and its audit event commit together.
//!
//! List and search methods take the viewer's scope (from the authorisation policy) and apply
//! it inside the query, so a row the viewer may not open is never fetched.

use crate::error::Result;
use crate::person::Person;
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

/// Instance-wide key/value settings (schema facts, demo marker). No personal data.
pub trait MetaRepo: Send {
    fn get_meta(&mut self, key: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    fn set_meta(
        &mut self,
        key: &str,
        value: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
}

pub trait PersonRepo: Send {
    fn insert_person(&mut self, person: &Person) -> impl Future<Output = Result<()>> + Send;
    fn get_person(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Person>>> + Send;
    fn count_people(&mut self) -> impl Future<Output = Result<i64>> + Send;
    fn insert_identifier(
        &mut self,
        i: &crate::identifiers::PersonIdentifier,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A person's other names and identifiers, oldest first.
    fn identifiers(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<crate::identifiers::PersonIdentifier>>> + Send;
    /// The blocking step of search before create: children whose folded family name starts with
    /// `family_initial`, or given name with `given_initial`, or born on one of `dates`; at most
    /// `limit`. Empty initials match nothing. Not scoped: the caller shows only what is needed to
    /// recognise a child and audits the search.
    fn match_pool(
        &mut self,
        family_initial: &str,
        given_initial: &str,
        dates: &[time::Date],
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Person>>> + Send;
}

use crate::audit::{ChainKey, Event, Head, NewEvent};
use crate::identity::model::{ApiToken, Email, Organisation, Session, Team, User};

/// Organisations, teams, users and their recovery codes.
pub trait IdentityRepo: Send {
    fn insert_org(&mut self, org: &Organisation) -> impl Future<Output = Result<()>> + Send;
    fn get_org(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Organisation>>> + Send;
    fn list_orgs(&mut self) -> impl Future<Output = Result<Vec<Organisation>>> + Send;
    fn insert_team(&mut self, team: &Team) -> impl Future<Output = Result<()>> + Send;
    fn list_teams(&mut self, org_id: Uuid) -> impl Future<Output = Result<Vec<Team>>> + Send;
    fn insert_user(&mut self, user: &User) -> impl Future<Output = Result<()>> + Send;
    /// Replace every mutable field of the user (status, roles, password, second factor…).
    fn update_user(&mut self, user: &User) -> impl Future<Output = Result<()>> + Send;
    fn get_user(&mut self, id: Uuid) -> impl Future<Output = Result<Option<User>>> + Send;
    fn find_user_by_email(
        &mut self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<User>>> + Send;
    /// Users of one organisation, or of all when `org_id` is `None`, ordered by name.
    fn list_users(
        &mut self,
        org_id: Option<Uuid>,
    ) -> impl Future<Output = Result<Vec<User>>> + Send;
    fn count_users(&mut self) -> impl Future<Output = Result<i64>> + Send;
    /// Replace the user's recovery codes with these hashes.
    fn set_recovery_codes(
        &mut self,
        user_id: Uuid,
        code_hashes: &[String],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Mark an unused code as used; `false` when no unused code has that hash.
    fn use_recovery_code(
        &mut self,
        user_id: Uuid,
        code_hash: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// Sessions and API tokens. Only hashes of tokens are stored.
pub trait SessionRepo: Send {
    fn insert_session(&mut self, s: &Session) -> impl Future<Output = Result<()>> + Send;
    fn find_session(
        &mut self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<Session>>> + Send;
    /// Store the session's stage, user, last-seen, MFA time and revocation.
    fn update_session(&mut self, s: &Session) -> impl Future<Output = Result<()>> + Send;
    /// Revoke every live session of the user except `keep`; returns how many.
    fn revoke_user_sessions(
        &mut self,
        user_id: Uuid,
        at: OffsetDateTime,
        keep: Option<Uuid>,
    ) -> impl Future<Output = Result<u64>> + Send;
    fn insert_api_token(&mut self, t: &ApiToken) -> impl Future<Output = Result<()>> + Send;
    fn find_api_token(
        &mut self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<ApiToken>>> + Send;
    fn list_api_tokens(
        &mut self,
        user_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ApiToken>>> + Send;
    /// Revoke one of the user's tokens; `false` if the user has no such live token.
    fn revoke_api_token(
        &mut self,
        user_id: Uuid,
        token_id: Uuid,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn touch_api_token(
        &mut self,
        token_id: Uuid,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Sign-in throttling by key (a hash of the account, of the address, or of both).
pub trait ThrottleRepo: Send {
    /// Record a failure at `at`; returns the failures for `key` since `since` (this one included).
    fn record_failure(
        &mut self,
        key: &str,
        at: OffsetDateTime,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// Failures for `key` since `since`, and the time of the latest.
    fn failures_since(
        &mut self,
        key: &str,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<(i64, Option<OffsetDateTime>)>> + Send;
    fn clear_failures(&mut self, key: &str) -> impl Future<Output = Result<()>> + Send;
}

/// The append-only, hash-chained audit log. `append` links the event after the current head
/// inside the caller's transaction (serialised: SQLite's single writer, PostgreSQL's
/// `audit_head` row lock), so a change and its event commit together or not at all.
pub trait AuditLog: Send {
    fn append(
        &mut self,
        key: &ChainKey,
        id: Uuid,
        event: &NewEvent,
    ) -> impl Future<Output = Result<Event>> + Send;
    /// Events with `seq > after`, in order, at most `limit`.
    fn audit_page(
        &mut self,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Event>>> + Send;
    fn audit_head(&mut self) -> impl Future<Output = Result<Option<Head>>> + Send;
    /// The newest events about one record (for "who has seen this record"), newest first.
    fn audit_for_target(
        &mut self,
        target_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Event>>> + Send;
    /// The newest events of these categories, newest first (the privacy officer's queue).
    fn audit_by_category(
        &mut self,
        categories: &[crate::audit::Category],
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Event>>> + Send;
}

use crate::authz::{RecordFacts, Scope};
use crate::cases::{BreakGlassGrant, ChronologyEntry, Concern, ConcernRow, Involvement};

/// Children's records: involvement (the legitimate relationship), break-glass grants, concerns
/// and the chronology. Lists take the viewer's [`Scope`] and apply it in SQL.
pub trait CaseRepo: Send {
    /// Add an involvement; an existing (person, organisation, reason) is left as it is.
    fn insert_involvement(&mut self, i: &Involvement) -> impl Future<Output = Result<()>> + Send;
    fn lead_org(&mut self, person_id: Uuid) -> impl Future<Output = Result<Option<Uuid>>> + Send;
    fn involvements(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Involvement>>> + Send;
    /// What the policy needs to decide on one record for one viewer.
    fn record_facts(
        &mut self,
        person_id: Uuid,
        user_id: Uuid,
        org_id: Uuid,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<RecordFacts>> + Send;
    /// Children inside `scope` whose folded given or family name starts with `name_prefix`
    /// (all of them when it is empty), by family name.
    fn list_children(
        &mut self,
        scope: &Scope,
        name_prefix: &str,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Person>>> + Send;
    /// Allocate a worker to a child (idempotent).
    fn allocate(
        &mut self,
        person_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Mark a record (idempotent).
    fn set_marking(
        &mut self,
        person_id: Uuid,
        marking: crate::authz::Marking,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Clear a user to see a record marked "staff involved" (idempotent).
    fn clear_for_restricted(
        &mut self,
        person_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    fn insert_break_glass(
        &mut self,
        g: &BreakGlassGrant,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Break-glass grants since `since` on records `org_id` leads, newest first.
    fn break_glass_on_led_records(
        &mut self,
        org_id: Uuid,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<BreakGlassGrant>>> + Send;
    fn insert_concern(&mut self, c: &Concern) -> impl Future<Output = Result<()>> + Send;
    /// Store the triage fields and status.
    fn update_concern(&mut self, c: &Concern) -> impl Future<Output = Result<()>> + Send;
    fn get_concern(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Concern>>> + Send;
    /// Every concern about the person, newest first (one query).
    fn concerns_of(&mut self, person_id: Uuid)
    -> impl Future<Output = Result<Vec<Concern>>> + Send;
    /// Submitted concerns raised by `org_id` or sent to it as the front door, oldest first.
    fn concerns_for_triage(
        &mut self,
        org_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ConcernRow>>> + Send;
    fn concerns_raised_by(
        &mut self,
        user_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ConcernRow>>> + Send;
    fn insert_chronology(&mut self, e: &ChronologyEntry)
    -> impl Future<Output = Result<()>> + Send;
    /// Every concern raised together in one group (one per child), oldest first.
    fn concerns_in_group(
        &mut self,
        group_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Concern>>> + Send;
    /// Insert or replace the author's draft for the child.
    fn save_draft(
        &mut self,
        d: &crate::drafts::ConcernDraft,
    ) -> impl Future<Output = Result<()>> + Send;
    fn get_draft(
        &mut self,
        user_id: Uuid,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Option<crate::drafts::ConcernDraft>>> + Send;
    /// Remove the author's draft for the child (nothing if there is none).
    fn delete_draft(
        &mut self,
        user_id: Uuid,
        person_id: Uuid,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Full-text search for `terms` (all must occur, English stemming): concerns about children
    /// inside `scope` or raised by `user_id`, then chronology entries (not concerns) of children
    /// inside `scope` whose marking the viewer passes; best first, at most `limit` of each.
    fn search_text(
        &mut self,
        scope: &Scope,
        user_id: Uuid,
        terms: &[String],
        limit: i64,
    ) -> impl Future<Output = Result<Vec<crate::search::SearchHit>>> + Send;
    /// A child's chronology, by event time (oldest first).
    fn list_chronology(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ChronologyEntry>>> + Send;
}

/// Duplicate records: the people the linkage engine reviews, merges and their undoing.
pub trait MergeRepo: Send {
    /// Every child's record that has not been merged into another.
    fn linkage_people(&mut self) -> impl Future<Output = Result<Vec<Person>>> + Send;
    /// The record a merged record now lives in.
    fn merged_into(&mut self, person_id: Uuid)
    -> impl Future<Output = Result<Option<Uuid>>> + Send;
    /// Pairs found to be different children, each as (smaller id, larger id).
    fn not_duplicates(&mut self) -> impl Future<Output = Result<Vec<(Uuid, Uuid)>>> + Send;
    fn insert_not_duplicate(
        &mut self,
        a: Uuid,
        b: Uuid,
        by: Uuid,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Merge: mark the duplicate, move its concerns and chronology, copy its involvements,
    /// allocations, markings and clearances, all tagged with the merge's id.
    fn merge_people(
        &mut self,
        m: &crate::dedupe::PersonMerge,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Undo a merge: exactly the rows it moved or copied go back.
    fn unmerge_people(
        &mut self,
        m: &crate::dedupe::PersonMerge,
    ) -> impl Future<Output = Result<()>> + Send;
    fn get_merge(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<crate::dedupe::PersonMerge>>> + Send;
    /// Merges into `survivor_id`, newest first (undone ones included).
    fn merges_into(
        &mut self,
        survivor_id: Uuid,
    ) -> impl Future<Output = Result<Vec<crate::dedupe::PersonMerge>>> + Send;
}

use crate::profile::{Address, Relationship, SchoolRecord};

/// A person's addresses, schools and relationships, and the look-ups search before create makes
/// with them.
pub trait ProfileRepo: Send {
    fn insert_address(&mut self, a: &Address) -> impl Future<Output = Result<()>> + Send;
    /// Mark the person's current addresses as previous ones, moved out on `on`.
    fn end_current_addresses(
        &mut self,
        person_id: Uuid,
        on: time::Date,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Current first, then newest first.
    fn addresses(&mut self, person_id: Uuid) -> impl Future<Output = Result<Vec<Address>>> + Send;
    /// The postcode shown on the record and used by lists and matching.
    fn set_person_postcode(
        &mut self,
        person_id: Uuid,
        postcode: Option<&crate::postcode::Postcode>,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    fn insert_school(&mut self, s: &SchoolRecord) -> impl Future<Output = Result<()>> + Send;
    /// End the child's current school, left on `on`.
    fn end_current_school(
        &mut self,
        person_id: Uuid,
        on: time::Date,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Current first, then newest first.
    fn schools(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<SchoolRecord>>> + Send;
    fn insert_relationship(&mut self, r: &Relationship) -> impl Future<Output = Result<()>> + Send;
    /// Relationships at either end of the person, oldest first, each with the other person.
    fn relationships(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<(Relationship, Person)>>> + Send;
    /// Search before create for adults of `kind`: blocked like [`PersonRepo::match_pool`], and
    /// only adults linked to a child inside `scope` (the scope applied in SQL).
    fn adult_match_pool(
        &mut self,
        scope: &Scope,
        kind: crate::person::PersonKind,
        family_initial: &str,
        given_initial: &str,
        dates: &[time::Date],
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Person>>> + Send;
    /// Unmerged children whose postcode is `postcode` now (`true`) or who have an earlier
    /// address there (`false`).
    fn children_at_postcode(
        &mut self,
        postcode: &crate::postcode::Postcode,
    ) -> impl Future<Output = Result<Vec<(Person, bool)>>> + Send;
    /// Unmerged children carrying this identifier (kind and canonical value).
    fn children_with_identifier(
        &mut self,
        kind: crate::identifiers::IdentifierKind,
        value: &str,
    ) -> impl Future<Output = Result<Vec<Person>>> + Send;
}

use crate::assessment::{Assessment, AssessmentLine, Framework};

/// Risk assessment frameworks (versioned) and assessments.
pub trait AssessmentRepo: Send {
    /// The newest version, with its indicators.
    fn latest_framework(&mut self) -> impl Future<Output = Result<Option<Framework>>> + Send;
    fn get_framework(&mut self, id: Uuid)
    -> impl Future<Output = Result<Option<Framework>>> + Send;
    /// Every version, newest first, each with its indicators.
    fn list_frameworks(&mut self) -> impl Future<Output = Result<Vec<Framework>>> + Send;
    fn insert_framework(&mut self, f: &Framework) -> impl Future<Output = Result<()>> + Send;
    /// The assessment with its answers.
    fn insert_assessment(&mut self, a: &Assessment) -> impl Future<Output = Result<()>> + Send;
    /// Store the status, sign-off and review date.
    fn update_assessment(&mut self, a: &Assessment) -> impl Future<Output = Result<()>> + Send;
    fn get_assessment(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Assessment>>> + Send;
    /// A child's assessments with their answers, oldest first.
    fn assessments_for(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Assessment>>> + Send;
    /// Each child's newest signed-off assessment whose review is due by `by`, for children inside
    /// `scope` (applied in SQL), soonest first; answers are not loaded.
    fn reviews_due(
        &mut self,
        scope: &Scope,
        by: time::Date,
    ) -> impl Future<Output = Result<Vec<AssessmentLine>>> + Send;
    /// Assessments awaiting sign-off for children inside `scope`, oldest first; answers are not
    /// loaded.
    fn awaiting_sign_off(
        &mut self,
        scope: &Scope,
    ) -> impl Future<Output = Result<Vec<AssessmentLine>>> + Send;
    /// The viewer's caseload: children inside `scope` allocated to the viewer or led by the
    /// viewer's organisation, by name.
    fn caseload(&mut self, scope: &Scope) -> impl Future<Output = Result<Vec<Person>>> + Send;
}

use crate::plans::{Plan, PlanAction, PlanMeeting, PlanReview};

/// Risk management plans: the plan, its actions, meetings and reviews, and the work lists
/// ("my actions", reviews due) with the viewer's scope applied in SQL.
pub trait PlanRepo: Send {
    fn insert_plan(&mut self, p: &Plan) -> impl Future<Output = Result<()>> + Send;
    /// Store the review date, risk level, assessment link and closure.
    fn update_plan(&mut self, p: &Plan) -> impl Future<Output = Result<()>> + Send;
    fn get_plan(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Plan>>> + Send;
    /// A child's plans, newest first.
    fn plans_for(&mut self, person_id: Uuid) -> impl Future<Output = Result<Vec<Plan>>> + Send;
    fn insert_plan_action(&mut self, a: &PlanAction) -> impl Future<Output = Result<()>> + Send;
    /// Store the status, outcome and times.
    fn update_plan_action(&mut self, a: &PlanAction) -> impl Future<Output = Result<()>> + Send;
    fn get_plan_action(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<PlanAction>>> + Send;
    /// A plan's actions, oldest first.
    fn plan_actions(
        &mut self,
        plan_id: Uuid,
    ) -> impl Future<Output = Result<Vec<PlanAction>>> + Send;
    fn insert_plan_meeting(&mut self, m: &PlanMeeting) -> impl Future<Output = Result<()>> + Send;
    /// A plan's meetings, oldest first.
    fn plan_meetings(
        &mut self,
        plan_id: Uuid,
    ) -> impl Future<Output = Result<Vec<PlanMeeting>>> + Send;
    fn insert_plan_review(&mut self, r: &PlanReview) -> impl Future<Output = Result<()>> + Send;
    /// A plan's reviews, oldest first.
    fn plan_reviews(
        &mut self,
        plan_id: Uuid,
    ) -> impl Future<Output = Result<Vec<PlanReview>>> + Send;
    /// Actions owned by `user_id`, or by `org_id` with no named person, on unmerged children
    /// inside `scope`, each with the child: open ones first by due date, then the rest, newest
    /// first; at most `limit`.
    fn actions_for_owner(
        &mut self,
        scope: &Scope,
        user_id: Uuid,
        org_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(PlanAction, Person)>>> + Send;
    /// Open plans of unmerged children inside `scope` whose next review is on or before `by`,
    /// soonest first, each with the child; at most `limit`.
    fn plans_due_for_review(
        &mut self,
        scope: &Scope,
        by: time::Date,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(Plan, Person)>>> + Send;
}

/// A team's work lists (`teams::team_work`): children allocated to any member of the team, and
/// what hangs off them, each query also filtered by the viewer's scope.
pub trait TeamRepo: Send {
    /// Children with an open allocation to a member of `team_id`, inside `scope`: one row per
    /// allocation, with the member's user id, ordered by the child's name.
    fn team_caseload(
        &mut self,
        scope: &Scope,
        team_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(Person, Uuid)>>> + Send;
    /// Open actions on open plans named to a member of `team_id`, of children inside `scope`,
    /// soonest due first.
    fn team_actions(
        &mut self,
        scope: &Scope,
        team_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(PlanAction, Person)>>> + Send;
    /// Each team child's newest signed-off assessment whose review is due by `by`, inside `scope`.
    fn team_reviews_due(
        &mut self,
        scope: &Scope,
        team_id: Uuid,
        by: time::Date,
    ) -> impl Future<Output = Result<Vec<AssessmentLine>>> + Send;
    /// Submitted assessments of team children, inside `scope`, oldest first.
    fn team_awaiting_sign_off(
        &mut self,
        scope: &Scope,
        team_id: Uuid,
    ) -> impl Future<Output = Result<Vec<AssessmentLine>>> + Send;
}

// Each of these traits lives beside its module's domain code and is re-exported here, so the
// ports stay one place to look.
pub use crate::hotspots::HotspotRepo;
pub use crate::intelligence::IntelligenceRepo;
pub use crate::missing::MissingRepo;
pub use crate::networks::NetworkRepo;
pub use crate::nrm::NrmRepo;
pub use crate::programmes::ProgrammeRepo;
pub use crate::referrals::ReferralRepo;
