//! Issue 4's "done when", as a new user would do it in a real browser with the demo data: a
//! teacher finds a child under a misspelt name and raises a concern; the school's safeguarding
//! lead triages it; a social worker with no relationship to the child is refused. Every page is
//! checked with axe (JavaScript on), the same journey works with JavaScript off, and no URL
//! ever carries a name or date of birth (DATA-02).

use super::harness::{E2e, Js, run};
use super::steps::*;

const TEACHER: &str = "teacher@school.demo.invalid";
const LEAD: &str = "dsl@school.demo.invalid";
const SOCIAL_WORKER: &str = "social.worker@csc.demo.invalid";

async fn check(t: &E2e, heading: &str, axe: bool) {
    t.assert_page_shape(heading).await;
    let url = t
        .client()
        .current_url()
        .await
        .expect("url")
        .to_string()
        .to_lowercase();
    for personal in ["kayl", "harri", "2011"] {
        assert!(!url.contains(personal), "personal data in a URL: {url}");
    }
    if axe {
        t.assert_axe_clean().await;
    }
}

async fn journey(t: &E2e, axe: bool) {
    // The teacher: search with a misspelt name and a swapped date, choose, raise.
    sign_in_and_enrol(t, TEACHER).await;
    settle(t, "/account", "Your account").await;
    t.goto("/concerns").await;
    settle(t, "/concerns", "Concerns").await;
    check(t, "Concerns", axe).await;
    press(t, "a.govuk-button[href='/concerns/new']").await;
    settle(t, "/concerns/new", "Find the child").await;
    check(t, "Find the child", axe).await;
    fill(t, "#given_name", "Kayley").await;
    fill(t, "#family_name", "Harison").await;
    fill(t, "#dob-day", "4").await;
    fill(t, "#dob-month", "9").await;
    fill(t, "#dob-year", "2011").await;
    press(t, "form[action='/concerns/find'] button[type=submit]").await;
    appears(t, "#candidates").await;
    check(t, "Find the child", axe).await;
    let best = t.text("#candidates tbody tr:first-child").await;
    assert!(best.contains("Kayleigh Harrison"), "{best}");
    assert!(best.contains("swapped"), "the reasons are shown: {best}");
    let choose = t
        .attr("#candidates tbody tr:first-child a", "href")
        .await
        .expect("a choose link");
    let child_id = choose.trim_start_matches("/concerns/new/").to_string();
    press(t, "#candidates tbody tr:first-child a").await;
    settle(t, &choose, "Raise a concern").await;
    check(t, "Raise a concern", axe).await;
    assert!(t.text("main").await.contains("call 999"));

    press(t, "button[value=send]").await;
    appears(t, ".govuk-error-summary").await;
    check(t, "Raise a concern", axe).await;
    fill(
        t,
        "#narrative",
        "Seen getting into a car with two older teenagers after school; she looked frightened.",
    )
    .await;
    press(t, "#type_criminal").await;
    press(t, "#ind_vehicles").await;
    fill(t, "#location", "Outside the school gates").await;
    // The draft is kept: saved in the background with JavaScript, by the button without it.
    if axe {
        let mut saved = String::new();
        for _ in 0..40 {
            saved = t.text("#draft-status").await;
            if saved.contains("Draft saved") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert!(saved.contains("Draft saved"), "{saved:?}");
        t.goto(&choose).await;
    } else {
        press(t, "button[value=save_draft]").await;
    }
    appears(t, "#draft-notice").await;
    check(t, "Raise a concern", axe).await;
    assert!(
        t.text("#narrative").await.contains("two older teenagers"),
        "restored"
    );
    press(t, "button[value=send]").await;
    appears(t, "#concern-status").await;
    check(t, "Concern", axe).await;
    assert!(t.text("main").await.contains("Your concern has been sent"));
    let concern_path = t.current_path().await;
    sign_out(t).await;

    // The safeguarding lead: the concern waits in the queue; triage it.
    sign_in_and_enrol(t, LEAD).await;
    settle(t, "/account", "Your account").await;
    t.goto("/concerns").await;
    settle(t, "/concerns", "Concerns").await;
    check(t, "Concerns", axe).await;
    let queue = t.text("#queue").await;
    assert!(queue.contains("Kayleigh Harrison"), "{queue}");
    press(t, &format!("#queue a[href='{concern_path}']")).await;
    settle(t, &concern_path, "Concern").await;
    check(t, "Concern", axe).await;
    press(t, "#decision-refer_exploitation_service").await;
    fill(
        t,
        "#rationale",
        "Indicators of criminal exploitation; refer to the exploitation service today.",
    )
    .await;
    press(t, "form[action$='/triage'] button[type=submit]").await;
    appears(t, "#triage-outcome").await;
    check(t, "Concern", axe).await;
    assert_eq!(
        t.text("#decision").await,
        "Refer to the exploitation service"
    );
    // The lead opens the child's record: the chronology shows both entries.
    t.goto(&format!("/children/{child_id}")).await;
    settle(t, &format!("/children/{child_id}"), "Kayleigh Harrison").await;
    check(t, "Kayleigh Harrison", axe).await;
    let chronology = t.text("#chronology").await;
    assert!(
        chronology.contains("Concern raised") && chronology.contains("Concern triaged"),
        "{chronology}"
    );
    // A correction, added beside the entry it corrects.
    press(t, "#chronology tbody tr:first-child a[href$='/correct']").await;
    appears(t, "form[action$='/correct']").await;
    check(t, "Add a correction", axe).await;
    fill(
        t,
        "#text",
        "It was one older teenager and an adult driver, not two teenagers.",
    )
    .await;
    press(t, "form[action$='/correct'] button[type=submit]").await;
    appears(t, ".mace-addendum").await;
    check(t, "Kayleigh Harrison", axe).await;
    assert!(t.text(".mace-addendum").await.contains("adult driver"));
    // Another identifier: a mistyped NHS number is caught, the right one is shown.
    t.goto(&format!("/children/{child_id}/identifiers")).await;
    settle(
        t,
        &format!("/children/{child_id}/identifiers"),
        "Add another name or identifier",
    )
    .await;
    check(t, "Add another name or identifier", axe).await;
    press(t, "#kind option[value=nhs_number]").await;
    fill(t, "#value", "943 476 5918").await;
    press(t, "form[action$='/identifiers'] button[type=submit]").await;
    appears(t, ".govuk-error-summary").await;
    check(t, "Add another name or identifier", axe).await;
    fill(t, "#value", "943 476 5919").await;
    press(t, "form[action$='/identifiers'] button[type=submit]").await;
    appears(t, "#identifier-list").await;
    assert!(t.text("#identifier-list").await.contains("943 476 5919"));
    // An address and a parent: the address form, then search before linking someone, then the
    // parent's own record, each checked with axe.
    t.goto(&format!("/people/{child_id}/addresses")).await;
    settle(
        t,
        &format!("/people/{child_id}/addresses"),
        "Add an address",
    )
    .await;
    check(t, "Add an address", axe).await;
    fill(t, "#line1", "22 Example Street").await;
    fill(t, "#postcode", "not a postcode").await;
    press(t, "form[action$='/addresses'] button[type=submit]").await;
    appears(t, ".govuk-error-summary").await;
    check(t, "Add an address", axe).await;
    fill(t, "#town", "Southend-on-Sea").await;
    fill(t, "#postcode", "SS1 2AB").await;
    press(t, "form[action$='/addresses'] button[type=submit]").await;
    appears(t, "#address-list").await;
    assert!(t.text("#address-list").await.contains("22 Example Street"));
    t.goto(&format!("/children/{child_id}/related")).await;
    settle(
        t,
        &format!("/children/{child_id}/related"),
        "Add someone in the child's life",
    )
    .await;
    check(t, "Add someone in the child's life", axe).await;
    press(t, "#kind option[value=carer]").await;
    fill(t, "#given_name", "Sandra").await;
    fill(t, "#family_name", "Harrison").await;
    press(t, "form[action$='/related/find'] button[type=submit]").await;
    appears(t, "#results-heading").await;
    check(t, "Add someone in the child's life", axe).await;
    press(t, "#create-related").await;
    appears(t, "#link-list").await;
    assert!(t.text("#link-list").await.contains("Sandra Harrison"));
    press(t, "#link-list .govuk-summary-list__row:last-child a").await;
    appears(t, "#access-basis").await;
    check(t, "Sandra Harrison", axe).await;
    t.goto(&format!("/children/{child_id}/access-log")).await;
    settle(
        t,
        &format!("/children/{child_id}/access-log"),
        "Who has seen this record",
    )
    .await;
    check(t, "Who has seen this record", axe).await;
    t.goto("/children").await;
    settle(t, "/children", "Children").await;
    check(t, "Children", axe).await;
    // Full-text search finds the concern by its words (the words are POSTed, not in the URL).
    t.goto("/search").await;
    settle(t, "/search", "Search").await;
    check(t, "Search", axe).await;
    fill(t, "#q", "older teenagers car").await;
    press(t, "form[action='/search'] button[type=submit]").await;
    appears(t, "#hits").await;
    check(t, "Search", axe).await;
    assert!(t.text("#hits").await.contains("Kayleigh Harrison"));
    sign_out(t).await;

    // A social worker with no relationship to the child is refused.
    sign_in_and_enrol(t, SOCIAL_WORKER).await;
    settle(t, "/account", "Your account").await;
    t.goto(&format!("/children/{child_id}")).await;
    settle(
        t,
        &format!("/children/{child_id}"),
        "You cannot see this record",
    )
    .await;
    check(t, "You cannot see this record", axe).await;
    let main = t.text("main").await;
    assert!(
        !main.contains("Harrison"),
        "the refusal shows nothing: {main}"
    );
    // Breaking the glass (the second factor was entered minutes ago, so no code is asked).
    press(t, &format!("a[href='/children/{child_id}/break-glass']")).await;
    settle(
        t,
        &format!("/children/{child_id}/break-glass"),
        "Break-glass access",
    )
    .await;
    check(t, "Break-glass access", axe).await;
    fill(
        t,
        "#reason",
        "Child found at the station late at night; need the lead contact now.",
    )
    .await;
    press(t, "form button[type=submit]").await;
    settle(t, &format!("/children/{child_id}"), "Kayleigh Harrison").await;
    assert!(t.text("#access-basis").await.contains("break-glass"));
    sign_out(t).await;

    // The privacy officer sees the break-glass and the refusal to review.
    sign_in_and_enrol(t, "privacy@partnership.demo.invalid").await;
    settle(t, "/account", "Your account").await;
    t.goto("/privacy-queue").await;
    settle(t, "/privacy-queue", "Access to review").await;
    check(t, "Access to review", axe).await;
    let queue = t.text("#access").await;
    assert!(
        queue.contains("Break-glass access") && queue.contains("Refused"),
        "{queue}"
    );
}

#[test]
fn e2e_teacher_raises_a_concern_lead_triages_unrelated_worker_refused() {
    run(
        "e2e_teacher_raises_a_concern_lead_triages_unrelated_worker_refused",
        Js::On,
        async |t| journey(t, true).await,
    );
}

#[test]
fn e2e_casework_works_without_javascript() {
    run(
        "e2e_casework_works_without_javascript",
        Js::Off,
        async |t| journey(t, false).await,
    );
}
