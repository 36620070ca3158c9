//! People around a child, in the browser and the API (issue 4): addresses (current and earlier),
//! the child's school, and relationships to parents and carers, brothers and sisters, friends,
//! persons of concern and professionals, each related person with a record of their own
//! (`/people/{id}`), opened through the children they are linked to ([`mace_domain::profile`]).

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, title_for};
use crate::cases::{ChildFields, as_user, candidate_row, dob, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format;
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use mace_domain::authz::OrgType;
use mace_domain::cases::{self, Opened};
use mace_domain::identity::model::User;
use mace_domain::matching::{Candidate, Probe};
use mace_domain::person::{Gender, NewPerson, Person, PersonKind, PersonName};
use mace_domain::ports::IdentityRepo;
use mace_domain::postcode::Postcode;
use mace_domain::profile::{
    self, Address, AddressInput, Link, NewRelationship, OpenedPerson, Profile, RelatedPerson,
    RelationshipKind, SchoolInput, SchoolRecord,
};
use mace_domain::{Error, FieldError};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

// --- what a record shows --------------------------------------------------------------------------

pub struct AddressRow {
    pub text: String,
    pub when: String,
    pub current: bool,
}

pub struct SchoolRow {
    pub name: String,
    pub when: String,
    pub current: bool,
}

pub struct LinkRow {
    pub label: &'static str,
    pub name: String,
    pub href: String,
    pub notes: String,
}

/// The addresses, school and links sections of a record page.
pub struct ProfileView {
    pub addresses: Vec<AddressRow>,
    pub schools: Vec<SchoolRow>,
    pub links: Vec<LinkRow>,
    pub hidden_links: usize,
}

fn span(from: Option<Date>, to: Option<Date>) -> String {
    match (from, to) {
        (Some(a), Some(b)) => format!("{} to {}", format::day(a), format::day(b)),
        (Some(a), None) => format!("Since {}", format::day(a)),
        (None, Some(b)) => format!("Until {}", format::day(b)),
        (None, None) => String::new(),
    }
}

fn address_text(a: &Address) -> String {
    [
        a.line1.as_str(),
        a.line2.as_str(),
        a.town.as_str(),
        a.postcode.as_ref().map(Postcode::as_str).unwrap_or(""),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(", ")
}

pub(crate) fn href(p: &Person) -> String {
    if p.kind == PersonKind::Child {
        format!("/children/{}", p.id)
    } else {
        format!("/people/{}", p.id)
    }
}

pub(crate) fn view(p: &Profile) -> ProfileView {
    ProfileView {
        addresses: p
            .addresses
            .iter()
            .map(|a| AddressRow {
                text: address_text(a),
                when: span(a.moved_in, a.moved_out),
                current: a.is_current,
            })
            .collect(),
        schools: p
            .schools
            .iter()
            .map(|s| SchoolRow {
                name: s.school_name.clone(),
                when: span(s.started_on, s.left_on),
                current: s.is_current,
            })
            .collect(),
        links: p
            .links
            .iter()
            .map(|l| LinkRow {
                label: l.label,
                name: name(&l.person),
                href: href(&l.person),
                notes: l.relationship.notes.clone(),
            })
            .collect(),
        hidden_links: p.hidden_links,
    }
}

// --- an adult's record ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "people/person.html")]
pub struct PersonPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub dob: String,
    pub gender: &'static str,
    pub postcode: String,
    pub identifiers: Vec<crate::identifiers::IdentifierRow>,
    pub profile: ProfileView,
    pub may_correct: bool,
    pub print: bool,
    pub is_child: bool,
    pub base: String,
    pub notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "people/refused.html")]
pub struct PersonRefusedPage {
    pub layout: Layout,
}

#[derive(Debug, Deserialize, Default)]
pub struct PersonQuery {
    pub added: Option<String>,
}

