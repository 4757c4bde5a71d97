//! The AWS edge: one endpoint for every AWS API, like LocalStack's `:4566`.
//!
//! Functions, tests and the `aws` CLI get a single `AWS_ENDPOINT_URL`. The edge routes by path:
//!
//! - `POST /2015-03-31/functions/{name}/invocations` (Lambda `Invoke`) goes to the
//!   [`FunctionHost`], with the status codes and headers Lambda uses, so aws-sdk-lambda, boto3 and
//!   moto's Step Functions interpreter (which invokes through boto3 at this edge) read the answers;
//! - `/_localcloud/...` are the runner's own routes: custom-resource responses
//!   (`PUT /_localcloud/cfn-response/{request_id}`), the mailbox
//!   (`GET|DELETE /_localcloud/mailbox[?to=address]`) and `GET /_localcloud/health`;
//! - everything else is proxied unchanged to moto (`Host` kept, so the URLs moto builds, like
//!   queue URLs, point back at the edge). SES `SendEmail`/`SendRawEmail` and SESv2 `SendEmail`
//!   that moto accepts are also recorded in the [`Mailbox`]; a refusal (unverified sender)
//!   reaches the caller as moto sent it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::json;

use crate::cfn_response::CfnResponses;
use crate::host::{FunctionHost, InvokeError, InvokeOutcome};
use crate::mailbox::{self, Mailbox};

/// The largest request body the edge accepts (S3 puts and 6 MB Lambda payloads pass here).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// What the edge routes to.
pub struct EdgeState {
    /// Runs Lambda invocations.
    pub host: Arc<FunctionHost>,
    /// Where every other AWS call goes (moto, or the `--endpoint` given), without trailing `/`.
    pub moto_url: String,
    /// Where sent mail is kept.
    pub mailbox: Arc<Mailbox>,
    /// Custom-resource responses the provisioner waits for.
    pub cfn_responses: Arc<CfnResponses>,
}

struct Edge {
    state: EdgeState,
    client: reqwest::Client,
    /// Held for the whole of each DynamoDB and DynamoDB Streams call; see [`serialized`].
    dynamodb: tokio::sync::Mutex<()>,
}

type Shared = State<Arc<Edge>>;

/// Serves the edge on `listener` until `shutdown` completes (then lets open requests finish).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: EdgeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state)?)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the AWS edge failed")
}

/// The edge's routes, for serving on a listener of one's own.
pub fn router(state: EdgeState) -> anyhow::Result<Router> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client for moto")?;
    let edge = Arc::new(Edge {
        state: EdgeState {
            moto_url: state.moto_url.trim_end_matches('/').to_owned(),
            ..state
        },
        client,
        dynamodb: tokio::sync::Mutex::new(()),
    });
    Ok(Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route("/_localcloud/cfn-response/{request_id}", put(cfn_response))
        .route("/_localcloud/mailbox", get(mailbox).delete(clear_mailbox))
        .route("/_localcloud/health", get(health))
        .fallback(proxy)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(edge))
}

