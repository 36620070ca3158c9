//! Issue 7 in a real browser with the demo data: a youth worker shares intelligence about a
//! child naming a car and a nickname; the police intelligence officer grades and links it; a
//! school's report about another child names the same car; the network view shows both
//! children linked through the car; with the alert rule tuned to two children, an
//! emerging-network alert fires; the youth worker sees "Actioned" and nothing police added; a
//! teacher cannot open the police views. Every page is checked with axe when scripts run.

use super::harness::{E2e, Js, run};
use super::services::{check, child_href};
use super::steps::*;
use std::time::Duration;

const YOUTH_WORKER: &str = "worker@exploitation.demo.invalid";
const LEAD: &str = "dsl@school.demo.invalid";
const POLICE: &str = "intel@police.demo.invalid";
const TEACHER: &str = "teacher@school.demo.invalid";
const CAR: &str = "KX70 HNB";
const SANITISED: &str = "A partner agency reports a child seen getting into a car after school";

/// Share intelligence from the child's record: the car in row 1, `second` in row 2.
async fn share(t: &E2e, child: &str, car_as_typed: &str, second: Option<(&str, &str)>) -> String {
    let form = format!("{child}/intelligence/new");
    t.goto(&form).await;
    settle(t, &form, "Share intelligence with police").await;
    check(t, "Share intelligence with police").await;
    set_select(t, "#item_0_kind", "vehicle").await;
    fill(t, "#item_0_value", car_as_typed).await;
    fill(
        t,
        "#item_0_detail",
        "Grey hatchback with a dented rear door",
    )
    .await;
    if let Some((value, detail)) = second {
        set_select(t, "#item_1_kind", "person").await;
        fill(t, "#item_1_value", value).await;
        fill(t, "#item_1_detail", detail).await;
    }
    fill(
        t,
        "#narrative",
        "Seen being collected after school by an older male in the car, twice this week",
    )
    .await;
    press(t, "input[name=how_known][value=saw_or_heard]").await;
    press(t, "#send").await;
    appears(t, "#reference").await;
    check(t, "Intelligence sent to police").await;
    let reference = t.text("#reference").await;
    assert!(reference.starts_with("INT-"), "{reference}");
    assert!(t.text("#status").await.contains("Received"));
    t.current_path().await
}

async fn set_select(t: &E2e, css: &str, value: &str) {
    t.eval(
        "const s = document.querySelector(arguments[0]); s.value = arguments[1]; return s.value;",
        vec![
            serde_json::Value::String(css.into()),
            serde_json::Value::String(value.into()),
        ],
    )
    .await;
}

/// As police: grade the report (1B P, with a sanitised copy) and link everything it names.
async fn grade_and_link(t: &E2e, report: &str) {
    t.goto(report).await;
    appears(t, "#grade-form").await;
    check(t, "INT-").await;
    press(t, "input[name=source_evaluation][value='1']").await;
    press(t, "input[name=intelligence_assessment][value=B]").await;
    press(t, "input[name=handling_code][value=P]").await;
    fill(t, "#sanitised", SANITISED).await;
    press(t, "#save-grade").await;
    appears(t, "#grade").await;
    assert_eq!(t.text("#grade").await, "1B P");
    press(t, "#link").await;
    appears(t, "#links").await;
    let links = t.text("#links").await;
    assert!(links.contains(CAR), "{links}");
}

