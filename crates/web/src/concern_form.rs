//! Raising a concern in the browser (issue 4): about one child or several, with the exploitation
//! types and indicators observed, optionally also sent to the children's social care front door,
//! and saved as a draft while the professional types (in the background with JavaScript, with a
//! "Save as draft" button without it) so that no work is lost to a session timeout.
//!
//! The form is opened for one child (`/concerns/new/{id}`); other children are added through
//! the same search before create (`/concerns/new?with={id}`) and carried in the form's `also`
//! field and in the draft.

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, title_for};
use crate::cases::{ChildRow, as_user};
use crate::error::WebError;
use crate::format;
use crate::pages::{Layout, PageContext};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use mace_domain::cases::{self, ConcernIndicator, ExploitationType, NewConcern};
use mace_domain::drafts::{self, ConcernDraft};
use mace_domain::identity::model::Organisation;
use mace_domain::person::Person;
use mace_domain::ports::IdentityRepo;
use mace_domain::{Error, FieldError};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

#[derive(Template)]
#[template(path = "concerns/form.html")]
pub struct ConcernFormPage {
    pub layout: Layout,
    /// The child the form was opened for.
    pub child: ChildRow,
    /// Other children the concern is also about.
    pub others: Vec<ChildRow>,
    /// The `also` field: the other children's ids, comma-separated.
    pub also: String,
    /// The children's social care front door, when the partnership has one.
    pub front_door: Option<String>,
    pub form: FormState,
    pub csrf: String,
    pub notice: Option<String>,
}

impl ConcernFormPage {
    fn types(&self) -> Vec<(&'static str, &'static str, bool)> {
        boxes(
            &self.form,
            "type_",
            ExploitationType::ALL,
            ExploitationType::as_str,
            ExploitationType::label,
        )
    }
    fn indicators(&self) -> Vec<(&'static str, &'static str, bool)> {
        boxes(
            &self.form,
            "ind_",
            ConcernIndicator::ALL,
            ConcernIndicator::as_str,
            ConcernIndicator::label,
        )
    }
}

/// A group of checkboxes named `<prefix><code>`: (code, label, ticked).
fn boxes<T: Copy>(
    form: &FormState,
    prefix: &str,
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str, bool)> {
    all.iter()
        .map(|t| {
            let c = code(*t);
            (
                c,
                label(*t),
                form.values.contains_key(&format!("{prefix}{c}")),
            )
        })
        .collect()
}

/// The options of a checkbox group that were ticked.
fn ticked<T: Copy>(
    posted: &HashMap<String, String>,
    prefix: &str,
    all: &[T],
    code: fn(T) -> &'static str,
) -> Vec<T> {
    all.iter()
        .copied()
        .filter(|t| posted.contains_key(&format!("{prefix}{}", code(*t))))
        .collect()
}

/// The form as posted: every field by name (checkboxes are `type_…`, `ind_…`), plus the
/// button pressed (`action`: `send`, `save_draft` or `add_child`), `also` and the CSRF token.
#[derive(Debug, Deserialize, Default)]
pub struct ConcernFields {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub also: String,
    #[serde(flatten)]
    pub rest: HashMap<String, String>,
}

/// The buttons of the concern form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Button {
    Send,
    SaveDraft,
    AddChild,
}

