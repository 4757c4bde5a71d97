//! Sessions: refresh-token families with rotation, a grace period and reuse detection.
//!
//! A login starts a [`Session`] (a token family). Each refresh presents the family's current
//! refresh token and gets a new pair; the presented token then becomes the *previous* one.
//! What a presented token means is decided by [`Session::judge`]:
//!
//! - the current token → [`Verdict::Rotate`]: issue the next pair;
//! - the previous token within the grace period after the rotation → [`Verdict::Replay`]:
//!   two tabs refreshed at once, so the loser gets the *same* new pair as the winner (the
//!   auth service derives the next refresh secret from the presented one with the stored
//!   [`Session::rotation_key`] and re-signs the stored access claims, so no token is ever
//!   stored, only hashes);
//! - the previous token after the grace period, or an older consumed one (the last
//!   [`CONSUMED_KEPT`] are remembered) → [`Verdict::Reuse`]: somebody replays a stolen
//!   token, so the whole family is revoked;
//! - a secret this family never issued → [`Verdict::Unknown`]: a plain 401, nothing revoked
//!   (knowing a session id — it is in the logs — must not be enough to end a session);
//! - a revoked, expired or outdated (older password epoch) family → [`Verdict::Ended`].

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::account::Role;
use shop_domain::{SessionId, UserId};

/// How long a family lives from its login, however often it is refreshed.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::days(30);
/// How many consumed secrets a family remembers (by a 64-bit prefix of their hash) to tell a
/// replayed token from one never issued: at a refresh every 15 minutes, the last 16 hours.
pub const CONSUMED_KEPT: usize = 64;
/// The hex digits of a consumed secret's hash that are kept.
const CONSUMED_PREFIX: usize = 16;
/// The longest grace period allowed for concurrent refreshes.
pub const MAX_GRACE: TimeDelta = TimeDelta::seconds(10);

/// The access token a rotation issued, kept so that a replay within the grace period can
/// sign byte-for-byte the same token (RS256 signatures are deterministic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedAccess {
    /// `iat` of the access token, seconds since the epoch.
    pub issued_at: i64,
    /// Its `jti`.
    pub jti: String,
    /// The roles it carries.
    pub roles: Vec<Role>,
    /// The email it carries.
    pub email: String,
    /// The full name it carries (`name`).
    #[serde(default)]
    pub name: String,
    /// The signing key it was signed with.
    pub kid: String,
}

/// One refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The family's id; the first part of each of its refresh tokens.
    pub session_id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The account's session epoch at login; a password change moves the account on.
    pub epoch: u64,
    /// 1 at login, plus one per rotation; conditional writes compare it.
    pub generation: u64,
    /// SHA-256 (hex) of the current refresh secret.
    pub current_hash: String,
    /// SHA-256 (hex) of the secret the last rotation consumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    /// 64-bit prefixes (hex) of the hashes of the secrets consumed so far, oldest first, at
    /// most [`CONSUMED_KEPT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumed: Vec<String>,
    /// When the current secret was issued.
    #[serde(with = "shop_domain::timestamp")]
    pub rotated_at: DateTime<Utc>,
    /// When the family ends regardless of use.
    #[serde(with = "shop_domain::timestamp")]
    pub ends_at: DateTime<Utc>,
    /// The random key the last rotation derived the current secret with, from the secret it
    /// consumed: a replay within the grace period derives the same secret again, while a
    /// thief holding an old secret but not this stored key cannot derive the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_key: Option<String>,
    /// Set by logout, reuse detection, or a password change.
    pub revoked: bool,
    /// The access token issued with the current secret.
    pub issued: IssuedAccess,
}

/// What a presented refresh token means; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The current token: rotate.
    Rotate,
    /// The previous token within the grace period: answer the pair already issued.
    Replay,
    /// A consumed token after the grace period: revoke the family.
    Reuse,
    /// A secret the family never issued: refuse, revoke nothing.
    Unknown,
    /// The family is over (revoked, expired, or from before a password change).
    Ended,
}

