//! The template, made concrete for local: SAM expansion, intrinsic functions, dependency order.
//!
//! The runner never re-implements SAM: [`expand`] runs `localstack/expand.py`, which hands the
//! template to `aws-sam-translator` (the transform AWS itself runs) and returns plain
//! CloudFormation JSON. What CloudFormation would then do is done here: [`Resolver`] evaluates
//! `Ref`, `Fn::GetAtt`, `Fn::Sub` and the other intrinsics against the parameters, conditions,
//! mappings and the resources provisioned so far, and [`provisioning_order`] sorts the resources
//! so that everything a resource refers to exists before it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::ACCOUNT_ID;

/// The script that expands SAM into plain CloudFormation.
const EXPAND_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/expand.py");

/// Expands the SAM template at `template` into plain CloudFormation JSON, as AWS would.
///
/// `python` must have `aws-sam-translator` and `cfn-lint` installed (the project's venv). A
/// template without the SAM transform comes back unchanged (with short-form tags in long form).
pub async fn expand(python: &Path, template: &Path, region: &str) -> anyhow::Result<Value> {
    let output = tokio::process::Command::new(python)
        .arg(EXPAND_SCRIPT)
        .arg(template)
        .args(["--region", region])
        .env("AWS_DEFAULT_REGION", region)
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("cannot run {} {EXPAND_SCRIPT}", python.display()))?;
    if !output.status.success() {
        bail!(
            "cannot expand {} ({}):\n{}",
            template.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("expand.py printed no JSON for {}", template.display()))
}

/// What a provisioned resource answers to `Ref` and `Fn::GetAtt`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provisioned {
    /// The value of `{"Ref": logical_id}`.
    pub ref_value: Value,
    /// The values of `{"Fn::GetAtt": [logical_id, name]}`.
    pub attributes: BTreeMap<String, Value>,
}

/// Evaluates CloudFormation intrinsic functions for the local stack.
pub struct Resolver {
    region: String,
    stack_name: String,
    stack_id: String,
    parameters: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
    mappings: Value,
    resources: BTreeMap<String, Provisioned>,
    /// Resources not emulated: an attribute nobody synthesized still resolves, to a placeholder.
    placeholders: BTreeSet<String>,
}

impl Resolver {
    /// Builds a resolver for `template` (already expanded) deployed as `stack_name` in `region`.
    ///
    /// Parameter values come from `overrides`, else the parameter's `Default`; a value outside the
    /// parameter's `AllowedValues`, an override naming no parameter and a parameter without any
    /// value are errors. Every condition is evaluated here, once.
    pub fn new(
        template: &Value,
        region: &str,
        stack_name: &str,
        overrides: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let declared = template
            .get("Parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(unknown) = overrides.keys().find(|name| !declared.contains_key(*name)) {
            let known: Vec<&String> = declared.keys().collect();
            bail!(
                "parameter override {unknown} is not a parameter of the template (it has {known:?})"
            );
        }
        let mut parameters = BTreeMap::new();
        for (name, declaration) in &declared {
            let value = parameter_value(name, declaration, overrides.get(name))?;
            parameters.insert(name.clone(), value);
        }
        let stack_id = format!(
            "arn:{}:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/{}",
            partition(region),
            uuid_like(stack_name)
        );
        let mut resolver = Self {
            region: region.to_owned(),
            stack_name: stack_name.to_owned(),
            stack_id,
            parameters,
            conditions: BTreeMap::new(),
            mappings: template.get("Mappings").cloned().unwrap_or(Value::Null),
            resources: BTreeMap::new(),
            placeholders: BTreeSet::new(),
        };
        let declared_conditions = template
            .get("Conditions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut evaluating = Vec::new();
        for name in declared_conditions.keys() {
            resolver.evaluate_condition(name, &declared_conditions, &mut evaluating)?;
        }
        Ok(resolver)
    }

    /// The stack's id (`AWS::StackId`), an ARN like CloudFormation's.
    pub fn stack_id(&self) -> &str {
        &self.stack_id
    }

    /// The value of a template condition.
    pub fn condition(&self, name: &str) -> anyhow::Result<bool> {
        self.conditions
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("condition {name} is not declared in Conditions"))
    }

    /// Whether a resource (or output) exists in this stack: false when its `Condition` is false.
    pub fn is_enabled(&self, declaration: &Value) -> anyhow::Result<bool> {
        match declaration.get("Condition") {
            None => Ok(true),
            Some(Value::String(name)) => self.condition(name),
            Some(other) => bail!("a Condition must name a condition, not {other}"),
        }
    }

    /// Records what a provisioned resource answers to `Ref`/`Fn::GetAtt`.
    pub fn add_resource(&mut self, logical_id: &str, provisioned: Provisioned) {
        self.resources.insert(logical_id.to_owned(), provisioned);
    }

    /// Records a resource that is not emulated: its unknown attributes resolve to placeholders.
    pub fn add_placeholder(&mut self, logical_id: &str, provisioned: Provisioned) {
        self.placeholders.insert(logical_id.to_owned());
        self.add_resource(logical_id, provisioned);
    }

