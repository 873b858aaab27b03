"""The OpenAPI document (docs/openapi.yaml, served at /api/v1/openapi.json) against the real
server: it is public and cacheable, it lists exactly the routes the router has (both ways,
path templates compared as written) with the access each route declares, every operation
has an operationId and responses, every $ref resolves, and the served JSON is what the YAML
file says (when PyYAML is installed; scripts/setup.sh installs python3-yaml)."""

import json
import os
import re
import unittest

from harness import ADMIN_PASSWORD, Server

try:
    import yaml
except ImportError:  # pragma: no cover - python3-yaml is in scripts/setup.sh
    yaml = None

DOC_PATH = os.path.join(os.path.dirname(__file__), "../../docs/openapi.yaml")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The router's tail parameter `{name...}` (the rest of the path) has no OpenAPI spelling: it
# is documented as `{name}` whose path parameter carries `x-argus-tail: true`.
TAIL = re.compile(r"\{([^{}]+)\.\.\.\}")


def operations(doc):
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError(f"not a local reference: {ref}")
    node = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[token]  # KeyError when it does not resolve
    return node


def refs(node, where=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from refs(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs(v, f"{where}/{i}")


JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def schema_errors(doc, schema, value, where="$"):
    """The ways `value` breaks `schema`, for the keywords this document uses: $ref, allOf,
    oneOf, not, type, const, enum, required, properties, items, additionalProperties: false,
    minimum, maximum. (A small checker: python3-jsonschema is not a dependency.)"""
    if "$ref" in schema:
        return schema_errors(doc, resolve(doc, schema["$ref"]), value, where)
    errors = []
    for sub in schema.get("allOf", []):
        errors += schema_errors(doc, sub, value, where)
    if "oneOf" in schema:
        matching = [sub for sub in schema["oneOf"] if not schema_errors(doc, sub, value, where)]
        if len(matching) != 1:
            errors.append(f"{where}: matches {len(matching)} of the oneOf schemas")
    if "not" in schema and not schema_errors(doc, schema["not"], value, where):
        errors.append(f"{where}: matches the `not` schema")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any((t == "integer" and isinstance(value, int) and not isinstance(value, bool)) or
                 (t == "number" and isinstance(value, (int, float)) and not isinstance(value, bool)) or
                 (t in JSON_TYPES and isinstance(value, JSON_TYPES[t])) for t in types)
        if not ok:
            return errors + [f"{where}: {value!r:.60} is not {'/'.join(types)}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r:.60} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r:.60} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing {name}")
        props = schema.get("properties", {})
        for name, v in value.items():
            if name in props:
                errors += schema_errors(doc, props[name], v, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected member {name}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            errors += schema_errors(doc, schema["items"], v, f"{where}[{i}]")
    return errors


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        status, hdrs, body = cls.server.request("GET", "/api/v1/openapi.json", auth=False)
        cls.status, cls.headers, cls.body = status, hdrs, body
        cls.doc = json.loads(body) if status == 200 else None
        _, _, routes = cls.server.json("GET", "/api/v1/system/routes")
        cls.routes = routes["items"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_served_without_credentials_and_cacheable(self):
        self.assertEqual(self.status, 200, self.body[:300])
        self.assertTrue(self.headers["content-type"].startswith("application/json"))
        self.assertEqual(self.doc["openapi"], "3.1.0")
        etag = self.headers["etag"]
        self.assertIn("public", self.headers["cache-control"])
        status, hdrs, body = self.server.request("GET", "/api/v1/openapi.json", headers={"If-None-Match": etag},
                                                 auth=False)
        self.assertEqual(status, 304)
        self.assertEqual(hdrs["etag"], etag)
        self.assertEqual(body, b"")
        # The same bytes every time, and HEAD answers like GET without the body.
        _, _, again = self.server.request("GET", "/api/v1/openapi.json", auth=False)
        self.assertEqual(again, self.body)
        status, hdrs, body = self.server.request("HEAD", "/api/v1/openapi.json", auth=False)
        self.assertEqual((status, hdrs["etag"], body), (200, etag, b""))

    def test_version_is_the_servers(self):
        _, _, info = self.server.json("GET", "/api/v1/system/info")
        self.assertEqual(self.doc["info"]["version"], info["version"])

    def test_documents_exactly_the_routers_routes(self):
        router = {}
        tails = set()
        for r in self.routes:
            if r["method"] in ("HEAD", "OPTIONS"):
                continue  # GET answers HEAD; preflight is CORS
            path = r["path"]
            for name in TAIL.findall(path):
                tails.add((TAIL.sub(r"{\1}", path), name))
            router[(r["method"].lower(), TAIL.sub(r"{\1}", path))] = r["access"]
        documented = {(m, p): op for p, m, op in operations(self.doc)}
        missing = sorted(set(router) - set(documented))
        extra = sorted(set(documented) - set(router))
        self.assertEqual(missing, [], "routes the router has but docs/openapi.yaml does not describe")
        self.assertEqual(extra, [], "operations docs/openapi.yaml describes but the router does not have")
        for (method, path), access in router.items():
            op = documented[(method, path)]
            self.assertEqual(op.get("x-argus-permission"), access,
                             f"{method.upper()} {path}: x-argus-permission differs from the router's access")
            public = op.get("security") == []
            self.assertEqual(public, access == "public", f"{method.upper()} {path}: security vs access {access}")
        for path, name in tails:
            params = [p for p in self.doc["paths"][path]["get"].get("parameters", []) if "$ref" not in p]
            tail = [p for p in params if p.get("in") == "path" and p.get("name") == name]
            self.assertEqual(len(tail), 1, f"{path}: parameter {name}")
            self.assertIs(tail[0].get("x-argus-tail"), True, f"{path}: {name} takes the rest of the path")

    def test_operations_are_complete(self):
        ids = []
        for path, method, op in operations(self.doc):
            where = f"{method.upper()} {path}"
            self.assertTrue(op.get("operationId"), where)
            ids.append(op["operationId"])
            self.assertTrue(op.get("responses"), where)
            self.assertTrue(op.get("summary"), where)
            self.assertTrue(op.get("tags"), where)
            self.assertIn("x-argus-permission", op, where)
            for name in re.findall(r"\{([^{}]+)\}", path):
                declared = op.get("parameters", []) + self.doc["paths"][path].get("parameters", [])
                declared = [resolve(self.doc, p["$ref"]) if "$ref" in p else p for p in declared]
                self.assertTrue(any(p["in"] == "path" and p["name"] == name for p in declared), f"{where}: {{{name}}}")
        self.assertEqual(len(ids), len(set(ids)), "operationIds are unique")

    def check_response(self, method, path, status, doc_body, content_type="application/json", body=None,
                       headers=None, template=None, auth=True):
        """Sends the request and checks the answer against the documented response."""
        got, hdrs, payload = self.server.request(method, path, body=body, headers=headers, auth=auth)
        self.assertEqual(got, status, payload[:300])
        op = self.doc["paths"][template or path.split("?")[0]][method.lower()]
        response = op["responses"][str(status)]
        if "$ref" in response:
            response = resolve(self.doc, response["$ref"])
        self.assertTrue(hdrs.get("content-type", "").startswith(content_type), hdrs.get("content-type"))
        schema = response["content"][content_type]["schema"]
        value = json.loads(payload)
        errors = schema_errors(self.doc, schema, value)
        self.assertEqual(errors, [], f"{method} {path} {status} does not match the document: {value}")
        return value

    def test_live_answers_match_their_schemas(self):
        s = self.server
        cam = {"id": "oa-cam", "source": {"kind": "push"},
               "zones": [{"name": "z", "polygon": [[0, 0], [1, 0], [1, 1]]}],
               "lines": [{"name": "l", "points": [[0, 0.5], [1, 0.5]]}]}
        self.check_response("POST", "/api/v1/cameras", 201, None, body=cam)
        self.check_response("GET", "/api/v1/cameras", 200, None)
        self.check_response("GET", "/api/v1/cameras/oa-cam", 200, None, template="/api/v1/cameras/{id}")
        self.check_response("GET", "/api/v1/cameras/nope", 404, None, "application/problem+json",
                            template="/api/v1/cameras/{id}")
        self.check_response("POST", "/api/v1/cameras", 422, None, "application/problem+json",
                            body={"id": "Bad Id", "source": 5})
        self.check_response("GET", "/api/v1/cameras", 401, None, "application/problem+json", auth=False)
        self.check_response("GET", "/api/v1/system/info", 200, None)
        self.check_response("GET", "/api/v1/system/stats", 200, None)
        self.check_response("GET", "/api/v1/system/routes", 200, None)
        self.check_response("GET", "/ready", 200, None, "application/health+json")
        self.check_response("GET", "/health", 200, None, "application/health+json")
        self.check_response("GET", "/api/v1/users/me", 200, None)
        self.check_response("GET", "/api/v1/users", 200, None)
        created = self.check_response("POST", "/api/v1/keys", 201, None,
                                      body={"name": "oa", "permissions": ["cameras:read"]})
        self.check_response("GET", "/api/v1/keys", 200, None)
        self.check_response("GET", "/api/v1/audit", 200, None)
        self.check_response("GET", "/api/v1/events", 200, None)
        poll = self.check_response("GET", "/api/v1/events?after_id=0", 200, None)
        self.assertIn("last_id", poll, "with after_id, GET /api/v1/events is the stream polling fallback")
        self.check_response("GET", "/api/v1/events?limit=0", 400, None, "application/problem+json")
        self.check_response("GET", "/api/v1/counts?camera=oa-cam", 200, None)
        self.check_response("POST", "/api/v1/auth/ticket", 201, None)
        self.check_response("POST", "/api/v1/stream/test", 202, None, body={"data": 1})
        tokens = self.check_response("POST", "/api/v1/auth/login", 200, None,
                                     body={"username": "admin", "password": ADMIN_PASSWORD}, auth=False)
        self.check_response("POST", "/api/v1/auth/refresh", 200, None, body={"refresh_token": tokens["refresh_token"]},
                            auth=False)
        self.assertTrue(created["key"].startswith("argus_"))
        # Routes of the query and jobs work, when this build has them.
        have = {(r["method"], r["path"]) for r in self.routes}
        if ("GET", "/api/v1/jobs") in have:
            self.check_response("GET", "/api/v1/jobs", 200, None)
            self.check_response("GET", "/api/v1/jobs/nope", 404, None, "application/problem+json",
                                template="/api/v1/jobs/{id}")
            self.check_response("POST", "/api/v1/jobs", 400, None, "application/problem+json",
                                body={"kind": "no-such-kind"})
        if ("GET", "/api/v1/events/export") in have:
            self.check_response("GET", "/api/v1/events/export?format=json", 200, None)
            self.check_response("GET", "/api/v1/counts/export?camera=oa-cam&format=json", 200, None)
            self.check_response("GET", "/api/v1/counts?camera=oa-cam&bucket=hour", 200, None)
            self.check_response("GET", "/api/v1/events/nope/detections", 404, None, "application/problem+json",
                                template="/api/v1/events/{id}/detections")
            self.check_response("PATCH", "/api/v1/events/nope", 404, None, "application/problem+json",
                                body={"reviewed": True}, template="/api/v1/events/{id}")

    def test_every_ref_resolves(self):
        count = 0
        for where, ref in refs(self.doc):
            count += 1
            try:
                resolve(self.doc, ref)
            except (KeyError, IndexError, TypeError):
                self.fail(f"{where}: $ref {ref} does not resolve")
        self.assertGreater(count, 100)

    def test_problem_responses_use_the_problem_schema(self):
        for name, response in self.doc["components"]["responses"].items():
            content = response.get("content", {})
            if "application/problem+json" in content:
                self.assertEqual(content["application/problem+json"]["schema"],
                                 {"$ref": "#/components/schemas/Problem"}, name)
        problem = self.doc["components"]["schemas"]["Problem"]
        self.assertEqual(set(problem["properties"]), {"type", "title", "status", "detail", "instance", "errors"})

    def test_served_json_is_the_yaml_file(self):
        if yaml is None:
            self.skipTest("python3-yaml is not installed")
        with open(DOC_PATH, encoding="utf-8") as f:
            expected = yaml.safe_load(f)
        # What PyYAML reads must be plain JSON values: a date or a key that is not a string
        # would mean the YAML reads differently in different readers; quote it.
        def check(node, where):
            if isinstance(node, dict):
                for k, v in node.items():
                    self.assertIsInstance(k, str, f"{where}: key {k!r}")
                    check(v, f"{where}/{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    check(v, f"{where}/{i}")
            else:
                self.assertIsInstance(node, (str, int, float, bool, type(None)), f"{where}: {node!r}")
        check(expected, "")
        self.assertEqual(self.doc, expected)


if __name__ == "__main__":
    unittest.main()
