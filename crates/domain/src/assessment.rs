//! The exploitation risk and vulnerabilities assessment (issue 5): a versioned indicator
//! framework, assessments made against one version, a suggested level worked out by a rule shown
//! on screen, the assessor's professional judgement (with a rationale where it differs), a
//! manager's sign-off, and a review date set by the level.
//!
//! Practice facts (shared/guide/domain.md §1): indicators are marked present, not present or not
//! known, with evidence, source and date, "not a tick box exercise" (SERAF, Barnardo's 2007;
//! Southampton supplement); significant indicators weigh more than moderate ones and
//! vulnerabilities (SERAF scores significant 5, moderate and vulnerabilities 1; the West Midlands
//! screening tool lists significant indicators apart); a disclosure is automatically High; no child
//! under 13 and no child with a learning disability is rated Low when indicators are present
//! (Croydon 2016, Herefordshire 2017); levels follow the Essex "Risk in the Community" guide
//! (High: exploitation known; Medium: suspected; Low: vulnerable, no exploitation known); reviews
//! at least every three months (SERAF, CERAF), sooner at higher levels. Scores advise, they never
//! decide: the level that counts is the professional's.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor};
use crate::cases::event;
use crate::error::{Error, FieldError, Result};
use crate::person::text_enum;
use crate::ports::{AssessmentRepo, AuditLog, CaseRepo, PersonRepo};
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

text_enum!(
    /// How much an indicator weighs in the suggested level.
    Weight {
        Actual => "actual", "Exploitation is happening (sets High)";
        Significant => "significant", "Significant indicator (3 points)";
        Moderate => "moderate", "Moderate indicator (1 point)";
        Vulnerability => "vulnerability", "Vulnerability (no points)";
    }
);

text_enum!(
    /// The level of risk.
    RiskLevel {
        None => "none", "No current indicators";
        Low => "low", "Low: vulnerable, no exploitation known";
        Medium => "medium", "Medium: exploitation suspected";
        High => "high", "High: exploitation known";
    }
);

impl RiskLevel {
    fn rank(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
        }
    }

    /// A short name ("High").
    pub fn short(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
        }
    }
}

text_enum!(
    Presence {
        Present => "present", "Present";
        NotPresent => "not_present", "Not present";
        NotKnown => "not_known", "Not known";
    }
);

