//! The duplicate review, merging and unmerging, in the browser and over the API (issue 4):
//! pairs are shown only where the viewer may open both records, a merge carries the duplicate's
//! history over and is undone exactly, and every step is audited.

use crate::browser::*;
use crate::cases::{CSC, SCHOOL, api, api_token, audit_actions, child_born, text};
use crate::support::{TestApp, app};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::Role;
use mace_domain::cases::{self, ExploitationType, NewConcern};
use mace_domain::ports::IdentityRepo;
use time::macros::date;
use uuid::Uuid;

async fn concern_on(app: &TestApp, user: Uuid, child: Uuid, narrative: &str) {
    let (ctx, key, narrative) = (
        app.state.ctx.clone(),
        app.state.audit_key.clone(),
        narrative.to_string(),
    );
    app.state
        .store
        .write(|tx| {
            let (ctx, key, narrative) = (ctx.clone(), key.clone(), narrative.clone());
            Box::pin(async move {
                let u = tx.get_user(user).await?.unwrap();
                let now = ctx.clock.now();
                let actor = cases::load_actor(tx, &u, Some(now), now).await?;
                let c = NewConcern {
                    narrative,
                    exploitation_types: vec![ExploitationType::Criminal],
                    ..NewConcern::default()
                };
                cases::raise_concern(&ctx, tx, &key, &actor, &[child], &c).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
}

/// The school's two records of one child, and a third record only children's social care holds.
async fn setup(app: &TestApp) -> (Uuid, Uuid, Uuid) {
    let dsl = add_user_at(
        app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(app, "teacher@school.test", Role::Practitioner, Some(SCHOOL)).await;
    let sw = add_user_at(app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let keep = child_born(app, dsl, "Kayleigh", "Harrison", date!(2011 - 04 - 09)).await;
    let dup = child_born(app, dsl, "Kayley", "Harrison", date!(2011 - 09 - 04)).await;
    child_born(app, sw, "Kayleigh", "Harrisson", date!(2011 - 04 - 09)).await;
    child_born(app, dsl, "Jordan", "Clarke", date!(2009 - 01 - 30)).await;
    concern_on(
        app,
        dsl,
        dup,
        "Seen getting into a car with older males at lunchtime",
    )
    .await;
    (keep, dup, dsl)
}

#[tokio::test]
async fn a_safeguarding_lead_reviews_merges_and_separates_duplicate_records() {
    let app = app().await;
    let (keep, dup, _) = setup(&app).await;
    let mut dsl = Browser::new(&app);
    signed_in(&app, &mut dsl, "dsl@school.test").await;

    let review = dsl.get("/children/duplicates").await;
    assert_eq!(review.status, StatusCode::OK);
    let rows = review.select_text("#duplicates tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Kayleigh Harrison") && rows[0].contains("Kayley Harrison"));
    assert!(
        rows[0].contains("day and month swapped") && rows[0].contains("same postcode"),
        "the reasons are shown: {rows:?}"
    );
    assert!(
        text(&review).contains("2 more possible duplicates involve records you cannot open"),
        "the pairs with the social care record are counted, not named"
    );
    assert!(!text(&review).contains("Harrisson"));

    // The merge page shows both; a reason is required.
    let form = dsl
        .get(&format!("/children/merge?keep={keep}&merge={dup}"))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(text(&form).contains("Kayley Harrison"));
    let token = csrf(&form);
    let (keep_s, dup_s) = (keep.to_string(), dup.to_string());
    let short = dsl
        .post(
            "/children/merge",
            &[
                ("csrf_token", &token),
                ("keep", &keep_s),
                ("merge", &dup_s),
                ("reason", "same"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&short).contains("at least 10 characters"));
    let merged = dsl
        .post(
            "/children/merge",
            &[
                ("csrf_token", &token),
                ("keep", &keep_s),
                ("merge", &dup_s),
                (
                    "reason",
                    "Same child: the school office confirmed the spelling",
                ),
            ],
        )
        .await;
    assert_eq!(merged.status, StatusCode::SEE_OTHER, "{}", merged.body);
    assert_eq!(
        merged.header("location"),
        format!("/children/{keep}?merged=1")
    );

    // The kept record now holds the duplicate's concern; the duplicate leads there.
    let record = dsl.get(&format!("/children/{keep}?merged=1")).await;
    assert!(text(&record).contains("The records have been merged"));
    let chronology = record.select_text("#chronology tbody tr").join(" | ");
    assert!(chronology.contains("Record merge"), "{chronology}");
    assert!(chronology.contains("Concern"), "{chronology}");
    let gone = dsl.get(&format!("/children/{dup}")).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(gone.header("location"), format!("/children/{keep}"));
    let after = dsl.get("/children/duplicates").await;
    assert!(after.select_text("#duplicates tbody tr").is_empty());
    let list = dsl.get("/children").await;
    assert!(
        !text(&list).contains("Kayley Harrison"),
        "a merged record leaves the list"
    );

    // Separate them again: the duplicate gets its concern back.
    let undo_action = record
        .html()
        .select(&scraper::Selector::parse("form[action^='/merges/']").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("action")
        .unwrap()
        .to_string();
    let undone = dsl
        .post(
            &undo_action,
            &[
                ("csrf_token", &csrf(&record)),
                (
                    "reason",
                    "Two different children: the dates of birth are both right",
                ),
            ],
        )
        .await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER);
    let back = dsl.get(&format!("/children/{dup}")).await;
    assert_eq!(back.status, StatusCode::OK);
    let chronology = back.select_text("#chronology tbody tr").join(" | ");
    assert!(chronology.contains("Concern"), "{chronology}");
    assert!(chronology.contains("separated again"), "{chronology}");
    let kept = dsl.get(&format!("/children/{keep}")).await;
    assert!(
        !kept
            .select_text("#chronology tbody tr")
            .join(" ")
            .contains("Seen getting into a car")
    );

    // Not the same child: the pair is no longer offered.
    let review = dsl.get("/children/duplicates").await;
    assert_eq!(review.select_text("#duplicates tbody tr").len(), 1);
    let dismissed = dsl
        .post(
            "/children/duplicates/dismiss",
            &[
                ("csrf_token", &csrf(&review)),
                ("a", &keep_s),
                ("b", &dup_s),
            ],
        )
        .await;
    assert_eq!(dismissed.status, StatusCode::SEE_OTHER);
    let review = dsl.get("/children/duplicates?dismissed=1").await;
    assert!(review.select_text("#duplicates tbody tr").is_empty());
    assert!(text(&review).contains("will not be offered again"));

    let actions = audit_actions(
        &app,
        &[
            Category::Combination,
            Category::Consultation,
            Category::Alteration,
        ],
    )
    .await;
    for a in [
        "duplicates.review:success",
        "person.merge:success",
        "person.unmerge:success",
        "duplicates.dismiss:success",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }

    // A practitioner does not review records.
    let mut teacher = Browser::new(&app);
    signed_in(&app, &mut teacher, "teacher@school.test").await;
    assert_eq!(
        teacher.get("/children/duplicates").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_api_reviews_merges_and_undoes_with_the_same_rules() {
    let app = app().await;
    let (keep, dup, _) = setup(&app).await;
    let token = api_token(&app, "dsl@school.test").await;
    let r = api(&app, Method::GET, "/api/v1/duplicates", &token, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["pairs"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["hidden"], 2);
    assert!(v["pairs"][0]["probability"].as_f64().unwrap() > 0.9);

    // Children's social care may not merge the school's records.
    let sw = api_token(&app, "sw@csc.test").await;
    let body = serde_json::json!({
        "survivor_id": keep, "duplicate_id": dup,
        "reason": "Same child: confirmed with the school office"
    });
    let refused = api(
        &app,
        Method::POST,
        "/api/v1/merges",
        &sw,
        Some(body.clone()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let bad = api(
        &app,
        Method::POST,
        "/api/v1/merges",
        &token,
        Some(serde_json::json!({"survivor_id": keep, "duplicate_id": dup, "reason": "x"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let made = api(
        &app,
        Method::POST,
        "/api/v1/merges",
        &token,
        Some(body.clone()),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let merge_id = made.json()["id"].as_str().unwrap().to_string();
    let again = api(&app, Method::POST, "/api/v1/merges", &token, Some(body)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let moved = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{dup}"),
        &token,
        None,
    )
    .await;
    assert_eq!(moved.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(moved.header("location"), format!("/api/v1/children/{keep}"));
    let kept = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{keep}"),
        &token,
        None,
    )
    .await;
    let kinds: Vec<String> = kept.json()["chronology"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds.contains(&"concern".into()) && kinds.contains(&"merge".into()),
        "{kinds:?}"
    );

    let undo = serde_json::json!({"reason": "Different children after all, says the school"});
    let path = format!("/api/v1/merges/{merge_id}/undo");
    let undone = api(&app, Method::POST, &path, &token, Some(undo.clone())).await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.body);
    assert_eq!(undone.json()["undone"], true);
    let twice = api(&app, Method::POST, &path, &token, Some(undo)).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let back = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{dup}"),
        &token,
        None,
    )
    .await;
    assert_eq!(back.status, StatusCode::OK);
}
