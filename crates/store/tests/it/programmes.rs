//! Group programmes on both engines: programmes (with their eligibility rules), cohorts,
//! sessions, members and attendance round-trip; places taken leave out children who withdrew;
//! attendance is one mark per child per session, replaced when recorded again.

use super::merges::setup;
use mace_domain::Result;
use mace_domain::person::Gender;
use mace_domain::ports::ProgrammeRepo;
use mace_domain::programmes::{
    Attendance, AttendanceMark, Cohort, CohortMember, CohortSession, MemberStatus, Programme,
    ProgrammeOutcome,
};
use mace_store::Tx;
use mace_testkit::TestDb;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn programme(n: u128, name: &str) -> Programme {
    Programme {
        id: id(n),
        name: name.into(),
        org_id: id(11),
        description: "Seven weekly sessions on healthy relationships and staying safe".into(),
        min_age: 13,
        max_age: 16,
        genders: vec![Gender::Female, Gender::NonBinary],
        districts: vec!["CO15".into(), "SS1".into()],
        session_count: 7,
        capacity: 8,
        service_id: None,
        created_by: id(20),
        created_at: T0,
    }
}

fn cohort(n: u128, programme: u128, start: Date) -> Cohort {
    Cohort {
        id: id(n),
        programme_id: id(programme),
        start_on: start,
        venue: "Clacton youth centre".into(),
        facilitators: "Two youth workers".into(),
        created_by: id(20),
        created_at: T0,
    }
}

fn member(n: u128, cohort: u128, person: u128, status: MemberStatus) -> CohortMember {
    CohortMember {
        id: id(n),
        cohort_id: id(cohort),
        person_id: id(person),
        status,
        withdraw_reason: None,
        outcome: None,
        outcome_note: String::new(),
        safety_before: None,
        safety_after: None,
        org_id: id(11),
        added_by: id(20),
        added_at: T0 + time::Duration::seconds(i64::try_from(n).unwrap_or(0)),
        updated_at: T0,
    }
}

async fn fill(tx: &mut Tx) -> Result<()> {
    setup(tx).await?;
    tx.insert_programme(&programme(800, "Peer programme"))
        .await?;
    let mut open = programme(801, "Boys' group");
    open.genders.clear();
    open.districts.clear();
    open.org_id = id(10);
    tx.insert_programme(&open).await?;
    tx.insert_cohort(&cohort(810, 800, date!(2026 - 03 - 09)))
        .await?;
    tx.insert_cohort(&cohort(811, 800, date!(2026 - 01 - 12)))
        .await?;
    tx.insert_cohort(&cohort(812, 801, date!(2026 - 04 - 01)))
        .await?;
    for n in (1..=3).rev() {
        tx.insert_session(&CohortSession {
            id: id(820 + n),
            cohort_id: id(810),
            number: i32::try_from(n).unwrap_or(0),
            held_on: date!(2026 - 03 - 09)
                + time::Duration::weeks(i64::try_from(n).unwrap_or(0) - 1),
            topic: format!("Topic {n}"),
        })
        .await?;
    }
    tx.insert_member(&member(830, 810, 1, MemberStatus::Offered))
        .await?;
    tx.insert_member(&member(831, 810, 2, MemberStatus::Withdrew))
        .await?;
    tx.insert_member(&member(832, 811, 1, MemberStatus::Completed))
        .await
}