/// Lambda `Invoke`.
async fn invoke(
    State(edge): Shared,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Bytes,
) -> Response {
    let host = &edge.state.host;
    let target = match query.get("Qualifier") {
        Some(qualifier) => format!("{name}:{qualifier}"),
        None => name.clone(),
    };
    let Some(function) = host.resolve(&target) else {
        return lambda_error(InvokeError::NotFound(host.function_arn(&name)));
    };
    if payload.len() > crate::host::MAX_PAYLOAD_BYTES {
        return lambda_error(InvokeError::TooLarge);
    }
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("RequestResponse");
    let request_id = ulid::Ulid::new().to_string();
    match invocation_type {
        "Event" => {
            let host = host.clone();
            tokio::spawn(async move {
                match host.invoke(&function, payload).await {
                    Ok(InvokeOutcome::Success(_)) => {}
                    Ok(InvokeOutcome::FunctionError(error)) => eprintln!(
                        "[edge] asynchronous invocation of {function} failed: {}",
                        String::from_utf8_lossy(&error)
                    ),
                    Err(error) => {
                        eprintln!("[edge] asynchronous invocation of {function} failed: {error}")
                    }
                }
            });
            (
                StatusCode::ACCEPTED,
                [("x-amzn-requestid", request_id)],
                Body::empty(),
            )
                .into_response()
        }
        "DryRun" => (StatusCode::NO_CONTENT, [("x-amzn-requestid", request_id)]).into_response(),
        _ => match host.invoke(&function, payload).await {
            Ok(outcome) => {
                let (body, failed) = match outcome {
                    InvokeOutcome::Success(body) => (body, false),
                    InvokeOutcome::FunctionError(body) => (body, true),
                };
                let mut response = (
                    StatusCode::OK,
                    [
                        (header::CONTENT_TYPE.as_str(), "application/json"),
                        ("x-amz-executed-version", "$LATEST"),
                        ("x-amzn-requestid", &request_id),
                    ],
                    body,
                )
                    .into_response();
                if failed {
                    response.headers_mut().insert(
                        HeaderName::from_static("x-amz-function-error"),
                        HeaderValue::from_static("Unhandled"),
                    );
                }
                response
            }
            Err(InvokeError::NotFound(_)) => {
                lambda_error(InvokeError::NotFound(host.function_arn(&name)))
            }
            Err(error) => lambda_error(error),
        },
    }
}

/// An Invoke API error as Lambda sends it (restJson1: the type in `x-amzn-ErrorType`).
fn lambda_error(error: InvokeError) -> Response {
    let (status, error_type, kind, message) = match &error {
        InvokeError::NotFound(arn) => (
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            "User",
            format!("Function not found: {arn}"),
        ),
        InvokeError::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            "User",
            error.to_string(),
        ),
        InvokeError::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "Service",
            error.to_string(),
        ),
    };
    (
        status,
        [("x-amzn-errortype", error_type)],
        axum::Json(json!({"Type": kind, "message": message})),
    )
        .into_response()
}

/// A custom resource's response document, for the provisioner waiting on it.
async fn cfn_response(
    State(edge): Shared,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    let document: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(document) => document,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("the response is not JSON: {error}"),
            )
                .into_response();
        }
    };
    if edge.state.cfn_responses.deliver(&request_id, document) {
        StatusCode::OK.into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            format!("nothing waits for the response to request {request_id}"),
        )
            .into_response()
    }
}

async fn mailbox(State(edge): Shared, Query(query): Query<HashMap<String, String>>) -> Response {
    let mails = match query.get("to") {
        Some(to) => edge.state.mailbox.for_recipient(to),
        None => edge.state.mailbox.all(),
    };
    axum::Json(mails).into_response()
}

