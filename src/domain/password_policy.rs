//! A target's password policy, and the generator that honours it.

use rand::TryRngCore;
use rand::rngs::OsRng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
pub const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const DIGITS: &str = "0123456789";
/// Printable ASCII punctuation, without quotes, backslash and space, which too many systems
/// and shells treat specially.
pub const SYMBOLS: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";

pub const MIN_LENGTH: u32 = 8;
pub const MAX_LENGTH: u32 = 128;
pub const MAX_EXCLUDED: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassRule {
    pub enabled: bool,
    /// At least this many characters of the class (only when enabled).
    pub min: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub length: u32,
    pub lower: ClassRule,
    pub upper: ClassRule,
    pub digits: ClassRule,
    pub symbols: ClassRule,
    /// Characters never used, e.g. look-alikes such as `0O1lI`.
    pub excluded: String,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        let on = |min| ClassRule { enabled: true, min };
        Self {
            length: 24,
            lower: on(1),
            upper: on(1),
            digits: on(1),
            symbols: on(1),
            excluded: String::new(),
        }
    }
}

/// Why a policy cannot be met, keyed by the form field to show it beside.
pub type PolicyProblems = Vec<(&'static str, String)>;

impl PasswordPolicy {
    fn classes(&self) -> [(&'static str, &'static str, &ClassRule); 4] {
        [
            ("lower", LOWER, &self.lower),
            ("upper", UPPER, &self.upper),
            ("digits", DIGITS, &self.digits),
            ("symbols", SYMBOLS, &self.symbols),
        ]
    }

    fn allowed(&self, class: &str) -> Vec<char> {
        class
            .chars()
            .filter(|c| !self.excluded.contains(*c))
            .collect()
    }

    /// Checks that passwords can be generated under this policy; explains every problem.
    pub fn validate(&self) -> Result<(), PolicyProblems> {
        let mut problems: PolicyProblems = Vec::new();
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&self.length) {
            problems.push((
                "policy_length",
                format!("The length must be from {MIN_LENGTH} to {MAX_LENGTH} characters."),
            ));
        }
        if self.excluded.chars().count() > MAX_EXCLUDED {
            problems.push((
                "policy_excluded",
                format!("List at most {MAX_EXCLUDED} excluded characters."),
            ));
        }
        if self.excluded.chars().any(|c| !c.is_ascii_graphic()) {
            problems.push((
                "policy_excluded",
                "Excluded characters must be printable ASCII characters (letters, digits, symbols), without spaces.".into(),
            ));
        }
        let enabled: Vec<_> = self
            .classes()
            .into_iter()
            .filter(|(_, _, r)| r.enabled)
            .collect();
        if enabled.is_empty() {
            problems.push((
                "policy_classes",
                "Turn on at least one kind of character (lower case, upper case, digits or symbols).".into(),
            ));
        }
        let mut total_min = 0u32;
        for (field, class, rule) in &enabled {
            if rule.min > MAX_LENGTH {
                problems.push((
                    field_min(field),
                    format!("A minimum is at most {MAX_LENGTH}."),
                ));
            }
            total_min = total_min.saturating_add(rule.min);
            if self.allowed(class).is_empty() {
                problems.push((
                    "policy_excluded",
                    format!(
                        "Every {} character is excluded, yet {} are turned on.",
                        class_name(field),
                        class_name(field)
                    ),
                ));
            }
        }
        if total_min > self.length && (MIN_LENGTH..=MAX_LENGTH).contains(&self.length) {
            problems.push((
                "policy_length",
                format!(
                    "The minimums add up to {total_min} characters, more than the length of {}. Raise the length or lower the minimums.",
                    self.length
                ),
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// A fresh password from the operating system's random source. Every pick is uniform
    /// (no modulo bias): `choose` and `shuffle` sample by rejection.
    pub fn generate(&self) -> Result<Zeroizing<String>, PolicyProblems> {
        self.validate()?;
        let mut rng = OsRng.unwrap_err();
        let mut chars: Zeroizing<Vec<char>> =
            Zeroizing::new(Vec::with_capacity(self.length as usize));
        let mut pool: Vec<char> = Vec::new();
        for (_, class, rule) in self.classes() {
            if !rule.enabled {
                continue;
            }
            let allowed = self.allowed(class);
            for _ in 0..rule.min {
                if let Some(c) = allowed.choose(&mut rng) {
                    chars.push(*c);
                }
            }
            pool.extend(allowed);
        }
        while chars.len() < self.length as usize {
            match pool.choose(&mut rng) {
                Some(c) => chars.push(*c),
                None => break,
            }
        }
        chars.shuffle(&mut rng);
        Ok(Zeroizing::new(chars.iter().collect()))
    }

    /// Whether `password` follows every rule (used to check generated passwords).
    pub fn is_met_by(&self, password: &str) -> bool {
        if password.chars().count() != self.length as usize {
            return false;
        }
        if password.chars().any(|c| self.excluded.contains(c)) {
            return false;
        }
        let mut allowed_any = String::new();
        for (_, class, rule) in self.classes() {
            if rule.enabled {
                allowed_any.push_str(class);
                let count = password.chars().filter(|c| class.contains(*c)).count() as u32;
                if count < rule.min {
                    return false;
                }
            } else if password.chars().any(|c| class.contains(c)) {
                return false;
            }
        }
        password.chars().all(|c| allowed_any.contains(c))
    }

    /// One line for pages: "24 characters: lower case (≥1), upper case (≥1), …".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .classes()
            .into_iter()
            .filter(|(_, _, r)| r.enabled)
            .map(|(field, _, r)| {
                if r.min > 0 {
                    format!("{} (at least {})", class_name(field), r.min)
                } else {
                    class_name(field).to_string()
                }
            })
            .collect();
        let mut text = format!("{} characters: {}", self.length, parts.join(", "));
        if !self.excluded.is_empty() {
            text.push_str(&format!("; never {}", self.excluded));
        }
        text
    }
}

fn class_name(field: &str) -> &'static str {
    match field {
        "lower" => "lower-case letters",
        "upper" => "upper-case letters",
        "digits" => "digits",
        _ => "symbols",
    }
}

fn field_min(field: &str) -> &'static str {
    match field {
        "lower" => "policy_lower_min",
        "upper" => "policy_upper_min",
        "digits" => "policy_digits_min",
        _ => "policy_symbols_min",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn random_policy(rng: &mut impl Rng) -> PasswordPolicy {
        let rule = |rng: &mut dyn rand::RngCore| ClassRule {
            enabled: rng.random_bool(0.7),
            min: rng.random_range(0..=4),
        };
        let pool: Vec<char> = format!("{LOWER}{UPPER}{DIGITS}{SYMBOLS}").chars().collect();
        let excluded_len = rng.random_range(0..12);
        let excluded: String = (0..excluded_len)
            .map(|_| pool[rng.random_range(0..pool.len())])
            .collect();
        PasswordPolicy {
            length: rng.random_range(MIN_LENGTH..=40),
            lower: rule(rng),
            upper: rule(rng),
            digits: rule(rng),
            symbols: rule(rng),
            excluded,
        }
    }

    #[test]
    fn thousands_of_generated_passwords_follow_their_random_policies() {
        let mut rng = rand::rng();
        let mut checked = 0;
        while checked < 5_000 {
            let policy = random_policy(&mut rng);
            if policy.validate().is_err() {
                assert!(policy.generate().is_err());
                continue;
            }
            let password = policy.generate().unwrap();
            assert!(
                policy.is_met_by(&password),
                "{password:?} breaks {policy:?}"
            );
            checked += 1;
        }
    }

    #[test]
    fn impossible_policies_are_explained() {
        let mut policy = PasswordPolicy {
            length: 8,
            ..PasswordPolicy::default()
        };
        policy.lower.min = 4;
        policy.upper.min = 4;
        policy.digits.min = 1;
        let problems = policy.validate().unwrap_err();
        assert!(
            problems
                .iter()
                .any(|(f, m)| *f == "policy_length" && m.contains("add up to 10")),
            "{problems:?}"
        );

        let off = ClassRule {
            enabled: false,
            min: 0,
        };
        let none = PasswordPolicy {
            lower: off,
            upper: off,
            digits: off,
            symbols: off,
            ..PasswordPolicy::default()
        };
        assert!(
            none.validate()
                .unwrap_err()
                .iter()
                .any(|(f, _)| *f == "policy_classes")
        );

        let only_symbols_all_excluded = PasswordPolicy {
            lower: off,
            upper: off,
            digits: off,
            excluded: SYMBOLS.into(),
            ..PasswordPolicy::default()
        };
        assert!(
            only_symbols_all_excluded
                .validate()
                .unwrap_err()
                .iter()
                .any(|(_, m)| m.contains("Every symbols character is excluded"))
        );

        let too_long = PasswordPolicy {
            length: 10_000,
            ..PasswordPolicy::default()
        };
        assert!(too_long.validate().is_err());
    }

    #[test]
    fn generated_passwords_differ() {
        let policy = PasswordPolicy::default();
        let a = policy.generate().unwrap();
        let b = policy.generate().unwrap();
        assert_ne!(*a, *b);
        assert_eq!(a.chars().count(), 24);
    }
}
