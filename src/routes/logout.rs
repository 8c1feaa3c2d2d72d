use actix_web::HttpResponse;

use crate::web::{Visitor, see_other};

/// Ends the session on the server (the row is deleted) and in the browser.
pub async fn post(visitor: Visitor) -> HttpResponse {
    visitor.session.purge();
    see_other("/login?signed_out=1")
}