    /// The resources recorded so far.
    pub fn resources(&self) -> &BTreeMap<String, Provisioned> {
        &self.resources
    }

    /// Evaluates every intrinsic function in `value`; `AWS::NoValue` removes the key or element
    /// it stands in (and a top-level `AWS::NoValue` becomes `null`).
    pub fn resolve(&self, value: &Value) -> anyhow::Result<Value> {
        Ok(self.resolve_opt(value)?.unwrap_or(Value::Null))
    }

    /// Like [`Resolver::resolve`], then demands a string (numbers and booleans are stringified).
    pub fn resolve_string(&self, value: &Value) -> anyhow::Result<String> {
        let resolved = self.resolve(value)?;
        scalar_string(&resolved).ok_or_else(|| anyhow!("expected a string, got {resolved}"))
    }

    fn resolve_opt(&self, value: &Value) -> anyhow::Result<Option<Value>> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(resolved) = self.resolve_opt(item)? {
                        out.push(resolved);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) => {
                if let Some((name, args)) = intrinsic(map) {
                    return self
                        .intrinsic(name, args)
                        .with_context(|| format!("in {}", compact(value)));
                }
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(resolved) = self.resolve_opt(item)? {
                        out.insert(key.clone(), resolved);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn intrinsic(&self, name: &str, args: &Value) -> anyhow::Result<Option<Value>> {
        match name {
            "Ref" => {
                let target = args
                    .as_str()
                    .ok_or_else(|| anyhow!("Ref takes a name, not {args}"))?;
                self.reference(target)
            }
            "Fn::GetAtt" => self.get_att(args).map(Some),
            "Fn::Sub" => self.sub(args).map(|s| Some(Value::String(s))),
            "Fn::Join" => self.join(args).map(|s| Some(Value::String(s))),
            "Fn::Select" => self.select(args),
            "Fn::Split" => {
                let [delimiter, source] = fixed_args::<2>("Fn::Split", args)?;
                let delimiter = self.resolve_string(delimiter)?;
                let source = self.resolve_string(source)?;
                if delimiter.is_empty() {
                    bail!("Fn::Split needs a non-empty delimiter");
                }
                Ok(Some(Value::Array(
                    source
                        .split(delimiter.as_str())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                )))
            }
            "Fn::If" => {
                let [condition, then, otherwise] = fixed_args::<3>("Fn::If", args)?;
                let condition = condition.as_str().ok_or_else(|| {
                    anyhow!("Fn::If needs a condition name first, not {condition}")
                })?;
                if self.condition(condition)? {
                    self.resolve_opt(then)
                } else {
                    self.resolve_opt(otherwise)
                }
            }
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => {
                let mut object = Map::new();
                object.insert(name.to_owned(), args.clone());
                self.truth(&Value::Object(object))
                    .map(|b| Some(Value::Bool(b)))
            }
            "Condition" => {
                let condition = args
                    .as_str()
                    .ok_or_else(|| anyhow!("Condition takes a condition name, not {args}"))?;
                self.condition(condition).map(|b| Some(Value::Bool(b)))
            }
            "Fn::FindInMap" => self.find_in_map(args).map(Some),
            "Fn::Base64" => {
                let text = self.resolve_string(args)?;
                Ok(Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                )))
            }
            "Fn::GetAZs" => {
                let region = self.resolve_string(args)?;
                let region = if region.is_empty() {
                    self.region.clone()
                } else {
                    region
                };
                Ok(Some(Value::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|zone| Value::String(format!("{region}{zone}")))
                        .collect(),
                )))
            }
            "Fn::ToJsonString" => {
                let resolved = self.resolve(args)?;
                Ok(Some(Value::String(resolved.to_string())))
            }
            "Fn::Length" => match self.resolve(args)? {
                Value::Array(items) => Ok(Some(Value::from(items.len()))),
                other => bail!("Fn::Length takes a list, not {other}"),
            },
            "Fn::ImportValue" => bail!(
                "Fn::ImportValue is not supported locally: the local cloud runs one stack, so \
                 there are no other stacks' exports; pass the value as a parameter instead"
            ),
            "Fn::Transform" => bail!(
                "Fn::Transform (macros such as AWS::Include) is not supported locally; inline the \
                 included content"
            ),
            other => bail!("the intrinsic function {other} is not supported locally"),
        }
    }

    fn reference(&self, target: &str) -> anyhow::Result<Option<Value>> {
        let text = |s: &str| Ok(Some(Value::String(s.to_owned())));
        match target {
            "AWS::NoValue" => Ok(None),
            "AWS::Region" => text(&self.region),
            "AWS::AccountId" => text(ACCOUNT_ID),
            "AWS::StackName" => text(&self.stack_name),
            "AWS::StackId" => text(&self.stack_id),
            "AWS::Partition" => text(partition(&self.region)),
            "AWS::URLSuffix" => text(url_suffix(&self.region)),
            "AWS::NotificationARNs" => Ok(Some(Value::Array(Vec::new()))),
            _ => {
                if let Some(value) = self.parameters.get(target) {
                    return Ok(Some(value.clone()));
                }
                if let Some(resource) = self.resources.get(target) {
                    return Ok(Some(resource.ref_value.clone()));
                }
                bail!(
                    "Ref {target}: no such parameter, pseudo parameter or provisioned resource \
                     (a resource whose Condition is false does not exist)"
                )
            }
        }
    }

    fn get_att(&self, args: &Value) -> anyhow::Result<Value> {
        let (logical_id, attribute) = match args {
            Value::String(dotted) => dotted
                .split_once('.')
                .map(|(id, attr)| (id.to_owned(), attr.to_owned()))
                .ok_or_else(|| {
                    anyhow!("Fn::GetAtt needs \"Resource.Attribute\", not {dotted:?}")
                })?,
            Value::Array(parts) if parts.len() == 2 => {
                let id = parts[0]
                    .as_str()
                    .ok_or_else(|| anyhow!("Fn::GetAtt needs a resource name first"))?;
                (id.to_owned(), self.resolve_string(&parts[1])?)
            }
            other => bail!("Fn::GetAtt takes [resource, attribute], not {other}"),
        };
        self.attribute(&logical_id, &attribute)
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> anyhow::Result<Value> {
        let resource = self.resources.get(logical_id).ok_or_else(|| {
            anyhow!(
                "Fn::GetAtt {logical_id}.{attribute}: {logical_id} is not a provisioned resource \
                 (a resource whose Condition is false does not exist)"
            )
        })?;
        if let Some(value) = resource.attributes.get(attribute) {
            return Ok(value.clone());
        }
        if self.placeholders.contains(logical_id) {
            let base = scalar_string(&resource.ref_value).unwrap_or_else(|| logical_id.to_owned());
            return Ok(Value::String(format!("{base}.{attribute}")));
        }
        let known: Vec<&String> = resource.attributes.keys().collect();
        bail!("Fn::GetAtt {logical_id}.{attribute}: no such attribute locally (it has {known:?})")
    }

    fn sub(&self, args: &Value) -> anyhow::Result<String> {
        let (template, variables) = match args {
            Value::String(template) => (template.as_str(), Map::new()),
            Value::Array(parts) if parts.len() == 2 => {
                let template = parts[0]
                    .as_str()
                    .ok_or_else(|| anyhow!("Fn::Sub needs a string first, not {}", parts[0]))?;
                let variables = match self.resolve(&parts[1])? {
                    Value::Object(map) => map,
                    other => bail!("Fn::Sub's variables must be a map, not {other}"),
                };
                (template, variables)
            }
            other => bail!("Fn::Sub takes a string or [string, variables], not {other}"),
        };
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| anyhow!("Fn::Sub: unclosed ${{ in {template:?}"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                let name = name.trim();
                let value = if let Some(value) = variables.get(name) {
                    value.clone()
                } else if let Some((id, attr)) = name.split_once('.')
                    && !name.starts_with("AWS::")
                {
                    self.attribute(id, attr)?
                } else {
                    self.reference(name)?
                        .ok_or_else(|| anyhow!("Fn::Sub: ${{{name}}} is AWS::NoValue"))?
                };
                let text = scalar_string(&value)
                    .ok_or_else(|| anyhow!("Fn::Sub: ${{{name}}} is not a string but {value}"))?;
                out.push_str(&text);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn join(&self, args: &Value) -> anyhow::Result<String> {
        let [delimiter, items] = fixed_args::<2>("Fn::Join", args)?;
        let delimiter = delimiter
            .as_str()
            .ok_or_else(|| anyhow!("Fn::Join needs a delimiter string, not {delimiter}"))?;
        let items = match self.resolve(items)? {
            Value::Array(items) => items,
            other => bail!("Fn::Join needs a list, not {other}"),
        };
        let parts = items
            .iter()
            .map(|item| {
                scalar_string(item).ok_or_else(|| anyhow!("Fn::Join: {item} is not a string"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(parts.join(delimiter))
    }

    fn select(&self, args: &Value) -> anyhow::Result<Option<Value>> {
        let [index, items] = fixed_args::<2>("Fn::Select", args)?;
        let index = match self.resolve(index)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| anyhow!("Fn::Select needs a non-negative index, not {index}"))?;
        let items = match self.resolve(items)? {
            Value::Array(items) => items,
            other => bail!("Fn::Select needs a list, not {other}"),
        };
        let len = items.len();
        usize::try_from(index)
            .ok()
            .and_then(|i| items.into_iter().nth(i))
            .map(Some)
            .ok_or_else(|| {
                anyhow!("Fn::Select: index {index} is out of range (the list has {len})")
            })
    }

    fn find_in_map(&self, args: &Value) -> anyhow::Result<Value> {
        let parts = args
            .as_array()
            .filter(|parts| parts.len() == 3 || parts.len() == 4)
            .ok_or_else(|| anyhow!("Fn::FindInMap takes [map, key, key], not {args}"))?;
        let map = self.resolve_string(&parts[0])?;
        let top = self.resolve_string(&parts[1])?;
        let second = self.resolve_string(&parts[2])?;
        let found = self
            .mappings
            .get(&map)
            .and_then(|m| m.get(&top))
            .and_then(|m| m.get(&second));
        match (found, parts.get(3)) {
            (Some(value), _) => Ok(value.clone()),
            (None, Some(default)) => match default.get("DefaultValue") {
                Some(value) => self.resolve(value),
                None => bail!("Fn::FindInMap's fourth argument must be {{\"DefaultValue\": ...}}"),
            },
            (None, None) => bail!("Fn::FindInMap: Mappings has no {map}.{top}.{second}"),
        }
    }

    /// Evaluates a condition expression (`Fn::Equals`/`And`/`Or`/`Not`, `{"Condition": name}`).
    fn truth(&self, expression: &Value) -> anyhow::Result<bool> {
        let Some((name, args)) = expression.as_object().and_then(|map| {
            if map.len() == 1 {
                map.iter().next().map(|(k, v)| (k.as_str(), v))
            } else {
                None
            }
        }) else {
            if let Value::Bool(b) = expression {
                return Ok(*b);
            }
            if let Value::String(s) = expression {
                return match s.as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    other => self.condition(other),
                };
            }
            bail!("{expression} is not a condition");
        };
        match name {
            "Condition" => self.condition(
                args.as_str()
                    .ok_or_else(|| anyhow!("Condition takes a name, not {args}"))?,
            ),
            "Fn::Equals" => {
                let [a, b] = fixed_args::<2>("Fn::Equals", args)?;
                let (a, b) = (self.resolve(a)?, self.resolve(b)?);
                Ok(match (scalar_string(&a), scalar_string(&b)) {
                    (Some(a), Some(b)) => a == b,
                    _ => a == b,
                })
            }
            "Fn::And" | "Fn::Or" => {
                let items = args
                    .as_array()
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| anyhow!("{name} takes a list of conditions"))?;
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.truth(item)?);
                }
                Ok(if name == "Fn::And" {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            "Fn::Not" => {
                let [inner] = fixed_args::<1>("Fn::Not", args)?;
                Ok(!self.truth(inner)?)
            }
            _ => match self.resolve(expression)? {
                Value::Bool(b) => Ok(b),
                Value::String(s) if s == "true" => Ok(true),
                Value::String(s) if s == "false" => Ok(false),
                other => bail!("{expression} is not a condition (it is {other})"),
            },
        }
    }

    fn evaluate_condition(
        &mut self,
        name: &str,
        declared: &Map<String, Value>,
        evaluating: &mut Vec<String>,
    ) -> anyhow::Result<bool> {
        if let Some(value) = self.conditions.get(name) {
            return Ok(*value);
        }
        if evaluating.iter().any(|n| n == name) {
            bail!(
                "conditions refer to each other in a cycle: {} -> {name}",
                evaluating.join(" -> ")
            );
        }
        let expression = declared
            .get(name)
            .ok_or_else(|| anyhow!("condition {name} is not declared in Conditions"))?;
        evaluating.push(name.to_owned());
        // Conditions may name other conditions: evaluate those first.
        let mut referenced = BTreeSet::new();
        condition_names(expression, &mut referenced);
        for other in referenced {
            self.evaluate_condition(&other, declared, evaluating)?;
        }
        let value = self
            .truth(expression)
            .with_context(|| format!("condition {name}"))?;
        evaluating.pop();
        self.conditions.insert(name.to_owned(), value);
        Ok(value)
    }
}

/// The resources of `template` in an order that creates every resource after the resources it
/// refers to (`Ref`, `Fn::GetAtt`, `${...}` in `Fn::Sub`) and those in its `DependsOn`.
///
/// Among resources that are ready at the same time, the order is alphabetical, so it is stable.
pub fn provisioning_order(template: &Value) -> anyhow::Result<Vec<String>> {
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("the template has no Resources"))?;
    let mut dependencies: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (logical_id, resource) in resources {
        let mut found = BTreeSet::new();
        if let Some(properties) = resource.get("Properties") {
            references(properties, &mut found);
        }
        let depends_on: Vec<String> = match resource.get("DependsOn") {
            None => Vec::new(),
            Some(Value::String(name)) => vec![name.clone()],
            Some(Value::Array(names)) => names
                .iter()
                .map(|name| {
                    name.as_str().map(str::to_owned).ok_or_else(|| {
                        anyhow!("{logical_id}: DependsOn lists {name}, not a resource name")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            Some(other) => bail!("{logical_id}: DependsOn must be a name or a list, not {other}"),
        };
        for name in depends_on {
            if !resources.contains_key(&name) {
                bail!("{logical_id}: DependsOn names {name}, which is not a resource");
            }
            found.insert(name);
        }
        // Names that are not resources are parameters or pseudo parameters.
        found.retain(|name| resources.contains_key(name) && name != logical_id);
        dependencies.insert(logical_id.as_str(), found);
    }

    let mut order = Vec::with_capacity(dependencies.len());
    let mut done: BTreeSet<String> = BTreeSet::new();
    loop {
        let ready: Vec<&str> = dependencies
            .iter()
            .filter(|(id, deps)| !done.contains(**id) && deps.iter().all(|d| done.contains(d)))
            .map(|(id, _)| *id)
            .collect();
        if ready.is_empty() {
            break;
        }
        for id in ready {
            done.insert(id.to_owned());
            order.push(id.to_owned());
        }
    }
    if order.len() < dependencies.len() {
        let remaining: BTreeMap<&str, &BTreeSet<String>> = dependencies
            .iter()
            .filter(|(id, _)| !done.contains(**id))
            .map(|(id, deps)| (*id, deps))
            .collect();
        bail!(
            "the resources depend on each other in a cycle: {}",
            find_cycle(&remaining).join(" -> ")
        );
    }
    Ok(order)
}

/// Walks from any unresolved resource along unresolved dependencies until a name repeats.
fn find_cycle(remaining: &BTreeMap<&str, &BTreeSet<String>>) -> Vec<String> {
    let Some(start) = remaining.keys().next() else {
        return Vec::new();
    };
    let mut path: Vec<String> = vec![(*start).to_owned()];
    loop {
        let Some(current) = path.last() else {
            return path;
        };
        let next = remaining
            .get(current.as_str())
            .and_then(|deps| deps.iter().find(|d| remaining.contains_key(d.as_str())));
        let Some(next) = next else {
            return path;
        };
        if let Some(position) = path.iter().position(|p| p == next) {
            let mut cycle = path.split_off(position);
            cycle.push(next.clone());
            return cycle;
        }
        path.push(next.clone());
    }
}

/// Collects every name `value` refers to with `Ref`, `Fn::GetAtt` or `${...}` in `Fn::Sub`.
fn references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        Value::Object(map) => {
            if let Some((name, args)) = intrinsic(map) {
                match (name, args) {
                    ("Ref", Value::String(target)) => {
                        found.insert(target.clone());
                        return;
                    }
                    ("Fn::GetAtt", Value::String(dotted)) => {
                        if let Some((id, _)) = dotted.split_once('.') {
                            found.insert(id.to_owned());
                        }
                        return;
                    }
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        if let Some(id) = parts.first().and_then(Value::as_str) {
                            found.insert(id.to_owned());
                        }
                        parts.iter().skip(1).for_each(|p| references(p, found));
                        return;
                    }
                    ("Fn::Sub", Value::String(template)) => {
                        sub_references(template, &Map::new(), found);
                        return;
                    }
                    ("Fn::Sub", Value::Array(parts)) => {
                        let empty = Map::new();
                        let variables = parts.get(1).and_then(Value::as_object).unwrap_or(&empty);
                        if let Some(template) = parts.first().and_then(Value::as_str) {
                            sub_references(template, variables, found);
                        }
                        parts.iter().skip(1).for_each(|p| references(p, found));
                        return;
                    }
                    _ => {}
                }
            }
            map.values().for_each(|item| references(item, found));
        }
        _ => {}
    }
}

fn sub_references(template: &str, variables: &Map<String, Value>, found: &mut BTreeSet<String>) {
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return;
        };
        let name = after[..end].trim();
        if !name.starts_with('!') && !variables.contains_key(name) {
            let id = name.split_once('.').map_or(name, |(id, _)| id);
            found.insert(id.to_owned());
        }
        rest = &after[end + 1..];
    }
}

/// Collects the condition names an expression refers to (`{"Condition": name}`, `Fn::If`).
fn condition_names(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| condition_names(item, found)),
        Value::Object(map) => {
            if let (1, Some(Value::String(name))) = (map.len(), map.get("Condition")) {
                found.insert(name.clone());
                return;
            }
            if let Some(Value::Array(parts)) = map.get("Fn::If")
                && let Some(Value::String(name)) = parts.first()
            {
                found.insert(name.clone());
            }
            map.values().for_each(|item| condition_names(item, found));
        }
        _ => {}
    }
}

