"""The cameras API over a real socket: CRUD, validation, paging, conditional requests."""

import json
import unittest

from harness import ServerTest, camera, wait_for


class CamerasCrud(ServerTest):
    def test_create_get_update_delete(self):
        s = self.server
        body = camera("crud-1", zones=[{"name": "door", "polygon": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6]]}],
                      lines=[{"name": "gate", "points": [[0.0, 0.5], [1.0, 0.5]], "in": "right"}],
                      detection={"fps": 4, "labels": ["person", "car"], "min_score": 0.6})
        status, hdrs, doc = s.json("POST", "/api/v1/cameras", body)
        self.assertEqual(status, 201, doc)
        self.assertEqual(hdrs["location"], "/api/v1/cameras/crud-1")
        self.assertIn("etag", hdrs)
        self.assertEqual(doc["id"], "crud-1")
        self.assertEqual(doc["zones"][0]["polygon"][2], [0.5, 0.6])
        self.assertEqual(doc["lines"][0]["in"], "right")
        self.assertEqual(doc["detection"]["labels"], ["person", "car"])
        self.assertIn("status", doc)
        self.assertIn("state", doc["status"])
        self.assertTrue(doc["created_at"].endswith("Z"))

        status, _, got = s.json("GET", "/api/v1/cameras/crud-1")
        self.assertEqual(status, 200)
        self.assertEqual(got["name"], "Camera crud-1")

        status, _, patched = s.json("PATCH", "/api/v1/cameras/crud-1", {"name": "Renamed", "zones": None},
                                    headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(status, 200, patched)
        self.assertEqual(patched["name"], "Renamed")
        self.assertEqual(patched["zones"], [])
        self.assertEqual(patched["lines"][0]["name"], "gate")
        self.assertEqual(patched["created_at"], doc["created_at"])

        status, _, _ = s.request("DELETE", "/api/v1/cameras/crud-1")
        self.assertEqual(status, 204)
        status, hdrs, problem = s.json("GET", "/api/v1/cameras/crud-1")
        self.assertEqual(status, 404)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        self.assertEqual(problem["status"], 404)
        self.assertEqual(problem["instance"], "/api/v1/cameras/crud-1")
        for key in ("type", "title", "detail"):
            self.assertIn(key, problem)

    def test_duplicate_id_is_409(self):
        s = self.server
        self.assertEqual(s.json("POST", "/api/v1/cameras", camera("dup"))[0], 201)
        status, hdrs, doc = s.json("POST", "/api/v1/cameras", camera("dup"))
        self.assertEqual(status, 409)
        self.assertEqual(hdrs["content-type"], "application/problem+json")

    def test_credentials_are_masked(self):
        s = self.server
        body = camera("masked", source={"url": "rtsp://admin:s3cret@127.0.0.1:9/live"})
        status, _, doc = s.json("POST", "/api/v1/cameras", body)
        self.assertEqual(status, 201)
        self.assertEqual(doc["source"]["url"], "rtsp://admin:***@127.0.0.1:9/live")
        _, _, raw = s.request("GET", "/api/v1/cameras")
        self.assertNotIn(b"s3cret", raw)
        # Sending the masked URL back keeps the stored password; the response stays masked.
        status, _, doc = s.json("PATCH", "/api/v1/cameras/masked", {"source": doc["source"], "name": "x"})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["source"]["url"], "rtsp://admin:***@127.0.0.1:9/live")
        self.assertFalse(any("s3cret" in line for line in s.lines))


