//! The `shop.auth` events against `schemas/events/shop.auth/*.json`: every one of the five
//! events, built as the auth handlers build them, must match the schema of its detail-type.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::account::{RESET_LIFETIME, VERIFICATION_LIFETIME};
use super::*;
use shop_domain::DomainEvent;
use shop_domain::ports::OutgoingEvent;
use shop_domain::testing::{assert_matches_its_schema, outgoing_at};

/// What `new_secret` makes: 32 random bytes, base64url without padding (43 characters).
const TOKEN: &str = "q3V8fJ0-xk_2nR7TzWb9LmYcPd4sHaE1uGiKoN5vQwA";
/// Another one, for the resent verification email and the reset.
const OTHER_TOKEN: &str = "Zx_9Kp2mQr7-LbVt4NwYc8HfJd3sGa1eUo6iRy0ThEk";

/// `minutes` after the events' day began, with milliseconds, as real clocks have.
fn later(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
        + Duration::minutes(minutes)
        + Duration::milliseconds(437)
}

/// What a handler does with its change: the envelope as the outbox item.
fn outgoing<T: DomainEvent>(at: DateTime<Utc>, aggregate_version: u64, data: T) -> OutgoingEvent {
    outgoing_at(at, aggregate_version, data)
}

/// A stand-in for the token's hash (SHA-256, hex) that the account keeps; never in an event.
fn hash(token: &str) -> String {
    format!("sha256({token})")
}

/// The five events of one account's life, in the order the handlers emit them.
fn auth_events() -> Vec<OutgoingEvent> {
    assert_eq!(TOKEN.len(), 43);
    assert_eq!(OTHER_TOKEN.len(), 43);
    let mut events = Vec::new();

    // `register`: a new unverified account at version 1.
    let registration = Registration::parse(
        "  Ann.Lee@Example.COM ",
        "correct horse battery",
        " Ann Lee ",
    )
    .unwrap();
    let now = later(0);
    let account = Account::register(&registration, "$argon2id$…".into(), hash(TOKEN), now);
    events.push(outgoing(
        now,
        account.version,
        UserRegistered {
            user_id: account.user_id,
            email: account.email.clone(),
            full_name: account.full_name.clone(),
            verification_token: TOKEN.to_owned(),
            expires_at: now + VERIFICATION_LIFETIME,
        },
    ));

    // `resend-verification`: a new token replaces the first.
    let now = later(10);
    let expires_at = now + VERIFICATION_LIFETIME;
    let resent = Account {
        verification: Some(OneTimeToken {
            hash: hash(OTHER_TOKEN),
            expires_at,
        }),
        ..account.touched(now)
    };
    events.push(outgoing(
        now,
        resent.version,
        VerificationEmailRequested {
            user_id: resent.user_id,
            email: resent.email.clone(),
            full_name: resent.full_name.clone(),
            verification_token: OTHER_TOKEN.to_owned(),
            expires_at,
        },
    ));

    // `verify-email`.
    let now = later(20);
    let verified = Account {
        status: AccountStatus::Active,
        verification: None,
        ..resent.touched(now)
    };
    events.push(outgoing(
        now,
        verified.version,
        UserVerified {
            user_id: verified.user_id,
            email: verified.email.clone(),
            full_name: verified.full_name.clone(),
            roles: verified.roles.clone(),
        },
    ));

    // `forgot-password`.
    let now = later(30);
    let expires_at = now + RESET_LIFETIME;
    let resetting = Account {
        reset: Some(OneTimeToken {
            hash: hash(OTHER_TOKEN),
            expires_at,
        }),
        ..verified.touched(now)
    };
    events.push(outgoing(
        now,
        resetting.version,
        PasswordResetRequested {
            user_id: resetting.user_id,
            email: resetting.email.clone(),
            full_name: resetting.full_name.clone(),
            reset_token: OTHER_TOKEN.to_owned(),
            expires_at,
        },
    ));

    // `PUT /api/admin/users/{id}/roles`: promoted to every role, then back to a seller.
    let mut account = resetting;
    for (minutes, names) in [(40, ["Admin", "Seller"]), (50, ["Seller", "Seller"])] {
        let now = later(minutes);
        let roles = Role::parse_set(&names.map(String::from)).unwrap();
        let changed = Account {
            roles: roles.clone(),
            ..account.touched(now)
        };
        events.push(outgoing(
            now,
            changed.version,
            UserRolesChanged {
                user_id: changed.user_id,
                email: changed.email.clone(),
                full_name: changed.full_name.clone(),
                roles,
                previous_roles: account.roles.clone(),
            },
        ));
        account = changed;
    }
    events
}

