//! The users store contract: what every [`ProfileStore`] adapter must do, written once and run
//! against both [`MemoryProfiles`](crate::memory::MemoryProfiles) (the handler tests' `store`
//! module) and the DynamoDB adapter against moto (the end-to-end tests' `stores` module), so
//! the fake the handler tests trust cannot drift from the table.
//!
//! Each check takes a fresh, empty store and panics, like an assert, on the first broken rule.
//! The races run their writes concurrently; each must have exactly one winner.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use shop_domain::testing::{assert_conflict, contract_event};
use shop_domain::{AddressId, Clock, OutgoingEvent, SystemClock, UserId};

use crate::domain::{Address, AddressFields, AuthFacts, Profile, ProfileStore, Role, UserFilter};

fn event(n: usize) -> OutgoingEvent {
    contract_event("shop.users", n)
}

/// Whole milliseconds, as the table stores timestamps.
fn now() -> DateTime<Utc> {
    let now = SystemClock.now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

fn address(user_id: UserId, city: &str, at: DateTime<Utc>) -> Address {
    Address {
        address_id: AddressId::new(),
        user_id,
        fields: AddressFields {
            full_name: "Ann Example".into(),
            phone: None,
            line1: "1 Main Street".into(),
            line2: None,
            city: city.into(),
            region: None,
            postal_code: "10115".into(),
            country: "DE".into(),
        },
        created_at: at,
        updated_at: at,
    }
}

/// Profiles: the first create wins and later ones get the stored profile; updates are
/// conditional on the version, and of two concurrent updates from one version exactly one
/// wins.
///
/// Returns how many updates succeeded, each with one event: the store must hold exactly that
/// many outbox items, which the caller counts its own way.
#[must_use = "the caller checks the outbox holds exactly this many items"]
pub async fn profiles_are_created_once_and_updated_conditionally(
    store: &impl ProfileStore,
) -> usize {
    let at = now();
    let user = UserId::new();
    assert_eq!(store.profile(user).await.unwrap(), None);
    let first = Profile::new(user, "ann@example.com".into(), "Ann".into(), at);
    assert_eq!(store.create_profile(&first).await.unwrap(), first);
    let second = Profile::new(user, "other@example.com".into(), "Other".into(), at);
    assert_eq!(store.create_profile(&second).await.unwrap(), first);
    assert_eq!(store.profile(user).await.unwrap(), Some(first.clone()));

    let renamed = Profile {
        full_name: "Ann Lee".into(),
        ..first.touched(at)
    };
    store
        .update_profile(&renamed, vec![event(1)])
        .await
        .unwrap();
    assert_conflict(store.update_profile(&renamed, vec![event(2)]).await);
    let skipped = renamed.touched(at).touched(at);
    assert_conflict(store.update_profile(&skipped, vec![event(3)]).await);

    let one = Profile {
        phone: Some("+4930123456".into()),
        ..renamed.touched(at)
    };
    let other = Profile {
        full_name: "Ann B".into(),
        ..renamed.touched(at)
    };
    let (a, b) = tokio::join!(
        store.update_profile(&one, vec![event(4)]),
        store.update_profile(&other, vec![event(5)]),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one may win: {a:?} {b:?}");
    let winner = if a.is_ok() { &one } else { &other };
    assert_eq!(store.profile(user).await.unwrap().as_ref(), Some(winner));
    2
}

/// The auth service's facts: they create the profile when there is none, set email and roles
/// when newer than what the profile has seen, set the name only when the profile has none
/// (empty), and change nothing when old or repeated.
pub async fn auth_facts_apply_once_and_in_order(store: &impl ProfileStore) {
    let at = now();
    let user = UserId::new();
    let facts = |version: u64, email: &str, roles: Vec<Role>| AuthFacts {
        user_id: user,
        email: email.into(),
        full_name: "Ann From Auth".into(),
        roles,
        version,
        at,
    };
    store
        .apply_auth_facts(&facts(2, "ann@example.com", vec![Role::User]))
        .await
        .unwrap();
    let made = store
        .profile(user)
        .await
        .unwrap()
        .expect("the facts made a profile");
    assert_eq!(
        (
            made.email.as_str(),
            made.full_name.as_str(),
            made.roles.as_slice()
        ),
        ("ann@example.com", "Ann From Auth", &[Role::User][..])
    );
    assert_eq!((made.roles_version, made.version), (2, 1));

    // The same facts again, and older ones: nothing changes.
    for old in [2, 1] {
        store
            .apply_auth_facts(&facts(old, "old@example.com", vec![Role::Admin]))
            .await
            .unwrap();
        assert_eq!(store.profile(user).await.unwrap(), Some(made.clone()));
    }

    // The user renames themselves; newer facts change email and roles, not the name.
    let renamed = Profile {
        full_name: "Ann Chosen".into(),
        ..made.touched(at)
    };
    store.update_profile(&renamed, Vec::new()).await.unwrap();
    store
        .apply_auth_facts(&facts(
            3,
            "ann@new.example.com",
            vec![Role::User, Role::Seller],
        ))
        .await
        .unwrap();
    let now_seller = store.profile(user).await.unwrap().unwrap();
    assert_eq!(now_seller.full_name, "Ann Chosen");
    assert_eq!(now_seller.email, "ann@new.example.com");
    assert_eq!(now_seller.roles, [Role::User, Role::Seller]);
    assert_eq!((now_seller.roles_version, now_seller.version), (3, 3));

    // A profile the user's first read made keeps its name too.
    let reader = UserId::new();
    let read = Profile::new(reader, "bo@example.com".into(), "Bo".into(), at);
    store.create_profile(&read).await.unwrap();
    let mut later = facts(1, "bo@example.com", vec![Role::User]);
    later.user_id = reader;
    store.apply_auth_facts(&later).await.unwrap();
    let completed = store.profile(reader).await.unwrap().unwrap();
    assert_eq!((completed.full_name.as_str(), completed.version), ("Bo", 2));

    // …while one made without a name (the token had none) gets the name from the facts.
    let nameless = UserId::new();
    let read = Profile::new(nameless, "cy@example.com".into(), String::new(), at);
    store.create_profile(&read).await.unwrap();
    let mut later = facts(1, "cy@example.com", vec![Role::User]);
    later.user_id = nameless;
    store.apply_auth_facts(&later).await.unwrap();
    let completed = store.profile(nameless).await.unwrap().unwrap();
    assert_eq!(completed.full_name, "Ann From Auth");
}

/// Addresses: written with the profile's next version, so a stale profile, a second create of
/// one id or an update or delete of a missing one is refused, and of two concurrent address
/// writes from one profile version exactly one wins; listed oldest first.
pub async fn addresses_are_written_with_the_profiles_next_version(store: &impl ProfileStore) {
    let at = now();
    let user = UserId::new();
    let profile = Profile::new(user, "ann@example.com".into(), "Ann".into(), at);
    store.create_profile(&profile).await.unwrap();

    let home = address(user, "Berlin", at);
    let v2 = Profile {
        address_count: 1,
        default_address_id: Some(home.address_id),
        ..profile.touched(at)
    };
    store.put_address(&v2, &home, true).await.unwrap();
    assert_eq!(
        store.address(user, home.address_id).await.unwrap(),
        Some(home.clone())
    );
    assert_eq!(store.profile(user).await.unwrap(), Some(v2.clone()));
    // The same profile version again, or the same new address at the next one: refused.
    assert_conflict(
        store
            .put_address(&v2, &address(user, "Bonn", at), true)
            .await,
    );
    assert_conflict(store.put_address(&v2.touched(at), &home, true).await);
    // Updating an address that is not there: refused.
    assert_conflict(
        store
            .put_address(&v2.touched(at), &address(user, "Ulm", at), false)
            .await,
    );

    let (work_a, work_b) = (address(user, "Hamburg", at), address(user, "Munich", at));
    let v3 = Profile {
        address_count: 2,
        ..v2.touched(at)
    };
    let (a, b) = tokio::join!(
        store.put_address(&v3, &work_a, true),
        store.put_address(&v3, &work_b, true),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one may win: {a:?} {b:?}");
    let work = if a.is_ok() { &work_a } else { &work_b };

    let moved = Address {
        fields: AddressFields {
            city: "Potsdam".into(),
            ..home.fields.clone()
        },
        updated_at: at + TimeDelta::seconds(1),
        ..home.clone()
    };
    let v4 = v3.touched(at);
    store.put_address(&v4, &moved, false).await.unwrap();
    let listed = store.addresses(user).await.unwrap();
    let mut expected = vec![moved.clone(), work.clone()];
    expected.sort_by_key(|a| a.address_id);
    assert_eq!(listed, expected, "oldest (lowest id) first");

    let v5 = Profile {
        address_count: 1,
        ..v4.touched(at)
    };
    store.delete_address(&v5, work.address_id).await.unwrap();
    assert_conflict(store.delete_address(&v5.touched(at), work.address_id).await);
    assert_conflict(store.delete_address(&v5, home.address_id).await);
    assert_eq!(store.addresses(user).await.unwrap(), vec![moved]);
    assert_eq!(store.address(user, work.address_id).await.unwrap(), None);
    assert_eq!(store.profile(user).await.unwrap(), Some(v5));
    assert_eq!(store.addresses(UserId::new()).await.unwrap(), Vec::new());
}

/// The admin's list: walked page by page it returns every profile passing the filter exactly
/// once, full pages until the last, and no cursor after the last.
pub async fn profile_pages_cover_every_match_once(store: &impl ProfileStore) {
    let at = now();
    let mut sellers = BTreeSet::new();
    let mut everyone = BTreeSet::new();
    for i in 0..23 {
        let user = UserId::new();
        let mut profile = Profile::new(
            user,
            format!("user{i}@example.com"),
            format!("User {i}"),
            at,
        );
        if i % 3 == 0 {
            profile.roles.push(Role::Seller);
            sellers.insert(user);
        }
        store.create_profile(&profile).await.unwrap();
        everyone.insert(user);
    }
    let walk = |filter: UserFilter, size: u32| async move {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = store.list_profiles(&filter, size, after).await.unwrap();
            seen.extend(page.iter().map(|p| p.user_id));
            match next {
                Some(last) => {
                    assert_eq!(page.len(), size as usize, "only the last page may be short");
                    assert_eq!(page.last().map(|p| p.user_id), Some(last));
                    after = Some(last);
                }
                None => return seen,
            }
        }
    };
    let all = walk(UserFilter::default(), 5).await;
    assert_eq!(all.len(), everyone.len(), "no profile twice");
    assert_eq!(all.into_iter().collect::<BTreeSet<_>>(), everyone);
    let role = UserFilter {
        role: Some(Role::Seller),
        ..UserFilter::default()
    };
    let found = walk(role, 3).await;
    assert_eq!(found.len(), sellers.len());
    assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), sellers);
    let search = UserFilter {
        search: Some("user1".into()),
        ..UserFilter::default()
    };
    // user1, user10..user19.
    assert_eq!(walk(search, 4).await.len(), 11);
}
