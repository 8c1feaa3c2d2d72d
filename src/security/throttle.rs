//! Sign-in throttling, per client address and per account, with `governor`.
//!
//! Each instance counts on its own; behind a load balancer the effective limit is the per-
//! instance limit times the number of instances, still small enough to stop password guessing.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl LoginThrottle {
    /// `per_account` and `per_address` attempts a minute, each allowed in a burst.
    pub fn new(per_account: u32, per_address: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            per_account: RateLimiter::keyed(quota(per_account)),
            per_address: RateLimiter::keyed(quota(per_address)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; `Err` is how long to wait before the next one is allowed.
    pub fn check(&self, address: &str, account: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        self.per_address
            .check_key(&address.to_string())
            .map_err(|not_until| not_until.wait_time_from(now))?;
        self.per_account
            .check_key(&account.trim().to_lowercase())
            .map_err(|not_until| not_until.wait_time_from(now))?;
        Ok(())
    }

    /// Forgets keys that are back to a full allowance, so memory stays bounded.
    pub fn forget_idle_keys(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
        self.per_account.shrink_to_fit();
        self.per_address.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_on_one_account_waits() {
        let throttle = LoginThrottle::new(5, 100);
        for _ in 0..5 {
            assert!(throttle.check("10.0.0.1", "ada@example.com").is_ok());
        }
        let wait = throttle.check("10.0.0.2", "ADA@example.com").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        assert!(throttle.check("10.0.0.1", "grace@example.com").is_ok());
    }
}
