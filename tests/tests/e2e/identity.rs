//! Identity end to end: accounts, sessions, tokens, profiles and addresses through the local
//! API Gateway (its JWT authorizer validating the tokens the login function signs), the mail
//! the notifications service sends through SES into the local mailbox, and the profiles the
//! users service builds from the auth service's events.
//!
//! Every test registers its own accounts (emails with a fresh suffix). The test cloud runs
//! with a 4 s lockout window and a 5 s refresh grace period (`shop_e2e::shop`).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use localcloud::LocalCloud;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use shop_adapters::tokens::{AccessClaims, KeySet, sign};
use shop_e2e::accounts::{
    SEEDED, SEEDED_PASSWORD, Shop, claims, code_in, login, register_verified, seed_accounts,
};
use shop_e2e::{EMAIL_COOLDOWN_SECS, LOCKOUT_WINDOW_SECS, REFRESH_GRACE_SECS, http, shop};

use crate::client::{BusTap, anonymous, as_user, bearer, suffix};

const PASSWORD: &str = "correct horse battery";

fn shop_of(cloud: &LocalCloud) -> Shop {
    Shop {
        api_url: cloud.api_url().to_owned(),
        edge_url: cloud.edge_url().to_owned(),
        http: http(),
    }
}

fn email(name: &str) -> String {
    format!("{name}-{}@example.com", suffix())
}

async fn refresh(cloud: &LocalCloud, token: &Value) -> (u16, Value) {
    let answer = anonymous(cloud)
        .post("/api/auth/refresh", json!({ "refreshToken": token }))
        .await;
    (answer.status.as_u16(), answer.body)
}