text_enum!(
    AssessmentStatus {
        Submitted => "submitted", "Awaiting sign-off";
        SignedOff => "signed_off", "Signed off";
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Indicator {
    /// Stable within a framework's versions (lower case letters, digits and underscores).
    pub code: String,
    pub category: String,
    pub label: String,
    pub weight: Weight,
}

/// One version of the partnership's framework: its indicators, the points at which the suggested
/// level becomes Medium and High, and the days to the next review at each level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Framework {
    pub id: Uuid,
    pub version: i32,
    pub name: String,
    pub high_at: i32,
    pub medium_at: i32,
    /// Days to the review for High, Medium, Low and None.
    pub review_days: [i32; 4],
    /// What changed from the version before.
    pub change_note: String,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub indicators: Vec<Indicator>,
}

impl Framework {
    pub fn review_after(&self, level: RiskLevel) -> Duration {
        let days = match level {
            RiskLevel::High => self.review_days[0],
            RiskLevel::Medium => self.review_days[1],
            RiskLevel::Low => self.review_days[2],
            RiskLevel::None => self.review_days[3],
        };
        Duration::days(i64::from(days))
    }

    /// Categories in the order they first appear.
    pub fn categories(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for i in &self.indicators {
            if !out.contains(&i.category.as_str()) {
                out.push(&i.category);
            }
        }
        out
    }
}

/// The default framework, version 1: categories the issue names, indicators drawn from SERAF,
/// the West Midlands screening tool, CERAF and BASHH "Spotting the signs" (see the module note).
const DEFAULT_INDICATORS: &[(&str, &str, &str, Weight)] = &[
    (
        "missing_repeat",
        "Missing episodes",
        "Goes missing from home or care, or is absent, more than once",
        Weight::Significant,
    ),
    (
        "missing_unexplained",
        "Missing episodes",
        "Comes back from missing episodes with injuries, items or money that cannot be explained, or from far away",
        Weight::Significant,
    ),
    (
        "older_controlling",
        "Relationships with older people",
        "Is in contact with, or controlled by, an older person who has power over them",
        Weight::Significant,
    ),
    (
        "vehicles",
        "Relationships with older people",
        "Gets into or out of cars driven by unknown adults",
        Weight::Significant,
    ),
    (
        "gifts_money",
        "Gifts, money or phones",
        "Has money, gifts, clothes or phones that cannot be explained",
        Weight::Significant,
    ),
    (
        "phones",
        "Gifts, money or phones",
        "Has more than one phone, or many calls or messages from unknown people",
        Weight::Moderate,
    ),
    (
        "debt",
        "Gifts, money or phones",
        "Owes money or a drug debt, or carries drugs or cash for others",
        Weight::Significant,
    ),
    (
        "substances",
        "Substance use",
        "Uses drugs or alcohol in a way that causes concern",
        Weight::Moderate,
    ),
    (
        "sexual_health",
        "Sexual health",
        "Sexually transmitted infection, pregnancy, or repeated requests for emergency contraception",
        Weight::Significant,
    ),
    (
        "attendance",
        "School attendance and exclusion",
        "Absence that cannot be explained, leaving school during the day, or a sudden fall in attendance",
        Weight::Moderate,
    ),
    (
        "exclusion",
        "School attendance and exclusion",
        "Excluded from school, or moved to alternative provision",
        Weight::Moderate,
    ),
    (
        "online_contact",
        "Online activity",
        "Contact online with unknown adults, or images shared under pressure",
        Weight::Significant,
    ),
    (
        "online_secrecy",
        "Online activity",
        "Very secretive about phone or internet use",
        Weight::Moderate,
    ),
    (
        "injuries",
        "Physical signs",
        "Injuries that cannot be explained, or signs of assault",
        Weight::Significant,
    ),
    (
        "change",
        "Physical signs",
        "A sudden change in appearance, behaviour or mood",
        Weight::Moderate,
    ),
    (
        "places",
        "Places of concern",
        "Seen at places of concern (hotels, takeaways, stations, addresses used for drug supply) or far from home",
        Weight::Significant,
    ),
    (
        "known_exploiters",
        "Links to known exploiters",
        "Linked to adults or young people known or suspected to exploit children",
        Weight::Significant,
    ),
    (
        "peers",
        "Family and peer context",
        "Friends or peers who are being exploited or are involved in exploitation",
        Weight::Moderate,
    ),
    (
        "family",
        "Family and peer context",
        "Family circumstances that add to vulnerability (domestic abuse, parental substance misuse or mental ill health, neglect)",
        Weight::Vulnerability,
    ),
    (
        "care",
        "Family and peer context",
        "Looked after, or has recently moved placement or home",
        Weight::Vulnerability,
    ),
    (
        "isolation",
        "Family and peer context",
        "Isolated from family or friends, or low self-esteem",
        Weight::Vulnerability,
    ),
    (
        "disclosure",
        "The child's own view",
        "The child has told someone they are being exploited (a disclosure)",
        Weight::Actual,
    ),
    (
        "fear",
        "The child's own view",
        "The child is frightened of what will happen if they talk, or does not yet recognise what is happening as exploitation",
        Weight::Moderate,
    ),
];

/// Version 1 as shipped.
pub fn default_framework(id: Uuid, at: OffsetDateTime) -> Framework {
    Framework {
        id,
        version: 1,
        name: "Child exploitation risk and vulnerabilities framework".into(),
        high_at: 6,
        medium_at: 3,
        review_days: [42, 90, 90, 180],
        change_note: "The default framework shipped with mace".into(),
        created_by: None,
        created_at: at,
        indicators: DEFAULT_INDICATORS
            .iter()
            .map(|(code, category, label, weight)| Indicator {
                code: (*code).into(),
                category: (*category).into(),
                label: (*label).into(),
                weight: *weight,
            })
            .collect(),
    }
}

/// The framework in use (the newest version), created from the default on first use.
pub async fn current_framework<R: AssessmentRepo>(ctx: &Ctx, tx: &mut R) -> Result<Framework> {
    if let Some(f) = tx.latest_framework().await? {
        return Ok(f);
    }
    let f = default_framework(ctx.ids.new_id(), ctx.clock.now());
    tx.insert_framework(&f).await?;
    Ok(f)
}

/// One indicator's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub code: String,
    pub presence: Presence,
    pub evidence: String,
    pub source_org: Option<Uuid>,
    pub observed_on: Option<Date>,
}

/// The suggested level and the lines that explain it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub level: RiskLevel,
    pub points: i32,
    pub explanation: Vec<String>,
}

