//! Children's records on both engines: the SQL scope filter agrees with the policy's oracle
//! (`authz::scope_admits`) for every combination of relationship, break-glass and marking, and
//! concerns, triage fields and the chronology round-trip.

use mace_domain::authz::{self, Actor, Marking, OrgType, Role, Scope};
use mace_domain::cases::{
    BreakGlassGrant, ChronologyEntry, Concern, ConcernIndicator, ConcernStatus, ExploitationType,
    Involvement, InvolvementReason, TriageDecision,
};
use mace_domain::identity::model::{Email, Organisation, User, UserStatus};
use mace_domain::person::{Gender, Person, PersonKind};
use mace_domain::ports::{CaseRepo, IdentityRepo, PersonRepo};
use mace_domain::search::HitKind;
use mace_testkit::TestDb;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn org(n: u128, name: &str, t: OrgType) -> Organisation {
    Organisation {
        id: id(n),
        name: name.into(),
        org_type: t,
        created_at: T0,
    }
}

fn user(n: u128, org: Uuid, email: &str) -> User {
    User {
        id: id(n),
        org_id: org,
        team_id: None,
        email: Email::parse(email).unwrap(),
        display_name: format!("User {n}"),
        roles: vec![Role::SocialWorker],
        status: UserStatus::Active,
        password_hash: None,
        password_changed_at: None,
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        created_at: T0,
        updated_at: T0,
    }
}

fn child(n: u128, given: &str, family: &str) -> Person {
    Person {
        id: id(n),
        kind: PersonKind::Child,
        given_name: given.into(),
        family_name: family.into(),
        date_of_birth: Some(date!(2011 - 04 - 09)),
        dob_approximate: false,
        gender: Gender::Female,
        postcode: None,
        created_at: T0,
        updated_at: T0,
    }
}

