//! Demo casework: a few named synthetic children with records and concerns, created through
//! the same domain services (and audit) as real work, and every generated child made known to
//! one demo organisation so lists are not empty. Never graphic; the names are invented.

use anyhow::{Context, Result};
use mace_domain::audit::ChainKey;
use mace_domain::authz::OrgType;
use mace_domain::cases::{self, ExploitationType, Involvement, InvolvementReason, NewConcern};
use mace_domain::identity::model::Email;
use mace_domain::person::{Gender, NewPerson, PersonKind, PersonName};
use mace_domain::ports::{CaseRepo, IdentityRepo};
use mace_domain::postcode::Postcode;
use mace_domain::profile::{
    self, AddressInput, NewRelationship, RelatedPerson, RelationshipKind, SchoolInput,
};
use mace_domain::{Ctx, Error};
use mace_store::{Store, Tx};
use time::{Date, Month};
use uuid::Uuid;

/// A named demo child: who records them, and the concern raised, if any.
struct DemoChild {
    given: &'static str,
    family: &'static str,
    born: (i32, Month, u8),
    gender: Gender,
    postcode: &'static str,
    recorded_by: &'static str,
    concern: Option<(&'static str, &'static [ExploitationType], &'static str)>,
    /// The child's world, added by the recorder: first address line and town, school, and the
    /// people linked (relationship, given name, family name).
    world: Option<DemoWorld>,
}

#[derive(Clone, Copy)]
struct DemoWorld {
    address: (&'static str, &'static str),
    school: &'static str,
    people: &'static [(RelationshipKind, &'static str, &'static str)],
}

const CHILDREN: &[DemoChild] = &[
    DemoChild {
        given: "Kayleigh",
        family: "Harrison",
        born: (2011, Month::April, 9),
        gender: Gender::Female,
        postcode: "SS1 2AB",
        recorded_by: "dsl@school.demo.invalid",
        concern: None,
        world: Some(DemoWorld {
            address: ("22 Example Street", "Southend-on-Sea"),
            school: "Southend Demo Academy",
            people: &[(RelationshipKind::Parent, "Michelle", "Harrison")],
        }),
    },
    // The same child recorded twice, the second time with the family name misspelt: the
    // duplicate review offers the pair.
    DemoChild {
        given: "Kayleigh",
        family: "Harrisson",
        born: (2011, Month::April, 9),
        gender: Gender::Female,
        postcode: "SS1 2AB",
        recorded_by: "dsl@school.demo.invalid",
        concern: Some((
            "dsl@school.demo.invalid",
            &[ExploitationType::Criminal],
            "Kayleigh was seen getting into a car with older males outside school at lunchtime \
             and came back to lessons late with a new pair of trainers.",
        )),
        world: None,
    },
    DemoChild {
        given: "Jayden",
        family: "Okoye",
        born: (2010, Month::September, 23),
        gender: Gender::Male,
        postcode: "RM17 6AB",
        recorded_by: "social.worker@csc.demo.invalid",
        concern: Some((
            "social.worker@csc.demo.invalid",
            &[ExploitationType::CountyLines, ExploitationType::Criminal],
            "Jayden was reported missing overnight and returned with a new phone and cash he could \
             not explain. His mother says older young people have been collecting him from home.",
        )),
        world: Some(DemoWorld {
            address: ("14 Marsh Road", "Grays"),
            school: "Thurrock Demo School",
            people: &[
                (RelationshipKind::Parent, "Grace", "Okoye"),
                (RelationshipKind::PersonOfConcern, "Unknown", "Adult male"),
            ],
        }),
    },
    DemoChild {
        given: "Amira",
        family: "Hussain",
        born: (2009, Month::December, 2),
        gender: Gender::Female,
        postcode: "CM1 4XY",
        recorded_by: "worker@exploitation.demo.invalid",
        concern: Some((
            "worker@exploitation.demo.invalid",
            &[ExploitationType::Online, ExploitationType::Sexual],
            "Amira told her youth worker that an adult she met online has been sending her gifts \
             and asking her to keep their messages secret.",
        )),
        world: None,
    },
];

fn new_child(c: &DemoChild) -> Result<NewPerson> {
    let bad = |e: mace_domain::FieldError| anyhow::anyhow!("demo child: {}", e.message);
    Ok(NewPerson {
        kind: PersonKind::Child,
        given_name: PersonName::parse("given_name", c.given).map_err(bad)?,
        family_name: PersonName::parse("family_name", c.family).map_err(bad)?,
        date_of_birth: Some(
            Date::from_calendar_date(c.born.0, c.born.1, c.born.2)
                .context("demo child: bad date")?,
        ),
        dob_approximate: false,
        gender: c.gender,
        postcode: Some(Postcode::parse(c.postcode).map_err(bad)?),
    })
}

async fn user(tx: &mut Tx, email: &str) -> mace_domain::Result<mace_domain::identity::model::User> {
    let email = Email::parse(email).map_err(|e| Error::Validation(vec![e]))?;
    tx.find_user_by_email(&email)
        .await?
        .ok_or_else(|| Error::store("a demo account is missing"))
}

/// A demo child's address, school and the people in their life, through the domain services.
async fn add_world(
    ctx: &Ctx,
    tx: &mut Tx,
    key: &ChainKey,
    actor: &mace_domain::authz::Actor,
    child: Uuid,
    c: &DemoChild,
    w: DemoWorld,
) -> mace_domain::Result<()> {
    let address = AddressInput {
        line1: w.address.0.into(),
        town: w.address.1.into(),
        postcode: c.postcode.into(),
        current: true,
        ..AddressInput::default()
    };
    profile::add_address(ctx, tx, key, actor, child, &address).await?;
    let school = SchoolInput {
        school_name: w.school.into(),
        ..SchoolInput::default()
    };
    profile::set_school(ctx, tx, key, actor, child, &school).await?;
    for (kind, given, family) in w.people {
        let new = NewPerson {
            kind: kind.person_kind(),
            given_name: PersonName::parse("given_name", given)
                .map_err(|e| Error::Validation(vec![e]))?,
            family_name: PersonName::parse("family_name", family)
                .map_err(|e| Error::Validation(vec![e]))?,
            date_of_birth: None,
            dob_approximate: false,
            gender: Gender::NotKnown,
            postcode: None,
        };
        profile::add_relationship(
            ctx,
            tx,
            key,
            actor,
            child,
            NewRelationship {
                kind: Some(*kind),
                related: RelatedPerson::New(new),
                notes: String::new(),
            },
        )
        .await?;
    }
    Ok(())
}

/// The demo child with an open risk management plan (given and family name).
const PLAN_FOR: (&str, &str) = ("Jayden", "Okoye");

/// An open plan for a demo child, agreed by the social worker, with an action for the school
/// and one for the police (so the school's safeguarding lead has an action in "my actions").
async fn add_plan(ctx: &Ctx, tx: &mut Tx, key: &ChainKey, child: Uuid) -> mace_domain::Result<()> {
    use mace_domain::plans::{self, ActionInput, PlanInput, PlanSection, RiskLevel};
    let sw = user(tx, "social.worker@csc.demo.invalid").await?;
    let now = ctx.clock.now();
    let actor = cases::load_actor(tx, &sw, Some(now), now).await?;
    let today = now.date();
    let plan = PlanInput {
        risk_level: Some(RiskLevel::High),
        lead_user_id: Some(sw.id),
        agreed_on: Some(today),
        next_review_on: Some(today + time::Duration::weeks(6)),
        danger_statement: "Jayden is being criminally exploited by older people who collect him \
                           from home; if nothing changes he is likely to go missing again and be \
                           harmed."
            .into(),
        safety_goal: "Jayden is at home every night and attends school every day.".into(),
    };
    plans::create_plan(ctx, tx, key, &actor, child, &plan).await?;
    let school = user(tx, "dsl@school.demo.invalid").await?.org_id;
    let police = user(tx, "intel@police.demo.invalid").await?.org_id;
    for (section, description, org, days) in [
        (
            PlanSection::Child,
            "Daily check-in with a trusted adult at school, and follow up any absence the same day",
            school,
            14,
        ),
        (
            PlanSection::Disruption,
            "Identify the vehicle seen collecting Jayden and consider a Child Abduction Warning Notice",
            police,
            7,
        ),
    ] {
        let action = ActionInput {
            section: Some(section),
            description: description.into(),
            owner_org_id: Some(org),
            owner_user_id: None,
            due_on: Some(today + time::Duration::days(days)),
        };
        plans::add_action(ctx, tx, key, &actor, child, &action).await?;
    }
    Ok(())
}

/// Create the named demo children and their concerns.
pub async fn load(store: &Store, ctx: &Ctx, key: &ChainKey) -> Result<()> {
    let people: Vec<(NewPerson, &'static DemoChild)> = CHILDREN
        .iter()
        .map(|c| new_child(c).map(|p| (p, c)))
        .collect::<Result<_>>()?;
    store
        .write(|tx| {
            let (ctx, key, people) = (ctx.clone(), key.clone(), people.clone());
            Box::pin(async move {
                let now = ctx.clock.now();
                for (new, c) in people {
                    let by = user(tx, c.recorded_by).await?;
                    let actor = cases::load_actor(tx, &by, Some(now), now).await?;
                    let child = cases::create_child(&ctx, tx, &key, &actor, new).await?;
                    if let Some(w) = c.world {
                        add_world(&ctx, tx, &key, &actor, child.id, c, w).await?;
                    }
                    if let Some((raiser, types, narrative)) = c.concern {
                        let by = user(tx, raiser).await?;
                        let actor = cases::load_actor(tx, &by, Some(now), now).await?;
                        let concern = NewConcern {
                            narrative: narrative.into(),
                            exploitation_types: types.to_vec(),
                            // A postcode in the location places the concern on the hotspot map.
                            location: "Car park of the retail park, RM20 3ZY".into(),
                            ..NewConcern::default()
                        };
                        cases::raise_concern(&ctx, tx, &key, &actor, &[child.id], &concern).await?;
                    }
                    if (c.given, c.family) == PLAN_FOR {
                        add_plan(&ctx, tx, &key, child.id).await?;
                    }
                    if c.recorded_by == "social.worker@csc.demo.invalid" {
                        // Allocated to the social worker, so it is on their team's caseload
                        // (`/work/team`). No service allocates yet, so this has no audit event.
                        tx.allocate(child.id, by.id, now).await?;
                    }
                }
                Ok(())
            })
        })
        .await
        .context("cannot create the demo casework")
}

/// The organisations generated children are shared out among (those that hold case records).
pub async fn case_holding_orgs(store: &Store) -> Result<Vec<Uuid>> {
    let orgs = store
        .read(|tx| Box::pin(async move { tx.list_orgs().await }))
        .await
        .context("cannot list organisations")?;
    Ok(orgs
        .into_iter()
        .filter(|o| !matches!(o.org_type, OrgType::Partnership | OrgType::LocalAuthority))
        .map(|o| o.id)
        .collect())
}

/// Make a generated child known to one organisation (its record's lead).
pub async fn involve(
    tx: &mut Tx,
    ctx: &Ctx,
    person_id: Uuid,
    org_id: Uuid,
) -> mace_domain::Result<()> {
    tx.insert_involvement(&Involvement {
        person_id,
        org_id,
        reason: InvolvementReason::Recorded,
        is_lead: true,
        created_at: ctx.clock.now(),
    })
    .await
}