/// The transparent rule: a present "exploitation is happening" indicator sets High; otherwise
/// significant indicators count 3 points and moderate ones 1, and the framework's thresholds give
/// High or Medium; any other present indicator (a vulnerability included) gives Low; none, None.
/// Floor: a child under 13, or with a learning disability, with anything present is at least
/// Medium.
pub fn suggest(
    framework: &Framework,
    answers: &[Answer],
    age: Option<i32>,
    learning_disability: bool,
) -> Suggestion {
    let present = |w: Weight| {
        framework
            .indicators
            .iter()
            .filter(|i| i.weight == w)
            .filter(|i| {
                answers
                    .iter()
                    .any(|a| a.code == i.code && a.presence == Presence::Present)
            })
            .count() as i32
    };
    let (actual, significant, moderate, vulnerable) = (
        present(Weight::Actual),
        present(Weight::Significant),
        present(Weight::Moderate),
        present(Weight::Vulnerability),
    );
    let points = significant * 3 + moderate;
    let mut explanation = vec![format!(
        "{significant} significant indicator{} present (3 points each) and {moderate} moderate (1 point each): {points} points. \
         Medium starts at {} points, High at {}.",
        if significant == 1 { "" } else { "s" },
        framework.medium_at,
        framework.high_at
    )];
    let mut level = if actual > 0 {
        explanation.push("A present indicator that exploitation is happening sets High.".into());
        RiskLevel::High
    } else if points >= framework.high_at {
        RiskLevel::High
    } else if points >= framework.medium_at {
        RiskLevel::Medium
    } else if points + vulnerable > 0 {
        if vulnerable > 0 {
            explanation.push(format!(
                "{vulnerable} vulnerabilit{} present.",
                if vulnerable == 1 { "y" } else { "ies" }
            ));
        }
        RiskLevel::Low
    } else {
        RiskLevel::None
    };
    let anything = actual + significant + moderate + vulnerable > 0;
    let young = age.is_some_and(|a| a < 13);
    if anything && (young || learning_disability) && level.rank() < RiskLevel::Medium.rank() {
        level = RiskLevel::Medium;
        explanation.push(
            if young {
                "The child is under 13, so the level is at least Medium."
            } else {
                "The child has a learning disability, so the level is at least Medium."
            }
            .into(),
        );
    }
    explanation.push(format!("Suggested level: {}.", level.short()));
    Suggestion {
        level,
        points,
        explanation,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub id: Uuid,
    pub person_id: Uuid,
    pub framework_id: Uuid,
    pub status: AssessmentStatus,
    pub learning_disability: bool,
    pub suggested_level: RiskLevel,
    pub judged_level: RiskLevel,
    pub rationale: String,
    pub child_views: String,
    pub family_views: String,
    pub assessor_id: Uuid,
    pub assessor_org: Uuid,
    pub created_at: OffsetDateTime,
    pub signed_off_by: Option<Uuid>,
    pub signed_off_at: Option<OffsetDateTime>,
    pub review_due: Option<Date>,
    pub answers: Vec<Answer>,
}

/// An assessment as the assessor completed it.
#[derive(Debug, Clone, Default)]
pub struct NewAssessment {
    pub answers: Vec<Answer>,
    pub learning_disability: bool,
    /// The professional judgement; required.
    pub judged_level: Option<RiskLevel>,
    /// Required where the judgement differs from the suggested level.
    pub rationale: String,
    pub child_views: String,
    pub family_views: String,
}

fn text(field: &str, value: &str, max: usize, errs: &mut Vec<FieldError>) -> String {
    let t = value.trim();
    if t.chars().count() > max {
        errs.push(FieldError::new(
            field,
            format!("Must be {max} characters or fewer"),
        ));
    }
    t.to_string()
}

/// Check a completed assessment against its framework: every indicator answered, evidence for
/// each present one, a judgement, and a rationale where it differs from the suggestion.
pub fn validate(
    framework: &Framework,
    new: &NewAssessment,
    suggestion: &Suggestion,
    today: Date,
) -> Result<()> {
    let mut errs = Vec::new();
    for i in &framework.indicators {
        match new.answers.iter().find(|a| a.code == i.code) {
            None => errs.push(FieldError::new(
                format!("a_{}", i.code),
                format!("Say whether this is present: {}", i.label),
            )),
            Some(a) => {
                text(&format!("e_{}", i.code), &a.evidence, 2_000, &mut errs);
                if a.presence == Presence::Present && a.evidence.trim().is_empty() {
                    errs.push(FieldError::new(
                        format!("e_{}", i.code),
                        format!("Write the evidence for: {}", i.label),
                    ));
                }
                if a.observed_on.is_some_and(|d| d > today) {
                    errs.push(FieldError::new(
                        format!("d_{}", i.code),
                        "The date must be today or in the past",
                    ));
                }
            }
        }
    }
    match new.judged_level {
        None => errs.push(FieldError::new(
            "judged_level",
            "Choose the level of risk in your professional judgement",
        )),
        Some(j) if j != suggestion.level && new.rationale.trim().chars().count() < 20 => {
            errs.push(FieldError::new(
                "rationale",
                format!(
                    "Your judgement ({}) differs from the suggested level ({}): explain why in at least 20 characters",
                    j.short(),
                    suggestion.level.short()
                ),
            ));
        }
        Some(_) => {}
    }
    text("rationale", &new.rationale, 5_000, &mut errs);
    text("child_views", &new.child_views, 5_000, &mut errs);
    text("family_views", &new.family_views, 5_000, &mut errs);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errs))
    }
}

