//! Issue 6 in a real browser with the demo data: a school's safeguarding lead refers a child to
//! the exploitation service, the service's worker accepts it, and the lead sees the change; a
//! child's third missing episode in 90 days raises a prompt to review the risk; an NRM referral
//! shows its reasonable grounds deadline as due, and as overdue once the server's clock has moved
//! on. Every page is checked with axe.

use super::harness::{E2e, Js, run};
use super::steps::*;
use std::time::Duration;

const LEAD: &str = "dsl@school.demo.invalid";
const WORKER: &str = "worker@exploitation.demo.invalid";
const SOCIAL_WORKER: &str = "social.worker@csc.demo.invalid";
const SERVICE: &str = "Children at risk of exploitation service";

/// The page's shape, and axe when scripts run (axe is a script).
pub(super) async fn check(t: &E2e, heading: &str) {
    t.assert_page_shape(heading).await;
    if t.js() == Js::On {
        t.assert_axe_clean().await;
    }
}

/// The record link of the child named `name` on `/children`.
pub(super) async fn child_href(t: &E2e, name: &str) -> String {
    t.goto("/children").await;
    settle(t, "/children", "Children").await;
    let href = t
        .eval(
            "return [...document.querySelectorAll('main a')]\
               .find(a => a.textContent.includes(arguments[0])).getAttribute('href');",
            vec![serde_json::Value::String(name.into())],
        )
        .await;
    href.as_str()
        .unwrap_or_else(|| panic!("{name} is listed"))
        .to_string()
}

/// Choose the radio of `name` whose label contains `label`.
pub(super) async fn choose(t: &E2e, name: &str, label: &str) {
    let id = t
        .eval(
            "return [...document.querySelectorAll(`input[name='${arguments[0]}']`)]\
               .find(i => document.querySelector(`label[for='${i.id}']`).textContent\
                 .includes(arguments[1])).id;",
            vec![
                serde_json::Value::String(name.into()),
                serde_json::Value::String(label.into()),
            ],
        )
        .await;
    let id = id
        .as_str()
        .unwrap_or_else(|| panic!("{name}: {label} is offered"))
        .to_string();
    press(t, &format!("#{id}")).await;
}

/// The server's time now (UK winter time is UTC; the demo runs in November to March too).
fn server_now(t: &E2e) -> time::OffsetDateTime {
    mace_domain::Clock::now(&mace_domain::SystemClock) + time::Duration::seconds(t.server.offset())
}

async fn fill_date(t: &E2e, prefix: &str, when: time::OffsetDateTime) {
    let uk = mace_web::format::uk(when);
    fill(t, &format!("#{prefix}-day"), &uk.day().to_string()).await;
    fill(
        t,
        &format!("#{prefix}-month"),
        &u8::from(uk.month()).to_string(),
    )
    .await;
    fill(t, &format!("#{prefix}-year"), &uk.year().to_string()).await;
}

async fn referral_accepted(t: &E2e) {
    // The lead refers Kayleigh to the exploitation service, sharing the minimum.
    let lead = sign_in_and_enrol(t, LEAD).await;
    settle(t, "/account", "Your account").await;
    let child = child_href(t, "Kayleigh Harrison").await;
    let list = format!("{child}/referrals");
    t.goto(&list).await;
    settle(t, &list, "Referrals").await;
    check(t, "Referrals").await;
    press(t, &format!("a[href='{list}/new']")).await;
    settle(t, &format!("{list}/new"), "Make a referral").await;
    check(t, "Make a referral").await;
    // Sending without a reason is refused with an error summary.
    choose(t, "service_id", SERVICE).await;
    press(t, "form[action$='/referrals'] button:not([name=check])").await;
    appears(t, ".govuk-error-summary").await;
    check(t, "Make a referral").await;
    choose(t, "service_id", SERVICE).await;
    fill(
        t,
        "#reason",
        "Kayleigh has been picked up from school by an unknown adult in a car twice this month",
    )
    .await;
    press(t, "form[action$='/referrals'] button:not([name=check])").await;
    appears(t, "#referral-status").await;
    check(t, "Referral to").await;
    assert!(t.text("#referral-status").await.contains("Sent"));
    let referral = t.current_path().await;
    sign_out(t).await;

    // The service's worker finds it in the inbox and accepts it.
    sign_in_and_enrol(t, WORKER).await;
    settle(t, "/account", "Your account").await;
    t.goto("/work/referrals").await;
    settle(t, "/work/referrals", "Referrals").await;
    check(t, "Referrals").await;
    press(t, &format!("#incoming a[href='{referral}']")).await;
    settle(t, &referral, "Referral to").await;
    choose(t, "status", "ccept").await;
    fill(
        t,
        "#note",
        "Allocated to a specialist worker, first visit this week",
    )
    .await;
    press(t, &format!("form[action='{referral}/status'] button")).await;
    appears(t, "#referral-status").await;
    check(t, "Referral to").await;
    assert!(t.text("#referral-status").await.contains("Accepted"));
    // Receiving the referral made the service's relationship with the child: the record opens.
    t.goto(&child).await;
    settle(t, &child, "Kayleigh Harrison").await;
    sign_out(t).await;

    // The lead is told, and sees the new status (a minute on, so the sign-in code is a new one).
    t.server.advance(Duration::from_secs(60));
    sign_in_again(t, LEAD, &lead).await;
    t.goto("/work/referrals").await;
    settle(t, "/work/referrals", "Referrals").await;
    check(t, "Referrals").await;
    let updates = t.text("#updates").await;
    assert!(updates.to_lowercase().contains("accepted"), "{updates}");
    t.goto(&referral).await;
    settle(t, &referral, "Referral to").await;
    assert!(t.text("#referral-status").await.contains("Accepted"));
    let history = t.text("#referral-history").await;
    assert!(
        history.contains("Allocated to a specialist worker"),
        "{history}"
    );
    sign_out(t).await;
}

