//! Children's records, search before create, concerns, triage, refusal and break-glass, through
//! the router as a browser and an API client would (issues 3 and 4). SQLite always, PostgreSQL
//! when TEST_DATABASE_URL is set.

use crate::browser::*;
use crate::support::{Reply, TestApp, app};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::{OrgType, Role};
use mace_domain::cases;
use mace_domain::person::{Gender, NewPerson, PersonKind, PersonName};
use mace_domain::ports::{AuditLog, IdentityRepo};
use time::Duration;
use time::macros::date;
use uuid::Uuid;

pub(crate) const SCHOOL: (&str, OrgType) = ("Riverside Academy", OrgType::School);
pub(crate) const CSC: (&str, OrgType) = (
    "Estuary Children's Social Care",
    OrgType::ChildrensSocialCare,
);
pub(crate) const PARTNERSHIP: (&str, OrgType) = ("Estuary Partnership", OrgType::Partnership);
pub(crate) const POLICE: (&str, OrgType) = ("Estuary Police", OrgType::Police);
pub(crate) const OTHER_CSC: (&str, OrgType) = (
    "Northshire Children's Services",
    OrgType::ChildrensSocialCare,
);

/// The id of the organisation named `name` (which must exist).
pub(crate) async fn org_id(app: &TestApp, name: &str) -> Uuid {
    let name = name.to_string();
    app.state
        .store
        .read(|tx| Box::pin(async move { tx.list_orgs().await }))
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == name)
        .unwrap()
        .id
}

/// The links (`href`s) of the elements `selector` picks, in order.
pub(crate) fn hrefs(r: &Reply, selector: &str) -> Vec<String> {
    let html = r.html();
    let sel = scraper::Selector::parse(selector).unwrap();
    html.select(&sel)
        .filter_map(|a| a.value().attr("href"))
        .map(str::to_string)
        .collect()
}

/// A child recorded by `user` (their organisation leads the record).
pub(crate) async fn child_recorded_by(
    app: &TestApp,
    user: Uuid,
    given: &str,
    family: &str,
) -> Uuid {
    child_born(app, user, given, family, date!(2011 - 04 - 09)).await
}

/// [`child_recorded_by`], born on `dob`.
pub(crate) async fn child_born(
    app: &TestApp,
    user: Uuid,
    given: &str,
    family: &str,
    dob: time::Date,
) -> Uuid {
    let (ctx, key) = (app.state.ctx.clone(), app.state.audit_key.clone());
    let (given, family) = (given.to_string(), family.to_string());
    app.state
        .store
        .write(|tx| {
            let (ctx, key, given, family) =
                (ctx.clone(), key.clone(), given.clone(), family.clone());
            Box::pin(async move {
                let u = tx.get_user(user).await?.unwrap();
                let now = ctx.clock.now();
                let actor = cases::load_actor(tx, &u, Some(now), now).await?;
                let new = NewPerson {
                    kind: PersonKind::Child,
                    given_name: PersonName::parse("given_name", &given).unwrap(),
                    family_name: PersonName::parse("family_name", &family).unwrap(),
                    date_of_birth: Some(dob),
                    dob_approximate: false,
                    gender: Gender::Female,
                    postcode: Some(mace_domain::postcode::Postcode::parse("SS1 2AB").unwrap()),
                };
                Ok(cases::create_child(&ctx, tx, &key, &actor, new).await?.id)
            })
        })
        .await
        .unwrap()
}

pub(crate) fn text(r: &Reply) -> String {
    r.html().root_element().text().collect::<Vec<_>>().join(" ")
}

pub(crate) fn location(r: &Reply) -> String {
    r.header("location").to_string()
}

pub(crate) async fn audit_actions(app: &TestApp, categories: &[Category]) -> Vec<String> {
    let cats = categories.to_vec();
    app.state
        .store
        .read(|tx| {
            let cats = cats.clone();
            Box::pin(async move { tx.audit_by_category(&cats, 500).await })
        })
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| format!("{}:{}", e.body.action, e.body.outcome.as_str()))
        .collect()
}