/// The framework to complete for a child, with the child's age: for someone who may change the
/// record (checked and audited).
pub async fn start<R: PersonRepo + CaseRepo + AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
) -> Result<(Framework, Option<i32>)> {
    let (person, _) = crate::cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        person_id,
        Action::EditRecord,
        "assessment.start",
    )
    .await?;
    let f = current_framework(ctx, tx).await?;
    Ok((f, person.age_on(ctx.clock.now().date())))
}

/// Submit a completed assessment for sign-off. Worked out against the current framework, whose
/// version it keeps. In the chronology; audited as a collection.
pub async fn submit<R: PersonRepo + CaseRepo + AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    framework_id: Uuid,
    new: &NewAssessment,
) -> Result<Assessment> {
    let now = ctx.clock.now();
    let (person, _) = crate::cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        person_id,
        Action::EditRecord,
        "assessment.submit",
    )
    .await?;
    let f = current_framework(ctx, tx).await?;
    if f.id != framework_id {
        return Err(Error::Conflict(
            "The framework changed while you were completing the assessment: start again to use the new version".into(),
        ));
    }
    let s = suggest(
        &f,
        &new.answers,
        person.age_on(now.date()),
        new.learning_disability,
    );
    validate(&f, new, &s, now.date())?;
    let judged = new.judged_level.unwrap_or(s.level);
    let a = Assessment {
        id: ctx.ids.new_id(),
        person_id,
        framework_id: f.id,
        status: AssessmentStatus::Submitted,
        learning_disability: new.learning_disability,
        suggested_level: s.level,
        judged_level: judged,
        rationale: new.rationale.trim().into(),
        child_views: new.child_views.trim().into(),
        family_views: new.family_views.trim().into(),
        assessor_id: actor.user_id,
        assessor_org: actor.org_id,
        created_at: now,
        signed_off_by: None,
        signed_off_at: None,
        review_due: None,
        answers: f
            .indicators
            .iter()
            .filter_map(|i| new.answers.iter().find(|a| a.code == i.code))
            .map(|a| Answer {
                evidence: a.evidence.trim().into(),
                ..a.clone()
            })
            .collect(),
    };
    tx.insert_assessment(&a).await?;
    crate::cases::chronicle(
        ctx,
        tx,
        actor,
        person_id,
        "assessment",
        a.id,
        format!(
            "Risk assessment submitted: {} in the assessor's judgement (suggested {})",
            judged.short(),
            s.level.short()
        ),
    )
    .await?;
    let mut e = event(
        ctx,
        actor,
        Category::Collection,
        "assessment.submit",
        Outcome::Success,
        person_id,
        "person",
    );
    e.detail = Some(format!("{{\"assessment\":\"{}\"}}", a.id));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(a)
}

/// One assessment with its framework and the record's facts, for someone who may open the
/// child's record (audited).
pub async fn open<R: PersonRepo + CaseRepo + AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
) -> Result<(Assessment, Framework, authz::RecordFacts)> {
    let a = tx.get_assessment(id).await?.ok_or(Error::NotFound)?;
    let (_, facts) = crate::cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        a.person_id,
        Action::ViewRecord,
        "assessment.view",
    )
    .await?;
    let f = tx
        .get_framework(a.framework_id)
        .await?
        .ok_or(Error::NotFound)?;
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "assessment.view",
        Outcome::Success,
        a.person_id,
        "person",
    );
    e.detail = Some(format!("{{\"assessment\":\"{}\"}}", a.id));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok((a, f, facts))
}

