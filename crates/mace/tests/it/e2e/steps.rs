//! Steps shared by the browser tests: typing, pressing, waiting for a page, signing in.

use super::harness::E2e;
use fantoccini::Locator;
use mace_domain::identity::totp;

pub const PASSWORD: &str = "demo-password-for-mace";

pub async fn fill(t: &E2e, css: &str, text: &str) {
    let el = t
        .client()
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    el.clear().await.expect("clear");
    el.send_keys(text).await.expect("type");
}

pub async fn press(t: &E2e, css: &str) {
    t.client()
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Wait for a navigation to land on `path` with a page whose `h1` contains `heading` (a form
/// post's redirect can finish after `click` returns; elements of the old page go stale).
pub async fn settle(t: &E2e, path: &str, heading: &str) {
    let mut last = String::new();
    for _ in 0..150 {
        if t.current_path().await == path
            && let Ok(h1) = t.client().find(Locator::Css("h1")).await
            && let Ok(text) = h1.text().await
        {
            if text.contains(heading) {
                return;
            }
            last = text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "expected {path} with heading {heading:?}; at {} with heading {last:?}",
        t.current_path().await
    );
}

/// Wait for an element to appear on the current page.
pub async fn appears(t: &E2e, css: &str) {
    for _ in 0..150 {
        if t.exists(css).await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css} did not appear on {}", t.current_path().await);
}

pub fn current_code(secret: &[u8]) -> String {
    code_at_offset(secret, 0)
}

/// The code the server expects when its clock runs `offset` seconds ahead.
pub fn code_at_offset(secret: &[u8], offset: i64) -> String {
    let now = mace_domain::Clock::now(&mace_domain::SystemClock) + time::Duration::seconds(offset);
    let step = u64::try_from(totp::step_at(now)).expect("positive step");
    format!("{:06}", totp::hotp(secret, step, 6))
}

/// Sign in with a demo account for the first time: password, then enrol the authenticator
/// (reading the setup key off the page), then continue past the recovery codes to `/account`.
pub async fn sign_in_and_enrol(t: &E2e, email: &str) -> Vec<u8> {
    t.goto("/sign-in?next=/account").await;
    settle(t, "/sign-in", "Sign in").await;
    fill(t, "#email", email).await;
    fill(t, "#password", PASSWORD).await;
    press(t, "form button[type=submit]").await;
    settle(t, "/mfa/enrol", "Set up your authenticator app").await;
    let key = t.text("#setup-key").await;
    let secret = totp::decode_secret(&key).expect("the setup key is base32");
    fill(t, "#code", &code_at_offset(&secret, t.server.offset())).await;
    press(t, "form button[type=submit]").await;
    settle(t, "/mfa/enrol", "Your authenticator app is set up").await;
    press(t, "a.govuk-button").await;
    secret
}

/// Sign in again with an account already enrolled: password, then the code at the server's time.
pub async fn sign_in_again(t: &E2e, email: &str, secret: &[u8]) {
    t.goto("/sign-in?next=/account").await;
    settle(t, "/sign-in", "Sign in").await;
    fill(t, "#email", email).await;
    fill(t, "#password", PASSWORD).await;
    press(t, "form button[type=submit]").await;
    settle(t, "/mfa/verify", "Enter your security code").await;
    fill(t, "#code", &code_at_offset(secret, t.server.offset())).await;
    press(t, "form button[type=submit]").await;
    settle(t, "/account", "Your account").await;
}

/// Sign out, so the next account can sign in in the same browser.
pub async fn sign_out(t: &E2e) {
    t.goto("/sign-out").await;
    settle(t, "/sign-out", "Sign out").await;
    press(t, "form button[type=submit]").await;
    settle(t, "/sign-out", "You have signed out").await;
}
