//! The checkout saga's definition (functions/orders/checkout.asl.json), checked as Step
//! Functions would take it and as the issue asks it to be built: every step and every
//! compensation its own Task with its own function, Retry (the four Lambda service errors,
//! backoff, full jitter), Catch and timeout; the payment wait a `.waitForTaskToken` whose
//! timeout comes from the execution input as an integer; compensations in reverse; every
//! state reachable; the substitutions and the role's permissions matching the functions used.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use shop_e2e::repo_root;

use crate::templates::expanded_stacks;

const LAMBDA_ERRORS: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

fn definition() -> Value {
    let path = repo_root().join("functions/orders/checkout.asl.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the ASL file")).expect("JSON")
}

fn states(asl: &Value) -> &serde_json::Map<String, Value> {
    asl["States"].as_object().expect("States")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The `${Name}` a Task invokes.
fn function_of(state: &Value) -> &str {
    state["Parameters"]["FunctionName"]
        .as_str()
        .and_then(|f| f.strip_prefix("${"))
        .and_then(|f| f.strip_suffix('}'))
        .unwrap_or_else(|| panic!("a Task names its function by substitution: {state}"))
}

/// Every state a state can go to next (Next, Catch targets, Choice branches).
fn successors(state: &Value) -> Vec<&str> {
    let mut next: Vec<&str> = state["Next"].as_str().into_iter().collect();
    for catcher in state["Catch"].as_array().into_iter().flatten() {
        next.extend(catcher["Next"].as_str());
    }
    for choice in state["Choices"].as_array().into_iter().flatten() {
        next.extend(choice["Next"].as_str());
    }
    next.extend(state["Default"].as_str());
    next
}

#[test]
fn every_task_has_its_own_function_retry_catch_and_timeout() {
    let asl = definition();
    let mut functions = BTreeMap::new();
    let mut wrong = Vec::new();
    for (name, state) in states(&asl) {
        if state["Type"] != "Task" {
            continue;
        }
        let resource = state["Resource"].as_str().unwrap_or_default();
        if !resource.starts_with("arn:aws:states:::lambda:invoke") {
            wrong.push(format!("{name}: not a Lambda task ({resource})"));
        }
        if let Some(other) = functions.insert(function_of(state), name) {
            wrong.push(format!("{name} and {other} share one function"));
        }
        let retriers = state["Retry"].as_array().cloned().unwrap_or_default();
        let lambda_retry = retriers.iter().find(|r| {
            let errors = strings(&r["ErrorEquals"]);
            LAMBDA_ERRORS.iter().all(|e| errors.contains(e))
        });
        match lambda_retry {
            None => wrong.push(format!(
                "{name}: no Retry of the four Lambda service errors"
            )),
            Some(r) => {
                let backoff = r["BackoffRate"].as_f64().unwrap_or(1.0);
                if r["JitterStrategy"] != "FULL" || backoff <= 1.0 || !r["IntervalSeconds"].is_u64()
                {
                    wrong.push(format!(
                        "{name}: Retry without backoff and full jitter: {r}"
                    ));
                }
                if r["MaxAttempts"].as_u64().unwrap_or(0) < 2 {
                    wrong.push(format!("{name}: Retry gives up at once: {r}"));
                }
            }
        }
        for r in &retriers {
            if strings(&r["ErrorEquals"]).contains(&"States.ALL") {
                wrong.push(format!(
                    "{name}: retries every error, business refusals too"
                ));
            }
        }
        let catchers = state["Catch"].as_array().cloned().unwrap_or_default();
        if catchers
            .last()
            .is_none_or(|c| strings(&c["ErrorEquals"]) != ["States.ALL"])
        {
            wrong.push(format!("{name}: no final States.ALL Catch"));
        }
        if catchers.iter().any(|c| c["ResultPath"] == "$") {
            wrong.push(format!("{name}: a Catch replaces the whole state"));
        }
        let timeout = state["TimeoutSeconds"].as_u64().is_some_and(|t| t > 0)
            || state["TimeoutSecondsPath"].is_string();
        if !timeout {
            wrong.push(format!(
                "{name}: no integer TimeoutSeconds (or TimeoutSecondsPath)"
            ));
        }
        if state.get("HeartbeatSeconds").is_some() || state.get("HeartbeatSecondsPath").is_some() {
            wrong.push(format!("{name}: a heartbeat nothing sends"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        functions.len() >= 12,
        "one function per step: {functions:?}"
    );
}

#[test]
fn the_payment_wait_takes_its_timeout_from_the_input_and_catches_it() {
    let asl = definition();
    let waits: Vec<(&String, &Value)> = states(&asl)
        .iter()
        .filter(|(_, s)| {
            s["Resource"]
                .as_str()
                .is_some_and(|r| r.ends_with(".waitForTaskToken"))
        })
        .collect();
    assert_eq!(waits.len(), 1, "one wait: the payment");
    let (name, wait) = waits[0];
    assert_eq!(name, "AwaitPayment");
    assert_eq!(wait["TimeoutSecondsPath"], "$.paymentTimeoutSeconds");
    assert_eq!(
        wait["Parameters"]["Payload"]["taskToken.$"],
        "$$.Task.Token"
    );
    let caught: Vec<Vec<&str>> = wait["Catch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| strings(&c["ErrorEquals"]))
        .collect();
    assert!(caught.contains(&vec!["States.Timeout"]), "{caught:?}");
    assert!(caught.contains(&vec!["PaymentDeclined"]), "{caught:?}");
    for r in wait["Retry"].as_array().unwrap() {
        assert!(
            !strings(&r["ErrorEquals"]).contains(&"States.Timeout"),
            "the payment's timeout is not retried: {r}"
        );
    }
}

#[test]
fn business_refusals_compensate_in_reverse_and_every_state_is_reachable() {
    let asl = definition();
    let all = states(&asl);
    let catches = |state: &str, error: &str| -> String {
        all[state]["Catch"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| strings(&c["ErrorEquals"]).contains(&error))
            .and_then(|c| c["Next"].as_str())
            .unwrap_or_else(|| panic!("{state} does not catch {error}"))
            .to_owned()
    };
    assert_eq!(
        catches("ReserveDiscount", "UsageLimitReached"),
        "ReleaseDiscount"
    );
    assert_eq!(
        catches("ReserveDiscount", "DiscountNotApplicable"),
        "ReleaseDiscount"
    );
    assert_eq!(catches("ReserveStock", "InsufficientStock"), "ReleaseStock");
    assert_eq!(catches("AwaitPayment", "PaymentDeclined"), "VoidPayment");
    assert_eq!(catches("CommitStock", "ReservationExpired"), "VoidPayment");

    // From the payment back: void or refund, stock, discount, then the order is closed.
    let mut chain = vec!["VoidPayment".to_owned()];
    while let Some(next) = all[chain.last().unwrap().as_str()]["Next"].as_str() {
        chain.push(next.to_owned());
    }
    assert_eq!(
        chain,
        [
            "VoidPayment",
            "ReleaseStock",
            "ReleaseDiscount",
            "CloseOrder"
        ]
    );

    // The happy path: few transitions (each is billed on Standard).
    let mut path = vec![asl["StartAt"].as_str().unwrap().to_owned()];
    while let Some(next) = all[path.last().unwrap().as_str()]["Next"].as_str() {
        path.push(next.to_owned());
    }
    assert_eq!(
        path,
        [
            "ReserveDiscount",
            "ReserveStock",
            "CreatePayment",
            "MarkPendingPayment",
            "AwaitPayment",
            "CommitStock",
            "RedeemDiscount",
            "ClearCart",
            "ConfirmOrder"
        ]
    );

    let mut seen = BTreeSet::new();
    let mut todo = vec![asl["StartAt"].as_str().unwrap()];
    while let Some(name) = todo.pop() {
        let state = all
            .get(name)
            .unwrap_or_else(|| panic!("{name} is named but not defined"));
        if seen.insert(name) {
            todo.extend(successors(state));
        }
    }
    let unreachable: Vec<&String> = all.keys().filter(|k| !seen.contains(k.as_str())).collect();
    assert!(unreachable.is_empty(), "never reached: {unreachable:?}");
}

#[tokio::test]
async fn the_state_machine_substitutes_and_may_invoke_exactly_the_functions_it_uses() {
    let asl = definition();
    let used: BTreeSet<&str> = states(&asl)
        .values()
        .filter(|s| s["Type"] == "Task")
        .map(function_of)
        .collect();
    let stacks = expanded_stacks().await;
    let orders = stacks
        .iter()
        .find(|s| s.path.ends_with("/OrdersService"))
        .expect("the orders stack");
    let resources = orders.template["Resources"].as_object().unwrap();
    let (_, machine) = resources
        .iter()
        .find(|(_, r)| r["Type"] == "AWS::StepFunctions::StateMachine")
        .expect("a state machine");
    assert_eq!(
        machine["Properties"]["StateMachineType"], "STANDARD",
        "Standard: .waitForTaskToken and exactly-once start by name"
    );
    let substituted: BTreeSet<&str> = machine["Properties"]["DefinitionSubstitutions"]
        .as_object()
        .expect("DefinitionSubstitutions")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        substituted, used,
        "every ${{…}} of the ASL is substituted, no more"
    );

    let role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        .as_str()
        .expect("the SAM-made role");
    let policies = &resources[role_id]["Properties"]["Policies"];
    let mut invokable = 0;
    let mut other_actions = BTreeSet::new();
    for policy in policies.as_array().into_iter().flatten() {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(a) => vec![a.as_str()],
                other => strings(other),
            };
            for action in actions {
                if action == "lambda:InvokeFunction" {
                    let resources = statement["Resource"].as_array().map_or(1, Vec::len);
                    invokable += resources;
                    assert!(
                        statement["Resource"] != "*",
                        "the saga may invoke only its own steps"
                    );
                } else {
                    other_actions.insert(action.to_owned());
                }
            }
        }
    }
    assert_eq!(
        invokable,
        used.len(),
        "one lambda:InvokeFunction resource per function the ASL uses"
    );
    assert!(other_actions.is_empty(), "{other_actions:?}");
}
