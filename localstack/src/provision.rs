//! Creates every resource of the expanded template, the way CloudFormation would, against moto.
//!
//! The template is the only list of names: tables, queues, topics, buses, rules, secrets, buckets,
//! identities and state machines are created through the AWS APIs (so moto holds them exactly as
//! AWS would), functions are registered with the [`FunctionHost`], and custom resources are run
//! by invoking their function with a real CloudFormation `Create` event. Resources the local cloud
//! does not emulate (IAM, log groups, API Gateway, alarms, ...) are listed in [`Stack::skipped`]
//! with plausible `Ref`/`Fn::GetAtt` values, so everything that refers to them still resolves.

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use aws_smithy_types::error::display::DisplayErrorContext;
use serde_json::{Map, Value, json};

use crate::ACCOUNT_ID;
use crate::cfn_response::CfnResponses;
use crate::host::{FunctionHost, FunctionSpec, InvokeOutcome};
use crate::template::{self, Provisioned, Resolver, scalar_string};

/// How long a custom resource's function has to answer at its `ResponseURL`.
const CUSTOM_RESOURCE_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything provisioning needs: where the AWS APIs are, and where functions run.
#[derive(Clone)]
pub struct ProvisionContext {
    /// SDK configuration pointing at the edge (which forwards to moto).
    pub sdk: aws_config::SdkConfig,
    /// The region of every ARN.
    pub region: String,
    /// The stack name; generated physical names are `{stack_name}-{LogicalId}`. A stack nested
    /// in the root shares the root's name (the service templates keep their logical ids unique
    /// across the shop); a stack nested deeper (an `infra/` module) adds its logical id:
    /// `shop-local-CatalogOutbox-RelayOutboxFunction`.
    pub stack_name: String,
    /// Template parameter overrides.
    pub parameters: BTreeMap<String, String>,
    /// Where `AWS::Lambda::Function`s are registered and custom resources invoked.
    pub host: Arc<FunctionHost>,
    /// Where custom-resource responses arrive.
    pub cfn_responses: Arc<CfnResponses>,
    /// The edge's URL; custom resources get `{edge_url}/_localcloud/cfn-response/{request_id}`.
    pub edge_url: String,
    /// Where the function binaries are (`target/debug`).
    pub bin_dir: PathBuf,
    /// How deep this stack is nested: 0 for the root.
    pub depth: usize,
}

/// The provisioned stack, with its nested stacks' resources merged in.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    /// Every resource whose condition held (skipped ones included), by logical id: the stack's
    /// own, those of the stacks nested in the root (same logical id), and those of stacks nested
    /// deeper as `<NestedStackId>.<LogicalId>` (the same rule as their physical names).
    pub resources: BTreeMap<String, ProvisionedResource>,
    /// The template's outputs, resolved.
    pub outputs: BTreeMap<String, Value>,
    /// `(logical id, type)` of the resources that are not emulated.
    pub skipped: Vec<(String, String)>,
}

impl Stack {
    /// The physical id (name, URL or ARN) of a resource.
    pub fn physical_id(&self, logical_id: &str) -> Option<&str> {
        self.resources
            .get(logical_id)
            .map(|resource| resource.physical_id.as_str())
    }

    /// An output's value when it is a string.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs.get(name).and_then(Value::as_str)
    }

    /// One line on the resources that are not emulated: how many, and how many of each type
    /// (most first); `None` when every resource is. Sixty lines of "skipped" would bury what
    /// the runner has to say; `localcloud --verbose` lists them one by one instead.
    pub fn skipped_summary(&self) -> Option<String> {
        if self.skipped.is_empty() {
            return None;
        }
        let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, resource_type) in &self.skipped {
            *by_type.entry(resource_type.as_str()).or_default() += 1;
        }
        let mut by_type: Vec<(&str, usize)> = by_type.into_iter().collect();
        by_type.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let types: Vec<String> = by_type
            .iter()
            .map(|(resource_type, count)| format!("{resource_type} ×{count}"))
            .collect();
        let count = self.skipped.len();
        let resources = if count == 1 { "resource" } else { "resources" };
        Some(format!(
            "skipped {count} {resources} the local cloud does not emulate ({}); --verbose lists them",
            types.join(", ")
        ))
    }
}

/// One provisioned (or synthesized, when not emulated) resource.
#[derive(Clone, Debug, PartialEq)]
pub struct ProvisionedResource {
    /// The CloudFormation type, e.g. `AWS::SQS::Queue`.
    pub resource_type: String,
    /// The physical id CloudFormation would report (name, URL or ARN, per type).
    pub physical_id: String,
    /// What `Ref` returns.
    pub ref_value: Value,
    /// What `Fn::GetAtt` returns, by attribute name.
    pub attributes: BTreeMap<String, Value>,
    /// The resource's properties with intrinsics resolved (for a resource that is not emulated,
    /// as far as they resolve): what the gateway and the event-source mappings are built from.
    pub properties: Map<String, Value>,
}

impl ProvisionedResource {
    fn new(
        resource_type: &str,
        physical_id: impl Into<String>,
        ref_value: impl Into<Value>,
    ) -> Self {
        Self {
            resource_type: resource_type.to_owned(),
            physical_id: physical_id.into(),
            ref_value: ref_value.into(),
            attributes: BTreeMap::new(),
            properties: Map::new(),
        }
    }

    fn with(mut self, attribute: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(attribute.to_owned(), value.into());
        self
    }

    fn provisioned(&self) -> Provisioned {
        Provisioned {
            ref_value: self.ref_value.clone(),
            attributes: self.attributes.clone(),
        }
    }
}

/// Creates every resource of `template` (already expanded by [`template::expand`]) in dependency
/// order, then resolves the outputs. `progress` gets one line per resource.
pub async fn provision(
    template: &Value,
    ctx: &ProvisionContext,
    progress: impl Fn(&str) + Sync,
) -> anyhow::Result<Stack> {
    provision_at(template, ctx, &progress).await
}

