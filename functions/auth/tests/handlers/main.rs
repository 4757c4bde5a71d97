//! Handler tests for the auth routes: the fixture events of `events/<function>/`, the
//! in-memory store, a real key set, and a clock the tests move.

mod store;

use shop_adapters::fixture;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use auth::domain::AccountStore;
use auth::memory::MemoryAccounts;
use auth::{AuthConfig, Deps, SigningKeys};
use chrono::TimeDelta;
use lambda_http::{Body, Error, Request, Response};
use serde_json::{Value, json};
use shop_adapters::memory::{FixedClock, MemorySecrets};
use shop_adapters::tokens::{KeySet, verify};
use shop_domain::Clock;

const KEYS: &str = "signing-keys";

struct World {
    deps: Deps,
    accounts: Arc<MemoryAccounts>,
    clock: Arc<FixedClock>,
    keys: KeySet,
}

/// One key set for every test: RSA key generation takes a while.
fn key_set() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::generate(&FixedClock::default()).unwrap())
}

fn world() -> World {
    let clock = Arc::new(FixedClock::default());
    let accounts = Arc::new(MemoryAccounts::new());
    let keys = key_set().clone();
    let secrets = MemorySecrets::new([(KEYS, keys.to_secret_string().as_str())]);
    let deps = Deps {
        accounts: accounts.clone(),
        keys: SigningKeys::Secret {
            source: Arc::new(secrets),
            id: KEYS.to_owned(),
        },
        clock: clock.clone(),
        config: AuthConfig {
            lockout: auth::domain::LockoutPolicy {
                max_failures: 5,
                window: TimeDelta::seconds(60),
            },
            ..AuthConfig::default()
        },
    };
    World {
        deps,
        accounts,
        clock,
        keys,
    }
}

/// The fixture with its body replaced by `body` and, when given, its caller's `sub`.
fn request(fixture: &str, body: Option<Value>, sub: Option<&str>) -> Request {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    if let Some(sub) = sub {
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!(sub);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

/// Runs `handler` on `req` with the world's dependencies; the answer.
macro_rules! call {
    ($world:expr, $handler:path, $req:expr $(,)?) => {
        answer($handler(&$world.deps, $req).await)
    };
}

fn answer(response: Result<Response<Body>, Error>) -> Answer {
    let response = response.expect("no 5xx");
    Answer {
        status: response.status().as_u16(),
        body: serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null),
        retry_after: response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned()),
    }
}

const PASSWORD: &str = "correct horse battery";

/// The token of the last event of `detail_type`, under `field`.
fn token_of(world: &World, detail_type: &str, field: &str) -> String {
    let events = world.accounts.events();
    let event = events
        .iter()
        .rev()
        .find(|e| e.detail_type == detail_type)
        .unwrap_or_else(|| panic!("no {detail_type} event"));
    event.detail["data"][field].as_str().unwrap().to_owned()
}

/// Registers and verifies ann@example.com.
async fn verified(world: &World) -> String {
    let registered = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), None, None),
    );
    assert_eq!(registered.status, 201, "{}", registered.body);
    let token = token_of(world, "UserRegistered", "verificationToken");
    let body = json!({"email": "ann@example.com", "token": token});
    let verified = call!(
        world,
        auth::accounts::verify_email,
        request(fixture!("verify-email/ok"), Some(body), None),
    );
    assert_eq!(verified.status, 200, "{}", verified.body);
    // Past the cooldown the registration's email started.
    world.clock.advance(COOLDOWN);
    registered.body["userId"].as_str().unwrap().to_owned()
}

/// A little more than the account emails' cooldown.
const COOLDOWN: Duration = Duration::from_secs(61);

async fn login(world: &World, password: &str) -> Answer {
    let body = json!({"email": "Ann@example.com ", "password": password});
    call!(
        world,
        auth::sessions::login,
        request(fixture!("login/ok"), Some(body), None),
    )
}

async fn refresh(world: &World, token: &Value) -> Answer {
    let body = json!({ "refreshToken": token });
    call!(
        world,
        auth::sessions::refresh_token,
        request(fixture!("refresh-token/ok"), Some(body), None),
    )
}

#[tokio::test]
async fn registration_needs_valid_fields_and_a_free_email() {
    let world = world();
    let invalid = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/invalid"), None, None),
    );
    assert_eq!(invalid.status, 400);
    let fields: Vec<_> = invalid.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password", "fullName"]);
    let same_as_email =
        json!({"email": "bob@example.com", "password": "BOB@example.com", "fullName": "Bob"});
    let answer = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), Some(same_as_email), None),
    );
    assert_eq!(answer.status, 400, "{}", answer.body);

    // A verified account holds its email.
    verified(&world).await;
    let again = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), None, None),
    );
    assert_eq!(again.status, 409, "{}", again.body);
}