impl ConcernFields {
    /// The button pressed: a value the form does not offer is refused, never read as "send".
    /// No button at all (a form submitted without one) sends, as before.
    fn button(&self) -> Result<Button, Error> {
        match self.action.as_str() {
            "" | "send" => Ok(Button::Send),
            "save_draft" => Ok(Button::SaveDraft),
            "add_child" => Ok(Button::AddChild),
            _ => Err(Error::validation(
                "action",
                "Choose ‘Send the concern’, ‘Save as draft’ or ‘Add another child’",
            )),
        }
    }
    fn also(&self) -> Result<Vec<Uuid>, Error> {
        parse_ids(&self.also)
    }
    /// The fields a draft keeps, as typed.
    fn draft_fields(&self) -> BTreeMap<String, String> {
        self.rest
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    fn value(&self, k: &str) -> &str {
        self.rest.get(k).map(String::as_str).unwrap_or("")
    }
    fn form(&self) -> FormState {
        let mut form = FormState::default();
        for (k, v) in &self.rest {
            if drafts::kept(k) {
                form.values.insert(k.clone(), v.clone());
            }
        }
        form
    }
    /// The concern the form describes, with any date error added to `form`.
    fn concern(&self, form: &mut FormState) -> NewConcern {
        let observed_at = match format::date_input(
            self.value("observed-day"),
            self.value("observed-month"),
            self.value("observed-year"),
            "The date it happened",
        ) {
            Ok(d) => d.map(|d| d.midnight().assume_utc()),
            Err(msg) => {
                form.errors.push(FieldError::new("observed-day", msg));
                None
            }
        };
        NewConcern {
            observed_at,
            location: self.value("location").to_string(),
            narrative: self.value("narrative").to_string(),
            exploitation_types: ticked(
                &self.rest,
                "type_",
                ExploitationType::ALL,
                ExploitationType::as_str,
            ),
            indicators: ticked(
                &self.rest,
                "ind_",
                ConcernIndicator::ALL,
                ConcernIndicator::as_str,
            ),
            to_front_door: self.rest.contains_key("to_front_door"),
            child_words: self.value("child_words").to_string(),
            others_present: self.value("others_present").to_string(),
            actions_taken: self.value("actions_taken").to_string(),
        }
    }
}

/// The `also` field: the other children's ids, comma-separated (blank when there are none).
/// Anything that is not a list of ids is refused, not dropped.
fn parse_ids(s: &str) -> Result<Vec<Uuid>, Error> {
    let refused = || {
        Error::validation(
            "also",
            "The other children of this concern could not be read. Open the form again from the child's record",
        )
    };
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() > cases::MAX_CHILDREN_PER_CONCERN {
        return Err(refused());
    }
    parts
        .into_iter()
        .map(|p| Uuid::parse_str(p).map_err(|_| refused()))
        .collect()
}

/// What the form shows, read in one transaction: the children (each look audited), the
/// author's draft (audited when there is one) and the front door.
struct Loaded {
    child: Person,
    others: Vec<Person>,
    draft: Option<ConcernDraft>,
    front_door: Option<Organisation>,
}

async fn load(
    state: &AppState,
    auth: &Auth,
    person_id: Uuid,
    also: Vec<Uuid>,
) -> Result<Loaded, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        let also = also.clone();
        Box::pin(async move {
            let child = cases::concern_subject(&ctx, tx, &key, &actor, person_id).await?;
            let draft = drafts::load_draft(&ctx, tx, &key, &actor, person_id).await?;
            let mut ids: Vec<Uuid> = draft.as_ref().map(|d| d.also.clone()).unwrap_or_default();
            for id in also {
                if id != person_id && !ids.contains(&id) {
                    ids.push(id);
                }
            }
            ids.truncate(cases::MAX_CHILDREN_PER_CONCERN - 1);
            let mut others = Vec::new();
            for id in ids {
                others.push(cases::concern_subject(&ctx, tx, &key, &actor, id).await?);
            }
            let front_door = match cases::front_door(tx).await? {
                Some(org) => tx.get_org(org).await?,
                None => None,
            };
            Ok(Loaded {
                child,
                others,
                draft,
                front_door,
            })
        })
    })
    .await
}

fn render(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    loaded: &Loaded,
    form: FormState,
    notice: Option<String>,
) -> Result<String, WebError> {
    let title = title_for(&form, "Raise a concern");
    Ok(ConcernFormPage {
        layout: Layout::from_ctx(state, ctx, &title),
        child: ChildRow::of(state, &loaded.child),
        others: loaded
            .others
            .iter()
            .map(|p| ChildRow::of(state, p))
            .collect(),
        also: loaded
            .others
            .iter()
            .map(|p| p.id.to_string())
            .collect::<Vec<_>>()
            .join(","),
        front_door: loaded.front_door.as_ref().map(|o| o.name.clone()),
        form,
        csrf: auth.session.csrf_secret.clone(),
        notice,
    }
    .render()?)
}

