//! Lambda event filtering: `FilterCriteria.Filters[].Pattern`, EventBridge-style patterns.
//!
//! A record is kept when any filter matches it. A pattern is a JSON object whose keys name fields
//! of the record; an object value descends into the field, an array value lists alternatives,
//! any of which may match (a field holding an array matches when any element does). Supported
//! alternatives: exact values (strings, numbers compared numerically, booleans, `null`),
//! `{"prefix": s}`, `{"suffix": s}`, `{"equals-ignore-case": s}`, `{"wildcard": "a*b"}`,
//! `{"anything-but": value | [values] | {"prefix": s} | {"suffix": s}}`, `{"exists": bool}`,
//! `{"numeric": [">", 0, "<=", 5]}`, and `"$or": [patterns]` beside the other keys.
//! Not supported (such a pattern is refused when the mapping starts): `cidr`.
//!
//! For SQS, Lambda filters on the message *body* as JSON when it parses as JSON; callers pass the
//! record with `body` already parsed ([`sqs_view`]).

use anyhow::{anyhow, bail};
use serde_json::Value;

/// The parsed `FilterCriteria` of a mapping (empty: every record passes).
#[derive(Clone, Debug, Default)]
pub struct Filters(Vec<Value>);

impl Filters {
    /// Parses `FilterCriteria` (`{"Filters": [{"Pattern": "<json>"}]}`), refusing patterns this
    /// module cannot evaluate, so a mapping never silently drops or keeps the wrong records.
    pub fn parse(criteria: Option<&Value>) -> anyhow::Result<Self> {
        let Some(filters) = criteria.and_then(|criteria| criteria.get("Filters")) else {
            return Ok(Self::default());
        };
        let filters = filters
            .as_array()
            .ok_or_else(|| anyhow!("FilterCriteria.Filters must be a list"))?;
        let mut patterns = Vec::new();
        for filter in filters {
            let pattern = match filter.get("Pattern") {
                Some(Value::String(text)) => serde_json::from_str(text)
                    .map_err(|error| anyhow!("filter pattern {text} is not JSON: {error}"))?,
                Some(pattern @ Value::Object(_)) => pattern.clone(),
                _ => bail!("every filter needs a Pattern (a JSON object as a string)"),
            };
            check(&pattern)?;
            patterns.push(pattern);
        }
        Ok(Self(patterns))
    }

    /// Whether `record` passes (any pattern matches, or there are none).
    pub fn pass(&self, record: &Value) -> bool {
        self.0.is_empty() || self.0.iter().any(|pattern| matches(pattern, record))
    }
}

/// The record as Lambda filters it: an SQS `body` that is JSON is matched as JSON.
pub fn sqs_view(record: &Value) -> Value {
    let mut view = record.clone();
    if let Some(body) = record.get("body").and_then(Value::as_str)
        && let Ok(parsed) = serde_json::from_str::<Value>(body)
        && parsed.is_object()
    {
        view["body"] = parsed;
    }
    view
}

/// Refuses pattern shapes [`matches`] does not implement.
fn check(pattern: &Value) -> anyhow::Result<()> {
    let Value::Object(fields) = pattern else {
        bail!("a filter pattern must be a JSON object, not {pattern}");
    };
    for (key, value) in fields {
        match value {
            Value::Object(_) => check(value)?,
            Value::Array(alternatives) if key == "$or" => {
                for alternative in alternatives {
                    check(alternative)?;
                }
            }
            Value::Array(alternatives) => {
                for alternative in alternatives {
                    if let Value::Object(operator) = alternative {
                        for name in operator.keys() {
                            if !matches!(
                                name.as_str(),
                                "prefix"
                                    | "suffix"
                                    | "equals-ignore-case"
                                    | "wildcard"
                                    | "anything-but"
                                    | "exists"
                                    | "numeric"
                            ) {
                                bail!("filter operator {name:?} is not supported locally");
                            }
                        }
                    }
                }
            }
            other => bail!("filter field {key:?} must be a list or an object, not {other}"),
        }
    }
    Ok(())
}

/// Whether `event` matches `pattern` (both JSON objects).
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else {
        return false;
    };
    fields.iter().all(|(key, expected)| {
        if key == "$or" {
            return expected
                .as_array()
                .is_some_and(|patterns| patterns.iter().any(|pattern| matches(pattern, event)));
        }
        let actual = event.get(key);
        match expected {
            Value::Object(_) => actual.is_some_and(|actual| matches(expected, actual)),
            Value::Array(alternatives) => field_matches(alternatives, actual),
            _ => false,
        }
    })
}

fn field_matches(alternatives: &[Value], actual: Option<&Value>) -> bool {
    alternatives.iter().any(|alternative| match actual {
        None => alternative.get("exists") == Some(&Value::Bool(false)),
        // An array field matches when any of its elements does.
        Some(Value::Array(values)) => values.iter().any(|value| one(alternative, value)),
        Some(value) => one(alternative, value),
    })
}

/// One alternative against one present value.
fn one(alternative: &Value, value: &Value) -> bool {
    match alternative {
        Value::Object(operator) => operator
            .iter()
            .all(|(name, argument)| operator_matches(name, argument, value).unwrap_or(false)),
        expected => equal(expected, value),
    }
}

