/// The registry's OpenAPI 3 document, served at `/v1/openapi.json`. It is kept
/// in the repository as `docs/api/registry.openapi.json`; this copy is compiled
/// in so a deployed binary needs no data files. A test checks the two are equal.
enum RegistryOpenAPI {
    static let document = #"""
        {
          "openapi": "3.0.3",
          "info": {
            "title": "Weft registry API",
            "version": "1",
            "description": "Admin and discovery API of weft-registry. Every call under /v1 needs `Authorization: Bearer <token>`: the admin token, or for instance registration, heartbeats and discovery of its own service a per-service credential (wsc_…). Errors are RFC 9457 problem documents. Writes carry the new registry version in X-Weft-Index; objects carry their version as ETag and accept If-Match. Field rules: docs/protocol.md."
          },
          "servers": [
            {
              "url": "http://127.0.0.1:8500"
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
                "security": [],
                "operationId": "health",
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
                "summary": "Readiness: the state has been loaded from PostgreSQL at least once",
                "security": [],
                "operationId": "ready",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
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
                "security": [],
                "operationId": "metrics",
                "responses": {
                  "200": {
                    "description": "Prometheus text exposition",
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
                "security": [],
                "operationId": "openapi",
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
            "/v1/services": {
              "get": {
                "summary": "List services",
                "operationId": "listServices",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "Page size, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Cursor from the previous page's `next`",
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
                                "$ref": "#/components/schemas/Service"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
                "summary": "Create a service",
                "operationId": "createService",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Service"
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
                          "$ref": "#/components/schemas/Service"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "Conflicts with the stored state",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/services/{namespace}/{name}": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "name",
                  "in": "path",
                  "required": true,
                  "description": "Service or gateway name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "get": {
                "summary": "Read a service",
                "operationId": "getService",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Service"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
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
              "put": {
                "summary": "Create or update a service",
                "operationId": "putService",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Service"
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
                          "$ref": "#/components/schemas/Service"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              },
              "delete": {
                "summary": "Delete a service (refused while it has instances)",
                "operationId": "deleteService",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "Conflicts with the stored state",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/services/{namespace}/{name}/credentials": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "name",
                  "in": "path",
                  "required": true,
                  "description": "Service or gateway name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "get": {
                "summary": "List the service's credentials (never their secrets)",
                "operationId": "listCredentials",
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
                                "$ref": "#/components/schemas/Credential"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
                "summary": "Issue a credential for the service's workloads; the secret is shown once",
                "operationId": "createCredential",
                "responses": {
                  "201": {
                    "description": "Created",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Credential"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/services/{namespace}/{name}/credentials/{id}": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "name",
                  "in": "path",
                  "required": true,
                  "description": "Service or gateway name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "Credential id",
                  "schema": {
                    "type": "integer",
                    "minimum": 0
                  }
                }
              ],
              "get": {
                "summary": "Read one credential",
                "operationId": "getCredential",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Credential"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
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
                "summary": "Revoke a credential",
                "operationId": "deleteCredential",
                "responses": {
                  "204": {
                    "description": "Deleted"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/instances": {
              "get": {
                "summary": "List instances",
                "operationId": "listInstances",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "Page size, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Cursor from the previous page's `next`",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "namespace",
                    "in": "query",
                    "required": false,
                    "description": "Only this namespace",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "service",
                    "in": "query",
                    "required": false,
                    "description": "Only this service",
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
                                "$ref": "#/components/schemas/InstanceFields"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
            "/v1/instances/{namespace}/{service}/{id}": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "service",
                  "in": "path",
                  "required": true,
                  "description": "Service name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "Instance ID",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "get": {
                "summary": "Read an instance",
                "operationId": "getInstance",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/InstanceFields"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
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
              "put": {
                "summary": "Register (or re-register) an instance; starts its TTL",
                "operationId": "registerInstance",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Instance"
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
                          "$ref": "#/components/schemas/InstanceFields"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              },
              "delete": {
                "summary": "Deregister an instance",
                "operationId": "deregisterInstance",
                "responses": {
                  "204": {
                    "description": "Deregistered"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/instances/{namespace}/{service}/{id}/heartbeat": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "service",
                  "in": "path",
                  "required": true,
                  "description": "Service name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "Instance ID",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "put": {
                "summary": "Renew the instance's TTL, optionally reporting its health",
                "operationId": "heartbeat",
                "requestBody": {
                  "required": false,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Heartbeat"
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
                          "$ref": "#/components/schemas/Version"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/instances/{namespace}/{service}/{id}/maintenance": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "service",
                  "in": "path",
                  "required": true,
                  "description": "Service name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "Instance ID",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "put": {
                "summary": "Drain: put the instance in maintenance (no traffic)",
                "operationId": "enableMaintenance",
                "responses": {
                  "204": {
                    "description": "In maintenance"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              },
              "delete": {
                "summary": "End maintenance",
                "operationId": "disableMaintenance",
                "responses": {
                  "204": {
                    "description": "Back in service"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/policies": {
              "get": {
                "summary": "List traffic policies",
                "operationId": "listPolicies",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "Page size, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Cursor from the previous page's `next`",
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
                                "$ref": "#/components/schemas/TrafficPolicy"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
            "/v1/policies/{namespace}/{service}": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "service",
                  "in": "path",
                  "required": true,
                  "description": "Service name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "get": {
                "summary": "Read a service's traffic policy",
                "operationId": "getPolicy",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/TrafficPolicy"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
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
              "put": {
                "summary": "Set a service's traffic policy",
                "operationId": "putPolicy",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/TrafficPolicy"
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
                          "$ref": "#/components/schemas/TrafficPolicy"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              },
              "delete": {
                "summary": "Remove a service's traffic policy (defaults apply)",
                "operationId": "deletePolicy",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/routes/services": {
              "get": {
                "summary": "List mesh upstream (calls to this service) route tables",
                "operationId": "listServicesRoutes",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "Page size, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Cursor from the previous page's `next`",
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
                                "$ref": "#/components/schemas/RouteTableView"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
            "/v1/routes/services/{namespace}/{name}": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "name",
                  "in": "path",
                  "required": true,
                  "description": "Service or gateway name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "get": {
                "summary": "Read a mesh upstream (calls to this service) route table",
                "operationId": "getServicesRoutes",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/RouteTable"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
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
              "put": {
                "summary": "Set a mesh upstream (calls to this service) route table",
                "operationId": "putServicesRoutes",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/RouteTable"
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
                          "$ref": "#/components/schemas/RouteTable"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "The registry's route tables together would compile to more regex instructions than it allows (2,000,000); nothing was written",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              },
              "delete": {
                "summary": "Remove a mesh upstream (calls to this service) route table",
                "operationId": "deleteServicesRoutes",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/routes/gateways": {
              "get": {
                "summary": "List gateway route tables",
                "operationId": "listGatewaysRoutes",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "Page size, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Cursor from the previous page's `next`",
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
                                "$ref": "#/components/schemas/RouteTableView"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
            "/v1/routes/gateways/{namespace}/{name}": {
              "parameters": [
                {
                  "name": "namespace",
                  "in": "path",
                  "required": true,
                  "description": "Namespace (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                },
                {
                  "name": "name",
                  "in": "path",
                  "required": true,
                  "description": "Service or gateway name (RFC 1123 label)",
                  "schema": {
                    "type": "string"
                  }
                }
              ],
              "get": {
                "summary": "Read a gateway route table",
                "operationId": "getGatewaysRoutes",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/RouteTable"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
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
              "put": {
                "summary": "Set a gateway route table",
                "operationId": "putGatewaysRoutes",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/RouteTable"
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
                          "$ref": "#/components/schemas/RouteTable"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "The registry's route tables together would compile to more regex instructions than it allows (2,000,000); nothing was written",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              },
              "delete": {
                "summary": "Remove a gateway route table",
                "operationId": "deleteGatewaysRoutes",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/intentions": {
              "get": {
                "summary": "List intentions",
                "operationId": "listIntentions",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "Page size, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Cursor from the previous page's `next`",
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
                                "$ref": "#/components/schemas/IntentionView"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
                "summary": "Create an intention",
                "operationId": "createIntention",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Intention"
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
                          "$ref": "#/components/schemas/IntentionView"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "409": {
                    "description": "Conflicts with the stored state",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/intentions/{id}": {
              "parameters": [
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "Intention id",
                  "schema": {
                    "type": "integer",
                    "minimum": 0
                  }
                }
              ],
              "get": {
                "summary": "Read an intention",
                "operationId": "getIntention",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/IntentionView"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
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
                "summary": "Delete an intention",
                "operationId": "deleteIntention",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/defaults": {
              "get": {
                "summary": "Read the mesh defaults",
                "operationId": "getDefaults",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MeshDefaults"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
              "put": {
                "summary": "Set the mesh defaults",
                "operationId": "putDefaults",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/MeshDefaults"
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
                          "$ref": "#/components/schemas/MeshDefaults"
                        }
                      }
                    },
                    "headers": {
                      "ETag": {
                        "description": "The object's version; send it back in If-Match",
                        "schema": {
                          "type": "string"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              },
              "delete": {
                "summary": "Reset the mesh defaults",
                "operationId": "resetDefaults",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": false,
                    "description": "Apply only if the object is still at this version (its ETag)",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Reset"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "404": {
                    "description": "Not found",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "412": {
                    "description": "If-Match names a version that is no longer current",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/v1/audit": {
              "get": {
                "summary": "Read the audit log, oldest first",
                "operationId": "audit",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "description": "Page size, 1 to 1000 (default 100)",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000
                    }
                  },
                  {
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Entry id to start after",
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
                                "$ref": "#/components/schemas/AuditEntry"
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
                  "403": {
                    "description": "The credential does not allow this call",
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
            "/v1/discovery": {
              "post": {
                "summary": "Blocking discovery query: answers when the registry's version passes `index` or after `wait`",
                "operationId": "discover",
                "parameters": [
                  {
                    "name": "index",
                    "in": "query",
                    "required": false,
                    "description": "The version of the caller's last snapshot (0: answer at once)",
                    "schema": {
                      "type": "integer",
                      "minimum": 0
                    }
                  },
                  {
                    "name": "wait",
                    "in": "query",
                    "required": false,
                    "description": "How long to block, up to 5m (default 30s)",
                    "schema": {
                      "type": "string",
                      "description": "Duration such as 250ms, 30s, 5m, 1h30m",
                      "example": "30s"
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/DiscoveryRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "The snapshot",
                    "headers": {
                      "X-Weft-Index": {
                        "schema": {
                          "type": "integer"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/DiscoverySnapshot"
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
                  "403": {
                    "description": "The credential does not allow this call",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    }
                  },
                  "413": {
                    "description": "Body larger than 1 MiB",
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
                  "503": {
                    "description": "PostgreSQL unavailable or overloaded; retry after Retry-After seconds",
                    "content": {
                      "application/problem+json": {
                        "schema": {
                          "$ref": "#/components/schemas/Problem"
                        }
                      }
                    },
                    "headers": {
                      "Retry-After": {
                        "schema": {
                          "type": "integer"
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
              "Service": {
                "type": "object",
                "required": [
                  "name"
                ],
                "additionalProperties": false,
                "properties": {
                  "name": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "namespace": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "protocol": {
                    "type": "string",
                    "enum": [
                      "http",
                      "http2",
                      "grpc",
                      "tcp"
                    ]
                  }
                }
              },
              "ServiceReference": {
                "type": "object",
                "required": [
                  "service"
                ],
                "additionalProperties": false,
                "properties": {
                  "service": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "namespace": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  }
                }
              },
              "Instance": {
                "type": "object",
                "required": [
                  "id",
                  "service",
                  "address",
                  "port"
                ],
                "additionalProperties": false,
                "properties": {
                  "id": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9._:-]{1,128}$"
                  },
                  "service": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "namespace": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "address": {
                    "type": "string",
                    "description": "IPv4, IPv6 or DNS name"
                  },
                  "port": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 65535
                  },
                  "zone": {
                    "type": "string"
                  },
                  "labels": {
                    "type": "object",
                    "additionalProperties": {
                      "type": "string"
                    }
                  },
                  "health": {
                    "type": "string",
                    "enum": [
                      "passing",
                      "warning",
                      "critical",
                      "maintenance"
                    ]
                  },
                  "ttl": {
                    "type": "string",
                    "description": "Duration such as 250ms, 30s, 5m, 1h30m",
                    "example": "30s"
                  }
                }
              },
              "InstanceView": {
                "allOf": [
                  {
                    "$ref": "#/components/schemas/InstanceFields"
                  }
                ]
              },
              "InstanceFields": {
                "type": "object",
                "properties": {
                  "id": {
                    "type": "string"
                  },
                  "service": {
                    "type": "string"
                  },
                  "namespace": {
                    "type": "string"
                  },
                  "address": {
                    "type": "string"
                  },
                  "port": {
                    "type": "integer"
                  },
                  "zone": {
                    "type": "string"
                  },
                  "labels": {
                    "type": "object",
                    "additionalProperties": {
                      "type": "string"
                    }
                  },
                  "health": {
                    "type": "string",
                    "enum": [
                      "passing",
                      "warning",
                      "critical",
                      "maintenance"
                    ]
                  },
                  "ttl": {
                    "type": "string",
                    "description": "Duration such as 250ms, 30s, 5m, 1h30m",
                    "example": "30s"
                  },
                  "maintenance": {
                    "type": "boolean"
                  },
                  "reported_health": {
                    "type": "string",
                    "enum": [
                      "passing",
                      "warning",
                      "critical",
                      "maintenance"
                    ]
                  },
                  "registered_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "expires_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "expired_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "modify_version": {
                    "type": "integer"
                  }
                }
              },
              "Heartbeat": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "health": {
                    "type": "string",
                    "enum": [
                      "passing",
                      "warning",
                      "critical"
                    ]
                  }
                }
              },
              "TrafficPolicy": {
                "type": "object",
                "required": [
                  "service"
                ],
                "description": "See docs/protocol.md, Traffic policy",
                "properties": {
                  "service": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "namespace": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "load_balancer": {
                    "type": "object"
                  },
                  "retry_budget": {
                    "type": "object"
                  },
                  "circuit_breaker": {
                    "type": "object"
                  },
                  "outlier_detection": {
                    "type": "object"
                  },
                  "rate_limit": {
                    "type": "object"
                  },
                  "timeouts": {
                    "type": "object"
                  }
                }
              },
              "RouteTable": {
                "type": "object",
                "required": [
                  "routes"
                ],
                "additionalProperties": false,
                "description": "See docs/protocol.md, Routes",
                "properties": {
                  "routes": {
                    "type": "array",
                    "maxItems": 1000,
                    "items": {
                      "type": "object",
                      "required": [
                        "name"
                      ],
                      "properties": {
                        "name": {
                          "type": "string",
                          "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                        },
                        "match": {
                          "type": "object"
                        },
                        "destinations": {
                          "type": "array",
                          "items": {
                            "type": "object"
                          }
                        },
                        "timeout": {
                          "type": "string",
                          "description": "Duration such as 250ms, 30s, 5m, 1h30m",
                          "example": "30s"
                        },
                        "retries": {
                          "type": "object"
                        },
                        "rewrite": {
                          "type": "object",
                          "description": "path or prefix, host, set_headers, add_headers, remove_headers (request fields)"
                        },
                        "mirror": {
                          "type": "object"
                        },
                        "fault": {
                          "type": "object"
                        },
                        "sticky": {
                          "type": "object",
                          "description": "Keeps callers with the same header value on the same destination of the split",
                          "required": [
                            "header"
                          ],
                          "additionalProperties": false,
                          "properties": {
                            "header": {
                              "type": "string",
                              "example": "x-terminal-id"
                            }
                          }
                        },
                        "rate_limit": {
                          "type": "object",
                          "description": "Token buckets for the rule, per value of key_header when given: requests_per_second, burst, key_header",
                          "properties": {
                            "requests_per_second": {
                              "type": "number"
                            },
                            "burst": {
                              "type": "integer"
                            },
                            "key_header": {
                              "type": "string",
                              "example": "x-terminal-id"
                            }
                          }
                        },
                        "redirect": {
                          "type": "object",
                          "description": "Answer with a redirect: the request's URL with scheme, host, port, path or prefix replaced; strip_query; status 301, 302 (default), 303, 307 or 308",
                          "additionalProperties": false,
                          "properties": {
                            "scheme": {
                              "type": "string",
                              "enum": [
                                "http",
                                "https"
                              ]
                            },
                            "host": {
                              "type": "string"
                            },
                            "port": {
                              "type": "integer",
                              "minimum": 1,
                              "maximum": 65535
                            },
                            "path": {
                              "type": "string"
                            },
                            "prefix": {
                              "type": "string"
                            },
                            "strip_query": {
                              "type": "boolean"
                            },
                            "status": {
                              "type": "integer",
                              "enum": [
                                301,
                                302,
                                303,
                                307,
                                308
                              ]
                            }
                          }
                        },
                        "direct_response": {
                          "type": "object",
                          "description": "Answer with this response: status 200-599, a text body up to 4096 bytes, its content_type (text/plain; charset=utf-8 by default)",
                          "required": [
                            "status"
                          ],
                          "additionalProperties": false,
                          "properties": {
                            "status": {
                              "type": "integer",
                              "minimum": 200,
                              "maximum": 599
                            },
                            "body": {
                              "type": "string",
                              "maxLength": 4096
                            },
                            "content_type": {
                              "type": "string"
                            }
                          }
                        },
                        "response_headers": {
                          "type": "object",
                          "description": "Changes to the response's fields: remove, then set, then add; not connection fields, content-length, host or x-weft-*; 32 changes at most",
                          "additionalProperties": false,
                          "properties": {
                            "set": {
                              "type": "object",
                              "additionalProperties": {
                                "type": "string"
                              }
                            },
                            "add": {
                              "type": "object",
                              "additionalProperties": {
                                "type": "string"
                              }
                            },
                            "remove": {
                              "type": "array",
                              "items": {
                                "type": "string"
                              }
                            }
                          }
                        }
                      },
                      "description": "A rule forwards to destinations, or answers by itself with a redirect or a direct_response: exactly one of the three"
                    }
                  }
                }
              },
              "RouteTableView": {
                "type": "object",
                "properties": {
                  "name": {
                    "type": "string"
                  },
                  "namespace": {
                    "type": "string"
                  },
                  "routes": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  },
                  "modify_version": {
                    "type": "integer"
                  }
                }
              },
              "Intention": {
                "type": "object",
                "required": [
                  "source",
                  "destination",
                  "action"
                ],
                "additionalProperties": false,
                "properties": {
                  "source": {
                    "type": "string",
                    "description": "*, spiffe://<td>/ns/<ns>/sa/* or a SPIFFE ID"
                  },
                  "destination": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "namespace": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
                  },
                  "action": {
                    "type": "string",
                    "enum": [
                      "allow",
                      "deny"
                    ]
                  },
                  "methods": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "path": {
                    "type": "object"
                  },
                  "headers": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    },
                    "description": "Header conditions (L7), as a route match's: name plus exact, prefix, regex, present, absent or version"
                  },
                  "description": {
                    "type": "string"
                  }
                }
              },
              "IntentionView": {
                "type": "object",
                "properties": {
                  "id": {
                    "type": "integer"
                  },
                  "source": {
                    "type": "string"
                  },
                  "destination": {
                    "type": "string"
                  },
                  "namespace": {
                    "type": "string"
                  },
                  "action": {
                    "type": "string"
                  },
                  "methods": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "path": {
                    "type": "object"
                  },
                  "description": {
                    "type": "string"
                  },
                  "modify_version": {
                    "type": "integer"
                  }
                }
              },
              "MeshDefaults": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "default_action": {
                    "type": "string",
                    "enum": [
                      "allow",
                      "deny"
                    ]
                  },
                  "trust_domain": {
                    "type": "string"
                  }
                }
              },
              "Credential": {
                "type": "object",
                "required": [
                  "id",
                  "service"
                ],
                "properties": {
                  "id": {
                    "type": "integer"
                  },
                  "service": {
                    "$ref": "#/components/schemas/ServiceReference"
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "secret": {
                    "type": "string",
                    "description": "wsc_…; present only in the answer that created it"
                  }
                }
              },
              "AuditEntry": {
                "type": "object",
                "required": [
                  "id",
                  "version",
                  "at",
                  "actor",
                  "action",
                  "target"
                ],
                "properties": {
                  "id": {
                    "type": "integer"
                  },
                  "version": {
                    "type": "integer"
                  },
                  "at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "actor": {
                    "type": "string"
                  },
                  "action": {
                    "type": "string"
                  },
                  "target": {
                    "type": "string"
                  },
                  "old": {
                    "type": "string",
                    "description": "JSON before the change"
                  },
                  "new": {
                    "type": "string",
                    "description": "JSON after the change"
                  }
                }
              },
              "Version": {
                "type": "object",
                "required": [
                  "version"
                ],
                "properties": {
                  "version": {
                    "type": "integer"
                  }
                }
              },
              "DiscoveryRequest": {
                "type": "object",
                "required": [
                  "kind",
                  "service"
                ],
                "additionalProperties": false,
                "properties": {
                  "kind": {
                    "type": "string",
                    "enum": [
                      "sidecar",
                      "gateway"
                    ]
                  },
                  "service": {
                    "$ref": "#/components/schemas/ServiceReference"
                  },
                  "upstreams": {
                    "type": "array",
                    "maxItems": 256,
                    "items": {
                      "$ref": "#/components/schemas/ServiceReference"
                    }
                  }
                }
              },
              "DiscoverySnapshot": {
                "type": "object",
                "required": [
                  "version",
                  "generated_at"
                ],
                "description": "See docs/protocol.md, Discovery",
                "properties": {
                  "version": {
                    "type": "integer"
                  },
                  "generated_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "defaults": {
                    "$ref": "#/components/schemas/MeshDefaults"
                  },
                  "upstreams": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  },
                  "inbound_intentions": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  },
                  "gateway_routes": {
                    "type": "object"
                  },
                  "inbound_policy": {
                    "type": "object",
                    "description": "The asking sidecar's own service's traffic policy (its inbound rate limit), when set"
                  }
                }
              }
            }
          }
        }
        """#
}
