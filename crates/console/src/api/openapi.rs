//! `GET /api/v1/openapi.json`: the hand-written OpenAPI 3 document of the REST API
//! (`assets/openapi.json`), embedded in the binary. A test checks that every route in
//! [`super::API_ROUTES`] is described and that the document names no route the router lacks.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("../assets/openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::API_ROUTES;

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        let paths = doc["paths"].as_object().expect("paths");
        for (method, path) in API_ROUTES {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is missing from openapi.json"
            );
        }
        for (path, item) in paths {
            for method in item.as_object().expect("path item").keys() {
                if method == "parameters" {
                    continue;
                }
                assert!(
                    API_ROUTES.contains(&(method.as_str(), path.as_str())),
                    "openapi.json documents {method} {path}, which the router does not serve"
                );
            }
        }
    }
}
