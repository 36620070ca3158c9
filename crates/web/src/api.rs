//! The JSON API under `/api/v1` and its OpenAPI 3.1 document (public on purpose: CFG-05).
//!
//! Errors share one shape, [`ErrorBody`]: `{"error": {"code", "message", "request_id"}}`, with a
//! stable `code`. Any path under `/api/` answers errors in JSON, including unknown paths.

use crate::AppState;
use crate::error::{ErrorBody, ErrorCode, ErrorDetail, FieldErrorDto, json_response};
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// The service's status. Carries no personal data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusResponse {
    /// The service name, `mace` unless configured otherwise.
    pub service: String,
    /// mace's version.
    pub version: String,
    /// Always `ok` when the service answers.
    pub status: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mace API",
        description = "The JSON API of mace, the multi-agency child exploitation safeguarding platform. \
                       Every error has the `Error` shape with a stable `code`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    paths(status, openapi_json, crate::tokens::me, crate::cases_api::list,
          crate::cases_api::search, crate::cases_api::record, crate::cases_api::raise,
          crate::cases_api::concern, crate::duplicates::api_review, crate::duplicates::api_merge,
          crate::duplicates::api_unmerge, crate::chronology::api_add, crate::search::api,
          crate::identifiers::api_add, crate::people::api_person, crate::people::api_add_address,
          crate::people::api_set_school, crate::people::api_add_relationship,
          crate::people::api_find_related, crate::people::api_find_child,
          crate::people::api_create_child, crate::plans::api_get, crate::plans::api_create,
          crate::plans::api_add_action, crate::plans::api_update_action, crate::plans::api_add_meeting,
          crate::plans::api_add_review, crate::plans::api_close, crate::plans::api_work, crate::assessments::api_framework,
          crate::assessments::api_add_indicator, crate::assessments::api_change_settings,
          crate::assessments::api_retire_indicator, crate::assessments::api_submit,
          crate::assessments::api_trajectory, crate::assessments::api_view,
          crate::assessments::api_sign_off, crate::assessments::api_work, crate::teams::api_work),
    components(schemas(StatusResponse, ErrorBody, ErrorDetail, ErrorCode, FieldErrorDto,
                       crate::tokens::MeResponse, crate::tokens::TokenInfo,
                       crate::cases_api::ChildDto, crate::cases_api::ChildrenDto,
                       crate::cases_api::ChildSearch, crate::cases_api::ChronologyDto,
                       crate::cases_api::RecordDto, crate::cases_api::NewConcernDto,
                       crate::cases_api::ConcernDto, crate::cases_api::WordingDto,
                       crate::duplicates::DuplicateDto, crate::duplicates::ReasonDto,
                       crate::duplicates::DuplicatesDto, crate::duplicates::NewMergeDto,
                       crate::duplicates::UnmergeDto, crate::duplicates::MergeDto,
                       crate::chronology::NewAddendumDto, crate::search::SearchRequest,
                       crate::search::HitDto, crate::search::SearchResponse,
                       crate::identifiers::NewIdentifierDto, crate::identifiers::IdentifierDto,
                       crate::people::AddressDto, crate::people::SchoolDto, crate::people::LinkDto,
                       crate::people::PersonDto, crate::people::NewRelatedPersonDto,
                       crate::people::NewRelationshipDto, crate::people::RelatedSearchDto,
                       crate::people::MatchDto, crate::people::ChildFindDto,
                       crate::people::NewChildDto, crate::plans::PlanDto, crate::plans::PlanActionDto,
                       crate::plans::PlanMeetingDto, crate::plans::PlanReviewDto,
                       crate::plans::ChildPlansDto, crate::plans::NewPlanDto,
                       crate::plans::NewPlanActionDto, crate::plans::PlanActionUpdateDto,
                       crate::plans::NewPlanMeetingDto, crate::plans::NewPlanReviewDto,
                       crate::plans::ClosePlanDto, crate::plans::WorkActionDto,
                       crate::plans::ReviewDueDto, crate::plans::WorkActionsDto, crate::assessments::AnswerDto,
                       crate::assessments::NewAssessmentDto, crate::assessments::AssessmentDto,
                       crate::assessments::IndicatorDto, crate::assessments::FrameworkDto,
                       crate::assessments::NewIndicatorDto, crate::assessments::SettingsDto, crate::assessments::TrajectoryDto,
                       crate::assessments::WorkLineDto, crate::assessments::WorkDto,
                       crate::teams::TeamWorkDto, crate::teams::TeamMemberDto,
                       crate::teams::TeamCaseDto, crate::teams::TeamActionDto)),
    modifiers(&BearerAuth),
    tags((name = "meta", description = "About the service itself"),
         (name = "identity", description = "Who is calling"),
         (name = "children", description = "Children's records the caller may see"),
         (name = "concerns", description = "Raising and reading concerns"),
         (name = "plans", description = "Risk management plans, their actions and the work list"),
         (name = "assessments", description = "Risk assessments, the framework and work lists"))
)]
struct ApiDoc;

