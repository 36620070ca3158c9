//! Signing in with a demo account in a real browser: a refused password (the GOV.UK error
//! summary), the first sign-in's authenticator enrolment, recovery codes, the account page and
//! API tokens and signing out, each page checked with axe; and the same flow with JavaScript off.

use super::harness::{E2e, Js, run};
use super::steps::*;
use fantoccini::Locator;
use mace_domain::identity::totp;

const EMAIL: &str = "dsl@school.demo.invalid";

async fn flow(t: &E2e, axe: bool) {
    t.goto("/account").await;
    settle(t, "/sign-in", "Sign in").await;
    t.assert_page_shape("Sign in").await;
    if axe {
        t.assert_axe_clean().await;
    }

    fill(t, "#email", EMAIL).await;
    fill(t, "#password", "not-the-demo-password").await;
    press(t, "form button[type=submit]").await;
    appears(t, ".govuk-error-summary").await;
    t.assert_page_shape("Sign in").await;
    let summary = t.text(".govuk-error-summary").await;
    assert!(
        summary.contains("Enter a correct email address and password"),
        "{summary}"
    );
    if axe {
        t.assert_axe_clean().await;
    }

    fill(t, "#password", PASSWORD).await;
    press(t, "form button[type=submit]").await;
    settle(t, "/mfa/enrol", "Set up your authenticator app").await;
    t.assert_page_shape("Set up your authenticator app").await;
    if axe {
        t.assert_axe_clean().await;
    }
    let key = t.text("#setup-key").await;
    let secret = totp::decode_secret(&key).expect("the setup key is base32");
    fill(t, "#code", &current_code(&secret)).await;
    press(t, "form button[type=submit]").await;
    settle(t, "/mfa/enrol", "Your authenticator app is set up").await;
    t.assert_page_shape("Your authenticator app is set up")
        .await;
    let codes = t
        .client()
        .find_all(Locator::Css(".mace-recovery-codes li"))
        .await
        .expect("codes");
    assert_eq!(codes.len(), 10);
    if axe {
        t.assert_axe_clean().await;
    }
    press(t, "a.govuk-button").await;
    settle(t, "/account", "Your account").await;
    t.assert_page_shape("Your account").await;
    let body = t.text("main").await;
    assert!(body.contains(EMAIL), "{body}");
    if axe {
        t.assert_axe_clean().await;
    }

    // API tokens: the refused form and a created token, each checked.
    t.goto("/account/tokens").await;
    t.assert_page_shape("API tokens").await;
    fill(t, "#name", "Nightly export").await;
    press(t, "form[action='/account/tokens'] button[type=submit]").await;
    appears(t, ".govuk-error-summary").await;
    if axe {
        t.assert_axe_clean().await;
    }
    press(t, "#scope_read").await;
    press(t, "form[action='/account/tokens'] button[type=submit]").await;
    appears(t, "#token-secret").await;
    assert!(t.text("#token-secret").await.starts_with("mace_"));
    if axe {
        t.assert_axe_clean().await;
    }

    t.client()
        .find(Locator::LinkText("Sign out"))
        .await
        .expect("sign-out link")
        .click()
        .await
        .expect("click");
    settle(t, "/sign-out", "Sign out").await;
    t.assert_page_shape("Sign out").await;
    if axe {
        t.assert_axe_clean().await;
    }
    press(t, "form button[type=submit]").await;
    settle(t, "/sign-out", "You have signed out").await;
    t.assert_page_shape("You have signed out").await;
    t.goto("/account").await;
    settle(t, "/sign-in", "Sign in").await;
}

#[test]
fn e2e_sign_in_enrol_and_sign_out_pass_axe() {
    run(
        "e2e_sign_in_enrol_and_sign_out_pass_axe",
        Js::On,
        async |t| flow(t, true).await,
    );
}

#[test]
fn e2e_sign_in_works_without_javascript() {
    run("e2e_sign_in_works_without_javascript", Js::Off, async |t| {
        flow(t, false).await
    });
}
