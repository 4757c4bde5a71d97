//! The login lockout: password attempts are counted per email in a fixed window that starts
//! at the first one. Each attempt is counted *before* its password is checked, in one atomic
//! write that also refuses it once the window holds [`LockoutPolicy::max_failures`]
//! attempts; a right password clears the count. So however many attempts run in parallel,
//! at most `max_failures` passwords are checked per window, and from then on every attempt —
//! even with the right password — is refused with 429 until the window has passed. Login and
//! change-password share the count (a stolen access token does not buy more guesses).
//!
//! Unknown emails are counted the same way, so the answer does not reveal which addresses
//! have accounts. The price: anybody can lock an account for one window by failing five
//! times, which is why the window is short (15 minutes by default).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// How many failures lock an email, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures within one window that lock further attempts.
    pub max_failures: u32,
    /// The window, from its first failure.
    pub window: TimeDelta,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: TimeDelta::minutes(15),
        }
    }
}

/// How often one address may be sent an account email (verification, password reset): at
/// most one per `cooldown` and `daily_cap` per day. Each is a window of the lockout's kind —
/// [`EmailPolicy::windows`] — counted before anything is sent, whether or not the address has
/// an account, so the answer (202, or 429 with `Retry-After`) never tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailPolicy {
    /// The least time between two emails to one address.
    pub cooldown: TimeDelta,
    /// Emails per address within a day.
    pub daily_cap: u32,
}

impl Default for EmailPolicy {
    fn default() -> Self {
        Self {
            cooldown: TimeDelta::seconds(60),
            daily_cap: 5,
        }
    }
}

impl EmailPolicy {
    /// The two windows an email is counted in, the short one first (so a burst is refused
    /// before it spends the day's allowance).
    pub fn windows(&self) -> [(EmailWindow, LockoutPolicy); 2] {
        [
            (
                EmailWindow::Cooldown,
                LockoutPolicy {
                    max_failures: 1,
                    window: self.cooldown,
                },
            ),
            (
                EmailWindow::Day,
                LockoutPolicy {
                    max_failures: self.daily_cap,
                    window: TimeDelta::days(1),
                },
            ),
        ]
    }
}

/// Which of an address's two email windows (see [`EmailPolicy::windows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EmailWindow {
    /// The cooldown between two emails.
    Cooldown,
    /// The daily cap.
    Day,
}

impl EmailWindow {
    /// Its name in storage keys.
    pub fn name(self) -> &'static str {
        match self {
            EmailWindow::Cooldown => "COOLDOWN",
            EmailWindow::Day => "DAY",
        }
    }
}

/// What counting one attempt decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted: check the password (and clear the count when it is right).
    Allowed,
    /// Not counted and not to be checked: the window is full until `retry_after_secs` from now.
    Locked {
        /// Whole seconds until the window ends (at least 1).
        retry_after_secs: u64,
    },
}

/// The attempts counted for one email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginAttempts {
    /// Attempts since `window_start` that have not been cleared by a right password.
    pub failures: u32,
    /// The first failure of the window.
    #[serde(with = "shop_domain::timestamp")]
    pub window_start: DateTime<Utc>,
}

impl LoginAttempts {
    /// Whether the window that began at `window_start` is still open at `now`.
    pub fn is_current(&self, now: DateTime<Utc>, policy: &LockoutPolicy) -> bool {
        now < self.window_start + policy.window
    }

    /// Whole seconds until attempts are allowed again, when locked at `now`.
    pub fn retry_after(&self, now: DateTime<Utc>, policy: &LockoutPolicy) -> Option<u64> {
        if self.failures < policy.max_failures || !self.is_current(now, policy) {
            return None;
        }
        // A concurrent request whose clock read came later may have started the window after
        // `now`: the window is never more than its length away.
        let left = (self.window_start + policy.window - now)
            .num_milliseconds()
            .min(policy.window.num_milliseconds());
        // Round up: a client waiting exactly `Retry-After` seconds must find the lock gone.
        Some(((left + 999) / 1000).max(1) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_until_the_window_has_passed() {
        let policy = LockoutPolicy::default();
        let start = Utc::now();
        let attempts = |failures| LoginAttempts {
            failures,
            window_start: start,
        };
        assert_eq!(attempts(4).retry_after(start, &policy), None);
        assert_eq!(attempts(5).retry_after(start, &policy), Some(900));
        let later = start + TimeDelta::milliseconds(899_500);
        assert_eq!(attempts(5).retry_after(later, &policy), Some(1));
        assert_eq!(
            attempts(9).retry_after(start + policy.window, &policy),
            None
        );
        // Read before a concurrent request started the window: still at most the window.
        let earlier = start - TimeDelta::milliseconds(500);
        assert_eq!(attempts(5).retry_after(earlier, &policy), Some(900));
    }

    #[test]
    fn a_window_is_current_until_it_ends() {
        let policy = LockoutPolicy {
            max_failures: 5,
            window: TimeDelta::seconds(3),
        };
        let start = Utc::now();
        let attempts = LoginAttempts {
            failures: 1,
            window_start: start,
        };
        assert!(attempts.is_current(start + TimeDelta::seconds(2), &policy));
        assert!(!attempts.is_current(start + TimeDelta::seconds(3), &policy));
    }
}