/// Every combination of: the viewer's org involved, the viewer allocated, break-glass
/// (none/active/expired), marking (none/police only/staff involved), cleared or not.
async fn scope_filter_agrees_with_the_policy(db: &TestDb) {
    let school = org(1, "School", OrgType::School);
    let police = org(2, "Police", OrgType::Police);
    let teacher = user(10, school.id, "sw@school.example");
    let officer = user(11, police.id, "pio@police.example");
    let mut cases = Vec::new();
    let mut n = 100u128;
    for involved in [false, true] {
        for allocated in [false, true] {
            for glass in 0..3 {
                for marking in 0..3 {
                    for cleared in [false, true] {
                        n += 1;
                        cases.push((n, involved, allocated, glass, marking, cleared));
                    }
                }
            }
        }
    }
    let cases2 = cases.clone();
    let (s, p, t, o) = (
        school.clone(),
        police.clone(),
        teacher.clone(),
        officer.clone(),
    );
    db.store()
        .write(move |tx| {
            let (s, p, t, o, cases) = (s.clone(), p.clone(), t.clone(), o.clone(), cases2.clone());
            Box::pin(async move {
                tx.insert_org(&s).await?;
                tx.insert_org(&p).await?;
                tx.insert_user(&t).await?;
                tx.insert_user(&o).await?;
                for (n, involved, allocated, glass, marking, cleared) in cases {
                    let c = child(n, &format!("Child{n}"), "Testcase");
                    tx.insert_person(&c).await?;
                    for viewer in [&t, &o] {
                        if involved {
                            tx.insert_involvement(&Involvement {
                                person_id: c.id,
                                org_id: viewer.org_id,
                                reason: InvolvementReason::RaisedConcern,
                                is_lead: false,
                                created_at: T0,
                            })
                            .await?;
                        }
                        if allocated {
                            tx.allocate(c.id, viewer.id, T0).await?;
                        }
                        if glass > 0 {
                            tx.insert_break_glass(&BreakGlassGrant {
                                id: Uuid::from_u128(n * 1000 + u128::from(viewer.id == o.id)),
                                person_id: c.id,
                                user_id: viewer.id,
                                org_id: viewer.org_id,
                                reason: "Urgent: missing tonight".into(),
                                created_at: T0 - Duration::hours(2),
                                // 1: active now; 2: expired an hour ago.
                                expires_at: if glass == 1 {
                                    T0 + Duration::minutes(20)
                                } else {
                                    T0 - Duration::hours(1)
                                },
                            })
                            .await?;
                        }
                        if cleared {
                            tx.clear_for_restricted(c.id, viewer.id, T0).await?;
                        }
                    }
                    let mark = match marking {
                        1 => Some(Marking::PoliceOnly),
                        2 => Some(Marking::StaffInvolved),
                        _ => None,
                    };
                    if let Some(m) = mark {
                        tx.set_marking(c.id, m, T0).await?;
                    }
                }
                Ok(())
            })
        })
        .await
        .unwrap();

    for (viewer, org_type) in [(&teacher, OrgType::School), (&officer, OrgType::Police)] {
        let actor = Actor {
            user_id: viewer.id,
            org_id: viewer.org_id,
            org_type,
            roles: vec![Role::SocialWorker],
            mfa_at: Some(T0),
            now: T0,
        };
        let scope = authz::scope(&actor);
        let (v, sc) = (viewer.clone(), scope.clone());
        let (listed, facts) = db
            .store()
            .read(move |tx| {
                let (v, sc) = (v.clone(), sc.clone());
                Box::pin(async move {
                    let listed: Vec<Uuid> = tx
                        .list_children(&sc, "", 1000)
                        .await?
                        .into_iter()
                        .map(|p| p.id)
                        .collect();
                    let mut facts = Vec::new();
                    for n in 101..=172u128 {
                        facts.push((id(n), tx.record_facts(id(n), v.id, v.org_id, T0).await?));
                    }
                    Ok((listed, facts))
                })
            })
            .await
            .unwrap();
        assert_eq!(facts.len(), cases.len());
        let mut admitted = 0;
        for ((pid, f), (_, involved, allocated, glass, marking, cleared)) in
            facts.iter().zip(&cases)
        {
            // The facts are what was stored…
            assert_eq!(f.org_involved, *involved);
            assert_eq!(f.user_allocated, *allocated);
            assert_eq!(
                f.break_glass_active,
                *glass == 1,
                "expired grants do not count"
            );
            assert_eq!(f.viewer_cleared_for_restricted, *cleared);
            let want_marks: Vec<Marking> = match marking {
                1 => vec![Marking::PoliceOnly],
                2 => vec![Marking::StaffInvolved],
                _ => vec![],
            };
            assert_eq!(f.markings, want_marks);
            // …the list shows exactly what the oracle admits…
            let admits = authz::scope_admits(&scope, f);
            assert_eq!(
                listed.contains(pid),
                admits,
                "{org_type:?} viewer, child {pid}: {f:?}"
            );
            // …and whatever is listed can also be opened.
            if admits {
                admitted += 1;
                assert!(
                    authz::decide(&actor, authz::Action::ViewRecord, Some(f)).allow,
                    "{f:?}"
                );
            }
        }
        assert!(
            admitted > 0 && admitted < cases.len(),
            "the cases cover both outcomes"
        );
    }
    // A viewer who reads no case data lists nothing.
    let nothing = db
        .store()
        .read(|tx| Box::pin(async move { tx.list_children(&Scope::Nothing, "", 1000).await }))
        .await
        .unwrap();
    assert!(nothing.is_empty());
}

