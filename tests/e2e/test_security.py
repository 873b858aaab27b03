"""Security end to end, each check an HTTP request over a socket to the real binary:
authentication on by default, JWT attacks, roles on every write route (taken from the
router), camera scopes, own-role changes, login limits, refresh-token reuse, API keys,
audit rows, security headers, and no secret in logs or responses."""

import base64
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import time
import unittest

from harness import ADMIN_PASSWORD, Server, camera, wait_for
from test_pipeline import jpeg_bytes, make_models

VIEWER_PW = "viewer-password-1"
OPERATOR_PW = "operator-password-1"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(token, key, header_changes=None, claim_changes=None, alg="HS256", signature=None):
    """Re-signs `token` with `key` after changing its header and claims."""
    h, p, _ = token.split(".")
    header = json.loads(b64url_decode(h))
    claims = json.loads(b64url_decode(p))
    header.update(header_changes or {})
    header["alg"] = alg
    claims.update(claim_changes or {})
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    if signature is None:
        digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}.get(alg, hashlib.sha256)
        signature = b64url(hmac.new(key, signing_input, digest).digest()) if alg != "none" else ""
    return signing_input.decode() + "." + signature


class Security(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Many sign-ins from one address here: lift the per-address limit (tested on its own below).
        # A constant ONNX model finds a person in every pushed frame, so cam-c gets events.
        cls.models = tempfile.mkdtemp(prefix="argus-models-")
        model, labels = make_models(cls.models)
        cls.server = Server(args=("--set", "auth.login_rate=100/s", "--set", "auth.login_burst=100",
                                  "--set", "detector.kind=onnx", "--set", f"detector.model={model}",
                                  "--set", f"detector.labels={labels}", "--set", "detector.input_width=64",
                                  "--set", "detector.input_height=64", "--set", "pipeline.motion_gate=false",
                                  "--set", "pipeline.track_timeout=600ms")).start()
        s = cls.server
        for cid in ("cam-a", "cam-b"):
            status, _, doc = s.json("POST", "/api/v1/cameras", camera(cid, enabled=False))
            assert status == 201, doc
        status, _, doc = s.json("POST", "/api/v1/cameras", camera("cam-c", source={"kind": "push"}, detection={
            "fps": 20, "labels": ["person"], "min_score": 0.5}))
        assert status == 201, doc
        frame = jpeg_bytes(None)
        for _ in range(6):
            s.request("POST", "/api/v1/cameras/cam-c/frames", body=frame, headers={"Content-Type": "image/jpeg"})
            time.sleep(0.06)
        cls.event = wait_for(lambda: (s.json("GET", "/api/v1/events?camera=cam-c")[2]["items"] or [None])[0])
        wait_for(lambda: s.json("GET", f"/api/v1/events/{cls.event['id']}")[2].get("snapshot") or
                 s.request("GET", f"/api/v1/events/{cls.event['id']}/snapshot.jpg")[0] == 200)
        cls.viewer = cls.make_user("viewer1", "viewer", VIEWER_PW)
        cls.scoped = cls.make_user("scoped1", "viewer", VIEWER_PW, cameras=["cam-a", "cam-b"])
        cls.operator = cls.make_user("operator1", "operator", OPERATOR_PW)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.models, ignore_errors=True)

    @classmethod
    def make_user(cls, name, role, password, cameras=None):
        body = {"username": name, "password": password, "role": role}
        if cameras is not None:
            body["cameras"] = cameras
        status, _, doc = cls.server.json("POST", "/api/v1/users", body)
        assert status == 201, doc
        status, _, tokens = cls.server.json("POST", "/api/v1/auth/login", {"username": name, "password": password},
                                            auth=False)
        assert status == 200, tokens
        return {"id": doc["id"], "token": tokens["access_token"], "refresh": tokens["refresh_token"]}

    def signing_key(self, kid=None):
        with open(os.path.join(self.server.data_dir, "jwt-keys.json")) as f:
            doc = json.load(f)
        kid = kid or json.loads(b64url_decode(self.server.token.split(".")[0]))["kid"]
        return b64url_decode(next(k["secret"] for k in doc["keys"] if k["id"] == kid))

    def assert_problem(self, status, hdrs, body, code):
        self.assertEqual(status, code, body)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        self.assertEqual(json.loads(body)["status"], code)

    def test_authentication_is_on_by_default(self):
        s = self.server
        status, hdrs, body = s.request("GET", "/api/v1/cameras", auth=False)
        self.assert_problem(status, hdrs, body, 401)
        self.assertIn("Bearer", hdrs["www-authenticate"])
        self.assertEqual(s.request("GET", "/health", auth=False)[0], 200)
        self.assertEqual(s.request("GET", "/ready", auth=False)[0], 200)
        self.assertEqual(s.request("GET", "/metrics", auth=False)[0], 401)
        for bad in ("Basic YWRtaW46eA==", "Bearer", "Bearer not-a-token", "Bearer " + "a" * 7000):
            status, hdrs, body = s.request("GET", "/api/v1/cameras", headers={"Authorization": bad})
            self.assertEqual(status, 401, bad[:30])

    def test_jwt_attacks_are_refused(self):
        s = self.server
        key = self.signing_key()
        good = s.token
        self.assertEqual(s.request("GET", "/api/v1/cameras", token=forge(good, key))[0], 200)  # forging works
        now = int(time.time())
        attacks = {
            "alg none": forge(good, key, alg="none"),
            "alg none with signature": forge(good, key, alg="none", signature=good.split(".")[2]),
            "HS512 same key": forge(good, key, alg="HS512"),
            "RS256 header": forge(good, key, alg="RS256"),
            "bad signature": forge(good, b"wrong-key" * 4),
            "tampered role": good.split(".")[0] + "." + b64url(json.dumps(
                dict(json.loads(b64url_decode(good.split(".")[1])), role="admin", sub="someone")).encode()) + "." +
            good.split(".")[2],
            "expired": forge(good, key, claim_changes={"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200}),
            "future nbf": forge(good, key, claim_changes={"nbf": now + 3600}),
            "wrong aud": forge(good, key, claim_changes={"aud": "someone-else"}),
            "wrong iss": forge(good, key, claim_changes={"iss": "evil"}),
            "unknown kid": forge(good, key, header_changes={"kid": "nope"}),
        }
        for name, token in attacks.items():
            status, hdrs, body = s.request("GET", "/api/v1/cameras", token=token)
            self.assert_problem(status, hdrs, body, 401)
            self.assertIn("invalid_token", hdrs["www-authenticate"], name)

    def test_viewer_gets_403_on_every_write_route(self):
        s = self.server
        _, _, routes = s.json("GET", "/api/v1/system/routes")
        checked = 0
        for r in routes["items"]:
            if r["method"] in ("GET", "HEAD") or r["access"] in ("public", "authenticated"):
                continue
            path = r["path"].replace("{id}", "cam-a")
            status, hdrs, body = s.request(r["method"], path, body={}, token=self.viewer["token"])
            self.assert_problem(status, hdrs, body, 403)
            self.assertIn(r["access"], json.loads(body)["detail"])
            checked += 1
        self.assertGreaterEqual(checked, 10)
        # Every route declares its access; only the expected ones are public.
        public = {(r["method"], r["path"]) for r in routes["items"] if r["access"] == "public"}
        self.assertEqual(public, {("GET", "/health"), ("GET", "/ready"), ("POST", "/api/v1/auth/login"),
                                  ("POST", "/api/v1/auth/refresh"), ("POST", "/api/v1/auth/logout"),
                                  ("GET", "/api/v1/openapi.json")})

    def test_scoped_user_sees_only_their_cameras(self):
        s = self.server
        tok = self.scoped["token"]
        _, _, doc = s.json("GET", "/api/v1/cameras", token=tok)
        self.assertEqual(sorted(c["id"] for c in doc["items"]), ["cam-a", "cam-b"])
        self.assertEqual(s.request("GET", "/api/v1/cameras/cam-a", token=tok)[0], 200)
        ev = self.event["id"]
        self.assertEqual(s.request("GET", f"/api/v1/events/{ev}/snapshot.jpg")[0], 200)  # the admin sees it
        for path in ("/api/v1/cameras/cam-c", "/api/v1/events?camera=cam-c", "/api/v1/counts?camera=cam-c",
                     f"/api/v1/events/{ev}", f"/api/v1/events/{ev}/snapshot.jpg"):
            status, hdrs, body = s.request("GET", path, token=tok)
            self.assert_problem(status, hdrs, body, 404)
        _, _, listed = s.json("GET", "/api/v1/events?limit=500", token=tok)
        self.assertNotIn(ev, [e["id"] for e in listed["items"]])
        _, _, everything = s.json("GET", "/api/v1/events?limit=500")
        self.assertIn(ev, [e["id"] for e in everything["items"]])
        # Unknown and hidden cameras look the same.
        self.assertEqual(s.json("GET", "/api/v1/cameras/cam-c", token=tok)[2]["detail"].replace("cam-c", "X"),
                         s.json("GET", "/api/v1/cameras/cam-zz", token=tok)[2]["detail"].replace("cam-zz", "X"))

    def test_nobody_changes_their_own_role_or_scope(self):
        s = self.server
        for body in ({"role": "admin"}, {"cameras": None}, {"disabled": False}):
            status, hdrs, payload = s.request("PATCH", "/api/v1/users/me", body=body, token=self.scoped["token"])
            self.assert_problem(status, hdrs, payload, 403)
        status, _, _ = s.request("PATCH", f"/api/v1/users/{self.scoped['id']}", body={"role": "admin"},
                                 token=self.scoped["token"])
        self.assertEqual(status, 403)
        # An admin cannot demote themselves either (that is another admin's job).
        _, _, me = s.json("GET", "/api/v1/users/me")
        self.assertEqual(s.request("PATCH", f"/api/v1/users/{me['id']}", body={"role": "viewer"})[0], 403)
        # But may change their own display name.
        status, _, doc = s.json("PATCH", "/api/v1/users/me", {"display_name": "Scoped One"}, token=self.scoped["token"])
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["cameras"], ["cam-a", "cam-b"])
        self.assertEqual(doc["role"], "viewer")

    def test_refresh_token_reuse_revokes_the_family(self):
        s = self.server
        _, _, first = s.json("POST", "/api/v1/auth/login", {"username": "viewer1", "password": VIEWER_PW}, auth=False)
        status, _, second = s.json("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]},
                                   auth=False)
        self.assertEqual(status, 200, second)
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        status, _, _ = s.json("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, auth=False)
        self.assertEqual(status, 401)  # reuse
        status, _, _ = s.json("POST", "/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]}, auth=False)
        self.assertEqual(status, 401)  # the whole family is gone
        _, _, audit = s.json("GET", "/api/v1/audit?action=auth.refresh_reuse")
        self.assertTrue(audit["items"])

    def test_api_keys_scope_and_revocation(self):
        s = self.server
        op = self.operator["token"]
        status, _, key = s.json("POST", "/api/v1/keys",
                                {"name": "grafana", "permissions": ["cameras:read"], "cameras": ["cam-b"]}, token=op)
        self.assertEqual(status, 201, key)
        secret = key["key"]
        self.assertTrue(secret.startswith("argus_"))
        _, _, listed = s.json("GET", "/api/v1/keys", token=op)
        self.assertNotIn(secret, json.dumps(listed))
        # Bearer and X-API-Key both work; the key sees only cam-b and may only read cameras.
        _, _, doc = s.json("GET", "/api/v1/cameras", headers={"X-API-Key": secret})
        self.assertEqual([c["id"] for c in doc["items"]], ["cam-b"])
        self.assertEqual(s.request("GET", "/api/v1/cameras/cam-a", token=secret)[0], 404)
        self.assertEqual(s.request("GET", "/api/v1/events", token=secret)[0], 403)
        self.assertEqual(s.request("POST", "/api/v1/cameras", body=camera("by-key"), token=secret)[0], 403)
        # A key cannot hold more than its owner: an operator asking for users:admin is refused.
        status, _, _ = s.json("POST", "/api/v1/keys", {"name": "x", "permissions": ["users:admin"]}, token=op)
        self.assertEqual(status, 403)
        self.assertEqual(s.request("DELETE", f"/api/v1/keys/{key['id']}", token=op)[0], 204)
        self.assertEqual(s.request("GET", "/api/v1/cameras", token=secret)[0], 401)

    def test_signing_key_rotation_keeps_old_tokens_valid(self):
        s = self.server
        old = s.token
        old_kid = json.loads(b64url_decode(old.split(".")[0]))["kid"]
        status, _, doc = s.json("POST", "/api/v1/system/signing-key/rotate")
        self.assertEqual(status, 200, doc)
        self.assertNotEqual(doc["current"], old_kid)
        self.assertIn(old_kid, doc["verifying"])
        self.assertEqual(s.request("GET", "/api/v1/cameras", token=old)[0], 200)
        _, _, fresh = s.json("POST", "/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD},
                             auth=False)
        self.assertEqual(json.loads(b64url_decode(fresh["access_token"].split(".")[0]))["kid"], doc["current"])
        with open(os.path.join(s.data_dir, "jwt-keys.json")) as f:
            self.assertEqual(len(json.load(f)["keys"]), 2)
        self.assertEqual(os.stat(os.path.join(s.data_dir, "jwt-keys.json")).st_mode & 0o077, 0)

    def test_security_headers_and_no_store(self):
        status, hdrs, _ = self.server.request("GET", "/api/v1/cameras")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["x-content-type-options"], "nosniff")
        self.assertEqual(hdrs["referrer-policy"], "no-referrer")
        self.assertIn("frame-ancestors 'none'", hdrs["content-security-policy"])
        self.assertEqual(hdrs["cache-control"], "no-store")
        _, hdrs, _ = self.server.request("GET", "/health", auth=False)
        self.assertEqual(hdrs["x-content-type-options"], "nosniff")
        # No CORS unless configured.
        status, hdrs, _ = self.server.request("OPTIONS", "/api/v1/cameras", auth=False, headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        self.assertEqual(status, 403)
        self.assertNotIn("access-control-allow-origin", hdrs)

    def test_audit_rows_for_sensitive_actions(self):
        s = self.server
        s.json("POST", "/api/v1/auth/login", {"username": "viewer1", "password": "wrong-password"}, auth=False)
        s.json("POST", "/api/v1/cameras", camera("audited", enabled=False))
        s.request("DELETE", "/api/v1/cameras/audited")
        _, _, doc = s.json("GET", "/api/v1/audit?limit=500")
        rows = doc["items"]
        seen = {(r["action"], r["outcome"]) for r in rows}
        for expected in [("auth.login", "ok"), ("auth.login", "failed"), ("user.create", "ok"),
                         ("camera.create", "ok"), ("camera.delete", "ok")]:
            self.assertIn(expected, seen)
        row = next(r for r in rows if r["action"] == "camera.delete")
        self.assertEqual(row["target"], "audited")
        self.assertEqual(row["ip"], "127.0.0.1")
        self.assertTrue(row["request_id"])
        self.assertEqual(s.request("GET", "/api/v1/audit", token=self.operator["token"])[0], 403)

    def test_no_secret_in_logs_or_responses(self):
        s = self.server
        s.json("POST", "/api/v1/cameras", camera("secretcam", enabled=False,
                                                 source={"url": "rtsp://u:cam-s3cret@127.0.0.1:9/x"}))
        _, _, users = s.request("GET", "/api/v1/users?limit=500")
        _, _, cams = s.request("GET", "/api/v1/cameras?limit=500")
        _, _, audit = s.request("GET", "/api/v1/audit?limit=500")
        secrets = [ADMIN_PASSWORD, VIEWER_PW, OPERATOR_PW, "cam-s3cret", s.token, self.viewer["refresh"],
                   self.viewer["token"]]
        for blob in (users, cams, audit):
            for secret in secrets:
                self.assertNotIn(secret.encode(), blob)
        self.assertNotIn(b"argon2", users)
        log = "\n".join(s.lines)
        for secret in secrets:
            self.assertNotIn(secret, log)


class OutboundUrls(unittest.TestCase):
    def test_camera_urls_to_metadata_or_outside_policy_are_refused(self):
        s = Server(args=("--set", "security.camera_urls=public", "--set", "security.url_allow=127.0.0.2")).start()
        try:
            for url in ("rtsp://169.254.169.254/latest", "http://127.0.0.1:9/snap.jpg", "rtsp://10.1.2.3/x",
                        "http://[::1]:9/x", "http://2130706433/x"):
                status, hdrs, doc = s.json("POST", "/api/v1/cameras", camera("ssrf", source={"kind": "mjpeg",
                                                                                            "url": url}))
                self.assertEqual(status, 422, (url, doc))
                self.assertEqual(doc["errors"][0]["pointer"], "/source/url", doc)
            # Explicitly allowed, and file cameras are not URLs on the network.
            self.assertEqual(s.json("POST", "/api/v1/cameras", camera("allowed", enabled=False, source={
                "kind": "mjpeg", "url": "http://127.0.0.2:9/x"}))[0], 201)
            # A change of URL is checked too.
            status, _, doc = s.json("PATCH", "/api/v1/cameras/allowed", {"source": {"url": "http://10.0.0.1/x"}},
                                    headers={"Content-Type": "application/merge-patch+json"})
            self.assertEqual(status, 422, doc)
        finally:
            s.cleanup()

    def test_default_policy_allows_lan_cameras_but_not_metadata(self):
        s = Server().start()
        try:
            ok = s.json("POST", "/api/v1/cameras", camera("lan", enabled=False, source={"url": "rtsp://192.168.1.20/s"}))
            self.assertEqual(ok[0], 201, ok)
            bad = s.json("POST", "/api/v1/cameras", camera("meta", source={"url": "http://169.254.169.254/"}))
            self.assertEqual(bad[0], 422, bad)
        finally:
            s.cleanup()


class LoginLimits(unittest.TestCase):
    def test_login_burst_gets_429_with_retry_after(self):
        s = Server().start()
        try:
            codes = []
            for i in range(12):
                status, hdrs, body = s.request("POST", "/api/v1/auth/login", auth=False,
                                               body={"username": f"nobody{i}", "password": "wrong-password"})
                codes.append(status)
                if status == 429:
                    self.assertGreaterEqual(int(hdrs["retry-after"]), 1)
                    self.assertIn("ratelimit-policy", hdrs)
                    self.assertIn("remaining=0", hdrs["ratelimit"])
                    self.assertEqual(hdrs["content-type"], "application/problem+json")
                    break
            self.assertEqual(codes[-1], 429, codes)
            self.assertIn(401, codes)
        finally:
            s.cleanup()

    def test_account_backoff_after_failures(self):
        # Per-account backoff, independent of the per-address limit (raised here).
        s = Server(args=("--set", "auth.login_rate=1000/s", "--set", "auth.login_burst=1000")).start()
        try:
            codes = [s.request("POST", "/api/v1/auth/login", auth=False,
                               body={"username": "admin", "password": "wrong-password"})[0] for _ in range(8)]
            self.assertIn(429, codes, codes)
            self.assertEqual(codes[0], 401)
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