pub(crate) async fn person(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    axum::extract::Query(q): axum::extract::Query<PersonQuery>,
) -> Result<Response, WebError> {
    let opened = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let o = profile::open_person(&ctx, tx, &key, &actor, id).await?;
            let may_edit = match &o {
                OpenedPerson::Allowed(r) => {
                    profile::access(
                        &ctx,
                        tx,
                        &actor,
                        &r.person,
                        mace_domain::authz::Action::EditRecord,
                    )
                    .await?
                    .0
                    .allow
                }
                _ => false,
            };
            Ok((o, may_edit))
        })
    })
    .await?;
    match opened {
        (OpenedPerson::Child, _) => Ok(Redirect::to(&format!("/children/{id}")).into_response()),
        (OpenedPerson::Denied(_), _) => {
            let page = PersonRefusedPage {
                layout: Layout::from_ctx(&state, ctx, "You cannot see this record"),
            };
            Ok(form_reply(StatusCode::FORBIDDEN, page.render()?))
        }
        (OpenedPerson::Allowed(r), may_correct) => {
            let profile::PersonRecord {
                person,
                identifiers,
                profile,
            } = *r;
            let page = PersonPage {
                layout: Layout::from_ctx(&state, ctx, &name(&person)),
                id,
                name: name(&person),
                kind: person.kind.label(),
                dob: dob(&person),
                gender: person.gender.label(),
                postcode: person
                    .postcode
                    .as_ref()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "Not known".into()),
                identifiers: crate::identifiers::rows(&identifiers),
                profile: view(&profile),
                may_correct,
                print: false,
                is_child: false,
                base: format!("/people/{id}"),
                notice: q
                    .added
                    .is_some()
                    .then_some("It has been added to the record."),
            };
            Ok(Html(page.render()?).into_response())
        }
    }
}

/// The name on a person's record and the page to go back to, for a viewer who may open it
/// (opening it is audited).
pub(crate) async fn heading(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<(String, String), WebError> {
    let got = as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            Ok(
                match profile::open_person(&ctx, tx, &key, &actor, id).await? {
                    OpenedPerson::Allowed(r) => Some(r.person),
                    OpenedPerson::Denied(_) => None,
                    OpenedPerson::Child => {
                        match cases::open_record(&ctx, tx, &key, &actor, id).await? {
                            Opened::Allowed { person, .. } => Some(person),
                            _ => None,
                        }
                    }
                },
            )
        })
    })
    .await?;
    match got {
        Some(p) => Ok((name(&p), href(&p))),
        None => Err(WebError::NotFound),
    }
}

// --- addresses ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "people/address.html")]
pub struct AddressPage {
    pub layout: Layout,
    pub id: Uuid,
    pub who: String,
    pub back: String,
    pub form: FormState,
    pub csrf: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct AddressForm {
    #[serde(default)]
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    #[serde(default)]
    pub town: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default, rename = "moved-day")]
    pub moved_day: String,
    #[serde(default, rename = "moved-month")]
    pub moved_month: String,
    #[serde(default, rename = "moved-year")]
    pub moved_year: String,
    /// `yes` for where they live now, `no` for an earlier address.
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub csrf_token: String,
}

fn render_address(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    id: Uuid,
    (who, back): (String, String),
    form: FormState,
) -> Result<String, WebError> {
    let title = title_for(&form, "Add an address");
    Ok(AddressPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        who,
        back,
        form,
        csrf: auth.session.csrf_secret.clone(),
    }
    .render()?)
}

pub(crate) async fn address_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let head = heading(&state, &auth, id).await?;
    let mut form = FormState::default();
    form.values.insert("current".into(), "yes".into());
    Ok(Html(render_address(&state, ctx, &auth, id, head, form)?).into_response())
}

