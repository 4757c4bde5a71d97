//! Handler tests for the users routes and the auth-event consumer: the fixture events of
//! `events/<function>/`, the in-memory store and a clock the tests move.

mod store;

use shop_adapters::fixture;
use std::sync::Arc;

use lambda_http::{Body, Error, Request, Response};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shop_adapters::memory::FixedClock;
use shop_domain::UserId;
use users::Deps;
use users::domain::ProfileStore;
use users::memory::MemoryProfiles;

/// Runs `handler` on `req`; status and JSON body.
macro_rules! call {
    ($world:expr, $handler:path, $req:expr $(,)?) => {
        answer($handler(&$world.deps, $req).await)
    };
}

/// The user of the fixtures.
const ANN: &str = "01JBQ00000000000000000AN01";

struct World {
    deps: Deps,
    profiles: Arc<MemoryProfiles>,
    clock: Arc<FixedClock>,
}

fn world() -> World {
    let profiles = Arc::new(MemoryProfiles::new());
    let clock = Arc::new(FixedClock::default());
    let deps = Deps {
        profiles: profiles.clone(),
        clock: clock.clone(),
        requests: Arc::new(shop_adapters::memory::MemoryIdempotency::default()),
    };
    World {
        deps,
        profiles,
        clock,
    }
}

fn answer(response: Result<Response<Body>, Error>) -> (u16, Value) {
    let response = response.expect("no 5xx");
    (
        response.status().as_u16(),
        serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null),
    )
}