/// GETs `path` until `done` holds for the body (eventual: the users consumer), at most 30 s.
async fn eventually(
    client: &crate::client::Client<'_>,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..150 {
        let answer = client.get(path).await;
        if answer.status == 200 && done(&answer.body) {
            return answer.body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("GET {path} never reached the expected state");
}

#[test]
fn the_account_journey_from_registration_to_password_reset() {
    shop().run(|cloud| async move {
        let shop = shop_of(cloud);
        let public = anonymous(cloud);
        let address = email("Ann.Journey");
        let lower = address.to_lowercase();

        // Register; the address is normalised.
        let registered = public
            .post("/api/auth/register", json!({"email": format!(" {address} "), "password": PASSWORD, "fullName": "Ann Journey"}))
            .await;
        assert_eq!(registered.status, 201, "{}", registered.body);
        let user_id = registered.body["userId"].as_str().unwrap().to_owned();

        // The verification email: a link and the code on a line of its own.
        let mail = shop.mail(&lower, "Verify your email address", 0).await.unwrap();
        let code = code_in(&mail).unwrap();
        assert!(code.len() >= 22 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let body = mail["body"].as_str().unwrap();
        let encoded: String = form_urlencoded::byte_serialize(lower.as_bytes()).collect();
        assert!(body.contains(&format!("/verify-email?email={encoded}&token={code}")), "{body}");

        // Unverified: the right password is a 403, a wrong one the usual 401.
        let early = public.post("/api/auth/login", json!({"email": lower, "password": PASSWORD})).await;
        assert_eq!(early.status, 403, "{}", early.body);
        let wrong = public.post("/api/auth/verify-email", json!({"email": lower, "token": "x".repeat(43)})).await;
        assert_eq!(wrong.status, 400);
        let verified = public.post("/api/auth/verify-email", json!({"email": lower, "token": code})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        let used = public.post("/api/auth/verify-email", json!({"email": lower, "token": code})).await;
        assert_eq!(used.status, 400, "a verification token works once");
        let again = public
            .post("/api/auth/register", json!({"email": lower, "password": PASSWORD, "fullName": "Ann"}))
            .await;
        assert_eq!(again.status, 409, "a verified account holds its email: {}", again.body);

        // Log in: an RS256 token the gateway accepts, with every claim the issue names.
        let pair = login(&shop, &address, PASSWORD).await.unwrap();
        assert_eq!(pair["tokenType"], "Bearer");
        assert!(pair["expiresIn"].as_i64().unwrap() <= 3600);
        let access = pair["accessToken"].as_str().unwrap();
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(access.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert!(header["kid"].is_string());
        let c = claims(access).unwrap();
        assert_eq!(c["sub"], user_id.as_str());
        assert_eq!(c["email"], lower.as_str());
        assert_eq!(c["name"], "Ann Journey");
        assert_eq!(c["roles"], json!(["User"]));
        assert_eq!(c["scope"], "shop/user");
        assert_eq!(c["iss"], cloud.stack().outputs["TokenIssuer"]);
        assert_eq!(c["aud"], cloud.stack().outputs["TokenAudience"]);
        assert!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap() <= 3600);

        // The profile: the users service made it from UserVerified (or the first read did,
        // and the event completes it with the registered name).
        let me = bearer(cloud, access);
        let profile = eventually(&me, "/api/users/me", |p| p["fullName"] == "Ann Journey").await;
        assert_eq!(profile["userId"], user_id.as_str());
        assert_eq!(profile["email"], lower.as_str());

        // Refresh rotates; two tabs refreshing at once get the same new pair.
        let (status, second) = refresh(cloud, &pair["refreshToken"]).await;
        assert_eq!(status, 200, "{second}");
        assert_ne!(second["refreshToken"], pair["refreshToken"]);
        let (a, b) = tokio::join!(refresh(cloud, &second["refreshToken"]), refresh(cloud, &second["refreshToken"]));
        assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
        assert_eq!(a.1["refreshToken"], b.1["refreshToken"]);
        assert_eq!(a.1["accessToken"], b.1["accessToken"]);
        let third = a.1;
        assert_eq!(bearer(cloud, third["accessToken"].as_str().unwrap()).get("/api/users/me").await.status, 200);

        // After the grace period, the consumed token is reuse: the whole family ends.
        tokio::time::sleep(Duration::from_secs(REFRESH_GRACE_SECS + 1)).await;
        let (status, body) = refresh(cloud, &second["refreshToken"]).await;
        assert_eq!(status, 401, "{body}");
        let (status, _) = refresh(cloud, &third["refreshToken"]).await;
        assert_eq!(status, 401, "reuse revoked the family's current token too");

        // Logout ends a session; its refresh token is refused afterwards.
        let session = login(&shop, &address, PASSWORD).await.unwrap();
        let out = public.post("/api/auth/logout", json!({"refreshToken": session["refreshToken"]})).await;
        assert_eq!(out.status, 204, "{}", out.body);
        assert_eq!(refresh(cloud, &session["refreshToken"]).await.0, 401);

        // Forgot → the reset email → reset → only the new password works.
        let other = login(&shop, &address, PASSWORD).await.unwrap();
        let forgot = public.post("/api/auth/forgot-password", json!({"email": address})).await;
        assert_eq!(forgot.status, 202);
        let unknown = public.post("/api/auth/forgot-password", json!({"email": email("nobody")})).await;
        assert_eq!(unknown.status, 202, "no account enumeration");
        let reset_mail = shop.mail(&lower, "Reset your password", 0).await.unwrap();
        let reset_code = code_in(&reset_mail).unwrap();
        assert!(reset_mail["body"].as_str().unwrap().contains("/reset-password?email="));
        let reset = public
            .post("/api/auth/reset-password", json!({"email": lower, "token": reset_code, "newPassword": "a brand new password"}))
            .await;
        assert_eq!(reset.status, 200, "{}", reset.body);
        let old = public.post("/api/auth/login", json!({"email": lower, "password": PASSWORD})).await;
        assert_eq!(old.status, 401);
        login(&shop, &address, "a brand new password").await.unwrap();
        assert_eq!(refresh(cloud, &other["refreshToken"]).await.0, 401, "a reset ends every session");
    });
}

#[test]
fn five_failed_logins_lock_the_email_until_the_window_passes() {
    shop().run(|cloud| async move {
        let shop = shop_of(cloud);
        let address = email("locked");
        register_verified(&shop, &address, "Lou Locked", PASSWORD)
            .await
            .unwrap();
        let public = anonymous(cloud);
        let attempt = |password: &'static str| {
            let body = json!({"email": address, "password": password});
            let public = &public;
            async move { public.post("/api/auth/login", body).await }
        };
        for _ in 0..5 {
            assert_eq!(attempt("not the password").await.status, 401);
        }
        let locked = attempt(PASSWORD).await;
        assert_eq!(locked.status, 429, "{}", locked.body);
        let retry_after: u64 = locked.header("retry-after").parse().unwrap();
        assert!(
            (1..=LOCKOUT_WINDOW_SECS).contains(&retry_after),
            "{retry_after}"
        );
        tokio::time::sleep(Duration::from_secs(retry_after)).await;
        assert_eq!(
            attempt(PASSWORD).await.status,
            200,
            "the right password works after the window"
        );
    });
}

#[test]
fn an_attacker_who_registers_the_victims_email_first_gets_nothing() {
    shop().run(|cloud| async move {
        let shop = shop_of(cloud);
        let public = anonymous(cloud);
        let victim = email("victim");
        let register = |password: &'static str| {
            let body = json!({"email": victim, "password": password, "fullName": "Vic Tim"});
            let public = &public;
            async move { public.post("/api/auth/register", body).await }
        };
        const SUBJECT: &str = "Verify your email address";

        // The attacker registers first, with a password of their own.
        let attacker = register("the attacker knows this").await;
        assert_eq!(attacker.status, 201, "{}", attacker.body);
        let attackers_mail = shop.mail(&victim, SUBJECT, 0).await.unwrap();

        // The victim registers too: not blocked, and the pending account becomes theirs.
        let mine = register(PASSWORD).await;
        assert_eq!(
            mine.status, 201,
            "the victim is not locked out: {}",
            mine.body
        );
        assert_ne!(mine.body["userId"], attacker.body["userId"]);
        let mail = shop.mail(&victim, SUBJECT, 1).await.unwrap();
        let verify = |code: String| {
            let body = json!({"email": victim, "token": code});
            let public = &public;
            async move { public.post("/api/auth/verify-email", body).await.status }
        };
        assert_eq!(
            verify(code_in(&attackers_mail).unwrap()).await,
            400,
            "the first registration's link is void"
        );
        assert_eq!(verify(code_in(&mail).unwrap()).await, 200);

        let login_with = |password: &'static str| {
            let body = json!({"email": victim, "password": password});
            let public = &public;
            async move { public.post("/api/auth/login", body).await.status }
        };
        assert_eq!(login_with("the attacker knows this").await, 401);
        assert_eq!(login_with(PASSWORD).await, 200);
        assert_eq!(
            register("the attacker knows this").await.status,
            409,
            "now it is held"
        );
    });
}