/// Sign an assessment off: a team manager who may change the record and is not the assessor.
/// Sets the review date from the judged level and the framework's intervals. In the chronology;
/// audited as an alteration.
pub async fn sign_off<R: PersonRepo + CaseRepo + AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
) -> Result<Assessment> {
    let now = ctx.clock.now();
    let mut a = tx.get_assessment(id).await?.ok_or(Error::NotFound)?;
    crate::cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        a.person_id,
        Action::SignOffAssessment,
        "assessment.sign_off",
    )
    .await?;
    if a.assessor_id == actor.user_id {
        return Err(Error::validation(
            "sign_off",
            "Another manager must sign off an assessment you completed",
        ));
    }
    if a.status != AssessmentStatus::Submitted {
        return Err(Error::Conflict(
            "This assessment is already signed off".into(),
        ));
    }
    let f = tx
        .get_framework(a.framework_id)
        .await?
        .ok_or(Error::NotFound)?;
    a.status = AssessmentStatus::SignedOff;
    a.signed_off_by = Some(actor.user_id);
    a.signed_off_at = Some(now);
    a.review_due = Some((now + f.review_after(a.judged_level)).date());
    tx.update_assessment(&a).await?;
    crate::cases::chronicle(
        ctx,
        tx,
        actor,
        a.person_id,
        "assessment",
        a.id,
        format!(
            "Risk assessment signed off at {}; review by {}",
            a.judged_level.short(),
            a.review_due.map(|d| d.to_string()).unwrap_or_default()
        ),
    )
    .await?;
    crate::cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "assessment.sign_off",
        a.person_id,
        format!("{{\"assessment\":\"{}\"}}", a.id),
    )
    .await?;
    Ok(a)
}

/// What changed from one assessment to the next: indicators that came and went, and the
/// framework version the assessment was made with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Change {
    pub version: i32,
    pub came: Vec<String>,
    pub went: Vec<String>,
}

fn present_codes(a: &Assessment) -> Vec<&str> {
    a.answers
        .iter()
        .filter(|x| x.presence == Presence::Present)
        .map(|x| x.code.as_str())
        .collect()
}

/// A child's assessments over time, and the child and their record's facts (for what the
/// viewer may do next).
pub struct Trajectory {
    pub child: crate::person::Person,
    pub facts: authz::RecordFacts,
    /// Oldest first, each with what changed since the one before.
    pub items: Vec<(Assessment, Change)>,
}

/// A child's assessments over time (oldest first), each with what changed since the one before
/// (labels from the frameworks they were made with).
pub async fn trajectory<R: PersonRepo + CaseRepo + AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
) -> Result<Trajectory> {
    let (child, facts) = crate::cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        person_id,
        Action::ViewRecord,
        "assessment.list",
    )
    .await?;
    let list = tx.assessments_for(person_id).await?;
    let mut out: Vec<(Assessment, Change)> = Vec::new();
    let mut frameworks: Vec<Framework> = Vec::new();
    for a in list {
        if !frameworks.iter().any(|f| f.id == a.framework_id)
            && let Some(f) = tx.get_framework(a.framework_id).await?
        {
            frameworks.push(f);
        }
        // Codes are stable across versions: a code that went may be in an earlier version only.
        let label = |code: &str| {
            frameworks
                .iter()
                .flat_map(|f| f.indicators.iter())
                .find(|i| i.code == code)
                .map(|i| i.label.clone())
                .unwrap_or_else(|| code.to_string())
        };
        let version = frameworks
            .iter()
            .find(|f| f.id == a.framework_id)
            .map_or(0, |f| f.version);
        let now_present = present_codes(&a);
        let change = match out.last() {
            None => Change {
                version,
                ..Change::default()
            },
            Some((prev, _)) => {
                let before = present_codes(prev);
                Change {
                    version,
                    came: now_present
                        .iter()
                        .filter(|c| !before.contains(c))
                        .map(|c| label(c))
                        .collect(),
                    went: before
                        .iter()
                        .filter(|c| !now_present.contains(c))
                        .map(|c| label(c))
                        .collect(),
                }
            }
        };
        out.push((a, change));
    }
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "assessment.list",
        Outcome::Success,
        person_id,
        "person",
    );
    e.detail = Some(format!("{{\"count\":{}}}", out.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Trajectory {
        child,
        facts,
        items: out,
    })
}

