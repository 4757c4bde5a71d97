"""Expand a SAM template into the plain CloudFormation that AWS would deploy.

Why this exists: the local cloud must provision exactly what `sam deploy` would, without
re-implementing SAM (Globals, policy templates, event sources, HttpApi OpenAPI bodies). The
`aws-sam-translator` library is the transform AWS runs; it works offline given a region, a
placeholder S3 `CodeUri` on every function and a managed-policy map. This script prepares the
template the way `sam package` would (code → placeholder S3 URI, state-machine definition files
inlined), runs the translator, and prints the resulting CloudFormation JSON on stdout.

Nested stacks: an `AWS::Serverless::Application` (or `AWS::CloudFormation::Stack`) whose
`Location` (`TemplateURL`) is a local path is expanded the same way, recursively, and the result
is embedded in the stack resource as `NestedTemplate` (with `NestedTemplatePath`, relative to
the root template's folder), where `sam package` would upload it instead. Parameter values do not
change what the translator makes, so every template is expanded once, whatever its parent passes.

Usage: python expand.py <template.yaml> [--region R]
Exit status 1 with a readable message on stderr when the template cannot be read or translated.
"""

import argparse
import copy
import json
import os
import sys

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
PLACEHOLDER_CODE_URI = "s3://localcloud-placeholder-bucket/code.zip"


def fail(message):
    print(f"expand.py: {message}", file=sys.stderr)
    sys.exit(1)


def plain(value):
    """Turns cfn-lint's node objects (dict/str subclasses with marks) into plain JSON values."""
    return json.loads(json.dumps(value, default=str))


def load_template(path):
    from cfnlint.decode import cfn_yaml

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        fail(f"cannot read {path}: {error}")
    try:
        template = cfn_yaml.loads(text, path)
    except cfn_yaml.CfnParseError as error:
        messages = "; ".join(
            f"line {match.linenumber}: {match.message}" for match in error.matches
        )
        fail(f"{path}: {messages}")
    except Exception as error:  # YAML scanner/parser errors
        fail(f"{path}: not valid YAML/JSON: {error}")
    if not isinstance(template, dict):
        fail(f"{path}: the template is not a mapping")
    return plain(template)


def load_document(path, what):
    """Loads a JSON or YAML side file (state-machine definition, OpenAPI body)."""
    from cfnlint.decode import cfn_yaml

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        fail(f"cannot read {what} {path}: {error}")
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return plain(cfn_yaml.loads(text, path))
    except Exception as error:
        fail(f"{what} {path} is neither JSON nor YAML: {error}")


def has_sam_transform(template):
    transform = template.get("Transform")
    if isinstance(transform, list):
        return SAM_TRANSFORM in transform
    return transform == SAM_TRANSFORM


def is_local_path(value):
    return isinstance(value, str) and not value.startswith("s3://")


def prepare(template, base_dir):
    """Does what `sam package` does to local artifacts, so the translator sees S3 locations."""
    resources = template.get("Resources") or {}
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    if is_local_path(globals_function.get("CodeUri")):
        globals_function["CodeUri"] = PLACEHOLDER_CODE_URI
    if isinstance(globals_function.get("CodeUri"), dict):
        globals_function["CodeUri"] = PLACEHOLDER_CODE_URI

    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties")
        if properties is None:
            properties = resource["Properties"] = {}
        if not isinstance(properties, dict):
            continue
        if kind == "AWS::Serverless::Function":
            if properties.get("PackageType") == "Image" or "ImageUri" in properties:
                continue
            if "InlineCode" in properties:
                continue
            code_uri = properties.get("CodeUri")
            if code_uri is None or is_local_path(code_uri) or isinstance(code_uri, dict):
                # A missing CodeUri may come from Globals (already replaced) or mean "." —
                # either way the code never leaves this machine.
                if code_uri is not None or "CodeUri" not in globals_function:
                    properties["CodeUri"] = PLACEHOLDER_CODE_URI
        elif kind == "AWS::Serverless::LayerVersion":
            if is_local_path(properties.get("ContentUri")):
                properties["ContentUri"] = PLACEHOLDER_CODE_URI
        elif kind == "AWS::Serverless::StateMachine":
            uri = properties.get("DefinitionUri")
            if is_local_path(uri):
                definition_path = os.path.join(base_dir, uri)
                properties["Definition"] = load_document(
                    definition_path, f"the definition of {logical_id}"
                )
                del properties["DefinitionUri"]
        elif kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
            uri = properties.get("DefinitionUri")
            if is_local_path(uri):
                body_path = os.path.join(base_dir, uri)
                properties["DefinitionBody"] = load_document(
                    body_path, f"the OpenAPI definition of {logical_id}"
                )
                del properties["DefinitionUri"]


def nested_location(resource):
    """The local template path a nested stack names, or None (an S3 URL, a SAR application)."""
    properties = resource.get("Properties") or {}
    if resource.get("Type") == "AWS::Serverless::Application":
        location = properties.get("Location")
    elif resource.get("Type") == "AWS::CloudFormation::Stack":
        location = properties.get("TemplateURL")
    else:
        return None
    if isinstance(location, str) and not location.startswith(("s3://", "https://", "http://")):
        return location
    return None


def expand(path, region, root_dir, seen):
    """Expands the template at `path` and, recursively, the local templates it nests."""
    real = os.path.realpath(path)
    if real in seen:
        fail(f"{path} nests itself (through {' -> '.join(seen)})")
    template = load_template(path)
    base_dir = os.path.dirname(os.path.abspath(path))
    nested = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict):
            location = nested_location(resource)
            if location is not None:
                nested[logical_id] = os.path.normpath(os.path.join(base_dir, location))
    if has_sam_transform(template):
        prepare(template, base_dir)
        template = translate(template, region)
    resources = template.get("Resources") or {}
    for logical_id, child_path in nested.items():
        resource = resources.get(logical_id)
        if not isinstance(resource, dict):
            fail(f"{path}: the nested stack {logical_id} vanished in translation")
        resource["NestedTemplatePath"] = os.path.relpath(child_path, root_dir)
        resource["NestedTemplate"] = expand(child_path, region, root_dir, seen + [real])
    return template


def translate(template, region):
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ.setdefault("AWS_REGION", region)

    from samtranslator.parser.parser import Parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    original_resources = copy.deepcopy(template.get("Resources") or {})
    translator = Translator(managed_policy_map={}, sam_parser=Parser())
    try:
        output = translator.translate(
            sam_template=template,
            parameter_values={},
            get_managed_policy_map=lambda: {},
        )
    except InvalidDocumentException as error:
        causes = "\n".join(f"  - {cause.message}" for cause in error.causes)
        fail(f"{error.message}\n{causes}")
    except Exception as error:
        message = getattr(error, "message", None) or str(error)
        fail(f"the SAM translator failed: {type(error).__name__}: {message}")

    # Keep each SAM function's Metadata (BuildMethod/BuildProperties name the binary) on the
    # Lambda function it became, when the translator dropped it.
    resources = output.get("Resources") or {}
    for logical_id, original in original_resources.items():
        if not isinstance(original, dict) or "Metadata" not in original:
            continue
        if original.get("Type") != "AWS::Serverless::Function":
            continue
        generated = resources.get(logical_id)
        if isinstance(generated, dict) and generated.get("Type") == "AWS::Lambda::Function":
            generated.setdefault("Metadata", original["Metadata"])
    return output


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    args = parser.parse_args()

    root_dir = os.path.dirname(os.path.abspath(args.template))
    template = expand(args.template, args.region, root_dir, [])
    json.dump(template, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
