//! The auth store contract: what every [`AccountStore`] adapter must do, written once and run
//! against both [`MemoryAccounts`](crate::memory::MemoryAccounts) (the handler tests' `store`
//! module) and the DynamoDB adapter against moto (the end-to-end tests' `stores` module), so
//! the fake the handler tests trust cannot drift from the table.
//!
//! Each check takes a fresh, empty store and panics, like an assert, on the first broken rule.
//! The races run their writes concurrently; each must have exactly one winner.

use chrono::{DateTime, TimeDelta, Utc};
use shop_domain::testing::{assert_conflict, contract_event};
use shop_domain::{Clock, OutgoingEvent, SessionId, SystemClock};

use crate::domain::{
    Account, AccountStore, Attempt, EmailPolicy, IssuedAccess, LockoutPolicy, Registration, Role,
    Session,
};

fn event(n: usize) -> OutgoingEvent {
    contract_event("shop.auth", n)
}

/// A new unverified account for `email`, registered at `now`.
pub fn account(email: &str, now: DateTime<Utc>) -> Account {
    let registration = Registration::parse(email, "correct-Horse-7-battery", "Ann Example")
        .expect("a valid registration");
    Account::register(
        &registration,
        "argon2-hash".into(),
        "token-hash".into(),
        now,
    )
}

fn issued(jti: &str) -> IssuedAccess {
    IssuedAccess {
        issued_at: 0,
        jti: jti.into(),
        roles: vec![Role::User],
        email: "ann@example.com".into(),
        name: "Ann Example".into(),
        kid: "key-1".into(),
    }
}

