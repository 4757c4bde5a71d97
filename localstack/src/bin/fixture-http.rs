//! `fixture-http`: the Lambda behind the API Gateway fixture routes (tests/fixture/gateway.rs).
//!
//! By default it answers `200` with the whole payload-2.0 event it was given as its JSON body, so
//! the tests can assert exactly what the gateway built. The query parameter `respond` picks
//! another answer, to exercise the gateway's response mapping:
//!
//! - `bare` → bare JSON `{"bare": true, "path": <rawPath>}` (no `statusCode`: the 2.0 shortcut);
//! - `string` → the bare JSON string `"plain text"`;
//! - `binary` → `isBase64Encoded` body of the bytes `00 01 02 ff`, `application/octet-stream`;
//! - `cookies` → two `cookies` and a header with a comma-joined value;
//! - `status` → status `code` (query parameter) with body `custom status`;
//! - `cors` → its own `access-control-allow-origin`, which the gateway must replace;
//! - `fail` → a function error.

use base64::Engine as _;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handle(event.payload)
    }))
    .await
}

async fn handle(event: Value) -> Result<Value, Diagnostic> {
    let query = |name: &str| {
        event["queryStringParameters"][name]
            .as_str()
            .map(str::to_owned)
    };
    let echo = |status: u16| {
        json!({
            "statusCode": status,
            "headers": {"content-type": "application/json"},
            "body": event.to_string(),
        })
    };
    Ok(match query("respond").as_deref() {
        Some("bare") => json!({"bare": true, "path": event["rawPath"]}),
        Some("string") => json!("plain text"),
        Some("binary") => json!({
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "isBase64Encoded": true,
            "body": base64::engine::general_purpose::STANDARD.encode([0u8, 1, 2, 255]),
        }),
        Some("cookies") => json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain", "x-multi": "a,b"},
            "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"],
            "body": "with cookies",
        }),
        Some("status") => {
            let code: u16 = query("code")
                .and_then(|code| code.parse().ok())
                .unwrap_or(200);
            json!({"statusCode": code, "headers": {"content-type": "text/plain"}, "body": "custom status"})
        }
        Some("cors") => json!({
            "statusCode": 200,
            "headers": {
                "content-type": "text/plain",
                "access-control-allow-origin": "https://evil.example",
            },
            "body": "cors",
        }),
        Some("fail") => {
            return Err(Diagnostic {
                error_type: "FixtureFailure".to_owned(),
                error_message: "failing on purpose (respond=fail)".to_owned(),
            });
        }
        _ => echo(200),
    })
}
