//! Merging duplicate records on both engines: a merge moves the duplicate's concerns and
//! chronology and copies its relationships and markings; undoing it puts back exactly those rows.

use mace_domain::authz::{Marking, OrgType, Role};
use mace_domain::cases::{
    ChronologyEntry, Concern, ConcernStatus, ExploitationType, Involvement, InvolvementReason,
};
use mace_domain::dedupe::PersonMerge;
use mace_domain::identity::model::{Email, Organisation, User, UserStatus};
use mace_domain::person::{Gender, Person, PersonKind};
use mace_domain::ports::{CaseRepo, IdentityRepo, MergeRepo, PersonRepo};
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

fn child(n: u128, given: &str) -> Person {
    Person {
        id: id(n),
        kind: PersonKind::Child,
        given_name: given.into(),
        family_name: "Harrison".into(),
        date_of_birth: Some(date!(2011 - 04 - 09)),
        dob_approximate: false,
        gender: Gender::Female,
        postcode: None,
        created_at: T0,
        updated_at: T0,
    }
}

pub(crate) fn merge_row(undone: bool) -> PersonMerge {
    PersonMerge {
        id: id(900),
        survivor_id: id(1),
        duplicate_id: id(2),
        reason: "Same child: same school and date of birth".into(),
        merged_by: id(20),
        merged_at: T0,
        undone_by: undone.then_some(id(20)),
        undone_at: undone.then_some(T0),
        undo_reason: undone.then(|| "Different children after all".into()),
    }
}

pub(crate) async fn setup(tx: &mut Tx) -> Result<()> {
    for (n, name, t) in [
        (10u128, "School", OrgType::School),
        (11, "Council", OrgType::ChildrensSocialCare),
    ] {
        tx.insert_org(&Organisation {
            id: id(n),
            name: name.into(),
            org_type: t,
            created_at: T0,
        })
        .await?;
    }
    tx.insert_user(&User {
        id: id(20),
        org_id: id(11),
        team_id: None,
        email: Email::parse("sw@council.example").map_err(|_| Error::NotFound)?,
        display_name: "Social worker".into(),
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
    tx.insert_person(&child(1, "Kayleigh")).await?;
    tx.insert_person(&child(2, "Kayley")).await?;
    for (person, org, lead) in [
        (id(1), id(11), true),
        (id(2), id(10), true),
        (id(2), id(11), false),
    ] {
        tx.insert_involvement(&Involvement {
            person_id: person,
            org_id: org,
            reason: InvolvementReason::RaisedConcern,
            is_lead: lead,
            created_at: T0,
        })
        .await?;
    }
    tx.allocate(id(2), id(20), T0).await?;
    tx.set_marking(id(2), Marking::StaffInvolved, T0).await?;
    tx.insert_concern(&Concern {
        id: id(300),
        person_id: id(2),
        raised_by_user: id(20),
        raised_by_org: id(10),
        status: ConcernStatus::Submitted,
        observed_at: None,
        location: "School gate".into(),
        narrative: "Collected by an unknown adult in a car".into(),
        exploitation_types: vec![ExploitationType::Criminal],
        indicators: vec![],
        group_id: None,
        front_door_org: None,
        child_words: String::new(),
        others_present: String::new(),
        actions_taken: String::new(),
        created_at: T0,
        decision: None,
        rationale: None,
        decided_by: None,
        decided_at: None,
    })
    .await?;
    tx.insert_chronology(&ChronologyEntry {
        id: id(400),
        person_id: id(2),
        kind: "concern".into(),
        source_id: id(300),
        org_id: id(10),
        event_at: T0,
        recorded_at: T0,
        summary: "Concern raised".into(),
        marking: None,
    })
    .await?;
    tx.insert_identifier(&mace_domain::identifiers::PersonIdentifier {
        id: id(500),
        person_id: id(2),
        kind: mace_domain::identifiers::IdentifierKind::NhsNumber,
        value: "943 476 5919".into(),
        org_id: id(10),
        created_by: id(20),
        created_at: T0,
    })
    .await
}

/// What a record holds, as the merge moves it.
async fn holdings(
    tx: &mut Tx,
    person: Uuid,
) -> Result<(Vec<Uuid>, usize, Vec<Marking>, bool, usize)> {
    let orgs = tx
        .involvements(person)
        .await?
        .into_iter()
        .map(|i| i.org_id)
        .collect();
    let entries = tx.list_chronology(person).await?.len();
    let facts = tx.record_facts(person, id(20), id(10), T0).await?;
    let identifiers = tx.identifiers(person).await?.len();
    Ok((
        orgs,
        entries,
        facts.markings,
        facts.user_allocated,
        identifiers,
    ))
}

async fn merge_moves_and_unmerge_restores(db: &TestDb) {
    let store = db.store();
    let before = store
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                Ok((holdings(tx, id(1)).await?, holdings(tx, id(2)).await?))
            })
        })
        .await
        .unwrap();
    assert_eq!(before.0, (vec![id(11)], 0, vec![], false, 0));
    let merged = store
        .write(|tx| {
            Box::pin(async move {
                tx.merge_people(&merge_row(false)).await?;
                let people: Vec<Uuid> = tx.linkage_people().await?.iter().map(|p| p.id).collect();
                Ok((
                    tx.merged_into(id(2)).await?,
                    people,
                    holdings(tx, id(1)).await?,
                    tx.get_concern(id(300)).await?.map(|c| c.person_id),
                    tx.merges_into(id(1)).await?,
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(merged.0, Some(id(1)));
    assert_eq!(merged.1, vec![id(1)], "a merged record leaves the review");
    let (mut orgs, entries, markings, allocated, identifiers) = merged.2;
    assert_eq!(identifiers, 1, "identifiers moved");
    orgs.sort();
    assert_eq!(orgs, vec![id(10), id(11)], "relationships copied");
    assert_eq!(entries, 1, "chronology moved");
    assert_eq!(markings, vec![Marking::StaffInvolved], "markings copied");
    assert!(allocated, "allocation copied");
    assert_eq!(merged.3, Some(id(1)), "concern moved");
    assert_eq!(merged.4, vec![merge_row(false)]);

    let after = store
        .write(|tx| {
            Box::pin(async move {
                tx.unmerge_people(&merge_row(true)).await?;
                Ok((
                    tx.merged_into(id(2)).await?,
                    holdings(tx, id(1)).await?,
                    holdings(tx, id(2)).await?,
                    tx.get_concern(id(300)).await?.map(|c| c.person_id),
                    tx.get_merge(id(900)).await?,
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(after.0, None);
    assert_eq!(after.1, before.0, "the kept record is as it was");
    assert_eq!(after.2, before.1, "the duplicate is as it was");
    assert_eq!(after.3, Some(id(2)));
    assert_eq!(after.4, Some(merge_row(true)));
    let again = store
        .write(|tx| Box::pin(async move { tx.unmerge_people(&merge_row(true)).await }))
        .await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
}

async fn not_duplicates_round_trip(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                tx.insert_not_duplicate(id(1), id(2), id(20), T0).await?;
                tx.insert_not_duplicate(id(1), id(2), id(20), T0).await?;
                tx.not_duplicates().await
            })
        })
        .await
        .unwrap();
    assert_eq!(got, vec![(id(1), id(2))]);
}

mace_testkit::contract_tests!(merge_moves_and_unmerge_restores, not_duplicates_round_trip);
