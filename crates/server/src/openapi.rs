//! The OpenAPI 3.1 document, generated from [`crate::ROUTES`] (every route, its method,
//! summary and whether it needs a session) and from the request types' schemas (derived
//! with utoipa from the Rust types the handlers read).

use serde_json::{json, Map, Value};
use utoipa::PartialSchema;

use crate::routes::{
    AssignRequest, LoginRequest, OrganisationRequest, ReceiptReopenRequest, ReceiptResolveRequest, ReconcileRequest,
    ReopenRequest, ResolveRequest, StoreRequest, TokenRequest, UserChange, UserRequest,
};
use crate::{Access, ROUTES};

fn request_schema(method: &str, path: &str) -> Option<(&'static str, Value)> {
    let schema =
        |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| serde_json::to_value(s).unwrap_or(Value::Null);
    Some(match (method, path) {
        ("POST", "/api/login") => ("application/json", schema(LoginRequest::schema())),
        ("POST", "/api/tokens") => ("application/json", schema(TokenRequest::schema())),
        ("POST", "/api/users") => ("application/json", schema(UserRequest::schema())),
        ("PATCH", "/api/users/{id}") => ("application/json", schema(UserChange::schema())),
        ("POST", "/api/organisations") => ("application/json", schema(OrganisationRequest::schema())),
        ("POST", "/api/stores") => ("application/json", schema(StoreRequest::schema())),
        ("POST", "/api/reconcile") => ("application/json", schema(ReconcileRequest::schema())),
        ("POST", "/api/differences/resolve") => ("application/json", schema(ResolveRequest::schema())),
        ("POST", "/api/differences/reopen") => ("application/json", schema(ReopenRequest::schema())),
        ("POST", "/api/differences/assign") => ("application/json", schema(AssignRequest::schema())),
        ("POST", "/api/receipts/resolve") => ("application/json", schema(ReceiptResolveRequest::schema())),
        ("POST", "/api/receipts/reopen") => ("application/json", schema(ReceiptReopenRequest::schema())),
        ("POST", "/api/uploads") => (
            "multipart/form-data",
            json!({
                "type": "object",
                "properties": {
                    "store": { "type": "string", "description": "the store the files' records belong to" },
                    "file": { "type": "array", "items": { "type": "string", "format": "binary" } }
                },
                "required": ["file"]
            }),
        ),
        _ => return None,
    })
}

fn query_parameters(path: &str) -> Vec<Value> {
    let parameter = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" }, "description": description });
    match path {
        "/api/orders" | "/api/differences" | "/api/settlements" | "/api/receipts" => vec![
            parameter("cursor", "opaque: the next_cursor of the previous page"),
            parameter("limit", "rows per page, 1–1000 (default 100)"),
            parameter("store", "one store"),
            parameter("marketplace", "one marketplace"),
            parameter("category", "one category (orders, differences)"),
            parameter("from", "first day of the period, 2026-10-01"),
            parameter("to", "last day of the period, 2026-10-31"),
        ],
        "/api/reports/{name}" => vec![
            parameter("format", "json (default), csv or xlsx"),
            parameter("month", "a calendar month, 2026-10"),
            parameter("store", "one store"),
            parameter("marketplace", "one marketplace"),
            parameter("category", "one category"),
            parameter("as_of", "the aging report's day"),
        ],
        _ => Vec::new(),
    }
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(route.summary));
        operation.insert(
            "operationId".into(),
            json!(format!(
                "{}_{}",
                route.method.to_lowercase(),
                route.path.trim_start_matches("/api/").replace(['/', '{', '}', '.'], "_")
            )),
        );
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        parameters.extend(query_parameters(route.path));
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some((content_type, schema)) = request_schema(route.method, route.path) {
            operation.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { content_type: { "schema": schema } } }),
            );
        }
        let problem = json!({ "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } });
        let mut responses = Map::new();
        responses.insert("200".into(), json!({ "description": "OK" }));
        responses.insert(
            "400".into(),
            json!({ "description": "Bad request" })
                .as_object()
                .cloned()
                .map(|mut o| {
                    o.extend(problem.as_object().cloned().unwrap_or_default());
                    Value::Object(o)
                })
                .unwrap_or_default(),
        );
        if let Access::Signed(action) = route.access {
            operation.insert("security".into(), json!([{ "session": [] }, { "token": [] }]));
            operation.insert("x-tieout-least-role".into(), json!(tieout_service::team::Role::least_for(action).name()));
            responses
                .insert("401".into(), json!({ "description": "Not signed in", "content": problem["content"].clone() }));
            responses.insert(
                "403".into(),
                json!({ "description": "Role does not allow it", "content": problem["content"].clone() }),
            );
        }
        operation.insert("responses".into(), Value::Object(responses));
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if let Some(object) = entry.as_object_mut() {
            object.insert(route.method.to_lowercase(), Value::Object(operation));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tieout",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "E-commerce settlement reconciliation (电商回款对账). Amounts are decimal strings beside their currency; errors are RFC 9457 problem details."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
                "token": { "type": "http", "scheme": "bearer" }
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                        "detail": { "type": "string" }
                    },
                    "required": ["type", "title", "status", "detail"]
                }
            }
        }
    })
}
