//! GOV.UK Frontend components rendered from Rust structs (architecture §4.4).
//!
//! Each struct mirrors the component's Nunjucks macro options (camelCase when deserialised, so
//! govuk-frontend's `fixtures.json` can be fed straight in) and renders the same markup; the
//! fixtures test compares the two as parsed DOM. `html` options are inserted unescaped, exactly
//! like the macros: only ever fill them from mace's own templates, never from user input.

use askama::Template;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// Escape text for an HTML attribute value or text node.
fn escape(s: &str, out: &mut impl fmt::Write) -> fmt::Result {
    for c in s.chars() {
        match c {
            '&' => out.write_str("&amp;")?,
            '<' => out.write_str("&lt;")?,
            '>' => out.write_str("&gt;")?,
            '"' => out.write_str("&quot;")?,
            '\'' => out.write_str("&#39;")?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

/// One value of the `attributes` option, as govuk-frontend's `govukAttributes` macro takes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
    Detailed {
        value: Option<serde_json::Value>,
        optional: Option<bool>,
    },
}

/// Extra HTML attributes (`attributes` in every component's options). Renders each as
/// ` name="value"`, escaped, with govukAttributes' rules for booleans and optional values.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Attributes(pub BTreeMap<String, AttrValue>);

impl fmt::Display for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.0 {
            let rendered: Option<Option<String>> = match value {
                AttrValue::Text(s) => Some(Some(s.clone())),
                AttrValue::Number(n) => Some(Some(n.to_string())),
                AttrValue::Bool(b) => Some(Some(b.to_string())),
                AttrValue::Detailed { value, optional } => {
                    let optional = optional.unwrap_or(false);
                    match value {
                        None | Some(serde_json::Value::Null) if optional => None,
                        Some(serde_json::Value::Bool(false)) if optional => None,
                        Some(serde_json::Value::Bool(true)) if optional => Some(None),
                        None | Some(serde_json::Value::Null) => Some(Some(String::new())),
                        Some(serde_json::Value::String(s)) => Some(Some(s.clone())),
                        Some(other) => Some(Some(other.to_string())),
                    }
                }
            };
            match rendered {
                None => {}
                Some(None) => {
                    f.write_str(" ")?;
                    escape(name, f)?;
                }
                Some(Some(v)) => {
                    f.write_str(" ")?;
                    escape(name, f)?;
                    f.write_str("=\"")?;
                    escape(&v, f)?;
                    f.write_str("\"")?;
                }
            }
        }
        Ok(())
    }
}

/// Text or trusted HTML, as most components take it (`text` / `html`).
fn content(html: &Option<String>, text: &Option<String>) -> Content {
    match (html, text) {
        (Some(h), _) => Content::Html(h.trim().to_string()),
        (None, Some(t)) => Content::Text(t.clone()),
        (None, None) => Content::Text(String::new()),
    }
}

/// Text (escaped when rendered) or trusted HTML (not escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    Html(String),
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Text(t) => escape(t, f),
            Content::Html(h) => f.write_str(h),
        }
    }
}

fn classes(extra: &Option<String>) -> String {
    match extra {
        Some(c) if !c.is_empty() => format!(" {c}"),
        _ => String::new(),
    }
}