impl Session {
    /// A new family for `user_id` at `epoch`, whose first secret hashes to `hash`.
    pub fn start(
        user_id: UserId,
        epoch: u64,
        hash: String,
        issued: IssuedAccess,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            session_id: SessionId::new(),
            user_id,
            epoch,
            generation: 1,
            current_hash: hash,
            previous_hash: None,
            consumed: Vec::new(),
            rotated_at: now,
            ends_at: now + SESSION_LIFETIME,
            rotation_key: None,
            revoked: false,
            issued,
        }
    }

    /// Whether the family is over at `now` for an account at `account_epoch`: revoked,
    /// expired, or from before a password change. No token of it is accepted any more.
    pub fn has_ended(&self, account_epoch: u64, now: DateTime<Utc>) -> bool {
        self.revoked || now >= self.ends_at || self.epoch != account_epoch
    }

    /// Judges a presented token hashing to `hash` at `now`, for an account now at
    /// `account_epoch`, allowing `grace` (capped at [`MAX_GRACE`]) for concurrent refreshes.
    pub fn judge(
        &self,
        hash: &str,
        account_epoch: u64,
        now: DateTime<Utc>,
        grace: TimeDelta,
    ) -> Verdict {
        if self.has_ended(account_epoch, now) {
            return Verdict::Ended;
        }
        if hash == self.current_hash {
            return Verdict::Rotate;
        }
        let within_grace = now - self.rotated_at <= grace.min(MAX_GRACE);
        if within_grace && self.previous_hash.as_deref() == Some(hash) {
            Verdict::Replay
        } else if self.consumed.iter().any(|c| hash.starts_with(c.as_str())) {
            Verdict::Reuse
        } else {
            Verdict::Unknown
        }
    }

    /// The family after a rotation at `now` to a secret hashing to `next_hash`, derived
    /// with `rotation_key`.
    pub fn rotated(
        &self,
        next_hash: String,
        rotation_key: String,
        issued: IssuedAccess,
        now: DateTime<Utc>,
    ) -> Self {
        let mut consumed = self.consumed.clone();
        consumed.push(self.current_hash.chars().take(CONSUMED_PREFIX).collect());
        if consumed.len() > CONSUMED_KEPT {
            consumed.drain(..consumed.len() - CONSUMED_KEPT);
        }
        Self {
            rotation_key: Some(rotation_key),
            consumed,
            generation: self.generation + 1,
            previous_hash: Some(self.current_hash.clone()),
            current_hash: next_hash,
            rotated_at: now,
            issued,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued() -> IssuedAccess {
        IssuedAccess {
            issued_at: 0,
            jti: "j".into(),
            roles: vec![Role::User],
            email: "a@b.co".into(),
            name: "A".into(),
            kid: "k".into(),
        }
    }

    fn session(now: DateTime<Utc>) -> Session {
        Session::start(UserId::new(), 1, "h1".into(), issued(), now)
    }

    const GRACE: TimeDelta = TimeDelta::seconds(10);

    #[test]
    fn the_current_token_rotates_and_becomes_the_previous_one() {
        let now = Utc::now();
        let first = session(now);
        assert_eq!(first.judge("h1", 1, now, GRACE), Verdict::Rotate);
        let second = first.rotated("h2".into(), "k".into(), issued(), now);
        assert_eq!(second.generation, 2);
        assert_eq!(second.judge("h2", 1, now, GRACE), Verdict::Rotate);
        assert_eq!(second.previous_hash.as_deref(), Some("h1"));
    }

    #[test]
    fn the_previous_token_replays_within_the_grace_period_only() {
        let now = Utc::now();
        let second = session(now).rotated("h2".into(), "k".into(), issued(), now);
        assert_eq!(
            second.judge("h1", 1, now + TimeDelta::seconds(10), GRACE),
            Verdict::Replay
        );
        assert_eq!(
            second.judge("h1", 1, now + TimeDelta::milliseconds(10_001), GRACE),
            Verdict::Reuse
        );
    }

    #[test]
    fn the_grace_period_is_capped_at_ten_seconds() {
        let now = Utc::now();
        let second = session(now).rotated("h2".into(), "k".into(), issued(), now);
        let later = now + TimeDelta::seconds(11);
        assert_eq!(
            second.judge("h1", 1, later, TimeDelta::minutes(5)),
            Verdict::Reuse
        );
    }

    #[test]
    fn an_older_token_is_reuse_and_a_secret_never_issued_is_unknown() {
        let now = Utc::now();
        let third = session(now)
            .rotated("h2".into(), "k".into(), issued(), now)
            .rotated("h3".into(), "k".into(), issued(), now);
        assert_eq!(third.judge("h1", 1, now, GRACE), Verdict::Reuse);
        assert_eq!(third.judge("forged", 1, now, GRACE), Verdict::Unknown);
    }

    #[test]
    fn a_family_remembers_its_last_consumed_secrets_only() {
        let now = Utc::now();
        let mut family = session(now);
        for n in 2..(CONSUMED_KEPT + 10) {
            family = family.rotated(format!("h{n}"), "k".into(), issued(), now);
        }
        assert_eq!(family.consumed.len(), CONSUMED_KEPT);
        let last_consumed = format!("h{}", CONSUMED_KEPT + 8);
        assert_eq!(family.judge(&last_consumed, 1, now, GRACE), Verdict::Replay);
        let later = now + TimeDelta::minutes(1);
        assert_eq!(family.judge("h20", 1, later, GRACE), Verdict::Reuse);
        assert_eq!(family.judge("h1", 1, later, GRACE), Verdict::Unknown);
    }

    #[test]
    fn revoked_expired_and_outdated_families_are_ended() {
        let now = Utc::now();
        let mut family = session(now);
        assert_eq!(
            family.judge("h1", 1, now + SESSION_LIFETIME, GRACE),
            Verdict::Ended
        );
        assert_eq!(family.judge("h1", 2, now, GRACE), Verdict::Ended);
        family.revoked = true;
        assert_eq!(family.judge("h1", 1, now, GRACE), Verdict::Ended);
    }
}