async fn provision_at(
    template: &Value,
    ctx: &ProvisionContext,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Stack> {
    let order = template::provisioning_order(template)?;
    let mut resolver = Resolver::new(template, &ctx.region, &ctx.stack_name, &ctx.parameters)?;
    let clients = Clients::new(&ctx.sdk);
    let empty = Map::new();
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut stack = Stack::default();

    for logical_id in order {
        let Some(declaration) = resources.get(&logical_id) else {
            continue;
        };
        let resource_type = declaration
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("resource {logical_id} has no Type"))?;
        if !resolver
            .is_enabled(declaration)
            .with_context(|| format!("{resource_type} {logical_id}"))?
        {
            progress(&format!(
                "skipped (condition false): {resource_type} {logical_id}"
            ));
            continue;
        }
        let raw_properties = declaration.get("Properties").cloned().unwrap_or(json!({}));
        let resource = Resource {
            ctx,
            clients: &clients,
            resolver: &resolver,
            logical_id: &logical_id,
            resource_type,
            declaration,
        };
        if resource_type == NESTED_STACK && declaration.get("NestedTemplate").is_some() {
            let properties = resolver.resolve(&raw_properties).with_context(|| {
                format!("cannot resolve the parameters of the nested stack {logical_id}")
            })?;
            let child = provision_nested(&logical_id, declaration, &properties, ctx, progress)
                .await
                .with_context(|| format!("nested stack {logical_id}"))?;
            let mut created =
                ProvisionedResource::new(resource_type, child.id.as_str(), child.id.as_str());
            for (name, value) in &child.stack.outputs {
                created = created.with(&format!("Outputs.{name}"), value.clone());
            }
            created.properties = properties.as_object().cloned().unwrap_or_default();
            resolver.add_resource(&logical_id, created.provisioned());
            stack.merge(&logical_id, &child.key_prefix, child.stack)?;
            stack.resources.insert(logical_id.clone(), created);
        } else if emulated(resource_type) {
            let properties = match resolver.resolve(&raw_properties) {
                Ok(Value::Object(properties)) => properties,
                Ok(other) => {
                    bail!("{resource_type} {logical_id}: Properties must be a map, not {other}")
                }
                Err(error) => {
                    return Err(error.context(format!(
                        "cannot resolve the properties of {resource_type} {logical_id}"
                    )));
                }
            };
            let mut created = resource
                .create(&properties)
                .await
                .with_context(|| format!("cannot create {resource_type} {logical_id}"))?;
            created.properties = properties;
            progress(&format!(
                "created {resource_type} {logical_id} ({})",
                created.physical_id
            ));
            resolver.add_resource(&logical_id, created.provisioned());
            stack.resources.insert(logical_id.clone(), created);
        } else {
            // Not emulated: resolve what can be resolved, only to name it plausibly.
            let properties = match resolver.resolve(&raw_properties) {
                Ok(Value::Object(properties)) => properties,
                _ => raw_properties.as_object().cloned().unwrap_or_default(),
            };
            let mut synthesized = resource.placeholder(&properties);
            synthesized.properties = properties;
            // Listed all at once by the caller (`Stack::skipped_summary`, or one line each).
            resolver.add_placeholder(&logical_id, synthesized.provisioned());
            stack
                .skipped
                .push((logical_id.clone(), resource_type.to_owned()));
            stack.resources.insert(logical_id.clone(), synthesized);
        }
    }

    if let Some(outputs) = template.get("Outputs").and_then(Value::as_object) {
        for (name, output) in outputs {
            if !resolver
                .is_enabled(output)
                .with_context(|| format!("output {name}"))?
            {
                continue;
            }
            let value = output
                .get("Value")
                .ok_or_else(|| anyhow!("output {name} has no Value"))?;
            let value = resolver
                .resolve(value)
                .with_context(|| format!("cannot resolve output {name}"))?;
            stack.outputs.insert(name.clone(), value);
        }
    }
    Ok(stack)
}

/// A nested stack's type (what SAM makes of an `AWS::Serverless::Application`).
const NESTED_STACK: &str = "AWS::CloudFormation::Stack";

/// A provisioned nested stack, its id, and the prefix of its resources' keys in its parent's
/// [`Stack::resources`] (empty when it shares its parent's names).
struct NestedStack {
    id: String,
    stack: Stack,
    key_prefix: String,
}

/// Provisions the template `expand.py` embedded in the nested stack `logical_id`, with the
/// parameters its parent passes (`Properties.Parameters`, resolved; CloudFormation passes every
/// value as a string).
async fn provision_nested(
    logical_id: &str,
    declaration: &Value,
    properties: &Value,
    ctx: &ProvisionContext,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<NestedStack> {
    let template = &declaration["NestedTemplate"];
    let mut parameters = BTreeMap::new();
    if let Some(passed) = properties.get("Parameters").and_then(Value::as_object) {
        for (name, value) in passed {
            let value = match value {
                Value::Array(items) => items
                    .iter()
                    .map(|item| scalar_string(item).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(","),
                other => scalar_string(other)
                    .ok_or_else(|| anyhow!("parameter {name} is not a scalar: {other}"))?,
            };
            parameters.insert(name.clone(), value);
        }
    }
    // One rule for names and keys: stacks nested in the root share its names.
    let (stack_name, key_prefix) = if ctx.depth == 0 {
        (ctx.stack_name.clone(), String::new())
    } else {
        (
            format!("{}-{logical_id}", ctx.stack_name),
            format!("{logical_id}."),
        )
    };
    let child = ProvisionContext {
        stack_name,
        parameters,
        depth: ctx.depth + 1,
        ..ctx.clone()
    };
    let path = declaration
        .get("NestedTemplatePath")
        .and_then(Value::as_str)
        .unwrap_or("?");
    progress(&format!("nested stack {logical_id} ({path})"));
    let prefixed = |line: &str| progress(&format!("{logical_id}: {line}"));
    let stack = Box::pin(provision_at(template, &child, &prefixed)).await?;
    let id = format!(
        "arn:{}:cloudformation:{}:{ACCOUNT_ID}:stack/{}-{logical_id}/{}",
        template::partition(&ctx.region),
        ctx.region,
        ctx.stack_name,
        short_id(&format!("{}-{logical_id}", ctx.stack_name)),
    );
    Ok(NestedStack {
        id,
        stack,
        key_prefix,
    })
}

impl Stack {
    /// Merges the nested stack `logical_id`'s resources into this (its parent's) view, their
    /// keys under `prefix`. Two services declaring one logical id would give two resources one
    /// name, so that is an error.
    fn merge(&mut self, logical_id: &str, prefix: &str, child: Stack) -> anyhow::Result<()> {
        for (id, resource) in child.resources {
            let key = format!("{prefix}{id}");
            if self.resources.contains_key(&key) {
                bail!(
                    "the logical id {key} is declared twice (by the nested stack {logical_id} and \
                     elsewhere): logical ids of the stacks nested in the root must be unique"
                );
            }
            self.resources.insert(key, resource);
        }
        self.skipped.extend(
            child
                .skipped
                .into_iter()
                .map(|(id, kind)| (format!("{prefix}{id}"), kind)),
        );
        Ok(())
    }
}

/// The types this module creates for real; everything else is synthesized and skipped.
fn emulated(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "AWS::DynamoDB::Table"
            | "AWS::DynamoDB::GlobalTable"
            | "AWS::SQS::Queue"
            | "AWS::SQS::QueuePolicy"
            | "AWS::SNS::Topic"
            | "AWS::SNS::TopicPolicy"
            | "AWS::SNS::Subscription"
            | "AWS::Events::EventBus"
            | "AWS::Events::Rule"
            | "AWS::SecretsManager::Secret"
            | "AWS::S3::Bucket"
            | "AWS::S3::BucketPolicy"
            | "AWS::SES::EmailIdentity"
            | "AWS::SES::ConfigurationSet"
            | "AWS::StepFunctions::StateMachine"
            | "AWS::Lambda::Function"
            | "AWS::CloudFormation::CustomResource"
    ) || resource_type.starts_with("Custom::")
}

/// One client per service, built once.
struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    events: aws_sdk_eventbridge::Client,
    secrets: aws_sdk_secretsmanager::Client,
    s3: aws_sdk_s3::Client,
    ses: aws_sdk_ses::Client,
    sfn: aws_sdk_sfn::Client,
}

impl Clients {
    fn new(sdk: &aws_config::SdkConfig) -> Self {
        // Path-style addressing: `bucket.localhost` does not resolve to the edge.
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            ses: aws_sdk_ses::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
        }
    }
}

/// An SDK error with its whole chain of causes (the service's message included).
fn sdk_error<E: std::error::Error>(error: E) -> anyhow::Error {
    anyhow!("{}", DisplayErrorContext(error))
}

/// The resource being provisioned, with everything needed to do it.
struct Resource<'a> {
    ctx: &'a ProvisionContext,
    clients: &'a Clients,
    resolver: &'a Resolver,
    logical_id: &'a str,
    resource_type: &'a str,
    declaration: &'a Value,
}