/// A change to the framework by a partnership manager: a new indicator, and optionally new
/// thresholds or review intervals. Makes a new version; assessments already made keep theirs.
#[derive(Debug, Clone, Default)]
pub struct FrameworkChange {
    pub category: String,
    pub label: String,
    pub weight: Option<Weight>,
    pub change_note: String,
}

/// The code a new indicator gets: its label's letters and digits, lower case, joined by
/// underscores, made unique within the framework.
fn code_for(label: &str, taken: &[Indicator]) -> String {
    let base: String = label
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(4)
        .collect::<Vec<_>>()
        .join("_");
    let base = if base.is_empty() {
        "indicator".to_string()
    } else {
        base
    };
    let mut code = base.clone();
    let mut n = 2;
    while taken.iter().any(|i| i.code == code) {
        code = format!("{base}_{n}");
        n += 1;
    }
    code
}

/// Make a new version from the current one, changed by `edit`: only partnership managers;
/// audited as an alteration with the new version's number.
async fn new_version<R: AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    note: &str,
    edit: impl FnOnce(&mut Framework) -> Result<String>,
) -> Result<Framework> {
    let d = authz::decide(actor, Action::ManageFramework, None);
    if !d.allow {
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    let mut errs = Vec::new();
    let note = text("change_note", note, 500, &mut errs);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let current = current_framework(ctx, tx).await?;
    let mut next = current.clone();
    let default_note = edit(&mut next)?;
    next.id = ctx.ids.new_id();
    next.version = current.version + 1;
    next.created_by = Some(actor.user_id);
    next.created_at = ctx.clock.now();
    next.change_note = if note.is_empty() { default_note } else { note };
    tx.insert_framework(&next).await?;
    let mut e = crate::cases::untargeted(ctx, actor, Category::Alteration, "framework.change");
    e.detail = Some(format!("{{\"version\":{}}}", next.version));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(next)
}

/// May `c` appear in a category's name? A category is a heading ("The child's own view",
/// "Gifts, money or phones"), new ones welcome, so it is not one of a fixed list; but it holds
/// only what a heading needs: letters and digits of any script, spaces and the marks
/// `' - . , & ( )`. No `<`, `;`, `/`, `=` or quote marks, which injection needs (VAL-04).
pub fn category_char(c: char) -> bool {
    crate::person::name_and_role_char(c)
}

/// Add an indicator: a new version of the framework.
pub async fn add_indicator<R: AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    change: &FrameworkChange,
) -> Result<Framework> {
    let mut errs = Vec::new();
    let category = text("category", &change.category, 100, &mut errs);
    let label = text("label", &change.label, 300, &mut errs);
    if category.is_empty() {
        errs.push(FieldError::new(
            "category",
            "Enter the category (an existing one or a new one)",
        ));
    } else if !category.chars().all(category_char) {
        errs.push(FieldError::new(
            "category",
            "The category must only include letters, numbers, spaces, brackets and the marks - ' . , &",
        ));
    }
    if label.chars().count() < 5 {
        errs.push(FieldError::new(
            "label",
            "Describe the indicator in at least 5 characters",
        ));
    }
    let Some(weight) = change.weight else {
        errs.push(FieldError::new("weight", "Choose how much it weighs"));
        return Err(Error::Validation(errs));
    };
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    new_version(ctx, tx, key, actor, &change.change_note, |f| {
        if f.indicators
            .iter()
            .any(|i| i.label.eq_ignore_ascii_case(&label))
        {
            return Err(Error::validation(
                "label",
                "The framework already has this indicator",
            ));
        }
        let note = format!("Added: {label}");
        f.indicators.push(Indicator {
            code: code_for(&label, &f.indicators),
            category,
            label,
            weight,
        });
        Ok(note)
    })
    .await
}

/// Take an indicator out of use: a new version without it (assessments made with earlier
/// versions keep it).
pub async fn retire_indicator<R: AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    code: &str,
    note: &str,
) -> Result<Framework> {
    new_version(ctx, tx, key, actor, note, |f| {
        let Some(pos) = f.indicators.iter().position(|i| i.code == code) else {
            return Err(Error::NotFound);
        };
        if f.indicators.len() == 1 {
            return Err(Error::validation(
                "code",
                "A framework needs at least one indicator",
            ));
        }
        let gone = f.indicators.remove(pos);
        Ok(format!("Taken out: {}", gone.label))
    })
    .await
}

