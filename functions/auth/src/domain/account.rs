//! Accounts: the credentials and roles the auth service keeps for each user.
//!
//! - Emails are compared in one form: trimmed and lower-cased ([`normalize_email`]).
//! - Passwords ([`check_password`]): 10 to 256 characters and not the email itself. The upper
//!   bound keeps one argon2 call from being fed megabytes.
//! - An account starts [`AccountStatus::Unverified`] and expires after
//!   [`UNVERIFIED_LIFETIME`] unless verified, so nobody can squat an address they do not
//!   read.
//! - Verification and reset links carry a [`OneTimeToken`]: only its hash is stored, with an
//!   expiry; using it removes it.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use shop_domain::{DomainError, FieldError, UserId};

/// How long an unverified account holds its email before it may be registered again.
pub const UNVERIFIED_LIFETIME: TimeDelta = TimeDelta::days(7);
/// How long a verification link works.
pub const VERIFICATION_LIFETIME: TimeDelta = TimeDelta::hours(24);
/// How long a password-reset link works.
pub const RESET_LIFETIME: TimeDelta = TimeDelta::hours(1);
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password accepted.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The longest full name accepted.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest email address (RFC 5321's path limit less the brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A role of the seed's authorization matrix; each maps to a token scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Every registered user: cart, orders, profile.
    User,
    /// Sells products.
    Seller,
    /// Runs the shop.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::User, Role::Seller, Role::Admin];

    /// The role's name as in tokens and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "User",
            Role::Seller => "Seller",
            Role::Admin => "Admin",
        }
    }

    /// The role named `name` (exact spelling).
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The body of `PUT /api/admin/users/{id}/roles`: known names, sorted, deduplicated.
    /// `User` is always kept: every account may shop, whatever else it may do.
    pub fn parse_set(names: &[String]) -> Result<Vec<Role>, DomainError> {
        let mut errors = Vec::new();
        let mut roles = vec![Role::User];
        for (i, name) in names.iter().enumerate() {
            match Role::parse(name) {
                Some(role) => roles.push(role),
                None => errors.push(FieldError::new(
                    format!("roles[{i}]"),
                    "must be one of User, Seller, Admin",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        roles.sort();
        roles.dedup();
        Ok(roles)
    }

    /// The names of `roles`, for tokens and events.
    pub fn names(roles: &[Role]) -> Vec<String> {
        roles.iter().map(|r| r.as_str().to_owned()).collect()
    }
}

/// Whether an account may log in yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountStatus {
    /// Registered; the email address is not proven yet.
    Unverified,
    /// The email address is proven; logins work.
    Active,
}

/// A single-use secret sent by email: only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneTimeToken {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// When it stops working.
    #[serde(with = "shop_domain::timestamp")]
    pub expires_at: DateTime<Utc>,
}

impl OneTimeToken {
    /// Whether a token hashing to `hash` is this one and still valid at `now`.
    pub fn accepts(&self, hash: &str, now: DateTime<Utc>) -> bool {
        self.hash == hash && now < self.expires_at
    }
}

/// What the auth service keeps per user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The user's id, the token's `sub`.
    pub user_id: UserId,
    /// Normalised email, unique.
    pub email: String,
    /// As registered.
    pub full_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Sorted, always containing `User`.
    pub roles: Vec<Role>,
    /// Whether logins work.
    pub status: AccountStatus,
    /// Bumped on every change; conditional writes compare it.
    pub version: u64,
    /// Bumped when every session must end (password change or reset); sessions of an older
    /// epoch cannot refresh.
    pub session_epoch: u64,
    /// The pending email verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<OneTimeToken>,
    /// The pending password reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<OneTimeToken>,
    /// When registered.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Account {
    /// A new unverified account for `registration`, with its first verification token.
    pub fn register(
        registration: &Registration,
        password_hash: String,
        verification_hash: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            user_id: UserId::new(),
            email: registration.email.clone(),
            full_name: registration.full_name.clone(),
            password_hash,
            roles: vec![Role::User],
            status: AccountStatus::Unverified,
            version: 1,
            session_epoch: 1,
            verification: Some(OneTimeToken {
                hash: verification_hash,
                expires_at: now + VERIFICATION_LIFETIME,
            }),
            reset: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Until when an unverified account holds its email; `None` once verified.
    pub fn unverified_until(&self) -> Option<DateTime<Utc>> {
        (self.status == AccountStatus::Unverified).then(|| self.created_at + UNVERIFIED_LIFETIME)
    }

    /// Whether this account has lapsed: never verified within [`UNVERIFIED_LIFETIME`]. The
    /// store treats a lapsed account as absent (TTL deletion lags), so its email is free.
    pub fn is_lapsed(&self, now: DateTime<Utc>) -> bool {
        self.unverified_until().is_some_and(|until| now >= until)
    }

    /// The role names, for tokens and events.
    pub fn role_names(&self) -> Vec<String> {
        Role::names(&self.roles)
    }

    /// The next version of this account, changed at `now`.
    pub fn touched(&self, now: DateTime<Utc>) -> Self {
        Self {
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }
}

/// Normalises an email for storage and comparison: trimmed and lower-cased, then checked for
/// a plausible shape (one `@`, an ASCII dot-atom before it, a dotted domain of letters, digits
/// and hyphens after it).
/// Deliverability is proven by the verification email, not here.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let invalid = |message: &str| Err(FieldError::new("email", message));
    if email.is_empty() {
        return invalid("is required");
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return invalid("must be at most 254 characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid("must be an email address like ann@example.com");
    };
    // RFC 5322 dot-atoms, ASCII only (international domains arrive as punycode), which is
    // also what JSON Schema's `email` format accepts, so every stored email passes the events'
    // schemas.
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext));
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(email)
    } else {
        invalid("must be an email address like ann@example.com")
    }
}