/// Declares the `bearer` security scheme: `Authorization: Bearer mace_…`, an API token
/// created at `/account/tokens` or with `mace token create`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (mace_…) from /account/tokens or `mace token create`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document for `/api/v1`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::referrals::Doc::openapi());
    doc.merge(crate::programmes::Doc::openapi());
    doc.merge(crate::nrm::Doc::openapi());
    doc.merge(crate::missing::Doc::openapi());
    doc.merge(crate::intelligence::Doc::openapi());
    doc.merge(crate::networks::Doc::openapi());
    doc.merge(crate::hotspots::Doc::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    with_standard_errors(doc)
}

/// The error answers every operation can give besides its own, documented on each operation
/// that lacks them (so clients and schemathesis know every status mace may answer):
/// - secured operations: 401 (no or bad token), 403 (refused, or a read-only token changing);
/// - with path or query parameters: 400 (a malformed id), 404 (path) and 422 (query values);
/// - with a body: 400 (malformed JSON), 404 (a record it names is missing), 413 (too large),
///   415 (not JSON), 422 (invalid values, unknown fields, control characters);
/// - every operation: 500 and 503 (a timeout).
fn with_standard_errors(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut v) = serde_json::to_value(&doc) else {
        return doc;
    };
    let error = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    };
    if let Some(paths) = v
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let params: Vec<String> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| p["in"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let secured = op.get("security").is_some();
                let has_body = op.get("requestBody").is_some();
                let mut add: Vec<(&str, &str)> = Vec::new();
                if secured {
                    add.push(("401", "No valid API token"));
                    add.push((
                        "403",
                        "Refused: the policy does not allow it, or the token lacks the write scope",
                    ));
                }
                if params.iter().any(|p| p == "path") {
                    add.push((
                        "400",
                        "A malformed path parameter (an id that is not a UUID)",
                    ));
                    add.push(("404", "No such record, or not one the caller may see"));
                }
                if params.iter().any(|p| p == "query") {
                    add.push(("400", "A malformed query parameter"));
                    add.push(("422", "A query parameter with an invalid value"));
                }
                if has_body {
                    add.push(("400", "The body is not well-formed JSON"));
                    add.push((
                        "404",
                        "A record the body names does not exist, or is not one the caller may see",
                    ));
                    add.push(("413", "The body is too large"));
                    add.push(("415", "The body is not `application/json`"));
                    add.push((
                        "422",
                        "The body is of the wrong shape or has invalid values (the fields are listed)",
                    ));
                }
                add.push(("500", "Something went wrong inside mace"));
                add.push(("503", "mace is unavailable or the request took too long"));
                let Some(responses) = op
                    .get_mut("responses")
                    .and_then(serde_json::Value::as_object_mut)
                else {
                    continue;
                };
                for (status, description) in add {
                    if !responses.contains_key(status) {
                        responses.insert(status.to_string(), error(description));
                    }
                }
            }
        }
    }
    serde_json::from_value(v).unwrap_or(doc)
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/status", get(status))
        .route("/openapi.json", get(openapi_json))
        .route("/me", get(crate::tokens::me))
        .route(
            "/children",
            get(crate::cases_api::list).post(crate::people::api_create_child),
        )
        .route(
            "/children/search",
            axum::routing::post(crate::cases_api::search),
        )
        .route("/children/{id}", get(crate::cases_api::record))
        .route(
            "/children/{id}/identifiers",
            axum::routing::post(crate::identifiers::api_add),
        )
        .route(
            "/children/{id}/plan",
            get(crate::plans::api_get).post(crate::plans::api_create),
        )
        .route(
            "/children/{id}/plan/actions",
            axum::routing::post(crate::plans::api_add_action),
        )
        .route(
            "/children/{id}/plan/meetings",
            axum::routing::post(crate::plans::api_add_meeting),
        )
        .route(
            "/children/{id}/plan/reviews",
            axum::routing::post(crate::plans::api_add_review),
        )
        .route(
            "/children/{id}/plan/close",
            axum::routing::post(crate::plans::api_close),
        )
        .route(
            "/plan-actions/{id}",
            axum::routing::patch(crate::plans::api_update_action),
        )
        .route("/work/actions", get(crate::plans::api_work))
        .route("/people/{id}", get(crate::people::api_person))
        .route(
            "/children/find",
            axum::routing::post(crate::people::api_find_child),
        )
        .route("/framework", get(crate::assessments::api_framework))
        .route(
            "/framework/indicators",
            axum::routing::post(crate::assessments::api_add_indicator),
        )
        .route(
            "/framework/indicators/{code}",
            axum::routing::delete(crate::assessments::api_retire_indicator),
        )
        .route(
            "/framework/settings",
            axum::routing::put(crate::assessments::api_change_settings),
        )
        .route(
            "/children/{id}/assessments",
            get(crate::assessments::api_trajectory).post(crate::assessments::api_submit),
        )
        .route("/assessments/{id}", get(crate::assessments::api_view))
        .route(
            "/assessments/{id}/sign-off",
            axum::routing::post(crate::assessments::api_sign_off),
        )
        .route("/work", get(crate::assessments::api_work))
        .route("/work/team", get(crate::teams::api_work))
        .route(
            "/people/{id}/identifiers",
            axum::routing::post(crate::identifiers::api_add),
        )
        .route(
            "/people/{id}/addresses",
            axum::routing::post(crate::people::api_add_address),
        )
        .route(
            "/children/{id}/schools",
            axum::routing::post(crate::people::api_set_school),
        )
        .route(
            "/children/{id}/relationships",
            axum::routing::post(crate::people::api_add_relationship),
        )
        .route(
            "/children/{id}/related/search",
            axum::routing::post(crate::people::api_find_related),
        )
        .route(
            "/children/{id}/chronology/{entry_id}/addenda",
            axum::routing::post(crate::chronology::api_add),
        )
        .route("/concerns", axum::routing::post(crate::cases_api::raise))
        .route("/search", axum::routing::post(crate::search::api))
        .route("/concerns/{id}", get(crate::cases_api::concern))
        .route("/duplicates", get(crate::duplicates::api_review))
        .route("/merges", axum::routing::post(crate::duplicates::api_merge))
        .route(
            "/merges/{id}/undo",
            axum::routing::post(crate::duplicates::api_unmerge),
        )
        .merge(crate::referrals::api_routes())
        .merge(crate::programmes::api_routes())
        .merge(crate::nrm::api_routes())
        .merge(crate::missing::api_routes())
        .merge(crate::intelligence::api_routes())
        .merge(crate::networks::api_routes())
        .merge(crate::hotspots::api_routes())
}

