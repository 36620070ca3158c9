//! Authorisation as one pure policy (security guide AC-01..AC-08).
//!
//! [`decide`] answers (actor, action, resource) → allow/deny with a reason; [`scope`] gives the
//! filter that every list, search, count and export applies inside its SQL, so a list can never
//! hold a row its viewer could not open. Both read the same rules, so they cannot disagree.
//!
//! Access to a child's record needs a legitimate relationship: the viewer's organisation is
//! involved with the child (raised a concern, holds the case, received a referral, owns a plan
//! action, is listed for a MACE item) or the viewer is allocated. Otherwise only an active,
//! audited break-glass grant opens it. Sensitivity markings narrow access further.

use crate::person::text_enum;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

text_enum!(
    /// The kind of agency an organisation is.
    OrgType {
        School => "school", "School or college";
        ChildrensSocialCare => "childrens_social_care", "Children's social care";
        Police => "police", "Police";
        Health => "health", "Health";
        SpecialistService => "specialist_service", "Specialist exploitation service";
        VoluntarySector => "voluntary_sector", "Voluntary sector";
        LocalAuthority => "local_authority", "Local authority";
        Partnership => "partnership", "Safeguarding partnership";
    }
);

text_enum!(
    Role {
        Practitioner => "practitioner", "Practitioner";
        DesignatedSafeguardingLead => "designated_safeguarding_lead", "Designated safeguarding lead";
        SocialWorker => "social_worker", "Social worker";
        TeamManager => "team_manager", "Team manager";
        ExploitationWorker => "exploitation_worker", "Exploitation service worker";
        PoliceIntelligenceOfficer => "police_intelligence_officer", "Police intelligence officer";
        Analyst => "analyst", "Analyst";
        MaceChair => "mace_chair", "MACE chair";
        PartnershipManager => "partnership_manager", "Partnership manager";
        PrivacyOfficer => "privacy_officer", "Privacy officer";
        PartnershipAdmin => "partnership_admin", "Partnership administrator";
        SystemAdmin => "system_admin", "System administrator";
    }
);

text_enum!(
    /// Markings that narrow who may see a record or entry.
    Marking {
        PoliceOnly => "police_only", "Police only";
        StaffInvolved => "staff_involved", "Restricted: a staff member is involved";
    }
);

impl Role {
    /// Roles that open children's records (with a relationship). Everyone else is report-only or
    /// works on aggregates, audit or administration.
    pub fn reads_case_data(self) -> bool {
        matches!(
            self,
            Role::DesignatedSafeguardingLead
                | Role::SocialWorker
                | Role::TeamManager
                | Role::ExploitationWorker
                | Role::PoliceIntelligenceOfficer
                | Role::MaceChair
        )
    }

    /// Roles that must enrol a second factor (AUTH-05: every staff account).
    pub fn needs_mfa(self) -> bool {
        true
    }
}

/// Who is asking. Built by the web layer from the session; the policy trusts nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub org_type: OrgType,
    pub roles: Vec<Role>,
    /// When this session last passed the second factor.
    pub mfa_at: Option<OffsetDateTime>,
    pub now: OffsetDateTime,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    pub fn reads_case_data(&self) -> bool {
        self.roles.iter().any(|r| r.reads_case_data())
    }

    pub fn is_police(&self) -> bool {
        self.org_type == OrgType::Police
    }

    /// Step-up: the second factor was passed within the last five minutes (SESS-06).
    pub fn recently_stepped_up(&self) -> bool {
        self.mfa_at.is_some_and(|t| self.now - t <= STEP_UP_WINDOW)
    }
}

pub const STEP_UP_WINDOW: Duration = Duration::minutes(5);
/// How long a break-glass grant lasts.
pub const BREAK_GLASS_WINDOW: Duration = Duration::minutes(30);

