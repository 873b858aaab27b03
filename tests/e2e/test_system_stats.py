"""GET /api/v1/system/stats on a live server: the operator's overview reflects real cameras
(state, frames), the detector, the store, stream subscribers, jobs and the process; it is
scoped to the cameras the caller may see and needs system:read."""

import time
import unittest

from harness import Server, camera, wait_for
from test_pipeline import jpeg_bytes
from ws_client import WebSocket


class SystemStats(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=("--set", "pipeline.motion_gate=false")).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def stats(self, **kw):
        status, headers, doc = self.server.json("GET", "/api/v1/system/stats", **kw)
        self.assertEqual(status, 200, doc)
        self.assertEqual(headers.get("cache-control"), "no-store")
        return doc

    def test_reflects_cameras_detector_store_streams_and_process(self):
        s = self.server
        for cid in ("st-push", "st-off"):
            extra = {"enabled": False} if cid == "st-off" else {}
            self.assertEqual(s.json("POST", "/api/v1/cameras", camera(cid, source={"kind": "push"}, **extra))[0], 201)
        frame = jpeg_bytes(None)
        for _ in range(3):
            wait_for(lambda: s.request("POST", "/api/v1/cameras/st-push/frames", body=frame,
                                       headers={"Content-Type": "image/jpeg"})[0] == 202)
            time.sleep(0.3)
        w = WebSocket(s.port, token=s.token)
        self.addCleanup(w.close)
        w.subscribe(topics=["system"])

        def pushed_and_processed():
            d = self.stats()
            cam = next(c for c in d["cameras"] if c["id"] == "st-push")
            return d if cam["frames_in"] >= 3 and cam["frames_processed"] >= 1 else None

        doc = wait_for(pushed_and_processed)
        cams = {c["id"]: c for c in doc["cameras"]}
        self.assertEqual(cams["st-push"]["state"], "online")
        self.assertTrue(cams["st-push"]["enabled"])
        self.assertEqual(cams["st-off"]["state"], "disabled")
        self.assertEqual(cams["st-off"]["frames_in"], 0)
        self.assertGreaterEqual(doc["cameras_by_state"]["online"], 1)
        self.assertGreaterEqual(doc["cameras_by_state"]["disabled"], 1)

        self.assertEqual(doc["detector"]["kind"], "hog")
        self.assertGreaterEqual(doc["detector"]["workers"], 1)
        self.assertGreater(doc["detector"]["queue_capacity"], 0)
        self.assertTrue(0 <= doc["detector"]["busy_percent"] <= 100)
        self.assertEqual(doc["store"]["kind"], "sqlite")
        self.assertGreater(doc["store"]["size_bytes"], 0)
        self.assertGreaterEqual(doc["streams"]["subscribers"], 1)
        self.assertIn("queued", doc["jobs"])
        self.assertGreater(doc["process"]["resident_memory_bytes"], 1 << 20)
        self.assertGreater(doc["process"]["open_fds"], 3)
        self.assertGreaterEqual(doc["process"]["cpu_seconds"], 0)
        self.assertGreaterEqual(doc["uptime_seconds"], 0)
        self.assertTrue(doc["version"])
        # Sections of the parts the api does not know: delivery, alerts, MQTT (off here).
        self.assertEqual(doc["notifications"]["capacity"], 1000)
        self.assertEqual(doc["notifications"]["dead_letters"], 0)
        self.assertEqual(doc["notifications"]["open_circuits"], [])
        self.assertEqual(doc["alerts"]["firing"], 0)
        self.assertEqual(doc["mqtt"], {"enabled": False})

        w.close()
        wait_for(lambda: self.stats()["streams"]["subscribers"] == 0)

    def test_scoped_to_the_callers_cameras_and_needs_system_read(self):
        s = self.server
        for cid in ("sc-a", "sc-b"):
            status = s.json("POST", "/api/v1/cameras", camera(cid, source={"kind": "push"}))[0]
            self.assertIn(status, (201, 409))
        status, _, key = s.json("POST", "/api/v1/keys",
                                {"name": "ops-board", "permissions": ["system:read"], "cameras": ["sc-b"]})
        self.assertEqual(status, 201, key)
        doc = self.stats(token=key["key"])
        self.assertEqual([c["id"] for c in doc["cameras"]], ["sc-b"])
        status, _, key2 = s.json("POST", "/api/v1/keys", {"name": "cams-only", "permissions": ["cameras:read"]})
        self.assertEqual(status, 201, key2)
        self.assertEqual(s.request("GET", "/api/v1/system/stats", token=key2["key"])[0], 403)
        self.assertEqual(s.request("GET", "/api/v1/system/stats", auth=False)[0], 401)


if __name__ == "__main__":
    unittest.main()