/// The thresholds and review intervals of a framework version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub medium_at: i32,
    pub high_at: i32,
    /// Days to the review at High, Medium, Low and None.
    pub review_days: [i32; 4],
}

impl Settings {
    fn validate(&self) -> Result<()> {
        let mut errs = Vec::new();
        if !(1..=100).contains(&self.medium_at) {
            errs.push(FieldError::new(
                "medium_at",
                "Medium must start at 1 to 100 points",
            ));
        }
        if self.high_at <= self.medium_at || self.high_at > 100 {
            errs.push(FieldError::new(
                "high_at",
                "High must start at more points than Medium, and 100 at most",
            ));
        }
        for (n, field) in ["review_high", "review_medium", "review_low", "review_none"]
            .iter()
            .enumerate()
        {
            if !(7..=365).contains(&self.review_days[n]) {
                errs.push(FieldError::new(
                    *field,
                    "A review interval must be 7 to 365 days",
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errs))
        }
    }
}

/// Change the thresholds or review intervals: a new version.
pub async fn change_settings<R: AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    settings: Settings,
    note: &str,
) -> Result<Framework> {
    settings.validate()?;
    new_version(ctx, tx, key, actor, note, |f| {
        f.medium_at = settings.medium_at;
        f.high_at = settings.high_at;
        f.review_days = settings.review_days;
        Ok(format!(
            "Thresholds Medium {} and High {} points; reviews after {}, {}, {} and {} days",
            settings.medium_at,
            settings.high_at,
            settings.review_days[0],
            settings.review_days[1],
            settings.review_days[2],
            settings.review_days[3]
        ))
    })
    .await
}

/// A line on a work list: an assessment and its child.
#[derive(Debug, Clone, Serialize)]
pub struct AssessmentLine {
    pub assessment: Assessment,
    pub child: crate::person::Person,
}

/// A viewer's work lists.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkLists {
    /// Children allocated to the viewer or led by their organisation.
    pub caseload: Vec<crate::person::Person>,
    pub reviews_overdue: Vec<AssessmentLine>,
    /// Reviews due within the reminder window.
    pub reviews_due: Vec<AssessmentLine>,
    /// For team managers.
    pub awaiting_sign_off: Vec<AssessmentLine>,
}

/// How far ahead a review shows as due (the reminder before it).
pub const REVIEW_REMINDER: Duration = Duration::days(14);

