//! A person's place in the world around a child (issue 4): addresses (current and previous, so a
//! child who moved is still found), the child's school, and relationships to other people:
//! parents and carers, brothers and sisters, friends and peers, persons of concern and the
//! professionals working with the child.
//!
//! People other than children (parents, carers, persons of concern, professionals) exist in mace
//! because of a child, so access to their records follows the children they are linked to: a
//! viewer opens an adult's record when they may open at least one linked child's record (by
//! relationship, allocation or break-glass), and changes it when they may change one. Nothing
//! about an adult is shown to anyone else, search before create included.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor, Decision, OrgType, Reason, RecordFacts};
use crate::cases::{self, event, record_refusal};
use crate::error::{Error, FieldError, Result};
use crate::identifiers::PersonIdentifier;
use crate::person::{NewPerson, Person, PersonKind, text_enum};
use crate::ports::{AuditLog, CaseRepo, IdentityRepo, PersonRepo, ProfileRepo};
use crate::postcode::Postcode;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

text_enum!(
    /// How the other person is related to the child whose record the link was added from.
    RelationshipKind {
        Parent => "parent", "Parent";
        Carer => "carer", "Carer or guardian";
        Sibling => "sibling", "Brother or sister";
        Peer => "peer", "Friend or peer";
        PersonOfConcern => "person_of_concern", "Person of concern";
        Professional => "professional", "Professional working with the child";
    }
);

impl RelationshipKind {
    /// The kind of record the other person has.
    pub fn person_kind(self) -> PersonKind {
        match self {
            Self::Parent | Self::Carer => PersonKind::ParentCarer,
            Self::Sibling | Self::Peer => PersonKind::Child,
            Self::PersonOfConcern => PersonKind::PersonOfConcern,
            Self::Professional => PersonKind::Professional,
        }
    }

    /// The link as read from the other person's record ("Parent of").
    pub fn inverse_label(self) -> &'static str {
        match self {
            Self::Parent => "Parent of",
            Self::Carer => "Carer or guardian of",
            Self::Sibling => "Brother or sister",
            Self::Peer => "Friend or peer",
            Self::PersonOfConcern => "Person of concern to",
            Self::Professional => "Professional working with",
        }
    }
}

/// One address a person lives or lived at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub id: Uuid,
    pub person_id: Uuid,
    pub line1: String,
    pub line2: String,
    pub town: String,
    pub postcode: Option<Postcode>,
    pub moved_in: Option<Date>,
    pub moved_out: Option<Date>,
    pub is_current: bool,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

/// A school a child attends or attended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchoolRecord {
    pub id: Uuid,
    pub person_id: Uuid,
    pub school_name: String,
    /// The school's organisation, when it is one of the partnership's.
    pub school_org_id: Option<Uuid>,
    pub started_on: Option<Date>,
    pub left_on: Option<Date>,
    pub is_current: bool,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

/// A relationship between the child `person_id` and `related_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relationship {
    pub id: Uuid,
    pub person_id: Uuid,
    pub related_id: Uuid,
    pub kind: RelationshipKind,
    pub notes: String,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

impl Relationship {
    /// The other end, seen from `from`.
    pub fn other(&self, from: Uuid) -> Uuid {
        if self.person_id == from {
            self.related_id
        } else {
            self.person_id
        }
    }

    /// The label seen from `from`'s record.
    pub fn label_from(&self, from: Uuid) -> &'static str {
        if self.person_id == from {
            self.kind.label()
        } else {
            self.kind.inverse_label()
        }
    }
}

/// A link shown on a record: the relationship and the other person.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub relationship: Relationship,
    pub person: Person,
    /// The label as seen from the record it is shown on.
    pub label: &'static str,
}

/// What a record shows of a person's world: addresses, schools and the links the viewer may see.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Profile {
    /// Current first, then newest first.
    pub addresses: Vec<Address>,
    /// Current first, then newest first.
    pub schools: Vec<SchoolRecord>,
    pub links: Vec<Link>,
    /// Linked children whose records the viewer may not open: counted, never named.
    pub hidden_links: usize,
}

