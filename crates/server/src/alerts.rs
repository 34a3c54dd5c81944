//! Alerts over HTTP: the tenant's alert configuration (admins: read with every secret
//! masked, replace it — checked first, errors naming line and column) and the delivery
//! log (approvers and admins). Delivering is the job workers' part
//! ([`crate::spawn_workers`]).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tieout_service::alerts::{self, AlertConfig, ALERTS_SETTING, SECRET_MASK};
use tieout_service::team::Action;
use tieout_service::views::amount;

use crate::auth::Auth;
use crate::problem::{ApiResult, Problem};
use crate::routes::blocking;
use crate::AppState;

/// Rows of the delivery log one request lists at most.
pub const DELIVERIES_LIST_MAX: i64 = 1000;

/// What GET shows a tenant without a configuration: the format, commented out.
const TEMPLATE: &str = "\
# Alerts: where they go and what raises them. Uncomment and fill in.
#
# [[webhook]]                                  # any number; http:// only (tieout has no TLS
# url = \"http://127.0.0.1:8080/hooks/tieout\"   # stack yet: use a local relay for HTTPS)
# secret = \"at least 16 characters\"            # signs each request: X-Tieout-Signature
#
# [email]                                      # a relay: plain SMTP, no TLS, no AUTH
# smtp = \"127.0.0.1:25\"
# from = \"tieout@example.com\"
# to = [\"finance@example.com\"]
#
# [thresholds]
# difference_above = { USD = \"100.00\", EUR = \"80.00\" }
# aging_days = 30
# aging_orders_max = 0
# aging_amount_above = { USD = \"5000.00\" }
";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/alerts/config", get(config).put(replace_config))
        .route("/api/alerts/deliveries", get(deliveries))
}

/// The configuration as the API shows it: the text with secrets masked, and what it says.
fn config_json(text: Option<&str>, config: &AlertConfig) -> Value {
    let amounts = |by_currency: &std::collections::BTreeMap<tieout_core::Currency, i64>| -> Value {
        by_currency
            .iter()
            .map(|(currency, minor)| (currency.code().to_owned(), json!(amount(*minor, *currency))))
            .collect()
    };
    let thresholds = &config.thresholds;
    json!({
        "configured": text.is_some(),
        "text": text.map_or_else(|| TEMPLATE.to_owned(), alerts::masked_text),
        "webhooks": config.webhooks.iter().map(|w| json!({ "url": w.url, "secret": SECRET_MASK })).collect::<Vec<_>>(),
        "email": config.email.as_ref().map(|e| json!({ "smtp": e.smtp, "from": e.from, "to": e.to })),
        "thresholds": {
            "difference_above": amounts(&thresholds.difference_above_minor),
            "aging_days": thresholds.aging_days,
            "aging_orders_max": thresholds.aging_orders_max,
            "aging_amount_above": amounts(&thresholds.aging_amount_above_minor),
        },
    })
}

async fn config(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Administer)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let text = blocking(move || Ok(backend.control()?.tenant_setting(tenant, ALERTS_SETTING)?)).await?;
    let parsed = match &text {
        Some(text) => alerts::parse_config(alerts::ALERTS_FILE_NAME, text).map_err(Problem::internal)?,
        None => AlertConfig::default(),
    };
    Ok(Json(config_json(text.as_deref(), &parsed)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AlertConfigRequest {
    /// The configuration as TOML; a secret written `"********"` (as GET shows it) keeps
    /// the stored secret of the webhook with the same URL.
    pub text: String,
}

async fn replace_config(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Administer)?;
    let request: AlertConfigRequest = crate::routes::json_body(&headers, &body)?;
    let backend = state.backend.clone();
    let (tenant, user, now) = (auth.0.tenant.id, auth.0.user.id, (state.clock)());
    let principal = auth.0;
    let (text, config) = blocking(move || {
        let mut control = backend.control()?;
        let stored = control.tenant_setting(tenant, ALERTS_SETTING)?;
        // Refused with the line and column of the first error; nothing stored.
        let (text, config) = alerts::replace_config(stored.as_deref(), &request.text)
            .map_err(|error| Problem::bad_request(error.to_string()))?;
        control.set_tenant_setting(tenant, ALERTS_SETTING, &text, user, now)?;
        drop(control);
        // Recorded with the secrets masked: the log never holds one.
        let before = stored.map(|t| json!({ "text": alerts::masked_text(&t) }));
        let after = Some(json!({ "text": alerts::masked_text(&text) }));
        let action = tieout_service::audit::actions::ALERTS_CONFIG_REPLACE;
        crate::audit::record(&backend, &principal, action, "setting", ALERTS_SETTING, before, after, now)?;
        Ok((text, config))
    })
    .await?;
    Ok(Json(config_json(Some(&text), &config)))
}

#[derive(Deserialize, Default)]
pub struct DeliveriesQuery {
    pub limit: Option<i64>,
}

async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Query(query): Query<DeliveriesQuery>,
) -> ApiResult<Json<Value>> {
    auth.require(Action::SignOff)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=DELIVERIES_LIST_MAX).contains(&limit) {
        return Err(Problem::bad_request(format!("limit is between 1 and {DELIVERIES_LIST_MAX}")));
    }
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let rows = blocking(move || Ok(backend.control()?.deliveries(tenant, limit)?)).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "kind": d.kind,
                "channel": d.channel,
                "target": d.target,
                "state": d.state,
                "attempts": d.attempts,
                "next_attempt_at": (d.state == "pending").then_some(d.next_attempt_at),
                "last_error": d.last_error,
                "created_at": d.created_at,
                "delivered_at": d.delivered_at,
                "alert": serde_json::from_str::<Value>(&d.payload).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
