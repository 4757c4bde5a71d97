//! The shop's signing keys: created on deploy by the key-management custom resource, published
//! as discovery + JWKS in a public bucket, and usable by `make token`.

use chrono::{TimeDelta, Utc};
use serde_json::Value;
use shop_adapters::tokens::verify;
use shop_e2e::{http, shop};

async fn get_json(url: String) -> Value {
    http().get(url).send().await.unwrap().json().await.unwrap()
}

#[test]
fn the_issuer_publishes_discovery_and_jwks_that_verify_a_local_token() {
    shop().run(|cloud| async move {
        let outputs = &cloud.stack().outputs;
        let issuer = outputs["TokenIssuer"]
            .as_str()
            .expect("a TokenIssuer output");
        assert!(
            issuer.starts_with(cloud.edge_url()),
            "locally the issuer is served through the edge: {issuer}"
        );
        let discovery = get_json(format!("{issuer}/.well-known/openid-configuration")).await;
        assert_eq!(discovery["issuer"], issuer);
        let jwks_uri = discovery["jwks_uri"].as_str().expect("a jwks_uri");
        let jwks = get_json(jwks_uri.to_owned()).await;
        assert!(
            jwks["keys"].as_array().is_some_and(|keys| keys.len() >= 2),
            "{jwks}"
        );
        // The API's own JWKS route serves the key manager's public copy: the same keys.
        let served = get_json(format!("{}/.well-known/jwks.json", cloud.api_url())).await;
        assert_eq!(served, jwks);

        let token = localcloud::token::mint(
            &cloud.sdk_config(),
            outputs,
            "Seller",
            TimeDelta::minutes(5),
        )
        .await
        .unwrap();
        let audience = outputs["TokenAudience"].as_str().unwrap();
        let claims = verify(&token, &jwks, issuer, audience, Utc::now()).unwrap();
        assert_eq!(claims.sub, "local-seller");
        assert_eq!(claims.scope, "shop/user shop/seller");
    });
}

#[test]
fn an_unknown_role_gets_no_token() {
    shop().run(|cloud| async move {
        let error = localcloud::token::mint(
            &cloud.sdk_config(),
            &cloud.stack().outputs,
            "Root",
            TimeDelta::minutes(5),
        )
        .await
        .unwrap_err();
        assert!(error.to_string().contains("unknown role"), "{error}");
    });
}
