"""The query API end to end, through the real binary: event filters and paging both ways,
review and delete (with the snapshot file), detections from pushed frames, count series per
minute, hour and day, media files (traversal attempts, ranges, ETags, content types),
CSV/JSON exports, and camera scopes.

Events and counts are seeded deterministically: the server is started once (it creates the
database and the admin), stopped, the SQLite file is filled directly in the documented
column formats, and the server is started again on the same data directory."""

import csv
import io
import json
import os
import shutil
import sqlite3
import tempfile
import time
import unittest
import urllib.parse

import test_pipeline
from harness import Server, camera, wait_for

T0 = 1769846400  # 2026-01-31T08:00:00Z, Unix seconds
DAY0 = 1769817600  # 2026-01-31T00:00:00Z
VIEWER_PW = "scoped-viewer-pw-1"
BULK_ROWS = 50_001
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def ev(eid, cam, label, start, top, zones=(), crossings=(), reviewed=False, note="", snapshot=None, end=5):
    return {"id": eid, "camera": cam, "label": label, "start": start, "top": top, "zones": list(zones),
            "crossings": [{"line": l, "direction": d, "time": (start + 1) * 1000} for l, d in crossings],
            "reviewed": reviewed, "note": note, "snapshot": snapshot, "end": start + end}


EVENTS = [
    ev("e1", "front", "person", T0, 0.9, zones=["entrance"], crossings=[("door", "in")],
       snapshot="snapshots/front/2026-01-31/e1.jpg"),
    ev("e2", "front", "car", T0 + 60, 0.4, zones=["street"]),
    ev("e3", "yard", "person", T0 + 120, 0.6, crossings=[("gate", "out")]),
    ev("e4", "yard", "dog", T0 + 180, 0.8, reviewed=True, snapshot="snapshots/yard/2026-01-31/e4.jpg"),
    ev("e5", "front", "person", T0 + 240, 0.95, zones=["entrance", "street"],
       note='=HYPERLINK("http://x"), "quoted"\nline two'),
    ev("d1", "back", "cat", T0 + 300, 0.7, snapshot="snapshots/back/2026-01-31/d1.jpg"),
] + [ev(f"p{i:02d}", "lot", "car", T0 + 1000 + (i // 2), 0.5) for i in range(21)]


def minute_rows():
    """Per-minute rows over two UTC days for camera front: camera, line and zone series."""
    rows = []
    for k in range(0, 2 * 24 * 60, 13):
        b = (DAY0 + k * 60) * 1000
        rows.append(("front", "camera", "", "person", b, k % 3 + 1, 0, 0, k % 5))
        if k % 2 == 0:
            rows.append(("front", "line", "door", "person", b, 0, k % 4, k % 3, 0))
        if k % 3 == 0:
            rows.append(("front", "zone", "entrance", "car", b, 1, 0, 0, k % 7))
        rows.append(("yard", "camera", "", "person", b, 100, 0, 0, 100))
    return rows


def seed(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "argus.db"))
    with db:
        for e in EVENTS:
            db.execute("INSERT INTO events (id, camera_id, label, score, top_score, box, zones, crossings, start_time,"
                       " end_time, updated_at, snapshot, reviewed, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (e["id"], e["camera"], e["label"], e["top"], e["top"], "[0.1,0.2,0.3,0.4]",
                        json.dumps(e["zones"]), json.dumps(e["crossings"]), e["start"] * 1000, e["end"] * 1000,
                        e["end"] * 1000, e["snapshot"], 1 if e["reviewed"] else 0, e["note"]))
        db.execute("INSERT INTO detections (event_id, time, camera_id, label, score, x1, y1, x2, y2)"
                   " VALUES ('d1', ?, 'back', 'cat', 0.7, 0, 0, 1, 1)", ((T0 + 300) * 1000,))
        for i in range(3):
            db.execute("INSERT INTO detections (event_id, time, camera_id, label, score, x1, y1, x2, y2)"
                       " VALUES (?,?,?,?,?,?,?,?,?)", ("e1", (T0 + i) * 1000, "front", "person", 0.8 + i / 100,
                                                       0.1, 0.2, 0.3, 0.4))
        db.executemany("INSERT INTO counts (camera_id, scope, name, label, bucket, seen, crossings_in, crossings_out,"
                       " peak) VALUES (?,?,?,?,?,?,?,?,?)", minute_rows())
        db.executemany("INSERT INTO counts (camera_id, scope, name, label, bucket, seen) VALUES (?,?,?,?,?,?)",
                       [("bulk", "camera", "", "person", (DAY0 + 60 * i) * 1000, 1) for i in range(BULK_ROWS)])
    db.close()
    media = os.path.join(data_dir, "media")
    files = {
        "snapshots/front/2026-01-31/e1.jpg": JPEG,
        "snapshots/yard/2026-01-31/e4.jpg": JPEG[:100],
        "snapshots/back/2026-01-31/d1.jpg": JPEG[:50],
        "clips/yard/clip.mp4": b"\x00\x00\x00\x18ftypmp42" + b"v" * 50,
        "notes/readme.txt": b"hello media\n",
        "data.json": b'{"a": 1}',
        "table.csv": b"a,b\r\n1,2\r\n",
        "pic.png": b"\x89PNG\r\n\x1a\n",
        "movie.webm": b"\x1aE\xdf\xa3",
        "blob.bin": b"\x00\x01",
        "Upper.JPEG": JPEG[:10],
    }
    for rel, data in files.items():
        path = os.path.join(media, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    # Links: one leading out of the media directory, one from front's folder into yard's.
    os.symlink(os.path.join(data_dir, "argus.db"), os.path.join(media, "escape.jpg"))
    os.symlink("/etc/passwd", os.path.join(media, "snapshots/front/passwd.jpg"))
    os.symlink(os.path.join(media, "snapshots/yard/2026-01-31/e4.jpg"), os.path.join(media, "snapshots/front/link.jpg"))


def seeded_dir(viewer_password, viewer_role="viewer"):
    """A data directory with five cameras, a user `frontonly` scoped to camera front, and the
    seeded events, counts and media (the server must be stopped while the database is seeded)."""
    d = tempfile.mkdtemp(prefix="argus-query-")
    first = Server(data_dir=d).start()
    for cid in ("front", "yard", "lot", "bulk", "back"):
        status, _, doc = first.json("POST", "/api/v1/cameras", camera(cid, enabled=False))
        assert status == 201, doc
    status, _, doc = first.json("POST", "/api/v1/users", {"username": "frontonly", "password": viewer_password,
                                                          "role": viewer_role, "cameras": ["front"]})
    assert status == 201, doc
    assert first.stop() == 0
    seed(d)
    return d


def expected_series(cam, size, scope=None, start=None, end=None):
    """The series computed here from the seeded minute rows: {(time, scope, name, label): (in, out, seen, peak)}."""
    out = {}
    for c, sc, name, label, b, seen, cin, cout, peak in minute_rows():
        if c != cam or (scope and sc != scope):
            continue
        t = b // 1000 - (b // 1000) % size
        if (start is not None and t < start) or (end is not None and t >= end):
            continue
        key = (iso(t), sc, name, label)
        i, o, s, p = out.get(key, (0, 0, 0, 0))
        out[key] = (i + cin, o + cout, s + seen, max(p, peak))
    return out


class QueryApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = seeded_dir(VIEWER_PW)
        # The seeded data is from January 2026: keep it from the retention job run at start.
        cls.server = Server(data_dir=cls.dir, env={"ARGUS_JOBS_RETENTION_DAYS": "0"}).start()
        cls.viewer = cls.server.json("POST", "/api/v1/auth/login", {"username": "frontonly", "password": VIEWER_PW},
                                     auth=False)[2]["access_token"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def ids(self, query, token=None):
        """Every event id over all pages of /api/v1/events?<query>."""
        out, cursor = [], None
        for _ in range(100):
            q = query + (f"&cursor={cursor}" if cursor else "")
            status, _, doc = self.server.json("GET", "/api/v1/events?" + q, token=token)
            self.assertEqual(status, 200, doc)
            out += [e["id"] for e in doc["items"]]
            cursor = doc.get("next_cursor")
            if not cursor:
                return out
        self.fail("paging did not end")

    def assert_problem(self, method, path, status, body=None, token=None, headers=None):
        got, hdrs, payload = self.server.request(method, path, body=body, token=token, headers=headers)
        self.assertEqual(got, status, (path, payload[:300]))
        self.assertEqual(hdrs["content-type"], "application/problem+json", path)
        return json.loads(payload)

    # --- events --------------------------------------------------------------------------

    def test_event_filters(self):
        self.assertEqual(self.ids("camera=front&limit=500"), ["e5", "e2", "e1"])
        self.assertEqual(self.ids("camera=front,yard"), ["e5", "e4", "e3", "e2", "e1"])
        self.assertEqual(self.ids("camera=front&label=person"), ["e5", "e1"])
        self.assertEqual(self.ids("zone=street"), ["e5", "e2"])
        self.assertEqual(self.ids("zone=entrance&camera=front"), ["e5", "e1"])
        self.assertEqual(self.ids("line=door"), ["e1"])
        self.assertEqual(self.ids("line=gate"), ["e3"])
        self.assertEqual(self.ids("min_score=0.85"), ["e5", "e1"])
        self.assertEqual(self.ids("reviewed=true"), ["e4"])
        self.assertEqual(self.ids("reviewed=false&camera=yard"), ["e3"])
        self.assertEqual(self.ids(f"from={T0 + 60}&to={T0 + 181}"), ["e4", "e3", "e2"])
        self.assertEqual(self.ids(f"from={urllib.parse.quote(iso(T0 + 60))}&to={urllib.parse.quote(iso(T0 + 180))}"
                                  "&sort=asc"), ["e2", "e3"])
        self.assertEqual(self.ids("camera=front,yard&sort=asc&limit=2"), ["e1", "e2", "e3", "e4", "e5"])

    def test_event_paging_both_ways(self):
        lot = [f"p{i:02d}" for i in range(21)]
        for limit in (1, 2, 5, 21, 100):
            self.assertEqual(self.ids(f"camera=lot&sort=asc&limit={limit}"), lot, limit)
            self.assertEqual(self.ids(f"camera=lot&limit={limit}"), lot[::-1], limit)
        # A cursor of one order is refused by the other.
        _, _, doc = self.server.json("GET", "/api/v1/events?camera=lot&sort=asc&limit=3")
        self.assert_problem("GET", f"/api/v1/events?camera=lot&sort=desc&cursor={doc['next_cursor']}", 400)

    def test_event_parameters_are_validated(self):
        for query in ("min_score=abc", "min_score=1.5", "min_score=-0.1", "reviewed=yes", "sort=up", "from=yesterday",
                      "to=2026-13-01T00:00:00Z", f"from={T0 + 10}&to={T0}", "zone=", "line=", "camera=a,,b",
                      "cursor=bm9wZQ", "limit=0"):
            doc = self.assert_problem("GET", "/api/v1/events?" + query, 400)
            self.assertTrue(doc["detail"], query)
        # after_id asks for stream messages (polling), whose ids are numbers, not event ids.
        self.assert_problem("GET", "/api/v1/events?after_id=e1", 400)

    def test_review_event(self):
        s = self.server
        status, _, doc = s.json("PATCH", "/api/v1/events/e3", {"reviewed": True, "note": "checked: a neighbour"})
        self.assertEqual(status, 200, doc)
        self.assertTrue(doc["reviewed"])
        self.assertEqual(doc["note"], "checked: a neighbour")
        self.assertEqual(doc["label"], "person")
        self.assertEqual(s.json("GET", "/api/v1/events/e3")[2]["note"], "checked: a neighbour")
        status, _, doc = s.json("PATCH", "/api/v1/events/e3", {"reviewed": False})
        self.assertEqual((status, doc["reviewed"], doc["note"]), (200, False, "checked: a neighbour"))
        # Notes count characters, not bytes.
        self.assertEqual(s.json("PATCH", "/api/v1/events/e3", {"note": "é" * 2000})[0], 200)
        for body in ({"note": "x" * 2001}, {"reviewed": "yes"}, {"note": 5}, {"score": 1}, {}, [1]):
            self.assert_problem("PATCH", "/api/v1/events/e3", 422, body=body)
        self.assert_problem("PATCH", "/api/v1/events/e3", 400, body="{bad", headers={"Content-Type": "application/json"})
        self.assert_problem("PATCH", "/api/v1/events/nope", 404, body={"reviewed": True})
        _, _, audit = s.json("GET", "/api/v1/audit?action=event.review&limit=50")
        self.assertTrue(any(a["target"] == "e3" and a["outcome"] == "ok" for a in audit["items"]))

    def test_delete_event_removes_detections_and_snapshot(self):
        s = self.server
        snapshot = os.path.join(self.dir, "media", "snapshots/back/2026-01-31/d1.jpg")
        self.assertTrue(os.path.exists(snapshot))
        self.assertEqual(s.request("GET", "/api/v1/events/d1/snapshot.jpg")[0], 200)
        self.assertEqual(len(s.json("GET", "/api/v1/events/d1/detections")[2]["items"]), 1)
        status, _, payload = s.request("DELETE", "/api/v1/events/d1")
        self.assertEqual(status, 204, payload)
        self.assertEqual(payload, b"")
        self.assertFalse(os.path.exists(snapshot))
        self.assert_problem("GET", "/api/v1/events/d1", 404)
        self.assert_problem("GET", "/api/v1/events/d1/detections", 404)
        self.assert_problem("GET", "/api/v1/events/d1/snapshot.jpg", 404)
        self.assert_problem("DELETE", "/api/v1/events/d1", 404)
        self.assertEqual(self.ids("camera=back"), [])
        db = sqlite3.connect(f"file:{os.path.join(self.dir, 'argus.db')}?mode=ro", uri=True)
        try:
            self.assertEqual(db.execute("SELECT count(*) FROM detections WHERE event_id = 'd1'").fetchone()[0], 0)
        finally:
            db.close()
        _, _, audit = s.json("GET", "/api/v1/audit?action=event.delete&limit=50")
        self.assertTrue(any(a["target"] == "d1" and a["outcome"] == "ok" for a in audit["items"]))

    def test_detections_of_a_seeded_event(self):
        status, _, doc = self.server.json("GET", "/api/v1/events/e1/detections")
        self.assertEqual(status, 200, doc)
        self.assertEqual([d["time"] for d in doc["items"]], [iso(T0 + i).replace("Z", ".000Z") for i in range(3)])
        self.assertAlmostEqual(doc["items"][2]["score"], 0.82)
        self.assertEqual(doc["items"][0]["box"], [0.1, 0.2, 0.3, 0.4])
        _, _, page = self.server.json("GET", "/api/v1/events/e1/detections?limit=2")
        self.assertEqual(len(page["items"]), 2)
        _, _, rest = self.server.json("GET", f"/api/v1/events/e1/detections?limit=2&cursor={page['next_cursor']}")
        self.assertEqual([d["time"] for d in rest["items"]], [doc["items"][2]["time"]])
        self.assertEqual(self.server.json("GET", "/api/v1/events/e2/detections")[2]["items"], [])

    # --- counts --------------------------------------------------------------------------

    def series(self, query):
        """Every row over all pages of /api/v1/counts?<query> as {(time, scope, name, label): (in, out, seen, peak)}."""
        out, cursor = {}, None
        for _ in range(1000):
            status, _, doc = self.server.json("GET", "/api/v1/counts?" + query + (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(status, 200, doc)
            for r in doc["items"]:
                key = (r["time"].replace(".000Z", "Z"), r["scope"], r["name"], r["label"])
                self.assertNotIn(key, out)
                self.assertEqual(r["occupancy"], r["peak"])
                out[key] = (r["in"], r["out"], r["seen"], r["occupancy"])
            cursor = doc.get("next_cursor")
            if not cursor:
                return out
        self.fail("paging did not end")

    def test_count_buckets(self):
        for bucket, size in (("minute", 60), ("hour", 3600), ("day", 86400)):
            self.assertEqual(self.series(f"camera=front&bucket={bucket}&limit=500"), expected_series("front", size),
                             bucket)
            self.assertEqual(self.series(f"camera=front&bucket={bucket}&line=door"),
                             expected_series("front", size, scope="line"), bucket)
        self.assertEqual(self.series("camera=front"), expected_series("front", 60), "minute is the default")
        # A range inside buckets is widened to whole buckets.
        start, end = DAY0 + 5 * 3600 + 600, DAY0 + 86400 + 3 * 3600 + 1
        self.assertEqual(self.series(f"camera=front&bucket=hour&from={start}&to={end}"),
                         expected_series("front", 3600, start=DAY0 + 5 * 3600, end=DAY0 + 86400 + 4 * 3600))
        self.assertEqual(self.series(f"camera=yard&bucket=day"),
                         expected_series("yard", 86400))

    def test_count_series_are_the_same_with_rollups(self):
        """Rolls the minute rows up into counts_hourly and counts_daily as Store::rollup_counts
        would (with the server stopped), then asks again: the same answers."""
        queries = [f"camera={c}&bucket={b}&limit=500" for c in ("front", "yard") for b in ("minute", "hour", "day")]
        queries += [f"camera=front&bucket=hour&line=door&from={DAY0 + 3600 * 20}&to={DAY0 + 3600 * 40}"]
        before = {q: self.series(q) for q in queries}
        hour_mark, day_mark = DAY0 + 30 * 3600, DAY0 + 86400
        self.assertEqual(self.server.stop(), 0)
        db = sqlite3.connect(os.path.join(self.dir, "argus.db"))
        with db:
            for table, size, mark in (("counts_hourly", 3600, hour_mark), ("counts_daily", 86400, day_mark)):
                db.execute(f"INSERT INTO {table} (camera_id, scope, name, label, bucket, seen, crossings_in,"
                           " crossings_out, peak) SELECT camera_id, scope, name, label, bucket - bucket % ?,"
                           " sum(seen), sum(crossings_in), sum(crossings_out), max(peak) FROM counts"
                           " WHERE bucket < ? GROUP BY 1, 2, 3, 4, 5", (size * 1000, mark * 1000))
                db.execute("INSERT INTO counts_rollup (grain, watermark) VALUES (?, ?)",
                           ("hour" if size == 3600 else "day", mark * 1000))
        rolled = db.execute("SELECT (SELECT count(*) FROM counts_hourly), (SELECT count(*) FROM counts_daily)").fetchone()
        db.close()
        self.assertGreater(rolled[0], 0)
        self.assertGreater(rolled[1], 0)
        self.server.start()
        for q in queries:
            self.assertEqual(self.series(q), before[q], q)
        self.assertEqual(before["camera=front&bucket=day&limit=500"], expected_series("front", 86400))

    def test_count_series_shape(self):
        status, _, doc = self.server.json("GET", f"/api/v1/counts?camera=front&bucket=day&from={DAY0}&to={DAY0 + 1}")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["bucket"], "day")
        self.assertEqual(doc["camera"], "front")
        names = {(x["scope"], x["name"], x["label"]) for x in doc["series"]}
        self.assertEqual(names, {("camera", "", "person"), ("line", "door", "person"), ("zone", "entrance", "car")})
        whole = expected_series("front", 86400, start=DAY0, end=DAY0 + 86400)
        for x in doc["series"]:
            self.assertEqual(len(x["points"]), 1)
            p = x["points"][0]
            self.assertEqual(p["time"], "2026-01-31T00:00:00.000Z")
            self.assertEqual((p["in"], p["out"], p["seen"], p["occupancy"]),
                             whole[("2026-01-31T00:00:00Z", x["scope"], x["name"], x["label"])])
        for query in ("camera=front&bucket=week", "bucket=hour", "camera=front&zone=a&line=b", "camera=front&scope=x"):
            self.assert_problem("GET", "/api/v1/counts?" + query, 400)

    # --- media ---------------------------------------------------------------------------

    def test_media_traversal_is_always_404(self):
        s = self.server
        for path in ("/api/v1/media/../argus.db", "/api/v1/media/%2e%2e%2fargus.db", "/api/v1/media/%2E%2E/argus.db",
                     "/api/v1/media/%252e%252e%252fargus.db", "/api/v1/media/snapshots/..%2f..%2fargus.db",
                     "/api/v1/media/..%5cargus.db", "/api/v1/media/snapshots%5c..%5c..%5cargus.db",
                     "/api/v1/media/snapshots\\..\\..\\argus.db", "/api/v1/media//etc/passwd",
                     "/api/v1/media/%2fetc%2fpasswd", "/api/v1/media/escape.jpg", "/api/v1/media/snapshots/front/passwd.jpg",
                     "/api/v1/media/./data.json", "/api/v1/media/notes//readme.txt", "/api/v1/media/data.json%00.jpg",
                     "/api/v1/media/notes", "/api/v1/media/", "/api/v1/media/nope.jpg",
                     "/api/v1/media/snapshots/front/2026-01-31/../../../../argus.db"):
            status, hdrs, payload = s.request("GET", path)
            self.assertEqual(status, 404, (path, payload[:200]))
            self.assertNotIn(b"SQLite format", payload)
            self.assertNotIn(b"root:", payload)
        self.assertEqual(s.request("GET", "/ready")[0], 200)

    def test_media_content_types(self):
        s = self.server
        for path, ctype in (("snapshots/front/2026-01-31/e1.jpg", "image/jpeg"), ("Upper.JPEG", "image/jpeg"),
                            ("pic.png", "image/png"), ("clips/yard/clip.mp4", "video/mp4"),
                            ("movie.webm", "video/webm"), ("data.json", "application/json"),
                            ("table.csv", "text/csv; charset=utf-8"), ("notes/readme.txt", "text/plain; charset=utf-8"),
                            ("blob.bin", "application/octet-stream")):
            status, hdrs, payload = s.request("GET", "/api/v1/media/" + path)
            self.assertEqual(status, 200, path)
            self.assertEqual(hdrs["content-type"], ctype, path)
            with open(os.path.join(self.dir, "media", path), "rb") as f:
                self.assertEqual(payload, f.read())
            self.assertEqual(hdrs["accept-ranges"], "bytes")
            self.assertTrue(hdrs["last-modified"].endswith(" GMT"))
        # HEAD: the same headers, no body.
        status, hdrs, payload = s.request("HEAD", "/api/v1/media/data.json")
        self.assertEqual((status, payload, hdrs["content-length"]), (200, b"", "8"))
        # Percent-encoded names are decoded once.
        self.assertEqual(s.request("GET", "/api/v1/media/notes%2Freadme.txt")[2], b"hello media\n")

    def test_media_ranges(self):
        s = self.server
        path = "/api/v1/media/snapshots/front/2026-01-31/e1.jpg"
        size = len(JPEG)
        status, hdrs, payload = s.request("GET", path, headers={"Range": "bytes=10-19"})
        self.assertEqual(status, 206)
        self.assertEqual(payload, JPEG[10:20])
        self.assertEqual(hdrs["content-range"], f"bytes 10-19/{size}")
        self.assertEqual(hdrs["content-length"], "10")
        status, hdrs, payload = s.request("GET", path, headers={"Range": "bytes=-5"})
        self.assertEqual((status, payload, hdrs["content-range"]), (206, JPEG[-5:], f"bytes {size - 5}-{size - 1}/{size}"))
        status, hdrs, payload = s.request("GET", path, headers={"Range": f"bytes={size - 3}-"})
        self.assertEqual((status, payload), (206, JPEG[-3:]))
        status, hdrs, payload = s.request("GET", path, headers={"Range": f"bytes=0-{size + 100}"})
        self.assertEqual((status, payload, hdrs["content-range"]), (206, JPEG, f"bytes 0-{size - 1}/{size}"))
        for unsatisfiable in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=-0"):
            status, hdrs, payload = s.request("GET", path, headers={"Range": unsatisfiable})
            self.assertEqual(status, 416, unsatisfiable)
            self.assertEqual(hdrs["content-range"], f"bytes */{size}")
        # Several ranges, or a malformed one: the whole file.
        for whole in ("bytes=0-1,5-6", "bytes=abc", "items=0-5", "bytes=9-3"):
            status, hdrs, payload = s.request("GET", path, headers={"Range": whole})
            self.assertEqual((status, payload), (200, JPEG), whole)
        # If-Range with a stale validator: the whole file.
        etag = s.request("GET", path)[1]["etag"]
        self.assertEqual(s.request("GET", path, headers={"Range": "bytes=0-1", "If-Range": etag})[0], 206)
        self.assertEqual(s.request("GET", path, headers={"Range": "bytes=0-1", "If-Range": '"stale"'})[0], 200)

    def test_media_etag_and_conditional_requests(self):
        s = self.server
        path = "/api/v1/media/data.json"
        status, hdrs, _ = s.request("GET", path)
        etag, modified = hdrs["etag"], hdrs["last-modified"]
        self.assertTrue(etag.startswith('"') and etag.endswith('"'))
        status, hdrs, payload = s.request("GET", path, headers={"If-None-Match": etag})
        self.assertEqual((status, payload, hdrs["etag"]), (304, b"", etag))
        self.assertEqual(s.request("GET", path, headers={"If-None-Match": '"other"'})[0], 200)
        self.assertEqual(s.request("GET", path, headers={"If-Modified-Since": modified})[0], 304)
        self.assertEqual(s.request("GET", path, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})[0], 200)
        # The ETag follows the file.
        full = os.path.join(self.dir, "media", "data.json")
        with open(full, "wb") as f:
            f.write(b'{"a": 22}')
        os.utime(full, (time.time() + 5, time.time() + 5))
        status, hdrs, payload = s.request("GET", path, headers={"If-None-Match": etag})
        self.assertEqual((status, payload), (200, b'{"a": 22}'))
        self.assertNotEqual(hdrs["etag"], etag)
        # The event snapshot route shares it.
        status, hdrs, payload = s.request("GET", "/api/v1/events/e1/snapshot.jpg")
        self.assertEqual((status, hdrs["content-type"], payload), (200, "image/jpeg", JPEG))
        self.assertEqual(s.request("GET", "/api/v1/events/e1/snapshot.jpg", headers={"If-None-Match": hdrs["etag"]})[0],
                         304)
        self.assertEqual(s.request("GET", "/api/v1/events/e1/snapshot.jpg", headers={"Range": "bytes=0-3"})[2],
                         JPEG[:4])

    # --- exports -------------------------------------------------------------------------

    def test_event_export_csv_and_json(self):
        s = self.server
        status, hdrs, payload = s.request("GET", f"/api/v1/events/export?format=csv&camera=front&sort=asc&from={T0}&to={T0 + 900}")
        self.assertEqual(status, 200, payload)
        self.assertEqual(hdrs["content-type"], "text/csv; charset=utf-8")
        self.assertRegex(hdrs["content-disposition"], r'^attachment; filename="argus-events-\d{8}T\d{6}Z\.csv"$')
        text = payload.decode()
        self.assertTrue(text.startswith("id,camera,label,start_time,end_time,score,top_score,zones,crossings,"
                                        "reviewed,note,snapshot,x1,y1,x2,y2\r\n"))
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        self.assertEqual([r["id"] for r in rows], ["e1", "e2", "e5"])
        e5 = rows[2]
        # RFC 4180 quoting round-trips, and the formula is neutralized.
        self.assertEqual(e5["note"], "'" + EVENTS[4]["note"])
        self.assertIn('"\'=HYPERLINK(""http://x""), ""quoted""\nline two"', text)
        self.assertEqual(e5["zones"], "entrance;street")
        self.assertEqual(rows[0]["crossings"], "door:in")
        self.assertEqual(rows[0]["start_time"], "2026-01-31T08:00:00.000Z")
        status, hdrs, payload = s.request("GET", "/api/v1/events/export?format=json&label=person&reviewed=false")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "application/json")
        self.assertTrue(hdrs["content-disposition"].endswith('.json"'))
        doc = json.loads(payload)
        # e3 may have been reviewed by another test meanwhile.
        self.assertEqual([e["id"] for e in doc if e["id"] != "e3"], ["e5", "e1"])
        e5 = doc[0]
        self.assertEqual(e5["note"], EVENTS[4]["note"])
        self.assertEqual(e5["zones"], ["entrance", "street"])
        self.assertEqual(e5["box"], [0.1, 0.2, 0.3, 0.4])
        self.assertEqual([e for e in doc if e["id"] == "e1"][0]["snapshot"], "snapshots/front/2026-01-31/e1.jpg")
        self.assert_problem("GET", "/api/v1/events/export?format=xml", 400)
        self.assert_problem("GET", "/api/v1/events/export?min_score=2", 400)

    def test_count_export_csv_and_json(self):
        s = self.server
        status, hdrs, payload = s.request("GET", f"/api/v1/counts/export?camera=front&bucket=day&format=csv")
        self.assertEqual(status, 200, payload)
        self.assertRegex(hdrs["content-disposition"], r'^attachment; filename="argus-counts-\d{8}T\d{6}Z\.csv"$')
        rows = list(csv.DictReader(io.StringIO(payload.decode(), newline="")))
        expected = expected_series("front", 86400)
        self.assertEqual(len(rows), len(expected))
        for r in rows:
            key = (r["time"].replace(".000Z", "Z"), r["scope"], r["name"], r["label"])
            self.assertEqual((int(r["in"]), int(r["out"]), int(r["seen"]), int(r["occupancy"])), expected[key])
        status, hdrs, payload = s.request("GET", "/api/v1/counts/export?camera=front&bucket=hour&format=json&line=door")
        self.assertEqual(status, 200)
        doc = json.loads(payload)
        self.assertEqual(len(doc), len(expected_series("front", 3600, scope="line")))
        self.assertEqual(set(doc[0]), {"time", "camera", "scope", "name", "label", "in", "out", "seen", "occupancy"})
        self.assert_problem("GET", "/api/v1/counts/export?bucket=day", 400)

    def test_export_row_bound(self):
        # 50 001 minute rows of camera "bulk": more than an export may hold, unless rolled
        # into hours or narrowed.
        doc = self.assert_problem("GET", "/api/v1/counts/export?camera=bulk&bucket=minute", 413)
        self.assertIn("narrow", doc["detail"])
        self.assertEqual(doc["type"], "urn:argus:problem:export-too-large")
        status, _, payload = self.server.request("GET", "/api/v1/counts/export?camera=bulk&bucket=hour")
        self.assertEqual(status, 200)
        self.assertEqual(payload.count(b"\r\n"), 1 + (BULK_ROWS + 59) // 60)
        status, _, payload = self.server.request(
            "GET", f"/api/v1/counts/export?camera=bulk&format=json&to={DAY0 + 600}")
        self.assertEqual((status, len(json.loads(payload))), (200, 10))

    # --- scopes --------------------------------------------------------------------------

    def test_scoped_viewer_sees_only_front(self):
        s, tok = self.server, self.viewer
        self.assertEqual(self.ids("limit=500", token=tok), ["e5", "e2", "e1"])
        # Hidden cameras in a list are left out; one hidden camera alone is 404 (below).
        self.assertEqual(self.ids("camera=front,yard,lot", token=tok), ["e5", "e2", "e1"])
        self.assertEqual(self.ids("camera=yard,lot", token=tok), [])
        for path in ("/api/v1/events?camera=yard", "/api/v1/events/e3", "/api/v1/events/e3/detections",
                     "/api/v1/counts?camera=yard", "/api/v1/counts/export?camera=yard",
                     "/api/v1/events/export?camera=yard", "/api/v1/media/clips/yard/clip.mp4",
                     "/api/v1/media/snapshots/front/link.jpg"):
            self.assert_problem("GET", path, 404, token=tok)
        self.assertEqual(s.request("GET", "/api/v1/media/snapshots/front/2026-01-31/e1.jpg", token=tok)[0], 200)
        self.assertEqual(s.request("GET", "/api/v1/media/data.json", token=tok)[0], 200)
        self.assertEqual(s.request("GET", "/api/v1/media/snapshots/front/link.jpg")[0], 200, "the admin may follow it")
        # A viewer reads but neither reviews nor deletes.
        self.assert_problem("PATCH", "/api/v1/events/e1", 403, body={"reviewed": True}, token=tok)
        self.assert_problem("DELETE", "/api/v1/events/e1", 403, token=tok)
        _, _, doc = s.json("GET", "/api/v1/events/export?format=json", token=tok)
        self.assertTrue(all(e["camera"] == "front" for e in doc))


class DetectionsFromPushedFrames(unittest.TestCase):
    """Detections stored by the pipeline: pushed frames make one event whose detections are
    kept at most once per second."""

    @classmethod
    def setUpClass(cls):
        cls.models = tempfile.mkdtemp(prefix="argus-models-")
        model, labels = test_pipeline.make_models(cls.models)
        cls.server = Server(args=("--set", "detector.kind=onnx", "--set", f"detector.model={model}",
                                  "--set", f"detector.labels={labels}", "--set", "detector.input_width=64",
                                  "--set", "detector.input_height=64", "--set", "pipeline.track_timeout=600ms",
                                  "--set", "pipeline.count_flush=1s", "--set", "pipeline.motion_gate=false")).start()
        cls.jpeg = test_pipeline.jpeg_bytes(None)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.models, ignore_errors=True)

    def test_detections_are_stored_sampled_and_deleted_with_the_event(self):
        s = self.server
        body = camera("pusher", source={"kind": "push"}, detection={"fps": 20, "labels": ["person"], "min_score": 0.5})
        self.assertEqual(s.json("POST", "/api/v1/cameras", body)[0], 201)
        # The push source is attached shortly after the camera is created: wait for it.
        push = lambda: s.request("POST", "/api/v1/cameras/pusher/frames", body=self.jpeg,
                                 headers={"Content-Type": "image/jpeg"})[0] == 202
        wait_for(push)
        started = time.time()
        pushed = 0
        while time.time() - started < 3.2:
            status, _, payload = s.request("POST", "/api/v1/cameras/pusher/frames", body=self.jpeg,
                                           headers={"Content-Type": "image/jpeg"})
            self.assertEqual(status, 202, payload)
            pushed += 1
            time.sleep(0.1)
        events = wait_for(lambda: s.json("GET", "/api/v1/events?camera=pusher")[2]["items"] or None)
        self.assertEqual(len(events), 1)
        eid = events[0]["id"]
        wait_for(lambda: s.json("GET", f"/api/v1/events/{eid}")[2]["end_time"])
        dets = wait_for(lambda: s.json("GET", f"/api/v1/events/{eid}/detections")[2]["items"] or None)
        times = [d["time"] for d in dets]
        self.assertEqual(times, sorted(times))
        # About 3 s of frames at 10/s: one kept per second, far fewer than were pushed.
        self.assertGreaterEqual(len(dets), 2)
        self.assertLessEqual(len(dets), 5)
        self.assertLess(len(dets), pushed)
        for d in dets:
            self.assertEqual(d["label"], "person")
            self.assertAlmostEqual(d["score"], 0.875, places=3)
            self.assertAlmostEqual((d["box"][0] + d["box"][2]) / 2, 0.5, delta=0.05)
        # Deleting the event deletes its detections and its snapshot file.
        snapshot_url = s.json("GET", f"/api/v1/events/{eid}")[2]["snapshot_url"]
        self.assertTrue(snapshot_url)
        files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(s.data_dir, "media")) for f in fs
                 if f.startswith(eid)]
        self.assertEqual(len(files), 1)
        self.assertEqual(s.request("DELETE", f"/api/v1/events/{eid}")[0], 204)
        self.assertFalse(os.path.exists(files[0]))
        self.assertEqual(s.request("GET", f"/api/v1/events/{eid}/detections")[0], 404)


if __name__ == "__main__":
    unittest.main()
