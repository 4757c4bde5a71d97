//! The shop's HTTP API through the local API Gateway: public and protected routes, and the
//! stage's route throttling.

use chrono::TimeDelta;
use localcloud::gateway::{Gateway, Throttle};
use localcloud::{CloudConfig, LocalCloud};
use serde_json::{Value, json};
use shop_e2e::{http, shop};

async fn token(cloud: &LocalCloud, role: &str) -> String {
    localcloud::token::mint(
        &cloud.sdk_config(),
        &cloud.stack().outputs,
        role,
        TimeDelta::minutes(5),
    )
    .await
    .unwrap()
}

#[test]
fn health_is_public_through_the_gateway() {
    shop().run(|cloud| async move {
        let response = http()
            .get(format!("{}/api/health", cloud.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["service"], "platform");
        assert_eq!(body["status"], "ok", "{body}");
    });
}

#[test]
fn a_protected_route_without_a_token_is_401_with_www_authenticate() {
    shop().run(|cloud| async move {
        let response = http()
            .get(format!("{}/api/admin/health", cloud.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"message": "Unauthorized"}));
    });
}

#[test]
fn a_forged_token_is_401_invalid_token() {
    shop().run(|cloud| async move {
        let genuine = token(cloud, "Admin").await;
        // Raise nothing, just flip one character of the signature.
        let mut forged = genuine.into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let response = http()
            .get(format!("{}/api/admin/health", cloud.api_url()))
            .bearer_auth(forged)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.contains("invalid_token"), "{challenge}");
    });
}

#[test]
fn a_protected_route_is_403_without_its_scope_and_200_with_it() {
    shop().run(|cloud| async move {
        let url = format!("{}/api/admin/health", cloud.api_url());
        let user = http()
            .get(&url)
            .bearer_auth(token(cloud, "User").await)
            .send()
            .await
            .unwrap();
        assert_eq!(user.status(), 403);
        let admin = http()
            .get(&url)
            .bearer_auth(token(cloud, "Admin").await)
            .send()
            .await
            .unwrap();
        assert_eq!(admin.status(), 200);
        let body: Value = admin.json().await.unwrap();
        assert_eq!(body["status"], "ok", "{body}");
    });
}

#[test]
fn an_unknown_route_is_the_gateways_own_404() {
    shop().run(|cloud| async move {
        let response = http()
            .get(format!("{}/api/nothing-here", cloud.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"message": "Not Found"}));
    });
}

/// The throttling parameters of the throttled shop: logins held to a burst of 6 that hardly
/// refills (0.01 per second: no token comes back during the test).
const THROTTLED: [(&str, &str); 6] = [
    ("LoginThrottleRateLimit", "0.01"),
    ("LoginThrottleBurstLimit", "6"),
    ("AccountEmailThrottleRateLimit", "3"),
    ("AccountEmailThrottleBurstLimit", "7"),
    ("ApiThrottleRateLimit", "400"),
    ("ApiThrottleBurstLimit", "800"),
];

/// A shop of its own from template.yaml with [`THROTTLED`]: the shared [`shop`] keeps limits
/// no test reaches, so tight ones need another cloud (about 6 s to start).
fn throttled_config() -> CloudConfig {
    let mut config = shop_e2e::cloud_config();
    config.parameters.extend(
        THROTTLED
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    config
}

#[test]
fn the_stage_throttles_each_route_and_logins_past_the_burst_get_the_gateways_429() {
    // The cloud starts in a task, so its child processes belong to the runtime's worker
    // threads (they die with the thread that spawned them); it stops at the end, or with the
    // runtime when an assertion fails.
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let cloud = runtime
        .block_on(runtime.spawn(LocalCloud::start(throttled_config(), |line| {
            eprintln!("localcloud (throttled shop): {line}")
        })))
        .expect("the start task")
        .unwrap_or_else(|error| panic!("the throttled shop did not start: {error:#}"));
    runtime.block_on(async {
        let gateway = Gateway::from_stack(cloud.stack(), cloud.host().clone()).unwrap();
        let throttles = gateway.throttles();
        let limit = |key: &str| {
            throttles
                .iter()
                .find(|(api, route, _)| api == "ShopHttpApi" && route == key)
                .map(|(_, _, throttle)| *throttle)
                .unwrap_or_else(|| panic!("{key} is not throttled: {throttles:?}"))
        };
        let throttle = |rate_per_second, burst| Throttle {
            rate_per_second,
            burst,
        };
        assert_eq!(limit("POST /api/auth/login"), throttle(0.01, 6));
        for key in [
            "POST /api/auth/register",
            "POST /api/auth/resend-verification",
            "POST /api/auth/forgot-password",
        ] {
            assert_eq!(limit(key), throttle(3.0, 7), "{key}");
        }
        assert_eq!(limit("GET /api/health"), throttle(400.0, 800));
        assert_eq!(limit("POST /api/auth/refresh"), throttle(400.0, 800));
        assert_eq!(
            throttles.len(),
            gateway.apis()[0].2.len(),
            "every route is throttled"
        );

        // More logins in flight than the login function has instances (4): exactly the burst
        // reaches it (unknown emails: 401; each email once, so no lockout), the rest get the
        // gateway's own 429 and cost no password hash.
        let url = format!("{}/api/auth/login", cloud.api_url());
        let responses = futures::future::join_all((0..16).map(|n| {
            let request = http().post(&url).json(&json!({
                "email": format!("nobody-{n}@example.com"),
                "password": "not-the-password",
            }));
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let content_type = response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let body: Value = response.json().await.unwrap();
                (status, content_type, body)
            }
        }))
        .await;
        let too_many = json!({"message": "Too Many Requests"});
        let (refused, reached): (Vec<_>, Vec<_>) = responses
            .iter()
            .partition(|(status, _, body)| *status == 429 && *body == too_many);
        assert_eq!(reached.len(), 6, "exactly the burst passes: {responses:#?}");
        assert!(
            reached.iter().all(|(status, _, _)| *status == 401),
            "{reached:#?}"
        );
        assert!(
            refused
                .iter()
                .all(|(_, content_type, _)| content_type == "application/json")
        );

        // The bucket is the login route's alone.
        let health = http()
            .get(format!("{}/api/health", cloud.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
    });
    runtime.block_on(cloud.stop());
}
