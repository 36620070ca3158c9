//! The partnership administrator's pages (issue 3): organisations and user accounts. An
//! administrator sees staff accounts, never case data. A new account gets a one-time temporary
//! password, shown once, that must be changed at first sign-in (then the second factor is
//! enrolled as for everyone).

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, hashing};
use crate::cases::as_user;
use crate::error::WebError;
use crate::pages::{Layout, PageContext};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use mace_domain::audit::{Category, NewEvent, Outcome};
use mace_domain::authz::{OrgType, Role};
use mace_domain::identity::admin::{self, NewUser};
use mace_domain::identity::model::{Email, Organisation, Team, User, UserStatus};
use mace_domain::identity::password;
use mace_domain::ports::{AuditLog, IdentityRepo};
use mace_domain::{Error, FieldError};
use rand::Rng;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// A user in the administrator's table.
pub struct UserRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub org: String,
    /// The team's name, or empty.
    pub team: String,
    pub roles: String,
    pub status: &'static str,
    pub mfa: bool,
}

fn status_label(s: UserStatus) -> &'static str {
    match s {
        UserStatus::Invited => "Invited",
        UserStatus::Active => "Active",
        UserStatus::Disabled => "Disabled",
    }
}

fn roles_text(u: &User) -> String {
    u.roles
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Template)]
#[template(path = "admin/index.html")]
pub struct AdminPage {
    pub layout: Layout,
    pub orgs: Vec<(Organisation, usize)>,
    /// Every team: the team, its organisation's name and its number of members.
    pub teams: Vec<(Team, String, usize)>,
    /// The children's social care front door, if set.
    pub front_door: Option<Uuid>,
    pub users: Vec<UserRow>,
    pub form: FormState,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

impl AdminPage {
    fn org_types(&self) -> Vec<(&'static str, &'static str, bool)> {
        OrgType::ALL
            .iter()
            .map(|t| {
                (
                    t.as_str(),
                    t.label(),
                    self.form.value("org_type") == t.as_str(),
                )
            })
            .collect()
    }
}

/// Everything the administrator's pages list, read as an administrator (and audited).
type Directory = (Vec<Organisation>, Vec<User>, Option<Uuid>, Vec<Team>);

async fn directory(state: &AppState, auth: &Auth) -> Result<Directory, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            admin::may_administer(&actor)?;
            let orgs = tx.list_orgs().await?;
            let users = tx.list_users(None).await?;
            let e = NewEvent {
                actor_user: Some(actor.user_id),
                actor_org: Some(actor.org_id),
                ..NewEvent::new(
                    ctx.clock.now(),
                    Category::Consultation,
                    "user.list",
                    Outcome::Success,
                )
            };
            tx.append(&key, ctx.ids.new_id(), &e).await?;
            let front_door = mace_domain::cases::front_door(tx).await?;
            let mut teams = Vec::new();
            for o in &orgs {
                teams.extend(tx.list_teams(o.id).await?);
            }
            Ok((orgs, users, front_door, teams))
        })
    })
    .await
}

async fn render_index(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    notice: Option<&'static str>,
) -> Result<String, WebError> {
    let (orgs, users, front_door, teams) = directory(state, auth).await?;
    let names: HashMap<Uuid, String> = orgs.iter().map(|o| (o.id, o.name.clone())).collect();
    let team_names: HashMap<Uuid, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let teams = teams
        .into_iter()
        .map(|t| {
            let n = users.iter().filter(|u| u.team_id == Some(t.id)).count();
            let org = names.get(&t.org_id).cloned().unwrap_or_default();
            (t, org, n)
        })
        .collect();
    let orgs = orgs
        .into_iter()
        .map(|o| {
            let n = users.iter().filter(|u| u.org_id == o.id).count();
            (o, n)
        })
        .collect();
    let users = users
        .iter()
        .map(|u| UserRow {
            id: u.id,
            name: u.display_name.clone(),
            email: u.email.as_str().to_string(),
            org: names.get(&u.org_id).cloned().unwrap_or_default(),
            team: u
                .team_id
                .and_then(|t| team_names.get(&t).cloned())
                .unwrap_or_default(),
            roles: roles_text(u),
            status: status_label(u.status),
            mfa: u.mfa_enrolled(),
        })
        .collect();
    let title = if form.has_errors() {
        "Error: Organisations and users"
    } else {
        "Organisations and users"
    };
    Ok(AdminPage {
        layout: Layout::from_ctx(state, ctx, title),
        orgs,
        teams,
        front_door,
        users,
        form,
        csrf: auth.session.csrf_secret.clone(),
        notice,
    }
    .render()?)
}

