//! The public pages: home, the 404 page, the accessibility statement and the privacy notice,
//! with JavaScript on and off.

use super::harness::{Js, run};
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::json;

#[test]
fn e2e_home_page_has_demo_banner_skip_link_and_passes_axe() {
    run(
        "e2e_home_page_has_demo_banner_skip_link_and_passes_axe",
        Js::On,
        async |t| {
            t.check_page("/", "mace").await;

            let banner = t.text(".mace-demo-banner").await;
            assert!(
                banner.contains("demo: synthetic data"),
                "demo banner text: {banner:?}"
            );

            // The skip link is the first thing a keyboard reaches, and it leads to the main content.
            let body = t.client().find(Locator::Css("body")).await.expect("body");
            body.send_keys(&Key::Tab.to_string())
                .await
                .expect("press Tab");
            let focused = t.client().active_element().await.expect("focused element");
            assert_eq!(
                focused
                    .attr("class")
                    .await
                    .expect("class")
                    .as_deref()
                    .map(|c| c.contains("govuk-skip-link")),
                Some(true),
                "Tab should focus the skip link first"
            );
            focused.click().await.expect("follow the skip link");
            let hash = t.eval("return location.hash;", vec![]).await;
            assert_eq!(hash, json!("#main-content"));
        },
    );
}

#[test]
fn e2e_not_found_page_passes_axe() {
    run("e2e_not_found_page_passes_axe", Js::On, async |t| {
        t.check_page("/no-such-page", "Page not found").await;
    });
}

#[test]
fn e2e_accessibility_and_privacy_pages_pass_axe() {
    run(
        "e2e_accessibility_and_privacy_pages_pass_axe",
        Js::On,
        async |t| {
            t.check_page("/accessibility", "Accessibility statement")
                .await;
            t.check_page("/privacy", "Privacy notice").await;
        },
    );
}

#[test]
fn e2e_pages_work_without_javascript() {
    run("e2e_pages_work_without_javascript", Js::Off, async |t| {
        t.goto("/").await;
        t.assert_page_shape("mace").await;
        let banner = t.text(".mace-demo-banner").await;
        assert!(
            banner.contains("demo: synthetic data"),
            "demo banner text: {banner:?}"
        );
        // The inline body-class script did not run: proof that JavaScript really is off.
        let class = t.attr("body", "class").await.unwrap_or_default();
        assert!(
            !class.contains("govuk-frontend-supported"),
            "JavaScript ran: body class {class:?}"
        );
        // The footer links are plain links, and work.
        t.client()
            .find(Locator::LinkText("Accessibility statement"))
            .await
            .expect("footer link")
            .click()
            .await
            .expect("click");
        assert_eq!(t.current_path().await, "/accessibility");
        t.assert_page_shape("Accessibility statement").await;
        // axe itself needs JavaScript; the same pages are checked with it in the other tests.
    });
}

#[test]
fn e2e_inline_script_runs_under_the_csp_nonce() {
    run(
        "e2e_inline_script_runs_under_the_csp_nonce",
        Js::On,
        async |t| {
            for path in ["/", "/accessibility", "/no-such-page"] {
                t.goto(path).await;
                // govuk-frontend's inline body-class line only runs if its nonce matches the CSP.
                let class = t.attr("body", "class").await.unwrap_or_default();
                assert!(
                    class.contains("govuk-frontend-supported"),
                    "{path}: body class {class:?}: the nonced inline script did not run"
                );
                let nonces = t
                    .eval(
                        "return Array.from(document.querySelectorAll('script')).map(s => s.nonce);",
                        vec![],
                    )
                    .await;
                // Every inline script carries a non-empty nonce (the DOM hides the attribute; `.nonce` keeps it).
                let inline = t.eval("return Array.from(document.querySelectorAll('script:not([src])')).map(s => s.nonce);", vec![]).await;
                let inline = inline.as_array().cloned().unwrap_or_default();
                assert!(
                    !inline.is_empty(),
                    "{path}: expected the inline body-class script"
                );
                assert!(
                    inline
                        .iter()
                        .all(|n| n.as_str().is_some_and(|n| !n.is_empty())),
                    "{path}: inline script without a nonce: {nonces}"
                );
                let violations = t.csp_violations().await;
                assert!(
                    violations.is_empty(),
                    "{path}: CSP violations: {violations:#?}"
                );
                // A 404 page logs its own status as a failed load; anything else is an error.
                let here = t.server.url(path);
                let errors: Vec<String> = t
                    .console_errors()
                    .into_iter()
                    .filter(|e| !e.starts_with(&here))
                    .collect();
                assert!(errors.is_empty(), "{path}: console errors: {errors:#?}");
            }
        },
    );
}
