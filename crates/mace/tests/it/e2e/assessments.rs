//! Issue 5's risk assessment in a real browser with the demo data: a social worker completes an
//! assessment on a demo child, disagrees with the suggested level and is asked for a rationale;
//! the team manager signs it off from their work list; the server's clock moves past the review
//! date and the review shows on the social worker's overdue list. Every page is checked with axe.

use super::harness::{E2e, Js, run};
use super::steps::*;
use mace_domain::assessment::default_framework;

const WORKER: &str = "social.worker@csc.demo.invalid";
const MANAGER: &str = "manager@csc.demo.invalid";

async fn check(t: &E2e, heading: &str) {
    t.assert_page_shape(heading).await;
    t.assert_axe_clean().await;
}

/// The href of the link in `css` whose text contains `text`.
async fn link_to(t: &E2e, css: &str, text: &str) -> String {
    let href = t
        .eval(
            "return [...document.querySelectorAll(arguments[0])]\
               .find(a => a.textContent.includes(arguments[1]))?.getAttribute('href') || ''",
            vec![css.into(), text.into()],
        )
        .await;
    let href = href.as_str().unwrap_or_default().to_string();
    assert!(!href.is_empty(), "no link to {text} in {css}");
    href
}

async fn journey(t: &E2e) {
    let secret = sign_in_and_enrol(t, WORKER).await;
    settle(t, "/account", "Your account").await;
    t.goto("/work").await;
    settle(t, "/work", "Your work").await;
    check(t, "Your work").await;
    let record = link_to(t, "#caseload a", "Jayden Okoye").await;
    t.goto(&record).await;
    appears(t, "#access-basis").await;
    press(t, "a[href$='/assessments']").await;
    appears(t, "#no-assessments").await;
    check(t, "Risk over time").await;
    press(t, "a[href$='/assessments/new']").await;
    appears(t, "#indicator-missing_repeat").await;
    check(t, "Risk and vulnerabilities assessment").await;
    let present = ["gifts_money", "phones"];
    for i in default_framework(uuid::Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH).indicators {
        if present.contains(&i.code.as_str()) {
            press(t, &format!("label[for='a_{}']", i.code)).await;
            press(t, &format!("#indicator-{} summary", i.code)).await;
            fill(
                t,
                &format!("#e_{}", i.code),
                "Seen by his social worker this month",
            )
            .await;
        } else {
            press(t, &format!("label[for='a_{}-not_present']", i.code)).await;
        }
    }
    fill(t, "#child_views", "Says the older boys look after him").await;
    press(t, "button[value=suggest]").await;
    appears(t, "#suggested").await;
    assert_eq!(t.text("#suggested").await, "Suggested level: Medium");
    assert!(t.text("#suggestion-rule").await.contains("4 points"));
    check(t, "Risk and vulnerabilities assessment").await;
    // High in the worker's judgement, without a reason: asked for one.
    press(t, "label[for='judged_level']").await;
    press(t, "button[value=submit]").await;
    appears(t, ".govuk-error-summary").await;
    assert!(
        t.text(".govuk-error-summary")
            .await
            .contains("differs from the suggested level")
    );
    check(t, "Risk and vulnerabilities assessment").await;
    fill(
        t,
        "#rationale",
        "He was collected from home by the same car three nights running",
    )
    .await;
    press(t, "button[value=submit]").await;
    appears(t, "#assessment-notice-title").await;
    assert_eq!(t.text("#status").await, "Awaiting sign-off");
    check(t, "Risk and vulnerabilities assessment").await;
    sign_out(t).await;

    // The team manager signs it off from their work list.
    sign_in_and_enrol(t, MANAGER).await;
    settle(t, "/account", "Your account").await;
    t.goto("/work").await;
    settle(t, "/work", "Your work").await;
    let assessment = link_to(t, "#awaiting a", "Jayden Okoye").await;
    t.goto(&assessment).await;
    appears(t, "#sign-off").await;
    press(t, "#sign-off").await;
    appears(t, "#review-due").await;
    assert_eq!(t.text("#status").await, "Signed off");
    check(t, "Risk and vulnerabilities assessment").await;
    sign_out(t).await;

    // Six weeks and more later (High: review within 42 days), the review is overdue.
    t.server
        .advance(std::time::Duration::from_secs(50 * 24 * 3600));
    sign_in_again(t, WORKER, &secret).await;
    t.goto("/work").await;
    settle(t, "/work", "Your work").await;
    assert!(t.text("#overdue").await.contains("Jayden Okoye"));
    check(t, "Your work").await;
    t.goto(&record).await;
    appears(t, "#access-basis").await;
    press(t, "a[href$='/assessments']").await;
    appears(t, "#trajectory-chart").await;
    check(t, "Risk over time").await;
}

#[test]
fn e2e_an_assessment_is_completed_signed_off_and_falls_due() {
    run(
        "e2e_an_assessment_is_completed_signed_off_and_falls_due",
        Js::On,
        async |t| journey(t).await,
    );
}