/// The work lists for the actor: caseload, reviews overdue and due within `soon`, and (for team
/// managers) assessments awaiting sign-off; children inside the actor's scope only (applied in
/// the query). Audited as a consultation.
pub async fn work_lists<R: AssessmentRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    soon: Duration,
) -> Result<WorkLists> {
    let scope = authz::scope(actor);
    let today = ctx.clock.now().date();
    let reviews = tx.reviews_due(&scope, today + soon).await?;
    let (overdue, due): (Vec<_>, Vec<_>) = reviews
        .into_iter()
        .partition(|l| l.assessment.review_due.is_some_and(|d| d < today));
    let awaiting = if actor.has(crate::authz::Role::TeamManager) {
        tx.awaiting_sign_off(&scope).await?
    } else {
        Vec::new()
    };
    let caseload = tx.caseload(&scope).await?;
    let mut e = crate::cases::untargeted(ctx, actor, Category::Consultation, "work.lists");
    e.detail = Some(format!(
        "{{\"caseload\":{},\"overdue\":{},\"due\":{},\"awaiting\":{}}}",
        caseload.len(),
        overdue.len(),
        due.len(),
        awaiting.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(WorkLists {
        caseload,
        reviews_overdue: overdue,
        reviews_due: due,
        awaiting_sign_off: awaiting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> Framework {
        default_framework(Uuid::nil(), OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn categories_are_headings_not_markup() {
        for i in &f().indicators {
            assert!(i.category.chars().all(category_char), "{}", i.category);
        }
        assert!("Children & Families (new)".chars().all(category_char));
        for bad in [
            "' OR '1'='1'; --",
            "<script>",
            "../../etc",
            "a=b",
            "\"quoted\"",
        ] {
            assert!(!bad.chars().all(category_char), "{bad}");
        }
    }

    fn answer(code: &str, p: Presence) -> Answer {
        Answer {
            code: code.into(),
            presence: p,
            evidence: "Seen by the school".into(),
            source_org: None,
            observed_on: None,
        }
    }

    fn all(present: &[&str]) -> Vec<Answer> {
        f().indicators
            .iter()
            .map(|i| {
                answer(
                    &i.code,
                    if present.contains(&i.code.as_str()) {
                        Presence::Present
                    } else {
                        Presence::NotPresent
                    },
                )
            })
            .collect()
    }

    #[test]
    fn the_rule_counts_points_and_applies_floors() {
        let fw = f();
        assert_eq!(
            suggest(&fw, &all(&[]), Some(15), false).level,
            RiskLevel::None
        );
        assert_eq!(
            suggest(&fw, &all(&["family"]), Some(15), false).level,
            RiskLevel::Low
        );
        assert_eq!(
            suggest(&fw, &all(&["phones"]), Some(15), false).level,
            RiskLevel::Low
        );
        let m = suggest(&fw, &all(&["gifts_money"]), Some(15), false);
        assert_eq!((m.level, m.points), (RiskLevel::Medium, 3));
        let h = suggest(&fw, &all(&["gifts_money", "vehicles"]), Some(15), false);
        assert_eq!((h.level, h.points), (RiskLevel::High, 6));
        assert!(
            h.explanation[0].contains("2 significant indicators present"),
            "{h:?}"
        );
        let d = suggest(&fw, &all(&["disclosure"]), Some(15), false);
        assert_eq!(d.level, RiskLevel::High, "a disclosure sets High");
        let young = suggest(&fw, &all(&["phones"]), Some(12), false);
        assert_eq!(young.level, RiskLevel::Medium, "under 13: at least Medium");
        assert!(young.explanation.iter().any(|l| l.contains("under 13")));
        let ld = suggest(&fw, &all(&["care"]), Some(15), true);
        assert_eq!(ld.level, RiskLevel::Medium);
        assert_eq!(
            suggest(&fw, &all(&[]), Some(10), true).level,
            RiskLevel::None,
            "floors need something present"
        );
        // Not known counts for nothing.
        let mut unknown = all(&[]);
        unknown[0].presence = Presence::NotKnown;
        assert_eq!(
            suggest(&fw, &unknown, Some(15), false).level,
            RiskLevel::None
        );
    }

    #[test]
    fn validation_wants_every_answer_evidence_and_a_rationale_for_a_different_level() {
        let fw = f();
        let today = time::macros::date!(2026 - 11 - 29);
        let mut new = NewAssessment {
            answers: all(&["gifts_money"]),
            judged_level: Some(RiskLevel::High),
            ..NewAssessment::default()
        };
        new.answers.pop();
        let s = suggest(&fw, &new.answers, Some(15), false);
        let Err(Error::Validation(errs)) = validate(&fw, &new, &s, today) else {
            panic!("expected errors")
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a_fear", "rationale"]);
        new.answers = all(&["gifts_money"]);
        new.answers[4].evidence = " ".into();
        new.rationale = "Seen with the same car three times this week".into();
        let Err(Error::Validation(errs)) = validate(&fw, &new, &s, today) else {
            panic!("expected errors")
        };
        assert_eq!(errs[0].field, "e_gifts_money");
        new.answers = all(&["gifts_money"]);
        assert!(validate(&fw, &new, &s, today).is_ok());
    }

    #[test]
    fn settings_are_checked() {
        let ok = Settings {
            medium_at: 3,
            high_at: 6,
            review_days: [42, 90, 90, 180],
        };
        assert!(ok.validate().is_ok());
        let bad = Settings {
            medium_at: 0,
            high_at: 0,
            review_days: [1, 90, 400, 180],
        };
        let Err(Error::Validation(errs)) = bad.validate() else {
            panic!("expected errors")
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["medium_at", "high_at", "review_high", "review_low"]
        );
    }

    #[test]
    fn new_indicator_codes_are_unique_and_readable() {
        let fw = f();
        assert_eq!(
            code_for("Carries weapons or talks about them", &fw.indicators),
            "carries_weapons_or_talks"
        );
        assert_eq!(code_for("Debt!", &fw.indicators), "debt_2");
        assert_eq!(fw.categories()[0], "Missing episodes");
        for w in Weight::ALL {
            assert_eq!(Weight::parse(w.as_str()), Some(*w));
        }
    }
}
