//! Form bodies, decoded without ever failing: bytes that are not UTF-8 become U+FFFD, which
//! the domain types refuse with a message beside the field. The CSRF guard parses the body once
//! and leaves the `RawForm` in the request for the handler.

use std::collections::BTreeMap;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use percent_encoding::percent_decode;

use crate::errors::AppError;

#[derive(Debug, Clone, Default)]
pub struct RawForm {
    fields: Vec<(String, String)>,
}

impl RawForm {
    pub fn parse(body: &[u8]) -> Self {
        let mut fields = Vec::new();
        for pair in body.split(|b| *b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            fields.push((decode(key), decode(value)));
        }
        Self { fields }
    }

    /// The first value sent for `name`, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value sent for `name` (multi-selects, checkbox lists).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A ticked checkbox.
    pub fn checked(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, v)| k == name && !v.is_empty())
    }
}

fn decode(raw: &[u8]) -> String {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl FromRequest for RawForm {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Present on every POST that passed the CSRF guard.
        std::future::ready(
            req.extensions_mut()
                .remove::<RawForm>()
                .ok_or_else(|| AppError::BadRequest("This request carries no form.".into())),
        )
    }
}

/// Messages shown beside fields, keyed by field name.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// Keeps the value of `result`, or records its message for `field`.
    pub fn take<T>(&mut self, field: &'static str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms_and_survives_bad_bytes() {
        let form = RawForm::parse(
            b"name=Ada+Lovelace&email=ada%40example.com&bad=%FF%FEx&flag=on&flag=2&empty=",
        );
        assert_eq!(form.get("name"), "Ada Lovelace");
        assert_eq!(form.get("email"), "ada@example.com");
        assert_eq!(form.get("bad"), "\u{FFFD}\u{FFFD}x");
        assert_eq!(form.all("flag"), vec!["on", "2"]);
        assert!(form.checked("flag"));
        assert!(!form.checked("empty"));
        assert_eq!(form.get("missing"), "");
    }
}
