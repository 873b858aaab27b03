"""RTSP cameras against a real RTSP server (GStreamer's gst-rtsp-server on loopback):
a stream comes online and is processed; wrong credentials and wrong paths say so in the
camera status; a server that goes away makes the camera reconnect, and it comes back
online by itself when the server returns."""

import os
import subprocess
import time
import unittest

from harness import Server, camera, free_port, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))




class RtspServer:
    def __init__(self, port, user=None, password=None):
        args = ["/usr/bin/python3", os.path.join(HERE, "rtsp_server.py"), str(port)]
        if user:
            args += [user, password]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise AssertionError("rtsp_server.py did not start: " + line + self.proc.stderr.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


class RtspCameras(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.rtsp = RtspServer(cls.port, "viewer", "s3cret-pw")
        cls.server = Server(args=("--set", "ingest.backoff_initial=200ms", "--set", "ingest.backoff_max=1s",
                                  "--set", "ingest.read_timeout=3s")).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.rtsp.stop()

    def url(self, creds="viewer:s3cret-pw", path="cam"):
        return f"rtsp://{creds + '@' if creds else ''}127.0.0.1:{self.port}/{path}"

    def status(self, cid):
        return self.server.json("GET", f"/api/v1/cameras/{cid}")[2]["status"]

    def add(self, cid, url):
        body = camera(cid, source={"kind": "stream", "url": url},
                      detection={"fps": 2, "labels": ["person"], "min_score": 0.5})
        status, _, doc = self.server.json("POST", "/api/v1/cameras", body)
        self.assertEqual(status, 201, doc)
        return doc

    def test_stream_comes_online_and_frames_flow(self):
        doc = self.add("rtsp-ok", self.url())
        self.assertNotIn("s3cret-pw", doc["source"]["url"])
        st = wait_for(lambda: (lambda x: x if x["state"] == "online" and x["frames_in"] >= 10 else None)(
            self.status("rtsp-ok")))
        self.assertGreater(st["fps_in"], 0)
        self.assertIsNotNone(st["last_frame_at"])
        self.server.request("DELETE", "/api/v1/cameras/rtsp-ok")

    def test_wrong_credentials_and_wrong_path_are_named(self):
        self.add("rtsp-badpw", self.url(creds="viewer:wrong"))
        self.add("rtsp-nocreds", self.url(creds=None))
        self.add("rtsp-badpath", self.url(path="no-such-stream"))
        for cid, words in [("rtsp-badpw", "authentication failed"), ("rtsp-nocreds", "requires authentication"),
                           ("rtsp-badpath", "no such stream")]:
            # While starting, the reason is "connecting"; wait for the failure.
            st = wait_for(lambda: (lambda x: x if x["state"] in ("reconnecting", "error", "offline") else None)(
                self.status(cid)))
            self.assertIn(words, st["reason"], cid)
            self.assertNotIn("s3cret-pw", st["reason"])
        self.assertFalse(any("wrong" in line or "s3cret-pw" in line for line in self.server.lines))
        for cid in ("rtsp-badpw", "rtsp-nocreds", "rtsp-badpath"):
            self.server.request("DELETE", f"/api/v1/cameras/{cid}")

    def test_server_restart_reconnects(self):
        port = free_port()
        rtsp = RtspServer(port)
        try:
            self.add("rtsp-flaky", f"rtsp://127.0.0.1:{port}/cam")
            wait_for(lambda: self.status("rtsp-flaky")["state"] == "online")
            rtsp.stop()
            st = wait_for(lambda: (lambda x: x if x["state"] != "online" else None)(self.status("rtsp-flaky")))
            self.assertTrue(st["reason"])
            rtsp = RtspServer(port)
            st = wait_for(lambda: (lambda x: x if x["state"] == "online" else None)(self.status("rtsp-flaky")))
            self.assertGreaterEqual(st["reconnects"], 1)
        finally:
            rtsp.stop()
            self.server.request("DELETE", "/api/v1/cameras/rtsp-flaky")


if __name__ == "__main__":
    unittest.main()
