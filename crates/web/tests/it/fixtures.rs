//! Component markup checked against govuk-frontend's own `fixtures.json` (architecture §4.4):
//! each fixture's `options` go through mace's Rust struct and askama template, and the result
//! must equal the fixture's `html` as parsed DOM (elements, attribute sets, collapsed text).
//! Fixtures using options mace does not support are skipped and listed with the reason.

use askama::Template;
use mace_web::components::{BackLink, Button, NotificationBanner, PhaseBanner, SkipLink, Tag};
use scraper::{ElementRef, Html, Node};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A normalised DOM node: element (name, attributes, children) or collapsed text.
#[derive(Debug, PartialEq)]
enum Dom {
    El(String, BTreeMap<String, String>, Vec<Dom>),
    Text(String),
}

fn normalise_children(parent: ElementRef<'_>) -> Vec<Dom> {
    let mut out: Vec<Dom> = Vec::new();
    for child in parent.children() {
        match child.value() {
            Node::Text(t) => {
                let text = t.split_whitespace().collect::<Vec<_>>().join(" ");
                if text.is_empty() {
                    continue;
                }
                if let Some(Dom::Text(prev)) = out.last_mut() {
                    prev.push(' ');
                    prev.push_str(&text);
                } else {
                    out.push(Dom::Text(text));
                }
            }
            Node::Element(e) => {
                let Some(el) = ElementRef::wrap(child) else {
                    continue;
                };
                let attrs = e
                    .attrs()
                    .map(|(k, v)| {
                        let v = if k == "class" {
                            let mut c: Vec<&str> = v.split_whitespace().collect();
                            c.sort_unstable();
                            c.join(" ")
                        } else {
                            v.to_string()
                        };
                        (k.to_string(), v)
                    })
                    .collect();
                out.push(Dom::El(e.name().to_string(), attrs, normalise_children(el)));
            }
            _ => {}
        }
    }
    out
}

fn dom(html: &str) -> Vec<Dom> {
    let frag = Html::parse_fragment(html);
    normalise_children(frag.root_element())
}

fn fixtures(component: &str) -> Vec<serde_json::Value> {
    let path = PathBuf::from(env!("MACE_NODE_MODULES"))
        .join("govuk-frontend/dist/govuk/components")
        .join(component)
        .join("fixtures.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["fixtures"].as_array().unwrap().clone()
}

/// Render every fixture of `component` whose options are all in `supported`; compare; return
/// (checked, skipped-with-reasons). Options mace's struct ignores count as unsupported.
fn check<T: DeserializeOwned + Template>(
    component: &str,
    supported: &[&str],
    skip: &[(&str, &str)],
) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for fx in fixtures(component) {
        let name = fx["name"].as_str().unwrap_or("?").to_string();
        if let Some((_, why)) = skip.iter().find(|(n, _)| *n == name) {
            skipped.push(format!("{component}/{name}: {why}"));
            continue;
        }
        let options = fx["options"].as_object().cloned().unwrap_or_default();
        let unsupported: Vec<&String> = options
            .keys()
            .filter(|k| !supported.contains(&k.as_str()))
            .collect();
        if !unsupported.is_empty() {
            skipped.push(format!(
                "{component}/{name}: unsupported options {unsupported:?}"
            ));
            continue;
        }
        let value: T = match serde_json::from_value(serde_json::Value::Object(options)) {
            Ok(v) => v,
            Err(e) => {
                skipped.push(format!(
                    "{component}/{name}: option types mace does not take ({e})"
                ));
                continue;
            }
        };
        let ours = value.render().unwrap();
        let theirs = fx["html"].as_str().unwrap_or("");
        if dom(&ours) != dom(theirs) {
            failures.push(format!(
                "{component}/{name}\n  ours:   {ours}\n  theirs: {theirs}"
            ));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "markup differs from govuk-frontend:\n{}",
        failures.join("\n")
    );
    (checked, skipped)
}

fn report(component: &str, (checked, skipped): (usize, Vec<String>), at_least: usize) {
    for s in &skipped {
        eprintln!("skipped {s}");
    }
    assert!(
        checked >= at_least,
        "{component}: only {checked} fixtures checked"
    );
}

const COMMON: &[&str] = &["text", "html", "classes", "attributes"];

#[test]
fn skip_link_matches_govuk_frontend() {
    let supported = [COMMON, &["href"]].concat();
    report(
        "skip-link",
        check::<SkipLink>("skip-link", &supported, &[]),
        8,
    );
}

#[test]
fn tag_matches_govuk_frontend() {
    report("tag", check::<Tag>("tag", COMMON, &[]), 10);
}

#[test]
fn phase_banner_matches_govuk_frontend() {
    let supported = [COMMON, &["tag"]].concat();
    report(
        "phase-banner",
        check::<PhaseBanner>("phase-banner", &supported, &[]),
        6,
    );
}

#[test]
fn back_link_matches_govuk_frontend() {
    let supported = [COMMON, &["href"]].concat();
    report(
        "back-link",
        check::<BackLink>("back-link", &supported, &[]),
        6,
    );
}

#[test]
fn notification_banner_matches_govuk_frontend() {
    let supported = [
        COMMON,
        &[
            "titleText",
            "titleHtml",
            "titleId",
            "titleHeadingLevel",
            "type",
            "role",
            "disableAutoFocus",
        ],
    ]
    .concat();
    report(
        "notification-banner",
        check::<NotificationBanner>("notification-banner", &supported, &[]),
        15,
    );
}

#[test]
fn button_matches_govuk_frontend() {
    let supported = [
        COMMON,
        &[
            "href",
            "name",
            "type",
            "value",
            "disabled",
            "preventDoubleClick",
            "isStartButton",
            "id",
        ],
    ]
    .concat();
    let skip = [(
        "explicit link",
        "the `element` option (deprecated) is not supported",
    )];
    report("button", check::<Button>("button", &supported, &skip), 25);
}

#[test]
fn the_comparison_notices_differences() {
    assert_eq!(
        dom("<a class=\"b a\"  href=\"#\">Hi\n  there</a>"),
        dom("<a href=\"#\" class=\"a b\">Hi there</a>")
    );
    assert_ne!(dom("<a class=\"a\">x</a>"), dom("<a class=\"a c\">x</a>"));
    assert_ne!(dom("<a href=\"#\">x</a>"), dom("<a>x</a>"));
    assert_ne!(dom("<p>x</p>"), dom("<p>y</p>"));
    assert_ne!(dom("<p><span>x</span></p>"), dom("<p>x</p>"));
    // And a real fixture fails when the markup drifts.
    let fx = &fixtures("tag")[0];
    let drifted = Tag {
        classes: Some("drift".into()),
        ..serde_json::from_value(fx["options"].clone()).unwrap()
    };
    assert_ne!(
        dom(&drifted.render().unwrap()),
        dom(fx["html"].as_str().unwrap())
    );
}
