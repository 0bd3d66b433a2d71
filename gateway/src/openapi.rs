//! The OpenAPI 3.1 document of the gateway, generated from the same types the routes
//! serialize (utoipa), served at `/v1/openapi.json`.

use crate::problem::Problem;
use crate::routes;
use crate::views;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mltools gateway",
        description = "Datasets, comparisons of every candidate model, and predictions, over \
                       HTTP/JSON. Errors are application/problem+json. Every route but \
                       /v1/health and /v1/openapi.json needs `Authorization: Bearer TOKEN` \
                       when the gateway has a token."
    ),
    paths(
        routes::health,
        document,
        routes::list_datasets,
        routes::import_dataset,
        routes::get_dataset,
        routes::delete_dataset,
        routes::dataset_versions,
        routes::update_dataset,
        routes::dataset_rows,
        routes::describe_dataset,
        routes::algorithms,
        routes::compare,
        routes::list_jobs,
        routes::job_status,
        routes::cancel_job,
        routes::job_events,
        routes::job_report,
        routes::job_plot,
        routes::report_page,
        routes::list_models,
        routes::get_model,
        routes::delete_model,
        routes::predict,
    ),
    components(schemas(Problem, views::CompareBody, views::JobView, views::ReportView)),
    modifiers(&BearerToken),
    security(("bearer" = [])),
    tags(
        (name = "datasets", description = "Import (CSV upload, built-in, URL), list, read, describe, delete"),
        (name = "jobs", description = "Comparisons: start, follow (server-sent events), cancel, report"),
        (name = "models", description = "The registry of fitted models, and predictions"),
        (name = "gateway", description = "The gateway itself"),
    )
)]
struct ApiDoc;

/// Declares the bearer token scheme the routes use.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The gateway's OpenAPI document.
pub fn document_value() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /v1/openapi.json`.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "gateway", security(()),
    responses((status = 200, description = "This document", content_type = "application/json")))]
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(document_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_the_problem_type_are_documented() {
        let document = serde_json::to_value(document_value()).unwrap();
        let paths = document["paths"].as_object().unwrap();
        for path in [
            "/v1/datasets",
            "/v1/datasets/{dataset}/rows",
            "/v1/compare",
            "/v1/jobs/{job}/events",
            "/v1/reports/{job}",
            "/v1/models/{model}/predict",
        ] {
            assert!(paths.contains_key(path), "{path} is documented");
        }
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for schema in [
            "Problem",
            "DatasetInfo",
            "JobView",
            "ServiceError",
            "Leaderboard",
        ] {
            assert!(schemas.contains_key(schema), "{schema} has a schema");
        }
    }
}
