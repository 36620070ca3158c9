//! The partnership administrator's pages in a real browser, each checked with axe: the
//! directory, a refused and an accepted new account (its temporary password shown once), and
//! the account's page.

use super::harness::{Js, run};
use super::steps::*;

#[test]
fn e2e_administrator_adds_a_user_and_pages_pass_axe() {
    run(
        "e2e_administrator_adds_a_user_and_pages_pass_axe",
        Js::On,
        async |t| {
            sign_in_and_enrol(t, "admin@partnership.demo.invalid").await;
            settle(t, "/account", "Your account").await;
            t.goto("/admin").await;
            settle(t, "/admin", "Organisations and users").await;
            t.assert_page_shape("Organisations and users").await;
            t.assert_axe_clean().await;
            press(t, "a.govuk-button[href='/admin/users/new']").await;
            settle(t, "/admin/users/new", "Add a user").await;
            t.assert_axe_clean().await;
            fill(t, "#display_name", "Rhys Evans").await;
            press(t, "form button[type=submit]").await;
            appears(t, ".govuk-error-summary").await;
            t.assert_page_shape("Add a user").await;
            t.assert_axe_clean().await;
            fill(t, "#email", "rhys.evans@school.demo.invalid").await;
            t.eval(
                "const s = document.getElementById('org_id'); s.selectedIndex = 1; return true;",
                vec![],
            )
            .await;
            press(t, "#role_practitioner").await;
            press(t, "form button[type=submit]").await;
            appears(t, "#temporary-password").await;
            t.assert_page_shape("Account created").await;
            t.assert_axe_clean().await;
            t.goto("/admin").await;
            settle(t, "/admin", "Organisations and users").await;
            let users = t.text("#users").await;
            assert!(users.contains("Rhys Evans"), "{users}");
        },
    );
}
