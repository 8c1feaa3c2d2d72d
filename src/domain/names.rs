/// A person's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

/// An organization's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationName(String);

pub const MAX_NAME_LEN: usize = 100;

fn parse_name(raw: &str, label: &str, empty_message: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(empty_message.into());
    }
    super::check_printable(value, label)?;
    if value.contains(['<', '>']) {
        return Err(format!("{label} cannot contain < or >."));
    }
    let length = value.chars().count();
    if length > MAX_NAME_LEN {
        return Err(format!(
            "{label} must be at most {MAX_NAME_LEN} characters (this one has {length})."
        ));
    }
    Ok(value.to_string())
}

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_name(raw, "The name", "Enter a name.").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl OrganizationName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_name(
            raw,
            "The organization name",
            "Enter the organization's name.",
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(PersonName::parse("").is_err());
        assert!(PersonName::parse(&"x".repeat(10_000)).is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert!(PersonName::parse("<script>alert(1)</script>").is_err());
        assert_eq!(
            PersonName::parse("Zoë O'Brien & Co").unwrap().as_str(),
            "Zoë O'Brien & Co"
        );
    }
}