pub(crate) async fn add_address(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<AddressForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = FormState::kept(&[
        ("line1", &f.line1),
        ("line2", &f.line2),
        ("town", &f.town),
        ("postcode", &f.postcode),
        ("moved-day", &f.moved_day),
        ("moved-month", &f.moved_month),
        ("moved-year", &f.moved_year),
        ("current", &f.current),
    ]);
    let moved_in = form.date(
        "moved",
        (&f.moved_day, &f.moved_month, &f.moved_year),
        "The date they moved in",
        None,
    );
    if f.current != "yes" && f.current != "no" {
        form.errors.push(FieldError::new(
            "current",
            "Select whether they live at this address now",
        ));
    }
    let input = AddressInput {
        line1: f.line1.clone(),
        line2: f.line2.clone(),
        town: f.town.clone(),
        postcode: f.postcode.clone(),
        moved_in,
        current: f.current == "yes",
    };
    let done = if form.has_errors() {
        Err(WebError::Domain(Error::Validation(Vec::new())))
    } else {
        as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            let input = input.clone();
            Box::pin(async move {
                let person = profile::person_or_404(tx, id).await?;
                profile::add_address(&ctx, tx, &key, &actor, id, &input).await?;
                Ok(href(&person))
            })
        })
        .await
    };
    match done {
        Ok(back) => Ok(Redirect::to(&format!("{back}?identified=1#addresses")).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs.into_iter().map(|mut e| {
                if e.field == "moved_in" {
                    e.field = "moved-day".into();
                }
                e
            }));
            let head = heading(&state, &auth, id).await?;
            let html = render_address(&state, ctx, &auth, id, head, form)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

// --- school ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "people/school.html")]
pub struct SchoolPage {
    pub layout: Layout,
    pub id: Uuid,
    pub who: String,
    pub schools: Vec<(Uuid, String, bool)>,
    pub form: FormState,
    pub csrf: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct SchoolForm {
    #[serde(default)]
    pub school_org_id: String,
    #[serde(default)]
    pub school_name: String,
    #[serde(default, rename = "started-day")]
    pub started_day: String,
    #[serde(default, rename = "started-month")]
    pub started_month: String,
    #[serde(default, rename = "started-year")]
    pub started_year: String,
    #[serde(default)]
    pub csrf_token: String,
}

async fn render_school(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    id: Uuid,
    form: FormState,
) -> Result<String, WebError> {
    let (who, _) = heading(state, auth, id).await?;
    let orgs = as_user(state, auth, false, |tx, _ctx, _key, _actor| {
        Box::pin(async move { tx.list_orgs().await })
    })
    .await?;
    let chosen = form.value("school_org_id").to_string();
    let schools = orgs
        .into_iter()
        .filter(|o| o.org_type == OrgType::School)
        .map(|o| (o.id, o.name, chosen == o.id.to_string()))
        .collect();
    let title = title_for(&form, "Record the child's school");
    Ok(SchoolPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        who,
        schools,
        form,
        csrf: auth.session.csrf_secret.clone(),
    }
    .render()?)
}

pub(crate) async fn school_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    Ok(Html(render_school(&state, ctx, &auth, id, FormState::default()).await?).into_response())
}

pub(crate) async fn set_school(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<SchoolForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = FormState::kept(&[
        ("school_org_id", &f.school_org_id),
        ("school_name", &f.school_name),
        ("started-day", &f.started_day),
        ("started-month", &f.started_month),
        ("started-year", &f.started_year),
    ]);
    let started_on = form.date(
        "started",
        (&f.started_day, &f.started_month, &f.started_year),
        "The start date",
        None,
    );
    // One of the schools listed (an id), or none: anything else is refused, not read as none.
    let school_org_id = match f.school_org_id.trim() {
        "" => None,
        s => match Uuid::parse_str(s) {
            Ok(id) => Some(id),
            Err(_) => {
                form.errors.push(FieldError::new(
                    "school_org_id",
                    "Choose one of the schools listed, or type the school's name",
                ));
                None
            }
        },
    };
    let input = SchoolInput {
        school_org_id,
        school_name: f.school_name.clone(),
        started_on,
    };
    let done = if form.has_errors() {
        Err(WebError::Domain(Error::Validation(Vec::new())))
    } else {
        as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            let input = input.clone();
            Box::pin(async move { profile::set_school(&ctx, tx, &key, &actor, id, &input).await })
        })
        .await
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/children/{id}?identified=1#school")).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs.into_iter().map(|mut e| {
                if e.field == "started_on" {
                    e.field = "started-day".into();
                }
                e
            }));
            let html = render_school(&state, ctx, &auth, id, form).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

