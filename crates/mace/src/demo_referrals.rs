//! Demo data for `mace_domain::referrals` (synthetic, never graphic), loaded once on first start:
//! the partnership's service directory (the exploitation service, the children's social care
//! front door, a sexual health service, a substance misuse service and a peer programme), and
//! one referral from the school to the exploitation service, acknowledged. Everything goes
//! through the domain services, so it is audited like real work. The sexual health and
//! substance misuse services get organisations of their own (the demo has no health or
//! voluntary sector organisation).

use anyhow::{Context, Result};
use mace_domain::audit::ChainKey;
use mace_domain::authz::{self, OrgType};
use mace_domain::cases;
use mace_domain::identity::admin::{self, AdminActor};
use mace_domain::identity::model::Email;
use mace_domain::ports::{CaseRepo, IdentityRepo};
use mace_domain::referrals::{
    self, ReferralInput, ReferralStatus, ServiceInput, ServiceKind, ShareItem,
};
use mace_domain::{Ctx, Error};
use mace_store::{Store, Tx};
use uuid::Uuid;

/// A demo service: name, kind, running organisation, description, email, phone, how to refer,
/// ages, open case needed, areas, acknowledge (working hours), decide (working days).
struct DemoService {
    name: &'static str,
    kind: ServiceKind,
    org: &'static str,
    description: &'static str,
    email: &'static str,
    phone: &'static str,
    how_to_refer: &'static str,
    ages: (Option<i32>, Option<i32>),
    open_case: bool,
    areas: &'static str,
    ack_hours: i32,
    decide_days: i32,
}

const EXPLOITATION_ORG: &str = "Estuary Exploitation Service";
const CSC_ORG: &str = "Estuary Children's Social Care";
const HEALTH_ORG: (&str, OrgType) = (
    "Estuary Young People's Sexual Health Service",
    OrgType::Health,
);
const DRUGS_ORG: (&str, OrgType) = (
    "Estuary Young People's Drug and Alcohol Service",
    OrgType::VoluntarySector,
);

const SERVICES: &[DemoService] = &[
    DemoService {
        name: "Children at risk of exploitation service",
        kind: ServiceKind::Exploitation,
        org: EXPLOITATION_ORG,
        description: "Specialist workers who build a trusting relationship with children who are \
                      being exploited or at risk of it, work with their families, and help the \
                      network disrupt the adults involved.",
        email: "referrals@exploitation.demo.invalid",
        phone: "01632 960 101",
        how_to_refer: "Make the referral in mace. For a child in immediate danger, call the police \
                       on 999 first.",
        ages: (Some(10), Some(17)),
        open_case: false,
        areas: "",
        ack_hours: 8,
        decide_days: 5,
    },
    DemoService {
        name: "Children's social care front door",
        kind: ServiceKind::FrontDoor,
        org: CSC_ORG,
        description: "The front door for concerns that a child is suffering, or likely to suffer, \
                      significant harm. A decision is made within one working day.",
        email: "frontdoor@csc.demo.invalid",
        phone: "01632 960 102",
        how_to_refer: "Make the referral in mace, or phone if a child is at immediate risk.",
        ages: (None, Some(17)),
        open_case: false,
        areas: "",
        ack_hours: 2,
        decide_days: 1,
    },
    DemoService {
        name: "Young people's sexual health outreach",
        kind: ServiceKind::SexualHealth,
        org: HEALTH_ORG.0,
        description: "Confidential sexual health advice, testing and contraception for young \
                      people, with outreach nurses who see young people at school or at home.",
        email: "outreach@sexualhealth.demo.invalid",
        phone: "01632 960 103",
        how_to_refer: "Make the referral in mace. Young people can also contact the service themselves.",
        ages: (Some(13), Some(19)),
        open_case: false,
        areas: "",
        ack_hours: 16,
        decide_days: 5,
    },
    DemoService {
        name: "Young people's drug and alcohol service",
        kind: ServiceKind::SubstanceMisuse,
        org: DRUGS_ORG.0,
        description: "One-to-one support for young people about drug and alcohol use, including \
                      young people exploited to carry or sell drugs.",
        email: "referrals@drugsalcohol.demo.invalid",
        phone: "01632 960 104",
        how_to_refer: "Make the referral in mace.",
        ages: (Some(11), Some(18)),
        open_case: false,
        areas: "",
        ack_hours: 16,
        decide_days: 10,
    },
    DemoService {
        name: "Peer programme for young women aged 13 to 16",
        kind: ServiceKind::GroupProgramme,
        org: EXPLOITATION_ORG,
        description: "A ten-week group programme for young women about healthy relationships, \
                      online safety and where to get help, run in small groups after school.",
        email: "groups@exploitation.demo.invalid",
        phone: "01632 960 105",
        how_to_refer: "Make the referral in mace. The worker meets each young woman before she \
                       joins a group.",
        ages: (Some(13), Some(16)),
        open_case: false,
        areas: "SS0 SS1 SS2 SS3 SS9",
        ack_hours: 16,
        decide_days: 10,
    },
];