/// What the store knows about one child's record, as seen by one actor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFacts {
    /// The viewer's organisation is involved with the child.
    pub org_involved: bool,
    /// The viewer is allocated to the child (or owns an action on the child's plan).
    pub user_allocated: bool,
    /// The viewer holds an unexpired break-glass grant for this record.
    pub break_glass_active: bool,
    /// The viewer's organisation leads the record.
    pub org_is_lead: bool,
    pub markings: Vec<Marking>,
    /// Users named as cleared for a `StaffInvolved` record.
    pub viewer_cleared_for_restricted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open a child's record and chronology.
    ViewRecord,
    /// Change a child's record or add entries to it.
    EditRecord,
    /// Create a person record (after search before create).
    CreatePerson,
    /// Raise a concern about a child (any professional, report-only included).
    RaiseConcern,
    /// Open a record without a relationship, with a reason, audited and alerted.
    BreakGlass,
    /// See who has seen a record (the record's lead).
    ViewRecordAccessLog,
    /// Review break-glass events and unusual access.
    ViewPrivacyQueue,
    /// Verify and read the whole audit log.
    ReadAuditLog,
    ManageOrganisations,
    ManageUsers,
    /// Create and revoke one's own API tokens.
    ManageOwnTokens,
    /// Service operation: backups, configuration, health. No case data.
    OperateService,
    /// Change the partnership's risk assessment framework (a new version each time).
    ManageFramework,
    /// Sign off a child's risk assessment: a team manager who may change the record.
    SignOffAssessment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Allowed,
    AllowedByRelationship,
    AllowedByAllocation,
    AllowedByBreakGlass,
    AllowedByRole,
    RoleCannotReadCaseData,
    NoRelationship,
    MarkedPoliceOnly,
    MarkedStaffInvolved,
    StepUpRequired,
    NotPermittedForRole,
    RecordRequired,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Allowed => "allowed",
            Reason::AllowedByRelationship => "allowed_by_relationship",
            Reason::AllowedByAllocation => "allowed_by_allocation",
            Reason::AllowedByBreakGlass => "allowed_by_break_glass",
            Reason::AllowedByRole => "allowed_by_role",
            Reason::RoleCannotReadCaseData => "role_cannot_read_case_data",
            Reason::NoRelationship => "no_relationship",
            Reason::MarkedPoliceOnly => "marked_police_only",
            Reason::MarkedStaffInvolved => "marked_staff_involved",
            Reason::StepUpRequired => "step_up_required",
            Reason::NotPermittedForRole => "not_permitted_for_role",
            Reason::RecordRequired => "record_required",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allow: bool,
    pub reason: Reason,
}

impl Decision {
    const fn allow(reason: Reason) -> Self {
        Self {
            allow: true,
            reason,
        }
    }
    const fn deny(reason: Reason) -> Self {
        Self {
            allow: false,
            reason,
        }
    }
}

/// The one decision function. `record` is `Some` for actions on a child's record.
pub fn decide(actor: &Actor, action: Action, record: Option<&RecordFacts>) -> Decision {
    use Action::*;
    match action {
        RaiseConcern => {
            if actor.any(&[
                Role::SystemAdmin,
                Role::PartnershipAdmin,
                Role::PrivacyOfficer,
                Role::Analyst,
            ]) && !actor.reads_case_data()
                && !actor.has(Role::Practitioner)
            {
                Decision::deny(Reason::NotPermittedForRole)
            } else {
                Decision::allow(Reason::AllowedByRole)
            }
        }
        CreatePerson => role_gate(actor.reads_case_data() || actor.has(Role::Practitioner)),
        ViewRecord | EditRecord => match record {
            None => Decision::deny(Reason::RecordRequired),
            Some(facts) => record_access(actor, facts),
        },
        BreakGlass => {
            if !actor.reads_case_data() {
                Decision::deny(Reason::RoleCannotReadCaseData)
            } else if !actor.recently_stepped_up() {
                Decision::deny(Reason::StepUpRequired)
            } else {
                Decision::allow(Reason::AllowedByRole)
            }
        }
        ViewRecordAccessLog => match record {
            None => Decision::deny(Reason::RecordRequired),
            Some(f) if f.org_is_lead && actor.reads_case_data() => {
                Decision::allow(Reason::AllowedByRelationship)
            }
            Some(_) if actor.has(Role::PrivacyOfficer) => Decision::allow(Reason::AllowedByRole),
            Some(_) => Decision::deny(Reason::NotPermittedForRole),
        },
        ViewPrivacyQueue | ReadAuditLog => role_gate(actor.has(Role::PrivacyOfficer)),
        ManageOrganisations | ManageUsers => role_gate(actor.has(Role::PartnershipAdmin)),
        ManageOwnTokens => Decision::allow(Reason::Allowed),
        OperateService => role_gate(actor.has(Role::SystemAdmin)),
        ManageFramework => role_gate(actor.has(Role::PartnershipManager)),
        SignOffAssessment => match record {
            None => Decision::deny(Reason::RecordRequired),
            Some(f) if actor.has(Role::TeamManager) => record_access(actor, f),
            Some(_) => Decision::deny(Reason::NotPermittedForRole),
        },
    }
}

