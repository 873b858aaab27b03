"""The maintenance jobs over real analytics data: rollup (count series answer the same
after it), export (a CSV file under the media root, downloadable, scoped to the caller's
cameras) and retention (old events, detections, counts and snapshot files go; recent ones
stay). Data is seeded into the database as in test_query."""

import csv
import io
import os
import shutil
import time
import unittest

from harness import Server
from test_jobs import FINAL, submit, wait_state
from test_query import DAY0, EVENTS, seeded_dir

VIEWER_PW = "scoped-viewer-pw-2"


class MaintenanceJobs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = seeded_dir(VIEWER_PW, viewer_role="operator")
        cls.server = Server(data_dir=cls.dir, env={"ARGUS_JOBS_RETENTION_DAYS": "0"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_job(self, kind, params=None, token=None):
        body = {"kind": kind, "params": params or {}}
        status, _, doc = self.server.json("POST", "/api/v1/jobs", body, token=token)
        self.assertEqual(status, 202, doc)
        done = wait_state(self.server, doc["id"], FINAL)
        self.assertEqual(done["state"], "succeeded", done)
        return done

    def series(self, bucket):
        _, _, doc = self.server.json("GET", f"/api/v1/counts?camera=front&bucket={bucket}&limit=1000")
        return doc["items"]

    def test_rollup_job_keeps_series_identical(self):
        before = {b: self.series(b) for b in ("hour", "day")}
        done = self.run_job("rollup")
        self.assertGreater(done["result"]["hourly_rows"], 0)
        self.assertGreater(done["result"]["daily_rows"], 0)
        for b in ("hour", "day"):
            self.assertEqual(self.series(b), before[b], b)
        # Idempotent: a second run writes nothing.
        again = self.run_job("rollup")
        self.assertEqual(again["result"]["hourly_rows"], 0)

    def test_export_job_writes_a_downloadable_csv(self):
        done = self.run_job("export", {"what": "events", "format": "csv"})
        result = done["result"]
        self.assertTrue(result["path"].startswith("exports/"))
        self.assertEqual(result["rows"], len(EVENTS))
        status, headers, body = self.server.request("GET", result["url"])
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/csv"))
        rows = list(csv.reader(io.StringIO(body.decode())))
        self.assertEqual(rows[0][:3], ["id", "camera", "label"])
        self.assertEqual(sorted(r[0] for r in rows[1:]), sorted(e["id"] for e in EVENTS))
        self.assertFalse(any(f.endswith(".part") for f in os.listdir(os.path.join(self.dir, "media", "exports"))))

    def test_export_job_of_a_scoped_caller_holds_only_its_cameras(self):
        token = self.server.json("POST", "/api/v1/auth/login", {"username": "frontonly", "password": VIEWER_PW},
                                 auth=False)[2]["access_token"]
        done = self.run_job("export", {"what": "events", "format": "json", "scope": None}, token=token)
        self.assertEqual(done["params"].get("scope"), ["front"])
        _, _, body = self.server.request("GET", done["result"]["url"])
        import json
        cams = {e["camera"] for e in json.loads(body)}
        self.assertEqual(cams, {"front"})
        status, _, _ = self.server.json("POST", "/api/v1/jobs",
                                        {"kind": "export", "params": {"what": "counts", "camera": "yard"}},
                                        token=token)
        self.assertEqual(status, 404)

    def test_export_params_are_checked_at_submit(self):
        for params in ({}, {"what": "users"}, {"what": "events", "format": "xml"},
                       {"what": "events", "from": "yesterday"}, {"what": "counts"}):
            status, _, doc = submit(self.server, "export", params)
            self.assertEqual(status, 400, (params, doc))


class RetentionJob(unittest.TestCase):
    def test_retention_deletes_old_analytics_and_their_files(self):
        d = seeded_dir(VIEWER_PW)
        self.addCleanup(shutil.rmtree, d, True)
        snapshot = os.path.join(d, "media", "snapshots/front/2026-01-31/e1.jpg")
        self.assertTrue(os.path.exists(snapshot))
        # Everything seeded is from January 2026, older than 30 days: the run at start purges it.
        server = Server(data_dir=d, env={"ARGUS_JOBS_RETENTION_DAYS": "30"}).start()
        self.addCleanup(server.cleanup)
        _, _, jobs = server.json("GET", "/api/v1/jobs?kind=retention")
        done = wait_state(server, jobs["items"][0]["id"], FINAL)  # newest: this start's
        self.assertEqual(done["state"], "succeeded", done)
        r = done["result"]
        self.assertEqual(r["events_deleted"], len(EVENTS))
        self.assertGreater(r["count_rows_deleted"], 0)
        self.assertEqual(r["media_files_deleted"], 3)
        self.assertFalse(os.path.exists(snapshot))
        # Media not tied to an event stays.
        self.assertTrue(os.path.exists(os.path.join(d, "media", "notes/readme.txt")))
        _, _, events = server.json("GET", "/api/v1/events")
        self.assertEqual(events["items"], [])
        _, _, counts = server.json("GET", f"/api/v1/counts?camera=front&from={DAY0}")
        self.assertEqual(counts["items"], [])


if __name__ == "__main__":
    unittest.main()