#[derive(Debug, Deserialize, Default)]
pub struct DoneQuery {
    pub done: Option<String>,
}

pub(crate) async fn index(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = match q.done.as_deref() {
        Some("org") => Some("The organisation has been added."),
        Some("user") => Some("The account has been changed."),
        Some("front_door") => Some("The children's social care front door has been set."),
        Some("team") => Some("The team has been added."),
        _ => None,
    };
    Ok(Html(render_index(&state, ctx, &auth, FormState::default(), notice).await?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct OrgForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub org_type: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn create_org(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<OrgForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = FormState::default();
    form.values.insert("name".into(), f.name.clone());
    form.values.insert("org_type".into(), f.org_type.clone());
    let Some(org_type) = OrgType::parse(f.org_type.trim()) else {
        form.errors.push(FieldError::new(
            "org_type",
            "Select the type of organisation",
        ));
        let html = render_index(&state, ctx, &auth, form, None).await?;
        return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
    };
    let name = f.name.clone();
    let made = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let name = name.clone();
        Box::pin(async move {
            let by = admin::may_administer(&actor)?;
            admin::create_org(&ctx, tx, &key, &by, &name, org_type).await
        })
    })
    .await;
    match made {
        Ok(_) => Ok(Redirect::to("/admin?done=org").into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            let html = render_index(&state, ctx, &auth, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(WebError::Domain(Error::Conflict(msg))) => {
            form.errors.push(FieldError::new("name", msg));
            let html = render_index(&state, ctx, &auth, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct FrontDoorForm {
    /// An organisation's id, or empty for none.
    #[serde(default)]
    pub front_door: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn set_front_door(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<FrontDoorForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let chosen = f.front_door.trim();
    let org = if chosen.is_empty() {
        None
    } else {
        match Uuid::parse_str(chosen) {
            Ok(id) => Some(id),
            Err(_) => {
                let form = FormState {
                    errors: vec![FieldError::new(
                        "front_door",
                        "Select a children's social care organisation",
                    )],
                    ..FormState::default()
                };
                let html = render_index(&state, ctx, &auth, form, None).await?;
                return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
            }
        }
    };
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let by = admin::may_administer(&actor)?;
            admin::set_front_door(&ctx, tx, &key, &by, org).await
        })
    })
    .await;
    match done {
        Ok(()) => Ok(Redirect::to("/admin?done=front_door").into_response()),
        Err(WebError::Domain(Error::Validation(errors))) => {
            let form = FormState {
                errors,
                ..FormState::default()
            };
            let html = render_index(&state, ctx, &auth, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

// --- users ----------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    pub layout: Layout,
    /// `None` for a new account.
    pub user: Option<UserRow>,
    pub orgs: Vec<Organisation>,
    /// Teams of the user's organisation (empty for a new account).
    pub teams: Vec<Team>,
    /// The user's team, if any.
    pub team_id: Option<Uuid>,
    pub form: FormState,
    pub csrf: String,
    /// The temporary password of an account just created, shown once.
    pub created: Option<String>,
    pub disabled: bool,
    pub is_me: bool,
}

impl UserPage {
    fn roles(&self) -> Vec<(&'static str, &'static str, bool)> {
        Role::ALL
            .iter()
            .filter(|r| {
                admin::assignable(**r)
                    || self
                        .form
                        .values
                        .contains_key(&format!("role_{}", r.as_str()))
            })
            .map(|r| {
                (
                    r.as_str(),
                    r.label(),
                    self.form
                        .values
                        .contains_key(&format!("role_{}", r.as_str())),
                )
            })
            .collect()
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct UserForm {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub org_id: String,
    #[serde(default)]
    pub csrf_token: String,
    #[serde(flatten)]
    pub rest: HashMap<String, String>,
}

impl UserForm {
    fn roles(&self) -> Vec<Role> {
        Role::ALL
            .iter()
            .copied()
            .filter(|r| self.rest.contains_key(&format!("role_{}", r.as_str())))
            .collect()
    }
    fn state(&self) -> FormState {
        let mut f = FormState::default();
        f.values
            .insert("display_name".into(), self.display_name.clone());
        f.values.insert("email".into(), self.email.clone());
        f.values.insert("org_id".into(), self.org_id.clone());
        for r in self.roles() {
            f.values
                .insert(format!("role_{}", r.as_str()), "yes".into());
        }
        f
    }
}

async fn render_user(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    user: Option<&User>,
    form: FormState,
    created: Option<String>,
) -> Result<String, WebError> {
    let (orgs, _, _, all_teams) = directory(state, auth).await?;
    let teams: Vec<Team> = all_teams
        .into_iter()
        .filter(|t| user.is_some_and(|u| u.org_id == t.org_id))
        .collect();
    let team_name = user
        .and_then(|u| u.team_id)
        .and_then(|id| teams.iter().find(|t| t.id == id))
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let names: HashMap<Uuid, String> = orgs.iter().map(|o| (o.id, o.name.clone())).collect();
    let title = match (user, form.has_errors()) {
        (None, false) => "Add a user".to_string(),
        (None, true) => "Error: Add a user".to_string(),
        (Some(u), false) => u.display_name.clone(),
        (Some(u), true) => format!("Error: {}", u.display_name),
    };
    Ok(UserPage {
        layout: Layout::from_ctx(state, ctx, &title),
        disabled: user.is_some_and(|u| u.status == UserStatus::Disabled),
        is_me: user.is_some_and(|u| u.id == auth.user.id),
        user: user.map(|u| UserRow {
            id: u.id,
            name: u.display_name.clone(),
            email: u.email.as_str().to_string(),
            org: names.get(&u.org_id).cloned().unwrap_or_default(),
            team: team_name.clone(),
            roles: roles_text(u),
            status: status_label(u.status),
            mfa: u.mfa_enrolled(),
        }),
        orgs,
        team_id: user.and_then(|u| u.team_id),
        teams,
        form,
        csrf: auth.session.csrf_secret.clone(),
        created,
    }
    .render()?)
}

pub(crate) async fn new_user_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    Ok(
        Html(render_user(&state, ctx, &auth, None, FormState::default(), None).await?)
            .into_response(),
    )
}

/// A temporary password: 16 characters from an alphabet without look-alikes (about 79 bits).
fn temporary_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..4)
        .map(|_| {
            (0..4)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub(crate) async fn create_user(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<UserForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = f.state();
    let email = Email::parse(f.email.trim())
        .map_err(|e| form.errors.push(FieldError::new("email", e.message)))
        .ok();
    let org_id = Uuid::parse_str(f.org_id.trim()).ok();
    if org_id.is_none() {
        form.errors
            .push(FieldError::new("org_id", "Choose an organisation"));
    }
    let roles = f.roles();
    if roles.iter().any(|r| !admin::assignable(*r)) {
        form.errors.push(FieldError::new(
            "roles",
            "System administrator can only be given by the service operator",
        ));
    }
    let (Some(email), Some(org_id), false) = (email, org_id, form.has_errors()) else {
        let html = render_user(&state, ctx, &auth, None, form, None).await?;
        return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
    };
    let temp = temporary_password();
    let params = state.settings.hash_params;
    let pw = temp.clone();
    let hash = hashing(move || password::hash(&pw, params))
        .await?
        .map_err(|_| WebError::Internal("password hashing failed".into()))?;
    let name = f.display_name.clone();
    let made = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let new = NewUser {
            org_id,
            email: email.clone(),
            display_name: name.clone(),
            roles: roles.clone(),
            password_hash: Some(hash.clone()),
        };
        Box::pin(async move {
            let by = admin::may_administer(&actor)?;
            let u = admin::create_user(&ctx, tx, &key, &by, new).await?;
            admin::mark_temporary_password(tx, u).await
        })
    })
    .await;
    match made {
        Ok(u) => {
            let html =
                render_user(&state, ctx, &auth, Some(&u), with_roles(&u), Some(temp)).await?;
            Ok(Html(html).into_response())
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            let html = render_user(&state, ctx, &auth, None, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(WebError::Domain(Error::Conflict(msg))) => {
            form.errors.push(FieldError::new("email", msg));
            let html = render_user(&state, ctx, &auth, None, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

fn with_roles(u: &User) -> FormState {
    let mut f = FormState::default();
    for r in &u.roles {
        f.values
            .insert(format!("role_{}", r.as_str()), "yes".into());
    }
    f
}

async fn load_user(state: &AppState, auth: &Auth, id: Uuid) -> Result<User, WebError> {
    as_user(state, auth, false, move |tx, _ctx, _key, actor| {
        Box::pin(async move {
            admin::may_administer(&actor)?;
            tx.get_user(id).await?.ok_or(Error::NotFound)
        })
    })
    .await
}

pub(crate) async fn user(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let u = load_user(&state, &auth, id).await?;
    Ok(
        Html(render_user(&state, ctx, &auth, Some(&u), with_roles(&u), None).await?)
            .into_response(),
    )
}

pub(crate) async fn set_roles(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<UserForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let roles = f.roles();
    let r2 = roles.clone();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let roles = r2.clone();
        Box::pin(async move {
            let by = admin::may_administer(&actor)?;
            admin::set_roles(&ctx, tx, &key, &by, id, roles).await
        })
    })
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/admin?done=user").into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            let u = load_user(&state, &auth, id).await?;
            let mut form = f.state();
            form.errors = errs;
            let html = render_user(&state, ctx, &auth, Some(&u), form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    pub enabled: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn set_status(
    State(state): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<StatusForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    // Only the form's two values: anything else is refused, never read as "disable".
    let enabled = match f.enabled.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(WebError::Domain(mace_domain::Error::validation(
                "enabled",
                "Choose whether the account is enabled",
            )));
        }
    };
    as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let by = admin::may_administer(&actor)?;
            admin::set_enabled(&ctx, tx, &key, &by, id, enabled).await
        })
    })
    .await?;
    Ok(Redirect::to("/admin?done=user").into_response())
}

// --- teams ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    pub team_name: String,
    #[serde(default)]
    pub team_org_id: String,
    #[serde(default)]
    pub csrf_token: String,
}

/// Add a team to an organisation (audited `team.create`).
pub(crate) async fn create_team(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<TeamForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = FormState::default();
    form.values.insert("team_name".into(), f.team_name.clone());
    form.values
        .insert("team_org_id".into(), f.team_org_id.clone());
    let Ok(org_id) = Uuid::parse_str(f.team_org_id.trim()) else {
        form.errors
            .push(FieldError::new("team_org_id", "Choose an organisation"));
        let html = render_index(&state, ctx, &auth, form, None).await?;
        return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
    };
    let name = f.team_name.clone();
    let made = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let name = name.clone();
        Box::pin(async move {
            let by = admin::may_administer(&actor)?;
            admin::create_team(&ctx, tx, &key, &by, org_id, &name).await
        })
    })
    .await;
    match made {
        Ok(_) => Ok(Redirect::to("/admin?done=team").into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            let html = render_index(&state, ctx, &auth, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(WebError::Domain(Error::Conflict(msg))) => {
            form.errors.push(FieldError::new("team_name", msg));
            let html = render_index(&state, ctx, &auth, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct UserTeamForm {
    /// A team's id, or empty for none.
    #[serde(default)]
    pub team_id: String,
    #[serde(default)]
    pub csrf_token: String,
}

/// Put a user in a team of their organisation, or take them out (audited `user.team`).
pub(crate) async fn set_team(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<UserTeamForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let chosen = f.team_id.trim();
    let team = if chosen.is_empty() {
        Ok(None)
    } else {
        Uuid::parse_str(chosen).map(Some)
    };
    let done = match team {
        Ok(team) => {
            as_user(&state, &auth, true, move |tx, ctx, key, actor| {
                Box::pin(async move {
                    let by = admin::may_administer(&actor)?;
                    admin::set_team(&ctx, tx, &key, &by, id, team).await
                })
            })
            .await
        }
        Err(_) => Err(WebError::Domain(Error::validation(
            "team_id",
            "Choose a team of the person's own organisation",
        ))),
    };
    match done {
        Ok(_) => Ok(Redirect::to("/admin?done=user").into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            let u = load_user(&state, &auth, id).await?;
            let mut form = with_roles(&u);
            form.errors = errs;
            let html = render_user(&state, ctx, &auth, Some(&u), form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

/// Pages a user with a temporary password may still reach before changing it.
pub(crate) fn allowed_with_temporary_password(path: &str) -> bool {
    matches!(
        path,
        "/account/password" | "/sign-out" | "/mfa/enrol" | "/mfa/verify" | "/sign-in"
    ) || path.starts_with("/assets/")
}

/// Does this signed-in user still have to replace a temporary password?
pub(crate) fn must_change_password(auth: &Auth) -> bool {
    auth.full() && auth.user.password_hash.is_some() && auth.user.password_changed_at.is_none()
}

// --- importing users from a spreadsheet -----------------------------------------------------------

/// One account made by an import, with its temporary password (shown once).
pub struct ImportedRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub org: String,
    pub roles: String,
    pub password: String,
}

#[derive(Template)]
#[template(path = "admin/import.html")]
pub struct ImportPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    /// The organisations rows may name.
    pub orgs: Vec<String>,
    /// The accounts just created (empty until an import succeeds).
    pub created: Vec<ImportedRow>,
    pub max_rows: usize,
}

async fn render_import(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    created: Vec<ImportedRow>,
) -> Result<String, WebError> {
    let orgs = as_user(state, auth, false, move |tx, _ctx, _key, actor| {
        Box::pin(async move {
            admin::may_administer(&actor)?;
            Ok(tx
                .list_orgs()
                .await?
                .into_iter()
                .map(|o| o.name)
                .collect::<Vec<_>>())
        })
    })
    .await?;
    let title = match (form.has_errors(), created.is_empty()) {
        (true, _) => "Error: Import users",
        (false, true) => "Import users",
        (false, false) => "Users imported",
    };
    Ok(ImportPage {
        layout: Layout::from_ctx(state, ctx, title),
        form,
        csrf: auth.session.csrf_secret.clone(),
        orgs,
        created,
        max_rows: mace_domain::identity::import::MAX_ROWS,
    }
    .render()?)
}

pub(crate) async fn import_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    Ok(
        Html(render_import(&state, ctx, &auth, FormState::default(), Vec::new()).await?)
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    pub csv: String,
    #[serde(default)]
    pub csrf_token: String,
}

/// Import accounts from pasted CSV: checked whole (`identity::import`), then every account is
/// created in one transaction with a temporary password (as on "Add a user": changed at first
/// sign-in, then the authenticator app is set up), or none is and every problem is listed by
/// line. Audited: a `user.create` event per account and one `user.import`.
pub(crate) async fn import_users(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<ImportForm>,
) -> Result<Response, WebError> {
    use mace_domain::identity::import;
    auth.check_csrf(&f.csrf_token)?;
    // Decide before any work: only the partnership administrator imports.
    as_user(&state, &auth, false, move |_tx, _ctx, _key, actor| {
        Box::pin(async move { admin::may_administer(&actor).map(|_| ()) })
    })
    .await?;
    let mut form = FormState::default();
    form.values.insert("csv".into(), f.csv.clone());
    let problems = |form: &mut FormState, errors: Vec<import::LineError>| {
        form.errors.extend(errors.into_iter().map(|e| {
            let message = if e.line == 0 {
                e.message
            } else {
                format!("Line {}: {}", e.line, e.message)
            };
            FieldError::new("csv", message)
        }));
    };
    let rows = match import::parse(&f.csv) {
        Ok(rows) => rows,
        Err(errors) => {
            problems(&mut form, errors);
            let html = render_import(&state, ctx, &auth, form, Vec::new()).await?;
            return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
        }
    };
    let passwords: Vec<String> = rows.iter().map(|_| temporary_password()).collect();
    let hashes = hash_many(&state, passwords.clone()).await?;
    let accounts: Vec<(import::ImportRow, String)> = rows.into_iter().zip(hashes).collect();
    let made = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let to_create = accounts
            .iter()
            .map(|(row, hash)| import::ToCreate {
                row: row.clone(),
                password_hash: hash.clone(),
            })
            .collect();
        Box::pin(async move {
            let by = admin::may_administer(&actor)?;
            let made = import::import(&ctx, tx, &key, &by, to_create).await?;
            let orgs = tx.list_orgs().await?;
            Ok(made.map(|users| (users, orgs)))
        })
    })
    .await?;
    match made {
        Ok((users, orgs)) => {
            let names: HashMap<Uuid, String> = orgs.into_iter().map(|o| (o.id, o.name)).collect();
            let created = users
                .iter()
                .zip(passwords)
                .map(|(u, password)| ImportedRow {
                    id: u.id,
                    name: u.display_name.clone(),
                    email: u.email.as_str().to_string(),
                    org: names.get(&u.org_id).cloned().unwrap_or_default(),
                    roles: roles_text(u),
                    password,
                })
                .collect();
            let html = render_import(&state, ctx, &auth, FormState::default(), created).await?;
            Ok(Html(html).into_response())
        }
        Err(errors) => {
            problems(&mut form, errors);
            let html = render_import(&state, ctx, &auth, form, Vec::new()).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
    }
}

/// Hash temporary passwords on two of the four hashing slots at most, so sign-ins still get
/// through while a large import is hashed.
async fn hash_many(state: &AppState, passwords: Vec<String>) -> Result<Vec<String>, WebError> {
    let params = state.settings.hash_params;
    let half = passwords.len().div_ceil(2).max(1);
    let parts: Vec<Vec<String>> = passwords.chunks(half).map(<[String]>::to_vec).collect();
    let jobs = parts.into_iter().map(|part| {
        hashing(move || {
            part.iter()
                .map(|p| password::hash(p, params))
                .collect::<Result<Vec<_>, _>>()
        })
    });
    let mut out = Vec::with_capacity(passwords.len());
    for done in futures::future::join_all(jobs).await {
        out.extend(done?.map_err(|_| WebError::Internal("password hashing failed".into()))?);
    }
    Ok(out)
}