type Props = Map<String, Value>;

impl Resource<'_> {
    async fn create(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        match self.resource_type {
            "AWS::DynamoDB::Table" | "AWS::DynamoDB::GlobalTable" => self.table(props).await,
            "AWS::SQS::Queue" => self.queue(props).await,
            "AWS::SQS::QueuePolicy" => self.queue_policy(props).await,
            "AWS::SNS::Topic" => self.topic(props).await,
            "AWS::SNS::TopicPolicy" => self.topic_policy(props).await,
            "AWS::SNS::Subscription" => {
                let topic_arn = string(props, "TopicArn")?;
                let arn = self.subscribe(&topic_arn, props).await?;
                Ok(ProvisionedResource::new(
                    self.resource_type,
                    &arn,
                    arn.as_str(),
                ))
            }
            "AWS::Events::EventBus" => self.event_bus(props).await,
            "AWS::Events::Rule" => self.rule(props).await,
            "AWS::SecretsManager::Secret" => self.secret(props).await,
            "AWS::S3::Bucket" => self.bucket(props).await,
            "AWS::S3::BucketPolicy" => self.bucket_policy(props).await,
            "AWS::SES::EmailIdentity" => self.email_identity(props).await,
            "AWS::SES::ConfigurationSet" => self.configuration_set(props).await,
            "AWS::StepFunctions::StateMachine" => self.state_machine(props).await,
            "AWS::Lambda::Function" => self.function(props).await,
            _ => self.custom_resource(props).await,
        }
    }

    /// The resource's own name property, else the name CloudFormation would generate.
    fn name(&self, props: &Props, property: &str, max_len: usize) -> String {
        match props.get(property).and_then(scalar_string) {
            Some(name) => name,
            None => generated_name(&self.ctx.stack_name, self.logical_id, max_len, ""),
        }
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{ACCOUNT_ID}:{resource}",
            template::partition(&self.ctx.region),
            self.ctx.region
        )
    }

    // ---- DynamoDB -------------------------------------------------------------------------

    async fn table(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, LocalSecondaryIndex,
            ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
        };
        let name = self.name(props, "TableName", 255);
        let client = &self.clients.dynamodb;
        let mut attributes = Vec::new();
        for definition in list(props, "AttributeDefinitions")? {
            attributes.push(
                AttributeDefinition::builder()
                    .attribute_name(string(definition, "AttributeName")?)
                    .attribute_type(ScalarAttributeType::from(
                        string(definition, "AttributeType")?.as_str(),
                    ))
                    .build()?,
            );
        }
        let throughput = props
            .get("ProvisionedThroughput")
            .map(dynamodb_throughput)
            .transpose()?;
        let billing_mode = match props.get("BillingMode").and_then(Value::as_str) {
            Some(mode) => BillingMode::from(mode),
            None if throughput.is_some() => BillingMode::Provisioned,
            None => BillingMode::PayPerRequest,
        };
        let mut global_indexes = Vec::new();
        for index in list(props, "GlobalSecondaryIndexes").unwrap_or_default() {
            global_indexes.push(
                GlobalSecondaryIndex::builder()
                    .index_name(string(index, "IndexName")?)
                    .set_key_schema(Some(key_schema(index)?))
                    .projection(projection(index)?)
                    .set_provisioned_throughput(
                        index
                            .get("ProvisionedThroughput")
                            .map(dynamodb_throughput)
                            .transpose()?,
                    )
                    .build()?,
            );
        }
        let mut local_indexes = Vec::new();
        for index in list(props, "LocalSecondaryIndexes").unwrap_or_default() {
            local_indexes.push(
                LocalSecondaryIndex::builder()
                    .index_name(string(index, "IndexName")?)
                    .set_key_schema(Some(key_schema(index)?))
                    .projection(projection(index)?)
                    .build()?,
            );
        }
        let stream = match props.get("StreamSpecification") {
            Some(spec) => {
                // GlobalTable streams have no StreamEnabled; a spec means "on".
                let view = spec
                    .get("StreamViewType")
                    .and_then(Value::as_str)
                    .unwrap_or("NEW_AND_OLD_IMAGES");
                let enabled = spec.get("StreamEnabled").and_then(truthy).unwrap_or(true);
                Some(
                    StreamSpecification::builder()
                        .stream_enabled(enabled)
                        .set_stream_view_type(enabled.then(|| StreamViewType::from(view)))
                        .build()?,
                )
            }
            None => None,
        };
        client
            .create_table()
            .table_name(&name)
            .set_attribute_definitions(Some(attributes))
            .set_key_schema(Some(key_schema(props)?))
            .billing_mode(billing_mode)
            .set_provisioned_throughput(throughput)
            .set_global_secondary_indexes((!global_indexes.is_empty()).then_some(global_indexes))
            .set_local_secondary_indexes((!local_indexes.is_empty()).then_some(local_indexes))
            .set_stream_specification(stream)
            .send()
            .await
            .map_err(sdk_error)?;

        if let Some(ttl) = props.get("TimeToLiveSpecification") {
            let enabled = ttl.get("Enabled").and_then(truthy).unwrap_or(false);
            if enabled {
                let spec = TimeToLiveSpecification::builder()
                    .attribute_name(
                        ttl.get("AttributeName")
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                anyhow!("TimeToLiveSpecification needs AttributeName")
                            })?,
                    )
                    .enabled(true)
                    .build()?;
                client
                    .update_time_to_live()
                    .table_name(&name)
                    .time_to_live_specification(spec)
                    .send()
                    .await
                    .map_err(sdk_error)
                    .context("UpdateTimeToLive")?;
            }
        }

        let described = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .map_err(sdk_error)
            .context("DescribeTable")?;
        let table = described
            .table()
            .ok_or_else(|| anyhow!("DescribeTable returned no table"))?;
        let arn = table
            .table_arn()
            .map(str::to_owned)
            .unwrap_or_else(|| self.arn("dynamodb", &format!("table/{name}")));
        let mut resource =
            ProvisionedResource::new(self.resource_type, &name, name.as_str()).with("Arn", arn);
        if let Some(stream_arn) = table.latest_stream_arn() {
            resource = resource.with("StreamArn", stream_arn);
        }
        if let Some(id) = table.table_id() {
            resource = resource.with("TableId", id);
        }
        Ok(resource)
    }

    // ---- SQS ------------------------------------------------------------------------------

    async fn queue(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let fifo = props.get("FifoQueue").and_then(truthy).unwrap_or(false);
        let name = match props.get("QueueName").and_then(scalar_string) {
            Some(name) => name,
            None => generated_name(
                &self.ctx.stack_name,
                self.logical_id,
                80,
                if fifo { ".fifo" } else { "" },
            ),
        };
        let mut attributes = HashMap::new();
        for (property, value) in props {
            let attribute = match property.as_str() {
                "QueueName" | "Tags" => continue,
                // FifoQueue=false is rejected by SQS; leaving it out means the same.
                "FifoQueue" if !fifo => continue,
                "RedrivePolicy" | "RedriveAllowPolicy" => {
                    attributes.insert(
                        QueueAttributeName::from(property.as_str()),
                        json_text(value),
                    );
                    continue;
                }
                other => QueueAttributeName::from(other),
            };
            let text = scalar_string(value).ok_or_else(|| {
                anyhow!("queue property {property} must be a scalar, not {value}")
            })?;
            attributes.insert(attribute, text);
        }
        let created = self
            .clients
            .sqs
            .create_queue()
            .queue_name(&name)
            .set_attributes((!attributes.is_empty()).then_some(attributes))
            .send()
            .await
            .map_err(sdk_error)?;
        let url = created
            .queue_url()
            .ok_or_else(|| anyhow!("CreateQueue returned no QueueUrl"))?
            .to_owned();
        let described = self
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(sdk_error)
            .context("GetQueueAttributes")?;
        let arn = described
            .attributes()
            .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_else(|| self.arn("sqs", &name));
        Ok(
            ProvisionedResource::new(self.resource_type, &url, url.as_str())
                .with("Arn", arn)
                .with("QueueName", name)
                .with("QueueUrl", url),
        )
    }

    async fn queue_policy(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let policy = json_text(
            props
                .get("PolicyDocument")
                .ok_or_else(|| anyhow!("missing PolicyDocument"))?,
        );
        for queue in list_of_strings(props, "Queues")? {
            self.clients
                .sqs
                .set_queue_attributes()
                .queue_url(&queue)
                .attributes(QueueAttributeName::Policy, &policy)
                .send()
                .await
                .map_err(sdk_error)
                .with_context(|| format!("SetQueueAttributes Policy on {queue}"))?;
        }
        let id = generated_name(&self.ctx.stack_name, self.logical_id, 255, "");
        Ok(ProvisionedResource::new(self.resource_type, &id, id.as_str()).with("Id", id))
    }

    // ---- SNS ------------------------------------------------------------------------------

    async fn topic(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        let fifo = props.get("FifoTopic").and_then(truthy).unwrap_or(false);
        let name = match props.get("TopicName").and_then(scalar_string) {
            Some(name) => name,
            None => generated_name(
                &self.ctx.stack_name,
                self.logical_id,
                256,
                if fifo { ".fifo" } else { "" },
            ),
        };
        let mut attributes = HashMap::new();
        for property in [
            "DisplayName",
            "KmsMasterKeyId",
            "ContentBasedDeduplication",
            "SignatureVersion",
            "TracingConfig",
            "FifoThroughputScope",
        ] {
            if let Some(value) = props.get(property).and_then(scalar_string) {
                attributes.insert(property.to_owned(), value);
            }
        }
        if fifo {
            attributes.insert("FifoTopic".to_owned(), "true".to_owned());
        }
        if let Some(policy) = props.get("DataProtectionPolicy") {
            attributes.insert("DataProtectionPolicy".to_owned(), json_text(policy));
        }
        let created = self
            .clients
            .sns
            .create_topic()
            .name(&name)
            .set_attributes((!attributes.is_empty()).then_some(attributes))
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = created
            .topic_arn()
            .ok_or_else(|| anyhow!("CreateTopic returned no TopicArn"))?
            .to_owned();
        for subscription in list(props, "Subscription").unwrap_or_default() {
            self.subscribe(&arn, subscription)
                .await
                .context("inline Subscription")?;
        }
        Ok(
            ProvisionedResource::new(self.resource_type, &arn, arn.as_str())
                .with("TopicArn", arn.as_str())
                .with("TopicName", name),
        )
    }

    async fn topic_policy(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        let policy = json_text(
            props
                .get("PolicyDocument")
                .ok_or_else(|| anyhow!("missing PolicyDocument"))?,
        );
        for topic in list_of_strings(props, "Topics")? {
            self.clients
                .sns
                .set_topic_attributes()
                .topic_arn(&topic)
                .attribute_name("Policy")
                .attribute_value(&policy)
                .send()
                .await
                .map_err(sdk_error)
                .with_context(|| format!("SetTopicAttributes Policy on {topic}"))?;
        }
        let id = generated_name(&self.ctx.stack_name, self.logical_id, 255, "");
        Ok(ProvisionedResource::new(self.resource_type, &id, id.as_str()).with("Id", id))
    }

    /// Subscribes to `topic_arn` as an `AWS::SNS::Subscription` (or an inline subscription) says.
    async fn subscribe(&self, topic_arn: &str, props: &Props) -> anyhow::Result<String> {
        let mut attributes = HashMap::new();
        for property in [
            "FilterPolicy",
            "FilterPolicyScope",
            "RawMessageDelivery",
            "RedrivePolicy",
            "DeliveryPolicy",
            "SubscriptionRoleArn",
            "ReplayPolicy",
        ] {
            if let Some(value) = props.get(property) {
                let text = match value {
                    Value::Object(_) | Value::Array(_) => json_text(value),
                    other => scalar_string(other)
                        .ok_or_else(|| anyhow!("{property} must be a value, not {other}"))?,
                };
                attributes.insert(property.to_owned(), text);
            }
        }
        let subscribed = self
            .clients
            .sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol(string(props, "Protocol")?)
            .set_endpoint(props.get("Endpoint").and_then(scalar_string))
            .set_attributes((!attributes.is_empty()).then_some(attributes))
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(sdk_error)?;
        subscribed
            .subscription_arn()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("Subscribe returned no SubscriptionArn"))
    }

    // ---- EventBridge ----------------------------------------------------------------------

    async fn event_bus(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        let name = self.name(props, "Name", 256);
        let created = self
            .clients
            .events
            .create_event_bus()
            .name(&name)
            .set_description(props.get("Description").and_then(scalar_string))
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = created
            .event_bus_arn()
            .map(str::to_owned)
            .unwrap_or_else(|| self.arn("events", &format!("event-bus/{name}")));
        Ok(
            ProvisionedResource::new(self.resource_type, &name, name.as_str())
                .with("Arn", arn)
                .with("Name", name),
        )
    }

    async fn rule(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        use aws_sdk_eventbridge::types::{
            DeadLetterConfig, InputTransformer, RetryPolicy, RuleState, SqsParameters, Target,
        };
        let name = self.name(props, "Name", 64);
        // EventBusName may be a name or an ARN (`.../event-bus/<name>`).
        let bus = props
            .get("EventBusName")
            .and_then(scalar_string)
            .map(|bus| bus.rsplit('/').next().unwrap_or(&bus).to_owned())
            .unwrap_or_else(|| "default".to_owned());
        let events = &self.clients.events;
        let put = events
            .put_rule()
            .name(&name)
            .event_bus_name(&bus)
            .set_event_pattern(props.get("EventPattern").map(json_text))
            .set_schedule_expression(props.get("ScheduleExpression").and_then(scalar_string))
            .state(RuleState::from(
                props
                    .get("State")
                    .and_then(Value::as_str)
                    .unwrap_or("ENABLED"),
            ))
            .set_description(props.get("Description").and_then(scalar_string))
            .set_role_arn(props.get("RoleArn").and_then(scalar_string))
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = put.rule_arn().map(str::to_owned).unwrap_or_else(|| {
            if bus == "default" {
                self.arn("events", &format!("rule/{name}"))
            } else {
                self.arn("events", &format!("rule/{bus}/{name}"))
            }
        });

        let mut targets = Vec::new();
        for target in list(props, "Targets").unwrap_or_default() {
            let transformer = match target.get("InputTransformer") {
                Some(transformer) => {
                    let paths = transformer
                        .get("InputPathsMap")
                        .and_then(Value::as_object)
                        .map(|paths| {
                            paths
                                .iter()
                                .filter_map(|(k, v)| scalar_string(v).map(|v| (k.clone(), v)))
                                .collect::<HashMap<_, _>>()
                        });
                    Some(
                        InputTransformer::builder()
                            .set_input_paths_map(paths)
                            .input_template(
                                transformer
                                    .get("InputTemplate")
                                    .and_then(scalar_string)
                                    .ok_or_else(|| {
                                        anyhow!("InputTransformer needs InputTemplate")
                                    })?,
                            )
                            .build()?,
                    )
                }
                None => None,
            };
            let sqs = target.get("SqsParameters").map(|sqs| {
                SqsParameters::builder()
                    .set_message_group_id(sqs.get("MessageGroupId").and_then(scalar_string))
                    .build()
            });
            let dead_letter = target.get("DeadLetterConfig").map(|dlq| {
                DeadLetterConfig::builder()
                    .set_arn(dlq.get("Arn").and_then(scalar_string))
                    .build()
            });
            let retry = target.get("RetryPolicy").map(|retry| {
                RetryPolicy::builder()
                    .set_maximum_retry_attempts(retry.get("MaximumRetryAttempts").and_then(int))
                    .set_maximum_event_age_in_seconds(
                        retry.get("MaximumEventAgeInSeconds").and_then(int),
                    )
                    .build()
            });
            targets.push(
                Target::builder()
                    .id(string(target, "Id")?)
                    .arn(string(target, "Arn")?)
                    .set_input(target.get("Input").map(json_text))
                    .set_input_path(target.get("InputPath").and_then(scalar_string))
                    .set_input_transformer(transformer)
                    .set_sqs_parameters(sqs)
                    .set_dead_letter_config(dead_letter)
                    .set_retry_policy(retry)
                    .set_role_arn(target.get("RoleArn").and_then(scalar_string))
                    .build()?,
            );
        }
        if !targets.is_empty() {
            let put = events
                .put_targets()
                .rule(&name)
                .event_bus_name(&bus)
                .set_targets(Some(targets))
                .send()
                .await
                .map_err(sdk_error)
                .context("PutTargets")?;
            if put.failed_entry_count() > 0 {
                let failures: Vec<String> = put
                    .failed_entries()
                    .iter()
                    .map(|entry| {
                        format!(
                            "{}: {}",
                            entry.target_id().unwrap_or("?"),
                            entry.error_message().unwrap_or("failed")
                        )
                    })
                    .collect();
                bail!("PutTargets failed: {}", failures.join("; "));
            }
        }
        // CloudFormation: Ref is the rule name, or `bus|name` for a rule on a custom bus.
        let ref_value = if bus == "default" {
            name.clone()
        } else {
            format!("{bus}|{name}")
        };
        Ok(
            ProvisionedResource::new(self.resource_type, ref_value.as_str(), ref_value.as_str())
                .with("Arn", arn),
        )
    }

    // ---- Secrets Manager ------------------------------------------------------------------

    async fn secret(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        let name = self.name(props, "Name", 512);
        let secret_string = match (props.get("SecretString"), props.get("GenerateSecretString")) {
            (Some(_), Some(_)) => {
                bail!("set either SecretString or GenerateSecretString, not both")
            }
            (Some(value), None) => Some(json_text(value)),
            (None, Some(Value::Object(spec))) => Some(generate_secret_string(spec)?),
            (None, Some(other)) => bail!("GenerateSecretString must be a map, not {other}"),
            // CloudFormation creates a secret without a value; so does moto.
            (None, None) => None,
        };
        let created = self
            .clients
            .secrets
            .create_secret()
            .name(&name)
            .set_description(props.get("Description").and_then(scalar_string))
            .set_kms_key_id(props.get("KmsKeyId").and_then(scalar_string))
            .set_secret_string(secret_string)
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = created
            .arn()
            .ok_or_else(|| anyhow!("CreateSecret returned no ARN"))?
            .to_owned();
        Ok(
            ProvisionedResource::new(self.resource_type, &arn, arn.as_str())
                .with("Id", arn.as_str())
                .with("SecretArn", arn.as_str())
                .with("Name", name),
        )
    }

    // ---- S3 -------------------------------------------------------------------------------

    async fn bucket(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
        let name = match props.get("BucketName").and_then(scalar_string) {
            Some(name) => name,
            None => generated_name(&self.ctx.stack_name, self.logical_id, 63, "")
                .to_lowercase()
                .replace('_', "-"),
        };
        let region = &self.ctx.region;
        let configuration = (region != "us-east-1").then(|| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build()
        });
        self.clients
            .s3
            .create_bucket()
            .bucket(&name)
            .set_create_bucket_configuration(configuration)
            .send()
            .await
            .map_err(sdk_error)?;
        let suffix = "amazonaws.com";
        Ok(
            ProvisionedResource::new(self.resource_type, &name, name.as_str())
                .with(
                    "Arn",
                    format!("arn:{}:s3:::{name}", template::partition(region)),
                )
                .with("DomainName", format!("{name}.s3.{suffix}"))
                .with("RegionalDomainName", format!("{name}.s3.{region}.{suffix}"))
                .with(
                    "DualStackDomainName",
                    format!("{name}.s3.dualstack.{region}.{suffix}"),
                )
                .with(
                    "WebsiteURL",
                    format!("http://{name}.s3-website-{region}.{suffix}"),
                ),
        )
    }

    async fn bucket_policy(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        let bucket = string(props, "Bucket")?;
        let policy = json_text(
            props
                .get("PolicyDocument")
                .ok_or_else(|| anyhow!("missing PolicyDocument"))?,
        );
        self.clients
            .s3
            .put_bucket_policy()
            .bucket(&bucket)
            .policy(policy)
            .send()
            .await
            .map_err(sdk_error)?;
        let id = generated_name(&self.ctx.stack_name, self.logical_id, 255, "");
        Ok(ProvisionedResource::new(
            self.resource_type,
            &id,
            id.as_str(),
        ))
    }

    // ---- SES ------------------------------------------------------------------------------

    async fn email_identity(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        let identity = string(props, "EmailIdentity")?;
        let ses = &self.clients.ses;
        if identity.contains('@') {
            ses.verify_email_identity()
                .email_address(&identity)
                .send()
                .await
                .map_err(sdk_error)
                .context("VerifyEmailIdentity")?;
        } else {
            ses.verify_domain_identity()
                .domain(&identity)
                .send()
                .await
                .map_err(sdk_error)
                .context("VerifyDomainIdentity")?;
        }
        let mut resource =
            ProvisionedResource::new(self.resource_type, &identity, identity.as_str());
        for n in 1..=3 {
            resource = resource
                .with(
                    &format!("DkimDNSTokenName{n}"),
                    format!("localcloud{n}._domainkey.{identity}"),
                )
                .with(
                    &format!("DkimDNSTokenValue{n}"),
                    format!("localcloud{n}.dkim.amazonses.com"),
                );
        }
        Ok(resource)
    }

    async fn configuration_set(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        use aws_sdk_ses::types::ConfigurationSet;
        let name = self.name(props, "Name", 64);
        self.clients
            .ses
            .create_configuration_set()
            .configuration_set(ConfigurationSet::builder().name(&name).build()?)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(ProvisionedResource::new(
            self.resource_type,
            &name,
            name.as_str(),
        ))
    }

    // ---- Step Functions -------------------------------------------------------------------

    async fn state_machine(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        use aws_sdk_sfn::types::StateMachineType;
        let name = self.name(props, "StateMachineName", 80);
        let mut definition = match (props.get("Definition"), props.get("DefinitionString")) {
            (Some(definition), _) => json_text(definition),
            (None, Some(definition)) => json_text(definition),
            (None, None) if props.contains_key("DefinitionS3Location") => bail!(
                "DefinitionS3Location is not supported locally (there is no S3 upload before \
                 provisioning): use DefinitionUri with a local file on an \
                 AWS::Serverless::StateMachine, or an inline Definition"
            ),
            (None, None) => bail!("a state machine needs Definition or DefinitionString"),
        };
        if let Some(substitutions) = props.get("DefinitionSubstitutions") {
            let substitutions = substitutions
                .as_object()
                .ok_or_else(|| anyhow!("DefinitionSubstitutions must be a map"))?;
            for (key, value) in substitutions {
                let value = scalar_string(value).ok_or_else(|| {
                    anyhow!("DefinitionSubstitutions.{key} must be a string, not {value}")
                })?;
                definition = definition.replace(&format!("${{{key}}}"), &value);
            }
        }
        let role_arn = props
            .get("RoleArn")
            .and_then(scalar_string)
            .unwrap_or_else(|| format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}-role"));
        let kind = props
            .get("StateMachineType")
            .and_then(Value::as_str)
            .unwrap_or("STANDARD");
        let created = self
            .clients
            .sfn
            .create_state_machine()
            .name(&name)
            .definition(definition)
            .role_arn(role_arn)
            .r#type(StateMachineType::from(kind))
            .send()
            .await
            .map_err(sdk_error)?;
        let arn = created.state_machine_arn().to_owned();
        Ok(
            ProvisionedResource::new(self.resource_type, &arn, arn.as_str())
                .with("Arn", arn.as_str())
                .with("Name", name)
                .with("StateMachineRevisionId", arn.as_str()),
        )
    }

    // ---- Lambda ---------------------------------------------------------------------------

    async fn function(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        let name = self.name(props, "FunctionName", 64);
        let arn = self.arn("lambda", &format!("function:{name}"));
        let binary = self
            .declaration
            .pointer("/Metadata/BuildProperties/Binary")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                anyhow!(
                    "function {} does not say which binary it runs: add `Metadata: {{BuildMethod: \
                     makefile, BuildProperties: {{Binary: <binary name>}}}}` to it in the \
                     template",
                    self.logical_id
                )
            })?;
        let binary_path = self.ctx.bin_dir.join(binary);
        if !binary_path.is_file() {
            bail!(
                "function {} runs the binary {binary}, but {} does not exist: build it with \
                 `cargo build --bin {binary}`",
                self.logical_id,
                binary_path.display()
            );
        }
        let mut env = BTreeMap::new();
        if let Some(variables) = props
            .get("Environment")
            .and_then(|environment| environment.get("Variables"))
            .and_then(Value::as_object)
        {
            for (key, value) in variables {
                let value = scalar_string(value).ok_or_else(|| {
                    anyhow!("environment variable {key} must be a string, not {value}")
                })?;
                env.insert(key.clone(), value);
            }
        }
        let timeout = props.get("Timeout").and_then(int).unwrap_or(3);
        let memory_mb = props.get("MemorySize").and_then(int).unwrap_or(128);
        self.ctx
            .host
            .register(FunctionSpec {
                logical_id: self.logical_id.to_owned(),
                name: name.clone(),
                arn: arn.clone(),
                binary: binary_path,
                env,
                timeout: Duration::from_secs(u64::try_from(timeout).unwrap_or(3)),
                memory_mb: u32::try_from(memory_mb).unwrap_or(128),
            })
            .await?;
        Ok(ProvisionedResource::new(self.resource_type, &name, name.as_str()).with("Arn", arn))
    }

    // ---- Custom resources -----------------------------------------------------------------

    /// Runs a custom resource like CloudFormation: a `Create` event to the ServiceToken's
    /// function, then waits for the document the function PUTs to `ResponseURL`.
    async fn custom_resource(&self, props: &Props) -> anyhow::Result<ProvisionedResource> {
        let token = string(props, "ServiceToken")?;
        if token.starts_with("arn:aws:sns:") {
            bail!(
                "SNS-backed custom resources are not supported locally; use a Lambda ServiceToken"
            );
        }
        let request_id = ulid::Ulid::new().to_string();
        let response_url = format!(
            "{}/_localcloud/cfn-response/{request_id}",
            self.ctx.edge_url.trim_end_matches('/')
        );
        // CloudFormation hands every scalar property to the function as a string.
        let properties = stringify_scalars(&Value::Object(props.clone()));
        let event = json!({
            "RequestType": "Create",
            "ServiceToken": token,
            "ResponseURL": response_url,
            "StackId": self.resolver.stack_id(),
            "RequestId": request_id,
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": properties,
        });
        let response = self.ctx.cfn_responses.expect(&request_id);
        match self
            .ctx
            .host
            .invoke(&token, bytes::Bytes::from(event.to_string()))
            .await
        {
            Ok(InvokeOutcome::Success(_)) => {}
            Ok(InvokeOutcome::FunctionError(body)) => bail!(
                "the custom resource's function {token} failed: {}",
                String::from_utf8_lossy(&body)
            ),
            Err(error) => bail!("cannot invoke the custom resource's function {token}: {error}"),
        }
        let document = tokio::time::timeout(CUSTOM_RESOURCE_TIMEOUT, response)
            .await
            .map_err(|_| {
                anyhow!(
                    "the function {token} returned but sent no response to ResponseURL within {} s \
                     (a custom resource must PUT a cfn-response document to it)",
                    CUSTOM_RESOURCE_TIMEOUT.as_secs()
                )
            })?
            .map_err(|_| anyhow!("the custom-resource response channel closed"))?;
        let status = document.get("Status").and_then(Value::as_str).unwrap_or("");
        match status {
            "SUCCESS" => {}
            "FAILED" => bail!(
                "the custom resource answered FAILED: {}",
                document
                    .get("Reason")
                    .and_then(Value::as_str)
                    .unwrap_or("(no Reason)")
            ),
            other => bail!("the custom resource answered Status {other:?} (not SUCCESS or FAILED)"),
        }
        let physical_id = document
            .get("PhysicalResourceId")
            .and_then(scalar_string)
            .unwrap_or_else(|| generated_name(&self.ctx.stack_name, self.logical_id, 255, ""));
        let mut resource =
            ProvisionedResource::new(self.resource_type, &physical_id, physical_id.as_str());
        if let Some(data) = document.get("Data").and_then(Value::as_object) {
            for (key, value) in data {
                resource = resource.with(key, value.clone());
            }
        }
        Ok(resource)
    }

    // ---- Not emulated ---------------------------------------------------------------------

    /// Plausible `Ref`/`Fn::GetAtt` values for a resource the local cloud does not create.
    fn placeholder(&self, props: &Props) -> ProvisionedResource {
        let kind = self.resource_type;
        let generated = generated_name(&self.ctx.stack_name, self.logical_id, 64, "");
        let named = |property: &str| {
            props
                .get(property)
                .and_then(scalar_string)
                .unwrap_or_else(|| generated.clone())
        };
        let short_id = short_id(&generated);
        let region = &self.ctx.region;
        match kind {
            "AWS::IAM::Role" => {
                let name = named("RoleName");
                let path = props
                    .get("Path")
                    .and_then(scalar_string)
                    .unwrap_or("/".into());
                ProvisionedResource::new(kind, &name, name.as_str())
                    .with("Arn", format!("arn:aws:iam::{ACCOUNT_ID}:role{path}{name}"))
                    .with("RoleId", format!("AROA{}", short_id.to_uppercase()))
            }
            "AWS::IAM::ManagedPolicy" => {
                let name = named("ManagedPolicyName");
                let arn = format!("arn:aws:iam::{ACCOUNT_ID}:policy/{name}");
                ProvisionedResource::new(kind, &arn, arn.as_str()).with("PolicyArn", arn.as_str())
            }
            "AWS::IAM::Policy" => {
                let id = format!("{}-{short_id}", named("PolicyName"));
                ProvisionedResource::new(kind, &id, id.as_str()).with("Id", id.as_str())
            }
            "AWS::Logs::LogGroup" => {
                let name = named("LogGroupName");
                ProvisionedResource::new(kind, &name, name.as_str())
                    .with("Arn", self.arn("logs", &format!("log-group:{name}:*")))
            }
            "AWS::CloudWatch::Alarm" => {
                let name = named("AlarmName");
                ProvisionedResource::new(kind, &name, name.as_str())
                    .with("Arn", self.arn("cloudwatch", &format!("alarm:{name}")))
            }
            "AWS::ApiGatewayV2::Api" => {
                ProvisionedResource::new(kind, &short_id, short_id.as_str())
                    .with("ApiId", short_id.as_str())
                    .with(
                        "ApiEndpoint",
                        format!("https://{short_id}.execute-api.{region}.amazonaws.com"),
                    )
            }
            "AWS::ApiGatewayV2::Stage" => {
                let name = named("StageName");
                ProvisionedResource::new(kind, &name, name.as_str())
            }
            "AWS::Lambda::Version" => {
                let function = props
                    .get("FunctionName")
                    .and_then(scalar_string)
                    .unwrap_or_else(|| generated.clone());
                let base = if function.starts_with("arn:") {
                    function
                } else {
                    self.arn("lambda", &format!("function:{function}"))
                };
                let arn = format!("{base}:1");
                ProvisionedResource::new(kind, &arn, arn.as_str()).with("Version", "1")
            }
            "AWS::Lambda::Alias" => {
                let function = props
                    .get("FunctionName")
                    .and_then(scalar_string)
                    .unwrap_or_else(|| generated.clone());
                let alias = named("Name");
                let arn = if function.starts_with("arn:") {
                    format!("{function}:{alias}")
                } else {
                    self.arn("lambda", &format!("function:{function}:{alias}"))
                };
                ProvisionedResource::new(kind, &arn, arn.as_str())
            }
            "AWS::Lambda::EventSourceMapping"
            | "AWS::Lambda::Permission"
            | "AWS::ApiGatewayV2::Authorizer"
            | "AWS::ApiGatewayV2::Integration"
            | "AWS::ApiGatewayV2::Route" => {
                ProvisionedResource::new(kind, &short_id, short_id.as_str()).with("Id", short_id)
            }
            _ => {
                // e.g. AWS::Foo::BarBaz → arn:aws:foo:<region>:<account>:barbaz/<name>
                let mut parts = kind.split("::").skip(1);
                let service = parts.next().unwrap_or("unknown").to_lowercase();
                let noun = parts.next().unwrap_or("resource").to_lowercase();
                let arn = self.arn(&service, &format!("{noun}/{generated}"));
                ProvisionedResource::new(kind, &generated, generated.as_str())
                    .with("Arn", arn)
                    .with("Id", generated.as_str())
            }
        }
    }
}