async fn children_search_by_name_prefix(db: &TestDb) {
    let school = org(1, "School", OrgType::School);
    let s = school.clone();
    db.store()
        .write(move |tx| {
            let s = s.clone();
            Box::pin(async move {
                tx.insert_org(&s).await?;
                for (n, g, f) in [
                    (1u128, "Kayleigh", "O'Brien"),
                    (2, "Kayley", "Obi"),
                    (3, "Bob", "Smith"),
                    (4, "100%", "Under_score"),
                ] {
                    let c = child(200 + n, g, f);
                    tx.insert_person(&c).await?;
                    tx.insert_involvement(&Involvement {
                        person_id: c.id,
                        org_id: s.id,
                        reason: InvolvementReason::Recorded,
                        is_lead: true,
                        created_at: T0,
                    })
                    .await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    let scope = Scope::Related {
        org_id: school.id,
        user_id: id(99),
        now: T0,
        police: false,
    };
    let names = |q: &'static str| {
        let sc = scope.clone();
        let store = db.store();
        async move {
            store
                .read(move |tx| {
                    let sc = sc.clone();
                    Box::pin(async move { tx.list_children(&sc, q, 50).await })
                })
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.given_name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("kay").await, vec!["Kayleigh", "Kayley"]);
    assert_eq!(names("ob").await, vec!["Kayley"]);
    assert_eq!(names("o'b").await, vec!["Kayleigh"]);
    assert_eq!(names("smith").await, vec!["Bob"]);
    // LIKE wildcards in the query are literal.
    assert_eq!(names("%").await, Vec::<String>::new());
    assert_eq!(names("under_").await, vec!["100%"]);
    assert_eq!(names("").await.len(), 4);
}

async fn concerns_and_chronology_round_trip(db: &TestDb) {
    let school = org(1, "School", OrgType::School);
    let teacher = user(10, school.id, "t@school.example");
    let c = child(300, "Amira", "Hussain");
    let concern = Concern {
        id: id(400),
        person_id: c.id,
        raised_by_user: teacher.id,
        raised_by_org: school.id,
        status: ConcernStatus::Submitted,
        observed_at: Some(T0 - Duration::days(1)),
        location: "Bus station".into(),
        narrative: "Seen being collected by an adult in a car, after school.".into(),
        exploitation_types: vec![ExploitationType::Sexual, ExploitationType::Online],
        indicators: vec![ConcernIndicator::Vehicles, ConcernIndicator::GiftsMoney],
        group_id: Some(id(450)),
        front_door_org: Some(id(2)),
        child_words: "‘He buys me things.’".into(),
        others_present: String::new(),
        actions_taken: "Told the DSL".into(),
        created_at: T0,
        decision: None,
        rationale: None,
        decided_by: None,
        decided_at: None,
    };
    let (s, t, ch, co) = (school.clone(), teacher.clone(), c.clone(), concern.clone());
    db.store()
        .write(move |tx| {
            let (s, t, ch, co) = (s.clone(), t.clone(), ch.clone(), co.clone());
            Box::pin(async move {
                tx.insert_org(&s).await?;
                tx.insert_org(&org(2, "Front door", OrgType::ChildrensSocialCare))
                    .await?;
                tx.insert_user(&t).await?;
                tx.insert_person(&ch).await?;
                tx.insert_concern(&co).await?;
                for (n, at) in [(501u128, T0), (502, T0 - Duration::days(3))] {
                    tx.insert_chronology(&ChronologyEntry {
                        id: id(n),
                        person_id: ch.id,
                        kind: "concern".into(),
                        source_id: co.id,
                        org_id: s.id,
                        event_at: at,
                        recorded_at: T0,
                        summary: format!("entry {n}"),
                        marking: (n == 502).then_some(Marking::PoliceOnly),
                    })
                    .await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    let store = db.store();
    let (got, queue, mine, chron, front_door, group) = store
        .read(move |tx| {
            Box::pin(async move {
                Ok((
                    tx.get_concern(id(400)).await?,
                    tx.concerns_for_triage(id(1)).await?,
                    tx.concerns_raised_by(id(10)).await?,
                    tx.list_chronology(id(300)).await?,
                    tx.concerns_for_triage(id(2)).await?,
                    tx.concerns_in_group(id(450)).await?,
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(got.as_ref(), Some(&concern));
    assert_eq!(queue.len(), 1);
    assert_eq!(front_door.len(), 1, "the front door's queue has it too");
    assert_eq!(group, vec![concern.clone()]);
    assert_eq!(queue[0].child_name, "Amira Hussain");
    assert_eq!(mine.len(), 1);
    assert_eq!(
        chron.iter().map(|e| e.summary.as_str()).collect::<Vec<_>>(),
        ["entry 502", "entry 501"],
    );
    assert_eq!(
        chron.iter().map(|e| e.marking).collect::<Vec<_>>(),
        [Some(Marking::PoliceOnly), None],
        "by event time"
    );

    let mut triaged = concern.clone();
    triaged.status = ConcernStatus::Triaged;
    triaged.decision = Some(TriageDecision::ReferCsc);
    triaged.rationale = Some("Adult male, gifts, online contact".into());
    triaged.decided_by = Some(teacher.id);
    triaged.decided_at = Some(T0 + Duration::hours(2));
    let tr = triaged.clone();
    let (got, queue) = store
        .write(move |tx| {
            let tr = tr.clone();
            Box::pin(async move {
                tx.update_concern(&tr).await?;
                Ok((
                    tx.get_concern(id(400)).await?,
                    tx.concerns_for_triage(id(1)).await?,
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(got, Some(triaged));
    assert!(queue.is_empty(), "triaged concerns leave the queue");
}

/// Full-text search: stemmed, every word needed, inside the viewer's scope (or their own
/// concerns), entry markings respected, merged records left out.
async fn full_text_search_is_scoped(db: &TestDb) {
    let school = org(1, "School", OrgType::School);
    let police = org(2, "Police", OrgType::Police);
    let teacher = user(10, school.id, "t@school.example");
    let (s, p, t) = (school.clone(), police.clone(), teacher.clone());
    db.store()
        .write(move |tx| {
            let (s, p, t) = (s.clone(), p.clone(), t.clone());
            Box::pin(async move {
                tx.insert_org(&s).await?;
                tx.insert_org(&p).await?;
                tx.insert_user(&t).await?;
                // 301 is the school's; 302 is not (but the teacher raised a concern on it);
                // 303 is nobody's the school knows.
                for (n, g) in [(301u128, "Amira"), (302, "Jade"), (303, "Leon")] {
                    tx.insert_person(&child(n, g, "Test")).await?;
                }
                tx.insert_involvement(&Involvement {
                    person_id: id(301),
                    org_id: s.id,
                    reason: InvolvementReason::Recorded,
                    is_lead: true,
                    created_at: T0,
                })
                .await?;
                for (cid, person, by, text) in [
                    (
                        401u128,
                        301u128,
                        10u128,
                        "Seen getting into a grey car at the stations",
                    ),
                    (402, 302, 10, "Grey car outside the school again"),
                    (403, 303, 10, "nothing relevant"),
                ] {
                    tx.insert_concern(&Concern {
                        id: id(cid),
                        person_id: id(person),
                        raised_by_user: id(by),
                        raised_by_org: s.id,
                        status: ConcernStatus::Submitted,
                        observed_at: None,
                        location: String::new(),
                        narrative: text.into(),
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
                }
                // Notes: on the school's child, one police only; one on a child outside scope.
                for (eid, person, marking, text) in [
                    (
                        501u128,
                        301u128,
                        None,
                        "Correction: the car was grey, not blue",
                    ),
                    (
                        502,
                        301,
                        Some(Marking::PoliceOnly),
                        "Grey car registered to a known adult",
                    ),
                    (503, 303, None, "Grey car seen again"),
                ] {
                    tx.insert_chronology(&ChronologyEntry {
                        id: id(eid),
                        person_id: id(person),
                        kind: "addendum".into(),
                        source_id: id(401),
                        org_id: s.id,
                        event_at: T0,
                        recorded_at: T0,
                        summary: text.into(),
                        marking,
                    })
                    .await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    let search = |scope: Scope, user: u128, words: &'static [&'static str]| {
        let store = db.store();
        async move {
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            let mut hits: Vec<(HitKind, u128)> = store
                .read(move |tx| {
                    let (scope, words) = (scope.clone(), words.clone());
                    Box::pin(async move { tx.search_text(&scope, id(user), &words, 50).await })
                })
                .await
                .unwrap()
                .into_iter()
                .map(|h| (h.kind, h.id.as_u128()))
                .collect();
            hits.sort_by_key(|h| h.1);
            hits
        }
    };
    let school_scope = Scope::Related {
        org_id: school.id,
        user_id: id(10),
        now: T0,
        police: false,
    };
    // "station" finds "stations"; 402 is the teacher's own concern; 403 is out of scope; the
    // police-only note is left out; 503 is on a record outside the scope.
    assert_eq!(
        search(school_scope.clone(), 10, &["grey", "car"]).await,
        [
            (HitKind::Concern, 401),
            (HitKind::Concern, 402),
            (HitKind::Note, 501)
        ]
    );
    assert_eq!(
        search(school_scope.clone(), 10, &["grey", "station"]).await,
        [(HitKind::Concern, 401)]
    );
    assert_eq!(
        search(school_scope.clone(), 10, &["grey", "bicycle"]).await,
        []
    );
    // Another user of the school: not the raiser of 402.
    assert_eq!(
        search(school_scope.clone(), 11, &["grey", "car"]).await,
        [(HitKind::Concern, 401), (HitKind::Note, 501)]
    );
    // No scope at all: only one's own concerns.
    assert_eq!(
        search(Scope::Nothing, 10, &["grey"]).await,
        [(HitKind::Concern, 401), (HitKind::Concern, 402)]
    );
    // The police, involved with 301, see the police-only note too.
    let pid = police.id;
    db.store()
        .write(move |tx| {
            Box::pin(async move {
                tx.insert_involvement(&Involvement {
                    person_id: id(301),
                    org_id: pid,
                    reason: InvolvementReason::HoldsCase,
                    is_lead: false,
                    created_at: T0,
                })
                .await
            })
        })
        .await
        .unwrap();
    let police_scope = Scope::Related {
        org_id: police.id,
        user_id: id(20),
        now: T0,
        police: true,
    };
    assert_eq!(
        search(police_scope, 20, &["grey", "car"]).await,
        [
            (HitKind::Concern, 401),
            (HitKind::Note, 501),
            (HitKind::Note, 502)
        ]
    );
}

/// Drafts: saved, replaced, read by author and child only, and deleted.
async fn concern_drafts_round_trip(db: &TestDb) {
    let school = org(1, "School", OrgType::School);
    let teacher = user(10, school.id, "t@school.example");
    let other = user(11, school.id, "o@school.example");
    let (a, b) = (
        child(300, "Amira", "Hussain"),
        child(301, "Jade", "Hussain"),
    );
    let mut fields = std::collections::BTreeMap::new();
    fields.insert(
        "narrative".to_string(),
        "Seen at the bus station ‘with him’".to_string(),
    );
    fields.insert("type_sexual".to_string(), "yes".to_string());
    let draft = mace_domain::drafts::ConcernDraft {
        user_id: teacher.id,
        person_id: a.id,
        also: vec![b.id],
        fields,
        updated_at: T0,
    };
    let mut newer = draft.clone();
    newer.fields.insert("location".into(), "Bus station".into());
    newer.also.clear();
    newer.updated_at = T0 + Duration::minutes(1);
    let (d1, d2) = (draft.clone(), newer.clone());
    let (s, t, o, ca, cb) = (school, teacher, other, a, b);
    let got = db
        .store()
        .write(move |tx| {
            let (s, t, o, ca, cb, d1, d2) = (
                s.clone(),
                t.clone(),
                o.clone(),
                ca.clone(),
                cb.clone(),
                d1.clone(),
                d2.clone(),
            );
            Box::pin(async move {
                tx.insert_org(&s).await?;
                tx.insert_user(&t).await?;
                tx.insert_user(&o).await?;
                tx.insert_person(&ca).await?;
                tx.insert_person(&cb).await?;
                tx.save_draft(&d1).await?;
                let first = tx.get_draft(t.id, ca.id).await?;
                tx.save_draft(&d2).await?;
                let second = tx.get_draft(t.id, ca.id).await?;
                let others = tx.get_draft(o.id, ca.id).await?;
                let other_child = tx.get_draft(t.id, cb.id).await?;
                tx.delete_draft(t.id, ca.id).await?;
                tx.delete_draft(t.id, ca.id).await?;
                let gone = tx.get_draft(t.id, ca.id).await?;
                Ok((first, second, others, other_child, gone))
            })
        })
        .await
        .unwrap();
    assert_eq!(got.0, Some(draft));
    assert_eq!(got.1, Some(newer), "saving again replaces the draft");
    assert_eq!((got.2, got.3, got.4), (None, None, None));
}

/// The blocking step of search before create: by initial of either name or by date of birth,
/// children only, unscoped, and an empty initial matches nothing.
async fn match_pool_blocks_by_initials_and_dates(db: &TestDb) {
    db.store()
        .write(move |tx| {
            Box::pin(async move {
                for (n, g, f, d) in [
                    (1u128, "Kayleigh", "Harrison", date!(2011 - 04 - 09)),
                    (2, "Caley", "Smith", date!(2011 - 09 - 04)),
                    (3, "Bob", "Hughes", date!(2010 - 01 - 01)),
                    (4, "Ann", "Jones", date!(2009 - 02 - 02)),
                ] {
                    tx.insert_person(&Person {
                        date_of_birth: Some(d),
                        ..child(300 + n, g, f)
                    })
                    .await?;
                }
                tx.insert_person(&Person {
                    kind: PersonKind::ParentCarer,
                    ..child(399, "Karen", "Harrison")
                })
                .await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    let pool = |f: &'static str, g: &'static str, dates: Vec<time::Date>| {
        let store = db.store();
        async move {
            let mut names = store
                .read(move |tx| {
                    let dates = dates.clone();
                    Box::pin(async move { tx.match_pool(f, g, &dates, 100).await })
                })
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.given_name)
                .collect::<Vec<_>>();
            names.sort();
            names
        }
    };
    assert_eq!(pool("h", "", vec![]).await, vec!["Bob", "Kayleigh"]);
    assert_eq!(pool("", "k", vec![]).await, vec!["Kayleigh"]);
    assert_eq!(
        pool("x", "x", vec![date!(2011 - 04 - 09), date!(2011 - 09 - 04)]).await,
        vec!["Caley", "Kayleigh"]
    );
    assert_eq!(pool("", "", vec![]).await, Vec::<String>::new());
    assert_eq!(pool("%", "_", vec![]).await, Vec::<String>::new());
}

mace_testkit::contract_tests!(
    scope_filter_agrees_with_the_policy,
    children_search_by_name_prefix,
    match_pool_blocks_by_initials_and_dates,
    concerns_and_chronology_round_trip,
    concern_drafts_round_trip,
    full_text_search_is_scoped,
);
