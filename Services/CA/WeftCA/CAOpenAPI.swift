/// The CA's OpenAPI 3 document, served at `/v1/openapi.json`. Generated with
/// docs/api/ca.openapi.json by scripts/ca-openapi.py; compiled in so a deployed
/// binary needs no data files. A test checks the two are equal.
enum CAOpenAPI {
    static let document = #"""
        {
          "openapi": "3.0.3",
          "info": {
            "title": "Weft CA API",
            "version": "1",
            "description": "API of weft-ca, served over TLS only (the CA's serving certificate chains to the anchors in <data-dir>/trust-bundle.pem and in /v1/bundle). Workloads call /v1/certificates/sign: with a join token for a first certificate, or presenting their current certificate over mutual TLS to renew it. /v1/bundle is public. Every other call under /v1 needs `Authorization: Bearer <admin token>`. Errors are RFC 9457 problem documents. Field rules: docs/protocol.md."
          },
          "servers": [
            {
              "url": "https://127.0.0.1:8600"
            }
          ],
          "security": [
            {
              "bearer": []
            }
          ],
          "paths": {
            "/healthz": {
              "get": {
                "summary": "Liveness",
                "operationId": "health",
                "security": [],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/readyz": {
              "get": {
                "summary": "Readiness: the replica holds the active root's key",
                "operationId": "ready",
                "security": [],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Unknown query parameter",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "Not ready",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/metrics": {
              "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Prometheus text format",
                    "content": {
                      "text/plain": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/openapi.json": {
              "get": {
                "summary": "This document",
                "operationId": "openAPI",
                "security": [],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/bundle": {
              "get": {
                "summary": "The trust bundle: the roots to trust and the serials revoked before expiry",
                "description": "The bundle's version is its ETag; poll with If-None-Match to get 304 until it changes.",
                "operationId": "getBundle",
                "security": [],
                "parameters": [
                  {
                    "name": "If-None-Match",
                    "in": "header",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/TrustBundle"
                        }
                      }
                    }
                  },
                  "304": {
                    "description": "Not modified"
                  },
                  "400": {
                    "description": "Unknown query parameter",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/certificates/sign": {
              "post": {
                "summary": "Sign a workload's CSR",
                "description": "With `join_token`: a first certificate for the token's identity (uses one of its uses). Without: a renewal for the identity of the client certificate presented over mutual TLS. The CSR must name exactly that SPIFFE ID as its only URI SAN; EC P-256 or RSA 2048 to 8192 keys.",
                "operationId": "sign",
                "security": [],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/SigningRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/SigningResponse"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid CSR, bad signature, or unsupported key",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "The join token or the certificate presented cannot be used",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "403": {
                    "description": "The CSR asks for another identity",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body too large",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "415": {
                    "description": "Body is not JSON",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "429": {
                    "description": "Too many signing requests from this address (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/certificates": {
              "get": {
                "summary": "The ledger: every issued certificate, by serial",
                "operationId": "listCertificates",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "description": "Items per page, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "description": "The `next` cursor of the previous page",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "identity",
                    "in": "query",
                    "description": "Only this SPIFFE ID's certificates",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": [
                            "items"
                          ],
                          "properties": {
                            "items": {
                              "type": "array",
                              "items": {
                                "$ref": "#/components/schemas/Certificate"
                              }
                            },
                            "next": {
                              "type": "string"
                            }
                          }
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/certificates/{serial}": {
              "parameters": [
                {
                  "name": "serial",
                  "in": "path",
                  "required": true,
                  "description": "Certificate serial in hex (1 to 40 digits; `:` separators and upper case accepted)",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "get": {
                "summary": "One ledger entry",
                "operationId": "getCertificate",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Certificate"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No such serial",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/certificates/{serial}/revoke": {
              "parameters": [
                {
                  "name": "serial",
                  "in": "path",
                  "required": true,
                  "description": "Certificate serial in hex (1 to 40 digits; `:` separators and upper case accepted)",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "post": {
                "summary": "Revoke a certificate; it is listed in the bundle until it expires",
                "operationId": "revokeCertificate",
                "requestBody": {
                  "required": false,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Revocation"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Certificate"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No such serial",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "The bundle's revocation list is full",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body too large",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "415": {
                    "description": "Body is not JSON",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/join-tokens": {
              "get": {
                "summary": "List join tokens (never their secrets)",
                "operationId": "listJoinTokens",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "description": "Items per page, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "description": "The `next` cursor of the previous page",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": [
                            "items"
                          ],
                          "properties": {
                            "items": {
                              "type": "array",
                              "items": {
                                "$ref": "#/components/schemas/JoinToken"
                              }
                            },
                            "next": {
                              "type": "string"
                            }
                          }
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              },
              "post": {
                "summary": "Create a join token for one identity; the secret is shown once",
                "operationId": "createJoinToken",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/JoinTokenRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/JoinTokenCreated"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body too large",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "415": {
                    "description": "Body is not JSON",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/join-tokens/{id}": {
              "parameters": [
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "get": {
                "summary": "One join token",
                "operationId": "getJoinToken",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/JoinToken"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No such token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              },
              "delete": {
                "summary": "Revoke a join token (it stays listed with revoked_at)",
                "operationId": "revokeJoinToken",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/JoinToken"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No such token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/roots": {
              "get": {
                "summary": "Root generations and their states",
                "operationId": "listRoots",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": [
                            "items"
                          ],
                          "properties": {
                            "items": {
                              "type": "array",
                              "items": {
                                "$ref": "#/components/schemas/Root"
                              }
                            },
                            "next": {
                              "type": "string"
                            }
                          }
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              },
              "post": {
                "summary": "Introduce a new root generation (published: trusted, not signing yet)",
                "operationId": "introduceRoot",
                "responses": {
                  "201": {
                    "description": "Created",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Root"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/roots/{generation}": {
              "parameters": [
                {
                  "name": "generation",
                  "in": "path",
                  "required": true,
                  "description": "Root generation number (1 to 9999)",
                  "schema": {
                    "type": "integer"
                  }
                }
              ],
              "get": {
                "summary": "One root generation",
                "operationId": "getRoot",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Root"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No such generation",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/roots/{generation}/activate": {
              "parameters": [
                {
                  "name": "generation",
                  "in": "path",
                  "required": true,
                  "description": "Root generation number (1 to 9999)",
                  "schema": {
                    "type": "integer"
                  }
                }
              ],
              "post": {
                "summary": "Make a published generation the signing one (after --root-propagation in the bundle)",
                "operationId": "activateRoot",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Root"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No such generation",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "Retired, or not in the bundle long enough yet",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/roots/{generation}/retire": {
              "parameters": [
                {
                  "name": "generation",
                  "in": "path",
                  "required": true,
                  "description": "Root generation number (1 to 9999)",
                  "schema": {
                    "type": "integer"
                  }
                }
              ],
              "post": {
                "summary": "Take a generation out of the bundle once every certificate it signed has expired",
                "operationId": "retireRoot",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Root"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "No such generation",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "Active, or certificates it signed are still valid",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "Invalid request (field path and reason in `errors`)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "Missing or wrong bearer token",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL is unavailable; nothing was written (Retry-After)",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  }
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "bearer": {
                "type": "http",
                "scheme": "bearer"
              }
            },
            "schemas": {
              "Problem": {
                "type": "object",
                "required": [
                  "type",
                  "title",
                  "status"
                ],
                "properties": {
                  "type": {
                    "type": "string"
                  },
                  "title": {
                    "type": "string"
                  },
                  "status": {
                    "type": "integer"
                  },
                  "detail": {
                    "type": "string"
                  },
                  "instance": {
                    "type": "string"
                  },
                  "errors": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "properties": {
                        "field": {
                          "type": "string"
                        },
                        "reason": {
                          "type": "string"
                        }
                      }
                    }
                  }
                }
              },
              "TrustBundle": {
                "type": "object",
                "required": [
                  "trust_domain",
                  "version",
                  "roots",
                  "revoked_serials"
                ],
                "properties": {
                  "trust_domain": {
                    "type": "string"
                  },
                  "version": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "roots": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 16,
                    "items": {
                      "type": "string",
                      "description": "PEM certificate"
                    }
                  },
                  "revoked_serials": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  }
                }
              },
              "SigningRequest": {
                "type": "object",
                "required": [
                  "csr"
                ],
                "additionalProperties": false,
                "properties": {
                  "csr": {
                    "type": "string",
                    "description": "One PEM CERTIFICATE REQUEST block"
                  },
                  "join_token": {
                    "type": "string",
                    "description": "wjt_\u2026 (first certificate)"
                  }
                }
              },
              "SigningResponse": {
                "type": "object",
                "required": [
                  "chain",
                  "identity",
                  "serial",
                  "not_before",
                  "not_after"
                ],
                "properties": {
                  "chain": {
                    "type": "string",
                    "description": "PEM, leaf first"
                  },
                  "identity": {
                    "type": "string"
                  },
                  "serial": {
                    "type": "string"
                  },
                  "not_before": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  },
                  "not_after": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  }
                }
              },
              "Certificate": {
                "type": "object",
                "required": [
                  "serial",
                  "identity",
                  "not_before",
                  "not_after",
                  "issuer_generation",
                  "via"
                ],
                "properties": {
                  "serial": {
                    "type": "string"
                  },
                  "identity": {
                    "type": "string"
                  },
                  "not_before": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  },
                  "not_after": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  },
                  "issuer_generation": {
                    "type": "integer"
                  },
                  "issued_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  },
                  "via": {
                    "type": "string",
                    "enum": [
                      "join-token",
                      "renewal"
                    ]
                  },
                  "join_token_id": {
                    "type": "string",
                    "nullable": true
                  },
                  "renewed_serial": {
                    "type": "string",
                    "nullable": true
                  },
                  "revoked_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC",
                    "nullable": true
                  },
                  "revocation_reason": {
                    "type": "string",
                    "nullable": true
                  }
                }
              },
              "Revocation": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "reason": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200
                  }
                }
              },
              "JoinTokenRequest": {
                "type": "object",
                "required": [
                  "identity"
                ],
                "additionalProperties": false,
                "properties": {
                  "identity": {
                    "type": "string",
                    "description": "spiffe://<trust-domain>/ns/<namespace>/sa/<service>"
                  },
                  "ttl": {
                    "type": "string",
                    "description": "1m to 30d (default 1h), e.g. 15m"
                  },
                  "max_uses": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 1000
                  }
                }
              },
              "JoinToken": {
                "type": "object",
                "required": [
                  "id",
                  "identity",
                  "created_at",
                  "expires_at",
                  "max_uses",
                  "uses"
                ],
                "properties": {
                  "id": {
                    "type": "string"
                  },
                  "identity": {
                    "type": "string"
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  },
                  "expires_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  },
                  "max_uses": {
                    "type": "integer"
                  },
                  "uses": {
                    "type": "integer"
                  },
                  "revoked_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  }
                }
              },
              "JoinTokenCreated": {
                "type": "object",
                "required": [
                  "token",
                  "secret"
                ],
                "properties": {
                  "token": {
                    "$ref": "#/components/schemas/JoinToken"
                  },
                  "secret": {
                    "type": "string",
                    "description": "wjt_\u2026, shown once"
                  }
                }
              },
              "Root": {
                "type": "object",
                "required": [
                  "generation",
                  "state",
                  "certificate",
                  "authority",
                  "created_at"
                ],
                "properties": {
                  "generation": {
                    "type": "integer"
                  },
                  "state": {
                    "type": "string",
                    "enum": [
                      "published",
                      "active",
                      "retired"
                    ]
                  },
                  "certificate": {
                    "type": "string",
                    "description": "The anchor proxies trust (PEM)"
                  },
                  "authority": {
                    "type": "string",
                    "description": "The signing certificate (PEM)"
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC"
                  },
                  "activated_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC",
                    "nullable": true
                  },
                  "retired_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, UTC",
                    "nullable": true
                  }
                }
              }
            }
          }
        }
        """#
}