// ---- Small helpers --------------------------------------------------------------------------

/// `{stack}-{LogicalId}{suffix}`, cut to `max_len` like CloudFormation's generated names.
fn generated_name(stack: &str, logical_id: &str, max_len: usize, suffix: &str) -> String {
    let base = format!("{stack}-{logical_id}");
    let room = max_len.saturating_sub(suffix.len());
    let cut: String = base.chars().take(room).collect();
    format!("{cut}{suffix}")
}

/// A short, stable, lower-case id (API ids, mapping UUIDs) derived from a logical id.
fn short_id(logical_id: &str) -> String {
    let hash = logical_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..10)
        .map(|i| {
            let index = (hash >> (i * 6)) as usize % alphabet.len();
            char::from(alphabet[index])
        })
        .collect()
}

/// JSON text for policies, patterns and definitions: strings stay as they are, the rest is
/// serialized (CloudFormation accepts both forms for these properties).
fn json_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn truthy(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn int(value: &Value) -> Option<i32> {
    match value {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn string(props: &Props, key: &str) -> anyhow::Result<String> {
    props
        .get(key)
        .and_then(scalar_string)
        .ok_or_else(|| anyhow!("missing or non-string property {key}"))
}

fn list<'a>(props: &'a Props, key: &str) -> anyhow::Result<Vec<&'a Props>> {
    let items = props
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("missing list property {key}"))?;
    items
        .iter()
        .map(|item| {
            item.as_object()
                .ok_or_else(|| anyhow!("{key} must list maps, not {item}"))
        })
        .collect()
}

