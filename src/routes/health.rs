use actix_web::HttpResponse;
use serde_json::json;

use crate::state::SharedState;

/// 200 once the database answers, 503 otherwise. Load balancers poll it.
pub async fn get(state: SharedState) -> HttpResponse {
    if state.db.ping().await {
        HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({"status": "unavailable", "database": "unreachable"}))
    }
}