/// May the actor do `action` on this person's record? A child's record is decided on its own
/// facts; anyone else's on the children linked to them: allowed when any linked child allows it.
pub async fn access<R: CaseRepo + ProfileRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    person: &Person,
    action: Action,
) -> Result<(Decision, RecordFacts)> {
    let now = ctx.clock.now();
    if person.kind == PersonKind::Child {
        let facts = tx
            .record_facts(person.id, actor.user_id, actor.org_id, now)
            .await?;
        return Ok((authz::decide(actor, action, Some(&facts)), facts));
    }
    let mut refusal = None;
    for (r, other) in tx.relationships(person.id).await? {
        if other.kind != PersonKind::Child || r.other(person.id) != other.id {
            continue;
        }
        let facts = tx
            .record_facts(other.id, actor.user_id, actor.org_id, now)
            .await?;
        let d = authz::decide(actor, action, Some(&facts));
        if d.allow {
            return Ok((d, facts));
        }
        refusal.get_or_insert((d, facts));
    }
    Ok(refusal.unwrap_or((
        authz::decide(actor, action, Some(&RecordFacts::default())),
        RecordFacts::default(),
    )))
}

/// The person, or `NotFound`.
pub async fn person_or_404<R: PersonRepo>(tx: &mut R, id: Uuid) -> Result<Person> {
    tx.get_person(id).await?.ok_or(Error::NotFound)
}

/// The prelude of every service that changes a person's record: decide `EditRecord` for the
/// person (see [`access`]); a refusal of `action` is recorded and `Forbidden` returned.
pub async fn may_edit_person<R: PersonRepo + CaseRepo + ProfileRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    action: &str,
) -> Result<Person> {
    let person = person_or_404(tx, person_id).await?;
    let (d, _) = access(ctx, tx, actor, &person, Action::EditRecord).await?;
    if !d.allow {
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            action,
            person_id,
            "person",
            cases::detail_reason(d),
        )
        .await?;
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    Ok(person)
}

/// The addresses, schools and links of a record the caller has already been allowed to open.
/// Linked children appear only when the viewer may open their records; the rest are counted.
pub async fn profile<R: CaseRepo + ProfileRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    person_id: Uuid,
) -> Result<Profile> {
    let mut links = Vec::new();
    let mut hidden_links = 0;
    for (r, other) in tx.relationships(person_id).await? {
        if other.kind == PersonKind::Child {
            let (d, _) = access(ctx, tx, actor, &other, Action::ViewRecord).await?;
            if !d.allow {
                hidden_links += 1;
                continue;
            }
        }
        links.push(Link {
            label: r.label_from(person_id),
            relationship: r,
            person: other,
        });
    }
    Ok(Profile {
        addresses: tx.addresses(person_id).await?,
        schools: tx.schools(person_id).await?,
        links,
        hidden_links,
    })
}

/// What an opened record shows.
pub struct PersonRecord {
    pub person: Person,
    pub identifiers: Vec<PersonIdentifier>,
    pub profile: Profile,
}

/// A person's record other than a child's, as opened.
pub enum OpenedPerson {
    Allowed(Box<PersonRecord>),
    /// A child: their record is the children's record page.
    Child,
    Denied(Reason),
}

/// Open the record of a parent, carer, person of concern or professional: decided on the linked
/// children, audited either way.
pub async fn open_person<R: PersonRepo + CaseRepo + ProfileRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
) -> Result<OpenedPerson> {
    let person = person_or_404(tx, person_id).await?;
    if person.kind == PersonKind::Child {
        return Ok(OpenedPerson::Child);
    }
    let (d, _) = access(ctx, tx, actor, &person, Action::ViewRecord).await?;
    if !d.allow {
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            "record.view",
            person_id,
            "person",
            cases::detail_reason(d),
        )
        .await?;
        return Ok(OpenedPerson::Denied(d.reason));
    }
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "record.view",
        Outcome::Success,
        person_id,
        "person",
    );
    e.detail = cases::detail_reason(d);
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(OpenedPerson::Allowed(Box::new(PersonRecord {
        identifiers: tx.identifiers(person_id).await?,
        profile: profile(ctx, tx, actor, person_id).await?,
        person,
    })))
}