#[test]
fn parallel_guesses_cannot_outrun_the_lockout() {
    // More requests in flight than the local cloud's instances: each is counted before its
    // password is checked, so one window checks at most five passwords however many race.
    shop().run(|cloud| async move {
        let shop = shop_of(cloud);
        let address = email("raced");
        register_verified(&shop, &address, "Rae Raced", PASSWORD)
            .await
            .unwrap();
        let public = anonymous(cloud);
        let started = std::time::Instant::now();
        let guesses = (0..20).map(|n| {
            let body = json!({"email": address, "password": format!("guess number {n}")});
            let public = &public;
            async move { public.post("/api/auth/login", body).await }
        });
        let answers = futures::future::join_all(guesses).await;
        let elapsed = started.elapsed();
        let status = |code: u16| answers.iter().filter(|a| a.status == code).count();
        assert_eq!(status(401) + status(429), 20, "no other answer (no 5xx)");
        // Every count lands in one window unless the burst outlasted it (then two).
        let windows = if elapsed.as_secs() < LOCKOUT_WINDOW_SECS {
            1
        } else {
            2
        };
        assert!(
            status(401) <= 5 * windows && status(401) >= 5,
            "{} passwords checked in {elapsed:?}",
            status(401)
        );
        assert_eq!(
            anonymous(cloud)
                .post(
                    "/api/auth/login",
                    json!({"email": address, "password": PASSWORD})
                )
                .await
                .status,
            429,
            "locked for the right password too"
        );
    });
}

