//! Cross-cutting protections: password hashing, CSRF, headers, sign-in throttling, tokens.

pub mod csrf;
pub mod headers;
pub mod password;
pub mod throttle;
pub mod tokens;