fn role_gate(ok: bool) -> Decision {
    if ok {
        Decision::allow(Reason::AllowedByRole)
    } else {
        Decision::deny(Reason::NotPermittedForRole)
    }
}

fn record_access(actor: &Actor, f: &RecordFacts) -> Decision {
    if !actor.reads_case_data() {
        return Decision::deny(Reason::RoleCannotReadCaseData);
    }
    // Markings narrow every route in, break-glass included.
    if f.markings.contains(&Marking::PoliceOnly) && !actor.is_police() {
        return Decision::deny(Reason::MarkedPoliceOnly);
    }
    if f.markings.contains(&Marking::StaffInvolved) && !f.viewer_cleared_for_restricted {
        return Decision::deny(Reason::MarkedStaffInvolved);
    }
    if f.user_allocated {
        Decision::allow(Reason::AllowedByAllocation)
    } else if f.org_involved {
        Decision::allow(Reason::AllowedByRelationship)
    } else if f.break_glass_active {
        Decision::allow(Reason::AllowedByBreakGlass)
    } else {
        Decision::deny(Reason::NoRelationship)
    }
}

/// The filter a list or search applies in SQL: which records may appear at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The viewer may list no children's records.
    Nothing,
    /// Records the viewer's organisation is involved with, the viewer is allocated to, or holds an
    /// active break-glass grant for, minus the markings the viewer may not see.
    Related {
        org_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
        /// Police-only records are visible (the viewer is police).
        police: bool,
    },
}

pub fn scope(actor: &Actor) -> Scope {
    if actor.reads_case_data() {
        Scope::Related {
            org_id: actor.org_id,
            user_id: actor.user_id,
            now: actor.now,
            police: actor.is_police(),
        }
    } else {
        Scope::Nothing
    }
}