/// Waits out the test cloud's cooldown between two account emails to one address.
async fn cooled_down() {
    tokio::time::sleep(Duration::from_secs(EMAIL_COOLDOWN_SECS)).await;
}

#[test]
fn parallel_requests_get_one_email_per_address_and_cooldown() {
    // More requests in flight than the local cloud's instances, for an address with an
    // account and one without: each is counted before anything is looked up or sent, so
    // one cooldown sends at most one email, and the two addresses get the same answers.
    shop().run(|cloud| async move {
        let shop = shop_of(cloud);
        let known = email("bombed");
        register_verified(&shop, &known, "Bo Bombed", PASSWORD)
            .await
            .unwrap();
        cooled_down().await;
        let public = anonymous(cloud);
        for address in [known.clone(), email("unknown-bombed")] {
            let started = std::time::Instant::now();
            let requests = (0..20).map(|_| {
                let public = &public;
                let body = json!({ "email": address });
                async move { public.post("/api/auth/forgot-password", body).await }
            });
            let answers = futures::future::join_all(requests).await;
            let elapsed = started.elapsed();
            let status = |code: u16| answers.iter().filter(|a| a.status == code).count();
            assert_eq!(status(202) + status(429), 20, "no other answer (no 5xx)");
            let windows = elapsed.as_secs() / EMAIL_COOLDOWN_SECS + 1;
            assert!(
                status(202) >= 1 && status(202) as u64 <= windows,
                "{} emails in {elapsed:?}",
                status(202)
            );
            let refused = answers.iter().find(|a| a.status == 429).expect("a 429");
            let retry_after: u64 = refused.header("retry-after").parse().unwrap();
            assert!(
                (1..=EMAIL_COOLDOWN_SECS).contains(&retry_after),
                "{retry_after}"
            );
            if address == known {
                // Every 202 sends one email (delivered through the bus and a queue, so wait
                // for them), and nothing else sends any.
                shop.mail(&known, "Reset your password", status(202) - 1)
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
                let mails = shop.mails(&known, "Reset your password").await.unwrap();
                assert_eq!(mails.len(), status(202), "one email per 202");
            }
        }
    });
}

/// A token for the shop's issuer and audience with `claims` changed by `edit`, signed with
/// the stack's current key.
async fn forged(cloud: &LocalCloud, edit: impl FnOnce(&mut AccessClaims)) -> String {
    let keys = key_set(cloud).await;
    let outputs = &cloud.stack().outputs;
    let mut claims = AccessClaims::new(
        "01JBQ00000000000000000AN01",
        vec!["User".to_owned()],
        outputs["TokenIssuer"].as_str().unwrap(),
        outputs["TokenAudience"].as_str().unwrap(),
        Utc::now(),
        TimeDelta::minutes(10),
    );
    edit(&mut claims);
    sign(&claims, keys.signing_key()).unwrap()
}