async fn clear_mailbox(State(edge): Shared) -> StatusCode {
    edge.state.mailbox.clear();
    StatusCode::NO_CONTENT
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// Headers that belong to one connection, not to the request or response, plus the ones the
/// HTTP client sets itself.
fn forwarded(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "trailers"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// An S3-scoped (unchecked) signature that makes moto route a request to S3.
const ANONYMOUS_S3_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// Whether this is an unsigned GET/HEAD of `/<bucket>/.../.well-known/...` — a public S3 object
/// such as the token issuer's discovery document or JWKS, read by the gateway or a browser.
///
/// moto answers any unsigned request for `.../.well-known/jwks.json` or
/// `.../.well-known/openid-configuration` from its Cognito mock (a fake issuer and a `dummy`
/// key), whatever the path before it; an S3-scoped Authorization header routes it to S3, which is
/// what AWS does with a public object.
fn is_anonymous_well_known_get(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !headers.contains_key(header::AUTHORIZATION)
        && path.matches('/').count() >= 3
        && path.contains("/.well-known/")
}

/// Whether a call must not overlap another DynamoDB call: every DynamoDB and DynamoDB
/// Streams API call.
///
/// moto's DynamoDB backend is not thread-safe: `TransactWriteItems` deep-copies the tables to
/// roll back on failure, and a write or read that runs meanwhile makes it (or itself) fail
/// with `RuntimeError: dictionary changed size during iteration`, a 500 (seen with eight
/// concurrent product creates). DynamoDB itself serialises conflicting transactions, so
/// making moto's calls one at a time changes no observable behaviour; moto holds Python's
/// GIL anyway, so little throughput is lost.
fn serialized(headers: &HeaderMap) -> bool {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("DynamoDB_") || t.starts_with("DynamoDBStreams_"))
}

/// Everything else: to moto, recording SES sends that moto accepts.
async fn proxy(State(edge): Shared, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read the request body (at most {MAX_BODY_BYTES} bytes): {error}"),
            )
                .into_response();
        }
    };
    let mails = sent_mail(&parts.method, parts.uri.path(), &parts.headers, &body);

    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|path| path.as_str())
        .unwrap_or("/");
    let url = format!("{}{path_and_query}", edge.state.moto_url);
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        // reqwest sets the length from the body; `Expect: 100-continue` was answered here.
        if forwarded(name) && name != header::CONTENT_LENGTH && name != header::EXPECT {
            headers.append(name.clone(), value.clone());
        }
    }
    if is_anonymous_well_known_get(&parts.method, parts.uri.path(), &parts.headers) {
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(ANONYMOUS_S3_AUTHORIZATION),
        );
    }
    let one_at_a_time = if serialized(&parts.headers) {
        Some(edge.dynamodb.lock().await)
    } else {
        None
    };
    let upstream = match edge
        .client
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(upstream) => upstream,
        Err(error) => {
            return (
                StatusCode::BAD_GATEWAY,
                [("x-amzn-errortype", "ServiceUnavailableException")],
                format!("the AWS endpoint behind the edge ({url}) did not answer: {error}"),
            )
                .into_response();
        }
    };
    if upstream.status().is_success() {
        for mail in mails {
            edge.state.mailbox.record(mail);
        }
    }

    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        if forwarded(name) {
            response = response.header(name, value);
        }
    }
    if let Some(guard) = one_at_a_time {
        // Read the whole answer before the next DynamoDB call may start.
        let body = upstream.bytes().await;
        drop(guard);
        return match body {
            Ok(body) => response.body(Body::from(body)),
            Err(error) => Ok((
                StatusCode::BAD_GATEWAY,
                format!("cannot relay the response: {error}"),
            )
                .into_response()),
        }
        .unwrap_or_else(|error| {
            (
                StatusCode::BAD_GATEWAY,
                format!("cannot relay the response: {error}"),
            )
                .into_response()
        });
    }
    // Stream the body back as it arrives (large S3 objects).
    let chunks = futures::stream::unfold(Some(upstream), |upstream| async move {
        let mut upstream = upstream?;
        match upstream.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(upstream))),
            Ok(None) => None,
            Err(error) => Some((Err(error), None)),
        }
    });
    response
        .body(Body::from_stream(chunks))
        .unwrap_or_else(|error| {
            (
                StatusCode::BAD_GATEWAY,
                format!("cannot relay the response: {error}"),
            )
                .into_response()
        })
}

