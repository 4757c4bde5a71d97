"""Schemathesis hooks of the fuzz run (tests/tests/e2e/fuzz.rs, tests/fuzz/schemathesis.toml).

openapi.yaml states every rule a function checks on the shape of a request, so a request valid
by the document is accepted, except where the rule depends on something JSON Schema cannot see:
another field of the same request, the data already stored, or a secret. Those rules are written
in the document's prose, and this file lists them, each matched by operation, field and message
of the 400 that the function answers. A schema-valid request refused for one of these reasons,
and for nothing else, is not a failure; anything else still is.
"""

import json

import schemathesis

# (operationId, field, start of the message) for each rule the document states in prose only.
# A field ending in "." matches every field under it (`variants[0].sku` for "variants[").
RULES_SCHEMAS_CANNOT_STATE = [
    # Signed cursors: a token of the documented shape that this API did not issue.
    ("listProducts", "nextToken", "is not a token this API issued"),
    ("listBrands", "nextToken", "is not a token this API issued"),
    ("listSellerProducts", "nextToken", "is not a token this API issued"),
    # A relation between two parameters.
    ("listProducts", "minPrice", "must not be greater than maxPrice"),
    # Secrets the fuzzer cannot know: the caller's password, the emailed one-time tokens.
    ("changePassword", "currentPassword", "is wrong"),
    ("verifyEmail", "token", "is invalid, used or expired"),
    ("resetPassword", "token", "is invalid, used or expired"),
    # A password may not be the account's email.
    ("register", "password", "must not be the email address"),
    ("changePassword", "newPassword", "must not be the email address"),
    ("resetPassword", "newPassword", "must not be the email address"),
    # The stored product: its seller, the status changes it allows, attributes merged by a patch.
    ("replaceProduct", "sellerId", "cannot be changed"),
    ("replaceProduct", "status", "cannot change from"),
    ("patchProduct", "status", "cannot change from"),
    ("patchProduct", "attributes", "must have at most 50 entries"),
    # SKUs unique within a product, case-insensitively (`uniqueItems` compares whole objects).
    ("createProduct", "variants[", "duplicates variants["),
    ("replaceProduct", "variants[", "duplicates variants["),
    ("patchProduct", "variants[", "duplicates variants["),
    # The whole product's JSON size (102,400 bytes), a sum over every field.
    ("createProduct", "body", "the product is"),
    ("replaceProduct", "body", "the product is"),
    ("patchProduct", "body", "the product is"),
    # The stored category tree: not itself, no cycle, at most five levels.
    ("createCategory", "parentId", "would make the category tree"),
    ("replaceCategory", "parentId", "cannot be the category itself"),
    ("replaceCategory", "parentId", "would create a cycle"),
    ("replaceCategory", "parentId", "would make the category tree"),
    # Discounts: rules between fields (code and automatic, value and type, currency and the
    # amounts, the dates' order).
    ("createDiscount", "code", "is required unless the discount is automatic"),
    ("createDiscount", "code", "must be absent for an automatic campaign"),
    ("createDiscount", "value", "must be a percentage from 1 to 100"),
    ("createDiscount", "currency", "is required for a fixed discount"),
    ("createDiscount", "currency", "is required when minSubtotal or maxDiscount is given"),
    ("createDiscount", "endsAt", "must be after startsAt"),
    ("replaceDiscount", "code", "is required unless the discount is automatic"),
    ("replaceDiscount", "code", "must be absent for an automatic campaign"),
    ("replaceDiscount", "value", "must be a percentage from 1 to 100"),
    ("replaceDiscount", "currency", "is required for a fixed discount"),
    ("replaceDiscount", "currency", "is required when minSubtotal or maxDiscount is given"),
    ("replaceDiscount", "endsAt", "must be after startsAt"),
]

# The functions read JSON integers as integers: `711.0` is refused ("invalid type: floating
# point"), although JSON Schema counts it as an integer. The document says so in prose.
FLOAT_FOR_INTEGER = "invalid type: floating point `"

# Emails: the pattern states the shape; the lengths (at most 64 characters before the `@`, 254
# in all) are stated in prose, since a regular expression without look-ahead cannot bound a
# dotted local part.
EMAIL_OPERATIONS = {"register", "verifyEmail", "resendVerification", "login", "forgotPassword", "resetPassword"}


def _email_too_long(case):
    body = case.body if isinstance(case.body, dict) else {}
    email = body.get("email")
    if not isinstance(email, str):
        return False
    email = email.strip().lower()
    local = email.split("@", 1)[0]
    return len(local.encode()) > 64 or len(email) > 254


def _matches_a_rule(operation_id, detail, case):
    field, message = detail.get("field", ""), detail.get("message", "")
    if message.startswith(FLOAT_FOR_INTEGER):
        return True
    if operation_id in EMAIL_OPERATIONS and field == "email" and _email_too_long(case):
        return True
    for rule_operation, rule_field, rule_message in RULES_SCHEMAS_CANNOT_STATE:
        if rule_operation != operation_id or not message.startswith(rule_message):
            continue
        if field == rule_field or (rule_field.endswith("[") and field.startswith(rule_field)):
            return True
    return False


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but a schema-valid request refused only by the rules above."""
    if failure.code != "ST202" or response is None or response.status_code != 400:
        return True
    try:
        body = json.loads(response.content)
    except ValueError:
        return True
    details = body.get("details") if isinstance(body, dict) else None
    if body.get("error") != "ValidationError" or not details:
        return True
    operation_id = case.operation.definition.raw.get("operationId")
    return not all(_matches_a_rule(operation_id, detail, case) for detail in details)
