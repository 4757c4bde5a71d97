//! Who may do what, read from the expanded stacks: IAM, resource policies and reserved
//! concurrency are not enforced by the local cloud, so these tests are what stands between a
//! template change and a function that can read a secret, send mail or publish events it
//! should not (or a deploy that a new account's quotas refuse).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::templates::{ExpandedStack, expanded_stacks};

/// What a template value names, followed across stacks to where it is declared: a resource as
/// `<stack path>/<LogicalId>` (`root/SigningKeysSecret`), anything else as its literal text.
fn origins(stacks: &[ExpandedStack], path: &str, value: &Value) -> BTreeSet<String> {
    let Some(stack) = stacks.iter().find(|stack| stack.path == path) else {
        return BTreeSet::new();
    };
    let mut found = BTreeSet::new();
    match value {
        Value::String(text) => {
            found.insert(text.clone());
        }
        Value::Array(items) => {
            for item in items {
                found.extend(origins(stacks, path, item));
            }
        }
        Value::Object(object) => {
            if let Some(name) = object.get("Ref").and_then(Value::as_str) {
                found.extend(named(stacks, stack, name));
            } else if let Some([id, attribute]) = object
                .get("Fn::GetAtt")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                let (id, attribute) = (id.as_str().unwrap(), attribute.as_str().unwrap());
                let child = format!("{path}/{id}");
                match attribute.strip_prefix("Outputs.") {
                    Some(output) if stacks.iter().any(|stack| stack.path == child) => {
                        let nested = stacks.iter().find(|stack| stack.path == child).unwrap();
                        let value = &nested.template["Outputs"][output]["Value"];
                        found.extend(origins(stacks, &child, value));
                    }
                    _ => {
                        found.insert(format!("{path}/{id}"));
                    }
                }
            } else if let Some(join) = object.get("Fn::Join").or(object.get("Fn::Split")) {
                found.extend(origins(stacks, path, &join[1]));
            } else if let Some(sub) = object.get("Fn::Sub") {
                let text = sub.as_str().or(sub[0].as_str()).unwrap_or_default();
                for name in text.split("${").skip(1).filter_map(|s| s.split('}').next()) {
                    let name = name.split('.').next().unwrap_or(name);
                    if !name.starts_with("AWS::") {
                        found.extend(named(stacks, stack, name));
                    }
                }
            }
        }
        _ => {}
    }
    found
}

/// A `Ref` to `name` in `stack`: its resource, or what the parent passes for its parameter.
fn named(stacks: &[ExpandedStack], stack: &ExpandedStack, name: &str) -> BTreeSet<String> {
    if stack.template["Resources"].get(name).is_some() {
        return BTreeSet::from([format!("{}/{name}", stack.path)]);
    }
    match (&stack.passed, stack.path.rsplit_once('/')) {
        (Some(passed), Some((parent, _))) if passed.get(name).is_some() => {
            origins(stacks, parent, &passed[name])
        }
        _ => BTreeSet::from([format!("{}/{name}", stack.path)]),
    }
}

/// Whether a statement's `Action` (one or a list, wildcards allowed) covers `action`.
fn covers(actions: &Value, action: &str) -> bool {
    let one = |pattern: &str| {
        let pattern = pattern.to_ascii_lowercase();
        let action = action.to_ascii_lowercase();
        match pattern.strip_suffix('*') {
            Some(prefix) => action.starts_with(prefix),
            None => pattern == action,
        }
    };
    match actions {
        Value::String(pattern) => one(pattern),
        Value::Array(patterns) => patterns.iter().filter_map(Value::as_str).any(one),
        _ => false,
    }
}

/// Every `Allow` statement of every IAM role's inline policies and of every `AWS::IAM::Policy`,
/// with the role it applies to (`<stack path>/<RoleLogicalId>`).
fn allowed_statements(stacks: &'static [ExpandedStack]) -> Vec<(String, &'static Value)> {
    let mut statements = Vec::new();
    for stack in stacks {
        for (id, resource) in stack.template["Resources"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let properties = &resource["Properties"];
            let (roles, documents): (BTreeSet<String>, Vec<&Value>) =
                match resource["Type"].as_str() {
                    Some("AWS::IAM::Role") => (
                        BTreeSet::from([format!("{}/{id}", stack.path)]),
                        properties["Policies"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|policy| &policy["PolicyDocument"])
                            .collect(),
                    ),
                    Some("AWS::IAM::Policy") => (
                        origins(stacks, &stack.path, &properties["Roles"]),
                        vec![&properties["PolicyDocument"]],
                    ),
                    _ => continue,
                };
            for document in documents {
                for statement in document["Statement"].as_array().into_iter().flatten() {
                    if statement["Effect"] == "Allow" {
                        for role in &roles {
                            statements.push((role.clone(), statement));
                        }
                    }
                }
            }
        }
    }
    statements
}