/// The service's name, version and status.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "meta",
    responses(
        (status = 200, description = "The service is up", body = StatusResponse,
         content_type = "application/json"),
        (status = 500, description = "Something went wrong inside mace", body = ErrorBody,
         content_type = "application/json"),
    )
)]
async fn status(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        &StatusResponse {
            service: state.settings.service_name.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            status: "ok".to_string(),
        },
    )
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document for this API", content_type = "application/json"),
    )
)]
async fn openapi_json() -> Response {
    json_response(StatusCode::OK, &openapi())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use utoipa::OpenApi;

    /// Merging the modules' documents keeps one schema per name, silently: two modules that
    /// name different shapes alike would leave one of them described wrongly.
    #[test]
    fn no_two_modules_name_a_schema_alike() {
        let docs = [
            ("api", super::ApiDoc::openapi()),
            ("referrals", crate::referrals::Doc::openapi()),
            ("programmes", crate::programmes::Doc::openapi()),
            ("nrm", crate::nrm::Doc::openapi()),
            ("missing", crate::missing::Doc::openapi()),
        ];
        let mut seen = std::collections::BTreeMap::new();
        for (module, doc) in &docs {
            for (name, schema) in doc.components.iter().flat_map(|c| c.schemas.iter()) {
                let shape = serde_json::to_string(schema).unwrap();
                if let Some((other, before)) = seen.insert(name.clone(), (*module, shape.clone())) {
                    assert_eq!(
                        before, shape,
                        "{other} and {module} describe {name} differently"
                    );
                }
            }
        }
    }
}
