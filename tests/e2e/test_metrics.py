"""/metrics on a live server checked by Prometheus's own linter (`promtool check metrics`,
Debian package prometheus) after real traffic: requests of several routes and statuses, a
WebSocket subscriber receiving messages, a pushed-frame camera, and a finished job."""

import os
import re
import shutil
import subprocess
import time
import unittest

from harness import Server, camera, wait_for
from test_pipeline import jpeg_bytes
from ws_client import WebSocket


def sample(text, name, labels):
    """The value of the sample `name{labels}` (labels as written, e.g. 'stage="decode"'); None if absent."""
    for line in text.splitlines():
        if line.startswith(name + "{") and labels in line:
            return float(line.split()[-1])
    return None


class PrometheusExposition(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=("--set", "pipeline.motion_gate=false")).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def traffic(self):
        s = self.server
        self.assertEqual(s.json("POST", "/api/v1/cameras", camera("m1", source={"kind": "push"}))[0], 201)
        frame = jpeg_bytes(None)
        for _ in range(3):  # decode, motion, detect and track each see these frames
            wait_for(lambda: s.request("POST", "/api/v1/cameras/m1/frames", body=frame,
                                       headers={"Content-Type": "image/jpeg"})[0] == 202)
            time.sleep(0.3)  # the camera detects at most a few frames per second
        s.request("GET", "/api/v1/cameras")
        s.request("GET", "/api/v1/cameras/nope")  # 404
        s.request("GET", "/no/such/route")         # unmatched
        s.request("GET", "/api/v1/cameras", auth=False)  # 401
        w = WebSocket(s.port, token=s.token)
        self.addCleanup(w.close)
        w.subscribe(topics=["system", "jobs"])
        self.assertEqual(s.json("POST", "/api/v1/stream/test", {"data": {"x": 1}})[0], 202)
        w.recv_until(lambda m: "test" in m.get("data", {}))
        status, _, job = s.json("POST", "/api/v1/jobs", {"kind": "vacuum"})
        self.assertEqual(status, 202, job)
        wait_for(lambda: s.json("GET", f"/api/v1/jobs/{job['id']}")[2]["state"] == "succeeded")
        return w

    def test_promtool_accepts_the_live_exposition(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool missing: scripts/setup.sh installs the prometheus package")
        self.traffic()
        status, headers, body = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"), headers["content-type"])
        result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
        findings = (result.stdout + result.stderr).decode()
        self.assertEqual(result.returncode, 0, findings)
        self.assertEqual(findings.strip(), "", "promtool reported findings")
        text = body.decode()
        for family in ("argus_http_requests_total", "argus_http_request_duration_seconds_bucket",
                       "argus_stream_subscribers", "argus_stream_messages_sent_total", "argus_jobs_finished_total",
                       "argus_process_resident_memory_bytes", "argus_store_commit_duration_seconds_bucket"):
            self.assertIn(family, text)
        # Requests and their durations carry route template, method and status.
        self.assertIsNotNone(sample(text, "argus_http_request_duration_seconds_count",
                                    'method="GET",route="/api/v1/cameras/{id}",status="404"'))
        # Route templates, not raw paths, label the requests.
        self.assertIn('route="/api/v1/cameras/{id}"', text)
        self.assertNotIn("/api/v1/cameras/nope", text)
        self.assertNotIn("/no/such/route", text)
        for stage in ("decode", "motion", "detect", "track"):
            count = sample(text, "argus_pipeline_stage_seconds_count", f'stage="{stage}"')
            self.assertIsNotNone(count, f"no {stage} stage histogram")
            self.assertGreaterEqual(count, 1, f"{stage} stage never observed")
        # Every family the server exposes is documented in docs/metrics.md.
        with open(os.path.join(os.path.dirname(__file__), "../../docs/metrics.md")) as f:
            documented = set(re.findall(r"`(argus_[a-z_]+)`", f.read()))
        exposed = {l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")}
        self.assertEqual(exposed - documented, set(), "families missing from docs/metrics.md")
        sent = [l for l in text.splitlines() if l.startswith("argus_stream_messages_sent_total")]
        self.assertTrue(sent and float(sent[0].split()[-1]) >= 1, sent)


if __name__ == "__main__":
    unittest.main()