/// For each resource an action is granted on (`*` included), the roles granted it.
async fn granted(action: &str) -> BTreeMap<String, BTreeSet<String>> {
    let stacks = expanded_stacks().await;
    let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (role, statement) in allowed_statements(stacks) {
        if !covers(&statement["Action"], action) {
            continue;
        }
        let stack = role.rsplit_once('/').unwrap().0;
        for resource in origins(stacks, stack, &statement["Resource"]) {
            grants.entry(resource).or_default().insert(role.clone());
        }
    }
    grants
}

fn role_names(roles: &BTreeSet<String>) -> BTreeSet<&str> {
    roles
        .iter()
        .map(|role| role.rsplit_once('/').unwrap().1)
        .collect()
}

/// The functions that sign access tokens, and the key manager that writes the keys.
const KEY_READERS: [&str; 4] = [
    "ManageSigningKeysFunctionRole",
    "LoginFunctionRole",
    "RefreshTokenFunctionRole",
    "ChangePasswordFunctionRole",
];

#[tokio::test]
async fn only_the_signers_and_the_key_manager_may_read_the_private_keys() {
    let grants = granted("secretsmanager:GetSecretValue").await;
    assert!(
        !grants.contains_key("*"),
        "GetSecretValue on every secret: {:?}",
        grants.get("*")
    );
    let private = grants
        .get("root/SigningKeysSecret")
        .expect("some role reads the signing keys");
    assert_eq!(role_names(private), BTreeSet::from(KEY_READERS));
    let public = grants
        .get("root/PublicKeysSecret")
        .expect("the JWKS route reads the public copy");
    assert_eq!(
        role_names(public),
        BTreeSet::from(["GetJwksFunctionRole"]),
        "the public copy is the JWKS route's only secret"
    );
    let jwks_reads: BTreeSet<&String> = grants
        .iter()
        .filter(|(_, roles)| role_names(roles).contains("GetJwksFunctionRole"))
        .map(|(secret, _)| secret)
        .collect();
    assert_eq!(
        jwks_reads,
        BTreeSet::from([&"root/PublicKeysSecret".to_owned()])
    );
}

#[tokio::test]
async fn the_private_keys_secret_denies_reading_to_every_other_principal() {
    let stacks = expanded_stacks().await;
    let root = &stacks[0];
    let policies: Vec<&Value> = root.template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|resource| resource["Type"] == "AWS::SecretsManager::ResourcePolicy")
        .filter(|resource| {
            origins(stacks, "root", &resource["Properties"]["SecretId"])
                .contains("root/SigningKeysSecret")
        })
        .collect();
    assert_eq!(policies.len(), 1, "one resource policy on the signing keys");
    let statements = policies[0]["Properties"]["ResourcePolicy"]["Statement"]
        .as_array()
        .expect("statements");
    let deny = statements
        .iter()
        .find(|statement| statement["Effect"] == "Deny")
        .expect("a Deny statement");
    assert_eq!(deny["Principal"], "*");
    // Only reading is denied: a deny on everything would block the key manager's writes and
    // CloudFormation's own updates of the secret.
    assert_eq!(deny["Action"], "secretsmanager:GetSecretValue");
    let exempt = origins(
        stacks,
        "root",
        &deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
    );
    let exempt: BTreeSet<&str> = exempt
        .iter()
        .filter(|origin| origin.contains('/'))
        .map(|origin| origin.rsplit_once('/').unwrap().1)
        .collect();
    assert_eq!(exempt, BTreeSet::from(KEY_READERS));
}

/// Every role granted `action`, with the statement that grants it.
async fn grants_of(action: &str) -> Vec<(String, &'static Value)> {
    allowed_statements(expanded_stacks().await)
        .into_iter()
        .filter(|(_, statement)| covers(&statement["Action"], action))
        .collect()
}

/// `Fn::Sub` text with the stack's parameters replaced by what its parent passes as literals.
fn substituted(stack: &ExpandedStack, value: &Value) -> String {
    let mut text = value["Fn::Sub"]
        .as_str()
        .or(value.as_str())
        .unwrap_or_default()
        .to_owned();
    for (name, passed) in stack.passed.iter().flat_map(|p| p.as_object()).flatten() {
        if let Some(passed) = passed.as_str() {
            text = text.replace(&format!("${{{name}}}"), passed);
        }
    }
    text
}

