use secrecy::{ExposeSecret, SecretString};

/// A new sign-in password that meets the length rules. Kept secret: never printed or logged.
pub struct NewPassword(SecretString);

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("Enter a password.".into());
        }
        if raw.contains('\u{FFFD}') {
            return Err(
                "The password contains characters that could not be read (not valid UTF-8).".into(),
            );
        }
        let length = raw.chars().count();
        if length < MIN_PASSWORD_CHARS {
            return Err(format!(
                "Use at least {MIN_PASSWORD_CHARS} characters (this one has {length})."
            ));
        }
        if length > MAX_PASSWORD_CHARS {
            return Err(format!(
                "Use at most {MAX_PASSWORD_CHARS} characters (this one has {length})."
            ));
        }
        if raw.trim().is_empty() {
            return Err("A password of spaces only is not allowed.".into());
        }
        Ok(Self(SecretString::from(raw.to_string())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("correct horse battery").is_ok());
        assert!(NewPassword::parse(&"p".repeat(128)).is_ok());
        assert!(NewPassword::parse(&"p".repeat(10_000)).is_err());
        assert!(NewPassword::parse("            ").is_err());
        assert!(
            !format!("{:?}", NewPassword::parse("correct horse battery").unwrap())
                .contains("horse")
        );
    }
}
