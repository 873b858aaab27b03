"""Resumable video uploads through the real binary: a clip goes up in chunks no larger than
the request body limit, a wrong offset is refused with where to resume, a restart in the
middle loses nothing, the finished file is byte-identical under videos/uploads/, listed by
GET /api/v1/videos and analyzed by a job; bad names, sizes and other users' uploads are
refused."""

import hashlib
import json
import os
import tempfile
import unittest

from harness import Server
from test_jobs import FINAL, make_clip, submit, wait_state

PASSWORD = "uploader-password-1"


class UploadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A small body limit makes a 3-second clip take many chunks.
        cls.server = Server(env={"ARGUS_MAX_BODY_BYTES": "64k"}).start()
        cls.clip = os.path.join(tempfile.mkdtemp(prefix="argus-clip-"), "walk.avi")
        make_clip(cls.clip, seconds=3)
        with open(cls.clip, "rb") as f:
            cls.data = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def create(self, name, size, token=None, expect=201):
        status, hdrs, doc = self.server.json("POST", "/api/v1/uploads", {"name": name, "size": size}, token=token)
        self.assertEqual(status, expect, doc)
        return hdrs, doc

    def put(self, upload_id, offset, chunk, token=None):
        status, hdrs, body = self.server.request("PUT", f"/api/v1/uploads/{upload_id}?offset={offset}", chunk,
                                                 headers={"Content-Type": "application/octet-stream"}, token=token)
        return status, hdrs, json.loads(body) if body else None

    def send(self, upload_id, start, end, chunk_bytes):
        doc = None
        for offset in range(start, end, chunk_bytes):
            status, hdrs, doc = self.put(upload_id, offset, self.data[offset:min(offset + chunk_bytes, end)])
            self.assertEqual(status, 200, doc)
            self.assertEqual(int(hdrs["upload-offset"]), doc["received"])
        return doc

    def test_upload_in_chunks_across_a_restart_then_analyze(self):
        s = self.server
        hdrs, up = self.create("walk.avi", len(self.data))
        self.assertEqual(hdrs["location"], f"/api/v1/uploads/{up['id']}")
        self.assertEqual((up["received"], up["complete"], up["file"]), (0, False, None))
        chunk = up["chunk_bytes"]
        self.assertEqual(chunk, 64 * 1024)
        self.assertGreater(len(self.data), 4 * chunk)

        half = (len(self.data) // 2) // chunk * chunk
        self.send(up["id"], 0, half, chunk)
        # A client that lost track: refused, told where to resume; nothing is written.
        status, hdrs, problem = self.put(up["id"], half + 10, self.data[half + 10:half + 20])
        self.assertEqual(status, 409, problem)
        self.assertEqual(int(hdrs["upload-offset"]), half)
        self.assertIn(f"send from offset {half}", problem["detail"])
        # A chunk larger than the body limit is refused before it is read.
        status, _, _ = self.put(up["id"], half, self.data[half:half + chunk + 1])
        self.assertEqual(status, 413)

        # The server restarts in the middle: the upload is where it was.
        s.stop()
        s.start()
        status, _, now = s.json("GET", f"/api/v1/uploads/{up['id']}")
        self.assertEqual(status, 200, now)
        self.assertEqual(now["received"], half)
        done = self.send(up["id"], half, len(self.data), chunk)
        self.assertTrue(done["complete"])
        self.assertEqual(done["file"], "uploads/walk.avi")
        with open(os.path.join(s.data_dir, "videos", "uploads", "walk.avi"), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(self.data).hexdigest())
        # Complete: no more bytes, no cancel.
        self.assertEqual(self.put(up["id"], len(self.data), b"x")[0], 409)
        self.assertEqual(s.request("DELETE", f"/api/v1/uploads/{up['id']}")[0], 409)

        _, _, videos = s.json("GET", "/api/v1/videos")
        listed = {v["file"]: v for v in videos["items"]}
        self.assertEqual(listed["uploads/walk.avi"]["size"], len(self.data))
        self.assertFalse(any(f.startswith(".uploads") for f in listed))

        status, _, doc = submit(s, "analyze", {"file": done["file"], "fps": 10})
        self.assertEqual(status, 202, doc)
        finished = wait_state(s, doc["id"], FINAL)
        self.assertEqual(finished["state"], "succeeded", finished)
        self.assertEqual(finished["result"]["frames"], 30)

        # The same name again: the first video stays, the second gets a suffix.
        _, again = self.create("walk.avi", 3)
        self.assertEqual(self.put(again["id"], 0, b"abc")[2]["file"], "uploads/walk-2.avi")

    def test_bad_requests(self):
        s = self.server
        for name in ("../evil.mp4", "a/b.mp4", ".hidden.mp4", "notes.txt", "", "x" * 200 + ".mp4", "sp ace.mp4"):
            _, doc = self.create(name, 10, expect=422)
            self.assertEqual([e["pointer"] for e in doc["errors"]], ["/name"], name)
        for size in (0, -5, 1 << 60, "12"):
            _, doc = self.create("ok.mp4", size, expect=422)
            self.assertEqual([e["pointer"] for e in doc["errors"]], ["/size"], size)
        self.assertEqual(s.json("POST", "/api/v1/uploads", {"name": "a.mp4", "size": 1, "path": "/etc"})[0], 422)
        _, up = self.create("short.mp4", 4)
        self.assertEqual(self.put(up["id"], 0, b"")[0], 400)           # no bytes
        self.assertEqual(self.put(up["id"], 0, b"12345")[0], 400)      # past the declared size
        status, _, _ = s.request("PUT", f"/api/v1/uploads/{up['id']}", b"12")
        self.assertEqual(status, 400)                                  # no offset
        self.assertEqual(self.put("../../argus.db", 0, b"1")[0], 404)  # ids never become paths
        self.assertEqual(self.put("0123456789abcdef", 0, b"1")[0], 404)
        self.assertEqual(s.request("DELETE", f"/api/v1/uploads/{up['id']}")[0], 204)
        self.assertEqual(s.request("GET", f"/api/v1/uploads/{up['id']}")[0], 404)

    def test_uploads_are_their_creators(self):
        s = self.server
        for user, role in (("up-operator", "operator"), ("up-viewer", "viewer")):
            status, _, doc = s.json("POST", "/api/v1/users", {"username": user, "password": PASSWORD, "role": role})
            self.assertEqual(status, 201, doc)
        operator = s.json("POST", "/api/v1/auth/login", {"username": "up-operator", "password": PASSWORD},
                          auth=False)[2]["access_token"]
        viewer = s.json("POST", "/api/v1/auth/login", {"username": "up-viewer", "password": PASSWORD},
                        auth=False)[2]["access_token"]
        _, mine = self.create("op.mp4", 2, token=operator)
        _, admins = self.create("admin.mp4", 2)
        self.assertEqual(self.put(mine["id"], 0, b"ab", token=operator)[0], 200)
        # Another operator's (here the admin's) upload looks absent; an administrator sees all.
        self.assertEqual(self.put(admins["id"], 0, b"ab", token=operator)[0], 404)
        self.assertEqual(s.request("GET", f"/api/v1/uploads/{mine['id']}")[0], 200)
        # Viewers read the video list but do not upload.
        self.assertEqual(s.request("GET", "/api/v1/videos", token=viewer)[0], 200)
        self.assertEqual(s.json("POST", "/api/v1/uploads", {"name": "v.mp4", "size": 1}, token=viewer)[0], 403)


if __name__ == "__main__":
    unittest.main()