/// The password policy, reported against `field`: 10 to 256 characters, not the (normalised)
/// email.
pub fn check_password(password: &str, email: &str, field: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(field, "must be at least 10 characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(FieldError::new(field, "must be at most 256 characters"));
    }
    if password.trim().to_lowercase() == email {
        return Err(FieldError::new(field, "must not be the email address"));
    }
    Ok(())
}

/// A valid `POST /api/auth/register` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Normalised.
    pub email: String,
    /// As typed; the policy holds.
    pub password: String,
    /// Trimmed.
    pub full_name: String,
}

impl Registration {
    /// Checks every field at once, so the client sees all its mistakes in one 400.
    pub fn parse(email: &str, password: &str, full_name: &str) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        let email = normalize_email(email).map_err(|e| errors.push(e)).ok();
        if let Err(e) = check_password(password, email.as_deref().unwrap_or(""), "password") {
            errors.push(e);
        }
        let full_name = full_name.trim();
        if full_name.is_empty() {
            errors.push(FieldError::new("fullName", "is required"));
        } else if full_name.chars().count() > MAX_NAME_CHARS {
            errors.push(FieldError::new(
                "fullName",
                "must be at most 100 characters",
            ));
        } else if full_name.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "fullName",
                "must not contain control characters",
            ));
        }
        match email {
            Some(email) if errors.is_empty() => Ok(Self {
                email,
                password: password.to_owned(),
                full_name: full_name.to_owned(),
            }),
            _ => Err(DomainError::Validation(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Ann.Lee@Example.COM ").unwrap(),
            "ann.lee@example.com"
        );
        assert_eq!(
            normalize_email("o'brien+shop@xn--e1afmkfd.example").unwrap(),
            "o'brien+shop@xn--e1afmkfd.example"
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "a nn@example.com",
            "ann@exa mple.com",
            "ann@-example.com",
            "ann@example..com",
            "a..b@example.com",
            ".ann@example.com",
            "a(b)@example.com",
            "a,b@example.com",
            "josé@example.com",
            "ann@例え.jp",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize_email(&long).is_err());
    }

    #[test]
    fn passwords_need_ten_characters_and_must_not_be_the_email() {
        assert!(check_password("123456789", "a@b.co", "password").is_err());
        assert!(check_password("1234567890", "a@b.co", "password").is_ok());
        // Characters, not bytes: nine accented letters are too short.
        assert!(check_password("ééééééééé", "a@b.co", "password").is_err());
        assert!(check_password(&"x".repeat(257), "a@b.co", "password").is_err());
        let err = check_password("Ann@Example.com", "ann@example.com", "password").unwrap_err();
        assert_eq!(err.message, "must not be the email address");
    }

    #[test]
    fn registration_reports_every_field_at_once() {
        let Err(DomainError::Validation(errors)) = Registration::parse("nope", "short", " ") else {
            panic!("accepted")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "fullName"]);
        let ok = Registration::parse(" Ann@Example.com", "correct horse", " Ann Lee ").unwrap();
        assert_eq!(ok.email, "ann@example.com");
        assert_eq!(ok.full_name, "Ann Lee");
    }

    #[test]
    fn role_sets_keep_user_and_refuse_unknown_names() {
        let roles = Role::parse_set(&["Admin".into(), "Seller".into(), "Admin".into()]).unwrap();
        assert_eq!(roles, [Role::User, Role::Seller, Role::Admin]);
        assert_eq!(Role::parse_set(&[]).unwrap(), [Role::User]);
        let Err(DomainError::Validation(errors)) = Role::parse_set(&["admin".into()]) else {
            panic!("accepted a lower-case role")
        };
        assert_eq!(errors[0].field, "roles[0]");
    }

    #[test]
    fn unverified_accounts_lapse_after_seven_days_and_verified_ones_never() {
        let now = Utc::now();
        let registration = Registration::parse("a@b.co", "long enough pw", "A").unwrap();
        let mut account = Account::register(&registration, "h".into(), "v".into(), now);
        assert!(!account.is_lapsed(now + TimeDelta::days(6)));
        assert!(account.is_lapsed(now + UNVERIFIED_LIFETIME));
        account.status = AccountStatus::Active;
        assert!(!account.is_lapsed(now + TimeDelta::days(400)));
    }

    #[test]
    fn one_time_tokens_need_the_right_hash_before_expiry() {
        let now = Utc::now();
        let token = OneTimeToken {
            hash: "abc".into(),
            expires_at: now + TimeDelta::hours(1),
        };
        assert!(token.accepts("abc", now));
        assert!(!token.accepts("abd", now));
        assert!(!token.accepts("abc", now + TimeDelta::hours(1)));
    }
}
