//! The JSON API for children's records and concerns (issues 3 and 4), with the same policy,
//! audit and validation as the pages: the caller is the token's user, without a recent second
//! factor (so never break-glass). Searches with names are POSTed (DATA-02).

use crate::AppState;
use crate::cases::with_actor;
use crate::error::{WebError, json_response};
use crate::tokens::ApiCaller;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use mace_domain::Error;
use mace_domain::cases::{self, ChronologyEntry, Concern, ExploitationType, NewConcern, Opened};
use mace_domain::person::Person;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A child, as much as identifies them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildDto {
    pub id: Uuid,
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`, when known.
    pub date_of_birth: Option<String>,
    pub date_of_birth_approximate: bool,
    /// `female`, `male`, `non_binary`, `not_known` or `not_stated`.
    pub gender: String,
    pub postcode: Option<String>,
}

impl From<&Person> for ChildDto {
    fn from(p: &Person) -> Self {
        Self {
            id: p.id,
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            date_of_birth: p.date_of_birth.map(|d| d.to_string()),
            date_of_birth_approximate: p.dob_approximate,
            gender: p.gender.as_str().to_string(),
            postcode: p.postcode.as_ref().map(|c| c.as_str().to_string()),
        }
    }
}

/// One chronology entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChronologyDto {
    pub id: Uuid,
    /// The module that wrote it: `concern`, `triage`, …
    pub kind: String,
    pub source_id: Uuid,
    pub organisation_id: Uuid,
    /// When it happened (RFC 3339).
    pub event_at: String,
    /// When it was recorded (RFC 3339).
    pub recorded_at: String,
    pub summary: String,
}

impl From<&ChronologyEntry> for ChronologyDto {
    fn from(e: &ChronologyEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind.clone(),
            source_id: e.source_id,
            organisation_id: e.org_id,
            event_at: rfc3339(e.event_at),
            recorded_at: rfc3339(e.recorded_at),
            summary: e.summary.clone(),
        }
    }
}

/// A child's record: the child and the chronology, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordDto {
    pub child: ChildDto,
    /// Other names and identifiers.
    pub identifiers: Vec<crate::identifiers::IdentifierDto>,
    pub chronology: Vec<ChronologyDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildrenDto {
    pub children: Vec<ChildDto>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildSearch {
    /// The start of a first or last name; empty lists every child the caller may see.
    #[serde(default)]
    pub q: String,
}

/// The children the caller may see (their organisation is involved, they are allocated, or a
/// break-glass grant is live), by name.
#[utoipa::path(get, path = "/api/v1/children", tag = "children", security(("bearer" = [])),
    responses(
        (status = 200, description = "Children the caller may see", body = ChildrenDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    search_children(&state, &c, String::new()).await
}

/// The children the caller may see whose first or last name starts with `q`.
#[utoipa::path(post, path = "/api/v1/children/search", tag = "children", security(("bearer" = [])),
    request_body(content = ChildSearch, content_type = "application/json"),
    responses(
        (status = 200, description = "Matching children the caller may see", body = ChildrenDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "A search over 100 characters", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn search(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<ChildSearch>,
) -> Result<Response, WebError> {
    search_children(&state, &c, body.q).await
}

async fn search_children(
    state: &AppState,
    c: &crate::tokens::ApiAuth,
    q: String,
) -> Result<Response, WebError> {
    let people = with_actor(state, &c.user, None, true, move |tx, ctx, key, actor| {
        let q = q.clone();
        Box::pin(async move { cases::list_children(&ctx, tx, &key, &actor, &q, 500).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &ChildrenDto {
            children: people.iter().map(ChildDto::from).collect(),
        },
    ))
}

/// Narrow a chronology: by kind, by agency, by UK calendar dates (both ends included).
/// Corrections (`addendum`) follow the entry they correct.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChronologyQuery {
    /// `concern`, `triage`, `merge`.
    pub kind: Option<String>,
    /// An organisation's id.
    pub agency: Option<Uuid>,
    /// A date, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// A date, `YYYY-MM-DD`.
    pub to: Option<String>,
}

impl ChronologyQuery {
    fn filter(&self) -> Result<cases::ChronologyFilter, WebError> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let mut errs = Vec::new();
        let mut date = |field: &str, v: &Option<String>| match v.as_deref() {
            None | Some("") => None,
            Some(s) => time::Date::parse(s, fmt)
                .map_err(|_| {
                    errs.push(mace_domain::FieldError::new(
                        field,
                        format!("{field} must be a date as YYYY-MM-DD"),
                    ))
                })
                .ok(),
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        if !errs.is_empty() {
            return Err(WebError::Domain(Error::Validation(errs)));
        }
        Ok(cases::ChronologyFilter {
            kind: self.kind.clone(),
            agency: self.agency,
            from,
            to,
        })
    }
}

/// A child's record with the chronology the caller may see (entries marked beyond the caller
/// are left out), optionally narrowed. Refused (403, and recorded) without a relationship.
#[utoipa::path(get, path = "/api/v1/children/{id}", tag = "children", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id"), ChronologyQuery),
    responses(
        (status = 200, description = "The record", body = RecordDto, content_type = "application/json"),
        (status = 307, description = "The record was merged into another: follow Location"),
        (status = 403, description = "The caller may not see this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn record(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    axum::extract::Query(q): axum::extract::Query<ChronologyQuery>,
) -> Result<Response, WebError> {
    let filter = q.filter()?;
    let opened = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { cases::open_record(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    match opened {
        Opened::Allowed {
            person,
            chronology,
            identifiers,
            ..
        } => Ok(json_response(
            StatusCode::OK,
            &RecordDto {
                child: ChildDto::from(&person),
                identifiers: identifiers
                    .iter()
                    .map(crate::identifiers::IdentifierDto::from)
                    .collect(),
                chronology: filter
                    .apply(&chronology, |t| crate::format::uk(t).date())
                    .iter()
                    .flat_map(|i| std::iter::once(i.entry).chain(i.addenda.iter().copied()))
                    .map(ChronologyDto::from)
                    .collect(),
            },
        )),
        Opened::Merged { into } => {
            let mut res = json_response(
                StatusCode::TEMPORARY_REDIRECT,
                &serde_json::json!({ "merged_into": into }),
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!("/api/v1/children/{into}")) {
                res.headers_mut().insert(axum::http::header::LOCATION, v);
            }
            Ok(res)
        }
        Opened::Denied { reason, .. } => Err(WebError::Domain(Error::Forbidden {
            reason: reason.as_str().into(),
        })),
    }
}

/// A concern to raise.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConcernDto {
    pub person_id: Uuid,
    /// Other children the same concern is about (each gets its own concern, in one group).
    #[serde(default)]
    pub also_person_ids: Vec<Uuid>,
    /// Indicator codes: `missing`, `older_associates`, `gifts_money`, `vehicles`, `locations`,
    /// `online`, `substances`, `education`, `injuries`, `sexual_health`, `behaviour`, `weapons`,
    /// `travel_out_of_area`, `debt_control`.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Also send it to the partnership's children's social care front door.
    #[serde(default)]
    pub to_front_door: bool,
    /// What was seen or heard.
    pub narrative: String,
    /// Codes: `sexual`, `criminal`, `county_lines`, `trafficking`, `online`, `other`.
    pub exploitation_types: Vec<String>,
    /// When it happened (RFC 3339), if known.
    #[serde(default)]
    pub observed_at: Option<String>,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub child_words: String,
    #[serde(default)]
    pub others_present: String,
    #[serde(default)]
    pub actions_taken: String,
}

/// A concern and its triage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConcernDto {
    pub id: Uuid,
    pub person_id: Uuid,
    pub raised_by_user: Uuid,
    pub raised_by_organisation: Uuid,
    /// `submitted` or `triaged`.
    pub status: String,
    pub observed_at: Option<String>,
    pub location: String,
    pub narrative: String,
    pub exploitation_types: Vec<String>,
    pub indicators: Vec<String>,
    pub child_words: String,
    pub others_present: String,
    pub actions_taken: String,
    /// Concerns raised together about several children share this id.
    pub group_id: Option<Uuid>,
    /// The front door it was also sent to.
    pub front_door_organisation: Option<Uuid>,
    /// In the answer to raising it: the other children's concerns raised with it.
    pub also_raised: Vec<Uuid>,
    pub created_at: String,
    /// The triage decision code, once triaged.
    pub decision: Option<String>,
    pub rationale: Option<String>,
    pub decided_at: Option<String>,
    /// Victim-blaming phrases found in the free text, with better wording (never blocking).
    pub wording: Vec<WordingDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WordingDto {
    pub field: String,
    pub found: String,
    pub why: String,
    pub instead: String,
}

impl From<&Concern> for ConcernDto {
    fn from(c: &Concern) -> Self {
        Self {
            id: c.id,
            person_id: c.person_id,
            raised_by_user: c.raised_by_user,
            raised_by_organisation: c.raised_by_org,
            status: c.status.as_str().to_string(),
            observed_at: c.observed_at.map(rfc3339),
            location: c.location.clone(),
            narrative: c.narrative.clone(),
            exploitation_types: c
                .exploitation_types
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
            indicators: c
                .indicators
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
            group_id: c.group_id,
            front_door_organisation: c.front_door_org,
            also_raised: Vec::new(),
            child_words: c.child_words.clone(),
            others_present: c.others_present.clone(),
            actions_taken: c.actions_taken.clone(),
            created_at: rfc3339(c.created_at),
            decision: c.decision.map(|d| d.as_str().to_string()),
            rationale: c.rationale.clone(),
            decided_at: c.decided_at.map(rfc3339),
            wording: crate::cases::wording(c)
                .into_iter()
                .map(|w| WordingDto {
                    field: w.field.to_string(),
                    found: w.found,
                    why: w.why.to_string(),
                    instead: w.instead.to_string(),
                })
                .collect(),
        }
    }
}

/// Raise a concern about a child, or several (any professional; needs the `write` scope). The
/// answer is the first child's concern; `also_raised` lists the others'.
#[utoipa::path(post, path = "/api/v1/concerns", tag = "concerns", security(("bearer" = [])),
    request_body(content = NewConcernDto, content_type = "application/json"),
    responses(
        (status = 201, description = "The concern, sent for triage", body = ConcernDto, content_type = "application/json"),
        (status = 403, description = "The token lacks the write scope, or the role may not raise concerns", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "The concern is incomplete", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn raise(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<NewConcernDto>,
) -> Result<Response, WebError> {
    let mut errs = Vec::new();
    let mut types = Vec::new();
    for t in &body.exploitation_types {
        match ExploitationType::parse(t) {
            Some(t) => types.push(t),
            None => errs.push(mace_domain::FieldError::new(
                "exploitation_types",
                format!("Unknown exploitation type {t:?}"),
            )),
        }
    }
    let observed_at = match body.observed_at.as_deref() {
        None | Some("") => None,
        Some(s) => match time::OffsetDateTime::parse(s, &Rfc3339) {
            Ok(t) => Some(t),
            Err(_) => {
                errs.push(mace_domain::FieldError::new(
                    "observed_at",
                    "observed_at must be an RFC 3339 date and time",
                ));
                None
            }
        },
    };
    let mut indicators = Vec::new();
    for t in &body.indicators {
        match cases::ConcernIndicator::parse(t) {
            Some(t) => indicators.push(t),
            None => errs.push(mace_domain::FieldError::new(
                "indicators",
                format!("Unknown indicator {t:?}"),
            )),
        }
    }
    if !errs.is_empty() {
        return Err(WebError::Domain(Error::Validation(errs)));
    }
    let new = NewConcern {
        observed_at,
        location: body.location,
        narrative: body.narrative,
        exploitation_types: types,
        indicators,
        to_front_door: body.to_front_door,
        child_words: body.child_words,
        others_present: body.others_present,
        actions_taken: body.actions_taken,
    };
    let mut children = vec![body.person_id];
    children.extend(body.also_person_ids);
    let raised = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let (new, children) = (new.clone(), children.clone());
        Box::pin(async move { cases::raise_concern(&ctx, tx, &key, &actor, &children, &new).await })
    })
    .await?;
    let Some(first) = raised.first() else {
        return Err(WebError::Internal("no concern was raised".into()));
    };
    let mut dto = ConcernDto::from(first);
    dto.also_raised = raised.iter().skip(1).map(|c| c.id).collect();
    Ok(json_response(StatusCode::CREATED, &dto))
}

/// One concern: for whoever raised it and those who may open the child's record; otherwise
/// 404 (a concern's existence is itself sensitive).
#[utoipa::path(get, path = "/api/v1/concerns/{id}", tag = "concerns", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The concern's id")),
    responses(
        (status = 200, description = "The concern", body = ConcernDto, content_type = "application/json"),
        (status = 404, description = "No such concern, or not one the caller may see", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn concern(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let found = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { cases::open_concern(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    match found {
        Some((concern, _, _)) => Ok(json_response(StatusCode::OK, &ConcernDto::from(&concern))),
        None => Err(WebError::NotFound),
    }
}
