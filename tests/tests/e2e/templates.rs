//! The deploy-time checks AWS would make and the local cloud cannot: the nested stacks as
//! `sam deploy` would create them (expanded by the SAM translator, as the runner does), their
//! sizes against CloudFormation's quotas, references between stacks, and how routes attach to
//! the shop's API. No AWS account catches a broken deploy here, so these tests must.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use shop_e2e::repo_root;

/// CloudFormation refuses more than 500 resources per stack; 400 keeps room to grow.
const MAX_RESOURCES: usize = 400;
/// CloudFormation's quotas: 200 outputs and 200 parameters per stack; 150 keeps a margin.
const MAX_OUTPUTS: usize = 150;
const MAX_PARAMETERS: usize = 150;
/// A template uploaded to S3 may be at most 1 MB.
const MAX_TEMPLATE_BYTES: usize = 1_000_000;

/// One stack of the shop: its path from the root (`root`, `root/CatalogService`, …), its
/// expanded template, and the parameters its parent passes (`None` for the root).
pub struct ExpandedStack {
    pub path: String,
    pub template: Value,
    pub passed: Option<Value>,
}

/// Every stack of the shop, root first, expanded as the local cloud and `sam deploy` see them
/// (once per test run).
pub async fn expanded_stacks() -> &'static [ExpandedStack] {
    static STACKS: tokio::sync::OnceCell<Vec<ExpandedStack>> = tokio::sync::OnceCell::const_new();
    STACKS.get_or_init(expand_all).await
}

async fn expand_all() -> Vec<ExpandedStack> {
    let python = localcloud::procs::ensure_venv(&repo_root(), &|line| eprintln!("{line}"))
        .await
        .expect("the project's venv");
    let root =
        localcloud::template::expand(&python, &repo_root().join("template.yaml"), "us-east-1")
            .await
            .expect("template.yaml expands");
    let mut stacks = Vec::new();
    collect("root".to_owned(), root, None, &mut stacks);
    stacks
}

fn collect(
    path: String,
    mut template: Value,
    passed: Option<Value>,
    into: &mut Vec<ExpandedStack>,
) {
    let mut children = Vec::new();
    for (id, resource) in resources_mut(&mut template) {
        if let Some(nested) = resource
            .as_object_mut()
            .and_then(|r| r.remove("NestedTemplate"))
        {
            let parameters = resource["Properties"]["Parameters"].clone();
            children.push((format!("{path}/{id}"), nested, parameters));
        }
    }
    into.push(ExpandedStack {
        path,
        template,
        passed,
    });
    for (path, nested, parameters) in children {
        collect(path, nested, Some(parameters), into);
    }
}

fn resources_mut(template: &mut Value) -> impl Iterator<Item = (&String, &mut Value)> {
    template["Resources"].as_object_mut().into_iter().flatten()
}

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template["Resources"].as_object().into_iter().flatten()
}

fn count(template: &Value, section: &str) -> usize {
    template[section]
        .as_object()
        .map_or(0, |section| section.len())
}

/// The parent of a stack path (`root/CatalogService/CatalogOutbox` → `root/CatalogService`).
fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/').map(|(parent, _)| parent)
}

#[tokio::test]
async fn every_stack_stays_well_within_cloudformation_quotas() {
    let stacks = expanded_stacks().await;
    assert!(stacks.len() > 1, "template.yaml nests the services");
    let mut failures = Vec::new();
    eprintln!("stack resources outputs parameters bytes");
    for stack in stacks {
        let resources = count(&stack.template, "Resources");
        let outputs = count(&stack.template, "Outputs");
        let parameters = count(&stack.template, "Parameters");
        let bytes = serde_json::to_string(&stack.template).unwrap().len();
        eprintln!("{} {resources} {outputs} {parameters} {bytes}", stack.path);
        if resources > MAX_RESOURCES {
            failures.push(format!("{}: {resources} resources", stack.path));
        }
        if outputs > MAX_OUTPUTS {
            failures.push(format!("{}: {outputs} outputs", stack.path));
        }
        if parameters > MAX_PARAMETERS {
            failures.push(format!("{}: {parameters} parameters", stack.path));
        }
        if bytes >= MAX_TEMPLATE_BYTES {
            failures.push(format!("{}: {bytes} bytes", stack.path));
        }
    }
    assert!(failures.is_empty(), "over the limits: {failures:?}");
}

#[tokio::test]
async fn no_stack_refers_in_a_cycle_within_or_across_stacks() {
    // A reference across stacks is a reference among the parent's resources: a nested stack
    // whose parameters name a resource (or another nested stack's output) depends on it, and
    // an output of a nested stack is read from that stack's resource. So a cycle anywhere,
    // across stacks too, is a cycle in some stack's own dependency graph.
    for stack in expanded_stacks().await {
        if let Err(error) = localcloud::template::provisioning_order(&stack.template) {
            panic!("{}: {error:#}", stack.path);
        }
    }
}

