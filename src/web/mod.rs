//! What every page handler shares: the request's form, its viewer, the page layout.

pub mod extract;
pub mod flash;
pub mod form;
pub mod layout;
pub mod session_store;

pub use extract::{AdminViewer, ClientAddr, Viewer, Visitor};
pub use flash::Flash;
pub use form::{FieldErrors, RawForm};
pub use layout::Layout;

use actix_web::HttpResponse;
use actix_web::http::header;

/// The answer to a successful POST: go and GET the next page.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Only paths on this site are followed after sign-in, never another host.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n'])
        && !next.starts_with("/login")
        && !next.starts_with("/logout");
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next("/users?page=2"), Some("/users?page=2"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("/logout"), None);
    }
}