async fn programmes_cohorts_sessions_and_members_round_trip(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let mut done = member(830, 810, 1, MemberStatus::Completed);
                done.outcome = Some(ProgrammeOutcome::PositiveChange);
                done.outcome_note = "Says she knows who to talk to now".into();
                done.safety_before = Some(3);
                done.safety_after = Some(7);
                done.updated_at = T0 + time::Duration::days(50);
                tx.update_member(&done).await?;
                Ok((
                    tx.get_programme(id(800)).await?,
                    tx.list_programmes().await?,
                    tx.cohorts_of(id(800)).await?,
                    tx.lock_cohort(id(810)).await?,
                    tx.get_cohort(id(999)).await?,
                    tx.cohorts_run_by(id(11), date!(2026 - 02 - 01)).await?,
                    tx.sessions_of(id(810)).await?,
                    tx.get_session(id(822)).await?,
                    tx.members_of(id(810)).await?,
                    tx.memberships_of(id(1)).await?,
                    tx.get_member(id(830)).await?,
                    tx.places_taken(id(800)).await?,
                    tx.service_name(id(999)).await?,
                ))
            })
        })
        .await
        .unwrap();
    let (
        p,
        all,
        cohorts,
        locked,
        none,
        run_by,
        sessions,
        second,
        members,
        places,
        done,
        taken,
        service,
    ) = got;
    assert_eq!(p, Some(programme(800, "Peer programme")));
    assert_eq!(
        all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["Boys' group", "Peer programme"],
        "by name"
    );
    assert!(all[0].genders.is_empty() && all[0].districts.is_empty());
    assert_eq!(
        cohorts.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![id(811), id(810)],
        "by start date"
    );
    assert_eq!(locked, Some(cohort(810, 800, date!(2026 - 03 - 09))));
    assert!(none.is_none());
    assert_eq!(
        run_by.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![id(810)],
        "the council's cohorts from February: not the school's, not January's"
    );
    assert_eq!(
        sessions.iter().map(|s| s.number).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(sessions[0].held_on, date!(2026 - 03 - 09));
    assert_eq!(second.map(|s| s.topic), Some("Topic 2".into()));
    assert_eq!(
        members.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![id(830), id(831)]
    );
    assert_eq!(
        places.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![id(832), id(830)],
        "newest first"
    );
    let done = done.unwrap();
    assert_eq!(done.status, MemberStatus::Completed);
    assert_eq!(done.outcome, Some(ProgrammeOutcome::PositiveChange));
    assert_eq!((done.safety_before, done.safety_after), (Some(3), Some(7)));
    assert_eq!(done.updated_at, T0 + time::Duration::days(50));
    let mut taken = taken;
    taken.sort();
    assert_eq!(
        taken,
        vec![(id(810), 1), (id(811), 1)],
        "the child who withdrew holds no place"
    );
    assert!(service.is_none());
}

async fn attendance_is_one_mark_per_child_per_session(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let mark = |session: u128, member: u128, a: Attendance| AttendanceMark {
                    session_id: id(session),
                    member_id: id(member),
                    attendance: a,
                    recorded_by: id(20),
                    recorded_at: T0,
                };
                tx.set_attendance(&mark(821, 830, Attendance::Absent))
                    .await?;
                tx.set_attendance(&mark(821, 831, Attendance::Excused))
                    .await?;
                tx.set_attendance(&mark(822, 830, Attendance::Attended))
                    .await?;
                // Recorded again: replaced, not added.
                tx.set_attendance(&mark(821, 830, Attendance::Attended))
                    .await?;
                Ok((
                    tx.attendance_of(id(810)).await?,
                    tx.member_attendance(id(830)).await?,
                    tx.attendance_of(id(811)).await?,
                ))
            })
        })
        .await
        .unwrap();
    let (cohort, one, other) = got;
    assert_eq!(cohort.len(), 3);
    assert_eq!(
        one.iter()
            .map(|a| (a.session_id, a.attendance))
            .collect::<Vec<_>>(),
        vec![
            (id(821), Attendance::Attended),
            (id(822), Attendance::Attended)
        ]
    );
    assert!(
        cohort
            .iter()
            .any(|a| a.member_id == id(831) && a.attendance == Attendance::Excused)
    );
    assert!(other.is_empty());
}

mace_testkit::contract_tests!(
    programmes_cohorts_sessions_and_members_round_trip,
    attendance_is_one_mark_per_child_per_session
);