// --- relationships --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "people/related.html")]
pub struct RelatedPage {
    pub layout: Layout,
    pub id: Uuid,
    pub who: String,
    pub form: FormState,
    pub csrf: String,
    /// `None` before a search.
    pub results: Option<Vec<crate::cases::CandidateRow>>,
}

impl RelatedPage {
    fn kinds(&self) -> Vec<(&'static str, &'static str, bool)> {
        RelationshipKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(), self.form.value("kind") == k.as_str()))
            .collect()
    }

    fn genders(&self) -> Vec<(&'static str, &'static str, bool)> {
        Gender::ALL
            .iter()
            .map(|g| {
                let typed = self.form.value("gender");
                (
                    g.as_str(),
                    g.label(),
                    typed == g.as_str() || (typed.is_empty() && *g == Gender::NotKnown),
                )
            })
            .collect()
    }
}

#[derive(Debug, Deserialize, Default, Clone)]
pub struct RelatedForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub notes: String,
    /// Link this existing record.
    #[serde(default)]
    pub person_id: Option<Uuid>,
    #[serde(flatten)]
    pub person: ChildFields,
}

impl RelatedForm {
    fn form(&self) -> FormState {
        let mut f = self.person.form();
        f.values.insert("kind".into(), self.kind.trim().to_string());
        f.values
            .insert("notes".into(), self.notes.trim().to_string());
        f
    }
}

async fn render_related(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    id: Uuid,
    form: FormState,
    results: Option<Vec<crate::cases::CandidateRow>>,
) -> Result<String, WebError> {
    let (who, _) = heading(state, auth, id).await?;
    let title = title_for(&form, "Add someone in the child's life");
    Ok(RelatedPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        who,
        form,
        csrf: auth.session.csrf_secret.clone(),
        results,
    }
    .render()?)
}

pub(crate) async fn related_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    Ok(
        Html(render_related(&state, ctx, &auth, id, FormState::default(), None).await?)
            .into_response(),
    )
}

/// Search before create for the related person: children partnership-wide (as for a concern),
/// adults only among those linked to children the viewer may open.
async fn find_related(
    state: &AppState,
    user: &User,
    mfa_at: Option<time::OffsetDateTime>,
    kind: RelationshipKind,
    probe: Probe,
) -> Result<Vec<Candidate>, WebError> {
    with_actor(state, user, mfa_at, true, move |tx, ctx, key, actor| {
        let probe = probe.clone();
        Box::pin(async move {
            match kind.person_kind() {
                PersonKind::Child => cases::find_children(&ctx, tx, &key, &actor, &probe).await,
                adult => profile::find_adults(&ctx, tx, &key, &actor, adult, &probe).await,
            }
        })
    })
    .await
}

