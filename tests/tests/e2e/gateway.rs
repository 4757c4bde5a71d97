//! The shop's HTTP API through the local API Gateway: public and protected routes.

use chrono::TimeDelta;
use localcloud::LocalCloud;
use serde_json::Value;
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