fn operator_matches(name: &str, argument: &Value, value: &Value) -> Option<bool> {
    let text = value.as_str();
    Some(match name {
        "exists" => argument.as_bool()? && !value.is_null(),
        "prefix" => match argument {
            Value::Object(inner) => {
                let prefix = inner.get("equals-ignore-case")?.as_str()?;
                text?.to_lowercase().starts_with(&prefix.to_lowercase())
            }
            _ => text?.starts_with(argument.as_str()?),
        },
        "suffix" => match argument {
            Value::Object(inner) => {
                let suffix = inner.get("equals-ignore-case")?.as_str()?;
                text?.to_lowercase().ends_with(&suffix.to_lowercase())
            }
            _ => text?.ends_with(argument.as_str()?),
        },
        "equals-ignore-case" => text?.eq_ignore_ascii_case(argument.as_str()?),
        "wildcard" => wildcard(argument.as_str()?, text?),
        "anything-but" => match argument {
            Value::Array(values) => !values.iter().any(|excluded| equal(excluded, value)),
            Value::Object(inner) => !inner
                .iter()
                .all(|(name, argument)| operator_matches(name, argument, value).unwrap_or(false)),
            excluded => !equal(excluded, value),
        },
        "numeric" => numeric(argument.as_array()?, value.as_f64()?)?,
        _ => return None,
    })
}

fn equal(expected: &Value, value: &Value) -> bool {
    match (expected, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == value,
    }
}

/// `[">", 0, "<=", 5]`: every comparison must hold.
fn numeric(conditions: &[Value], value: f64) -> Option<bool> {
    let mut all = true;
    for pair in conditions.chunks(2) {
        let [operator, bound] = pair else {
            return None;
        };
        let bound = bound.as_f64()?;
        all &= match operator.as_str()? {
            "=" => value == bound,
            "<" => value < bound,
            "<=" => value <= bound,
            ">" => value > bound,
            ">=" => value >= bound,
            _ => return None,
        };
    }
    Some(all)
}

/// `*` matches any run of characters.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "eventName": "INSERT",
            "dynamodb": {
                "NewImage": {
                    "kind": {"S": "deliver"},
                    "price": {"N": "12"},
                    "tags": {"SS": ["a", "b"]}
                },
                "SequenceNumber": "100"
            },
            "amount": 12.5,
            "flags": ["x", "y"]
        })
    }

    #[test]
    fn exact_values_and_nested_fields_match() {
        assert!(matches(
            &json!({"eventName": ["INSERT", "MODIFY"]}),
            &record()
        ));
        assert!(!matches(&json!({"eventName": ["REMOVE"]}), &record()));
        assert!(matches(
            &json!({"dynamodb": {"NewImage": {"kind": {"S": ["deliver"]}}}}),
            &record()
        ));
        assert!(!matches(
            &json!({"dynamodb": {"NewImage": {"missing": {"S": ["x"]}}}}),
            &record()
        ));
        assert!(matches(&json!({"amount": [12.5]}), &record()));
        assert!(matches(&json!({"flags": ["y"]}), &record()));
    }

    #[test]
    fn operators_match_like_eventbridge() {
        let r = record();
        assert!(matches(&json!({"eventName": [{"prefix": "INS"}]}), &r));
        assert!(matches(&json!({"eventName": [{"suffix": "ERT"}]}), &r));
        assert!(matches(
            &json!({"eventName": [{"equals-ignore-case": "insert"}]}),
            &r
        ));
        assert!(matches(&json!({"eventName": [{"wildcard": "I*R*"}]}), &r));
        assert!(!matches(&json!({"eventName": [{"wildcard": "M*"}]}), &r));
        assert!(matches(
            &json!({"eventName": [{"anything-but": ["REMOVE"]}]}),
            &r
        ));
        assert!(!matches(
            &json!({"eventName": [{"anything-but": "INSERT"}]}),
            &r
        ));
        assert!(!matches(
            &json!({"eventName": [{"anything-but": {"prefix": "IN"}}]}),
            &r
        ));
        assert!(matches(
            &json!({"amount": [{"numeric": [">", 10, "<=", 20]}]}),
            &r
        ));
        assert!(!matches(&json!({"amount": [{"numeric": ["<", 10]}]}), &r));
        assert!(matches(&json!({"gone": [{"exists": false}]}), &r));
        assert!(!matches(&json!({"gone": [{"exists": true}]}), &r));
        assert!(matches(&json!({"amount": [{"exists": true}]}), &r));
        assert!(matches(
            &json!({"$or": [{"eventName": ["REMOVE"]}, {"amount": [12.5]}]}),
            &r
        ));
    }

    #[test]
    fn filters_pass_any_matching_pattern_and_refuse_unknown_operators() {
        let filters = Filters::parse(Some(&json!({"Filters": [
            {"Pattern": r#"{"eventName": ["REMOVE"]}"#},
            {"Pattern": r#"{"eventName": ["INSERT"]}"#}
        ]})))
        .unwrap();
        assert!(filters.pass(&record()));
        assert!(Filters::parse(None).unwrap().pass(&record()));
        assert!(
            Filters::parse(Some(
                &json!({"Filters": [{"Pattern": r#"{"ip": [{"cidr": "10.0.0.0/8"}]}"#}]})
            ))
            .is_err()
        );
    }

    #[test]
    fn sqs_bodies_are_matched_as_json() {
        let record = json!({"body": "{\"kind\": \"order\"}", "messageId": "1"});
        assert!(matches(
            &json!({"body": {"kind": ["order"]}}),
            &sqs_view(&record)
        ));
        let plain = json!({"body": "hello"});
        assert!(matches(&json!({"body": ["hello"]}), &sqs_view(&plain)));
    }
}