#[tokio::test]
async fn a_new_registration_replaces_an_unverified_one_and_voids_its_tokens() {
    // The pre-hijack: someone registers ann's email with their own password first.
    let world = world();
    let attacker = json!({"email": "ann@example.com", "password": "the attacker's own", "fullName": "Not Ann"});
    let first = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), Some(attacker), None),
    );
    assert_eq!(first.status, 201);
    let attackers_token = token_of(&world, "UserRegistered", "verificationToken");

    // Ann registers anyway: not a 409, her registration replaces the unverified one.
    let mine = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), None, None),
    );
    assert_eq!(mine.status, 201, "{}", mine.body);
    assert_ne!(mine.body["userId"], first.body["userId"]);
    let verify = |token: &str| {
        request(
            fixture!("verify-email/ok"),
            Some(json!({"email": "ann@example.com", "token": token})),
            None,
        )
    };
    assert_eq!(
        call!(
            world,
            auth::accounts::verify_email,
            verify(&attackers_token)
        )
        .status,
        400,
        "the replaced registration's token is void"
    );
    let token = token_of(&world, "UserRegistered", "verificationToken");
    assert_eq!(
        call!(world, auth::accounts::verify_email, verify(&token)).status,
        200
    );
    assert_eq!(login(&world, "the attacker's own").await.status, 401);
    assert_eq!(login(&world, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn registration_stores_hashes_and_sends_the_token_in_the_event_only() {
    let world = world();
    let answer = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), None, None),
    );
    let account = world
        .accounts
        .account_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.body["userId"], json!(account.user_id));
    assert!(account.password_hash.starts_with("$argon2id$"));
    let token = token_of(&world, "UserRegistered", "verificationToken");
    assert!(token.len() >= 22, "at least 128 bits");
    let stored = account.verification.clone().unwrap();
    assert_ne!(stored.hash, token);
    assert_eq!(stored.hash, auth::secret::hash(&token));
    assert!(!format!("{account:?}").contains(PASSWORD));
}

