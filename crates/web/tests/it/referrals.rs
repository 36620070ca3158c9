//! referrals pages and API tests: a school's safeguarding lead refers a child to the
//! exploitation service, which sees it in its inbox, accepts it and can then open the record;
//! the lead sees the change and a notification. Ineligible referrals and illegal moves are
//! refused with clear messages; an unrelated organisation cannot read the referral; the send is
//! a disclosure in the audit log; the directory is managed by the partnership.

use crate::browser::*;
use crate::cases::{SCHOOL, api, api_token, audit_actions, child_recorded_by, org_id, text};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::{OrgType, Role};
use mace_domain::ports::AuditLog;
use serde_json::json;
use uuid::Uuid;

const EXPLOITATION: (&str, OrgType) = ("Estuary Exploitation Service", OrgType::SpecialistService);
const PARTNERSHIP: (&str, OrgType) = ("Estuary Safeguarding Partnership", OrgType::Partnership);
const OTHER: (&str, OrgType) = (
    "Northshire Children's Services",
    OrgType::ChildrensSocialCare,
);

/// The people and the two services: the exploitation service (10 and over, anywhere) and a peer
/// programme for 15 and 16 year olds (the child, 14, is not eligible).
async fn world(app: &crate::support::TestApp) -> (Uuid, String, String) {
    let dsl = add_user_at(
        app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(
        app,
        "worker@exploitation.test",
        Role::ExploitationWorker,
        Some(EXPLOITATION),
    )
    .await;
    add_user_at(
        app,
        "admin@partnership.test",
        Role::PartnershipAdmin,
        Some(PARTNERSHIP),
    )
    .await;
    add_user_at(app, "sw@north.test", Role::SocialWorker, Some(OTHER)).await;
    let child = child_recorded_by(app, dsl, "Kayleigh", "Harrison").await;
    let org = org_id(app, EXPLOITATION.0).await;
    let admin = api_token(app, "admin@partnership.test").await;
    let mut ids = Vec::new();
    for (name, kind, min, max) in [
        (
            "Young people's exploitation service",
            "exploitation",
            Some(10),
            None,
        ),
        (
            "Peer programme for young women",
            "group_programme",
            Some(15),
            Some(16),
        ),
    ] {
        let made = api(
            app,
            Method::POST,
            "/api/v1/services",
            &admin,
            Some(json!({
                "name": name,
                "kind": kind,
                "organisation_id": org,
                "description": "Direct work with children who are being exploited",
                "email": "referrals@exploitation.test",
                "min_age": min,
                "max_age": max,
                "areas": ["SS1", "ss2"],
                "acknowledge_within_working_hours": 8,
                "decide_within_working_days": 5,
            })),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        assert_eq!(made.json()["areas"], json!(["SS1", "SS2"]));
        ids.push(made.json()["id"].as_str().unwrap().to_string());
    }
    (child, ids[0].clone(), ids[1].clone())
}

#[tokio::test]
async fn a_school_refers_a_child_and_the_exploitation_service_accepts() {
    let app = crate::support::app().await;
    let (child, service, peer) = world(&app).await;

    // The school's safeguarding lead makes the referral from the child's record.
    let mut d = Browser::new(&app);
    let dsl_secret = signed_in(&app, &mut d, "dsl@school.test").await;
    let list = d.get(&format!("/children/{child}/referrals")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(text(&list).contains("No referrals have been made"));
    assert!(
        list.body
            .contains(&format!("href=\"/children/{child}/referrals/new\""))
    );
    let form = d.get(&format!("/children/{child}/referrals/new")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let shown = text(&form);
    assert!(
        shown.contains("Young people's exploitation service"),
        "{shown}"
    );
    assert!(shown.contains("Not eligible"), "{shown}");
    assert!(shown.contains("The child is 14"), "{shown}");
    assert!(
        shown.contains("Kayleigh Harrison, born 9 April 2011"),
        "{shown}"
    );
    let token = csrf(&form);
    let send = format!("/children/{child}/referrals");

    // Checking eligibility shows the result for the service chosen.
    let check = d
        .post(
            &send,
            &[
                ("csrf_token", &token),
                ("service_id", &peer),
                ("check", "yes"),
            ],
        )
        .await;
    assert_eq!(check.status, StatusCode::OK);
    assert!(
        check
            .select_text("#eligibility")
            .join(" ")
            .contains("cannot be sent")
    );
    // What the form does not offer is refused, never read as no choice: a service that is
    // not one of the radios, a button value that is not the button, a reason no referral holds.
    for (field, value) in [
        ("service_id", "not-a-service"),
        ("service_id", "0190a000-0000-7000-8000-00000000dead"),
        ("reason", &"x".repeat(4_001)),
    ] {
        let r = d
            .post(
                &send,
                &[("csrf_token", &token), ("check", "yes"), (field, value)],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(text(&r).contains("There is a problem"), "{field}");
    }
    let bogus = d
        .post(
            &send,
            &[
                ("csrf_token", &token),
                ("service_id", &peer),
                ("check", "no thanks"),
                ("share_identity", "yes"),
                ("reason", "Kayleigh would benefit from peer support"),
            ],
        )
        .await;
    assert_eq!(bogus.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Ineligible: refused with the reason, nothing sent.
    let refused = d
        .post(
            &send,
            &[
                ("csrf_token", &token),
                ("service_id", &peer),
                ("share_identity", "yes"),
                ("reason", "Kayleigh would benefit from peer support"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&refused);
    assert!(said.contains("There is a problem"), "{said}");
    assert!(
        said.contains("This referral cannot be sent. The child is 14; Peer programme for young women takes children aged 15 to 16."),
        "{said}"
    );
    // No reason: refused too.
    let no_reason = d
        .post(&send, &[("csrf_token", &token), ("service_id", &service)])
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&no_reason).contains("Say why you are making the referral"));

    let sent = d
        .post(
            &send,
            &[
                ("csrf_token", &token),
                ("service_id", &service),
                ("share_identity", "yes"),
                ("share_address", "yes"),
                (
                    "reason",
                    "Kayleigh is being exploited by older males; she needs specialist support",
                ),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let at = sent.header("location").to_string();
    assert!(
        at.starts_with("/referrals/") && at.ends_with("?done=sent"),
        "{at}"
    );
    let rid = at
        .trim_start_matches("/referrals/")
        .trim_end_matches("?done=sent")
        .to_string();
    let page = d.get(&at).await;
    assert_eq!(page.status, StatusCode::OK);
    let shared = page.select_text("#referral-shared").join(" ");
    assert!(shared.contains("Kayleigh Harrison"), "{shared}");
    assert!(shared.contains("Current address"), "{shared}");
    assert!(!shared.contains("Current school"), "only what was chosen");
    let timers = page.select_text("#ack-timer").join(" ");
    assert!(timers.contains("Due in 8 hours"), "{timers}");
    assert!(text(&page).contains("Sent"));

    // The exploitation worker: the referral is in the inbox and the record opens.
    app.clock.advance(time::Duration::hours(9));
    let mut w = Browser::new(&app);
    signed_in(&app, &mut w, "worker@exploitation.test").await;
    let inbox = w.get("/work/referrals").await;
    assert_eq!(inbox.status, StatusCode::OK);
    let incoming = inbox.select_text("#incoming").join(" ");
    assert!(incoming.contains("Kayleigh Harrison"), "{incoming}");
    assert!(
        incoming.contains("Overdue"),
        "acknowledgement is past due: {incoming}"
    );
    assert!(incoming.contains("9 hours ago"), "{incoming}");
    assert_eq!(
        w.get(&format!("/children/{child}")).await.status,
        StatusCode::OK
    );
    let view = w.get(&format!("/referrals/{rid}")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(
        view.select_text("#ack-timer")
            .join(" ")
            .contains("Overdue by 1 hour")
    );
    let wtoken = csrf(&view);
    let status = format!("/referrals/{rid}/status");
    let illegal = w
        .post(
            &status,
            &[
                ("csrf_token", &wtoken),
                ("status", "closed"),
                ("note", "Closing before accepting it"),
            ],
        )
        .await;
    assert_eq!(illegal.status, StatusCode::CONFLICT);
    assert!(
        text(&illegal).contains("A referral that is sent cannot be closed"),
        "{}",
        text(&illegal)
    );
    let decline_bare = w
        .post(&status, &[("csrf_token", &wtoken), ("status", "declined")])
        .await;
    assert_eq!(decline_bare.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&decline_bare).contains("Say why the referral is declined"));
    let accepted = w
        .post(
            &status,
            &[
                ("csrf_token", &wtoken),
                ("status", "accepted"),
                ("note", "Allocated to Leah for direct work"),
            ],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);

    // The referrer sees the change and is told, once (signed in again: the day has moved on).
    sign_in_again(&app, &mut d, "dsl@school.test", &dsl_secret).await;
    let mine = d.get(&format!("/referrals/{rid}")).await;
    let history = mine.select_text("#referral-history").join(" ");
    assert!(
        history.contains("Accepted") && history.contains("Allocated to Leah"),
        "{history}"
    );
    assert!(
        mine.select_text("#referral-status")
            .join(" ")
            .contains("Accepted")
    );
    let work = d.get("/work/referrals").await;
    let updates = work.select_text("#updates").join(" ");
    assert!(
        updates.contains("Estuary Exploitation Service accepted your referral to Young people's exploitation service"),
        "{updates}"
    );
    assert!(
        work.select_text("#made")
            .join(" ")
            .contains("Kayleigh Harrison")
    );
    let again = d.get("/work/referrals").await;
    assert!(
        again.select_text("#updates").is_empty(),
        "marked read when seen"
    );

    // The chronology shows each step.
    let record = d.get(&format!("/children/{child}")).await;
    let all = text(&record);
    assert!(
        all.contains("Referral sent to Young people's exploitation service"),
        "{all}"
    );
    assert!(
        all.contains("accepted by Estuary Exploitation Service"),
        "{all}"
    );

    // An unrelated organisation cannot read it, on the page or the API; recorded.
    let mut o = Browser::new(&app);
    signed_in(&app, &mut o, "sw@north.test").await;
    assert_eq!(
        o.get(&format!("/referrals/{rid}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        o.get(&format!("/children/{child}/referrals")).await.status,
        StatusCode::FORBIDDEN
    );
    let other = api_token(&app, "sw@north.test").await;
    let r = api(
        &app,
        Method::GET,
        &format!("/api/v1/referrals/{rid}"),
        &other,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "forbidden");

    // Audit: the disclosure, the status change, the refusals.
    let disclosures = audit_actions(&app, &[Category::Disclosure]).await;
    assert_eq!(disclosures, vec!["referral.send:success".to_string()]);
    let changes = audit_actions(&app, &[Category::Alteration]).await;
    assert!(
        changes.contains(&"referral.status:success".to_string()),
        "{changes:?}"
    );
    let denied = audit_actions(&app, &[Category::AuthzDenied]).await;
    assert!(
        denied.contains(&"referral.view:denied".to_string()),
        "{denied:?}"
    );
    let admin = audit_actions(&app, &[Category::Admin]).await;
    assert!(
        admin.contains(&"service.create:success".to_string()),
        "{admin:?}"
    );
    let detail = app
        .state
        .store
        .read(|tx| Box::pin(async move { tx.audit_by_category(&[Category::Disclosure], 10).await }))
        .await
        .unwrap();
    let e = &detail[0].body;
    assert_eq!(
        e.recipient
            .as_deref()
            .map(|r| r.starts_with("Estuary Exploitation Service")),
        Some(true)
    );
    let d_json = e.detail.clone().unwrap_or_default();
    assert!(
        d_json.contains("\"items\":[\"identity\",\"address\"]"),
        "{d_json}"
    );
}

#[tokio::test]
async fn the_api_sends_lists_and_moves_referrals_with_the_same_rules() {
    let app = crate::support::app().await;
    let (child, service, peer) = world(&app).await;
    let dsl = api_token(&app, "dsl@school.test").await;
    let worker = api_token(&app, "worker@exploitation.test").await;

    let services = api(&app, Method::GET, "/api/v1/services", &dsl, None).await;
    assert_eq!(services.status, StatusCode::OK);
    assert_eq!(services.json().as_array().map(Vec::len), Some(2));
    let one = api(
        &app,
        Method::GET,
        &format!("/api/v1/services/{service}"),
        &dsl,
        None,
    )
    .await;
    assert_eq!(one.json()["acknowledge_within_working_hours"], 8);
    assert_eq!(one.json()["organisation_name"], EXPLOITATION.0);
    // Only the partnership manages the directory.
    let no = api(
        &app,
        Method::POST,
        "/api/v1/services",
        &dsl,
        Some(
            json!({"name": "Mine", "kind": "other", "organisation_id": Uuid::nil(),
                    "acknowledge_within_working_hours": 8, "decide_within_working_days": 5}),
        ),
    )
    .await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);

    let path = format!("/api/v1/children/{child}/referrals");
    let ineligible = api(
        &app,
        Method::POST,
        &path,
        &dsl,
        Some(
            json!({"service_id": peer, "share": ["identity"], "reason": "Needs peer support now"}),
        ),
    )
    .await;
    assert_eq!(ineligible.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        ineligible.body.contains("The child is 14"),
        "{}",
        ineligible.body
    );
    let sent = api(
        &app,
        Method::POST,
        &path,
        &dsl,
        Some(
            json!({"service_id": service, "share": ["identity", "school"],
                    "reason": "Kayleigh is being exploited; specialist support needed"}),
        ),
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    let body = sent.json();
    let rid = body["summary"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["summary"]["status"], "sent");
    assert_eq!(body["summary"]["acknowledgement"]["state"], "due");
    assert_eq!(body["summary"]["acknowledgement"]["seconds"], 8 * 3600);
    assert_eq!(body["shared"][0]["item"], "identity");
    assert_eq!(body["shared"][1]["value"], "Not recorded");
    assert_eq!(body["may_move_to"], json!(["withdrawn"]));

    let listed = api(&app, Method::GET, &path, &dsl, None).await;
    assert_eq!(listed.json()["referrals"][0]["id"], rid.as_str());

    let inbox = api(&app, Method::GET, "/api/v1/work/referrals", &worker, None).await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert_eq!(inbox.json()["incoming"][0]["referral"]["id"], rid.as_str());
    assert_eq!(
        inbox.json()["incoming"][0]["child_name"],
        "Kayleigh Harrison"
    );

    let status = format!("/api/v1/referrals/{rid}/status");
    let illegal = api(
        &app,
        Method::POST,
        &status,
        &worker,
        Some(json!({"status": "closed", "note": "Nothing more to do here"})),
    )
    .await;
    assert_eq!(illegal.status, StatusCode::CONFLICT);
    // The referrer cannot accept their own referral; refused and recorded.
    let not_theirs = api(
        &app,
        Method::POST,
        &status,
        &dsl,
        Some(json!({"status": "accepted"})),
    )
    .await;
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);
    let ack = api(
        &app,
        Method::POST,
        &status,
        &worker,
        Some(json!({"status": "acknowledged"})),
    )
    .await;
    assert_eq!(ack.status, StatusCode::OK, "{}", ack.body);
    assert_eq!(ack.json()["summary"]["acknowledgement"]["state"], "met");
    let declined = api(
        &app,
        Method::POST,
        &status,
        &worker,
        Some(json!({"status": "declined", "note": "Already known to the youth justice team"})),
    )
    .await;
    assert_eq!(declined.status, StatusCode::OK);
    assert_eq!(
        declined.json()["decline_reason"],
        "Already known to the youth justice team"
    );
    let withdraw = api(
        &app,
        Method::POST,
        &status,
        &dsl,
        Some(json!({"status": "withdrawn", "note": "No longer needed at all"})),
    )
    .await;
    assert_eq!(withdraw.status, StatusCode::CONFLICT, "declined is final");

    let work = api(&app, Method::GET, "/api/v1/work/referrals", &dsl, None).await;
    let notes = work.json()["notifications"].clone();
    assert_eq!(notes.as_array().map(Vec::len), Some(2), "{notes}");
    assert!(
        notes[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Reason: Already known to the youth justice team")
    );
    assert_eq!(work.json()["made"][0]["referral"]["status"], "declined");

    let doc = app.get("/api/v1/openapi.json").await;
    let paths = &doc.json()["paths"];
    for p in [
        "/api/v1/services",
        "/api/v1/services/{id}",
        "/api/v1/children/{id}/referrals",
        "/api/v1/referrals/{id}",
        "/api/v1/referrals/{id}/status",
        "/api/v1/work/referrals",
    ] {
        assert!(paths.get(p).is_some(), "{p} documented");
    }
}

#[tokio::test]
async fn the_partnership_manages_the_directory_and_everyone_browses_it() {
    let app = crate::support::app().await;
    let (_, service, _) = world(&app).await;
    add_user_at(
        &app,
        "tm@exploitation.test",
        Role::TeamManager,
        Some(EXPLOITATION),
    )
    .await;
    let org = org_id(&app, EXPLOITATION.0).await;

    let mut d = Browser::new(&app);
    signed_in(&app, &mut d, "dsl@school.test").await;
    let list = d.get("/services").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(text(&list).contains("Young people's exploitation service"));
    assert!(!list.body.contains("href=\"/services/new\""));
    let one = d.get(&format!("/services/{service}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(text(&one).contains("8 working hours"));
    assert!(!one.body.contains("/edit\""));
    assert_eq!(d.get("/services/new").await.status, StatusCode::FORBIDDEN);

    let mut a = Browser::new(&app);
    signed_in(&app, &mut a, "admin@partnership.test").await;
    let form = a.get("/services/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = csrf(&form);
    let bad = a
        .post(
            "/services",
            &[
                ("csrf_token", &token),
                ("name", "Sexual health clinic"),
                ("kind", "sexual_health"),
                ("org_id", &org.to_string()),
                ("areas", "SS1 2AB"),
                ("ack_hours", "eight"),
                ("decide_days", "5"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&bad);
    assert!(
        said.contains("Enter a whole number of working hours"),
        "{said}"
    );
    let ok = a
        .post(
            "/services",
            &[
                ("csrf_token", &token),
                ("name", "Sexual health clinic"),
                ("kind", "sexual_health"),
                ("org_id", &org.to_string()),
                ("areas", "SS1"),
                ("ack_hours", "16"),
                ("decide_days", "5"),
                ("accepting", "yes"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);

    // The running organisation's team manager edits its own service.
    let mut t = Browser::new(&app);
    signed_in(&app, &mut t, "tm@exploitation.test").await;
    let edit = t.get(&format!("/services/{service}/edit")).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    let ttoken = csrf(&edit);
    // A phone number is a UK number to ring, not any text.
    let bad_phone = t
        .post(
            &format!("/services/{service}/edit"),
            &[
                ("csrf_token", &ttoken),
                ("name", "Young people's exploitation service"),
                ("kind", "exploitation"),
                ("org_id", &org.to_string()),
                ("phone", "../../etc/passwd"),
                ("ack_hours", "4"),
                ("decide_days", "3"),
            ],
        )
        .await;
    assert_eq!(bad_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text(&bad_phone).contains("Enter a UK phone number"),
        "{}",
        bad_phone.body
    );
    let saved = t
        .post(
            &format!("/services/{service}/edit"),
            &[
                ("csrf_token", &ttoken),
                ("name", "Young people's exploitation service"),
                ("kind", "exploitation"),
                ("org_id", &org.to_string()),
                ("min_age", "10"),
                ("ack_hours", "4"),
                ("decide_days", "3"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = t.get(&format!("/services/{service}")).await;
    let words = text(&shown);
    assert!(
        words.contains("4 working hours") && words.contains("not taking referrals"),
        "{words}"
    );
    let admin = audit_actions(&app, &[Category::Admin]).await;
    assert!(
        admin.contains(&"service.update:success".to_string()),
        "{admin:?}"
    );
}