pub(crate) async fn related_find(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<RelatedForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.person.csrf_token)?;
    let mut form = f.form();
    let kind = RelationshipKind::parse(f.kind.trim());
    if kind.is_none() {
        form.errors.push(FieldError::new(
            "kind",
            "Select how they are related to the child",
        ));
    }
    let date_of_birth = dob_field(&f.person, &mut form, &state);
    let probe = Probe {
        given_name: f.person.given_name.trim().to_string(),
        family_name: f.person.family_name.trim().to_string(),
        date_of_birth,
        ..Probe::default()
    };
    let found = match kind {
        Some(kind) if !form.has_errors() => {
            find_related(&state, &auth.user, auth.session.mfa_at, kind, probe).await
        }
        _ => Err(WebError::Domain(Error::Validation(Vec::new()))),
    };
    match found {
        Ok(list) => {
            let rows = list.iter().map(|c| candidate_row(&state, c)).collect();
            Ok(
                Html(render_related(&state, ctx, &auth, id, form, Some(rows)).await?)
                    .into_response(),
            )
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            let html = render_related(&state, ctx, &auth, id, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

fn dob_field(f: &ChildFields, form: &mut FormState, state: &AppState) -> Option<Date> {
    f.dob(form, format::uk(state.ctx.clock.now()).date())
}

/// The new person's details from the form, or the errors in them.
fn new_person(f: &ChildFields, form: &mut FormState, state: &AppState) -> Option<NewPerson> {
    let given = PersonName::parse("given_name", &f.given_name)
        .map_err(|e| {
            form.errors
                .push(FieldError::new(&e.field, "Enter their first name"))
        })
        .ok();
    let family = PersonName::parse("family_name", &f.family_name)
        .map_err(|e| {
            form.errors
                .push(FieldError::new(&e.field, "Enter their last name"))
        })
        .ok();
    let date_of_birth = dob_field(f, form, state);
    let gender = match f.gender.trim() {
        "" => Some(Gender::NotKnown),
        g => Gender::parse(g).or_else(|| {
            form.errors
                .push(FieldError::new("gender", "Not a gender mace knows"));
            None
        }),
    };
    Some(NewPerson {
        kind: PersonKind::ParentCarer,
        given_name: given?,
        family_name: family?,
        date_of_birth,
        dob_approximate: f.dob_approximate.is_some(),
        gender: gender?,
        postcode: None,
    })
}

pub(crate) async fn add_related(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<RelatedForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.person.csrf_token)?;
    let mut form = f.form();
    let kind = RelationshipKind::parse(f.kind.trim());
    let related = match f.person_id {
        Some(pid) => Some(RelatedPerson::Existing(pid)),
        None => new_person(&f.person, &mut form, &state).map(RelatedPerson::New),
    };
    let notes = f.notes.clone();
    let done = match related {
        Some(related) if !form.has_errors() => {
            as_user(&state, &auth, true, move |tx, ctx, key, actor| {
                let (related, notes) = (related.clone(), notes.clone());
                Box::pin(async move {
                    profile::add_relationship(
                        &ctx,
                        tx,
                        &key,
                        &actor,
                        id,
                        NewRelationship {
                            kind,
                            related,
                            notes,
                        },
                    )
                    .await
                })
            })
            .await
        }
        _ => Err(WebError::Domain(Error::Validation(Vec::new()))),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/children/{id}?identified=1#network")).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            let html = render_related(&state, ctx, &auth, id, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

// --- API ------------------------------------------------------------------------------------------

/// An address on a record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    #[serde(default)]
    pub id: Option<Uuid>,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub town: String,
    /// A UK postcode, checked; may be left out.
    #[serde(default)]
    pub postcode: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub moved_in: Option<String>,
    #[serde(default)]
    pub moved_out: Option<String>,
    /// Where the person lives now; an earlier address otherwise.
    pub current: bool,
}

impl From<&Address> for AddressDto {
    fn from(a: &Address) -> Self {
        Self {
            id: Some(a.id),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            town: a.town.clone(),
            postcode: a.postcode.as_ref().map(|p| p.as_str().to_string()),
            moved_in: a.moved_in.map(format::iso),
            moved_out: a.moved_out.map(format::iso),
            current: a.is_current,
        }
    }
}

/// A school a child attends or attended.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolDto {
    #[serde(default)]
    pub id: Option<Uuid>,
    /// One of the partnership's schools (an organisation of type `school`)…
    #[serde(default)]
    pub school_organisation_id: Option<Uuid>,
    /// …or the school's name.
    #[serde(default)]
    pub school_name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub started_on: Option<String>,
    #[serde(default)]
    pub left_on: Option<String>,
    #[serde(default)]
    pub current: bool,
}

impl From<&SchoolRecord> for SchoolDto {
    fn from(s: &SchoolRecord) -> Self {
        Self {
            id: Some(s.id),
            school_organisation_id: s.school_org_id,
            school_name: s.school_name.clone(),
            started_on: s.started_on.map(format::iso),
            left_on: s.left_on.map(format::iso),
            current: s.is_current,
        }
    }
}

/// Someone linked to the record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkDto {
    pub relationship_id: Uuid,
    /// `parent`, `carer`, `sibling`, `peer`, `person_of_concern` or `professional`: what the
    /// related person is to the child the link was added from.
    pub kind: String,
    /// As read from this record ("Parent", "Parent of").
    pub label: String,
    pub person_id: Uuid,
    pub person_kind: String,
    pub name: String,
    pub notes: String,
}

impl From<&Link> for LinkDto {
    fn from(l: &Link) -> Self {
        Self {
            relationship_id: l.relationship.id,
            kind: l.relationship.kind.as_str().into(),
            label: l.label.into(),
            person_id: l.person.id,
            person_kind: l.person.kind.as_str().into(),
            name: name(&l.person),
            notes: l.relationship.notes.clone(),
        }
    }
}

/// A person's record: a child, parent or carer, person of concern or professional.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonDto {
    pub id: Uuid,
    pub kind: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<String>,
    pub dob_approximate: bool,
    pub gender: String,
    pub postcode: Option<String>,
    pub identifiers: Vec<crate::identifiers::IdentifierDto>,
    pub addresses: Vec<AddressDto>,
    pub schools: Vec<SchoolDto>,
    pub links: Vec<LinkDto>,
    /// Linked children whose records the caller may not open (counted, never named).
    pub hidden_links: usize,
}