async fn third_missing_episode_and_nrm(t: &E2e) {
    let secret = sign_in_and_enrol(t, SOCIAL_WORKER).await;
    settle(t, "/account", "Your account").await;
    let child = child_href(t, "Jayden Okoye").await;

    // Jayden went missing twice in the last 90 days (demo data); this is the third time.
    let missing = format!("{child}/missing");
    t.goto(&missing).await;
    settle(t, &missing, "Missing episodes").await;
    check(t, "Missing episodes").await;
    t.goto(&format!("{missing}/new")).await;
    settle(t, &format!("{missing}/new"), "Record a missing episode").await;
    check(t, "Record a missing episode").await;
    let reported = server_now(t) - time::Duration::hours(3);
    press(t, "input[name=category][value=missing]").await;
    fill_date(t, "reported", reported).await;
    let uk = mace_web::format::uk(reported);
    fill(
        t,
        "#reported-time",
        &format!("{:02}:{:02}", uk.hour(), uk.minute()),
    )
    .await;
    press(t, "input[name=reported_by][value=parent]").await;
    press(t, "input[name=from_care][value=no]").await;
    press(t, "input[name=risk][value=medium]").await;
    press(
        t,
        &format!("form[action='{missing}/new'] button[type=submit]"),
    )
    .await;
    settle(t, &missing, "Missing episodes").await;
    check(t, "Missing episodes").await;
    appears(t, "#prompt-list").await;
    let prompts = t.text("#prompt-list").await;
    assert!(
        prompts.contains("3 missing episodes in 90 days"),
        "{prompts}"
    );
    // On the record page too, and in the work list.
    t.goto(&child).await;
    settle(t, &child, "Jayden Okoye").await;
    check(t, "Jayden Okoye").await;
    assert!(t.text("#missing-prompts").await.contains("90 days"));
    t.goto("/work").await;
    settle(t, "/work", "Your work").await;
    check(t, "Your work").await;
    let work = t.text("#missing-prompts").await;
    assert!(
        work.contains("Jayden Okoye") && work.contains("90 days"),
        "{work}"
    );

    // An NRM referral: its reasonable grounds decision is due within 5 working days.
    let nrm = format!("{child}/nrm");
    t.goto(&format!("{nrm}/new")).await;
    settle(t, &format!("{nrm}/new"), "Record an NRM referral").await;
    check(t, "Record an NRM referral").await;
    fill(t, "#first_responder_name", "Demo social worker").await;
    press(t, "input[name=exp_criminal]").await;
    press(t, "input[name=county_lines]").await;
    press(t, "input[name=location][value=uk]").await;
    press(t, "input[name=decision_maker][value=sca]").await;
    fill_date(t, "submitted", server_now(t)).await;
    fill(t, "#home_office_ref", "NRM-DEMO-E2E-1").await;
    press(t, &format!("form[action='{nrm}/new'] button[type=submit]")).await;
    settle(t, &nrm, "National Referral Mechanism referrals").await;
    check(t, "National Referral Mechanism referrals").await;
    let shown = t.text("main").await;
    assert!(
        shown.contains("NRM-DEMO-E2E-1") && shown.contains("RG decision due on"),
        "{shown}"
    );

    // Eight days on (at least 5 working days), the decision is overdue, on the child's page and
    // in the list of open referrals.
    t.server.advance(Duration::from_secs(8 * 24 * 3600));
    sign_in_again(t, SOCIAL_WORKER, &secret).await;
    t.goto(&nrm).await;
    settle(t, &nrm, "National Referral Mechanism referrals").await;
    let shown = t.text("main").await;
    assert!(shown.contains("RG decision overdue"), "{shown}");
    t.goto("/nrm").await;
    settle(t, "/nrm", "Open NRM referrals").await;
    check(t, "Open NRM referrals").await;
    assert!(t.text("main").await.contains("RG decision overdue"));
}

#[test]
fn e2e_referral_accepted_and_seen_by_the_referrer() {
    run(
        "e2e_referral_accepted_and_seen_by_the_referrer",
        Js::On,
        async |t| referral_accepted(t).await,
    );
}

#[test]
fn e2e_referral_works_without_javascript() {
    run(
        "e2e_referral_works_without_javascript",
        Js::Off,
        async |t| referral_accepted(t).await,
    );
}

#[test]
fn e2e_third_missing_episode_prompts_review_and_nrm_deadline_falls_due() {
    run(
        "e2e_third_missing_episode_prompts_review_and_nrm_deadline_falls_due",
        Js::On,
        async |t| third_missing_episode_and_nrm(t).await,
    );
}
