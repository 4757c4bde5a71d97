//! The event contracts of `schemas/events/<source>/<DetailType>.json`, as a test helper.
//!
//! Producers' unit tests check the events they build and the end-to-end tests check the events
//! that arrive on the bus, with this one function, so both sides hold to the same files. A
//! crate of its own so that neither the domain nor the adapters depend on a JSON Schema
//! validator outside their tests.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The folder of the event schemas: `schemas/events` at the repository root.
pub fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/events")
}

/// The errors of an event's `detail` against `schemas/events/<source>/<detail_type>.json`, as
/// `` `/data/product/price`: … `` lines; empty when it matches.
///
/// Every `.json` file of the source's folder is registered under its `$id`, so
/// `$ref: defs.json#/…` resolves with no network and no file resolver; formats (`date-time`)
/// are asserted, not just noted. A missing or broken schema panics: that is a bug in the
/// repository, not in the event.
pub fn errors(source: &str, detail_type: &str, detail: &Value) -> Vec<String> {
    let folder = schemas_dir().join(source);
    let read = |path: &Path| -> Value {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
    };
    let mut resources = Vec::new();
    for entry in std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("no schema folder {}: {e}", folder.display()))
    {
        let path = entry.expect("a readable directory entry").path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let schema = read(&path);
            let id = schema["$id"]
                .as_str()
                .unwrap_or_else(|| panic!("{} has no `$id`", path.display()))
                .to_owned();
            resources.push((id, schema));
        }
    }
    let registry = jsonschema::Registry::new()
        .extend(resources)
        .and_then(|builder| builder.prepare())
        .unwrap_or_else(|e| panic!("the schemas in {} do not load: {e}", folder.display()));
    let schema = read(&folder.join(format!("{detail_type}.json")));
    let validator = jsonschema::options()
        .with_registry(&registry)
        .offline()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the {detail_type} schema is invalid: {e}"));
    validator
        .iter_errors(detail)
        .map(|e| match e.instance_path().to_string() {
            root if root.is_empty() => format!("`/`: {e}"),
            at => format!("`{at}`: {e}"),
        })
        .collect()
}

/// Panics with every error when `detail` does not match its schema.
#[track_caller]
pub fn assert_valid(source: &str, detail_type: &str, detail: &Value) {
    let errors = errors(source, detail_type, detail);
    assert!(
        errors.is_empty(),
        "{detail_type} does not match its schema:\n{}\n{detail:#}",
        errors.join("\n")
    );
}
