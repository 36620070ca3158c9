//! Addresses, schools and relationships on both engines: ordering, ending the current one, both
//! ends of a relationship, the look-ups of search before create (earlier postcodes, shared
//! identifiers, related adults only inside the viewer's scope), and merges moving them and back.

use super::merges::{merge_row, setup};
use mace_domain::authz::{Role, Scope};
use mace_domain::identifiers::IdentifierKind;
use mace_domain::identity::model::{Email, User, UserStatus};
use mace_domain::person::{Gender, Person, PersonKind};
use mace_domain::ports::{CaseRepo, IdentityRepo, MergeRepo, PersonRepo, ProfileRepo};
use mace_domain::postcode::Postcode;
use mace_domain::profile::{Address, Relationship, RelationshipKind, SchoolRecord};
use mace_domain::{Error, Result};
use mace_store::Tx;
use mace_testkit::TestDb;
use time::OffsetDateTime;
use time::macros::{date, datetime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn pc(s: &str) -> Result<Postcode> {
    Postcode::parse(s).map_err(|_| Error::NotFound)
}

fn address(n: u128, postcode: &str, current: bool, at: OffsetDateTime) -> Result<Address> {
    Ok(Address {
        id: id(n),
        person_id: id(2),
        line1: format!("{n} Example Road"),
        line2: String::new(),
        town: "Southend-on-Sea".into(),
        postcode: Some(pc(postcode)?),
        moved_in: None,
        moved_out: None,
        is_current: current,
        org_id: id(10),
        created_by: id(20),
        created_at: at,
    })
}

async fn fill(tx: &mut Tx) -> Result<()> {
    setup(tx).await?;
    // The second child is marked "staff involved": the viewer of these tests is cleared.
    tx.insert_user(&User {
        id: id(99),
        org_id: id(11),
        team_id: None,
        email: Email::parse("viewer@council.example").map_err(|_| Error::NotFound)?,
        display_name: "Viewer".into(),
        roles: vec![Role::SocialWorker],
        status: UserStatus::Active,
        password_hash: None,
        password_changed_at: None,
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        created_at: T0,
        updated_at: T0,
    })
    .await?;
    tx.clear_for_restricted(id(2), id(99), T0).await?;
    tx.insert_person(&Person {
        id: id(50),
        kind: PersonKind::ParentCarer,
        given_name: "Jane".into(),
        family_name: "Harrison".into(),
        date_of_birth: Some(date!(1985 - 01 - 20)),
        dob_approximate: false,
        gender: Gender::Female,
        postcode: None,
        created_at: T0,
        updated_at: T0,
    })
    .await?;
    tx.insert_relationship(&relationship()).await?;
    tx.insert_address(&address(600, "SS1 1AA", true, T0)?)
        .await?;
    tx.end_current_addresses(id(2), date!(2026 - 03 - 01))
        .await?;
    tx.insert_address(&address(
        601,
        "CM1 1AA",
        true,
        T0 + time::Duration::hours(1),
    )?)
    .await?;
    tx.set_person_postcode(id(2), Some(&pc("CM1 1AA")?), T0)
        .await?;
    tx.insert_school(&SchoolRecord {
        id: id(700),
        person_id: id(2),
        school_name: "Example Academy".into(),
        school_org_id: Some(id(10)),
        started_on: Some(date!(2022 - 09 - 01)),
        left_on: None,
        is_current: true,
        org_id: id(10),
        created_by: id(20),
        created_at: T0,
    })
    .await
}

fn relationship() -> Relationship {
    Relationship {
        id: id(800),
        person_id: id(2),
        related_id: id(50),
        kind: RelationshipKind::Parent,
        notes: "Lives with her".into(),
        org_id: id(10),
        created_by: id(20),
        created_at: T0,
    }
}

fn scope(org: u128) -> Scope {
    Scope::Related {
        org_id: id(org),
        user_id: id(99),
        now: T0,
        police: false,
    }
}

type Holdings = (Vec<(Uuid, bool)>, Vec<Uuid>, Vec<Uuid>, Vec<Uuid>);

/// Addresses (id, current), schools, related people, and whom the parent is linked to.
async fn holdings(tx: &mut Tx, person: Uuid) -> Result<Holdings> {
    Ok((
        tx.addresses(person)
            .await?
            .iter()
            .map(|a| (a.id, a.is_current))
            .collect(),
        tx.schools(person).await?.iter().map(|s| s.id).collect(),
        tx.relationships(person)
            .await?
            .iter()
            .map(|(_, p)| p.id)
            .collect(),
        tx.relationships(id(50))
            .await?
            .iter()
            .map(|(_, p)| p.id)
            .collect(),
    ))
}

async fn addresses_schools_and_relationships(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let addresses = tx.addresses(id(2)).await?;
                let links = tx.relationships(id(2)).await?;
                let back = tx.relationships(id(50)).await?;
                Ok((
                    addresses,
                    links,
                    back,
                    tx.schools(id(2)).await?,
                    tx.get_person(id(2)).await?.and_then(|p| p.postcode),
                ))
            })
        })
        .await
        .unwrap();
    let (addresses, links, back, schools, postcode) = got;
    assert_eq!(
        addresses
            .iter()
            .map(|a| (a.id, a.is_current, a.moved_out))
            .collect::<Vec<_>>(),
        vec![
            (id(601), true, None),
            (id(600), false, Some(date!(2026 - 03 - 01)))
        ],
        "current first, the earlier one ended"
    );
    assert_eq!(
        postcode.map(|p| p.as_str().to_string()),
        Some("CM1 1AA".into())
    );
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].0, relationship());
    assert_eq!(links[0].1.given_name, "Jane");
    assert_eq!(back[0].1.id, id(2), "the other end sees the child");
    assert_eq!(schools[0].school_name, "Example Academy");
    assert_eq!(schools[0].started_on, Some(date!(2022 - 09 - 01)));

    let found = store
        .read(|tx| {
            Box::pin(async move {
                let at = |v: Vec<(Person, bool)>| {
                    v.into_iter().map(|(p, c)| (p.id, c)).collect::<Vec<_>>()
                };
                let earlier = at(tx.children_at_postcode(&pc("SS1 1AA")?).await?);
                let now = at(tx.children_at_postcode(&pc("CM1 1AA")?).await?);
                let nowhere = at(tx.children_at_postcode(&pc("ZZ9 9ZZ")?).await?);
                let nhs: Vec<Uuid> = tx
                    .children_with_identifier(IdentifierKind::NhsNumber, "943 476 5919")
                    .await?
                    .iter()
                    .map(|p| p.id)
                    .collect();
                let other_kind = tx
                    .children_with_identifier(IdentifierKind::Upn, "943 476 5919")
                    .await?
                    .len();
                let mut pools = Vec::new();
                for (scope, initial) in [
                    (scope(10), "h"),
                    (scope(11), "h"),
                    (scope(12), "h"),
                    (scope(10), "x"),
                    (Scope::Nothing, "h"),
                ] {
                    pools.push(
                        tx.adult_match_pool(&scope, PersonKind::ParentCarer, initial, "", &[], 50)
                            .await?
                            .len(),
                    );
                }
                let by_date = tx
                    .adult_match_pool(
                        &scope(10),
                        PersonKind::ParentCarer,
                        "",
                        "",
                        &[date!(1985 - 01 - 20)],
                        50,
                    )
                    .await?
                    .len();
                let wrong_kind = tx
                    .adult_match_pool(&scope(10), PersonKind::PersonOfConcern, "h", "", &[], 50)
                    .await?
                    .len();
                Ok((
                    earlier, now, nowhere, nhs, other_kind, pools, by_date, wrong_kind,
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(
        found.0,
        vec![(id(2), false)],
        "found at the postcode they left"
    );
    assert_eq!(found.1, vec![(id(2), true)]);
    assert!(found.2.is_empty());
    assert_eq!(found.3, vec![id(2)], "shared NHS number");
    assert_eq!(found.4, 0, "the kind must match too");
    assert_eq!(
        found.5,
        vec![1, 1, 0, 0, 0],
        "adults only through a child in scope, blocked by initial"
    );
    assert_eq!(found.6, 1, "blocked by date of birth");
    assert_eq!(found.7, 0, "only the kind asked for");
}

async fn merges_move_and_restore_addresses_schools_and_links(db: &TestDb) {
    let store = db.store();
    let before = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                Ok((holdings(tx, id(1)).await?, holdings(tx, id(2)).await?))
            })
        })
        .await
        .unwrap();
    assert_eq!(before.0.0.len() + before.0.1.len() + before.0.2.len(), 0);
    let merged = store
        .write(|tx| {
            Box::pin(async move {
                tx.merge_people(&merge_row(false)).await?;
                holdings(tx, id(1)).await
            })
        })
        .await
        .unwrap();
    assert_eq!(merged.0.len(), 2, "addresses moved");
    assert_eq!(merged.1, vec![id(700)], "school moved");
    assert_eq!(
        merged.2,
        vec![id(50)],
        "the parent is linked to the kept record"
    );
    assert_eq!(merged.3, vec![id(1)], "and the parent sees the kept record");
    let after = store
        .write(|tx| {
            Box::pin(async move {
                tx.unmerge_people(&merge_row(true)).await?;
                Ok((holdings(tx, id(1)).await?, holdings(tx, id(2)).await?))
            })
        })
        .await
        .unwrap();
    assert_eq!(after, before, "undoing the merge puts every row back");
}

mace_testkit::contract_tests!(
    addresses_schools_and_relationships,
    merges_move_and_restore_addresses_schools_and_links
);