#[test]
fn a_cycle_through_a_nested_stack_is_found() {
    // The root API's Body names a nested function, and the nested stack takes the API's id.
    let template = serde_json::json!({
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGatewayV2::Api",
                "Properties": {"Body": {"uri": {"Fn::GetAtt": ["Service", "Outputs.FunctionArn"]}}}
            },
            "Service": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"Parameters": {"ApiId": {"Ref": "Api"}}}
            }
        }
    });
    assert!(localcloud::template::provisioning_order(&template).is_err());
}

/// Where the API a `Ref` names is declared: follows a parameter up to the value the parent
/// passes, until it reaches a resource. `(stack path, logical id)`.
fn api_declaration(
    stacks: &[ExpandedStack],
    path: &str,
    reference: &Value,
) -> Option<(String, String)> {
    let name = reference.get("Ref")?.as_str()?;
    let stack = stacks.iter().find(|stack| stack.path == path)?;
    if stack.template["Resources"].get(name).is_some() {
        return Some((path.to_owned(), name.to_owned()));
    }
    let passed = stack.passed.as_ref()?.get(name)?;
    api_declaration(stacks, parent(path)?, passed)
}

/// `(route path, stack path of its API, API logical id)`.
type RouteOnApi = (String, String, String);
/// `(stack path, API logical id)`.
type ApiAt = (String, String);

/// Every route with the API it attaches to, and the APIs that carry a `Body`.
fn routes_and_bodies(stacks: &[ExpandedStack]) -> (Vec<RouteOnApi>, BTreeSet<ApiAt>) {
    let mut routes = Vec::new();
    let mut bodies = BTreeSet::new();
    for stack in stacks {
        for (id, resource) in resources(&stack.template) {
            let properties = &resource["Properties"];
            match resource["Type"].as_str() {
                Some("AWS::ApiGatewayV2::Api")
                    if properties.get("Body").is_some()
                        || properties.get("BodyS3Location").is_some() =>
                {
                    bodies.insert((stack.path.clone(), id.clone()));
                }
                Some("AWS::ApiGatewayV2::Route") => {
                    let (api_stack, api) =
                        api_declaration(stacks, &stack.path, &properties["ApiId"]).unwrap_or_else(
                            || panic!("{}/{id}: its ApiId names no API", stack.path),
                        );
                    routes.push((format!("{}/{id}", stack.path), api_stack, api));
                }
                _ => {}
            }
        }
    }
    (routes, bodies)
}

#[tokio::test]
async fn no_api_has_both_an_openapi_body_and_route_resources() {
    // SAM #1971, #1650: an update of an API with a Body deletes the Route resources that
    // other stacks attached to it.
    let stacks = expanded_stacks().await;
    let (routes, bodies) = routes_and_bodies(stacks);
    assert!(
        !routes.is_empty(),
        "the services attach routes to the shop's API"
    );
    let mixed: Vec<_> = routes
        .iter()
        .filter(|(_, stack, api)| bodies.contains(&(stack.clone(), api.clone())))
        .collect();
    assert!(mixed.is_empty(), "routes on an API with a Body: {mixed:?}");
}

#[test]
fn a_route_on_an_api_with_a_body_is_found_through_parameters() {
    let stacks = vec![
        ExpandedStack {
            path: "root".to_owned(),
            template: serde_json::json!({"Resources": {
                "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Body": {}}},
                "Service": {"Type": "AWS::CloudFormation::Stack", "Properties": {}}
            }}),
            passed: None,
        },
        ExpandedStack {
            path: "root/Service".to_owned(),
            template: serde_json::json!({"Resources": {
                "Route": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": {"Ref": "ApiId"}}}
            }}),
            passed: Some(serde_json::json!({"ApiId": {"Ref": "Api"}})),
        },
    ];
    let (routes, bodies) = routes_and_bodies(&stacks);
    assert_eq!(
        routes,
        [(
            "root/Service/Route".to_owned(),
            "root".to_owned(),
            "Api".to_owned()
        )]
    );
    assert!(bodies.contains(&("root".to_owned(), "Api".to_owned())));
}

#[tokio::test]
async fn logical_ids_are_unique_across_the_root_and_the_service_stacks() {
    // The local cloud names resources `<stack>-<LogicalId>` for the root and every stack nested
    // in it (docs/decisions.md), so one logical id in two services would be one name.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut clashes = Vec::new();
    for stack in expanded_stacks().await {
        if stack.path.matches('/').count() > 1 {
            continue;
        }
        for (id, _) in resources(&stack.template) {
            if let Some(first) = seen.insert(id.clone(), stack.path.clone()) {
                clashes.push(format!("{id} in {first} and {}", stack.path));
            }
        }
    }
    assert!(clashes.is_empty(), "{clashes:?}");
}