fn list_of_strings(props: &Props, key: &str) -> anyhow::Result<Vec<String>> {
    props
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("missing list property {key}"))?
        .iter()
        .map(|item| scalar_string(item).ok_or_else(|| anyhow!("{key} must list strings")))
        .collect()
}

fn key_schema(props: &Props) -> anyhow::Result<Vec<aws_sdk_dynamodb::types::KeySchemaElement>> {
    use aws_sdk_dynamodb::types::{KeySchemaElement, KeyType};
    list(props, "KeySchema")?
        .into_iter()
        .map(|key| {
            Ok(KeySchemaElement::builder()
                .attribute_name(string(key, "AttributeName")?)
                .key_type(KeyType::from(string(key, "KeyType")?.as_str()))
                .build()?)
        })
        .collect()
}

fn projection(index: &Props) -> anyhow::Result<aws_sdk_dynamodb::types::Projection> {
    use aws_sdk_dynamodb::types::{Projection, ProjectionType};
    let projection = index
        .get("Projection")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("index {:?} needs a Projection", index.get("IndexName")))?;
    let non_key = match projection.get("NonKeyAttributes") {
        Some(_) => Some(list_of_strings(projection, "NonKeyAttributes")?),
        None => None,
    };
    Ok(Projection::builder()
        .set_projection_type(
            projection
                .get("ProjectionType")
                .and_then(Value::as_str)
                .map(ProjectionType::from),
        )
        .set_non_key_attributes(non_key)
        .build())
}