fn person_dto(
    person: &Person,
    identifiers: &[mace_domain::identifiers::PersonIdentifier],
    p: &Profile,
) -> PersonDto {
    PersonDto {
        id: person.id,
        kind: person.kind.as_str().into(),
        given_name: person.given_name.clone(),
        family_name: person.family_name.clone(),
        date_of_birth: person.date_of_birth.map(format::iso),
        dob_approximate: person.dob_approximate,
        gender: person.gender.as_str().into(),
        postcode: person.postcode.as_ref().map(|p| p.as_str().to_string()),
        identifiers: identifiers
            .iter()
            .map(crate::identifiers::IdentifierDto::from)
            .collect(),
        addresses: p.addresses.iter().map(AddressDto::from).collect(),
        schools: p.schools.iter().map(SchoolDto::from).collect(),
        links: p.links.iter().map(LinkDto::from).collect(),
        hidden_links: p.hidden_links,
    }
}

/// Any person's record the caller may open: a child's by relationship, allocation or
/// break-glass; anyone else's through the children they are linked to. Audited.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "children",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The person's id")),
    responses(
        (status = 200, description = "The record", body = PersonDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such person", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_person(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let dto = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            match profile::open_person(&ctx, tx, &key, &actor, id).await? {
                OpenedPerson::Allowed(r) => Ok(person_dto(&r.person, &r.identifiers, &r.profile)),
                OpenedPerson::Denied(reason) => Err(Error::Forbidden {
                    reason: reason.as_str().into(),
                }),
                OpenedPerson::Child => {
                    match cases::open_record(&ctx, tx, &key, &actor, id).await? {
                        Opened::Allowed {
                            person,
                            identifiers,
                            ..
                        } => {
                            let p = profile::profile(&ctx, tx, &actor, id).await?;
                            Ok(person_dto(&person, &identifiers, &p))
                        }
                        Opened::Merged { .. } => Err(Error::NotFound),
                        Opened::Denied { reason, .. } => Err(Error::Forbidden {
                            reason: reason.as_str().into(),
                        }),
                    }
                }
            }
        })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// Add an address to a person's record (needs the right to change it). A current address ends
/// the one before it and becomes the record's postcode.
#[utoipa::path(post, path = "/api/v1/people/{id}/addresses", tag = "children",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The person's id")),
    request_body(content = AddressDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = AddressDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such person", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Something in it is missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add_address(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<AddressDto>,
) -> Result<Response, WebError> {
    let input = AddressInput {
        line1: body.line1,
        line2: body.line2,
        town: body.town,
        postcode: body.postcode.unwrap_or_default(),
        moved_in: format::parse_iso("moved_in", body.moved_in.as_deref())?,
        current: body.current,
    };
    let added = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { profile::add_address(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &AddressDto::from(&added),
    ))
}

