#!/usr/bin/env python3
"""Writes docs/api/ca.openapi.json (the CA's OpenAPI 3 document) and its
compiled-in copy Services/CA/WeftCA/CAOpenAPI.swift. Edit here, run, commit
both; a test checks the served document equals the file."""
import json, os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

def problem(description):
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}

def ok(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}

def ref(name):
    return {"$ref": "#/components/schemas/" + name}

def listing(item):
    return {"type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": ref(item)}, "next": {"type": "string"}}}

admin_errors = {"400": problem("Invalid request (field path and reason in `errors`)"),
                "401": problem("Missing or wrong bearer token")}
unavailable = {"503": problem("PostgreSQL is unavailable; nothing was written (Retry-After)")}
page_parameters = [
    {"name": "limit", "in": "query", "description": "Items per page, 1 to 1000 (default 100)",
     "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    {"name": "after", "in": "query", "description": "The `next` cursor of the previous page",
     "schema": {"type": "string"}}]
serial = {"name": "serial", "in": "path", "required": True,
          "description": "Certificate serial in hex (1 to 40 digits; `:` separators and upper case accepted)",
          "schema": {"type": "string"}}
generation = {"name": "generation", "in": "path", "required": True,
              "description": "Root generation number (1 to 9999)", "schema": {"type": "integer"}}
timestamp = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC"}
nullable_timestamp = dict(timestamp, nullable=True)