async fn key_set(cloud: &LocalCloud) -> KeySet {
    let arn = cloud.stack().outputs["SigningKeysSecretArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = aws_sdk_secretsmanager::Client::new(&cloud.sdk_config())
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap();
    KeySet::from_secret_string(secret.secret_string().unwrap())
        .unwrap()
        .unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[test]
fn token_attacks_are_refused_at_the_gateway() {
    shop().run(|cloud| async move {
        let valid = forged(cloud, |_| {}).await;
        assert_eq!(
            bearer(cloud, &valid).get("/api/admin/health").await.status,
            403,
            "the control: valid but not an admin"
        );
        let keys = key_set(cloud).await;
        let [header, payload, _] = valid.split('.').collect::<Vec<_>>()[..] else {
            unreachable!()
        };
        let mut raised = claims(&valid).unwrap();
        raised["roles"] = json!(["User", "Seller", "Admin"]);
        raised["scope"] = json!("shop/user shop/seller shop/admin");
        let hs_header = json!({"alg": "HS256", "typ": "JWT", "kid": keys.signing_key().kid});
        let hs_input = format!("{}.{payload}", b64(&hs_header));
        let public_pem = serde_json::to_string(&keys.signing_key().public_jwk).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(public_pem.as_bytes()).unwrap();
        mac.update(hs_input.as_bytes());
        let hs256 = format!(
            "{hs_input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        let mut unknown_key = keys.signing_key().clone();
        unknown_key.kid = "01JBQ0000000000000000NOKEY".to_owned();
        let outputs = &cloud.stack().outputs;
        let unknown_kid = sign(
            &AccessClaims::new(
                "01JBQ00000000000000000AN01",
                vec!["User".into()],
                outputs["TokenIssuer"].as_str().unwrap(),
                outputs["TokenAudience"].as_str().unwrap(),
                Utc::now(),
                TimeDelta::minutes(10),
            ),
            &unknown_key,
        )
        .unwrap();
        let attacks = [
            (
                "alg none",
                format!("{}.{payload}.", b64(&json!({"alg": "none", "typ": "JWT"}))),
            ),
            ("HS256 signed with the public key", hs256),
            (
                "expired",
                forged(cloud, |c| {
                    c.iat -= 3600;
                    c.nbf = Some(c.iat);
                    c.exp = Utc::now().timestamp() - 120;
                })
                .await,
            ),
            (
                "nbf in the future",
                forged(cloud, |c| c.nbf = Some(Utc::now().timestamp() + 600)).await,
            ),
            (
                "wrong aud",
                forged(cloud, |c| c.aud = "someone-else".to_owned()).await,
            ),
            (
                "wrong iss",
                forged(cloud, |c| c.iss = "https://evil.example".to_owned()).await,
            ),
            (
                "roles raised in the payload",
                format!(
                    "{header}.{}.{}",
                    b64(&raised),
                    valid.split('.').nth(2).unwrap()
                ),
            ),
            ("unknown kid", unknown_kid),
            ("not a JWT", "garbage".to_owned()),
        ];
        for (name, token) in attacks {
            for path in ["/api/users/me", "/api/admin/users"] {
                let answer = bearer(cloud, &token).get(path).await;
                assert_eq!(answer.status, 401, "{name} on {path}: {}", answer.body);
                assert!(
                    answer.header("www-authenticate").starts_with("Bearer"),
                    "{name}"
                );
            }
        }
        let none = anonymous(cloud).get("/api/users/me").await;
        assert_eq!(none.status, 401, "no token on a protected route");
    });
}

#[test]
fn roles_addresses_and_ownership() {
    shop().run(|cloud| async move {
        let shop = shop_of(cloud);
        let (ann, bob) = (email("ann"), email("bob"));
        let ann_id = register_verified(&shop, &ann, "Ann Owner", PASSWORD).await.unwrap();
        register_verified(&shop, &bob, "Bob Other", PASSWORD).await.unwrap();
        let ann_pair = login(&shop, &ann, PASSWORD).await.unwrap();
        let ann_client = bearer(cloud, ann_pair["accessToken"].as_str().unwrap());
        let bob_client = bearer(cloud, login(&shop, &bob, PASSWORD).await.unwrap()["accessToken"].as_str().unwrap());

        // A User cannot create products; non-admins get 403 on every admin route.
        let product = ann_client.post("/api/products", json!({})).await;
        assert_eq!(product.status, 403, "{}", product.body);
        let seller = as_user(cloud, "Seller", &format!("local-seller-{}", suffix())).await;
        for client in [&ann_client, &seller] {
            for (method, path) in [
                ("GET", "/api/admin/users".to_owned()),
                ("GET", format!("/api/admin/users/{ann_id}")),
                ("PUT", format!("/api/admin/users/{ann_id}/roles")),
                ("GET", "/api/admin/health".to_owned()),
            ] {
                let answer = match method {
                    "GET" => client.get(&path).await,
                    _ => client.put(&path, json!({"roles": ["Admin"]})).await,
                };
                assert_eq!(answer.status, 403, "{method} {path}: {}", answer.body);
            }
        }

        // Addresses: the first is the default; at most 20; exactly one default.
        let address = |n: usize, default: bool| json!({"fullName": "Ann Owner", "line1": format!("{n} Main Street"),
            "city": "Cork", "postalCode": "T12 X", "country": "ie", "isDefault": default});
        let first = ann_client.post("/api/users/me/addresses", address(1, false)).await;
        assert_eq!(first.status, 201, "{}", first.body);
        assert_eq!(first.body["isDefault"], true);
        assert_eq!(first.body["country"], "IE");
        let first_id = first.body["addressId"].as_str().unwrap().to_owned();
        // A retry with the first request's Idempotency-Key adds nothing: the first answer again.
        let key = [("idempotency-key", "address-2")];
        let path = "/api/users/me/addresses";
        let second = ann_client.send(Method::POST, path, Some(address(2, true)), &key).await;
        let retried = ann_client.send(Method::POST, path, Some(address(2, true)), &key).await;
        assert_eq!(retried.header("idempotent-replayed"), "true");
        assert_eq!((retried.status, &retried.body), (second.status, &second.body));
        let second_id = second.body["addressId"].as_str().unwrap().to_owned();
        let list = ann_client.get("/api/users/me/addresses").await.body;
        let defaults: Vec<_> = list["items"].as_array().unwrap().iter().filter(|a| a["isDefault"] == true).map(|a| a["addressId"].clone()).collect();
        assert_eq!(defaults, [json!(second_id)]);
        assert_eq!(list["items"].as_array().unwrap().len(), 2, "the retry added nothing");
        let bad = ann_client.post("/api/users/me/addresses", json!({"fullName": "", "line1": "x", "city": "x", "postalCode": "1", "country": "XX"})).await;
        assert_eq!(bad.status, 400);

        // Someone else's address is a 404 to read, change or delete.
        let theirs = format!("/api/users/me/addresses/{first_id}");
        assert_eq!(bob_client.get(&theirs).await.status, 404);
        assert_eq!(bob_client.put(&theirs, address(9, false)).await.status, 404);
        assert_eq!(bob_client.delete(&theirs).await.status, 404);
        assert_eq!(ann_client.get(&theirs).await.status, 200);

        // Twenty at most, even when created at once.
        let creates = (3..=22).map(|n| ann_client.post("/api/users/me/addresses", address(n, false)));
        let statuses: Vec<u16> = futures::future::join_all(creates).await.iter().map(|a| a.status.as_u16()).collect();
        let created = ann_client.get("/api/users/me/addresses").await.body["items"].as_array().unwrap().len();
        assert_eq!(created, 20, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 18, "{statuses:?}");
        assert!(statuses.iter().all(|s| [201, 409].contains(s)), "{statuses:?}");
        assert_eq!(ann_client.post("/api/users/me/addresses", address(23, false)).await.status, 409);

        // Deleting the default passes it on.
        assert_eq!(ann_client.delete(&format!("/api/users/me/addresses/{second_id}")).await.status, 204);
        let list = ann_client.get("/api/users/me/addresses").await.body;
        let defaults: Vec<_> = list["items"].as_array().unwrap().iter().filter(|a| a["isDefault"] == true).collect();
        assert_eq!(defaults.len(), 1);
        assert_eq!(defaults[0]["addressId"], json!(first_id));

        // The profile: PUT, PATCH, with UserProfileUpdated behind them.
        let put = ann_client.put("/api/users/me", json!({"fullName": "Ann O.", "phone": "+353861234567"})).await;
        assert_eq!(put.status, 200, "{}", put.body);
        let patch = ann_client.patch("/api/users/me", json!({"phone": null, "preferences": {"notificationChannels": ["email", "sms"]}})).await;
        assert_eq!(patch.status, 200, "{}", patch.body);
        assert_eq!(patch.body["fullName"], "Ann O.");
        assert_eq!(patch.body["phone"], Value::Null);
        assert_eq!(patch.body["preferences"]["notificationChannels"], json!(["email", "sms"]));
        let invalid = ann_client.patch("/api/users/me", json!({"avatarUrl": "ftp://x"})).await;
        assert_eq!(invalid.status, 400);

        // An admin makes Ann a seller: her next refresh carries it, and the admin list shows it.
        let admin = as_user(cloud, "Admin", "local-admin").await;
        let roles = admin.put(&format!("/api/admin/users/{ann_id}/roles"), json!({"roles": ["Seller"]})).await;
        assert_eq!(roles.status, 200, "{}", roles.body);
        let (status, next) = refresh(cloud, &ann_pair["refreshToken"]).await;
        assert_eq!(status, 200, "{next}");
        assert_eq!(claims(next["accessToken"].as_str().unwrap()).unwrap()["scope"], "shop/user shop/seller");
        let as_seller = bearer(cloud, next["accessToken"].as_str().unwrap());
        assert_ne!(as_seller.post("/api/products", json!({})).await.status, 403);
        let search = format!("/api/admin/users?search={}&role=Seller", ann.split('@').next().unwrap());
        let found = eventually(&admin, &search, |b| b["items"].as_array().is_some_and(|i| i.len() == 1)).await;
        assert_eq!(found["items"][0]["userId"], ann_id.as_str());
        let one = admin.get(&format!("/api/admin/users/{ann_id}")).await;
        assert_eq!(one.status, 200);
        assert_eq!(admin.get("/api/admin/users?role=Root").await.status, 400);
    });
}

#[test]
fn seeded_accounts_work_and_no_secret_reaches_the_logs() {
    shop().run(|cloud| async move {
        let shop = shop_of(cloud);
        let admin = localcloud::token::mint(
            &cloud.sdk_config(),
            &cloud.stack().outputs,
            "Admin",
            TimeDelta::minutes(10),
        )
        .await
        .unwrap();
        let ids = seed_accounts(&shop, &admin).await.unwrap();
        let mut secrets = vec![SEEDED_PASSWORD.to_owned()];
        for ((address, _, role), id) in SEEDED.iter().zip(&ids) {
            let pair = login(&shop, address, SEEDED_PASSWORD).await.unwrap();
            let access = pair["accessToken"].as_str().unwrap().to_owned();
            let scope = claims(&access).unwrap()["scope"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(claims(&access).unwrap()["sub"], id.as_str());
            match role {
                Some("Admin") => assert!(scope.contains("shop/admin"), "{scope}"),
                Some("Seller") => assert!(
                    scope.contains("shop/seller") && !scope.contains("shop/admin"),
                    "{scope}"
                ),
                _ => assert_eq!(scope, "shop/user"),
            }
            let (status, next) = refresh(cloud, &pair["refreshToken"]).await;
            assert_eq!(status, 200);
            for token in [
                &pair["accessToken"],
                &pair["refreshToken"],
                &next["accessToken"],
                &next["refreshToken"],
            ] {
                let token = token.as_str().unwrap();
                secrets.push(token.to_owned());
                // A refresh token's secret part alone, too.
                if let Some((_, secret)) =
                    token.split_once('.').filter(|_| !token.starts_with("ey"))
                {
                    secrets.push(secret.to_owned());
                }
            }
        }
        for (address, _, _) in SEEDED {
            for mail in shop
                .mails(address, "Verify your email address")
                .await
                .unwrap()
            {
                secrets.push(code_in(&mail).unwrap());
            }
        }
        // Let the consumers and relays finish logging what these requests caused.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let lines = cloud.host().log_lines();
        assert!(
            lines.iter().any(|l| l.contains("session started")),
            "the logs were captured"
        );
        for secret in &secrets {
            let leaks: Vec<_> = lines
                .iter()
                .filter(|l| l.contains(secret.as_str()))
                .collect();
            assert!(leaks.is_empty(), "a secret is in the logs: {leaks:?}");
        }
    });
}

#[test]
fn identity_events_reach_the_bus_in_order_and_match_their_schemas() {
    shop().run(|cloud| async move {
        let auth_tap = BusTap::new(cloud, "shop.auth").await;
        let users_tap = BusTap::new(cloud, "shop.users").await;
        let shop = shop_of(cloud);
        let public = anonymous(cloud);
        let address = email("evented");

        let registered = public
            .post(
                "/api/auth/register",
                json!({"email": address, "password": PASSWORD, "fullName": "Eve Evented"}),
            )
            .await;
        let user_id = registered.body["userId"].as_str().unwrap().to_owned();
        shop.mail(&address, "Verify your email address", 0)
            .await
            .unwrap();
        cooled_down().await;
        assert_eq!(
            public
                .post("/api/auth/resend-verification", json!({"email": address}))
                .await
                .status,
            202
        );
        let code = code_in(
            &shop
                .mail(&address, "Verify your email address", 1)
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            public
                .post(
                    "/api/auth/verify-email",
                    json!({"email": address, "token": code})
                )
                .await
                .status,
            200
        );
        cooled_down().await;
        assert_eq!(
            public
                .post("/api/auth/forgot-password", json!({"email": address}))
                .await
                .status,
            202
        );
        let admin = as_user(cloud, "Admin", "local-admin").await;
        let roles = admin
            .put(
                &format!("/api/admin/users/{user_id}/roles"),
                json!({"roles": ["Seller"]}),
            )
            .await;
        assert_eq!(roles.status, 200);
        let pair = login(&shop, &address, PASSWORD).await.unwrap();
        let me = bearer(cloud, pair["accessToken"].as_str().unwrap());
        assert_eq!(
            me.patch("/api/users/me", json!({"phone": "+353861234567"}))
                .await
                .status,
            200
        );

        let mine = |e: &Value| e["detail"]["data"]["userId"] == user_id.as_str();
        let auth = auth_tap
            .collect(|events| events.iter().filter(|e| mine(e)).count() >= 5)
            .await;
        let mut auth: Vec<&Value> = auth.iter().filter(|e| mine(e)).collect();
        auth.sort_by_key(|e| e["detail"]["aggregateVersion"].as_u64().unwrap());
        let order: Vec<&str> = auth
            .iter()
            .map(|e| e["detail-type"].as_str().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "UserRegistered",
                "VerificationEmailRequested",
                "UserVerified",
                "PasswordResetRequested",
                "UserRolesChanged"
            ]
        );
        let users = users_tap.collect(|events| events.iter().any(&mine)).await;
        let profile_updates: Vec<&Value> = users.iter().filter(|e| mine(e)).collect();
        assert_eq!(profile_updates.len(), 1);
        assert_eq!(
            profile_updates[0]["detail"]["data"]["changedFields"],
            json!(["phone"])
        );
        for event in auth.iter().chain(&profile_updates) {
            let source = event["source"].as_str().unwrap();
            shop_schemas::assert_valid(
                source,
                event["detail-type"].as_str().unwrap(),
                &event["detail"],
            );
        }
    });
}
