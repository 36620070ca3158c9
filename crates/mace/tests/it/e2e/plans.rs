//! Issue 5's risk management plan in a real browser with the demo data: an exploitation service
//! worker agrees a plan for a child they work with and gives the school and the police an action each; the school's
//! safeguarding lead finds it in "my actions". Every page is checked with axe.

use super::harness::{E2e, Js, run};
use super::steps::*;

const WORKER: &str = "worker@exploitation.demo.invalid";
const LEAD: &str = "dsl@school.demo.invalid";
const SCHOOL: &str = "Thames Estuary Academy";
const ACTION: &str = "Weekly time with a trusted adult at school";
const POLICE_ACTION: &str = "Visit the address where the car is seen and consider a warning notice";

async fn check(t: &E2e, heading: &str) {
    t.assert_page_shape(heading).await;
    t.assert_axe_clean().await;
}

async fn journey(t: &E2e) {
    sign_in_and_enrol(t, WORKER).await;
    settle(t, "/account", "Your account").await;
    t.goto("/children").await;
    settle(t, "/children", "Children").await;
    let href = t
        .eval(
            "return [...document.querySelectorAll('main a')]\
               .find(a => a.textContent.includes('Amira Hussain')).getAttribute('href');",
            vec![],
        )
        .await;
    let child = href.as_str().expect("Amira's record is listed").to_string();
    let plan = format!("{child}/plan");
    t.goto(&plan).await;
    settle(t, &plan, "Risk management plan").await;
    check(t, "Risk management plan").await;
    assert!(
        t.text("#no-plan")
            .await
            .contains("no open risk management plan")
    );

    // Agree the plan: errors first, then the plan (dates are filled in for today and 12 weeks).
    press(t, &format!("a[href='{plan}/new']")).await;
    settle(t, &format!("{plan}/new"), "Agree a risk management plan").await;
    check(t, "Agree a risk management plan").await;
    press(t, "form[action$='/plan/new'] button[type=submit]").await;
    appears(t, ".govuk-error-summary").await;
    check(t, "Agree a risk management plan").await;
    press(t, "#risk_level-medium").await;
    fill(
        t,
        "#safety_goal",
        "Amira keeps in touch with her youth worker and is not contacted by the adult online",
    )
    .await;
    press(t, "form[action$='/plan/new'] button[type=submit]").await;
    settle(t, &plan, "Risk management plan").await;
    appears(t, "#plan-notice-title").await;
    check(t, "Risk management plan").await;

    // An action for the school and one for the police.
    for (owner, section, action) in [
        (SCHOOL, "#section", ACTION),
        ("Estuary Police", "#section-disruption", POLICE_ACTION),
    ] {
        press(t, &format!("a[href='{plan}/actions']")).await;
        settle(t, &format!("{plan}/actions"), "Add an action to the plan").await;
        check(t, "Add an action to the plan").await;
        let org = t
            .eval(
                "return [...document.querySelectorAll('#owner_org_id option')]\
                   .find(o => o.textContent.includes(arguments[0])).value;",
                vec![serde_json::Value::String(owner.into())],
            )
            .await;
        let org = org
            .as_str()
            .expect("the organisation is offered")
            .to_string();
        press(t, section).await;
        fill(t, "#description", action).await;
        press(t, &format!("#owner_org_id option[value='{org}']")).await;
        fill(t, "#due-day", "1").await;
        fill(t, "#due-month", "12").await;
        fill(t, "#due-year", "2030").await;
        press(t, "form[action$='/plan/actions'] button[type=submit]").await;
        settle(t, &plan, "Risk management plan").await;
        check(t, "Risk management plan").await;
        let shown = t.text("main").await;
        assert!(shown.contains(action) && shown.contains(owner), "{shown}");
    }
    sign_out(t).await;

    // The school's safeguarding lead sees the school's action in "my actions".
    sign_in_and_enrol(t, LEAD).await;
    settle(t, "/account", "Your account").await;
    t.goto("/work/actions").await;
    settle(t, "/work/actions", "My actions and plan reviews").await;
    check(t, "My actions and plan reviews").await;
    let list = t.text("#action-list").await;
    assert!(
        list.contains("Amira Hussain") && list.contains(ACTION),
        "{list}"
    );
}

#[test]
fn e2e_plan_agreed_with_a_school_action_in_the_leads_work_list() {
    run(
        "e2e_plan_agreed_with_a_school_action_in_the_leads_work_list",
        Js::On,
        async |t| journey(t).await,
    );
}