/// Every Lambda function of the shop: its stack's path, logical id, binary and resource.
async fn lambda_functions() -> Vec<(&'static str, &'static str, &'static str, &'static Value)> {
    let mut functions = Vec::new();
    for stack in expanded_stacks().await {
        for (id, resource) in resources(&stack.template) {
            if resource["Type"] == "AWS::Lambda::Function" {
                let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or_default();
                functions.push((stack.path.as_str(), id.as_str(), binary, resource));
            }
        }
    }
    functions
}

/// The workspace's binaries (`cargo metadata`).
fn workspace_binaries() -> BTreeSet<String> {
    binary_sources().into_keys().collect()
}

#[tokio::test]
async fn every_function_runs_a_workspace_binary_named_like_its_logical_id() {
    // infra/build/Makefile derives the binary from the make target `build-<LogicalId>`
    // (`GetProductFunction` → `get-product`), and the local cloud runs `BuildProperties.Binary`:
    // the two must agree, and the binary must exist.
    let binaries = workspace_binaries();
    let mut wrong = Vec::new();
    for stack in expanded_stacks().await {
        for (id, resource) in resources(&stack.template) {
            if resource["Type"] != "AWS::Lambda::Function" {
                continue;
            }
            let metadata = &resource["Metadata"];
            let binary = metadata["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_default();
            let named: String = binary
                .split('-')
                .map(|word| {
                    let mut chars = word.chars();
                    chars
                        .next()
                        .map(|c| c.to_ascii_uppercase())
                        .into_iter()
                        .chain(chars)
                        .collect::<String>()
                })
                .collect();
            if metadata["BuildMethod"] != "makefile"
                || format!("{named}Function") != *id
                || !binaries.contains(binary)
            {
                wrong.push(format!("{}/{id}: {metadata}", stack.path));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The variables every function gets from its template's `Globals`, whatever it reads:
/// `RUST_LOG` (read by the tracing filter) and `STAGE` (for operators reading a function's
/// configuration; no code branches on it).
const GLOBAL_VARIABLES: [&str; 2] = ["RUST_LOG", "STAGE"];

/// The functions defined in the Rust files under `dirs`: `(impl type or "", name)` → body.
fn function_bodies(dirs: &[std::path::PathBuf]) -> BTreeMap<(String, String), String> {
    let mut bodies = BTreeMap::new();
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut pending: Vec<std::path::PathBuf> = dirs.to_vec();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                // Not the other binaries' `main`s: every one is `("", "main")`.
                if !path.ends_with("bin") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut current_impl = String::new();
        let mut open: Option<(String, String, usize)> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("impl ") {
                current_impl = rest
                    .split([' ', '<', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            } else if line == "}" {
                current_impl.clear();
            }
            let indent = line.len() - line.trim_start().len();
            if let Some((_, body, at)) = &mut open {
                body.push_str(line);
                body.push('\n');
                if line.trim() == "}" && indent == *at {
                    let (key, body, _) = open.take().unwrap();
                    let owner = if indent == 0 {
                        String::new()
                    } else {
                        current_impl.clone()
                    };
                    bodies.insert((owner, key), body);
                }
                continue;
            }
            let trimmed = line.trim_start();
            let signature = ["pub async fn ", "pub fn ", "async fn ", "fn "]
                .iter()
                .find_map(|prefix| trimmed.strip_prefix(prefix));
            if let Some(rest) = signature {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !line.trim_end().ends_with(';') {
                    open = Some((name, format!("{line}\n"), indent));
                }
            }
        }
    }
    bodies
}

/// The environment variables `body` reads through `shop_adapters::config` or `std::env`,
/// directly or through the functions it calls that `bodies` defines: `(required, optional)`,
/// the optional ones being those with a default (`optional`, `parse_or`).
fn variables_read(
    body: &str,
    bodies: &BTreeMap<(String, String), String>,
    depth: usize,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let literals = |readers: &[&str]| -> BTreeSet<String> {
        let mut read = BTreeSet::new();
        for reader in readers {
            for (i, _) in body.match_indices(reader) {
                let rest = &body[i + reader.len()..];
                if let Some(end) = rest.find('"') {
                    read.insert(rest[..end].to_owned());
                }
            }
        }
        read
    };
    let mut required = literals(&["required(\"", "parse(\"", "var(\""]);
    let mut optional = literals(&["optional(\"", "parse_or(\""]);
    if depth == 0 {
        return (required, optional);
    }
    // Calls `name(` and `path::Type::name(` of functions defined in the scanned sources; a
    // qualified call goes to the definition whose `impl` type is the longest suffix of its
    // path (`platform::signing_keys::Deps::from_env` → `impl signing_keys::Deps`, not
    // `impl Deps`).
    let mut token = String::new();
    for c in body.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            token.push(c);
            continue;
        }
        if c == '(' && !token.is_empty() {
            let segments: Vec<&str> = token.split("::").filter(|s| !s.is_empty()).collect();
            if let Some((name, path)) = segments.split_last() {
                let callee = bodies
                    .iter()
                    .filter(|((owner, fn_name), _)| {
                        let owner: Vec<&str> =
                            owner.split("::").filter(|s| !s.is_empty()).collect();
                        fn_name == name && path.ends_with(&owner)
                    })
                    .max_by_key(|((owner, _), _)| owner.len())
                    .map(|(_, callee)| callee);
                if let Some(callee) = callee.filter(|callee| *callee != body) {
                    let (r, o) = variables_read(callee, bodies, depth - 1);
                    required.extend(r);
                    optional.extend(o);
                }
            }
        }
        token.clear();
    }
    (required, optional)
}

/// Every binary of the workspace and its `main` file.
fn binary_sources() -> BTreeMap<String, std::path::PathBuf> {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata JSON");
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|package| package["targets"].as_array().into_iter().flatten())
        .filter(|target| {
            target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.contains(&"bin".into()))
        })
        .filter_map(|target| {
            let name = target["name"].as_str()?.to_owned();
            let path = std::path::PathBuf::from(target["src_path"].as_str()?);
            Some((name, path))
        })
        .collect()
}

#[tokio::test]
async fn every_function_is_given_exactly_the_variables_its_binary_reads() {
    // The env-var rule of docs/service-structure.md: a function's template gives it nothing
    // its `main` does not read (directly or through the `from_env` it calls) and everything
    // it requires; a tunable with a default may be left out.
    let sources = binary_sources();
    let mut wrong = Vec::new();
    for (path, id, binary, resource) in lambda_functions().await {
        let Some(main) = sources.get(binary) else {
            wrong.push(format!("{id}: no binary `{binary}`"));
            continue;
        };
        // The package's own sources and the shared kit.
        let package = main.ancestors().nth(3).unwrap().to_path_buf();
        let dirs = [package.join("src"), repo_root().join("shared/adapters/src")];
        let bodies = function_bodies(&dirs);
        let (required, optional) =
            variables_read(&std::fs::read_to_string(main).unwrap(), &bodies, 4);
        let given: BTreeSet<String> = resource["Properties"]["Environment"]["Variables"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| name.clone())
            .filter(|name| !GLOBAL_VARIABLES.contains(&name.as_str()))
            .collect();
        let unread: Vec<&String> = given
            .iter()
            .filter(|name| !required.contains(*name) && !optional.contains(*name))
            .collect();
        let missing: Vec<&String> = required.difference(&given).collect();
        if !unread.is_empty() || !missing.is_empty() {
            wrong.push(format!(
                "{}/{id} ({binary}): given but not read {unread:?}; required but not \
                 given {missing:?}",
                path
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_variable_scanner_follows_calls_and_tells_required_from_optional() {
    let dir = std::env::temp_dir().join(format!("env-scan-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(
        dir.join("setup.rs"),
        "impl Deps {\n    pub async fn from_env() -> Self {\n        \
         let t = config::required(\"TABLE_NAME\")?;\n        Self::new(helper())\n    }\n\
         \n    pub async fn other_from_env() -> Self {\n        \
         config::required(\"NOT_CALLED\")?;\n    }\n}\n\n\
         fn helper() -> u32 {\n    config::parse_or(\"TUNABLE\", 5)?\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bin/other.rs"),
        "fn main() {\n    config::required(\"OTHER_MAIN\");\n}\n",
    )
    .unwrap();
    let bodies = function_bodies(std::slice::from_ref(&dir));
    let main = "async fn main() {\n    let deps = svc::Deps::from_env().await?;\n}\n";
    let (required, optional) = variables_read(main, &bodies, 4);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(required, BTreeSet::from(["TABLE_NAME".to_owned()]));
    assert_eq!(optional, BTreeSet::from(["TUNABLE".to_owned()]));
}

#[tokio::test]
async fn every_function_runs_the_handler_named_like_its_binary() {
    // `get-product` runs `…::get_product`, `users-on-auth-events` runs
    // `…::users_on_auth_events`: a reader finds the handler from the function's name. The relay
    // is one shared binary whose `main` is the kit's `serve_relay`.
    let sources = binary_sources();
    let mut wrong = Vec::new();
    for (_, id, binary, _) in lambda_functions().await {
        if binary == "relay-outbox" {
            continue;
        }
        let handler = format!("::{}(", binary.replace('-', "_"));
        let main = sources
            .get(binary)
            .map(|path| std::fs::read_to_string(path).unwrap())
            .unwrap_or_default();
        if !main.contains(&handler) {
            wrong.push(format!("{id}: `{binary}` does not call `{handler}…)`"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