#[tokio::test]
async fn verification_tokens_are_single_use_and_expire() {
    let world = world();
    call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), None, None),
    );
    let token = token_of(&world, "UserRegistered", "verificationToken");
    let verify = |token: &str| {
        request(
            fixture!("verify-email/ok"),
            Some(json!({"email": "ann@example.com", "token": token})),
            None,
        )
    };

    // Unverified: the right password gets 403, a wrong one 401.
    assert_eq!(login(&world, PASSWORD).await.status, 403);
    assert_eq!(login(&world, "wrong password!").await.status, 401);

    assert_eq!(
        call!(world, auth::accounts::verify_email, verify("wrong")).status,
        400
    );
    // A new token replaces the old one; the old one is refused.
    world.clock.advance(COOLDOWN);
    let resend = request(fixture!("resend-verification/ok"), None, None);
    assert_eq!(
        call!(world, auth::accounts::resend_verification, resend).status,
        202
    );
    let fresh = token_of(&world, "VerificationEmailRequested", "verificationToken");
    assert_eq!(
        call!(world, auth::accounts::verify_email, verify(&token)).status,
        400
    );
    world.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        call!(world, auth::accounts::verify_email, verify(&fresh)).status,
        400,
        "expired"
    );

    let resend = request(fixture!("resend-verification/ok"), None, None);
    assert_eq!(
        call!(world, auth::accounts::resend_verification, resend).status,
        202,
        "a day later"
    );
    let newest = token_of(&world, "VerificationEmailRequested", "verificationToken");
    assert_eq!(
        call!(world, auth::accounts::verify_email, verify(&newest)).status,
        200
    );
    assert_eq!(
        call!(world, auth::accounts::verify_email, verify(&newest)).status,
        400,
        "used"
    );
    assert!(
        world
            .accounts
            .events()
            .iter()
            .any(|e| e.detail_type == "UserVerified")
    );
    assert_eq!(login(&world, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn resend_and_forgot_answer_202_for_unknown_emails_without_events() {
    let world = world();
    let body = json!({"email": "nobody@example.com"});
    let resend = request(fixture!("resend-verification/ok"), Some(body.clone()), None);
    assert_eq!(
        call!(world, auth::accounts::resend_verification, resend).status,
        202
    );
    world.clock.advance(COOLDOWN);
    let forgot = request(fixture!("forgot-password/ok"), Some(body), None);
    assert_eq!(
        call!(world, auth::passwords::forgot_password, forgot).status,
        202
    );
    assert!(world.accounts.events().is_empty());
}

/// Asks for `route`'s email for `email`: the answer's status and `Retry-After`.
async fn ask_email(world: &World, route: &str, email: &str) -> (u16, Option<String>) {
    let body = Some(json!({ "email": email }));
    let answer = match route {
        "resend-verification" => call!(
            world,
            auth::accounts::resend_verification,
            request(fixture!("resend-verification/ok"), body, None)
        ),
        _ => call!(
            world,
            auth::passwords::forgot_password,
            request(fixture!("forgot-password/ok"), body, None)
        ),
    };
    (answer.status, answer.retry_after)
}

#[tokio::test]
async fn an_address_gets_one_account_email_per_cooldown_known_or_not() {
    let world = world();
    verified(&world).await;
    for email in ["ann@example.com", "nobody@example.com"] {
        assert_eq!(
            ask_email(&world, "forgot-password", email).await,
            (202, None)
        );
        // Whichever route asks next, within the cooldown: refused, and said when to retry.
        for route in ["forgot-password", "resend-verification"] {
            let (status, retry_after) = ask_email(&world, route, email).await;
            assert_eq!(status, 429, "{route} {email}");
            assert_eq!(retry_after.as_deref(), Some("60"), "{route} {email}");
        }
    }
    let resets = |world: &World| {
        world
            .accounts
            .events()
            .iter()
            .filter(|e| e.detail_type == "PasswordResetRequested")
            .count()
    };
    assert_eq!(resets(&world), 1, "the refused requests sent nothing");

    // The daily cap: five in all (the registration's included), one per cooldown.
    for _ in 2..5 {
        world.clock.advance(COOLDOWN);
        assert_eq!(
            ask_email(&world, "forgot-password", "ann@example.com")
                .await
                .0,
            202
        );
    }
    world.clock.advance(COOLDOWN);
    let (status, retry_after) = ask_email(&world, "forgot-password", "ann@example.com").await;
    assert_eq!(status, 429);
    let retry_after: u64 = retry_after.unwrap().parse().unwrap();
    assert!(
        retry_after > 23 * 3600,
        "until the day has passed: {retry_after}"
    );
    assert_eq!(resets(&world), 4);
}

#[tokio::test]
async fn a_registration_sends_its_email_whatever_cooldown_is_running() {
    // The attacker registers the victim's address and asks for a resend, starting the
    // cooldown; the victim's own registration must still get its verification email.
    let world = world();
    let attacker = json!({"email": "ann@example.com", "password": "attacker's password", "fullName": "Mallory"});
    let registered = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), Some(attacker), None)
    );
    assert_eq!(registered.status, 201);
    world.clock.advance(COOLDOWN);
    assert_eq!(
        ask_email(&world, "resend-verification", "ann@example.com")
            .await
            .0,
        202
    );

    let victim = call!(
        world,
        auth::accounts::register,
        request(fixture!("register/ok"), None, None)
    );
    assert_eq!(victim.status, 201, "{}", victim.body);
    let registrations = world
        .accounts
        .events()
        .iter()
        .filter(|e| e.detail_type == "UserRegistered")
        .count();
    assert_eq!(registrations, 2, "the victim's verification email is sent");
    assert_eq!(
        ask_email(&world, "resend-verification", "ann@example.com")
            .await
            .0,
        429,
        "and it starts a cooldown of its own"
    );
}

#[tokio::test]
async fn login_issues_a_gateway_valid_access_token() {
    let world = world();
    let user_id = verified(&world).await;
    let answer = login(&world, PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["tokenType"], "Bearer");
    assert_eq!(answer.body["expiresIn"], 900);
    let config = &world.deps.config;
    let claims = verify(
        answer.body["accessToken"].as_str().unwrap(),
        &world.keys.jwks(),
        &config.issuer,
        &config.audience,
        world.clock.now(),
    )
    .unwrap();
    assert_eq!(claims.sub, user_id);
    assert_eq!(claims.email.as_deref(), Some("ann@example.com"));
    assert_eq!(claims.roles, ["User"]);
    assert_eq!(claims.scope, "shop/user");
}

