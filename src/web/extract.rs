//! Request extractors: who is asking, and from where.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use super::Layout;
use super::session_store::{LoadedViewer, USER_ID_KEY, VIEWER_KEY};
use crate::domain::{Role, UserId};
use crate::errors::AppError;
use crate::models::session::SignedIn;
use crate::models::{Notification, Organization, User};
use crate::state::AppState;

/// The client's address: the peer, or the first `X-Forwarded-For` hop when configured to trust
/// a proxy in front.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl ClientAddr {
    pub fn of(req: &HttpRequest) -> Self {
        let trust = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.trust_forwarded_for)
            .unwrap_or(false);
        let addr = if trust {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_string)
        } else {
            req.peer_addr().map(|a| a.ip().to_string())
        };
        Self(addr.unwrap_or_else(|| "unknown".into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

/// Anyone, signed in or not (sign-in and setup pages).
pub struct Visitor {
    pub session: Session,
    pub client: ClientAddr,
}

impl Visitor {
    pub fn layout(&self) -> Layout {
        Layout::anonymous(&self.session)
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.session
            .get::<i64>(USER_ID_KEY)
            .ok()
            .flatten()
            .map(UserId)
    }
}

impl FromRequest for Visitor {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self {
            session: req.get_session(),
            client: ClientAddr::of(req),
        }))
    }
}

/// A signed-in person whose account is enabled. Anyone else is sent to the sign-in page.
pub struct Viewer {
    pub user: User,
    /// The person's organization, read with the session like the person.
    pub organization: Organization,
    pub session: Session,
    pub client: ClientAddr,
    /// Unread notifications, for the badge in the navigation.
    pub unread: i64,
}

impl Viewer {
    fn new(signed_in: SignedIn, session: Session, client: ClientAddr) -> Self {
        Self {
            user: signed_in.user,
            organization: signed_in.organization,
            session,
            client,
            unread: signed_in.unread,
        }
    }

    /// Owners may end someone else's check-out where the organization allows it.
    pub fn can_force_checkin(&self) -> bool {
        self.user.role == Role::Owner && self.organization.allow_force_checkin
    }

    pub fn layout(&self, section: &'static str) -> Layout {
        Layout::signed_in(&self.session, &self.user, section, self.unread)
    }
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let client = ClientAddr::of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let next = (req.method() == Method::GET).then(|| {
            req.uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into())
        });
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let user_id = session.get::<i64>(USER_ID_KEY).ok().flatten();
            let Some(user_id) = user_id else {
                return Err(AppError::SignInRequired { next });
            };
            // Read with the session, in the same trip to the database (see the session store).
            if let Ok(Some(loaded)) = session.get::<LoadedViewer>(VIEWER_KEY)
                && loaded.user_id() == user_id
            {
                return Ok(Viewer::new(loaded.into_signed_in(), session, client));
            }
            // A session this request started (nothing was loaded): read the person now.
            let found = state
                .db
                .read(move |conn| {
                    let Some(user) = User::find(conn, UserId(user_id))? else {
                        return Ok::<_, AppError>(None);
                    };
                    if user.disabled {
                        return Ok(None);
                    }
                    let organization = Organization::find(conn, user.organization_id)?;
                    let unread = Notification::unread_count(conn, user.id)?;
                    Ok(Some(SignedIn {
                        user,
                        organization,
                        unread,
                    }))
                })
                .await?;
            match found {
                Some(signed_in) => Ok(Viewer::new(signed_in, session, client)),
                _ => {
                    // Disabled or deleted meanwhile: this session is over.
                    session.purge();
                    Err(AppError::SignInRequired { next: None })
                }
            }
        })
    }
}

/// A signed-in owner or admin; members get 403.
pub struct AdminViewer(pub Viewer);

impl std::ops::Deref for AdminViewer {
    type Target = Viewer;
    fn deref(&self) -> &Viewer {
        &self.0
    }
}

impl FromRequest for AdminViewer {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let viewer = Viewer::from_request(req, payload);
        Box::pin(async move {
            let viewer = viewer.await?;
            if viewer.user.role.is_admin() {
                Ok(AdminViewer(viewer))
            } else {
                Err(AppError::forbidden(
                    "Only owners and admins of the organization can open this page.",
                ))
            }
        })
    }
}
