//! openapi.yaml and the service templates describe the same routes, with the same scopes.

use std::collections::BTreeSet;

use serde_json::Value;
use shop_e2e::repo_root;

/// (METHOD, path, required scopes) for every operation.
type Route = (String, String, Vec<String>);

fn routes_of(paths: &Value) -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    for (path, operations) in paths.as_object().into_iter().flatten() {
        for (method, operation) in operations.as_object().into_iter().flatten() {
            let method = match method.as_str() {
                "x-amazon-apigateway-any-method" => "ANY".to_owned(),
                m if m.starts_with("x-") || m == "parameters" => continue,
                m => m.to_uppercase(),
            };
            let mut scopes: Vec<String> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|requirement| requirement.as_object().into_iter().flatten())
                .flat_map(|(_, scopes)| scopes.as_array().into_iter().flatten())
                .filter_map(|scope| scope.as_str().map(str::to_owned))
                .collect();
            scopes.sort();
            routes.insert((method, path.clone(), scopes));
        }
    }
    routes
}

async fn python() -> std::path::PathBuf {
    localcloud::procs::ensure_venv(&repo_root(), &|line| eprintln!("{line}"))
        .await
        .unwrap()
}

/// The routes the service stacks attach to the shop's API (`AWS::ApiGatewayV2::Route`).
async fn template_routes() -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    for stack in crate::templates::expanded_stacks().await {
        for resource in stack.template["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, r)| r)
        {
            if resource["Type"] != "AWS::ApiGatewayV2::Route" {
                continue;
            }
            let properties = &resource["Properties"];
            let key = properties["RouteKey"].as_str().expect("a RouteKey");
            let (method, path) = key.split_once(' ').expect("METHOD /path");
            let mut scopes: Vec<String> = properties["AuthorizationScopes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|scope| scope.as_str().map(str::to_owned))
                .collect();
            scopes.sort();
            routes.insert((method.to_owned(), path.to_owned(), scopes));
        }
    }
    routes
}

async fn openapi() -> Value {
    let output = tokio::process::Command::new(python().await)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(repo_root().join("openapi.yaml"))
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn every_template_route_is_in_openapi_and_nothing_else_is() {
    let template = template_routes().await;
    let documented = routes_of(&openapi().await["paths"]);
    assert!(!template.is_empty());
    let undocumented: Vec<_> = template.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&template).collect();
    assert!(
        undocumented.is_empty(),
        "in the templates, not in openapi.yaml: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "in openapi.yaml, not in the templates: {phantom:?}"
    );
}

#[tokio::test]
async fn every_protected_route_documents_the_gateways_401_and_403() {
    let spec = openapi().await;
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            if operation.get("security").is_some() {
                for status in ["401", "403"] {
                    assert!(
                        operation["responses"].get(status).is_some(),
                        "{method} {path} does not document {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn every_operation_documents_what_the_gateway_answers_on_any_route() {
    let spec = openapi().await;
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            if method == "parameters" || method.starts_with("x-") {
                continue;
            }
            // Throttling, a failed function, and (but for the health reports, which answer
            // 503 themselves) a function that timed out.
            for status in ["429", "500", "503"] {
                assert!(
                    operation["responses"].get(status).is_some(),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
}