/// The skip link: the first focusable element on every page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Template)]
#[serde(rename_all = "camelCase")]
#[template(path = "components/skip_link.html")]
pub struct SkipLink {
    pub text: Option<String>,
    pub html: Option<String>,
    pub href: Option<String>,
    pub classes: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

impl SkipLink {
    pub fn to_main() -> Self {
        Self {
            text: Some("Skip to main content".into()),
            href: Some("#main-content".into()),
            ..Self::default()
        }
    }
    fn href(&self) -> &str {
        self.href
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or("#content")
    }
    fn content(&self) -> Content {
        content(&self.html, &self.text)
    }
    fn extra_classes(&self) -> String {
        classes(&self.classes)
    }
}

/// A tag (`<strong class="govuk-tag">`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Template)]
#[serde(rename_all = "camelCase")]
#[template(path = "components/tag.html")]
pub struct Tag {
    pub text: Option<String>,
    pub html: Option<String>,
    pub classes: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

impl Tag {
    pub fn text(text: &str) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }
    fn content(&self) -> Content {
        content(&self.html, &self.text)
    }
    fn extra_classes(&self) -> String {
        classes(&self.classes)
    }
}

/// The phase banner ("alpha" with a feedback line).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Template)]
#[serde(rename_all = "camelCase")]
#[template(path = "components/phase_banner.html")]
pub struct PhaseBanner {
    pub text: Option<String>,
    pub html: Option<String>,
    #[serde(default)]
    pub tag: Tag,
    pub classes: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

impl PhaseBanner {
    fn content(&self) -> Content {
        content(&self.html, &self.text)
    }
    fn extra_classes(&self) -> String {
        classes(&self.classes)
    }
    fn tag(&self) -> Tag {
        let extra = self
            .tag
            .classes
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        Tag {
            classes: Some(format!("govuk-phase-banner__content__tag{extra}")),
            ..self.tag.clone()
        }
    }
}

/// The notification banner (mace's demo banner is one).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Template)]
#[serde(rename_all = "camelCase")]
#[template(path = "components/notification_banner.html")]
pub struct NotificationBanner {
    pub text: Option<String>,
    pub html: Option<String>,
    pub title_text: Option<String>,
    pub title_html: Option<String>,
    pub title_id: Option<String>,
    pub title_heading_level: Option<u8>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub role: Option<String>,
    pub disable_auto_focus: Option<bool>,
    pub classes: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

impl NotificationBanner {
    fn success(&self) -> bool {
        self.kind.as_deref() == Some("success")
    }
    fn all_classes(&self) -> String {
        let mut c = String::from("govuk-notification-banner");
        if self.success() {
            c.push_str(" govuk-notification-banner--success");
        }
        c.push_str(&classes(&self.classes));
        c
    }
    fn role(&self) -> &str {
        match self.role.as_deref() {
            Some(r) if !r.is_empty() => r,
            _ if self.success() => "alert",
            _ => "region",
        }
    }
    fn title_id(&self) -> &str {
        self.title_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("govuk-notification-banner-title")
    }
    fn level(&self) -> u8 {
        self.title_heading_level
            .filter(|l| (1..=6).contains(l))
            .unwrap_or(2)
    }
    fn title(&self) -> Content {
        match (&self.title_html, &self.title_text) {
            (Some(h), _) => Content::Html(h.clone()),
            (None, Some(t)) => Content::Text(t.clone()),
            (None, None) if self.success() => Content::Text("Success".into()),
            (None, None) => Content::Text("Important".into()),
        }
    }
    fn has_html(&self) -> bool {
        self.html.is_some()
    }
    fn body(&self) -> Content {
        content(
            &self.html,
            &self.text.as_ref().map(|t| t.trim().to_string()),
        )
    }
}

/// A back link.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Template)]
#[serde(rename_all = "camelCase")]
#[template(path = "components/back_link.html")]
pub struct BackLink {
    pub text: Option<String>,
    pub html: Option<String>,
    pub href: Option<String>,
    pub classes: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

impl BackLink {
    fn href(&self) -> &str {
        self.href
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or("#")
    }
    fn content(&self) -> Content {
        match (&self.html, &self.text) {
            (Some(h), _) => Content::Html(h.clone()),
            (None, Some(t)) if !t.is_empty() => Content::Text(t.clone()),
            _ => Content::Text("Back".into()),
        }
    }
    fn extra_classes(&self) -> String {
        classes(&self.classes)
    }
}

/// A button, or a link styled as one when `href` is set.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Template)]
#[serde(rename_all = "camelCase")]
#[template(path = "components/button.html")]
pub struct Button {
    pub text: Option<String>,
    pub html: Option<String>,
    pub href: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<String>,
    pub disabled: Option<bool>,
    pub prevent_double_click: Option<bool>,
    pub is_start_button: Option<bool>,
    pub id: Option<String>,
    pub classes: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

impl Button {
    fn all_classes(&self) -> String {
        let mut c = String::from("govuk-button");
        c.push_str(&classes(&self.classes));
        if self.start() {
            c.push_str(" govuk-button--start");
        }
        c
    }
    fn start(&self) -> bool {
        self.is_start_button.unwrap_or(false)
    }
    fn is_disabled(&self) -> bool {
        self.disabled.unwrap_or(false)
    }
    fn is_link(&self) -> bool {
        self.href.as_deref().is_some_and(|h| !h.is_empty())
    }
    fn kind(&self) -> &str {
        self.kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or("submit")
    }
    fn content(&self) -> Content {
        match (&self.html, &self.text) {
            (Some(h), _) if self.start() => Content::Html(format!("<span>{}</span>", h.trim())),
            _ => content(&self.html, &self.text),
        }
    }
}