/// The fixture with, when given, its body, caller and path id replaced.
fn request(fixture: &str, body: Option<Value>, sub: Option<&str>, id: Option<&str>) -> Request {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    if let Some(sub) = sub {
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!(sub);
    }
    if let Some(id) = id {
        event["pathParameters"]["id"] = json!(id);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

async fn consume(world: &World, fixture: &str) -> usize {
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(fixture).unwrap();
    let response = users::events::users_on_auth_events(
        &world.deps,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap();
    response.batch_item_failures.len()
}

async fn profile(world: &World) -> users::domain::Profile {
    world
        .profiles
        .profile(ANN.parse::<UserId>().unwrap())
        .await
        .unwrap()
        .expect("a profile")
}

#[tokio::test]
async fn user_verified_twice_makes_one_profile_and_older_roles_never_win() {
    let world = world();
    assert_eq!(
        consume(&world, fixture!("users-on-auth-events/user-verified")).await,
        0
    );
    let first = profile(&world).await;
    assert_eq!(first.full_name, "Ann Lee");
    assert_eq!(
        consume(&world, fixture!("users-on-auth-events/user-verified")).await,
        0
    );
    assert_eq!(
        profile(&world).await,
        first,
        "the same event twice changes nothing"
    );

    assert_eq!(
        consume(&world, fixture!("users-on-auth-events/user-roles-changed")).await,
        0
    );
    let promoted = profile(&world).await;
    assert_eq!(promoted.roles.len(), 2);
    // A late redelivery of the older event does not take the Seller role away.
    assert_eq!(
        consume(&world, fixture!("users-on-auth-events/user-verified")).await,
        0
    );
    assert_eq!(profile(&world).await, promoted);
}

#[tokio::test]
async fn a_first_read_makes_the_profile_and_the_event_completes_it() {
    let world = world();
    let (status, body) = call!(
        world,
        users::profiles::get_my_profile,
        request(fixture!("get-my-profile/ok"), None, None, None)
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["fullName"], "");
    assert_eq!(
        consume(&world, fixture!("users-on-auth-events/user-verified")).await,
        0
    );
    let (_, body) = call!(
        world,
        users::profiles::get_my_profile,
        request(fixture!("get-my-profile/ok"), None, None, None)
    );
    assert_eq!(body["fullName"], "Ann Lee");

    // A token whose subject is no user id (a `make token` one) has no profile.
    let (status, _) = call!(
        world,
        users::profiles::get_my_profile,
        request(
            fixture!("get-my-profile/ok"),
            None,
            Some("local-user"),
            None
        )
    );
    assert_eq!(status, 403);
}

#[tokio::test]
async fn profile_writes_publish_the_changed_fields_only() {
    let world = world();
    let (status, body) = call!(
        world,
        users::profiles::replace_my_profile,
        request(fixture!("replace-my-profile/ok"), None, None, None)
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = call!(
        world,
        users::profiles::patch_my_profile,
        request(fixture!("patch-my-profile/ok"), None, None, None)
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone"], Value::Null);
    assert_eq!(body["avatarUrl"], "https://images.example.com/ann.jpg");
    let events = world.profiles.events();
    let changed: Vec<&Value> = events
        .iter()
        .map(|e| &e.detail["data"]["changedFields"])
        .collect();
    assert_eq!(
        changed,
        [
            &json!(["fullName", "phone", "avatarUrl", "preferences"]),
            &json!(["phone", "preferences"])
        ]
    );
    // The same PATCH again changes nothing: no event.
    call!(
        world,
        users::profiles::patch_my_profile,
        request(fixture!("patch-my-profile/ok"), None, None, None)
    );
    assert_eq!(world.profiles.events().len(), 2);
    let (status, _) = call!(
        world,
        users::profiles::patch_my_profile,
        request(
            fixture!("patch-my-profile/ok"),
            Some(json!(["x"])),
            None,
            None
        )
    );
    assert_eq!(status, 400);
    let (status, _) = call!(
        world,
        users::profiles::replace_my_profile,
        request(
            fixture!("replace-my-profile/ok"),
            Some(json!({"fullName": "A", "roles": ["Admin"]})),
            None,
            None
        )
    );
    assert_eq!(status, 400, "roles are not the user's to write");
}

#[tokio::test]
async fn addresses_keep_one_default_and_twenty_at_most() {
    let world = world();
    let create = |default: bool| {
        let mut body: Value =
            serde_json::from_str::<Value>(fixture!("create-my-address/ok")).unwrap();
        body = serde_json::from_str(body["body"].as_str().unwrap()).unwrap();
        body["isDefault"] = json!(default);
        request(fixture!("create-my-address/ok"), Some(body), None, None)
    };
    let (status, first) = call!(world, users::addresses::create_my_address, create(false));
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["isDefault"], true, "the first address is the default");
    world.clock.advance(std::time::Duration::from_millis(1));
    let (_, second) = call!(world, users::addresses::create_my_address, create(false));
    assert_eq!(second["isDefault"], false);
    for _ in 2..20 {
        world.clock.advance(std::time::Duration::from_millis(1));
        assert_eq!(
            call!(world, users::addresses::create_my_address, create(false)).0,
            201
        );
    }
    assert_eq!(
        call!(world, users::addresses::create_my_address, create(false)).0,
        409
    );

    let first_id = first["addressId"].as_str().unwrap();
    let second_id = second["addressId"].as_str().unwrap();
    let (status, _) = call!(
        world,
        users::addresses::delete_my_address,
        request(fixture!("delete-my-address/ok"), None, None, Some(first_id))
    );
    assert_eq!(status, 204);
    let (_, now_default) = call!(
        world,
        users::addresses::get_my_address,
        request(fixture!("get-my-address/ok"), None, None, Some(second_id))
    );
    assert_eq!(
        now_default["isDefault"], true,
        "the oldest remaining address took over"
    );
    let (_, list) = call!(
        world,
        users::addresses::list_my_addresses,
        request(fixture!("list-my-addresses/ok"), None, None, None)
    );
    let defaults = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["isDefault"] == true)
        .count();
    assert_eq!((list["items"].as_array().unwrap().len(), defaults), (19, 1));

    // Another user sees none of them.
    let bob = "01JBQ00000000000000000B0B1";
    let (status, _) = call!(
        world,
        users::addresses::get_my_address,
        request(
            fixture!("get-my-address/ok"),
            None,
            Some(bob),
            Some(second_id)
        )
    );
    assert_eq!(status, 404);
    let (status, _) = call!(
        world,
        users::addresses::replace_my_address,
        request(
            fixture!("replace-my-address/ok"),
            None,
            Some(bob),
            Some(second_id)
        )
    );
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_admin_list_filters_and_pages() {
    let world = world();
    for (n, (name, roles)) in [
        ("ann", vec!["User"]),
        ("bob", vec!["User", "Seller"]),
        ("annie", vec!["User"]),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("01JBQ00000000000000000AA0{n}");
        let data = json!({"userId": id, "email": format!("{name}@example.com"), "fullName": name, "roles": roles});
        let mut event: Value =
            serde_json::from_str(fixture!("users-on-auth-events/user-verified")).unwrap();
        let mut body: Value =
            serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
        body["detail"]["data"] = data;
        event["Records"][0]["body"] = json!(body.to_string());
        let sqs = serde_json::from_value(event).unwrap();
        users::events::users_on_auth_events(&world.deps, LambdaEvent::new(sqs, Context::default()))
            .await
            .unwrap();
    }
    let list = |query: Value| {
        let mut event: Value = serde_json::from_str(fixture!("list-users/ok")).unwrap();
        let raw: Vec<String> = query
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        event["rawQueryString"] = json!(raw.join("&"));
        event["queryStringParameters"] = query;
        lambda_http::request::from_str(&event.to_string()).unwrap()
    };
    let (status, page) = call!(
        world,
        users::profiles::list_users,
        list(json!({"search": "ANN", "pageSize": "1"}))
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let token = page["nextToken"].as_str().unwrap().to_owned();
    let (_, rest) = call!(
        world,
        users::profiles::list_users,
        list(json!({"search": "ann", "pageSize": "1", "nextToken": token}))
    );
    assert_eq!(rest["items"][0]["fullName"], "annie");
    assert_eq!(rest["nextToken"], Value::Null);
    let (_, sellers) = call!(
        world,
        users::profiles::list_users,
        list(json!({"role": "Seller"}))
    );
    assert_eq!(sellers["items"][0]["fullName"], "bob");
    let (status, bad) = call!(
        world,
        users::profiles::list_users,
        list(json!({"role": "Root", "sort": "x", "nextToken": "nope"}))
    );
    assert_eq!(status, 400);
    let fields: Vec<&str> = bad["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"role") && fields.contains(&"sort"),
        "{bad}"
    );
    let (status, _) = call!(
        world,
        users::profiles::get_user,
        request(
            fixture!("get-user/ok"),
            None,
            None,
            Some("01JBQ00000000000000000AA01")
        )
    );
    assert_eq!(status, 200);
    let (status, _) = call!(
        world,
        users::profiles::get_user,
        request(fixture!("get-user/ok"), None, None, None)
    );
    assert_eq!(status, 404);
}

/// Runs the internal function `get-address` on `payload`: its answer, or the error's type.
async fn get_address(world: &World, payload: Value) -> Result<Value, String> {
    users::internal::get_address(&world.deps, LambdaEvent::new(payload, Context::default()))
        .await
        .map_err(|e| lambda_runtime::Diagnostic::from(e).error_type)
}

#[tokio::test]
async fn get_address_answers_the_owners_address_and_address_not_found_to_anyone_else() {
    let world = world();
    let (status, created) = call!(
        world,
        users::addresses::create_my_address,
        request(fixture!("create-my-address/ok"), None, None, None)
    );
    assert_eq!(status, 201, "{created}");
    let address_id = created["addressId"].as_str().unwrap();
    let mut payload: Value = serde_json::from_str(fixture!("get-address/ok")).unwrap();
    payload["addressId"] = json!(address_id);
    let address = get_address(&world, payload.clone()).await.unwrap();
    let keys: Vec<&str> = address
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut expected = [
        "addressId",
        "fullName",
        "phone",
        "line1",
        "line2",
        "city",
        "region",
        "postalCode",
        "country",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected, "{address}");
    assert_eq!(address["addressId"], address_id);
    for field in ["fullName", "line1", "city", "postalCode", "country"] {
        assert_eq!(address[field], created[field], "{field}");
    }

    let mut someone_else = payload.clone();
    someone_else["userId"] = json!(UserId::new().to_string());
    assert_eq!(
        get_address(&world, someone_else).await.unwrap_err(),
        "AddressNotFound"
    );
    let mut unknown = payload.clone();
    unknown["addressId"] = json!(shop_domain::AddressId::new().to_string());
    assert_eq!(
        get_address(&world, unknown).await.unwrap_err(),
        "AddressNotFound"
    );
    assert_eq!(
        get_address(&world, json!({"userId": "nope"}))
            .await
            .unwrap_err(),
        "NonRetryable",
        "a malformed input is a bug of the caller"
    );
}