fn dynamodb_throughput(
    value: &Value,
) -> anyhow::Result<aws_sdk_dynamodb::types::ProvisionedThroughput> {
    let units = |key: &str| {
        value
            .get(key)
            .and_then(|v| match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .ok_or_else(|| anyhow!("ProvisionedThroughput needs a number {key}"))
    };
    Ok(aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
        .read_capacity_units(units("ReadCapacityUnits")?)
        .write_capacity_units(units("WriteCapacityUnits")?)
        .build()?)
}

/// Numbers and booleans become strings, recursively (custom-resource properties).
fn stringify_scalars(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(stringify_scalars).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), stringify_scalars(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The punctuation Secrets Manager's generator draws from.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Generates a secret as CloudFormation's `GenerateSecretString` does (moto's CreateSecret does
/// not): a random password from the allowed characters, alone or put under `GenerateStringKey`
/// in the JSON of `SecretStringTemplate`.
fn generate_secret_string(spec: &Props) -> anyhow::Result<String> {
    let flag = |key: &str, default: bool| spec.get(key).and_then(truthy).unwrap_or(default);
    let length = match spec.get("PasswordLength") {
        Some(value) => int(value)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=4096).contains(n))
            .ok_or_else(|| anyhow!("PasswordLength must be 1..=4096, not {value}"))?,
        None => 32,
    };
    let excluded: Vec<char> = spec
        .get("ExcludeCharacters")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .collect();
    let mut classes: Vec<Vec<char>> = Vec::new();
    let mut add = |include: bool, chars: &str| {
        if include {
            let class: Vec<char> = chars.chars().filter(|c| !excluded.contains(c)).collect();
            if !class.is_empty() {
                classes.push(class);
            }
        }
    };
    add(
        !flag("ExcludeLowercase", false),
        "abcdefghijklmnopqrstuvwxyz",
    );
    add(
        !flag("ExcludeUppercase", false),
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    );
    add(!flag("ExcludeNumbers", false), "0123456789");
    add(!flag("ExcludePunctuation", false), PUNCTUATION);
    add(flag("IncludeSpace", false), " ");
    let alphabet: Vec<char> = classes.iter().flatten().copied().collect();
    if alphabet.is_empty() {
        bail!("GenerateSecretString excludes every character");
    }
    let require_each = flag("RequireEachIncludedType", true);
    if require_each && length < classes.len() {
        bail!(
            "PasswordLength {length} is too short to include each of the {} character types",
            classes.len()
        );
    }
    let password = loop {
        let candidate = random_string(&alphabet, length)?;
        if !require_each
            || classes
                .iter()
                .all(|class| candidate.chars().any(|c| class.contains(&c)))
        {
            break candidate;
        }
    };
    match (
        spec.get("SecretStringTemplate"),
        spec.get("GenerateStringKey").and_then(Value::as_str),
    ) {
        (Some(template), Some(key)) => {
            let mut object = match template {
                Value::String(text) => serde_json::from_str::<Value>(text)
                    .context("SecretStringTemplate is not JSON")?,
                other => other.clone(),
            };
            let map = object
                .as_object_mut()
                .ok_or_else(|| anyhow!("SecretStringTemplate must be a JSON object"))?;
            map.insert(key.to_owned(), Value::String(password));
            Ok(object.to_string())
        }
        (None, None) => Ok(password),
        _ => bail!("SecretStringTemplate and GenerateStringKey go together: set both or neither"),
    }
}

/// `length` characters drawn uniformly from `alphabet` with the operating system's CSPRNG.
fn random_string(alphabet: &[char], length: usize) -> anyhow::Result<String> {
    let mut urandom = std::fs::File::open("/dev/urandom")
        .context("cannot open /dev/urandom to generate a secret")?;
    let n = alphabet.len();
    // Rejection sampling: only bytes below the largest multiple of n keep the draw uniform.
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(length);
    let mut buffer = [0_u8; 64];
    while out.chars().count() < length {
        urandom
            .read_exact(&mut buffer)
            .context("cannot read /dev/urandom")?;
        for byte in buffer {
            let byte = usize::from(byte);
            if byte < limit && out.chars().count() < length {
                out.push(alphabet[byte % n]);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(value: Value) -> Props {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn generated_secrets_follow_the_template_and_the_rules() {
        let secret = generate_secret_string(&spec(json!({
            "SecretStringTemplate": "{\"username\": \"fixture\"}",
            "GenerateStringKey": "password",
            "PasswordLength": 24,
            "ExcludePunctuation": true
        })))
        .unwrap();
        let secret: Value = serde_json::from_str(&secret).unwrap();
        assert_eq!(secret["username"], "fixture");
        let password = secret["password"].as_str().unwrap();
        assert_eq!(password.len(), 24);
        assert!(
            password.chars().all(|c| c.is_ascii_alphanumeric()),
            "{password}"
        );
        assert!(password.chars().any(|c| c.is_ascii_digit()));
        assert!(password.chars().any(|c| c.is_ascii_uppercase()));
        assert!(password.chars().any(|c| c.is_ascii_lowercase()));
    }

    #[test]
    fn generated_secrets_default_to_32_characters_and_honour_exclusions() {
        let password = generate_secret_string(&spec(json!({
            "ExcludeCharacters": "\"@/\\",
            "ExcludeUppercase": "true"
        })))
        .unwrap();
        assert_eq!(password.chars().count(), 32);
        assert!(!password.contains(['"', '@', '/', '\\']));
        assert!(!password.chars().any(|c| c.is_ascii_uppercase()));
        let other = generate_secret_string(&spec(json!({}))).unwrap();
        assert_ne!(password, other);
    }

    #[test]
    fn generated_secrets_reject_impossible_rules() {
        assert!(
            generate_secret_string(&spec(json!({
                "ExcludeLowercase": true, "ExcludeUppercase": true,
                "ExcludeNumbers": true, "ExcludePunctuation": true
            })))
            .is_err()
        );
        assert!(generate_secret_string(&spec(json!({"PasswordLength": 2}))).is_err());
        assert!(generate_secret_string(&spec(json!({"GenerateStringKey": "password"}))).is_err());
    }

    #[test]
    fn generated_names_keep_suffixes_within_limits() {
        assert_eq!(generated_name("shop", "Queue", 80, ""), "shop-Queue");
        assert_eq!(
            generated_name("shop", "Orders", 80, ".fifo"),
            "shop-Orders.fifo"
        );
        let long = generated_name("shop-local", &"X".repeat(100), 80, ".fifo");
        assert_eq!(long.len(), 80);
        assert!(long.ends_with(".fifo"));
    }

    #[test]
    fn custom_resource_properties_are_strings() {
        assert_eq!(
            stringify_scalars(&json!({"A": 1, "B": [true, "x"], "C": {"D": 2.5}})),
            json!({"A": "1", "B": ["true", "x"], "C": {"D": "2.5"}})
        );
    }

    #[test]
    fn only_known_types_are_emulated() {
        assert!(emulated("AWS::DynamoDB::Table"));
        assert!(emulated("Custom::Greeting"));
        assert!(emulated("AWS::CloudFormation::CustomResource"));
        assert!(!emulated("AWS::IAM::Role"));
        assert!(!emulated("AWS::ApiGatewayV2::Api"));
    }

    #[test]
    fn the_skipped_resources_are_summed_up_by_type_most_first() {
        let skipped = |types: &[&str]| Stack {
            skipped: types
                .iter()
                .enumerate()
                .map(|(n, kind)| (format!("Resource{n}"), (*kind).to_owned()))
                .collect(),
            ..Stack::default()
        };
        let stack = skipped(&[
            "AWS::IAM::Role",
            "AWS::CloudWatch::Alarm",
            "AWS::Logs::LogGroup",
            "AWS::CloudWatch::Alarm",
            "AWS::IAM::Role",
            "AWS::CloudWatch::Alarm",
        ]);
        assert_eq!(
            stack.skipped_summary().unwrap(),
            "skipped 6 resources the local cloud does not emulate (AWS::CloudWatch::Alarm ×3, \
             AWS::IAM::Role ×2, AWS::Logs::LogGroup ×1); --verbose lists them"
        );
        assert_eq!(
            skipped(&["AWS::IAM::Role"]).skipped_summary().unwrap(),
            "skipped 1 resource the local cloud does not emulate (AWS::IAM::Role ×1); \
             --verbose lists them"
        );
        assert_eq!(skipped(&[]).skipped_summary(), None);
    }
}
