/// An email address, trimmed and lower-cased, used to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

pub const MAX_EMAIL_LEN: usize = 254;

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("Enter an email address.".into());
        }
        super::check_printable(value, "The email address")?;
        let length = value.chars().count();
        if length > MAX_EMAIL_LEN {
            return Err(format!(
                "An email address has at most {MAX_EMAIL_LEN} characters (this one has {length})."
            ));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err("Enter an email address like name@example.com.".into());
        };
        let domain_ok = !domain.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains([
                '@', ' ', '<', '>', '(', ')', ',', ';', ':', '\\', '"', '[', ']',
            ]);
        if !domain_ok || !local_ok {
            return Err("Enter an email address like name@example.com.".into());
        }
        Ok(Self(value.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(
            EmailAddress::parse("  Ada.Lovelace@Example.COM ")
                .unwrap()
                .as_str(),
            "ada.lovelace@example.com"
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "<script>@x.com",
            "ada@exa mple.com",
            "ada@example..com",
            "ada\u{FFFD}@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(10_000))).is_err());
    }
}