fn bounded(field: &str, value: &str, max: usize, required: Option<&str>) -> Result<String> {
    let t = value.trim();
    if t.is_empty()
        && let Some(message) = required
    {
        return Err(Error::validation(field, message));
    }
    if t.chars().count() > max {
        return Err(Error::validation(
            field,
            &format!("Must be {max} characters or fewer"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            "Must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

fn not_future(field: &str, d: Option<Date>, today: Date, message: &str) -> Result<()> {
    match d {
        Some(d) if d > today => Err(Error::validation(field, message)),
        _ => Ok(()),
    }
}

/// An address as entered.
#[derive(Debug, Clone, Default)]
pub struct AddressInput {
    pub line1: String,
    pub line2: String,
    pub town: String,
    /// As typed; checked when not blank.
    pub postcode: String,
    pub moved_in: Option<Date>,
    /// Where the person lives now (otherwise a previous address).
    pub current: bool,
}

impl AddressInput {
    fn validate(&self, today: Date) -> Result<(String, String, String, Option<Postcode>)> {
        let mut errs: Vec<FieldError> = Vec::new();
        let mut take = |r: Result<String>| match r {
            Ok(v) => v,
            Err(Error::Validation(mut e)) => {
                errs.append(&mut e);
                String::new()
            }
            Err(_) => String::new(),
        };
        let line1 = take(bounded(
            "line1",
            &self.line1,
            200,
            Some("Enter the first line of the address"),
        ));
        let line2 = take(bounded("line2", &self.line2, 200, None));
        let town = take(bounded(
            "town",
            &self.town,
            100,
            Some("Enter the town or city"),
        ));
        let postcode = if self.postcode.trim().is_empty() {
            None
        } else {
            match Postcode::parse(&self.postcode) {
                Ok(p) => Some(p),
                Err(mut e) => {
                    e.field = "postcode".into();
                    errs.push(e);
                    None
                }
            }
        };
        if let Err(Error::Validation(mut e)) = not_future(
            "moved_in",
            self.moved_in,
            today,
            "The date they moved in must be today or in the past",
        ) {
            errs.append(&mut e);
        }
        if errs.is_empty() {
            Ok((line1, line2, town, postcode))
        } else {
            Err(Error::Validation(errs))
        }
    }
}

fn today(ctx: &Ctx) -> Date {
    ctx.clock.now().date()
}

/// Write a chronology entry on a child's record (nothing for anyone else).
async fn chronicle<R: CaseRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    person: &Person,
    kind: &str,
    source_id: Uuid,
    summary: String,
) -> Result<()> {
    if person.kind != PersonKind::Child {
        return Ok(());
    }
    cases::chronicle(ctx, tx, actor, person.id, kind, source_id, summary).await
}

/// Add an address to a person's record. A current address ends the one before it (moved out on
/// the day the new one starts, or today) and becomes the record's postcode; the old one stays,
/// so search before create still finds the person there. On a child's record the move is in the
/// chronology. Audited as an alteration (whether current, never the address itself).
pub async fn add_address<R: PersonRepo + CaseRepo + ProfileRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    input: &AddressInput,
) -> Result<Address> {
    let now = ctx.clock.now();
    let person = may_edit_person(ctx, tx, key, actor, person_id, "person.address.add").await?;
    let (line1, line2, town, postcode) = input.validate(today(ctx))?;
    if input.current {
        tx.end_current_addresses(person_id, input.moved_in.unwrap_or(today(ctx)))
            .await?;
        tx.set_person_postcode(person_id, postcode.as_ref(), now)
            .await?;
    }
    let address = Address {
        id: ctx.ids.new_id(),
        person_id,
        line1,
        line2,
        town,
        postcode,
        moved_in: input.moved_in,
        moved_out: None,
        is_current: input.current,
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: now,
    };
    tx.insert_address(&address).await?;
    let summary = if input.current {
        format!("Now living at an address in {}", address.town)
    } else {
        format!("A previous address in {} was recorded", address.town)
    };
    chronicle(ctx, tx, actor, &person, "address", address.id, summary).await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "person.address.add",
        person_id,
        format!("{{\"current\":{}}}", input.current),
    )
    .await?;
    Ok(address)
}

/// The longest a school's name may be.
pub const SCHOOL_NAME_MAX: usize = 200;

/// A school as entered: one of the partnership's schools, or a name.
#[derive(Debug, Clone, Default)]
pub struct SchoolInput {
    pub school_org_id: Option<Uuid>,
    pub school_name: String,
    pub started_on: Option<Date>,
}

/// Record the school a child now attends; the school before it is ended (left on the day the
/// new one starts, or today). In the chronology; audited as an alteration.
pub async fn set_school<R: PersonRepo + CaseRepo + ProfileRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    input: &SchoolInput,
) -> Result<SchoolRecord> {
    let now = ctx.clock.now();
    let person = may_edit_person(ctx, tx, key, actor, child_id, "person.school.set").await?;
    if person.kind != PersonKind::Child {
        return Err(Error::NotFound);
    }
    // A name typed beside a school chosen from the list is not used, but it is still held to a
    // name's limits: nothing the form could not take is accepted quietly.
    if input.school_org_id.is_some() {
        bounded("school_name", &input.school_name, SCHOOL_NAME_MAX, None)?;
    }
    let name = match input.school_org_id {
        Some(org_id) => match tx.get_org(org_id).await? {
            Some(o) if o.org_type == OrgType::School => o.name,
            _ => {
                return Err(Error::validation(
                    "school_org_id",
                    "Choose one of the schools listed, or type the school's name",
                ));
            }
        },
        None => bounded(
            "school_name",
            &input.school_name,
            SCHOOL_NAME_MAX,
            Some("Choose the school or type its name"),
        )?,
    };
    not_future(
        "started_on",
        input.started_on,
        today(ctx),
        "The start date must be today or in the past",
    )?;
    tx.end_current_school(child_id, input.started_on.unwrap_or(today(ctx)))
        .await?;
    let school = SchoolRecord {
        id: ctx.ids.new_id(),
        person_id: child_id,
        school_name: name,
        school_org_id: input.school_org_id,
        started_on: input.started_on,
        left_on: None,
        is_current: true,
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: now,
    };
    tx.insert_school(&school).await?;
    chronicle(
        ctx,
        tx,
        actor,
        &person,
        "school",
        school.id,
        format!("Now attends {}", school.school_name),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "person.school.set",
        child_id,
        format!("{{\"school\":\"{}\"}}", school.id),
    )
    .await?;
    Ok(school)
}

/// A relationship to add: how they are related, to whom, and anything others should know.
#[derive(Debug, Clone)]
pub struct NewRelationship {
    pub kind: Option<RelationshipKind>,
    pub related: RelatedPerson,
    pub notes: String,
}

/// Who the relationship is with.
#[derive(Debug, Clone)]
pub enum RelatedPerson {
    /// A record found by search before create.
    Existing(Uuid),
    /// A new record (its kind follows the relationship).
    New(NewPerson),
}

/// Add a relationship to a child's record the actor may change: to an existing record (a child
/// found through search before create, or an adult the actor may see) or to a new one, whose kind
/// follows the relationship. The same link twice is refused. A new child's record involves the
/// actor's organisation as for any new child. In the chronology; audited as an alteration.
pub async fn add_relationship<R: PersonRepo + CaseRepo + ProfileRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    new: NewRelationship,
) -> Result<Link> {
    let NewRelationship {
        kind,
        related,
        notes,
    } = new;
    let now = ctx.clock.now();
    let child = may_edit_person(ctx, tx, key, actor, child_id, "person.relationship.add").await?;
    if child.kind != PersonKind::Child {
        return Err(Error::NotFound);
    }
    let kind =
        kind.ok_or_else(|| Error::validation("kind", "Select how they are related to the child"))?;
    let notes = bounded("notes", &notes, 1_000, None)?;
    let other = match related {
        RelatedPerson::Existing(id) => {
            let other = person_or_404(tx, id).await?;
            if other.id == child_id || other.kind != kind.person_kind() {
                return Err(Error::validation(
                    "kind",
                    "That record cannot be linked this way: check who they are",
                ));
            }
            // An adult is linked only by someone who may already see them.
            if other.kind != PersonKind::Child
                && !access(ctx, tx, actor, &other, Action::ViewRecord)
                    .await?
                    .0
                    .allow
            {
                return Err(Error::NotFound);
            }
            other
        }
        RelatedPerson::New(new) => {
            cases::create_person(
                ctx,
                tx,
                key,
                actor,
                NewPerson {
                    kind: kind.person_kind(),
                    ..new
                },
            )
            .await?
        }
    };
    if tx
        .relationships(child_id)
        .await?
        .iter()
        .any(|(r, o)| o.id == other.id && r.kind == kind)
    {
        return Err(Error::validation(
            "kind",
            "This relationship is already on the record",
        ));
    }
    let r = Relationship {
        id: ctx.ids.new_id(),
        person_id: child_id,
        related_id: other.id,
        kind,
        notes,
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: now,
    };
    tx.insert_relationship(&r).await?;
    chronicle(
        ctx,
        tx,
        actor,
        &child,
        "relationship",
        r.id,
        format!(
            "{} added: {} {}",
            kind.label(),
            other.given_name,
            other.family_name
        ),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "person.relationship.add",
        child_id,
        format!(
            "{{\"kind\":\"{}\",\"related\":\"{}\"}}",
            kind.as_str(),
            other.id
        ),
    )
    .await?;
    Ok(Link {
        label: kind.label(),
        relationship: r,
        person: other,
    })
}

