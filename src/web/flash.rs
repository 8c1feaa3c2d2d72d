//! One-time messages shown on the next page, kept in the session.

use actix_session::Session;
use serde::{Deserialize, Serialize};

const FLASH_KEY: &str = "flash";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
    Warning,
}

impl FlashKind {
    pub fn css(&self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Warning => "warning",
        }
    }
}

impl Flash {
    pub fn success(message: impl Into<String>) -> Self {
        Self {
            kind: FlashKind::Success,
            message: message.into(),
        }
    }

    pub fn info(message: impl Into<String>) -> Self {
        Self {
            kind: FlashKind::Info,
            message: message.into(),
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            kind: FlashKind::Warning,
            message: message.into(),
        }
    }

    pub fn push(session: &Session, flash: Flash) {
        let mut all: Vec<Flash> = session.get(FLASH_KEY).ok().flatten().unwrap_or_default();
        all.push(flash);
        if let Err(error) = session.insert(FLASH_KEY, all) {
            tracing::warn!(%error, "could not keep a flash message");
        }
    }

    pub fn take_all(session: &Session) -> Vec<Flash> {
        if !session.contains_key(FLASH_KEY) {
            return Vec::new();
        }
        let all = session.get(FLASH_KEY).ok().flatten().unwrap_or_default();
        session.remove(FLASH_KEY);
        all
    }
}