/// The mail an SES or SESv2 send request carries; empty for any other request.
fn sent_mail(method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Vec<mailbox::Mail> {
    if method != Method::POST {
        return Vec::new();
    }
    if path == "/v2/email/outbound-emails" {
        return mailbox::from_sesv2_json(body);
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if path == "/" && form {
        return mailbox::from_ses_query(body);
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::host::tests::fixture_host;

    struct Running {
        url: String,
        host: Arc<FunctionHost>,
        mailbox: Arc<Mailbox>,
        cfn_responses: Arc<CfnResponses>,
    }

    /// A stand-in for moto: echoes the request, refuses mail from `unverified@...`.
    async fn fake_moto() -> String {
        async fn echo(request: Request) -> Response {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            if String::from_utf8_lossy(&body).contains("unverified") {
                return (
                    StatusCode::BAD_REQUEST,
                    [("x-amzn-errortype", "MessageRejected")],
                    "Email address not verified unverified@shop.test",
                )
                    .into_response();
            }
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                StatusCode::CREATED,
                [("x-fake-moto", "yes")],
                axum::Json(json!({
                    "method": parts.method.as_str(),
                    "uri": parts.uri.to_string(),
                    "host": header("host"),
                    "authorization": header("authorization"),
                    "length": body.len(),
                })),
            )
                .into_response()
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, Router::new().fallback(echo)).await;
        });
        url
    }

    async fn start(host: Arc<FunctionHost>) -> Running {
        let mailbox = Arc::new(Mailbox::default());
        let cfn_responses = Arc::new(CfnResponses::default());
        let state = EdgeState {
            host: host.clone(),
            moto_url: fake_moto().await + "/",
            mailbox: mailbox.clone(),
            cfn_responses: cfn_responses.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(serve(listener, state, std::future::pending()));
        Running {
            url,
            host,
            mailbox,
            cfn_responses,
        }
    }

    async fn start_without_functions() -> Running {
        start(FunctionHost::new(crate::host::HostConfig {
            edge_url: "http://localhost:1".into(),
            region: "us-east-1".into(),
            max_concurrency: 1,
        }))
        .await
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
    }

    #[tokio::test]
    async fn other_calls_are_proxied_to_moto_with_host_headers_and_body() {
        let edge = start_without_functions().await;
        let body = vec![b'x'; 10 * 1024 * 1024];
        let response = client()
            .put(format!("{}/bucket/key?partNumber=1", edge.url))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/x/us-east-1/s3/aws4_request",
            )
            .body(body)
            .send()
            .await
            .expect("proxied");
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["x-fake-moto"], "yes");
        let echoed: serde_json::Value = response.json().await.expect("json");
        assert_eq!(echoed["method"], "PUT");
        assert_eq!(echoed["uri"], "/bucket/key?partNumber=1");
        assert_eq!(echoed["host"], edge.url.trim_start_matches("http://"));
        assert!(
            echoed["authorization"]
                .as_str()
                .unwrap_or_default()
                .starts_with("AWS4")
        );
        assert_eq!(echoed["length"], 10 * 1024 * 1024);
    }

    #[tokio::test]
    async fn health_answers_ok() {
        let edge = start_without_functions().await;
        let response = client()
            .get(format!("{}/_localcloud/health", edge.url))
            .send()
            .await
            .expect("health");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.json::<serde_json::Value>().await.expect("json"),
            json!({"status": "ok"})
        );
    }

    #[tokio::test]
    async fn ses_sends_are_recorded_only_when_moto_accepts_them() {
        let edge = start_without_functions().await;
        let form = |from: &str, to: &str| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("Action", "SendEmail"),
                    ("Version", "2010-12-01"),
                    ("Source", from),
                    ("Destination.ToAddresses.member.1", to),
                    ("Message.Subject.Data", "Welcome"),
                    ("Message.Body.Text.Data", "Hello"),
                ])
                .finish()
        };
        let send = |body: String| {
            client()
                .post(format!("{}/", edge.url))
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(body)
                .send()
        };
        let accepted = send(form("noreply@shop.test", "ann@example.com"))
            .await
            .expect("send");
        assert_eq!(accepted.status(), StatusCode::CREATED);
        let refused = send(form("unverified@shop.test", "bob@example.com"))
            .await
            .expect("send");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(refused.headers()["x-amzn-errortype"], "MessageRejected");
        assert_eq!(
            refused.text().await.expect("text"),
            "Email address not verified unverified@shop.test"
        );

        let v2 = json!({
            "FromEmailAddress": "noreply@shop.test",
            "Destination": {"ToAddresses": ["Ann@Example.com"]},
            "Content": {"Simple": {"Subject": {"Data": "Order"}, "Body": {"Text": {"Data": "Thanks"}}}},
        });
        let accepted = client()
            .post(format!("{}/v2/email/outbound-emails", edge.url))
            .json(&v2)
            .send()
            .await
            .expect("send v2");
        assert_eq!(accepted.status(), StatusCode::CREATED);

        let mails: serde_json::Value = client()
            .get(format!(
                "{}/_localcloud/mailbox?to=ann@example.com",
                edge.url
            ))
            .send()
            .await
            .expect("mailbox")
            .json()
            .await
            .expect("json");
        let subjects: Vec<_> = mails
            .as_array()
            .into_iter()
            .flatten()
            .map(|mail| mail["subject"].clone())
            .collect();
        assert_eq!(subjects, [json!("Order"), json!("Welcome")]);
        assert!(mails[0]["sentAt"].is_string());
        assert_eq!(edge.mailbox.all().len(), 2);
        assert!(edge.mailbox.for_recipient("bob@example.com").is_empty());

        let cleared = client()
            .delete(format!("{}/_localcloud/mailbox", edge.url))
            .send()
            .await
            .expect("clear");
        assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
        assert!(edge.mailbox.all().is_empty());
    }

    #[tokio::test]
    async fn cfn_responses_reach_the_waiting_provisioner() {
        let edge = start_without_functions().await;
        let waiting = edge.cfn_responses.expect("req-1");
        let document = json!({"Status": "SUCCESS", "PhysicalResourceId": "greeting-X", "Data": {"Greeting": "hello"}});
        let response = client()
            .put(format!("{}/_localcloud/cfn-response/req-1", edge.url))
            .json(&document)
            .send()
            .await
            .expect("put");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(waiting.await.expect("delivered"), document);
        let nobody = client()
            .put(format!("{}/_localcloud/cfn-response/req-2", edge.url))
            .json(&document)
            .send()
            .await
            .expect("put");
        assert_eq!(nobody.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn invoke_answers_like_lambda() {
        let edge = start(fixture_host(2, Duration::from_secs(5)).await).await;
        let invoke = |name: &str, invocation_type: &str, body: String| {
            client()
                .post(format!(
                    "{}/2015-03-31/functions/{name}/invocations",
                    edge.url
                ))
                .header("x-amz-invocation-type", invocation_type)
                .body(body)
                .send()
        };

        let ok = invoke(
            "shop-test-Fixture",
            "RequestResponse",
            json!({"action": "double", "value": 21}).to_string(),
        )
        .await
        .expect("invoke");
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()["x-amz-executed-version"], "$LATEST");
        assert!(ok.headers().get("x-amz-function-error").is_none());
        assert_eq!(ok.text().await.expect("body"), r#"{"value":42}"#);

        let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ashop-test-Fixture";
        let failed = invoke(
            arn,
            "RequestResponse",
            json!({"action": "fail"}).to_string(),
        )
        .await
        .expect("invoke");
        assert_eq!(failed.status(), StatusCode::OK);
        assert_eq!(failed.headers()["x-amz-function-error"], "Unhandled");
        let error: serde_json::Value = failed.json().await.expect("json");
        assert_eq!(error["errorType"], "FixtureFailure");

        let missing = invoke("nope", "RequestResponse", "{}".into())
            .await
            .expect("invoke");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            missing.headers()["x-amzn-errortype"],
            "ResourceNotFoundException"
        );
        let error: serde_json::Value = missing.json().await.expect("json");
        assert_eq!(error["Type"], "User");
        assert_eq!(
            error["message"],
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
        );

        let event = invoke(
            "FixtureFunction",
            "Event",
            json!({"action": "sleep", "ms": 10}).to_string(),
        )
        .await
        .expect("invoke");
        assert_eq!(event.status(), StatusCode::ACCEPTED);
        assert_eq!(event.text().await.expect("body"), "");

        let dry = invoke("FixtureFunction", "DryRun", "{}".into())
            .await
            .expect("invoke");
        assert_eq!(dry.status(), StatusCode::NO_CONTENT);

        let too_large = invoke(
            "shop-test-Fixture",
            "RequestResponse",
            " ".repeat(crate::host::MAX_PAYLOAD_BYTES + 1),
        )
        .await
        .expect("invoke");
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            too_large.headers()["x-amzn-errortype"],
            "RequestEntityTooLargeException"
        );
        edge.host.shutdown().await;
    }
}