/// Search before create for a related adult: only adults already linked to children the actor
/// may open are candidates (an adult's presence in mace is itself personal data about them and
/// the children they are linked to). Children are found with [`cases::find_children`].
pub async fn find_adults<R: ProfileRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    kind: PersonKind,
    probe: &crate::matching::Probe,
) -> Result<Vec<crate::matching::Candidate>> {
    cases::check_probe(actor, probe)?;
    let (family, given, dates) = cases::blocking_keys(probe);
    let pool = tx
        .adult_match_pool(&authz::scope(actor), kind, &family, &given, &dates, 2_000)
        .await?;
    let found = crate::matching::rank(probe, pool, 10);
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "person.search");
    e.detail = Some(format!(
        "{{\"kind\":\"{}\",\"results\":{}}}",
        kind.as_str(),
        found.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn addresses_are_checked_field_by_field() {
        let input = AddressInput {
            line1: " ".into(),
            town: "".into(),
            postcode: "NOT A CODE".into(),
            moved_in: Some(date!(2030 - 01 - 01)),
            ..AddressInput::default()
        };
        let Err(Error::Validation(errs)) = input.validate(date!(2026 - 11 - 29)) else {
            panic!("expected errors");
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["line1", "town", "postcode", "moved_in"]);

        let ok = AddressInput {
            line1: " 12 Example Road ".into(),
            town: "Southend-on-Sea".into(),
            postcode: "ss1 1aa".into(),
            current: true,
            ..AddressInput::default()
        };
        let (line1, _, town, pc) = ok.validate(date!(2026 - 11 - 29)).unwrap();
        assert_eq!(line1, "12 Example Road");
        assert_eq!(town, "Southend-on-Sea");
        assert_eq!(pc.unwrap().as_str(), "SS1 1AA");
    }

    #[test]
    fn relationships_read_both_ways() {
        let (child, adult) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let r = Relationship {
            id: Uuid::from_u128(3),
            person_id: child,
            related_id: adult,
            kind: RelationshipKind::Parent,
            notes: String::new(),
            org_id: Uuid::nil(),
            created_by: Uuid::nil(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(r.other(child), adult);
        assert_eq!(r.other(adult), child);
        assert_eq!(r.label_from(child), "Parent");
        assert_eq!(r.label_from(adult), "Parent of");
        for k in RelationshipKind::ALL {
            assert_eq!(RelationshipKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(
            RelationshipKind::Sibling.person_kind(),
            PersonKind::Child,
            "a brother or sister has a child's record"
        );
    }
}