#[tokio::test]
async fn a_teacher_finds_a_misspelt_child_raises_a_concern_and_the_lead_triages_it() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(
        &app,
        "teacher@school.test",
        Role::Practitioner,
        Some(SCHOOL),
    )
    .await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    // Kayleigh is known to children's social care only; a decoy shares her first name.
    let child = child_recorded_by(&app, sw, "Kayleigh", "Harrison").await;
    child_recorded_by(&app, sw, "Kayleigh", "Patel").await;

    let mut teacher = Browser::new(&app);
    let teacher_key = signed_in(&app, &mut teacher, "teacher@school.test").await;
    let find = teacher.get("/concerns/new").await;
    assert_eq!(find.status, StatusCode::OK);
    assert!(text(&find).contains("call 999"), "the 999 warning is shown");
    let token = csrf(&find);

    // Nothing typed: a clear error, nothing searched.
    let empty = teacher
        .post(
            "/concerns/find",
            &[("csrf_token", &token), ("given_name", "")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .select_text(".govuk-error-summary")
            .join(" ")
            .contains("first name or last name")
    );
    let bad_date = teacher
        .post(
            "/concerns/find",
            &[
                ("csrf_token", &token),
                ("given_name", "Kayley"),
                ("dob-day", "31"),
                ("dob-month", "2"),
                ("dob-year", "2011"),
            ],
        )
        .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&bad_date).contains("Date of birth must be a real date"));
    assert_eq!(
        bad_date
            .html()
            .select(&scraper::Selector::parse("#given_name").unwrap())
            .next()
            .unwrap()
            .value()
            .attr("value"),
        Some("Kayley"),
        "what was typed is kept"
    );

    // Misspelt first and last name, day and month swapped: the right child comes first.
    let found = teacher
        .post(
            "/concerns/find",
            &[
                ("csrf_token", &token),
                ("given_name", "Kayley"),
                ("family_name", "Harison"),
                ("dob-day", "4"),
                ("dob-month", "9"),
                ("dob-year", "2011"),
            ],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let first_row = found
        .select_text("#candidates tbody tr:first-child td")
        .join(" ");
    assert!(first_row.contains("Kayleigh Harrison"), "{first_row}");
    assert!(
        first_row.contains("swapped"),
        "the reasons are shown: {first_row}"
    );
    assert!(
        first_row.contains("SS1") && !first_row.contains("2AB"),
        "only the district: {first_row}"
    );
    assert!(found.body.contains(&format!("/concerns/new/{child}")));

    // The concern form, a refused submission, then a good one.
    let form = teacher.get(&format!("/concerns/new/{child}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(text(&form).contains("Kayleigh Harrison"));
    let token = csrf(&form);
    let refused = teacher
        .post(
            &format!("/concerns/new/{child}"),
            &[("csrf_token", &token), ("location", "Bus station")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = refused.select_text(".govuk-error-summary li").join("|");
    assert!(
        summary.contains("Describe what you saw or heard"),
        "{summary}"
    );
    assert!(
        summary.contains("Select the kinds of exploitation"),
        "{summary}"
    );
    assert!(
        refused.body.contains("value=\"Bus station\""),
        "input is kept"
    );

    let raised = teacher
        .post(
            &format!("/concerns/new/{child}"),
            &[
                ("csrf_token", &token),
                ("narrative", "Seen being collected after school by an adult she calls her boyfriend, in a different car each week."),
                ("type_sexual", "yes"),
                ("type_criminal", "yes"),
                ("location", "Bus station"),
                ("observed-day", "20"),
                ("observed-month", "11"),
                ("observed-year", "2025"),
            ],
        )
        .await;
    assert_eq!(raised.status, StatusCode::SEE_OTHER, "{}", raised.body);
    let concern_url = location(&raised);
    assert!(concern_url.ends_with("?raised=1"), "{concern_url}");
    let confirmation = teacher.get(&concern_url).await;
    assert_eq!(confirmation.status, StatusCode::OK);
    assert!(text(&confirmation).contains("Your concern has been sent"));
    let wording = confirmation.select_text("#wording").join(" ");
    assert!(
        wording.contains("boyfriend"),
        "a gentle wording suggestion: {wording}"
    );
    assert!(
        confirmation
            .select_text("form[action$='/triage']")
            .is_empty(),
        "the teacher cannot triage"
    );

    // A practitioner cannot open records, only raise concerns; their list shows the concern.
    let record = teacher.get(&format!("/children/{child}")).await;
    assert_eq!(record.status, StatusCode::FORBIDDEN);
    assert!(!text(&record).contains("Harrison"));
    let mine = teacher.get("/concerns").await;
    assert!(
        mine.select_text("#mine")
            .join(" ")
            .contains("Kayleigh Harrison")
    );
    assert!(mine.select_text("#queue").is_empty());

    // The safeguarding lead sees it waiting, then overdue, and triages it.
    app.clock.advance(Duration::hours(25));
    let mut lead = Browser::new(&app);
    signed_in(&app, &mut lead, "dsl@school.test").await;
    let queue = lead.get("/concerns").await;
    let q = queue.select_text("#queue").join(" ");
    assert!(
        q.contains("Kayleigh Harrison") && q.contains("Overdue"),
        "{q}"
    );
    let concern_path = concern_url.trim_end_matches("?raised=1").to_string();
    let page = lead.get(&concern_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.select_text("#wording").is_empty(),
        "suggestions are for the writer"
    );
    let token = csrf(&page);
    let incomplete = lead
        .post(
            &format!("{concern_path}/triage"),
            &[("csrf_token", &token), ("rationale", "Known to CSC")],
        )
        .await;
    assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        incomplete
            .select_text(".govuk-error-summary")
            .join(" ")
            .contains("Select a decision")
    );
    let done = lead
        .post(
            &format!("{concern_path}/triage"),
            &[
                ("csrf_token", &token),
                ("decision", "refer_csc"),
                (
                    "rationale",
                    "Pattern of adult contact; refer to the front door today.",
                ),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let again = lead
        .post(
            &format!("{concern_path}/triage"),
            &[
                ("csrf_token", &token),
                ("decision", "monitor"),
                ("rationale", "again"),
            ],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "a concern is triaged once"
    );

    // The raiser sees the outcome; the lead (now involved) sees the chronology.
    sign_in_again(&app, &mut teacher, "teacher@school.test", &teacher_key).await;
    let outcome = teacher.get(&concern_path).await;
    assert_eq!(
        outcome.select_text("#decision"),
        vec!["Refer to children's social care"]
    );
    let rec = lead.get(&format!("/children/{child}")).await;
    assert_eq!(rec.status, StatusCode::OK, "{}", rec.body);
    let chron = rec.select_text("#chronology tbody tr").join("|");
    assert!(
        chron.contains("Concern raised") && chron.contains("Concern triaged"),
        "{chron}"
    );
    let filtered = lead.get(&format!("/children/{child}?kind=triage")).await;
    assert_eq!(filtered.select_text("#chronology tbody tr").len(), 1);
    let _ = dsl;

    let actions = audit_actions(
        &app,
        &[
            Category::Collection,
            Category::Alteration,
            Category::Consultation,
            Category::AuthzDenied,
        ],
    )
    .await;
    for expected in [
        "person.search:success",
        "concern.create:success",
        "record.view:denied",
        "concern.triage:success",
        "record.view:success",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn an_unrelated_social_worker_is_refused_and_breaking_the_glass_needs_a_reason_and_a_code() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    add_user_at(
        &app,
        "privacy@p.test",
        Role::PrivacyOfficer,
        Some(PARTNERSHIP),
    )
    .await;
    let child = child_recorded_by(&app, dsl, "Amira", "Hussain").await;

    let mut sw = Browser::new(&app);
    let secret = signed_in(&app, &mut sw, "sw@csc.test").await;
    let list = sw.get("/children").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        !text(&list).contains("Hussain"),
        "not in the social worker's list"
    );
    let refused = sw.get(&format!("/children/{child}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        !text(&refused).contains("Hussain"),
        "a refusal shows nothing of the child"
    );
    assert!(
        refused
            .body
            .contains(&format!("/children/{child}/break-glass"))
    );
    assert_eq!(
        sw.get(&format!("/children/{child}/access-log"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Past the step-up window, a code is needed as well as a reason.
    app.clock.advance(Duration::minutes(6));
    let form = sw.get(&format!("/children/{child}/break-glass")).await;
    assert!(form.body.contains("name=\"code\""));
    let token = csrf(&form);
    let short = sw
        .post(
            &format!("/children/{child}/break-glass"),
            &[("csrf_token", &token), ("reason", "urgent")],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = short.select_text(".govuk-error-summary li").join("|");
    assert!(
        errors.contains("at least 20 characters") && errors.contains("security code"),
        "{errors}"
    );
    let reason = "Found at the station at night; need her carer's details now.";
    let wrong = sw
        .post(
            &format!("/children/{child}/break-glass"),
            &[
                ("csrf_token", &token),
                ("reason", reason),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        sw.get(&format!("/children/{child}")).await.status,
        StatusCode::FORBIDDEN
    );
    let before = sw.session();
    let granted = sw
        .post(
            &format!("/children/{child}/break-glass"),
            &[
                ("csrf_token", &token),
                ("reason", reason),
                ("code", &code_at(&app, &secret, 0)),
            ],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    assert_ne!(sw.session(), before, "the step-up rotates the session");
    let open = sw.get(&format!("/children/{child}")).await;
    assert_eq!(open.status, StatusCode::OK);
    assert!(
        open.select_text("#access-basis")
            .join(" ")
            .contains("break-glass")
    );
    // The grant expires.
    app.clock.advance(Duration::hours(5));
    let mut sw2 = Browser::new(&app);
    sign_in_again(&app, &mut sw2, "sw@csc.test", &secret).await;
    assert_eq!(
        sw2.get(&format!("/children/{child}")).await.status,
        StatusCode::FORBIDDEN
    );

    // The lead sees who has seen the record; the privacy officer sees the break-glass.
    let mut lead = Browser::new(&app);
    signed_in(&app, &mut lead, "dsl@school.test").await;
    let log = lead.get(&format!("/children/{child}/access-log")).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let rows = log.select_text("#access tbody").join(" ");
    assert!(
        rows.contains("Break-glass access") && rows.contains(reason),
        "{rows}"
    );
    assert!(rows.contains("Refused"), "{rows}");
    let alerts = lead.get("/concerns").await.select_text("#alerts").join(" ");
    assert!(alerts.contains(reason), "the lead is alerted: {alerts}");
    let mut privacy = Browser::new(&app);
    signed_in(&app, &mut privacy, "privacy@p.test").await;
    let queue = privacy.get("/privacy-queue").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.select_text("#access").join(" ").contains(reason));
    assert_eq!(
        lead.get("/privacy-queue").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn search_before_create_can_create_a_new_record_and_go_on_to_the_concern() {
    let app = app().await;
    add_user_at(
        &app,
        "teacher@school.test",
        Role::Practitioner,
        Some(SCHOOL),
    )
    .await;
    let mut t = Browser::new(&app);
    signed_in(&app, &mut t, "teacher@school.test").await;
    let find = t.get("/concerns/new").await;
    let token = csrf(&find);
    let none = t
        .post(
            "/concerns/find",
            &[
                ("csrf_token", &token),
                ("given_name", "Zeynep"),
                ("family_name", "Aydin"),
            ],
        )
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(text(&none).contains("No matching children found"));
    let prefill = t
        .post(
            "/children/new",
            &[
                ("csrf_token", &token),
                ("step", "prefill"),
                ("given_name", "Zeynep"),
                ("family_name", "Aydin"),
            ],
        )
        .await;
    assert_eq!(prefill.status, StatusCode::OK);
    assert!(prefill.body.contains("value=\"Zeynep\""));
    let missing = t
        .post(
            "/children/new",
            &[
                ("csrf_token", &token),
                ("step", "create"),
                ("given_name", "Zeynep"),
                ("family_name", "Aydin"),
                ("postcode", "nope"),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errs = missing.select_text(".govuk-error-summary li").join("|");
    assert!(
        errs.contains("gender") && errs.contains("postcode"),
        "{errs}"
    );
    let made = t
        .post(
            "/children/new",
            &[
                ("csrf_token", &token),
                ("step", "create"),
                ("given_name", "Zeynep"),
                ("family_name", "Aydin"),
                ("gender", "female"),
                ("dob-day", "3"),
                ("dob-month", "2"),
                ("dob-year", "2012"),
                ("postcode", "ss2 5qq"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert!(location(&made).starts_with("/concerns/new/"));
    // Searching again now finds her.
    let again = t
        .post(
            "/concerns/find",
            &[
                ("csrf_token", &token),
                ("given_name", "Zeynap"),
                ("family_name", "Aydin"),
            ],
        )
        .await;
    assert!(
        again
            .select_text("#candidates")
            .join(" ")
            .contains("Zeynep Aydin")
    );
}

/// Every role, asking for every page and API route of a child it has no relationship with,
/// gets a refusal or "not found", and never sees the child's name (the access probe).
#[tokio::test]
async fn the_access_probe_finds_no_way_into_an_unrelated_record() {
    let app = app().await;
    let sw = add_user_at(&app, "owner@csc.test", Role::SocialWorker, Some(CSC)).await;
    let child = child_recorded_by(&app, sw, "Orla", "Quennell").await;
    let concern = {
        let (ctx, key) = (app.state.ctx.clone(), app.state.audit_key.clone());
        app.state
            .store
            .write(|tx| {
                let (ctx, key) = (ctx.clone(), key.clone());
                Box::pin(async move {
                    let u = tx.get_user(sw).await?.unwrap();
                    let now = ctx.clock.now();
                    let actor = cases::load_actor(tx, &u, Some(now), now).await?;
                    let new = cases::NewConcern {
                        narrative: "Missing overnight twice this week.".into(),
                        exploitation_types: vec![cases::ExploitationType::CountyLines],
                        ..cases::NewConcern::default()
                    };
                    Ok(cases::raise_concern(&ctx, tx, &key, &actor, &[child], &new).await?[0].id)
                })
            })
            .await
            .unwrap()
    };
    let roles = [
        Role::Practitioner,
        Role::DesignatedSafeguardingLead,
        Role::SocialWorker,
        Role::TeamManager,
        Role::ExploitationWorker,
        Role::PoliceIntelligenceOfficer,
        Role::Analyst,
        Role::MaceChair,
        Role::PartnershipManager,
        Role::PartnershipAdmin,
        Role::SystemAdmin,
    ];
    for (i, role) in roles.iter().enumerate() {
        let email = format!("probe{i}@school.test");
        add_user_at(&app, &email, *role, Some(SCHOOL)).await;
        let mut b = Browser::new(&app);
        signed_in(&app, &mut b, &email).await;
        for path in [
            format!("/children/{child}"),
            format!("/children/{child}/access-log"),
            format!("/concerns/{concern}"),
            "/children".to_string(),
            "/concerns".to_string(),
            "/privacy-queue".to_string(),
        ] {
            let r = b.get(&path).await;
            assert!(
                !text(&r).contains("Quennell"),
                "{role:?} saw the child's name at {path}"
            );
            if path.contains(&child.to_string()) || path.contains(&concern.to_string()) {
                assert!(
                    matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{role:?} got {} at {path}",
                    r.status
                );
            }
        }
        // And over the API with a token of their own.
        let token = api_token(&app, &email).await;
        for path in [
            format!("/api/v1/children/{child}"),
            format!("/api/v1/concerns/{concern}"),
            "/api/v1/children".to_string(),
        ] {
            let r = api(&app, Method::GET, &path, &token, None).await;
            assert!(
                !r.body.contains("Quennell"),
                "{role:?} saw the child at {path}"
            );
            if path.contains(&child.to_string()) || path.contains(&concern.to_string()) {
                assert!(
                    matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{role:?} got {} at {path}",
                    r.status
                );
            }
        }
    }
}

pub(crate) async fn api_token(app: &TestApp, email: &str) -> String {
    let (ctx, key, email) = (
        app.state.ctx.clone(),
        app.state.audit_key.clone(),
        email.to_string(),
    );
    app.state
        .store
        .write(|tx| {
            let (ctx, key, email) = (ctx.clone(), key.clone(), email.clone());
            Box::pin(async move {
                let u = tx
                    .find_user_by_email(
                        &mace_domain::identity::model::Email::parse(&email).unwrap(),
                    )
                    .await?
                    .unwrap();
                let new = mace_domain::identity::tokens::NewToken {
                    name: "probe".into(),
                    scopes: vec![
                        mace_domain::identity::model::TokenScope::Read,
                        mace_domain::identity::model::TokenScope::Write,
                    ],
                    days: 7,
                };
                Ok(
                    mace_domain::identity::tokens::create(&ctx, tx, &key, &u, &new)
                        .await?
                        .1,
                )
            })
        })
        .await
        .unwrap()
}

pub(crate) async fn api(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    app.send(b.body(body).unwrap()).await
}

#[tokio::test]
async fn the_api_lists_opens_and_raises_with_the_same_rules() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let child = child_recorded_by(&app, dsl, "Kayleigh", "Harrison").await;
    let lead = api_token(&app, "dsl@school.test").await;
    let other = api_token(&app, "sw@csc.test").await;

    let list = api(&app, Method::GET, "/api/v1/children", &lead, None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json()["children"][0]["family_name"], "Harrison");
    let search = api(
        &app,
        Method::POST,
        "/api/v1/children/search",
        &lead,
        Some(serde_json::json!({"q": "harr"})),
    )
    .await;
    assert_eq!(search.json()["children"].as_array().unwrap().len(), 1);
    let none = api(
        &app,
        Method::POST,
        "/api/v1/children/search",
        &other,
        Some(serde_json::json!({"q": "harr"})),
    )
    .await;
    assert_eq!(none.json()["children"].as_array().unwrap().len(), 0);
    // Longer than any name: refused, not cut short, in the API and the page alike.
    let long = "h".repeat(101);
    let too_long = api(
        &app,
        Method::POST,
        "/api/v1/children/search",
        &lead,
        Some(serde_json::json!({ "q": long })),
    )
    .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_long.json()["error"]["fields"][0]["field"], "q");
    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "dsl@school.test").await;
    let token = csrf(&b.get("/children").await);
    let page = b
        .post("/children/search", &[("csrf_token", &token), ("q", &long)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.select_text(".govuk-error-summary__list a"),
        ["Search for 100 characters or fewer"]
    );
    let page = b
        .post("/children/search", &[("csrf_token", &token), ("q", "harr")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text(&page).contains("Harrison"));

    let bad = api(
        &app,
        Method::POST,
        "/api/v1/concerns",
        &other,
        Some(serde_json::json!({"person_id": child, "narrative": "", "exploitation_types": ["nonsense"]})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let raised = api(
        &app,
        Method::POST,
        "/api/v1/concerns",
        &other,
        Some(serde_json::json!({
            "person_id": child,
            "narrative": "She said she was putting herself at risk to get money for her family.",
            "exploitation_types": ["criminal"],
            "observed_at": "2025-11-20T18:00:00Z"
        })),
    )
    .await;
    assert_eq!(raised.status, StatusCode::CREATED, "{}", raised.body);
    let c = raised.json();
    assert_eq!(c["status"], "submitted");
    assert_eq!(c["wording"][0]["found"], "putting herself at risk");
    let id = c["id"].as_str().unwrap().to_string();
    // Raising a concern involves the social worker's organisation: now they may open the record.
    let rec = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}"),
        &other,
        None,
    )
    .await;
    assert_eq!(rec.status, StatusCode::OK, "{}", rec.body);
    assert_eq!(rec.json()["chronology"][0]["kind"], "concern");
    let got = api(
        &app,
        Method::GET,
        &format!("/api/v1/concerns/{id}"),
        &lead,
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    let missing = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{}", Uuid::from_u128(42)),
        &lead,
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_staff_involved_marking_narrows_access_to_those_cleared() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(
        &app,
        "dsl2@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let child = child_recorded_by(&app, dsl, "Nia", "Okafor").await;

    let mut other = Browser::new(&app);
    signed_in(&app, &mut other, "dsl2@school.test").await;
    assert_eq!(
        other.get(&format!("/children/{child}")).await.status,
        StatusCode::OK
    );

    let mut lead = Browser::new(&app);
    signed_in(&app, &mut lead, "dsl@school.test").await;
    let page = lead.get(&format!("/children/{child}")).await;
    assert!(
        page.body.contains("value=\"staff_involved\""),
        "the lead's DSL may mark"
    );
    assert!(
        !page.body.contains("value=\"police_only\""),
        "only the police mark police-only"
    );
    let token = csrf(&page);
    let marked = lead
        .post(
            &format!("/children/{child}/markings"),
            &[("csrf_token", &token), ("marking", "staff_involved")],
        )
        .await;
    assert_eq!(marked.status, StatusCode::SEE_OTHER, "{}", marked.body);
    let after = lead.get(&format!("/children/{child}?marked=1")).await;
    assert_eq!(after.status, StatusCode::OK, "whoever marks stays cleared");
    assert!(
        after
            .select_text("#markings")
            .join(" ")
            .contains("staff member")
    );

    let refused = other.get(&format!("/children/{child}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(text(&refused).contains("involves a member of staff"));
    assert!(
        !refused.body.contains("break-glass"),
        "markings cannot be broken through"
    );
    assert!(
        !other.get("/children").await.body.contains("Okafor"),
        "nor listed"
    );

    let mut sw = Browser::new(&app);
    signed_in(&app, &mut sw, "sw@csc.test").await;
    let t = csrf(&sw.get("/account").await);
    let not_theirs = sw
        .post(
            &format!("/children/{child}/markings"),
            &[("csrf_token", &t), ("marking", "staff_involved")],
        )
        .await;
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_police_only_entry_is_left_out_of_the_chronology_for_everyone_else() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let pio = add_user_at(
        &app,
        "pio@police.test",
        Role::PoliceIntelligenceOfficer,
        Some(("Estuary Police", OrgType::Police)),
    )
    .await;
    let child = child_recorded_by(&app, dsl, "Leon", "Marsh").await;
    // The police are involved too, and add an entry only they may see.
    let (ctx, _) = (app.state.ctx.clone(), ());
    app.state
        .store
        .write(|tx| {
            let ctx = ctx.clone();
            Box::pin(async move {
                use mace_domain::ports::CaseRepo;
                let u = tx.get_user(pio).await?.unwrap();
                let now = ctx.clock.now();
                tx.insert_involvement(&cases::Involvement {
                    person_id: child,
                    org_id: u.org_id,
                    reason: cases::InvolvementReason::HoldsCase,
                    is_lead: false,
                    created_at: now,
                })
                .await?;
                tx.insert_chronology(&cases::ChronologyEntry {
                    id: Uuid::from_u128(7),
                    person_id: child,
                    kind: "intelligence".into(),
                    source_id: Uuid::from_u128(8),
                    org_id: u.org_id,
                    event_at: now,
                    recorded_at: now,
                    summary: "Intelligence submitted: vehicle seen".into(),
                    marking: Some(mace_domain::authz::Marking::PoliceOnly),
                })
                .await
            })
        })
        .await
        .unwrap();
    let mut lead = Browser::new(&app);
    signed_in(&app, &mut lead, "dsl@school.test").await;
    let page = lead.get(&format!("/children/{child}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("vehicle seen"), "left out, not blanked");
    assert!(
        page.select_text("#no-chronology")
            .join(" ")
            .contains("Nothing has been recorded")
    );
    let mut police = Browser::new(&app);
    signed_in(&app, &mut police, "pio@police.test").await;
    let page = police.get(&format!("/children/{child}")).await;
    assert!(
        page.select_text("#chronology")
            .join(" ")
            .contains("vehicle seen")
    );
    let token = api_token(&app, "dsl@school.test").await;
    let api_view = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}"),
        &token,
        None,
    )
    .await;
    assert_eq!(api_view.json()["chronology"].as_array().unwrap().len(), 0);
}