#[tokio::test]
async fn five_failures_lock_the_email_until_the_window_passes() {
    let world = world();
    verified(&world).await;
    for _ in 0..5 {
        assert_eq!(login(&world, "wrong password!").await.status, 401);
    }
    let locked = login(&world, PASSWORD).await;
    assert_eq!(locked.status, 429);
    assert_eq!(locked.retry_after.as_deref(), Some("60"));
    world.clock.advance(Duration::from_secs(60));
    assert_eq!(login(&world, PASSWORD).await.status, 200);

    // Unknown emails are counted the same way.
    let body = json!({"email": "nobody@example.com", "password": PASSWORD});
    for _ in 0..5 {
        let req = request(fixture!("login/ok"), Some(body.clone()), None);
        assert_eq!(call!(world, auth::sessions::login, req).status, 401);
    }
    let req = request(fixture!("login/ok"), Some(body), None);
    assert_eq!(call!(world, auth::sessions::login, req).status, 429);
}

#[tokio::test]
async fn refresh_rotates_replays_within_grace_and_revokes_on_reuse() {
    let world = world();
    verified(&world).await;
    let first = login(&world, PASSWORD).await.body;
    world.clock.advance(Duration::from_secs(5));
    let second = refresh(&world, &first["refreshToken"]).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_ne!(second.body["refreshToken"], first["refreshToken"]);
    assert_ne!(second.body["accessToken"], first["accessToken"]);

    // A second tab within the grace period gets the very same pair.
    world.clock.advance(Duration::from_secs(3));
    let twin = refresh(&world, &first["refreshToken"]).await;
    assert_eq!(twin.status, 200, "{}", twin.body);
    assert_eq!(twin.body["refreshToken"], second.body["refreshToken"]);
    assert_eq!(twin.body["accessToken"], second.body["accessToken"]);

    // After the grace period the consumed token is reuse: the whole family ends.
    world.clock.advance(Duration::from_secs(10));
    assert_eq!(refresh(&world, &first["refreshToken"]).await.status, 401);
    assert_eq!(
        refresh(&world, &second.body["refreshToken"]).await.status,
        401
    );
    assert!(world.accounts.sessions().iter().all(|s| s.revoked));
}

#[tokio::test]
async fn a_secret_never_issued_is_a_plain_401_that_ends_nothing() {
    // Session ids are in the logs; knowing one must not be enough to end the session.
    let world = world();
    verified(&world).await;
    let pair = login(&world, PASSWORD).await.body;
    let token = pair["refreshToken"].as_str().unwrap();
    let (session_id, _) = token.split_once('.').unwrap();
    let forged = format!("{session_id}.{}", "A".repeat(43));
    assert_eq!(refresh(&world, &json!(forged)).await.status, 401);
    assert!(world.accounts.sessions().iter().all(|s| !s.revoked));
    assert_eq!(refresh(&world, &pair["refreshToken"]).await.status, 200);
}

#[tokio::test]
async fn refresh_reloads_roles_and_logout_ends_the_session() {
    let world = world();
    let user_id = verified(&world).await;
    let first = login(&world, PASSWORD).await.body;
    let path_fixed: Value = {
        let mut event: Value = serde_json::from_str(fixture!("set-user-roles/ok")).unwrap();
        event["pathParameters"]["id"] = json!(user_id);
        event["body"] = json!(json!({"roles": ["Seller"]}).to_string());
        event
    };
    let changed = call!(
        world,
        auth::accounts::set_user_roles,
        lambda_http::request::from_str(&path_fixed.to_string()).unwrap(),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["roles"], json!(["User", "Seller"]));
    assert!(
        world
            .accounts
            .events()
            .iter()
            .any(|e| e.detail_type == "UserRolesChanged")
    );

    let second = refresh(&world, &first["refreshToken"]).await.body;
    let config = &world.deps.config;
    let claims = verify(
        second["accessToken"].as_str().unwrap(),
        &world.keys.jwks(),
        &config.issuer,
        &config.audience,
        world.clock.now(),
    )
    .unwrap();
    assert_eq!(claims.scope, "shop/user shop/seller");

    let logout = request(
        fixture!("logout/ok"),
        Some(json!({"refreshToken": second["refreshToken"]})),
        None,
    );
    assert_eq!(call!(world, auth::sessions::logout, logout).status, 204);
    assert_eq!(refresh(&world, &second["refreshToken"]).await.status, 401);
}

#[tokio::test]
async fn set_roles_needs_an_admin_and_an_existing_user() {
    let world = world();
    let mut event: Value = serde_json::from_str(fixture!("set-user-roles/ok")).unwrap();
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = json!(["shop/user", "shop/seller"]);
    event["requestContext"]["authorizer"]["jwt"]["claims"]["scope"] =
        json!("shop/user shop/seller");
    let seller = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(
        call!(world, auth::accounts::set_user_roles, seller).status,
        403
    );
    let missing = request(fixture!("set-user-roles/ok"), None, None);
    assert_eq!(
        call!(world, auth::accounts::set_user_roles, missing).status,
        404
    );
    let bad = request(
        fixture!("set-user-roles/ok"),
        Some(json!({"roles": ["Root"]})),
        None,
    );
    assert_eq!(
        call!(world, auth::accounts::set_user_roles, bad).status,
        400
    );
}