document = {
    "openapi": "3.0.3",
    "info": {
        "title": "Weft CA API",
        "version": "1",
        "description": (
            "API of weft-ca, served over TLS only (the CA's serving certificate chains to the anchors in "
            "<data-dir>/trust-bundle.pem and in /v1/bundle). Workloads call /v1/certificates/sign: with a "
            "join token for a first certificate, or presenting their current certificate over mutual TLS "
            "to renew it. /v1/bundle is public. Every other call under /v1 needs `Authorization: Bearer "
            "<admin token>`. Errors are RFC 9457 problem documents. Field rules: docs/protocol.md.")},
    "servers": [{"url": "https://127.0.0.1:8600"}],
    "security": [{"bearer": []}],
    "paths": {
        "/healthz": {"get": {"summary": "Liveness", "operationId": "health", "security": [],
                             "responses": {"200": ok({"type": "object"})}}},
        "/readyz": {"get": {"summary": "Readiness: the replica holds the active root's key",
                            "operationId": "ready", "security": [],
                            "responses": {"200": ok({"type": "object"}), "400": problem("Unknown query parameter"),
                                          "503": problem("Not ready")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics", "security": [],
                             "responses": {"200": {"description": "Prometheus text format",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/v1/openapi.json": {"get": {"summary": "This document", "operationId": "openAPI", "security": [],
                                     "responses": {"200": ok({"type": "object"})}}},
        "/v1/bundle": {"get": {
            "summary": "The trust bundle: the roots to trust and the serials revoked before expiry",
            "description": "The bundle's version is its ETag; poll with If-None-Match to get 304 until it changes.",
            "operationId": "getBundle", "security": [],
            "parameters": [{"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
            "responses": {"200": ok(ref("TrustBundle")), "304": {"description": "Not modified"},
                          "400": problem("Unknown query parameter")}}},
        "/v1/certificates/sign": {"post": {
            "summary": "Sign a workload's CSR",
            "description": ("With `join_token`: a first certificate for the token's identity (uses one of its "
                            "uses). Without: a renewal for the identity of the client certificate presented "
                            "over mutual TLS. The CSR must name exactly that SPIFFE ID as its only URI SAN; "
                            "EC P-256 or RSA 2048 to 8192 keys."),
            "operationId": "sign", "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("SigningRequest")}}},
            "responses": {"200": ok(ref("SigningResponse")),
                          "400": problem("Invalid CSR, bad signature, or unsupported key"),
                          "401": problem("The join token or the certificate presented cannot be used"),
                          "403": problem("The CSR asks for another identity"),
                          "413": problem("Body too large"), "415": problem("Body is not JSON"),
                          "429": problem("Too many signing requests from this address (Retry-After)"),
                          "503": problem("PostgreSQL is unavailable (Retry-After)")}}},
        "/v1/certificates": {"get": {
            "summary": "The ledger: every issued certificate, by serial", "operationId": "listCertificates",
            "parameters": page_parameters + [{"name": "identity", "in": "query",
                                              "description": "Only this SPIFFE ID's certificates",
                                              "schema": {"type": "string"}}],
            "responses": dict({"200": ok(listing("Certificate"))}, **admin_errors, **unavailable)}},
        "/v1/certificates/{serial}": {"parameters": [serial], "get": {
            "summary": "One ledger entry", "operationId": "getCertificate",
            "responses": dict({"200": ok(ref("Certificate")), "404": problem("No such serial")},
                              **admin_errors, **unavailable)}},
        "/v1/certificates/{serial}/revoke": {"parameters": [serial], "post": {
            "summary": "Revoke a certificate; it is listed in the bundle until it expires",
            "operationId": "revokeCertificate",
            "requestBody": {"required": False, "content": {"application/json": {"schema": ref("Revocation")}}},
            "responses": dict({"200": ok(ref("Certificate")), "404": problem("No such serial"),
                               "409": problem("The bundle's revocation list is full"),
                               "413": problem("Body too large"), "415": problem("Body is not JSON")},
                              **admin_errors, **unavailable)}},
        "/v1/join-tokens": {
            "get": {"summary": "List join tokens (never their secrets)", "operationId": "listJoinTokens",
                    "parameters": page_parameters,
                    "responses": dict({"200": ok(listing("JoinToken"))}, **admin_errors, **unavailable)},
            "post": {"summary": "Create a join token for one identity; the secret is shown once",
                     "operationId": "createJoinToken",
                     "requestBody": {"required": True,
                                     "content": {"application/json": {"schema": ref("JoinTokenRequest")}}},
                     "responses": dict({"201": ok(ref("JoinTokenCreated"), "Created"),
                                        "413": problem("Body too large"), "415": problem("Body is not JSON")},
                                       **admin_errors, **unavailable)}},
        "/v1/join-tokens/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"summary": "One join token", "operationId": "getJoinToken",
                    "responses": dict({"200": ok(ref("JoinToken")), "404": problem("No such token")},
                                      **admin_errors, **unavailable)},
            "delete": {"summary": "Revoke a join token (it stays listed with revoked_at)",
                       "operationId": "revokeJoinToken",
                       "responses": dict({"200": ok(ref("JoinToken")), "404": problem("No such token")},
                                         **admin_errors, **unavailable)}},
        "/v1/roots": {
            "get": {"summary": "Root generations and their states", "operationId": "listRoots",
                    "responses": dict({"200": ok(listing("Root"))}, **admin_errors)},
            "post": {"summary": "Introduce a new root generation (published: trusted, not signing yet)",
                     "operationId": "introduceRoot",
                     "responses": dict({"201": ok(ref("Root"), "Created")}, **admin_errors, **unavailable)}},
        "/v1/roots/{generation}": {"parameters": [generation], "get": {
            "summary": "One root generation", "operationId": "getRoot",
            "responses": dict({"200": ok(ref("Root")), "404": problem("No such generation")}, **admin_errors)}},
        "/v1/roots/{generation}/activate": {"parameters": [generation], "post": {
            "summary": "Make a published generation the signing one (after --root-propagation in the bundle)",
            "operationId": "activateRoot",
            "responses": dict({"200": ok(ref("Root")), "404": problem("No such generation"),
                               "409": problem("Retired, or not in the bundle long enough yet")},
                              **admin_errors, **unavailable)}},
        "/v1/roots/{generation}/retire": {"parameters": [generation], "post": {
            "summary": "Take a generation out of the bundle once every certificate it signed has expired",
            "operationId": "retireRoot",
            "responses": dict({"200": ok(ref("Root")), "404": problem("No such generation"),
                               "409": problem("Active, or certificates it signed are still valid")},
                              **admin_errors, **unavailable)}},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "instance": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "reason": {"type": "string"}}}}}},
            "TrustBundle": {"type": "object", "required": ["trust_domain", "version", "roots", "revoked_serials"],
                            "properties": {
                                "trust_domain": {"type": "string"},
                                "version": {"type": "integer", "minimum": 0},
                                "roots": {"type": "array", "minItems": 1, "maxItems": 16,
                                          "items": {"type": "string", "description": "PEM certificate"}},
                                "revoked_serials": {"type": "array", "items": {"type": "string"}}}},
            "SigningRequest": {"type": "object", "required": ["csr"], "additionalProperties": False,
                               "properties": {
                                   "csr": {"type": "string",
                                           "description": "One PEM CERTIFICATE REQUEST block"},
                                   "join_token": {"type": "string", "description": "wjt_… (first certificate)"}}},
            "SigningResponse": {"type": "object",
                                "required": ["chain", "identity", "serial", "not_before", "not_after"],
                                "properties": {
                                    "chain": {"type": "string", "description": "PEM, leaf first"},
                                    "identity": {"type": "string"}, "serial": {"type": "string"},
                                    "not_before": timestamp, "not_after": timestamp}},
            "Certificate": {"type": "object",
                            "required": ["serial", "identity", "not_before", "not_after", "issuer_generation",
                                         "via"],
                            "properties": {
                                "serial": {"type": "string"}, "identity": {"type": "string"},
                                "not_before": timestamp, "not_after": timestamp,
                                "issuer_generation": {"type": "integer"}, "issued_at": timestamp,
                                "via": {"type": "string", "enum": ["join-token", "renewal"]},
                                "join_token_id": {"type": "string", "nullable": True},
                                "renewed_serial": {"type": "string", "nullable": True},
                                "revoked_at": nullable_timestamp,
                                "revocation_reason": {"type": "string", "nullable": True}}},
            "Revocation": {"type": "object", "additionalProperties": False, "properties": {
                "reason": {"type": "string", "minLength": 1, "maxLength": 200}}},
            "JoinTokenRequest": {"type": "object", "required": ["identity"], "additionalProperties": False,
                                 "properties": {
                                     "identity": {"type": "string",
                                                  "description": "spiffe://<trust-domain>/ns/<namespace>/sa/<service>"},
                                     "ttl": {"type": "string", "description": "1m to 30d (default 1h), e.g. 15m"},
                                     "max_uses": {"type": "integer", "minimum": 1, "maximum": 1000}}},
            "JoinToken": {"type": "object",
                          "required": ["id", "identity", "created_at", "expires_at", "max_uses", "uses"],
                          "properties": {
                              "id": {"type": "string"}, "identity": {"type": "string"},
                              "created_at": timestamp, "expires_at": timestamp,
                              "max_uses": {"type": "integer"}, "uses": {"type": "integer"},
                              "revoked_at": timestamp}},
            "JoinTokenCreated": {"type": "object", "required": ["token", "secret"], "properties": {
                "token": ref("JoinToken"), "secret": {"type": "string", "description": "wjt_…, shown once"}}},
            "Root": {"type": "object",
                     "required": ["generation", "state", "certificate", "authority", "created_at"],
                     "properties": {
                         "generation": {"type": "integer"},
                         "state": {"type": "string", "enum": ["published", "active", "retired"]},
                         "certificate": {"type": "string", "description": "The anchor proxies trust (PEM)"},
                         "authority": {"type": "string", "description": "The signing certificate (PEM)"},
                         "created_at": timestamp, "activated_at": nullable_timestamp,
                         "retired_at": nullable_timestamp}},
        },
    },
}

text = json.dumps(document, indent=2, ensure_ascii=True) + "\n"
with open(os.path.join(root, "docs/api/ca.openapi.json"), "w") as f:
    f.write(text)
with open(os.path.join(root, "Services/CA/WeftCA/CAOpenAPI.swift"), "w") as f:
    f.write("/// The CA's OpenAPI 3 document, served at `/v1/openapi.json`. Generated with\n"
            "/// docs/api/ca.openapi.json by scripts/ca-openapi.py; compiled in so a deployed\n"
            "/// binary needs no data files. A test checks the two are equal.\n"
            "enum CAOpenAPI {\n    static let document = #\"\"\"\n")
    for line in text.rstrip("\n").split("\n"):
        f.write(("        " + line).rstrip() + "\n")
    f.write("        \"\"\"#\n}\n")
