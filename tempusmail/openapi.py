"""The OpenAPI 3.1 description of /api/v1/, built from the URL patterns so it cannot drift
(a root module: it describes every app's API)."""

import re

from accounts.services import EDITABLE_FIELDS

ERROR = {"$ref": "#/components/schemas/Error"}
SUMMARIES = {
    "me": "Your own mailbox (personal token)",
    "domains": "Domains of the token's organization",
    "domain": "One domain",
    "domain_accounts": "Email accounts of a domain",
    "account": "One email account",
    "account_password": "Set an account's password",
    "account_deactivate": "Deactivate an account (owner)",
    "account_reactivate": "Reactivate an account (owner)",
    "account_aliases": "Aliases of an account",
    "alias": "Delete an alias",
}
BODIES = {
    ("domains", "post"): {"name": {"type": "string"}},
    ("domain", "patch"): {
        "services": {"type": "array", "items": {"type": "string"}},
        "storage_options_mb": {"type": "array", "items": {"type": "integer"}},
        "default_daily_send_limit": {"type": "integer"},
    },
    ("domain_accounts", "post"): {
        "local_part": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "password": {"type": "string", "writeOnly": True},
        "subscription": {"type": "integer", "nullable": True},
        "options": {"$ref": "#/components/schemas/AccountSettings"},
    },
    ("account", "patch"): {"$ref": "#/components/schemas/AccountSettings"},
    ("me", "patch"): {"$ref": "#/components/schemas/AccountSettings"},
    ("account_password", "post"): {"password": {"type": "string", "writeOnly": True}},
    ("account_aliases", "post"): {"address": {"type": "string"}},
}


def _openapi_path(route: str) -> tuple[str, list[str]]:
    params = re.findall(r"<int:(\w+)>", route)
    return "/api/" + re.sub(r"<int:(\w+)>", r"{\1}", route), params


def document(urlpatterns) -> dict:
    paths = {}
    for pattern in urlpatterns:
        name = pattern.name
        if name == "openapi":
            continue
        route, params = _openapi_path(str(pattern.pattern))
        view = pattern.callback
        ops = {}
        for method in view.api_methods:
            op = {
                "summary": SUMMARIES.get(name, name),
                "operationId": f"{name}_{method.lower()}",
                "security": [{"token": []}],
                "parameters": [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "integer"}}
                    for p in params
                ],
                "responses": {
                    **_success(name, method),
                    "400": {"description": "Invalid input", "content": _json(ERROR)},
                    "401": {"description": "No valid token", "content": _json(ERROR)},
                    "403": {"description": "Not allowed", "content": _json(ERROR)},
                    "404": {"description": "Not found", "content": _json(ERROR)},
                },
                "x-token-kind": view.api_kind,
            }
            body = BODIES.get((name, method.lower()))
            if body is not None:
                schema = body if "$ref" in body else {"type": "object", "properties": body}
                op["requestBody"] = {"required": True, "content": _json(schema)}
            ops[method.lower()] = op
        paths[route] = ops
    return {
        "openapi": "3.1.0",
        "info": {"title": "TempusMail API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                **SCHEMAS,
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "fields": {"type": "object"}},
                },
                "AccountSettings": {
                    "type": "object",
                    "properties": {name: {} for name in sorted(EDITABLE_FIELDS)},
                    "additionalProperties": False,
                },
            },
        },
    }


RESULTS = {
    "me": "Account",
    "domains": "Domain",
    "domain": "Domain",
    "domain_accounts": "Account",
    "account": "Account",
    "account_deactivate": "Account",
    "account_reactivate": "Account",
    "account_aliases": "Alias",
}
LISTS = {("domains", "GET"), ("domain_accounts", "GET"), ("account_aliases", "GET")}
CREATES = {("domains", "POST"), ("domain_accounts", "POST"), ("account_aliases", "POST")}


def _success(name: str, method: str) -> dict:
    if method == "DELETE":
        return {"202" if name == "account" else "204": {"description": "Deleted"}}
    schema = {"$ref": f"#/components/schemas/{RESULTS[name]}"} if name in RESULTS else None
    if schema is None:
        return {"200": {"description": "OK"}}
    if (name, method) in LISTS:
        schema = {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "page": {"type": "integer"},
                "pages": {"type": "integer"},
                "results": {"type": "array", "items": schema},
            },
        }
    code = "201" if (name, method) in CREATES else "200"
    return {code: {"description": "OK", "content": _json(schema)}}


SCHEMAS = {
    "Domain": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string", "description": "ASCII (punycode) form"},
            "display_name": {"type": "string"},
            "services": {"type": "array", "items": {"type": "string"}},
            "storage_options_mb": {"type": "array", "items": {"type": "integer"}},
            "default_daily_send_limit": {"type": "integer"},
        },
    },
    "Account": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "address": {"type": "string"},
            "domain": {"type": "integer"},
            "status": {"type": "string", "enum": ["updating", "online", "offline"]},
            "is_active": {"type": "boolean"},
            "subscription": {"type": "integer", "nullable": True},
            "payment_due": {"type": "boolean"},
        },
        "additionalProperties": True,
        "description": "Also every setting of AccountSettings.",
    },
    "Alias": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "address": {"type": "string"},
            "account": {"type": "integer"},
        },
    },
}


def _json(schema) -> dict:
    return {"application/json": {"schema": schema}}
