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

/// The workspace's binaries (`cargo metadata`).
fn workspace_binaries() -> BTreeSet<String> {
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
        .filter_map(|target| target["name"].as_str().map(str::to_owned))
        .collect()
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