class CamerasValidation(ServerTest):
    def post(self, body, **kw):
        return self.server.json("POST", "/api/v1/cameras", body, **kw)

    def pointers(self, doc):
        return {e["pointer"]: e["detail"] for e in doc["errors"]}

    def test_every_field_is_validated_with_pointers(self):
        body = {
            "id": "Bad Id!",
            "name": "",
            "source": {"kind": "mjpeg", "url": "rtsp://cam/x"},
            "enabled": "yes",
            "detection": {"fps": 0, "labels": ["Person!"], "min_score": 2},
            "zones": [{"name": "z", "polygon": [[0, 0], [1.5, 0]]},
                      {"name": "y", "polygon": [[0, 0], [0.5, 0.5], [1, 2]]}],
            "lines": [{"name": "l", "points": [[0.1, 0.1], [0.1, 0.1]], "in": "up"}],
            "extra": 1,
        }
        status, hdrs, doc = self.post(body)
        self.assertEqual(status, 422)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        p = self.pointers(doc)
        for pointer in ["/id", "/name", "/source/url", "/enabled", "/detection/fps", "/detection/labels/0",
                        "/detection/min_score", "/zones/0/polygon", "/zones/1/polygon/2/1", "/lines/0/points",
                        "/lines/0/in", "/extra"]:
            self.assertIn(pointer, p, f"missing {pointer} in {p}")
        self.assertIn("scheme", p["/source/url"])
        self.assertIn("0.1", p["/detection/fps"])

    def test_fps_range(self):
        status, _, doc = self.post(camera("fps-hi", detection={"fps": 61}))
        self.assertEqual(status, 422)
        self.assertIn("/detection/fps", self.pointers(doc))
        self.assertEqual(self.post(camera("fps-ok", detection={"fps": 60}))[0], 201)

    def test_url_schemes(self):
        for url in ["ftp://x/y", "javascript:alert(1)", "file:relative", "http://", "rtsp://host:99999/x",
                    "rtsp://ho st/x", "/etc/passwd"]:
            status, _, doc = self.post(camera("u1", source={"url": url}))
            self.assertEqual(status, 422, url)
            self.assertIn("/source/url", self.pointers(doc), url)

    def test_read_only_fields(self):
        status, _, doc = self.post(camera("ro", created_at="2020-01-01T00:00:00Z", status={"state": "online"}))
        self.assertEqual(status, 422)
        self.assertIn("/created_at", self.pointers(doc))
        self.assertIn("/status", self.pointers(doc))

    def test_patch_cannot_change_id_and_validates(self):
        self.assertEqual(self.post(camera("pv"))[0], 201)
        status, _, doc = self.server.json("PATCH", "/api/v1/cameras/pv", {"id": "other"})
        self.assertEqual(status, 422)
        self.assertIn("/id", self.pointers(doc))
        status, _, doc = self.server.json("PATCH", "/api/v1/cameras/pv", {"detection": {"min_score": -1}})
        self.assertEqual(status, 422)
        self.assertIn("/detection/min_score", self.pointers(doc))
        status, _, doc = self.server.json("PATCH", "/api/v1/cameras/pv", [1, 2])
        self.assertEqual(status, 422)
        status, _, doc = self.server.json("PATCH", "/api/v1/cameras/nope", {"name": "x"})
        self.assertEqual(status, 404)

    def test_malformed_json_and_media_type(self):
        s = self.server
        status, hdrs, doc = s.json("POST", "/api/v1/cameras", '{"id": "x",', headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        self.assertIn("byte", doc["detail"])
        status, _, doc = s.json("POST", "/api/v1/cameras", json.dumps(camera("mt")), headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        deep = "[" * 5000 + "]" * 5000
        status, _, doc = s.json("POST", "/api/v1/cameras", deep, headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        status, _, doc = s.json("POST", "/api/v1/cameras", b"\xff\xfe{}", headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        status, _, doc = s.json("POST", "/api/v1/cameras", "[]", headers={"Content-Type": "application/json"})
        self.assertEqual(status, 422)


class CamerasPaging(ServerTest):
    def test_paging_walks_every_camera_once(self):
        s = self.server
        ids = [f"page-{i:02d}" for i in range(12)]
        for cid in reversed(ids):
            self.assertEqual(s.json("POST", "/api/v1/cameras", camera(cid))[0], 201)
        seen, cursor, pages = [], None, 0
        while True:
            path = "/api/v1/cameras?limit=5" + (f"&cursor={cursor}" if cursor else "")
            status, _, doc = s.json("GET", path)
            self.assertEqual(status, 200)
            pages += 1
            seen += [c["id"] for c in doc["items"] if c["id"].startswith("page-")]
            cursor = doc.get("next_cursor")
            if not cursor:
                break
        self.assertEqual(seen, sorted(ids))
        self.assertEqual(pages, 3)

    def test_default_and_coerced_limits(self):
        s = self.server
        status, _, doc = s.json("GET", "/api/v1/cameras?limit=100000")
        self.assertEqual(status, 200)
        self.assertIn("items", doc)
        for bad in ["0", "-3", "abc", ""]:
            status, hdrs, doc = s.json("GET", f"/api/v1/cameras?limit={bad}")
            self.assertEqual(status, 400, bad)
            self.assertEqual(hdrs["content-type"], "application/problem+json")
        status, _, doc = s.json("GET", "/api/v1/cameras?cursor=not-a-cursor")
        self.assertEqual(status, 400)

    def test_limit_max_500(self):
        s = self.server
        for i in range(3):
            s.json("POST", "/api/v1/cameras", camera(f"max-{i}"))
        status, _, doc = s.json("GET", "/api/v1/cameras?limit=501")
        self.assertEqual(status, 200)
        self.assertLessEqual(len(doc["items"]), 500)
        self.assertNotIn("next_cursor", doc)


class ConditionalRequests(ServerTest):
    def test_etag_304_and_412(self):
        s = self.server
        status, hdrs, _ = s.json("POST", "/api/v1/cameras", camera("cond"))
        self.assertEqual(status, 201)
        status, hdrs, _ = s.request("GET", "/api/v1/cameras/cond")
        etag = hdrs["etag"]
        status, hdrs2, body = s.request("GET", "/api/v1/cameras/cond", headers={"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")
        self.assertEqual(hdrs2["etag"], etag)
        # Stale If-Match: 412 and nothing changes.
        status, _, doc = s.json("PATCH", "/api/v1/cameras/cond", {"name": "A"}, headers={"If-Match": '"stale"'})
        self.assertEqual(status, 412)
        self.assertEqual(doc["status"], 412)
        self.assertEqual(s.json("GET", "/api/v1/cameras/cond")[2]["name"], "Camera cond")
        # Matching If-Match succeeds and changes the ETag.
        status, hdrs3, doc = s.json("PATCH", "/api/v1/cameras/cond", {"name": "B"}, headers={"If-Match": etag})
        self.assertEqual(status, 200)
        self.assertNotEqual(hdrs3["etag"], etag)
        # The old ETag no longer matches for DELETE.
        status, _, _ = s.request("DELETE", "/api/v1/cameras/cond", headers={"If-Match": etag})
        self.assertEqual(status, 412)
        status, _, _ = s.request("DELETE", "/api/v1/cameras/cond", headers={"If-Match": hdrs3["etag"]})
        self.assertEqual(status, 204)

    def test_list_etag(self):
        s = self.server
        s.json("POST", "/api/v1/cameras", camera("le-1", enabled=False))

        def unchanged_etag():
            # The list embeds live status: another camera of this class changing state
            # between the two reads changes the ETag, so read again until one holds.
            _, got, _ = s.request("GET", "/api/v1/cameras")
            status, _, _ = s.request("GET", "/api/v1/cameras", headers={"If-None-Match": got["etag"]})
            return got if status == 304 else None
        hdrs = wait_for(unchanged_etag, timeout=15)
        s.json("POST", "/api/v1/cameras", camera("le-2", enabled=False))
        status, _, body = s.request("GET", "/api/v1/cameras", headers={"If-None-Match": hdrs["etag"]})
        self.assertEqual(status, 200)
        self.assertIn(b"le-2", body)


if __name__ == "__main__":
    unittest.main()