/// Record the school a child now attends (the one before it is ended).
#[utoipa::path(post, path = "/api/v1/children/{id}/schools", tag = "children",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = SchoolDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = SchoolDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "No school named, or not a school", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_set_school(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<SchoolDto>,
) -> Result<Response, WebError> {
    let input = SchoolInput {
        school_org_id: body.school_organisation_id,
        school_name: body.school_name,
        started_on: format::parse_iso("started_on", body.started_on.as_deref())?,
    };
    let set = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { profile::set_school(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &SchoolDto::from(&set)))
}

/// A new person to link.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelatedPersonDto {
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub dob_approximate: bool,
    /// `female`, `male`, `non_binary`, `not_known` (the default) or `not_stated`.
    #[serde(default)]
    pub gender: Option<String>,
}

/// A relationship to add: to an existing record (`person_id`, found with
/// `/api/v1/children/{id}/related/search`) or to a new one (`new_person`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelationshipDto {
    /// `parent`, `carer`, `sibling`, `peer`, `person_of_concern` or `professional`.
    pub kind: String,
    #[serde(default)]
    pub person_id: Option<Uuid>,
    #[serde(default)]
    pub new_person: Option<NewRelatedPersonDto>,
    #[serde(default)]
    pub notes: String,
}

/// Link someone to a child's record (needs the right to change it).
#[utoipa::path(post, path = "/api/v1/children/{id}/relationships", tag = "children",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewRelationshipDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Linked", body = LinkDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child or person", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid, or already linked", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add_relationship(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewRelationshipDto>,
) -> Result<Response, WebError> {
    let kind = RelationshipKind::parse(body.kind.trim());
    let related = match (body.person_id, body.new_person) {
        (Some(pid), None) => RelatedPerson::Existing(pid),
        (None, Some(n)) => RelatedPerson::New(NewPerson {
            kind: PersonKind::ParentCarer,
            given_name: PersonName::parse("given_name", &n.given_name)
                .map_err(|e| Error::Validation(vec![e]))?,
            family_name: PersonName::parse("family_name", &n.family_name)
                .map_err(|e| Error::Validation(vec![e]))?,
            date_of_birth: format::parse_iso("date_of_birth", n.date_of_birth.as_deref())?,
            dob_approximate: n.dob_approximate,
            gender: match n.gender.as_deref() {
                None => Gender::NotKnown,
                Some(g) => Gender::parse(g)
                    .ok_or_else(|| Error::validation("gender", "Not a gender mace knows"))?,
            },
            postcode: None,
        }),
        _ => {
            return Err(
                Error::validation("person_id", "Give either person_id or new_person").into(),
            );
        }
    };
    let link = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let (related, notes) = (related.clone(), body.notes.clone());
        Box::pin(async move {
            profile::add_relationship(
                &ctx,
                tx,
                &key,
                &actor,
                id,
                NewRelationship {
                    kind,
                    related,
                    notes,
                },
            )
            .await
        })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &LinkDto::from(&link)))
}

/// Who to look for before linking someone new.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelatedSearchDto {
    /// The relationship: children are searched partnership-wide, adults only among those
    /// already linked to children the caller may open.
    pub kind: String,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
}

/// A possible match, with its score (0-100) and the reasons.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MatchDto {
    pub person_id: Uuid,
    pub name: String,
    pub date_of_birth: Option<String>,
    pub score: u32,
    pub reasons: Vec<String>,
}

/// Search before linking someone to a child's record. Audited with the result count.
#[utoipa::path(post, path = "/api/v1/children/{id}/related/search", tag = "children",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = RelatedSearchDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Possible matches, best first", body = Vec<MatchDto>, content_type = "application/json"),
        (status = 403, description = "The caller may not search", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "No name, or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_find_related(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(_id): Path<Uuid>,
    Json(body): Json<RelatedSearchDto>,
) -> Result<Response, WebError> {
    let kind = RelationshipKind::parse(body.kind.trim())
        .ok_or_else(|| Error::validation("kind", "Not a relationship mace knows"))?;
    let probe = Probe {
        given_name: body.given_name.trim().to_string(),
        family_name: body.family_name.trim().to_string(),
        date_of_birth: format::parse_iso("date_of_birth", body.date_of_birth.as_deref())?,
        ..Probe::default()
    };
    let found = find_related(&state, &c.user, None, kind, probe).await?;
    let out: Vec<MatchDto> = found.iter().map(match_dto).collect();
    Ok(json_response(StatusCode::OK, &out))
}