/// The same rule as [`Scope`], over facts: the oracle the SQL filter is tested against.
pub fn scope_admits(scope: &Scope, f: &RecordFacts) -> bool {
    match scope {
        Scope::Nothing => false,
        Scope::Related { police, .. } => {
            (f.org_involved || f.user_allocated || f.break_glass_active)
                && (*police || !f.markings.contains(&Marking::PoliceOnly))
                && (f.viewer_cleared_for_restricted
                    || !f.markings.contains(&Marking::StaffInvolved))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn actor(role: Role, org_type: OrgType) -> Actor {
        let now = datetime!(2026-01-05 09:00 UTC);
        Actor {
            user_id: Uuid::from_u128(1),
            org_id: Uuid::from_u128(2),
            org_type,
            roles: vec![role],
            mfa_at: Some(now - Duration::minutes(1)),
            now,
        }
    }

    fn org_for(role: Role) -> OrgType {
        match role {
            Role::PoliceIntelligenceOfficer | Role::Analyst => OrgType::Police,
            Role::SocialWorker | Role::TeamManager => OrgType::ChildrensSocialCare,
            Role::ExploitationWorker => OrgType::SpecialistService,
            Role::DesignatedSafeguardingLead | Role::Practitioner => OrgType::School,
            _ => OrgType::Partnership,
        }
    }

    /// Every relationship and marking combination.
    fn all_facts() -> Vec<RecordFacts> {
        let mut out = Vec::new();
        for bits in 0u8..64 {
            let mut markings = Vec::new();
            if bits & 8 != 0 {
                markings.push(Marking::PoliceOnly);
            }
            if bits & 16 != 0 {
                markings.push(Marking::StaffInvolved);
            }
            out.push(RecordFacts {
                org_involved: bits & 1 != 0,
                user_allocated: bits & 2 != 0,
                break_glass_active: bits & 4 != 0,
                org_is_lead: bits & 1 != 0,
                markings,
                viewer_cleared_for_restricted: bits & 32 != 0,
            });
        }
        out
    }

    /// The access matrix: every role × record action × relationship × marking, against the
    /// written rule; and the SQL scope oracle agrees with `decide` for viewing.
    #[test]
    fn record_access_matrix() {
        for role in Role::ALL {
            let a = actor(*role, org_for(*role));
            for f in all_facts() {
                for action in [Action::ViewRecord, Action::EditRecord] {
                    let d = decide(&a, action, Some(&f));
                    let related = f.org_involved || f.user_allocated || f.break_glass_active;
                    let marking_ok = (!f.markings.contains(&Marking::PoliceOnly) || a.is_police())
                        && (!f.markings.contains(&Marking::StaffInvolved)
                            || f.viewer_cleared_for_restricted);
                    let expected = role.reads_case_data() && related && marking_ok;
                    assert_eq!(d.allow, expected, "{role:?} {action:?} {f:?} → {d:?}");
                }
                assert_eq!(
                    scope_admits(&scope(&a), &f),
                    decide(&a, Action::ViewRecord, Some(&f)).allow,
                    "scope and decide disagree for {role:?} on {f:?}"
                );
            }
        }
    }

    #[test]
    fn administrators_see_no_case_data() {
        for role in [
            Role::SystemAdmin,
            Role::PartnershipAdmin,
            Role::PrivacyOfficer,
            Role::Analyst,
            Role::PartnershipManager,
        ] {
            let a = actor(role, OrgType::Partnership);
            let f = RecordFacts {
                org_involved: true,
                user_allocated: true,
                ..RecordFacts::default()
            };
            assert!(!decide(&a, Action::ViewRecord, Some(&f)).allow, "{role:?}");
            assert_eq!(scope(&a), Scope::Nothing);
        }
    }

    #[test]
    fn break_glass_needs_case_role_and_step_up() {
        let mut a = actor(Role::SocialWorker, OrgType::ChildrensSocialCare);
        assert!(decide(&a, Action::BreakGlass, None).allow);
        a.mfa_at = Some(a.now - Duration::minutes(6));
        assert_eq!(
            decide(&a, Action::BreakGlass, None).reason,
            Reason::StepUpRequired
        );
        let t = actor(Role::Practitioner, OrgType::School);
        assert_eq!(
            decide(&t, Action::BreakGlass, None).reason,
            Reason::RoleCannotReadCaseData
        );
    }

    #[test]
    fn administration_roles() {
        let admin = actor(Role::PartnershipAdmin, OrgType::Partnership);
        assert!(decide(&admin, Action::ManageUsers, None).allow);
        assert!(!decide(&admin, Action::ReadAuditLog, None).allow);
        let sys = actor(Role::SystemAdmin, OrgType::LocalAuthority);
        assert!(decide(&sys, Action::OperateService, None).allow);
        assert!(!decide(&sys, Action::ManageUsers, None).allow);
        let privacy = actor(Role::PrivacyOfficer, OrgType::Partnership);
        assert!(decide(&privacy, Action::ViewPrivacyQueue, None).allow);
        let manager = actor(Role::PartnershipManager, OrgType::Partnership);
        assert!(decide(&manager, Action::ManageFramework, None).allow);
        assert!(!decide(&privacy, Action::ManageFramework, None).allow);
        let involved = RecordFacts {
            org_involved: true,
            ..RecordFacts::default()
        };
        let tm = actor(Role::TeamManager, OrgType::ChildrensSocialCare);
        let sw = actor(Role::SocialWorker, OrgType::ChildrensSocialCare);
        assert!(decide(&tm, Action::SignOffAssessment, Some(&involved)).allow);
        assert!(
            !decide(
                &tm,
                Action::SignOffAssessment,
                Some(&RecordFacts::default())
            )
            .allow
        );
        assert_eq!(
            decide(&sw, Action::SignOffAssessment, Some(&involved)).reason,
            Reason::NotPermittedForRole
        );
        let teacher = actor(Role::Practitioner, OrgType::School);
        assert!(decide(&teacher, Action::RaiseConcern, None).allow);
        assert!(!decide(&teacher, Action::ViewPrivacyQueue, None).allow);
    }
}