#[derive(Debug, Deserialize, Default)]
pub struct FormQuery {
    /// Another child to add (from the search, or just created).
    pub add: Option<Uuid>,
    /// Set after "Save as draft".
    pub saved: Option<String>,
}

pub(crate) async fn concern_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(person_id): Path<Uuid>,
    Query(q): Query<FormQuery>,
) -> Result<Response, WebError> {
    let loaded = load(&state, &auth, person_id, q.add.into_iter().collect()).await?;
    let mut form = FormState::default();
    let mut notice = None;
    if let Some(d) = &loaded.draft {
        form.values = d.fields.clone();
        notice = Some(format!(
            "Your draft from {} has been restored. It is sent only when you choose ‘Send the concern’.",
            format::date_time(d.updated_at)
        ));
    }
    if q.saved.is_some() {
        notice = Some("Your draft has been saved. Only you can see it.".into());
    }
    Ok(Html(render(&state, ctx, &auth, &loaded, form, notice)?).into_response())
}

async fn save(
    state: &AppState,
    auth: &Auth,
    person_id: Uuid,
    f: &ConcernFields,
) -> Result<ConcernDraft, WebError> {
    let (also, fields) = (f.also()?, f.draft_fields());
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        let (also, fields) = (also.clone(), fields.clone());
        Box::pin(async move {
            drafts::save_draft(&ctx, tx, &key, &actor, person_id, &also, &fields).await
        })
    })
    .await
}

/// Send the concern, save it as a draft, or save it and go to find another child.
pub(crate) async fn raise(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(person_id): Path<Uuid>,
    Form(f): Form<ConcernFields>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let button = f.button()?;
    let also = f.also()?;
    let mut form = f.form();
    if button != Button::Send {
        match save(&state, &auth, person_id, &f).await {
            Ok(_) if button == Button::SaveDraft => {
                return Ok(
                    Redirect::to(&format!("/concerns/new/{person_id}?saved=1")).into_response()
                );
            }
            Ok(_) => {
                return Ok(Redirect::to(&format!("/concerns/new?with={person_id}")).into_response());
            }
            // A draft that cannot be saved as typed: the form again, with what is wrong.
            Err(WebError::Domain(Error::Validation(errs))) => form.errors.extend(errs),
            Err(e) => return Err(e),
        }
        let loaded = load(&state, &auth, person_id, also).await?;
        let html = render(&state, ctx, &auth, &loaded, form, None)?;
        return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
    }
    let new = f.concern(&mut form);
    if let Err(Error::Validation(errs)) = new.validate(state.ctx.clock.now()) {
        form.errors.extend(errs);
    }
    let mut children = vec![person_id];
    children.extend(also.iter().copied());
    if !form.has_errors() {
        let sent = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            let (new, children) = (new.clone(), children.clone());
            Box::pin(
                async move { cases::raise_concern(&ctx, tx, &key, &actor, &children, &new).await },
            )
        })
        .await;
        match sent {
            Ok(raised) => {
                let first = raised.first().map(|c| c.id).unwrap_or_default();
                return Ok(Redirect::to(&format!("/concerns/{first}?raised=1")).into_response());
            }
            Err(WebError::Domain(Error::Validation(errs))) => form.errors.extend(errs),
            Err(e) => return Err(e),
        }
    }
    let loaded = load(&state, &auth, person_id, also).await?;
    let html = render(&state, ctx, &auth, &loaded, form, None)?;
    Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
}

/// The background save (JavaScript): 204 when saved; errors as for any form post.
pub(crate) async fn autosave(
    State(state): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(person_id): Path<Uuid>,
    Form(f): Form<ConcernFields>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    // The background save posts the whole form, buttons aside; a button value it does carry
    // must still be one the form offers.
    f.button()?;
    save(&state, &auth, person_id, &f).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