#[test]
fn every_auth_event_matches_its_schema() {
    let events = auth_events();
    for event in &events {
        assert_eq!(event.source, "shop.auth");
        assert_matches_its_schema(event);
    }
    let roles_changed = &events[4].detail["data"];
    assert_eq!(roles_changed["roles"], json!(["User", "Seller", "Admin"]));
    assert_eq!(roles_changed["previousRoles"], json!(["User"]));
}

#[test]
fn there_is_one_schema_per_auth_event_and_the_tests_emit_each_of_them() {
    let mut files: Vec<String> =
        std::fs::read_dir(shop_schemas::schemas_dir().join(events::SOURCE))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json") && name != "defs.json")
            .collect();
    files.sort();
    let mut types = [
        UserRegistered::TYPE,
        VerificationEmailRequested::TYPE,
        UserVerified::TYPE,
        PasswordResetRequested::TYPE,
        UserRolesChanged::TYPE,
    ]
    .map(|t| format!("{t}.json"));
    types.sort();
    assert_eq!(files, types);

    let mut emitted: Vec<String> = auth_events()
        .into_iter()
        .map(|e| format!("{}.json", e.detail_type))
        .collect();
    emitted.sort();
    emitted.dedup();
    assert_eq!(emitted, types);
}

/// The errors of the first event of type `detail_type` once `edit` has broken it.
fn broken(detail_type: &str, edit: &dyn Fn(&mut Value)) -> String {
    let mut event = auth_events()
        .into_iter()
        .find(|e| e.detail_type == detail_type)
        .unwrap();
    assert_matches_its_schema(&event);
    edit(&mut event.detail);
    shop_schemas::errors(&event.source, &event.detail_type, &event.detail).join("\n")
}

#[test]
fn a_missing_field_is_refused() {
    let errors = broken("UserRegistered", &|d| {
        d["data"]
            .as_object_mut()
            .unwrap()
            .remove("verificationToken");
    });
    assert!(
        errors.contains("\"verificationToken\" is a required property"),
        "{errors}"
    );
    let errors = broken("UserVerified", &|d| {
        d.as_object_mut().unwrap().remove("correlationId");
    });
    assert!(
        errors.contains("\"correlationId\" is a required property"),
        "{errors}"
    );
}

#[test]
fn an_unknown_role_is_refused() {
    let errors = broken("UserVerified", &|d| {
        d["data"]["roles"] = json!(["User", "Root"])
    });
    assert!(errors.contains("/data/roles/1"), "{errors}");
    let errors = broken("UserRolesChanged", &|d| {
        d["data"]["previousRoles"] = json!(["User", "Root"]);
    });
    assert!(errors.contains("/data/previousRoles/1"), "{errors}");
    // Roles are never empty and always hold `User`.
    let errors = broken("UserRolesChanged", &|d| d["data"]["roles"] = json!([]));
    assert!(errors.contains("/data/roles"), "{errors}");
    let errors = broken("UserRolesChanged", &|d| {
        d["data"]["roles"] = json!(["Admin"])
    });
    assert!(errors.contains("/data/roles"), "{errors}");
}

#[test]
fn a_token_with_other_than_url_safe_base64_characters_is_refused() {
    let errors = broken("VerificationEmailRequested", &|d| {
        d["data"]["verificationToken"] = json!("q3V8fJ0+xk/2nR7TzWb9LmYcPd4sHaE1uGiKoN5vQwA=");
    });
    assert!(errors.contains("/data/verificationToken"), "{errors}");
    let errors = broken("PasswordResetRequested", &|d| {
        d["data"]["resetToken"] = json!("short");
    });
    assert!(errors.contains("/data/resetToken"), "{errors}");
}

#[test]
fn an_extra_property_is_refused() {
    let errors = broken("PasswordResetRequested", &|d| {
        d["data"]["passwordHash"] = json!("$argon2id$…");
    });
    assert!(errors.contains("passwordHash"), "{errors}");
    let errors = broken("UserRegistered", &|d| d["source"] = json!("shop.auth"));
    assert!(errors.contains("source"), "{errors}");
}

#[test]
fn other_broken_fields_are_refused_where_they_are() {
    let errors = broken("UserRegistered", &|d| d["aggregateVersion"] = json!(2));
    assert!(errors.contains("/aggregateVersion"), "{errors}");
    let errors = broken("UserVerified", &|d| d["data"]["email"] = json!("ann.lee"));
    assert!(errors.contains("/data/email"), "{errors}");
    let errors = broken("UserRegistered", &|d| {
        d["data"]["expiresAt"] = json!("2026-11-03T10:00:00Z");
    });
    assert!(errors.contains("/data/expiresAt"), "{errors}");
    let errors = broken("UserRolesChanged", &|d| {
        d["data"]["userId"] = json!("user-1")
    });
    assert!(errors.contains("/data/userId"), "{errors}");
    let errors = broken("UserVerified", &|d| d["type"] = json!("UserRegistered"));
    assert!(errors.contains("/type"), "{errors}");
}