/// `Some((name, args))` when `map` is an intrinsic function call (one key, `Ref` or `Fn::*`).
fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (name, args) = map.iter().next()?;
    (name == "Ref" || name.starts_with("Fn::")).then_some((name.as_str(), args))
}

fn fixed_args<'a, const N: usize>(name: &str, args: &'a Value) -> anyhow::Result<[&'a Value; N]> {
    let items = args
        .as_array()
        .filter(|items| items.len() == N)
        .ok_or_else(|| anyhow!("{name} takes a list of {N} arguments, not {args}"))?;
    let refs: Vec<&Value> = items.iter().collect();
    refs.try_into()
        .map_err(|_| anyhow!("{name} takes a list of {N} arguments"))
}

/// A string for strings, numbers and booleans; `None` for lists, maps and null.
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parameter_value(
    name: &str,
    declaration: &Value,
    given: Option<&String>,
) -> anyhow::Result<Value> {
    let value = match (given, declaration.get("Default")) {
        (Some(given), _) => given.clone(),
        (None, Some(default)) => match default {
            Value::Array(items) => items
                .iter()
                .filter_map(scalar_string)
                .collect::<Vec<_>>()
                .join(","),
            other => scalar_string(other)
                .ok_or_else(|| anyhow!("parameter {name}: its Default {other} is not a value"))?,
        },
        (None, None) => bail!(
            "parameter {name} has no Default and no value was given: pass --parameter {name}=<value>"
        ),
    };
    if let Some(allowed) = declaration.get("AllowedValues").and_then(Value::as_array) {
        let allowed: Vec<String> = allowed.iter().filter_map(scalar_string).collect();
        if !allowed.contains(&value) {
            bail!("parameter {name} is {value:?}, but its AllowedValues are {allowed:?}");
        }
    }
    let kind = declaration
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("String");
    if kind == "Number" && value.trim().parse::<f64>().is_err() {
        bail!("parameter {name} is a Number, but {value:?} is not a number");
    }
    if kind.starts_with("AWS::SSM::Parameter::Value") {
        bail!(
            "parameter {name} is read from SSM Parameter Store ({kind}), which the local cloud \
             does not emulate: pass --parameter {name}=<value>"
        );
    }
    if kind == "CommaDelimitedList" || kind.starts_with("List<") {
        return Ok(Value::Array(
            value
                .split(',')
                .map(|part| Value::String(part.trim().to_owned()))
                .collect(),
        ));
    }
    Ok(Value::String(value))
}

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn url_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// A stable UUID-shaped id derived from `seed` (a stack's id must not change between runs).
fn uuid_like(seed: &str) -> String {
    // FNV-1a, twice with different offsets: not cryptographic, only stable and well spread.
    let hash = |offset: u64| {
        seed.bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let value =
        (u128::from(hash(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(hash(0x6c62_272e_07bb_0142));
    let hex = format!("{value:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 160 {
        let cut: String = text.chars().take(157).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Value {
        json!({
            "Parameters": {
                "Stage": {"Type": "String", "Default": "local", "AllowedValues": ["local", "prod"]},
                "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"},
                "Size": {"Type": "Number", "Default": 3}
            },
            "Conditions": {
                "IsLocal": {"Fn::Equals": [{"Ref": "Stage"}, "local"]},
                "IsProd": {"Fn::Not": [{"Condition": "IsLocal"}]},
                "LocalAndSmall": {"Fn::And": [{"Condition": "IsLocal"}, {"Fn::Equals": [{"Ref": "Size"}, "3"]}]},
                "ProdOrSmall": {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": ["3", {"Ref": "Size"}]}]}
            },
            "Mappings": {"Settings": {"local": {"Level": "debug"}}},
            "Resources": {}
        })
    }

    fn resolver() -> Resolver {
        let mut resolver =
            Resolver::new(&template(), "eu-west-1", "shop-local", &BTreeMap::new()).unwrap();
        resolver.add_resource(
            "Queue",
            Provisioned {
                ref_value: json!("http://localhost:4566/123456789012/shop-local-Queue"),
                attributes: BTreeMap::from([
                    (
                        "Arn".to_owned(),
                        json!("arn:aws:sqs:eu-west-1:123456789012:shop-local-Queue"),
                    ),
                    ("QueueName".to_owned(), json!("shop-local-Queue")),
                ]),
            },
        );
        resolver
    }

    fn resolve(value: Value) -> anyhow::Result<Value> {
        resolver().resolve(&value)
    }

    #[test]
    fn ref_resolves_parameters_pseudo_parameters_and_resources() {
        assert_eq!(resolve(json!({"Ref": "Stage"})).unwrap(), json!("local"));
        assert_eq!(resolve(json!({"Ref": "Zones"})).unwrap(), json!(["a", "b"]));
        assert_eq!(resolve(json!({"Ref": "Size"})).unwrap(), json!("3"));
        assert_eq!(
            resolve(json!({"Ref": "AWS::Region"})).unwrap(),
            json!("eu-west-1")
        );
        assert_eq!(
            resolve(json!({"Ref": "AWS::AccountId"})).unwrap(),
            json!("123456789012")
        );
        assert_eq!(
            resolve(json!({"Ref": "AWS::StackName"})).unwrap(),
            json!("shop-local")
        );
        assert_eq!(
            resolve(json!({"Ref": "AWS::Partition"})).unwrap(),
            json!("aws")
        );
        assert_eq!(
            resolve(json!({"Ref": "AWS::URLSuffix"})).unwrap(),
            json!("amazonaws.com")
        );
        let stack_id = resolve(json!({"Ref": "AWS::StackId"})).unwrap();
        assert!(
            stack_id
                .as_str()
                .unwrap()
                .starts_with("arn:aws:cloudformation:eu-west-1:123456789012:stack/shop-local/")
        );
        assert_eq!(
            resolve(json!({"Ref": "Queue"})).unwrap(),
            json!("http://localhost:4566/123456789012/shop-local-Queue")
        );
        let error = resolve(json!({"Ref": "Missing"})).unwrap_err();
        assert!(format!("{error:#}").contains("Missing"));
    }

    #[test]
    fn no_value_removes_the_key_or_the_element() {
        let resolved = resolve(json!({
            "Keep": "yes",
            "Drop": {"Ref": "AWS::NoValue"},
            "List": ["a", {"Ref": "AWS::NoValue"}, "b"],
            "Maybe": {"Fn::If": ["IsProd", "prod", {"Ref": "AWS::NoValue"}]}
        }))
        .unwrap();
        assert_eq!(resolved, json!({"Keep": "yes", "List": ["a", "b"]}));
    }

    #[test]
    fn get_att_takes_both_forms_and_names_missing_attributes() {
        let arn = json!("arn:aws:sqs:eu-west-1:123456789012:shop-local-Queue");
        assert_eq!(
            resolve(json!({"Fn::GetAtt": ["Queue", "Arn"]})).unwrap(),
            arn
        );
        assert_eq!(resolve(json!({"Fn::GetAtt": "Queue.Arn"})).unwrap(), arn);
        let error = format!(
            "{:#}",
            resolve(json!({"Fn::GetAtt": "Queue.Nope"})).unwrap_err()
        );
        assert!(
            error.contains("Queue.Nope") && error.contains("Arn"),
            "{error}"
        );
        assert!(resolve(json!({"Fn::GetAtt": "Other.Arn"})).is_err());
    }

    #[test]
    fn placeholders_answer_any_attribute() {
        let mut resolver = resolver();
        resolver.add_placeholder(
            "Role",
            Provisioned {
                ref_value: json!("shop-local-Role"),
                attributes: BTreeMap::new(),
            },
        );
        assert_eq!(
            resolver
                .resolve(&json!({"Fn::GetAtt": "Role.RoleId"}))
                .unwrap(),
            json!("shop-local-Role.RoleId")
        );
    }

    #[test]
    fn sub_substitutes_names_attributes_variables_and_escapes() {
        assert_eq!(
            resolve(
                json!({"Fn::Sub": "${AWS::StackName}-${Stage}-${Queue.QueueName}-${!Literal}"})
            )
            .unwrap(),
            json!("shop-local-local-shop-local-Queue-${Literal}")
        );
        assert_eq!(
            resolve(
                json!({"Fn::Sub": ["${Greeting} ${Name} in ${AWS::Region}", {
                    "Greeting": "hello",
                    "Name": {"Fn::GetAtt": ["Queue", "QueueName"]}
                }]})
            )
            .unwrap(),
            json!("hello shop-local-Queue in eu-west-1")
        );
        assert!(resolve(json!({"Fn::Sub": "${Zones}"})).is_err());
        assert!(resolve(json!({"Fn::Sub": "${Unclosed"})).is_err());
    }

    #[test]
    fn join_select_and_split_work_on_lists() {
        assert_eq!(
            resolve(json!({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 3]]})).unwrap(),
            json!("a-local-3")
        );
        assert_eq!(
            resolve(json!({"Fn::Join": [",", {"Ref": "Zones"}]})).unwrap(),
            json!("a,b")
        );
        assert_eq!(
            resolve(json!({"Fn::Select": ["1", {"Ref": "Zones"}]})).unwrap(),
            json!("b")
        );
        assert_eq!(
            resolve(json!({"Fn::Select": [0, ["x", "y"]]})).unwrap(),
            json!("x")
        );
        assert!(resolve(json!({"Fn::Select": [5, ["x"]]})).is_err());
        assert_eq!(
            resolve(json!({"Fn::Split": ["|", "a|b||c"]})).unwrap(),
            json!(["a", "b", "", "c"])
        );
        assert_eq!(
            resolve(json!({"Fn::Select": [2, {"Fn::Split": [":", {"Fn::GetAtt": "Queue.Arn"}]}]}))
                .unwrap(),
            json!("sqs")
        );
    }

    #[test]
    fn conditions_and_if_pick_branches() {
        let resolver = resolver();
        assert!(resolver.condition("IsLocal").unwrap());
        assert!(!resolver.condition("IsProd").unwrap());
        assert!(resolver.condition("LocalAndSmall").unwrap());
        assert!(resolver.condition("ProdOrSmall").unwrap());
        assert_eq!(
            resolve(json!({"Fn::If": ["IsLocal", "l", "p"]})).unwrap(),
            json!("l")
        );
        assert_eq!(
            resolve(json!({"Fn::If": ["IsProd", "l", {"Ref": "Stage"}]})).unwrap(),
            json!("local")
        );
        assert_eq!(
            resolve(json!({"Fn::Equals": ["a", "a"]})).unwrap(),
            json!(true)
        );
        assert_eq!(
            resolve(json!({"Fn::Not": [{"Fn::Equals": ["a", "a"]}]})).unwrap(),
            json!(false)
        );
        assert!(
            !resolver
                .is_enabled(&json!({"Condition": "IsProd"}))
                .unwrap()
        );
        assert!(
            resolver
                .is_enabled(&json!({"Condition": "IsLocal"}))
                .unwrap()
        );
        assert!(
            resolver
                .is_enabled(&json!({"Type": "AWS::SQS::Queue"}))
                .unwrap()
        );
        assert!(resolve(json!({"Fn::If": ["Undeclared", 1, 2]})).is_err());
    }

    #[test]
    fn overrides_are_checked_against_allowed_values() {
        let overrides = BTreeMap::from([("Stage".to_owned(), "prod".to_owned())]);
        let resolver = Resolver::new(&template(), "us-east-1", "s", &overrides).unwrap();
        assert!(resolver.condition("IsProd").unwrap());
        let overrides = BTreeMap::from([("Stage".to_owned(), "qa".to_owned())]);
        let error = Resolver::new(&template(), "us-east-1", "s", &overrides)
            .err()
            .unwrap();
        assert!(error.to_string().contains("AllowedValues"), "{error}");
        let overrides = BTreeMap::from([("Nope".to_owned(), "x".to_owned())]);
        assert!(Resolver::new(&template(), "us-east-1", "s", &overrides).is_err());
        let required = json!({"Parameters": {"Key": {"Type": "String"}}, "Resources": {}});
        let error = Resolver::new(&required, "us-east-1", "s", &BTreeMap::new())
            .err()
            .unwrap();
        assert!(error.to_string().contains("--parameter Key="), "{error}");
    }

    #[test]
    fn condition_cycles_are_errors() {
        let cyclic = json!({"Conditions": {
            "A": {"Fn::Not": [{"Condition": "B"}]},
            "B": {"Fn::Not": [{"Condition": "A"}]}
        }, "Resources": {}});
        let error = Resolver::new(&cyclic, "us-east-1", "s", &BTreeMap::new())
            .err()
            .unwrap();
        assert!(error.to_string().contains("cycle"), "{error}");
    }

    #[test]
    fn find_in_map_base64_get_azs_and_to_json_string() {
        assert_eq!(
            resolve(json!({"Fn::FindInMap": ["Settings", {"Ref": "Stage"}, "Level"]})).unwrap(),
            json!("debug")
        );
        assert!(resolve(json!({"Fn::FindInMap": ["Settings", "prod", "Level"]})).is_err());
        assert_eq!(
            resolve(
                json!({"Fn::FindInMap": ["Settings", "prod", "Level", {"DefaultValue": "info"}]})
            )
            .unwrap(),
            json!("info")
        );
        assert_eq!(
            resolve(json!({"Fn::Base64": "hello"})).unwrap(),
            json!("aGVsbG8=")
        );
        assert_eq!(
            resolve(json!({"Fn::GetAZs": ""})).unwrap(),
            json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"])
        );
        assert_eq!(
            resolve(json!({"Fn::ToJsonString": {"stage": {"Ref": "Stage"}, "n": [1]}})).unwrap(),
            json!(r#"{"n":[1],"stage":"local"}"#)
        );
    }

    #[test]
    fn import_value_is_a_clear_error() {
        let error = format!(
            "{:#}",
            resolve(json!({"Fn::ImportValue": "Other"})).unwrap_err()
        );
        assert!(
            error.contains("Fn::ImportValue is not supported"),
            "{error}"
        );
    }

    #[test]
    fn order_puts_references_and_depends_on_first() {
        let template = json!({"Resources": {
            "Function": {"Type": "AWS::Lambda::Function", "Properties": {
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Environment": {"Variables": {
                    "QUEUE": {"Ref": "Queue"},
                    "BUS": {"Fn::Sub": "${Bus.Arn}/${AWS::Region}/${!Ignored}/${Local}"},
                    "STAGE": {"Ref": "Stage"}
                }}
            }},
            "Role": {"Type": "AWS::IAM::Role"},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": "Dlq.Arn"}}
            }},
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "Bus": {"Type": "AWS::Events::EventBus", "DependsOn": "Dlq"},
            "Custom": {"Type": "Custom::X", "DependsOn": ["Function"], "Properties": {
                "Text": {"Fn::Sub": ["${Local}", {"Local": {"Ref": "Queue"}}]}
            }},
            "Local": {"Type": "AWS::SQS::Queue"}
        }});
        let order = provisioning_order(&template).unwrap();
        let position = |id: &str| order.iter().position(|o| o == id).unwrap();
        assert_eq!(order.len(), 7);
        assert!(position("Role") < position("Function"));
        assert!(position("Queue") < position("Function"));
        assert!(position("Bus") < position("Function"));
        assert!(position("Local") < position("Function"));
        assert!(position("Dlq") < position("Queue"));
        assert!(position("Dlq") < position("Bus"));
        assert!(position("Function") < position("Custom"));
        assert_eq!(order[0], "Dlq");
    }

    #[test]
    fn order_reports_cycles_by_name() {
        let template = json!({"Resources": {
            "A": {"Type": "X", "Properties": {"P": {"Ref": "B"}}},
            "B": {"Type": "X", "Properties": {"P": {"Fn::GetAtt": "C.Arn"}}},
            "C": {"Type": "X", "DependsOn": "A"},
            "D": {"Type": "X"}
        }});
        let error = provisioning_order(&template).unwrap_err().to_string();
        assert!(error.contains("A -> B -> C -> A"), "{error}");
    }

    #[test]
    fn order_rejects_depends_on_unknown_resources() {
        let template = json!({"Resources": {"A": {"Type": "X", "DependsOn": "Ghost"}}});
        assert!(
            provisioning_order(&template)
                .unwrap_err()
                .to_string()
                .contains("Ghost")
        );
    }
}
