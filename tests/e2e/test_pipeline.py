"""The video pipeline end to end, through the real binary: pushed frames become tracked
events with snapshots and counts; file cameras come online; bad sources fail alone;
detection as a service (Argus API and DeepStack-compatible)."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import Server, camera, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def make_models(directory):
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "../vision/make_test_model.py"), directory], check=True)
    labels = os.path.join(directory, "labels.txt")
    with open(labels, "w") as f:
        f.write("person\ncar\ndog\n")
    return os.path.join(directory, "yolov8_test.onnx"), labels


def jpeg_bytes(path, frame=0, size="128x96"):
    """One frame of vtest.avi (or a test pattern) as JPEG, made by ffmpeg."""
    args = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=1", "-frames:v", "1",
            "-f", "image2", "-vcodec", "mjpeg", "pipe:1"]
    return subprocess.run(args, check=True, capture_output=True).stdout


def multipart(fields):
    boundary = uuid.uuid4().hex
    body = b""
    for name, (filename, content) in fields.items():
        body += f"--{boundary}\r\n".encode()
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"Content-Disposition: {disp}\r\n".encode()
        if filename:
            body += b"Content-Type: image/jpeg\r\n"
        body += b"\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"




class PushedFramesBecomeEvents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.models = tempfile.mkdtemp(prefix="argus-models-")
        model, labels = make_models(cls.models)
        cls.server = Server(args=("--set", "detector.kind=onnx", "--set", f"detector.model={model}",
                                  "--set", f"detector.labels={labels}", "--set", "detector.input_width=64",
                                  "--set", "detector.input_height=64", "--set", "pipeline.track_timeout=600ms",
                                  "--set", "pipeline.count_flush=1s", "--set", "pipeline.motion_gate=false")).start()
        cls.jpeg = jpeg_bytes(None)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.models, ignore_errors=True)

    def push(self, cam_id, data=None, content_type="image/jpeg"):
        """Pushes a frame; a camera created a moment ago answers 503 + Retry-After until
        ingest has it, as a client must expect."""
        for _ in range(50):
            status, hdrs, body = self.server.request("POST", f"/api/v1/cameras/{cam_id}/frames",
                                                     body=data or self.jpeg, headers={"Content-Type": content_type})
            if status != 503:
                break
            self.assertEqual(hdrs.get("retry-after"), "1")
            time.sleep(0.1)
        return status, hdrs, body

    def test_push_to_event_in_store_with_snapshot_and_counts(self):
        s = self.server
        body = camera("pusher", source={"kind": "push"},
                      detection={"fps": 20, "labels": ["person"], "min_score": 0.5})
        self.assertEqual(s.json("POST", "/api/v1/cameras", body)[0], 201)
        # A push camera has nothing to connect to: it waits for frames from the start.
        wait_for(lambda: s.json("GET", "/api/v1/cameras/pusher")[2]["status"]["state"] in ("starting", "online"))
        for _ in range(8):
            status, _, payload = self.push("pusher")
            self.assertEqual(status, 202, payload)
            time.sleep(0.06)

        def one_event():
            _, _, doc = s.json("GET", "/api/v1/events?camera=pusher")
            return doc["items"] if doc["items"] else None
        events = wait_for(one_event)
        self.assertEqual(len(events), 1)
        st = s.json("GET", "/api/v1/cameras/pusher")[2]["status"]
        self.assertEqual(st["state"], "online")
        self.assertGreaterEqual(st["frames_in"], 8)
        self.assertGreaterEqual(st["frames_processed"], 1)
        # The shared detector queue's overflow policy and the drop reasons are visible.
        self.assertEqual(st["detector_queue"]["policy"], "drop_oldest")
        self.assertGreater(st["detector_queue"]["capacity"], 0)
        self.assertEqual(set(st["dropped"]), {"detector_busy", "queue_full_dropped", "queue_full_rejected"})
        self.assertEqual(st["frames_dropped"], sum(st["dropped"].values()))
        ev = events[0]
        self.assertEqual(ev["label"], "person")
        self.assertEqual(ev["camera"], "pusher")
        self.assertAlmostEqual(ev["top_score"], 0.875, places=3)
        # The constant model puts the person at the centre of the image.
        cx = (ev["box"][0] + ev["box"][2]) / 2
        self.assertAlmostEqual(cx, 0.5, delta=0.05)
        # After the frames stop the track times out and the event ends (same id).
        def ended():
            _, _, doc = s.json("GET", f"/api/v1/events/{ev['id']}")
            return doc if doc["end_time"] else None
        done = wait_for(ended)
        self.assertFalse(done["active"])
        status, hdrs, jpg = s.request("GET", f"/api/v1/events/{ev['id']}/snapshot.jpg")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "image/jpeg")
        self.assertTrue(jpg.startswith(b"\xff\xd8"))

        def counted():
            _, _, doc = s.json("GET", "/api/v1/counts?camera=pusher")
            rows = [r for r in doc["items"] if r["scope"] == "camera" and r["label"] == "person"]
            return rows if rows and sum(r["seen"] for r in rows) >= 1 else None
        rows = wait_for(counted)
        self.assertEqual(sum(r["seen"] for r in rows), 1)
        self.assertEqual(max(r["peak"] for r in rows), 1)

    def test_push_errors(self):
        s = self.server
        self.assertEqual(s.json("POST", "/api/v1/cameras", camera("not-push"))[0], 201)
        self.assertEqual(s.json("POST", "/api/v1/cameras", camera("push2", source={"kind": "push"}))[0], 201)
        status, hdrs, _ = self.push("not-push")
        self.assertEqual(status, 409)
        status, hdrs, _ = self.push("no-such-camera")
        self.assertEqual(status, 404)
        status, hdrs, doc = self.push("push2", data=b"\xff\xd8\xff garbage that is not a jpeg")
        self.assertEqual(status, 422)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        # The camera keeps working after garbage.
        self.assertEqual(self.push("push2")[0], 202)

    def test_detect_endpoint(self):
        s = self.server
        status, _, doc = s.json("POST", "/api/v1/detect", self.jpeg, headers={"Content-Type": "image/jpeg"})
        self.assertEqual(status, 200, doc)
        labels = sorted(d["label"] for d in doc["detections"])
        self.assertIn("person", labels)
        self.assertEqual(doc["width"], 128)
        status, _, doc = s.json("POST", "/api/v1/detect", b"not an image", headers={"Content-Type": "image/jpeg"})
        self.assertEqual(status, 422)

    def test_deepstack_compatible_endpoint(self):
        s = self.server
        body, ctype = multipart({"image": ("frame.jpg", self.jpeg), "min_confidence": (None, b"0.6")})
        status, _, doc = s.json("POST", "/v1/vision/detection", body, headers={"Content-Type": ctype})
        self.assertEqual(status, 200, doc)
        self.assertTrue(doc["success"])
        preds = doc["predictions"]
        self.assertTrue(all(p["confidence"] >= 0.6 for p in preds))
        person = [p for p in preds if p["label"] == "person"][0]
        for key in ("x_min", "y_min", "x_max", "y_max"):
            self.assertIsInstance(person[key], int)
        self.assertLess(person["x_min"], person["x_max"])
        body, ctype = multipart({"other": ("x.jpg", self.jpeg)})
        status, _, doc = s.json("POST", "/v1/vision/detection", body, headers={"Content-Type": ctype})
        self.assertEqual(status, 400)
        self.assertFalse(doc["success"])
        status, _, doc = s.json("POST", "/v1/vision/detection", b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data; boundary=x"})
        self.assertEqual(status, 400)
        self.assertFalse(doc["success"])


class FileCameras(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert os.path.exists(VTEST), "vtest.avi missing: scripts/setup.sh installs opencv-doc"
        cls.server = Server(args=("--set", "ingest.backoff_initial=50ms", "--set", "ingest.backoff_max=200ms")).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def state(self, cid):
        return self.server.json("GET", f"/api/v1/cameras/{cid}")[2]["status"]

    def test_file_camera_comes_online_and_counts_people(self):
        s = self.server
        body = camera("vt", source={"kind": "file", "url": "file://" + VTEST},
                      detection={"fps": 5, "labels": ["person"], "min_score": 0.3})
        self.assertEqual(s.json("POST", "/api/v1/cameras", body)[0], 201)
        st = wait_for(lambda: (lambda x: x if x["state"] == "online" and x["fps_in"] > 0 else None)(self.state("vt")))
        self.assertGreater(st["frames_in"], 0)
        events = wait_for(lambda: s.json("GET", "/api/v1/events?camera=vt")[2]["items"] or None, timeout=30)
        self.assertEqual(events[0]["label"], "person")
        # Disabling stops it; deleting removes it; the server keeps serving.
        status, _, doc = s.json("PATCH", "/api/v1/cameras/vt", {"enabled": False})
        self.assertEqual(status, 200)
        wait_for(lambda: self.state("vt")["state"] == "disabled")
        self.assertEqual(s.request("DELETE", "/api/v1/cameras/vt")[0], 204)
        self.assertEqual(s.request("GET", "/health")[0], 200)

    def test_bad_sources_fail_alone(self):
        s = self.server
        junk = os.path.join(s.data_dir, "junk.avi")
        with open(junk, "wb") as f:
            f.write(b"RIFF\x00\x00\x00\x00AVI garbage" * 100)
        for cid, src in [("missing", {"kind": "file", "url": "file:///nonexistent/video.avi"}),
                         ("junk", {"kind": "file", "url": "file://" + junk}),
                         ("refused", {"kind": "snapshot", "url": "http://127.0.0.1:9/snap.jpg", "interval": 0.2}),
                         ("creds", {"kind": "snapshot", "url": "http://admin:s3cret@127.0.0.1:9/snap.jpg"})]:
            self.assertEqual(s.json("POST", "/api/v1/cameras", camera(cid, source=src))[0], 201)
        for cid in ("missing", "junk", "refused", "creds"):
            st = wait_for(lambda: (lambda x: x if x["state"] in ("error", "reconnecting", "offline") else None)(self.state(cid)))
            self.assertTrue(st["reason"], cid)
        _, _, raw = s.request("GET", "/api/v1/cameras")
        self.assertNotIn(b"s3cret", raw)
        self.assertFalse(any("s3cret" in line for line in s.lines))
        self.assertEqual(s.request("GET", "/ready")[0], 200)


if __name__ == "__main__":
    unittest.main()
