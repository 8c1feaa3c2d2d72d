//! What the base template needs on every page.

use actix_session::Session;

use super::Flash;
use crate::domain::Role;
use crate::models::User;
use crate::security::csrf;

pub struct NavUser {
    pub name: String,
    pub role: Role,
}

pub struct Layout {
    pub user: Option<NavUser>,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    /// Which navigation entry is highlighted.
    pub section: &'static str,
    pub unread: i64,
}

impl Layout {
    pub fn signed_in(session: &Session, user: &User, section: &'static str, unread: i64) -> Self {
        Self {
            user: Some(NavUser {
                name: user.name.clone(),
                role: user.role,
            }),
            csrf_token: csrf::token(session),
            flashes: Flash::take_all(session),
            section,
            unread,
        }
    }

    pub fn anonymous(session: &Session) -> Self {
        Self {
            user: None,
            csrf_token: csrf::token(session),
            flashes: Flash::take_all(session),
            section: "",
            unread: 0,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.is_admin())
    }

    pub fn is_owner(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Owner)
    }

    pub fn is(&self, section: &str) -> bool {
        self.section == section
    }
}
