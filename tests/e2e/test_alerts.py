"""Alerts end to end, through the real binary: rules over the API (validation, paging,
scopes), alerts fired by real events from a push camera and by a camera that cannot
connect, acknowledged, resolved, and carried on the `alerts` topic of the SSE stream."""

import os
import shutil
import sqlite3
import tempfile
import time
import unittest

from harness import Server, camera, wait_for
from test_jobs import FINAL, wait_state
from test_openapi import schema_errors
from test_pipeline import jpeg_bytes, make_models
from ws_client import EventStream

VIEWER_PW = "viewer-password-123"
OPERATOR_PW = "operator-password-123"


class Alerts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.models = tempfile.mkdtemp(prefix="argus-models-")
        model, labels = make_models(cls.models)
        cls.server = Server(args=("--set", "detector.kind=onnx", "--set", f"detector.model={model}",
                                  "--set", f"detector.labels={labels}", "--set", "detector.input_width=64",
                                  "--set", "detector.input_height=64", "--set", "pipeline.track_timeout=600ms",
                                  "--set", "pipeline.motion_gate=false",
                                  "--set", "ingest.backoff_initial=50ms", "--set", "ingest.backoff_max=200ms")).start()
        cls.jpeg = jpeg_bytes(None)
        _, _, cls.doc = cls.server.json("GET", "/api/v1/openapi.json")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.models, ignore_errors=True)

    def matches(self, schema_name, value):
        errors = schema_errors(self.doc, {"$ref": f"#/components/schemas/{schema_name}"}, value)
        self.assertEqual(errors, [], value)

    def make_user(self, name, role, password, cameras=None):
        body = {"username": name, "password": password, "role": role}
        if cameras is not None:
            body["cameras"] = cameras
        status, _, doc = self.server.json("POST", "/api/v1/users", body)
        self.assertEqual(status, 201, doc)
        status, _, tokens = self.server.json("POST", "/api/v1/auth/login", {"username": name, "password": password},
                                             auth=False)
        self.assertEqual(status, 200, tokens)
        return tokens["access_token"]

    def push(self, cam_id):
        for _ in range(50):
            status, _, body = self.server.request("POST", f"/api/v1/cameras/{cam_id}/frames", body=self.jpeg,
                                                  headers={"Content-Type": "image/jpeg"})
            if status != 503:
                break
            time.sleep(0.1)
        self.assertEqual(status, 202, body)

    def test_rules_crud_validation_and_paging(self):
        s = self.server
        status, _, doc = s.json("POST", "/api/v1/alerts/rules", {
            "name": "", "condition": {"type": "occupancy", "for_seconds": -1}, "zone": "a", "line": "b",
            "severity": "fatal", "schedule": {"days": ["fri"], "start": "25:00", "timezone": "Mars/Olympus"},
            "colour": "red"})
        self.assertEqual(status, 422, doc)
        pointers = {e["pointer"] for e in doc["errors"]}
        self.assertEqual(pointers, {"/name", "/condition/for_seconds", "/condition/min", "/line", "/severity",
                                    "/schedule/start", "/schedule/timezone", "/colour"})
        self.assertEqual(s.json("POST", "/api/v1/alerts/rules", [1])[0], 422)
        self.assertEqual(s.request("POST", "/api/v1/alerts/rules", body=b"{", headers={"Content-Type": "application/json"})[0], 400)

        ids = []
        for i in range(3):
            status, hdrs, rule = s.json("POST", "/api/v1/alerts/rules", {
                "name": f"crud {i}", "cameras": ["crud-cam"], "labels": ["person"], "line": "gate",
                "condition": {"type": "crossings", "min": 5, "window_seconds": 60},
                "schedule": {"days": ["sat", "fri"], "start": "22:00", "end": "06:00", "timezone": "Europe/Berlin"}})
            self.assertEqual(status, 201, rule)
            self.assertEqual(hdrs["location"], f"/api/v1/alerts/rules/{rule['id']}")
            self.matches("AlertRule", rule)
            self.assertEqual(rule["condition"], {"type": "crossings", "min": 5, "window_seconds": 60, "direction": "any"})
            self.assertEqual(rule["schedule"]["days"], ["fri", "sat"])
            self.assertEqual(rule["severity"], "warning")
            ids.append(rule["id"])
        seen = []
        cursor = None
        while True:
            status, _, page = s.json("GET", "/api/v1/alerts/rules?limit=2" + (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(status, 200, page)
            self.matches("AlertRulePage", page)
            seen += [r["id"] for r in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        self.assertTrue(set(ids) <= set(seen))
        self.assertEqual(len(seen), len(set(seen)))

        rid = ids[0]
        status, _, rule = s.json("PATCH", f"/api/v1/alerts/rules/{rid}", {"enabled": False, "schedule": None,
                                                                        "severity": "critical"})
        self.assertEqual(status, 200, rule)
        self.assertEqual((rule["enabled"], rule["schedule"], rule["severity"]), (False, None, "critical"))
        self.assertEqual(rule["line"], "gate")
        status, _, doc = s.json("PATCH", f"/api/v1/alerts/rules/{rid}", {"condition": {"type": "dwell"}, "id": "x"})
        self.assertEqual(status, 422, doc)
        self.assertEqual({e["pointer"] for e in doc["errors"]}, {"/id", "/condition/min_seconds", "/line"})
        self.assertEqual(s.json("GET", f"/api/v1/alerts/rules/{rid}")[2], rule)
        self.assertEqual(s.request("DELETE", f"/api/v1/alerts/rules/{rid}")[0], 204)
        self.assertEqual(s.request("GET", f"/api/v1/alerts/rules/{rid}")[0], 404)
        self.assertEqual(s.request("DELETE", f"/api/v1/alerts/rules/{rid}")[0], 404)
        self.assertEqual(s.json("PATCH", "/api/v1/alerts/rules/nope", {"enabled": True})[0], 404)
        self.assertEqual(s.request("GET", "/api/v1/alerts/nope")[0], 404)
        self.assertEqual(s.request("POST", "/api/v1/alerts/nope/ack")[0], 404)
        for query in ("state=open", "severity=fatal", "acknowledged=maybe", "from=yesterday", "limit=0"):
            self.assertEqual(s.request("GET", f"/api/v1/alerts?{query}")[0], 400, query)

    def test_event_start_fires_is_acknowledged_and_resolves_on_the_stream(self):
        s = self.server
        sse = EventStream(s.port, "/api/v1/events/stream?topics=alerts", token=s.token)
        self.assertEqual(sse.status, 200)
        body = camera("alert-push", source={"kind": "push"},
                      detection={"fps": 20, "labels": ["person"], "min_score": 0.5})
        self.assertEqual(s.json("POST", "/api/v1/cameras", body)[0], 201)
        status, _, rule = s.json("POST", "/api/v1/alerts/rules", {
            "name": "Person at the push camera", "cameras": ["alert-push"], "labels": ["person"],
            "severity": "critical", "condition": {"type": "event_start"}})
        self.assertEqual(status, 201, rule)
        for _ in range(6):
            self.push("alert-push")
            time.sleep(0.05)

        def next_alert(kind):
            while True:
                got = sse.next_event(timeout=20)
                self.assertIsNotNone(got, "the stream ended")
                data = got[1]["data"]
                if got[1]["topic"] == "alerts" and data["type"] == kind and data["alert"]["rule_id"] == rule["id"]:
                    return data["alert"]
        fired = next_alert("firing")
        self.matches("Alert", fired)
        self.assertEqual((fired["camera"], fired["label"], fired["severity"], fired["state"]),
                         ("alert-push", "person", "critical", "firing"))
        self.assertIn("person detected", fired["message"])

        status, _, page = s.json("GET", f"/api/v1/alerts?state=firing&rule_id={rule['id']}")
        self.assertEqual(status, 200, page)
        self.matches("AlertPage", page)
        self.assertEqual([a["id"] for a in page["items"]], [fired["id"]])
        status, _, acked = s.json("POST", f"/api/v1/alerts/{fired['id']}/ack")
        self.assertEqual(status, 200, acked)
        self.matches("Alert", acked)
        self.assertTrue(acked["acknowledged"])
        self.assertIsNotNone(acked["acknowledged_by"])
        status, _, again = s.json("POST", f"/api/v1/alerts/{fired['id']}/ack")
        self.assertEqual(status, 200)
        self.assertEqual(again["acknowledged_at"], acked["acknowledged_at"])
        self.assertEqual(next_alert("acknowledged")["id"], fired["id"])
        self.assertEqual(s.json("GET", "/api/v1/alerts?acknowledged=false&camera=alert-push")[2]["items"], [])

        # No more frames: the track times out, the event ends, the alert resolves (keeping its ack).
        resolved = next_alert("resolved")
        self.assertEqual(resolved["id"], fired["id"])
        self.assertEqual(resolved["state"], "resolved")
        self.assertEqual(resolved["acknowledged_at"], acked["acknowledged_at"])
        status, _, stored = s.json("GET", f"/api/v1/alerts/{fired['id']}")
        self.assertEqual(status, 200)
        self.assertEqual(stored, resolved)
        sse.close()
        _, _, metrics = s.request("GET", "/metrics")
        self.assertIn(b'argus_alerts_fired_total{severity="critical"}', metrics)

    def test_occupancy_for_a_duration(self):
        s = self.server
        body = camera("occ-push", source={"kind": "push"},
                      detection={"fps": 20, "labels": ["person"], "min_score": 0.5})
        self.assertEqual(s.json("POST", "/api/v1/cameras", body)[0], 201)
        status, _, rule = s.json("POST", "/api/v1/alerts/rules", {
            "name": "someone stays", "cameras": ["occ-push"],
            "condition": {"type": "occupancy", "min": 1, "for_seconds": 1}})
        self.assertEqual(status, 201, rule)

        def firing():
            self.push("occ-push")  # keep the person in view
            items = s.json("GET", f"/api/v1/alerts?rule_id={rule['id']}")[2]["items"]
            return items if items else None
        alerts = wait_for(firing, timeout=30)
        self.assertEqual(alerts[0]["state"], "firing")
        self.assertGreaterEqual(alerts[0]["value"], 1)
        resolved = wait_for(lambda: (lambda a: a if a["state"] == "resolved" else None)(
            s.json("GET", f"/api/v1/alerts/{alerts[0]['id']}")[2]), timeout=30)
        self.assertIsNotNone(resolved["resolved_at"])

    def test_camera_offline_and_scopes(self):
        s = self.server
        for cid in ("off-a", "off-b"):
            self.assertEqual(s.json("POST", "/api/v1/cameras", camera(cid))[0], 201)
        status, _, rule = s.json("POST", "/api/v1/alerts/rules", {
            "name": "camera down", "cameras": ["off-a", "off-b"], "severity": "info",
            "condition": {"type": "camera_offline", "for_seconds": 1}})
        self.assertEqual(status, 201, rule)

        def both():
            items = s.json("GET", f"/api/v1/alerts?rule_id={rule['id']}&state=firing")[2]["items"]
            return items if {a["camera"] for a in items} == {"off-a", "off-b"} else None
        alerts = wait_for(both, timeout=30)
        by_camera = {a["camera"]: a for a in alerts}
        self.assertIn("offline", by_camera["off-a"]["message"])

        viewer = self.make_user("alerts-viewer", "viewer", VIEWER_PW, cameras=["off-a"])
        status, _, page = s.json("GET", f"/api/v1/alerts?rule_id={rule['id']}", token=viewer)
        self.assertEqual(status, 200, page)
        self.assertEqual({a["camera"] for a in page["items"]}, {"off-a"})
        self.assertEqual(s.request("GET", f"/api/v1/alerts/{by_camera['off-b']['id']}", token=viewer)[0], 404)
        self.assertEqual(s.request("GET", "/api/v1/alerts?camera=off-b", token=viewer)[0], 404)
        self.assertEqual(s.request("GET", f"/api/v1/alerts/{by_camera['off-a']['id']}", token=viewer)[0], 200)
        # The rule names a camera the viewer may not see: hidden.
        self.assertEqual(s.request("GET", f"/api/v1/alerts/rules/{rule['id']}", token=viewer)[0], 404)
        self.assertNotIn(rule["id"], [r["id"] for r in s.json("GET", "/api/v1/alerts/rules", token=viewer)[2]["items"]])
        self.assertEqual(s.json("POST", "/api/v1/alerts/rules", {"name": "x", "condition": {"type": "event_start"}},
                                token=viewer)[0], 403)
        self.assertEqual(s.request("POST", f"/api/v1/alerts/{by_camera['off-a']['id']}/ack", token=viewer)[0], 403)
        operator = self.make_user("alerts-operator", "operator", OPERATOR_PW, cameras=["off-a"])
        status, _, doc = s.json("POST", "/api/v1/alerts/rules", {"name": "all", "condition": {"type": "event_start"}},
                                token=operator)
        self.assertEqual(status, 422, doc)
        self.assertEqual([e["pointer"] for e in doc["errors"]], ["/cameras"])
        status, _, mine = s.json("POST", "/api/v1/alerts/rules", {"name": "mine", "cameras": ["off-a"],
                                                                   "condition": {"type": "event_start"}}, token=operator)
        self.assertEqual(status, 201, mine)

        # Disabling the camera resolves its alert.
        self.assertEqual(s.json("PATCH", "/api/v1/cameras/off-a", {"enabled": False})[0], 200)
        resolved = wait_for(lambda: (lambda a: a if a["state"] == "resolved" else None)(
            s.json("GET", f"/api/v1/alerts/{by_camera['off-a']['id']}")[2]), timeout=30)
        self.assertIsNotNone(resolved["resolved_at"])
        self.assertEqual(s.json("GET", f"/api/v1/alerts/{by_camera['off-b']['id']}")[2]["state"], "firing")


class AlertsAcrossRestarts(unittest.TestCase):
    def test_leftovers_resolve_at_start_and_retention_deletes_old_resolved_alerts_and_dead_letters(self):
        d = tempfile.mkdtemp(prefix="argus-e2e-")
        self.addCleanup(shutil.rmtree, d, True)
        first = Server(data_dir=d).start()
        first.stop()
        jan = 1769904000000  # 2026-02-01T00:00:00Z, older than 30 days
        now_ms = int(time.time() * 1000)
        db = sqlite3.connect(os.path.join(d, "argus.db"))
        rows = [("old-resolved", "resolved", jan, jan + 1000), ("recent-resolved", "resolved", now_ms - 1000, now_ms),
                ("left-firing", "firing", now_ms - 5000, None)]
        for aid, state, started, resolved in rows:
            db.execute("INSERT INTO alerts (id, rule_id, rule_name, camera_id, severity, state, started_at, resolved_at, "
                       "message) VALUES (?, 'r', 'rule', 'cam', 'info', ?, ?, ?, 'seeded')",
                       (aid, state, started, resolved))
        for channel, failed in (("old-hook", jan), ("recent-hook", now_ms - 1000)):
            db.execute("INSERT INTO dead_letters (kind, channel_id, payload, error, reason, attempts, created_at, "
                       "failed_at) VALUES ('notification', ?, '{}', 'HTTP 500', 'exhausted', 8, ?, ?)",
                       (channel, failed, failed))
        db.commit()
        db.close()

        server = Server(data_dir=d, env={"ARGUS_JOBS_RETENTION_DAYS": "30"}).start()
        self.addCleanup(server.cleanup)
        left = server.json("GET", "/api/v1/alerts/left-firing")[2]
        self.assertEqual(left["state"], "resolved")
        self.assertIn("server stopped while it was firing", left["message"])
        _, _, jobs = server.json("GET", "/api/v1/jobs?kind=retention")
        done = wait_state(server, jobs["items"][0]["id"], FINAL)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual(done["result"]["alerts_deleted"], 1)
        self.assertEqual(server.request("GET", "/api/v1/alerts/old-resolved")[0], 404)
        self.assertEqual(server.request("GET", "/api/v1/alerts/recent-resolved")[0], 200)
        # Dead letters older than the retention go too; recent ones stay for an operator.
        self.assertEqual(done["result"]["dead_letters_deleted"], 1)
        letters = server.json("GET", "/api/v1/dlq")[2]["items"]
        self.assertEqual([x["channel"] for x in letters], ["recent-hook"])


if __name__ == "__main__":
    unittest.main()