#[tokio::test]
async fn a_relay_may_publish_only_its_own_services_events() {
    let stacks = expanded_stacks().await;
    let grants = grants_of("events:PutEvents").await;
    assert!(!grants.is_empty(), "the relays put events");
    for (role, statement) in grants {
        let stack_path = role.rsplit_once('/').unwrap().0;
        let stack = stacks.iter().find(|s| s.path == stack_path).unwrap();
        // root/CatalogService/CatalogOutbox publishes as shop.catalog.
        let service = stack_path.split('/').nth(1).unwrap_or_default();
        let expected = format!(
            "shop.{}",
            service.trim_end_matches("Service").to_lowercase()
        );
        let source = &statement["Condition"]["StringEquals"]["events:source"];
        assert_eq!(substituted(stack, source), expected, "{role}: {statement}");
    }
}

#[tokio::test]
async fn mail_may_be_sent_only_as_the_shops_sender() {
    let stacks = expanded_stacks().await;
    let grants = grants_of("ses:SendEmail").await;
    assert!(!grants.is_empty(), "someone sends the account emails");
    for (role, statement) in grants {
        let stack = role.rsplit_once('/').unwrap().0;
        let from = &statement["Condition"]["StringEquals"]["ses:FromAddress"];
        assert_eq!(
            origins(stacks, stack, from),
            BTreeSet::from(["root/MailFrom".to_owned()]),
            "{role}: {statement}"
        );
    }
}

#[tokio::test]
async fn auth_functions_reserve_concurrency_only_when_asked() {
    // A new AWS account's concurrency quota is 10: any reservation by default would fail the
    // deploy. The local cloud ignores reservations, so this reads what AWS would do.
    let stacks = expanded_stacks().await;
    let root = &stacks[0];
    assert_eq!(
        root.template["Parameters"]["AuthReservedConcurrency"]["Default"]
            .to_string()
            .trim_matches('"'),
        "0"
    );
    let mut reserving = Vec::new();
    for stack in stacks {
        for (id, resource) in stack.template["Resources"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if resource["Type"] != "AWS::Lambda::Function" {
                continue;
            }
            let reserved = &resource["Properties"]["ReservedConcurrentExecutions"];
            if stack.path != "root/AuthService" {
                if !reserved.is_null() {
                    reserving.push(format!("{}/{id}", stack.path));
                }
                continue;
            }
            assert_eq!(
                reserved,
                &serde_json::json!({"Fn::If": [
                    "HasReservedConcurrency",
                    {"Ref": "ReservedConcurrency"},
                    {"Ref": "AWS::NoValue"}
                ]}),
                "{id}"
            );
            assert_eq!(
                stack.passed.as_ref().unwrap()["ReservedConcurrency"],
                serde_json::json!({"Ref": "AuthReservedConcurrency"})
            );
            assert_eq!(
                stack.template["Conditions"]["HasReservedConcurrency"],
                serde_json::json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]})
            );
        }
    }
    assert!(
        reserving.is_empty(),
        "reserve unconditionally: {reserving:?}"
    );
}

#[test]
fn origins_follow_parameters_and_outputs_across_stacks() {
    let stacks = vec![
        ExpandedStack {
            path: "root".to_owned(),
            template: serde_json::json!({"Resources": {
                "Secret": {"Type": "AWS::SecretsManager::Secret"},
                "Service": {"Type": "AWS::CloudFormation::Stack"}
            }}),
            passed: None,
        },
        ExpandedStack {
            path: "root/Service".to_owned(),
            template: serde_json::json!({
                "Resources": {"Role": {"Type": "AWS::IAM::Role"}},
                "Outputs": {"Roles": {"Value": {"Fn::Join": [",", [{"Fn::GetAtt": ["Role", "Arn"]}]]}}}
            }),
            passed: Some(serde_json::json!({"SecretArn": {"Ref": "Secret"}})),
        },
    ];
    let secret = serde_json::json!({"Ref": "SecretArn"});
    assert_eq!(
        origins(&stacks, "root/Service", &secret),
        BTreeSet::from(["root/Secret".to_owned()])
    );
    let roles =
        serde_json::json!({"Fn::Split": [",", {"Fn::GetAtt": ["Service", "Outputs.Roles"]}]});
    assert_eq!(
        origins(&stacks, "root", &roles),
        BTreeSet::from(["root/Service/Role".to_owned()])
    );
    let sub = serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:x:${SecretArn}"});
    assert_eq!(
        origins(&stacks, "root/Service", &sub),
        BTreeSet::from(["root/Secret".to_owned()])
    );
    assert!(covers(
        &serde_json::json!(["s3:Get*", "secretsmanager:*"]),
        "secretsmanager:GetSecretValue"
    ));
    assert!(!covers(
        &serde_json::json!("secretsmanager:PutSecretValue"),
        "secretsmanager:GetSecretValue"
    ));
}