async fn network_through_a_car(t: &E2e) {
    // The youth worker shares what they saw about Kayleigh: a car and a nickname.
    let youth = sign_in_and_enrol(t, YOUTH_WORKER).await;
    settle(t, "/account", "Your account").await;
    let kayleigh = child_href(t, "Kayleigh Harrison").await;
    let first = share(t, &kayleigh, "kx70hnb", Some(("Tee", "calls himself Tee"))).await;
    sign_out(t).await;

    // Police grade and link it.
    let police = sign_in_and_enrol(t, POLICE).await;
    settle(t, "/account", "Your account").await;
    t.goto("/intelligence").await;
    settle(t, "/intelligence", "Intelligence").await;
    check(t, "Intelligence").await;
    press(t, &format!("#inbox a[href='{first}']")).await;
    grade_and_link(t, &first).await;
    sign_out(t).await;

    // The school's safeguarding lead reports the same car with Jayden.
    t.server.advance(Duration::from_secs(60));
    sign_in_and_enrol(t, LEAD).await;
    settle(t, "/account", "Your account").await;
    let jayden = child_href(t, "Jayden Okoye").await;
    let second = share(t, &jayden, CAR, None).await;
    sign_out(t).await;

    // Police link the second report; tune the rule to two children; the alert fires and the
    // network shows both children two steps from the car.
    t.server.advance(Duration::from_secs(60));
    sign_in_again(t, POLICE, &police).await;
    grade_and_link(t, &second).await;
    let car = t
        .eval(
            "return [...document.querySelectorAll('#links a')]\
               .find(a => a.textContent.includes(arguments[0])).getAttribute('href');",
            vec![serde_json::Value::String(CAR.into())],
        )
        .await;
    let car = car
        .as_str()
        .expect("the car links to its network")
        .to_string();
    t.goto("/networks/rules").await;
    settle(t, "/networks/rules", "Emerging-network alert rules").await;
    check(t, "Emerging-network alert rules").await;
    press(t, "#rules a[href^='/networks/rules/']").await;
    appears(t, "#min_children").await;
    check(t, "Change an alert rule").await;
    t.eval(
        "document.querySelector('#min_children').value = ''; return true;",
        vec![],
    )
    .await;
    fill(t, "#min_children", "2").await;
    press(t, "form[action^='/networks/rules/'] button[type=submit]").await;
    settle(t, "/networks", "Networks").await;
    appears(t, "#network-notice-title").await;
    check(t, "Networks").await;
    let alerts = t.text("#alerts").await;
    assert!(alerts.contains(CAR) && alerts.contains('2'), "{alerts}");
    t.goto(&car).await;
    appears(t, "#neighbourhood").await;
    check(t, "Network around").await;
    let table = t.text("#neighbourhood").await;
    assert!(
        table.contains("Kayleigh Harrison") && table.contains("Jayden Okoye"),
        "{table}"
    );
    if t.js() == Js::On {
        // The drawing is there, and selecting the car says what it is linked to.
        appears(t, "#network-view svg").await;
        press(t, "#network-view svg g[role=button]").await;
        appears(t, "#network-selected").await;
    }
    // Police act on the youth worker's report.
    t.goto(&first).await;
    appears(t, "#action-form").await;
    fill(
        t,
        "#action_note",
        "Vehicle flagged for stops; shared with the neighbourhood team",
    )
    .await;
    press(t, "#mark-actioned").await;
    appears(t, "#action-note").await;
    sign_out(t).await;

    // The youth worker sees "Actioned" and nothing police added.
    t.server.advance(Duration::from_secs(60));
    sign_in_again(t, YOUTH_WORKER, &youth).await;
    t.goto("/intelligence").await;
    settle(t, "/intelligence", "Intelligence").await;
    check(t, "Intelligence").await;
    assert!(t.text("main").await.contains("Actioned"));
    t.goto(&first).await;
    appears(t, "#status").await;
    check(t, "INT-").await;
    assert!(t.text("#status").await.contains("Actioned"));
    let page = t.text("main").await;
    for secret in ["1B", SANITISED, "neighbourhood team", "Jayden"] {
        assert!(!page.contains(secret), "{secret} leaked: {page}");
    }
    sign_out(t).await;

    // A teacher cannot open the police views.
    sign_in_and_enrol(t, TEACHER).await;
    settle(t, "/account", "Your account").await;
    for path in ["/networks", car.as_str(), first.as_str(), "/hotspots"] {
        t.goto(path).await;
        appears(t, "h1").await;
        let h1 = t.text("h1").await;
        assert!(
            !h1.contains("Network") && !h1.starts_with("INT-") && !h1.contains("Hotspots"),
            "{path}: {h1}"
        );
        if t.js() == Js::On {
            t.assert_axe_clean().await;
        }
    }
    sign_out(t).await;
}

#[test]
fn e2e_intelligence_links_two_children_through_a_car() {
    run(
        "e2e_intelligence_links_two_children_through_a_car",
        Js::On,
        async |t| network_through_a_car(t).await,
    );
}

#[test]
fn e2e_intelligence_works_without_javascript() {
    run(
        "e2e_intelligence_works_without_javascript",
        Js::Off,
        async |t| network_through_a_car(t).await,
    );
}
