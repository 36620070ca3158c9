//! intelligence pages and API tests: a school's safeguarding lead shares intelligence from a
//! child's record (a car, a nickname, a phone and a place) and gets a reference; the police
//! intelligence officer sees it normalised, grades it (C without conditions is refused), links
//! it (entities, links, the graph version), shares the sanitised copy with its conditions onto
//! the child's chronology and marks it actioned; a second report naming the same car links to
//! the same entity; the submitter sees the status and notifications and nothing police added,
//! in HTML and JSON; a teacher and a police analyst cannot change it, and the teacher cannot
//! open it at all (refusals recorded).

use crate::browser::*;
use crate::cases::{POLICE, SCHOOL, api, api_token, audit_actions, child_recorded_by, text};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::{OrgType, Role};
use serde_json::json;
use uuid::Uuid;

const SERVICE: (&str, OrgType) = ("Estuary Exploitation Service", OrgType::SpecialistService);

const SANITISED: &str = "A white hatchback is seen collecting young people near the station.";
const CONDITIONS: &str = "Not to be shared with the family or the young person";
const ACTION_NOTE: &str = "Vehicle flagged on ANPR; patrols near the parade";

async fn world(app: &crate::support::TestApp) -> Uuid {
    let dsl = add_user_at(
        app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(app, "teacher@school.test", Role::Practitioner, Some(SCHOOL)).await;
    add_user_at(
        app,
        "intel@police.test",
        Role::PoliceIntelligenceOfficer,
        Some(POLICE),
    )
    .await;
    add_user_at(app, "analyst@police.test", Role::Analyst, Some(POLICE)).await;
    add_user_at(
        app,
        "worker@service.test",
        Role::ExploitationWorker,
        Some(SERVICE),
    )
    .await;
    child_recorded_by(app, dsl, "Kayleigh", "Harrison").await
}

fn item_ids(police: &serde_json::Value) -> Vec<String> {
    police["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_school_shares_intelligence_and_police_grade_link_share_and_action_it() {
    let app = crate::support::app().await;
    let child = world(&app).await;

    // The school's safeguarding lead opens the form from the child's record.
    let mut d = Browser::new(&app);
    signed_in(&app, &mut d, "dsl@school.test").await;
    let record = d.get(&format!("/children/{child}")).await;
    assert!(
        record
            .body
            .contains(&format!("href=\"/children/{child}/intelligence/new\""))
    );
    let form = d.get(&format!("/children/{child}/intelligence/new")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let shown = text(&form);
    assert!(
        shown.contains("You do not need to judge whether it matters"),
        "{shown}"
    );
    assert!(shown.contains("About Kayleigh Harrison"), "{shown}");
    assert!(form.body.contains("name=\"item_4_value\""));
    assert!(!form.body.contains("name=\"item_5_value\""));
    let token = csrf(&form);
    let url = format!("/children/{child}/intelligence/new");

    // More rows, without JavaScript, keeping what was typed.
    let more = d
        .post(
            &format!("{url}?more=rows"),
            &[
                ("csrf_token", &token),
                ("narrative", "Typed before asking for more rows"),
                ("item_0_kind", "vehicle"),
                ("item_0_value", "ma19 xyz"),
            ],
        )
        .await;
    assert_eq!(more.status, StatusCode::OK, "{}", more.body);
    assert!(more.body.contains("name=\"item_9_value\""));
    assert!(more.body.contains("value=\"ma19 xyz\""));
    assert!(more.body.contains("Typed before asking for more rows"));
    assert!(!more.body.contains("There is a problem"));

    // Missing answers are listed, nothing is sent.
    let bad = d
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("narrative", "short"),
                ("item_1_value", "T"),
                ("item_2_kind", "place"),
                ("item_2_value", "The parade"),
                ("item_2_latitude", "north"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errs = bad.select_text(".govuk-error-summary__list li").join(" | ");
    assert!(errs.contains("Say what happened"), "{errs}");
    assert!(errs.contains("Select how you know this"), "{errs}");
    assert!(errs.contains("Select what row 2 is"), "{errs}");
    assert!(errs.contains("latitude as a number"), "{errs}");

    let sent = d
        .post(
            &url,
            &[
                ("csrf_token", &token),
                (
                    "narrative",
                    "Kayleigh said a man who calls himself T collects her from the parade in a white car.",
                ),
                ("how_known", "told_by_child"),
                ("from-day", "2"),
                ("from-month", "1"),
                ("from-year", "2026"),
                ("from-time", "9:30pm"),
                ("item_0_kind", "vehicle"),
                ("item_0_value", "ma19 xyz"),
                ("item_0_detail", "white hatchback"),
                ("item_1_kind", "person"),
                ("item_1_value", "T"),
                ("item_1_detail", "calls himself T"),
                ("item_2_kind", "phone"),
                ("item_2_value", "07700 900123"),
                ("item_3_kind", "place"),
                ("item_3_value", "  The Parade   by the Station "),
                ("item_3_latitude", "51.5383"),
                ("item_3_longitude", "0.7119"),
                ("item_4_kind", "vehicle"),
                ("item_4_value", "M?19 XYZ"),
                ("item_4_detail", "partial plate of a second car"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let receipt_url = sent.header("location").to_string();
    assert!(receipt_url.ends_with("?done=submitted"), "{receipt_url}");
    let report_id = receipt_url
        .trim_start_matches("/intelligence/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let receipt = d.get(&receipt_url).await;
    assert_eq!(receipt.status, StatusCode::OK);
    let reference = receipt.select_text("#reference").join("");
    assert!(
        reference.starts_with("INT-") && reference.ends_with("-000001"),
        "{reference}"
    );
    assert!(text(&receipt).contains("What happens next"));
    assert!(text(&receipt).contains("Received"));

    // The child's chronology says intelligence was shared, with no content.
    let dsl_t = api_token(&app, "dsl@school.test").await;
    let rec = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}"),
        &dsl_t,
        None,
    )
    .await;
    let chron = rec.json()["chronology"].to_string();
    assert!(
        chron.contains("Intelligence was shared with police by Riverside Academy."),
        "{chron}"
    );
    assert!(!chron.contains("hatchback"));

    // A teacher cannot open it (refused and recorded); the API says the same.
    let mut t = Browser::new(&app);
    signed_in(&app, &mut t, "teacher@school.test").await;
    let refused = t.get(&format!("/intelligence/{report_id}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("hatchback"));
    let teacher_t = api_token(&app, "teacher@school.test").await;
    let r = api(
        &app,
        Method::GET,
        &format!("/api/v1/intelligence/{report_id}"),
        &teacher_t,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api(
        &app,
        Method::GET,
        "/api/v1/intelligence/inbox",
        &teacher_t,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let denied = audit_actions(&app, &[Category::AuthzDenied]).await;
    assert!(
        denied.iter().filter(|a| *a == "intel.view:denied").count() >= 2,
        "{denied:?}"
    );
    assert!(
        denied.iter().any(|a| a == "intel.inbox:denied"),
        "{denied:?}"
    );

    // The police intelligence officer sees it in the inbox, normalised.
    let mut p = Browser::new(&app);
    signed_in(&app, &mut p, "intel@police.test").await;
    let inbox = p.get("/intelligence").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.select_text("#inbox").join(" ").contains(&reference));
    let page = p.get(&format!("/intelligence/{report_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let shown = text(&page);
    for normalised in ["MA19XYZ", "+447700900123", "the parade by the station"] {
        assert!(shown.contains(normalised), "{normalised}: {shown}");
    }
    assert!(shown.contains("Could not be read"), "the partial plate");
    assert!(shown.contains("Police only"));
    let ptoken = csrf(&page);

    // Grading: C without conditions is refused with a clear error.
    let grade_url = format!("/intelligence/{report_id}/grade");
    let no_conditions = p
        .post(
            &grade_url,
            &[
                ("csrf_token", &ptoken),
                ("source_evaluation", "2"),
                ("intelligence_assessment", "B"),
                ("handling_code", "C"),
                ("sanitised", SANITISED),
            ],
        )
        .await;
    assert_eq!(no_conditions.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_conditions
            .select_text(".govuk-error-summary__list")
            .join(" ")
            .contains("Enter the handling conditions: a C handling code needs them")
    );
    let graded = p
        .post(
            &grade_url,
            &[
                ("csrf_token", &ptoken),
                ("source_evaluation", "2"),
                ("intelligence_assessment", "B"),
                ("handling_code", "C"),
                ("conditions", CONDITIONS),
                ("sanitised", SANITISED),
            ],
        )
        .await;
    assert_eq!(graded.status, StatusCode::SEE_OTHER, "{}", graded.body);

    // An analyst reads but may not change.
    let analyst_t = api_token(&app, "analyst@police.test").await;
    let seen = api(
        &app,
        Method::GET,
        &format!("/api/v1/intelligence/{report_id}"),
        &analyst_t,
        None,
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.json()["view"], "police");
    assert_eq!(seen.json()["may_change"], false);
    let r = api(
        &app,
        Method::POST,
        &format!("/api/v1/intelligence/{report_id}/action"),
        &analyst_t,
        Some(json!({"note": "An analyst trying to action it"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Linking: items with a key and the child become entities, at the next graph version.
    let police_t = api_token(&app, "intel@police.test").await;
    let before = api(
        &app,
        Method::GET,
        &format!("/api/v1/intelligence/{report_id}"),
        &police_t,
        None,
    )
    .await
    .json();
    assert_eq!(before["source_evaluation"], "2");
    assert_eq!(before["status"], "assessed");
    let ids = item_ids(&before);
    let page = p.get(&format!("/intelligence/{report_id}")).await;
    // Linking is on by default where the item could be read.
    assert!(page.body.contains(&format!(
        "id=\"link_{}\" name=\"link_{}\" type=\"checkbox\" value=\"yes\" checked",
        ids[0], ids[0]
    )));
    let mut form: Vec<(String, String)> = vec![("csrf_token".into(), ptoken.clone())];
    for i in &ids[..4] {
        form.push((format!("link_{i}"), "yes".into()));
        form.push((format!("key_{i}"), String::new()));
    }
    form.push((format!("person_{}", ids[1]), String::new()));
    // The partial plate is left unlinked.
    form.push((format!("key_{}", ids[4]), String::new()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let linked = p
        .post(&format!("/intelligence/{report_id}/link"), &pairs)
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    let after = api(
        &app,
        Method::GET,
        &format!("/api/v1/intelligence/{report_id}"),
        &police_t,
        None,
    )
    .await
    .json();
    let links = after["links"].as_array().unwrap();
    assert_eq!(links.len(), 5, "four items and the child: {links:?}");
    assert!(links.iter().all(|l| l["version"] == 1));
    let kinds: Vec<&str> = links
        .iter()
        .map(|l| l["entity"]["kind"].as_str().unwrap())
        .collect();
    for k in ["vehicle", "person", "phone", "place", "child"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let vehicle = links
        .iter()
        .find(|l| l["entity"]["kind"] == "vehicle")
        .unwrap()["entity"]["id"]
        .clone();
    let place = links
        .iter()
        .find(|l| l["entity"]["kind"] == "place")
        .unwrap();
    assert_eq!(place["entity"]["latitude"], 51.5383);
    assert_eq!(after["items"][0]["entity_id"], vehicle);
    assert_eq!(after["items"][4]["entity_id"], serde_json::Value::Null);

    // A fixed value that cannot be read is refused on its field.
    let r = api(
        &app,
        Method::POST,
        &format!("/api/v1/intelligence/{report_id}/links"),
        &police_t,
        Some(json!({"items": [{"item_id": ids[4], "link": true, "fix": "not a plate!"}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // A second report, from the exploitation service, names the same car: the same entity.
    let worker_t = api_token(&app, "worker@service.test").await;
    let second = api(
        &app,
        Method::POST,
        "/api/v1/intelligence",
        &worker_t,
        Some(json!({
            "narrative": "A young person was dropped at the youth club by a white car.",
            "how_known": "saw_or_heard",
            "observed_from": "2026-01-03T18:00:00Z",
            "items": [{"kind": "vehicle", "value": "MA19XYZ", "detail": "white"}],
        })),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert!(
        second.json()["reference"]
            .as_str()
            .unwrap()
            .ends_with("-000002")
    );
    let second_id = second.json()["id"].as_str().unwrap().to_string();
    let s = api(
        &app,
        Method::GET,
        &format!("/api/v1/intelligence/{second_id}"),
        &police_t,
        None,
    )
    .await
    .json();
    let item = s["items"][0]["id"].as_str().unwrap().to_string();
    let linked2 = api(
        &app,
        Method::POST,
        &format!("/api/v1/intelligence/{second_id}/links"),
        &police_t,
        Some(json!({"items": [{"item_id": item, "link": true}]})),
    )
    .await;
    assert_eq!(linked2.status, StatusCode::OK, "{}", linked2.body);
    assert_eq!(linked2.json()["version"], 2);
    assert_eq!(
        linked2.json()["report"]["links"][0]["entity"]["id"],
        vehicle
    );

    // Sharing the sanitised copy writes it, with its conditions, on the child's chronology.
    let shared = p
        .post(
            &format!("/intelligence/{report_id}/share"),
            &[
                ("csrf_token", &ptoken),
                (
                    "reason",
                    "To protect Kayleigh: safeguarding (DPA 2018 Sch 1 para 18)",
                ),
            ],
        )
        .await;
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.body);
    let rec = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}"),
        &dsl_t,
        None,
    )
    .await;
    let chron = rec.json()["chronology"].to_string();
    assert!(chron.contains(SANITISED), "{chron}");
    assert!(chron.contains(CONDITIONS), "{chron}");
    let disclosures = audit_actions(&app, &[Category::Disclosure]).await;
    assert!(disclosures.iter().any(|a| a == "intel.share:success"));
    assert!(disclosures.iter().any(|a| a == "intel.submit:success"));

    // Actioned, with a police-only note.
    let actioned = p
        .post(
            &format!("/intelligence/{report_id}/action"),
            &[("csrf_token", &ptoken), ("action_note", ACTION_NOTE)],
        )
        .await;
    assert_eq!(actioned.status, StatusCode::SEE_OTHER, "{}", actioned.body);

    // The submitter: notifications of each status change, then the status and nothing more.
    let list = d.get("/intelligence").await;
    let updates = list.select_text("#updates").join(" ");
    assert!(
        updates.contains(&format!("{reference} has been assessed")),
        "{updates}"
    );
    assert!(
        updates.contains(&format!("{reference} has been actioned")),
        "{updates}"
    );
    assert!(
        list.select_text("#mine").join(" ").contains("Actioned"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("id=\"inbox\""), "no police inbox");
    let again = d.get("/intelligence").await;
    assert!(again.select_text("#updates").is_empty(), "marked read");
    let mine = d.get(&format!("/intelligence/{report_id}")).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(text(&mine).contains("Actioned"));
    assert!(text(&mine).contains("ma19 xyz"));
    let mine_json = api(
        &app,
        Method::GET,
        &format!("/api/v1/intelligence/{report_id}"),
        &dsl_t,
        None,
    )
    .await;
    assert_eq!(mine_json.json()["view"], "submitter");
    assert_eq!(mine_json.json()["status"], "actioned");
    for body in [&mine.body, &mine_json.body] {
        for leak in [
            SANITISED,
            CONDITIONS,
            ACTION_NOTE,
            "MA19XYZ",
            "+447700900123",
            "2B C",
            "sanitised",
            "handling",
            "source_evaluation",
            "entity_id",
        ] {
            assert!(!body.contains(leak), "{leak} leaked: {body}");
        }
    }
    let api_mine = api(&app, Method::GET, "/api/v1/intelligence/mine", &dsl_t, None).await;
    assert_eq!(api_mine.status, StatusCode::OK);
    assert_eq!(api_mine.json()["submissions"][0]["status"], "actioned");
    assert!(!api_mine.body.contains(SANITISED));

    // Every change audited.
    let changes = audit_actions(&app, &[Category::Alteration]).await;
    for a in ["intel.grade", "intel.link", "intel.action"] {
        assert!(
            changes.iter().any(|c| c == &format!("{a}:success")),
            "{a}: {changes:?}"
        );
    }
    let reads = audit_actions(&app, &[Category::Consultation]).await;
    assert!(reads.iter().any(|a| a == "intel.view:success"));
}

#[tokio::test]
async fn only_children_the_submitter_may_open_can_be_named_and_unlinking_bumps_the_version() {
    let app = crate::support::app().await;
    let child = world(&app).await;

    // The exploitation worker has no relationship with the child: refused, recorded.
    let worker_t = api_token(&app, "worker@service.test").await;
    let r = api(
        &app,
        Method::POST,
        "/api/v1/intelligence",
        &worker_t,
        Some(json!({
            "narrative": "Seen with older males near the station.",
            "how_known": "saw_or_heard",
            "children": [child],
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let mut w = Browser::new(&app);
    signed_in(&app, &mut w, "worker@service.test").await;
    let page = w.get(&format!("/children/{child}/intelligence/new")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let denied = audit_actions(&app, &[Category::AuthzDenied]).await;
    assert!(
        denied.iter().any(|a| a == "intel.submit:denied"),
        "{denied:?}"
    );
    assert!(
        denied.iter().any(|a| a == "intel.form:denied"),
        "{denied:?}"
    );

    // Grading and sharing come in order; unlinking bumps the graph version.
    let dsl_t = api_token(&app, "dsl@school.test").await;
    let made = api(
        &app,
        Method::POST,
        "/api/v1/intelligence",
        &dsl_t,
        Some(json!({
            "narrative": "Seen with older males near the station.",
            "how_known": "told_by_other",
            "children": [child],
            "items": [{"kind": "handle", "value": "@Tee_Money"}],
        })),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_string();
    let police_t = api_token(&app, "intel@police.test").await;
    let r = api(
        &app,
        Method::POST,
        &format!("/api/v1/intelligence/{id}/share"),
        &police_t,
        Some(json!({"reason": "Safeguarding the child named in the report"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "not graded yet: {}", r.body);
    let r = api(
        &app,
        Method::POST,
        &format!("/api/v1/intelligence/{id}/grade"),
        &police_t,
        Some(
            json!({"source_evaluation": "1", "intelligence_assessment": "A",
                    "handling_code": "C", "sanitised": SANITISED}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("conditions"), "{}", r.body);
    let r = api(
        &app,
        Method::POST,
        &format!("/api/v1/intelligence/{id}/grade"),
        &police_t,
        Some(
            json!({"source_evaluation": "1", "intelligence_assessment": "A",
                    "handling_code": "P", "sanitised": SANITISED}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "assessed");
    let item = r.json()["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["items"][0]["normalised"], "tee_money");
    let l = api(
        &app,
        Method::POST,
        &format!("/api/v1/intelligence/{id}/links"),
        &police_t,
        Some(json!({"items": [{"item_id": item, "link": true}]})),
    )
    .await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.body);
    assert_eq!(l.json()["version"], 1);
    let handle = l.json()["report"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["entity"]["kind"] == "handle")
        .unwrap()["entity"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let u = api(
        &app,
        Method::DELETE,
        &format!("/api/v1/intelligence/{id}/links/{handle}"),
        &police_t,
        None,
    )
    .await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.body);
    assert_eq!(u.json()["version"], 2);
    let gone = u.json()["report"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["entity"]["id"] == handle.as_str())
        .unwrap()
        .clone();
    assert_eq!(gone["removed_version"], 2);
    assert_eq!(
        u.json()["report"]["items"][0]["entity_id"],
        serde_json::Value::Null
    );
    let again = api(
        &app,
        Method::DELETE,
        &format!("/api/v1/intelligence/{id}/links/{handle}"),
        &police_t,
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // The inbox filters by status.
    let inbox = api(
        &app,
        Method::GET,
        "/api/v1/intelligence/inbox?status=received",
        &police_t,
        None,
    )
    .await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.json()["reports"].as_array().unwrap().is_empty());
    let inbox = api(
        &app,
        Method::GET,
        "/api/v1/intelligence/inbox?status=assessed",
        &police_t,
        None,
    )
    .await;
    assert_eq!(inbox.json()["reports"][0]["grade"], "1A P");
}
