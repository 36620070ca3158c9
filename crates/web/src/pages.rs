//! HTML pages: the layout every page shares, the home page, the accessibility statement, the
//! privacy notice and the error pages. Every page works without JavaScript.

use crate::components::{NotificationBanner, PhaseBanner, SkipLink, Tag};
use crate::error::{ErrorCode, WebError};
use crate::middleware::CspNonce;
use crate::{AppState, WebSettings, assets};
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Html;
use mace_domain::FieldError;
use std::convert::Infallible;

/// What the layout needs from the request: the nonce and where we are.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub nonce: CspNonce,
    pub path: String,
    /// The signed-in user, if any (any stage).
    pub auth: Option<crate::auth::Auth>,
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let nonce = parts
            .extensions
            .get::<CspNonce>()
            .cloned()
            .unwrap_or(CspNonce(None));
        Ok(Self {
            nonce,
            path: parts.uri.path().to_string(),
            auth: parts
                .extensions
                .get::<crate::auth::MaybeAuth>()
                .and_then(|m| m.0.clone()),
        })
    }
}

/// One item of the service navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub text: &'static str,
    pub current: bool,
}

/// The page template's data: header, banners, navigation, footer.
#[derive(Debug, Clone)]
pub struct Layout {
    pub service_name: String,
    pub demo: bool,
    pub nonce: Option<String>,
    pub title: String,
    pub nav: Vec<NavItem>,
    /// The signed-in user's name, shown in the navigation with "Sign out".
    pub user_name: Option<String>,
}

impl Layout {
    pub fn new(settings: &WebSettings, nonce: CspNonce, path: &str, title: &str) -> Self {
        Self::with_user(settings, nonce, path, title, None)
    }

    fn with_user(
        settings: &WebSettings,
        nonce: CspNonce,
        path: &str,
        title: &str,
        auth: Option<&crate::auth::Auth>,
    ) -> Self {
        let full = auth.is_some_and(crate::auth::Auth::full);
        let mut items: Vec<(&'static str, &'static str)> = vec![("/", "Home")];
        match (full, auth) {
            (true, Some(a)) => {
                use mace_domain::authz::Role;
                let roles = &a.user.roles;
                if roles.iter().any(|r| r.reads_case_data()) {
                    items.push(("/work", "Your work"));
                    items.push(("/children", "Children"));
                }
                items.push(("/concerns", "Concerns"));
                items.push(("/services", "Services"));
                items.push(("/intelligence", "Intelligence"));
                if roles.iter().any(|r| {
                    matches!(
                        r,
                        Role::PoliceIntelligenceOfficer
                            | Role::Analyst
                            | Role::PartnershipManager
                            | Role::MaceChair
                    )
                }) {
                    items.push(("/networks", "Networks"));
                    items.push(("/hotspots", "Hotspots"));
                }
                items.push(("/search", "Search"));
                if roles.contains(&Role::PrivacyOfficer) {
                    items.push(("/privacy-queue", "Access to review"));
                }
                if roles.contains(&Role::PartnershipAdmin) {
                    items.push(("/admin", "Administration"));
                }
                if roles.contains(&Role::PartnershipManager) {
                    items.push(("/framework", "Risk framework"));
                }
                items.push(("/account", "Your account"));
                items.push(("/sign-out", "Sign out"));
            }
            (_, Some(_)) => items.push(("/sign-out", "Sign out")),
            (_, None) => items.push(("/sign-in", "Sign in")),
        }
        let nav = items
            .into_iter()
            .map(|(href, text)| NavItem {
                href,
                text,
                current: path == href
                    || (href != "/"
                        && path.starts_with(href)
                        && path[href.len()..].starts_with('/')),
            })
            .collect();
        Self {
            service_name: settings.service_name.clone(),
            demo: settings.demo,
            nonce: nonce.0,
            title: title.to_string(),
            nav,
            user_name: auth
                .filter(|a| a.full())
                .map(|a| a.user.display_name.clone()),
        }
    }

    pub(crate) fn from_ctx(state: &AppState, ctx: PageContext, title: &str) -> Self {
        Self::with_user(
            &state.settings,
            ctx.nonce,
            &ctx.path,
            title,
            ctx.auth.as_ref(),
        )
    }

    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }

    pub fn skip_link(&self) -> SkipLink {
        SkipLink::to_main()
    }

    pub fn phase_banner(&self) -> PhaseBanner {
        PhaseBanner {
            tag: Tag::text("Alpha"),
            text: Some(
                "This is a new service. If something does not work as you expect, tell your \
                 partnership's mace administrator."
                    .into(),
            ),
            ..PhaseBanner::default()
        }
    }

    pub fn demo_banner(&self) -> NotificationBanner {
        NotificationBanner {
            title_text: Some("Demo".into()),
            title_id: Some("mace-demo-banner-title".into()),
            html: Some(
                "<p class=\"govuk-notification-banner__heading\">demo: synthetic data</p>\
                 <p class=\"govuk-body\">Everyone and everything shown here is made up. Do not \
                 enter real information about children, families or cases.</p>"
                    .into(),
            ),
            classes: Some("mace-demo-banner".into()),
            ..NotificationBanner::default()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub backend: &'static str,
    pub signed_in: bool,
}

#[derive(Template)]
#[template(path = "accessibility.html")]
pub struct AccessibilityPage {
    pub layout: Layout,
}

#[derive(Template)]
#[template(path = "privacy.html")]
pub struct PrivacyPage {
    pub layout: Layout,
}

/// The page for any error: 404, 403, 405, 413, 422, 500, 503…
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub code: ErrorCode,
    pub fields: Vec<FieldError>,
    /// The request id, shown on "there is a problem" pages so support can find the request.
    pub reference: Option<String>,
}

impl ErrorPage {
    fn is(&self, name: &str) -> bool {
        self.code.as_str() == name
    }
}

pub(crate) async fn home(
    State(state): State<AppState>,
    ctx: PageContext,
) -> Result<Html<String>, WebError> {
    let signed_in = ctx.auth.as_ref().is_some_and(crate::auth::Auth::full);
    let page = HomePage {
        signed_in,
        layout: Layout::from_ctx(&state, ctx, ""),
        backend: state.store.backend().as_str(),
    };
    Ok(Html(page.render()?))
}

pub(crate) async fn accessibility(
    State(state): State<AppState>,
    ctx: PageContext,
) -> Result<Html<String>, WebError> {
    let page = AccessibilityPage {
        layout: Layout::from_ctx(&state, ctx, "Accessibility statement"),
    };
    Ok(Html(page.render()?))
}

pub(crate) async fn privacy(
    State(state): State<AppState>,
    ctx: PageContext,
) -> Result<Html<String>, WebError> {
    let page = PrivacyPage {
        layout: Layout::from_ctx(&state, ctx, "Privacy notice"),
    };
    Ok(Html(page.render()?))
}