#[tokio::test]
async fn forgot_and_reset_change_the_password_and_end_every_session() {
    let world = world();
    verified(&world).await;
    let session = login(&world, PASSWORD).await.body;
    let forgot = request(fixture!("forgot-password/ok"), None, None);
    assert_eq!(
        call!(world, auth::passwords::forgot_password, forgot).status,
        202
    );
    let token = token_of(&world, "PasswordResetRequested", "resetToken");
    let reset = |token: &str| {
        request(
            fixture!("reset-password/ok"),
            Some(
                json!({"email": "ann@example.com", "token": token, "newPassword": "a new long password"}),
            ),
            None,
        )
    };
    assert_eq!(
        call!(world, auth::passwords::reset_password, reset("wrong")).status,
        400
    );
    assert_eq!(
        call!(world, auth::passwords::reset_password, reset(&token)).status,
        200
    );
    assert_eq!(
        call!(world, auth::passwords::reset_password, reset(&token)).status,
        400,
        "used"
    );
    assert_eq!(login(&world, PASSWORD).await.status, 401);
    assert_eq!(login(&world, "a new long password").await.status, 200);
    assert_eq!(refresh(&world, &session["refreshToken"]).await.status, 401);
}

#[tokio::test]
async fn change_password_checks_the_old_one_and_keeps_only_the_new_session() {
    let world = world();
    let user_id = verified(&world).await;
    let other = login(&world, PASSWORD).await.body;
    let change = |current: &str| {
        request(
            fixture!("change-password/ok"),
            Some(json!({"currentPassword": current, "newPassword": "a new long password"})),
            Some(&user_id),
        )
    };
    let wrong = call!(
        world,
        auth::passwords::change_password,
        change("not my password"),
    );
    assert_eq!(wrong.status, 400);
    let changed = call!(world, auth::passwords::change_password, change(PASSWORD));
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(refresh(&world, &other["refreshToken"]).await.status, 401);
    assert_eq!(
        refresh(&world, &changed.body["refreshToken"]).await.status,
        200
    );
}

#[tokio::test]
async fn wrong_current_passwords_count_in_the_login_lockout() {
    let world = world();
    let user_id = verified(&world).await;
    let change = |current: &str| {
        request(
            fixture!("change-password/ok"),
            Some(json!({"currentPassword": current, "newPassword": "a new long password"})),
            Some(&user_id),
        )
    };
    assert_eq!(login(&world, "wrong password!").await.status, 401);
    for _ in 0..4 {
        let wrong = call!(world, auth::passwords::change_password, change("a guess"));
        assert_eq!(wrong.status, 400, "{}", wrong.body);
    }
    let locked = call!(world, auth::passwords::change_password, change(PASSWORD));
    assert_eq!(locked.status, 429, "even the right one, once locked");
    assert_eq!(locked.retry_after.as_deref(), Some("60"));
    assert_eq!(
        login(&world, PASSWORD).await.status,
        429,
        "one lockout for both"
    );
    world.clock.advance(Duration::from_secs(60));
    let changed = call!(world, auth::passwords::change_password, change(PASSWORD));
    assert_eq!(changed.status, 200, "{}", changed.body);
}

#[tokio::test]
async fn the_jwks_lists_the_public_keys_only() {
    let world = world();
    let request = request(fixture!("get-jwks/ok"), None, None);
    // The public copy the key manager writes; the private key set is not in this source.
    let public = MemorySecrets::new([("public-keys", world.keys.jwks().to_string().as_str())]);
    let keys = auth::PublicKeys {
        source: Arc::new(public),
        id: "public-keys".to_owned(),
    };
    let answer = answer(auth::sessions::get_jwks(&keys, request).await);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, world.keys.jwks());
    assert!(!answer.body.to_string().contains("PRIVATE"));
}

#[tokio::test]
async fn the_jwks_is_unavailable_until_the_key_manager_publishes_it() {
    let request = request(fixture!("get-jwks/ok"), None, None);
    let keys = auth::PublicKeys {
        source: Arc::new(MemorySecrets::new([("public-keys", "{}")])),
        id: "public-keys".to_owned(),
    };
    // A 5xx is an `Err`, so that the function's errors metric and alarm count it.
    let error = auth::sessions::get_jwks(&keys, request).await.unwrap_err();
    assert!(error.to_string().contains("not been published"), "{error}");
}