/// What is known of a child to find their record before creating one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildFindDto {
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Where the child lives or lived.
    #[serde(default)]
    pub postcode: Option<String>,
    /// An NHS number, unique pupil number or UK phone number.
    #[serde(default)]
    pub identifier: Option<String>,
}

/// Search before create: children across the partnership who may be the one described, best
/// first, with scores and reasons (only what identifies a child). Audited with the count.
#[utoipa::path(post, path = "/api/v1/children/find", tag = "children",
    security(("bearer" = [])),
    request_body(content = ChildFindDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Possible matches, best first", body = Vec<MatchDto>, content_type = "application/json"),
        (status = 422, description = "No name, or something not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_find_child(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<ChildFindDto>,
) -> Result<Response, WebError> {
    let blank = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let probe = Probe {
        given_name: body.given_name.trim().to_string(),
        family_name: body.family_name.trim().to_string(),
        date_of_birth: format::parse_iso("date_of_birth", body.date_of_birth.as_deref())?,
        postcode: blank(&body.postcode)
            .map(|p| Postcode::parse(&p).map_err(|e| Error::Validation(vec![e])))
            .transpose()?,
        identifier: blank(&body.identifier)
            .map(|i| mace_domain::identifiers::recognise(&i))
            .transpose()?,
    };
    let found = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let probe = probe.clone();
        Box::pin(async move { cases::find_children(&ctx, tx, &key, &actor, &probe).await })
    })
    .await?;
    let out: Vec<MatchDto> = found.iter().map(match_dto).collect();
    Ok(json_response(StatusCode::OK, &out))
}

fn match_dto(m: &Candidate) -> MatchDto {
    MatchDto {
        person_id: m.person.id,
        name: name(&m.person),
        date_of_birth: m.person.date_of_birth.map(format::iso),
        score: m.score,
        reasons: m.reasons.clone(),
    }
}

/// A child's record to create (after search before create).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChildDto {
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub dob_approximate: bool,
    /// `female`, `male`, `non_binary`, `not_known` (the default) or `not_stated`.
    #[serde(default)]
    pub gender: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
}

/// Create a child's record; the caller's organisation becomes involved (the lead if nobody
/// else is). Search first with `/api/v1/children/find`.
#[utoipa::path(post, path = "/api/v1/children", tag = "children",
    security(("bearer" = [])),
    request_body(content = NewChildDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = crate::cases_api::ChildDto, content_type = "application/json"),
        (status = 403, description = "The caller's role does not create records", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_create_child(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<NewChildDto>,
) -> Result<Response, WebError> {
    let new = NewPerson {
        kind: PersonKind::Child,
        given_name: PersonName::parse("given_name", &body.given_name)
            .map_err(|e| Error::Validation(vec![e]))?,
        family_name: PersonName::parse("family_name", &body.family_name)
            .map_err(|e| Error::Validation(vec![e]))?,
        date_of_birth: format::parse_iso("date_of_birth", body.date_of_birth.as_deref())?,
        dob_approximate: body.dob_approximate,
        gender: match body.gender.as_deref() {
            None => Gender::NotKnown,
            Some(g) => Gender::parse(g)
                .ok_or_else(|| Error::validation("gender", "Not a gender mace knows"))?,
        },
        postcode: body
            .postcode
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| Postcode::parse(p).map_err(|e| Error::Validation(vec![e])))
            .transpose()?,
    };
    let person = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let new = new.clone();
        Box::pin(async move { cases::create_child(&ctx, tx, &key, &actor, new).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &crate::cases_api::ChildDto::from(&person),
    ))
}