async fn user(tx: &mut Tx, email: &str) -> mace_domain::Result<mace_domain::identity::model::User> {
    let email = Email::parse(email).map_err(|e| Error::Validation(vec![e]))?;
    tx.find_user_by_email(&email)
        .await?
        .ok_or_else(|| Error::store("a demo account is missing"))
}

async fn org_id(tx: &mut Tx, name: &str) -> mace_domain::Result<Uuid> {
    tx.list_orgs()
        .await?
        .into_iter()
        .find(|o| o.name == name)
        .map(|o| o.id)
        .ok_or_else(|| Error::store("a demo organisation is missing"))
}

pub async fn load(store: &Store, ctx: &Ctx, key: &ChainKey) -> Result<()> {
    store
        .write(|tx| {
            let (ctx, key) = (ctx.clone(), key.clone());
            Box::pin(async move {
                let now = ctx.clock.now();
                let by = AdminActor::Operator("demo");
                for (name, t) in [HEALTH_ORG, DRUGS_ORG] {
                    admin::create_org(&ctx, tx, &key, &by, name, t).await?;
                }
                let manager = user(tx, "manager@partnership.demo.invalid").await?;
                let actor = cases::load_actor(tx, &manager, Some(now), now).await?;
                let mut first = None;
                for s in SERVICES {
                    let input = ServiceInput {
                        name: s.name.into(),
                        kind: Some(s.kind),
                        org_id: Some(org_id(tx, s.org).await?),
                        description: s.description.into(),
                        email: s.email.into(),
                        phone: s.phone.into(),
                        how_to_refer: s.how_to_refer.into(),
                        min_age: s.ages.0,
                        max_age: s.ages.1,
                        open_case_required: s.open_case,
                        areas: s.areas.into(),
                        ack_hours: Some(s.ack_hours),
                        decide_days: Some(s.decide_days),
                        accepting: true,
                    };
                    let made = referrals::create_service(&ctx, tx, &key, &actor, &input).await?;
                    first.get_or_insert(made.id);
                }
                // One referral: the school refers Kayleigh Harrison to the exploitation
                // service, which acknowledges it.
                let dsl = user(tx, "dsl@school.demo.invalid").await?;
                let school = cases::load_actor(tx, &dsl, Some(now), now).await?;
                let child = tx
                    .list_children(&authz::scope(&school), "kayleigh", 20)
                    .await?
                    .into_iter()
                    .find(|p| p.family_name == "Harrison");
                if let (Some(child), Some(service)) = (child, first) {
                    let input = ReferralInput {
                        service_id: Some(service),
                        items: vec![ShareItem::Identity, ShareItem::Address, ShareItem::School],
                        concern_ids: Vec::new(),
                        reason: "Kayleigh has been seen getting into cars with older males at \
                                 lunchtime and has new clothes and a phone nobody can explain. We \
                                 believe she is being exploited and ask for specialist support \
                                 for her and her mum."
                            .into(),
                    };
                    let r =
                        referrals::make_referral(&ctx, tx, &key, &school, child.id, &input).await?;
                    let worker = user(tx, "worker@exploitation.demo.invalid").await?;
                    let w = cases::load_actor(tx, &worker, Some(now), now).await?;
                    referrals::change_status(
                        &ctx,
                        tx,
                        &key,
                        &w,
                        r.id,
                        Some(ReferralStatus::Acknowledged),
                        "Received: a worker will contact school this week",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
        .context("cannot create the demo services and referral")
}
