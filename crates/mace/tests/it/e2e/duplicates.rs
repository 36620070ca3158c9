//! Issue 4's duplicate review in a real browser with the demo data: the school's safeguarding
//! lead finds the two records of one child, merges them (a reason is required), sees the
//! duplicate's concern on the kept record, and separates them again. Every page is checked with
//! axe (JavaScript on); the same journey works with JavaScript off.

use super::harness::{E2e, Js, run};
use super::steps::*;

const LEAD: &str = "dsl@school.demo.invalid";

async fn journey(t: &E2e, axe: bool) {
    let check = async |heading: &str| {
        t.assert_page_shape(heading).await;
        if axe {
            t.assert_axe_clean().await;
        }
    };
    sign_in_and_enrol(t, LEAD).await;
    settle(t, "/account", "Your account").await;
    t.goto("/children").await;
    settle(t, "/children", "Children").await;
    press(t, "a[href='/children/duplicates']").await;
    settle(t, "/children/duplicates", "Possible duplicate records").await;
    check("Possible duplicate records").await;
    let row = t.text("#duplicates tbody tr:first-child").await;
    assert!(
        row.contains("Kayleigh Harrison") && row.contains("Kayleigh Harrisson"),
        "{row}"
    );
    assert!(
        row.contains("same date of birth"),
        "the reasons are shown: {row}"
    );

    press(
        t,
        "#duplicates tbody tr:first-child a[href^='/children/merge']",
    )
    .await;
    appears(t, "#merge-compare").await;
    check("Merge two records").await;
    press(t, "form[action='/children/merge'] button[type=submit]").await;
    appears(t, ".govuk-error-summary").await;
    check("Merge two records").await;
    fill(
        t,
        "#reason",
        "Same child: the school office confirmed the spelling",
    )
    .await;
    press(t, "form[action='/children/merge'] button[type=submit]").await;
    appears(t, "#record-notice-title").await;
    let kept = t.current_path().await;
    let heading = t.text("h1").await;
    check(&heading).await;
    let chronology = t.text("#chronology").await;
    assert!(
        chronology.contains("Record merge") && chronology.contains("Concern raised"),
        "the duplicate's concern came over: {chronology}"
    );

    press(t, "[id^='merge-'] details summary").await;
    let merge_form = "form[action^='/merges/']";
    let reason = format!("{merge_form} textarea");
    fill(
        t,
        &reason,
        "Different children after all: two dates of birth checked",
    )
    .await;
    press(t, &format!("{merge_form} button[type=submit]")).await;
    // The same page comes back with a different banner: wait for its words.
    let mut banner = String::new();
    for _ in 0..50 {
        banner = t.text("main").await;
        if banner.contains("separated again") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(banner.contains("separated again"), "{banner}");
    assert_eq!(t.current_path().await, kept);
    assert!(!t.text("#chronology").await.contains("Concern raised"));
    t.goto("/children/duplicates").await;
    settle(t, "/children/duplicates", "Possible duplicate records").await;
    assert!(t.text("#duplicates").await.contains("Kayleigh Harrisson"));
}

#[test]
fn e2e_lead_merges_and_separates_duplicate_records() {
    run(
        "e2e_lead_merges_and_separates_duplicate_records",
        Js::On,
        async |t| journey(t, true).await,
    );
}

#[test]
fn e2e_duplicates_work_without_javascript() {
    run(
        "e2e_duplicates_work_without_javascript",
        Js::Off,
        async |t| journey(t, false).await,
    );
}