/// Accounts: an email holds one account; a lapsed one is replaced only exactly as it was read
/// (its id and version), and of two registrations replacing it concurrently one wins; updates
/// are conditional on the version; an account is found by email and by user id, a replaced
/// one by neither.
///
/// Returns how many account writes succeeded, each with one event: the store must hold
/// exactly that many outbox items, which the caller counts its own way.
#[must_use = "the caller checks the outbox holds exactly this many items"]
pub async fn accounts_are_unique_per_email_and_written_conditionally(
    store: &impl AccountStore,
) -> usize {
    let now = SystemClock.now();
    let email = format!(
        "ann-{}@example.com",
        SessionId::new().to_string().to_lowercase()
    );
    let first = account(&email, now);
    store
        .create_account(&first, None, vec![event(1)])
        .await
        .unwrap();
    assert_eq!(
        store.account_by_email(&email).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.account(first.user_id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.account(account(&email, now).user_id).await.unwrap(),
        None
    );
    assert_eq!(
        store.account_by_email("nobody@example.com").await.unwrap(),
        None
    );

    // The email is taken, whatever the new account's id.
    assert_conflict(
        store
            .create_account(&account(&email, now), None, vec![event(2)])
            .await,
    );

    // Updates go from the version read to the next one, once.
    let verified = first.touched(now);
    store
        .update_account(&verified, vec![event(3)])
        .await
        .unwrap();
    assert_conflict(store.update_account(&verified, vec![event(4)]).await);
    let skipped = verified.touched(now).touched(now);
    assert_conflict(store.update_account(&skipped, vec![event(5)]).await);
    assert_eq!(
        store.account_by_email(&email).await.unwrap(),
        Some(verified.clone())
    );

    // Replacing a lapsed account needs it exactly as read: not an older version of it…
    assert_conflict(
        store
            .create_account(&account(&email, now), Some(&first), vec![event(6)])
            .await,
    );
    assert_eq!(
        store.account_by_email(&email).await.unwrap(),
        Some(verified)
    );

    // Of two registrations replacing a lapsed account at once, exactly one wins. The lapsed
    // one was never changed (version 1, like the new ones): only its id tells it apart.
    let email = format!(
        "lapsed-{}@example.com",
        SessionId::new().to_string().to_lowercase()
    );
    let lapsed = account(&email, now - TimeDelta::days(30));
    store
        .create_account(&lapsed, None, vec![event(7)])
        .await
        .unwrap();
    let (left, right) = (account(&email, now), account(&email, now));
    let (a, b) = tokio::join!(
        store.create_account(&left, Some(&lapsed), vec![event(8)]),
        store.create_account(&right, Some(&lapsed), vec![event(9)]),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one may win: {a:?} {b:?}");
    let winner = if a.is_ok() { &left } else { &right };
    let loser = if a.is_ok() { &right } else { &left };
    assert_eq!(
        store.account_by_email(&email).await.unwrap().as_ref(),
        Some(winner)
    );
    assert_eq!(
        store.account(winner.user_id).await.unwrap().as_ref(),
        Some(winner)
    );
    assert_eq!(store.account(lapsed.user_id).await.unwrap(), None);
    assert_eq!(store.account(loser.user_id).await.unwrap(), None);
    // A third registration still holding the lapsed account loses too, although the winner
    // is at the same version.
    let late = account(&email, now);
    assert_conflict(
        store
            .create_account(&late, Some(&lapsed), vec![event(10)])
            .await,
    );
    assert_eq!(
        store.account_by_email(&email).await.unwrap().as_ref(),
        Some(winner)
    );
    4
}

/// Sessions: ids are unique; a rotation goes from the generation read to the next one, and of
/// concurrent rotations from one generation exactly one wins; a revoked session, or one from
/// before its account's epoch moved on, rotates no more; revoking an unknown session is not
/// an error. Writes two account events (the caller counts outbox items).
pub async fn sessions_rotate_once_per_generation(store: &impl AccountStore) {
    let now = SystemClock.now();
    let owner = account("bob@example.com", now);
    store
        .create_account(&owner, None, vec![event(20)])
        .await
        .unwrap();
    let user = owner.user_id;
    let session = Session::start(user, 1, "hash-1".into(), issued("j1"), now);
    store.create_session(&session).await.unwrap();
    assert_eq!(
        store.session(session.session_id).await.unwrap(),
        Some(session.clone())
    );
    assert_conflict(store.create_session(&session).await);
    assert_eq!(store.session(SessionId::new()).await.unwrap(), None);

    let second = session.rotated("hash-2".into(), "rk-2".into(), issued("j2"), now);
    store.rotate_session(&second, &owner).await.unwrap();
    assert_conflict(store.rotate_session(&second, &owner).await);

    for round in 0..6 {
        let current = store.session(session.session_id).await.unwrap().unwrap();
        let one = current.rotated(format!("a{round}"), "rk-a".into(), issued("ja"), now);
        let other = current.rotated(format!("b{round}"), "rk-b".into(), issued("jb"), now);
        let (a, b) = tokio::join!(
            store.rotate_session(&one, &owner),
            store.rotate_session(&other, &owner)
        );
        assert!(a.is_ok() != b.is_ok(), "round {round}: {a:?} {b:?}");
        let stored = store.session(session.session_id).await.unwrap().unwrap();
        assert_eq!(
            &stored,
            if a.is_ok() { &one } else { &other },
            "round {round}"
        );
    }

    store.revoke_session(session.session_id).await.unwrap();
    let revoked = store.session(session.session_id).await.unwrap().unwrap();
    assert!(revoked.revoked);
    let after = revoked.rotated("late".into(), "rk".into(), issued("jl"), now);
    assert_conflict(store.rotate_session(&after, &owner).await);
    store.revoke_session(SessionId::new()).await.unwrap();

    // A password change (the account's epoch moves on) ends the sessions of the old epoch:
    // a rotation that read the session before it cannot commit after it.
    let other = Session::start(user, 1, "hash-o".into(), issued("jo"), now);
    store.create_session(&other).await.unwrap();
    let changed = Account {
        session_epoch: owner.session_epoch + 1,
        ..owner.touched(now)
    };
    store
        .update_account(&changed, vec![event(21)])
        .await
        .unwrap();
    let late = other.rotated("hash-late".into(), "rk".into(), issued("jx"), now);
    assert_conflict(store.rotate_session(&late, &owner).await);
    assert_eq!(store.session(SessionId::new()).await.unwrap(), None);
}

/// Password attempts: counted per email within the window, from one again once it has
/// passed, forgotten on clear; a full window refuses without counting; and of many concurrent
/// attempts exactly `max_failures` are allowed (the lockout depends on it).
pub async fn password_attempts_are_counted_per_window(store: &impl AccountStore) {
    let policy = LockoutPolicy::default();
    let now = SystemClock.now();
    let email = "carol@example.com";
    assert_eq!(store.login_attempts(email).await.unwrap(), None);
    for _ in 0..3 {
        let counted = store.count_attempt(email, now, &policy).await.unwrap();
        assert_eq!(counted, Attempt::Allowed);
    }
    let attempts = store.login_attempts(email).await.unwrap().unwrap();
    assert_eq!(attempts.failures, 3);
    assert_eq!(
        attempts.window_start.timestamp_millis(),
        now.timestamp_millis()
    );

    let later = now + policy.window + TimeDelta::seconds(1);
    let counted = store.count_attempt(email, later, &policy).await.unwrap();
    assert_eq!(counted, Attempt::Allowed, "a new window");
    let attempts = store.login_attempts(email).await.unwrap().unwrap();
    assert_eq!(attempts.failures, 1);
    assert_eq!(
        attempts.window_start.timestamp_millis(),
        later.timestamp_millis()
    );
    assert_eq!(
        store.login_attempts("dave@example.com").await.unwrap(),
        None
    );

    store.clear_failed_logins(email).await.unwrap();
    assert_eq!(store.login_attempts(email).await.unwrap(), None);

    let attempts = (0..12).map(|_| store.count_attempt(email, now, &policy));
    let results = futures::future::join_all(attempts).await;
    let allowed = results
        .iter()
        .filter(|r| matches!(r, Ok(Attempt::Allowed)))
        .count();
    assert_eq!(
        allowed, policy.max_failures as usize,
        "exactly max_failures of concurrent attempts are allowed: {results:?}"
    );
    for result in results {
        match result.unwrap() {
            Attempt::Allowed => {}
            Attempt::Locked { retry_after_secs } => {
                assert!((1..=900).contains(&retry_after_secs), "{retry_after_secs}");
            }
        }
    }
    let attempts = store.login_attempts(email).await.unwrap().unwrap();
    assert_eq!(
        attempts.failures, policy.max_failures,
        "refusals are not counted"
    );
}

/// [`AccountStore::count_email`]: one email per cooldown however many race for it, the
/// cooldown's refusals spend nothing of the day's cap, and the cap holds across cooldowns.
pub async fn emails_are_limited_per_cooldown_and_day(store: &impl AccountStore) {
    let policy = EmailPolicy::default();
    let email = "erin@example.com";
    let now = SystemClock.now();
    let claims = (0..12).map(|_| store.count_email(email, now, &policy));
    let results = futures::future::join_all(claims).await;
    let allowed = results
        .iter()
        .filter(|r| matches!(r, Ok(Attempt::Allowed)))
        .count();
    assert_eq!(allowed, 1, "one email per cooldown: {results:?}");
    for result in &results {
        if let Ok(Attempt::Locked { retry_after_secs }) = result {
            assert!((1..=60).contains(retry_after_secs), "{retry_after_secs}");
        }
    }
    assert_eq!(
        store
            .count_email("frank@example.com", now, &policy)
            .await
            .unwrap(),
        Attempt::Allowed,
        "per address"
    );

    // The cap: the first email and four more, one per cooldown; then none until a day has
    // passed since the first.
    let mut at = now;
    for _ in 1..policy.daily_cap {
        at += policy.cooldown + TimeDelta::seconds(1);
        let counted = store.count_email(email, at, &policy).await.unwrap();
        assert_eq!(counted, Attempt::Allowed);
    }
    at += policy.cooldown + TimeDelta::seconds(1);
    match store.count_email(email, at, &policy).await.unwrap() {
        Attempt::Locked { retry_after_secs } => {
            let left = (now + TimeDelta::days(1) - at).num_seconds() as u64;
            assert!(
                (left..=left + 1).contains(&retry_after_secs),
                "{retry_after_secs} vs {left}"
            );
        }
        Attempt::Allowed => panic!("the daily cap was passed"),
    }
    let tomorrow = now + TimeDelta::days(1) + TimeDelta::seconds(1);
    assert_eq!(
        store.count_email(email, tomorrow, &policy).await.unwrap(),
        Attempt::Allowed
    );
}
