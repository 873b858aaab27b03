"""Background jobs through the real binary: vacuum and analyze run to completion, states
are visible over the API, a long analysis can be cancelled, a server restart leaves the job
it interrupted failed and retryable (and runs what was still queued), analyze only reads
files under <data>/videos, and unknown kinds are refused with the known ones named."""

import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import Server, wait_for

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
FINAL = ("succeeded", "failed", "cancelled")


def make_clip(path, seconds=None):
    """A piece of vtest.avi (10 fps, 768x576): `seconds` long, or all 795 frames."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    args = ["ffmpeg", "-v", "error", "-y", "-i", VTEST]
    if seconds is not None:
        args += ["-t", str(seconds)]
    subprocess.run(args + ["-c:v", "mpeg4", "-q:v", "5", path], check=True)


def job(server, job_id):
    status, _, doc = server.json("GET", f"/api/v1/jobs/{job_id}")
    if status != 200:
        raise AssertionError(f"GET job {job_id}: {status} {doc}")
    return doc


def wait_state(server, job_id, states, timeout=120):
    states = (states,) if isinstance(states, str) else states
    return wait_for(lambda: (lambda d: d if d["state"] in states else None)(job(server, job_id)), timeout=timeout)


def submit(server, kind, params=None):
    body = {"kind": kind}
    if params is not None:
        body["params"] = params
    return server.json("POST", "/api/v1/jobs", body)


class JobsApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.videos = os.path.join(cls.server.data_dir, "videos")
        make_clip(os.path.join(cls.videos, "clips", "short.avi"), seconds=3)
        make_clip(os.path.join(cls.videos, "long.avi"))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_vacuum_runs_and_reports_sizes(self):
        s = self.server
        status, hdrs, doc = submit(s, "vacuum")
        self.assertEqual(status, 202, doc)
        self.assertEqual(hdrs["location"], f"/api/v1/jobs/{doc['id']}")
        self.assertIn(doc["state"], ("queued", "running", "succeeded"))
        for key in ("id", "kind", "state", "progress", "message", "params", "result", "error", "retryable",
                    "created_at", "started_at", "finished_at", "created_by"):
            self.assertIn(key, doc)
        done = wait_state(s, doc["id"], FINAL)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual(done["progress"], 100)
        self.assertGreater(done["result"]["bytes_before"], 0)
        self.assertGreater(done["result"]["bytes_after"], 0)
        self.assertIsNotNone(done["started_at"])
        self.assertGreaterEqual(done["finished_at"], done["started_at"])
        _, _, audit = s.json("GET", "/api/v1/audit?action=job.create")
        self.assertIn(doc["id"], [a["target"] for a in audit["items"]])

    def test_analyze_a_short_clip(self):
        s = self.server
        camera = {"lines": [{"name": "middle", "points": [[0.5, 0], [0.5, 1]], "in": "right"}],
                  "zones": [{"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}]}
        status, _, doc = submit(s, "analyze", {"file": "clips/short.avi", "camera": camera, "fps": 10})
        self.assertEqual(status, 202, doc)
        seen = set()

        def finished():
            d = job(s, doc["id"])
            seen.add(d["state"])
            return d if d["state"] in FINAL else None

        done = wait_for(finished, timeout=120, interval=0.05)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual(done["result"]["frames"], 30)
        self.assertEqual(done["result"]["file"], "clips/short.avi")
        self.assertIsInstance(done["result"]["crossings"], dict)
        self.assertIn("person", done["result"]["objects"])
        self.assertIn("zones", done["result"])
        self.assertEqual(done["progress"], 100)
        self.assertEqual(done["params"]["file"], "clips/short.avi")
        self.assertTrue(seen <= {"queued", "running", "succeeded"}, seen)
        _, _, listed = s.json("GET", "/api/v1/jobs?kind=analyze&state=succeeded")
        self.assertIn(doc["id"], [j["id"] for j in listed["items"]])
        # Analysis results are the job's result, not stored events.
        _, _, events = s.json("GET", "/api/v1/events?camera=analyze")
        self.assertEqual(events["items"], [])

    def test_cancel_a_long_analysis(self):
        s = self.server
        status, _, doc = submit(s, "analyze", {"file": "long.avi"})
        self.assertEqual(status, 202, doc)
        running = wait_state(s, doc["id"], ("running",) + FINAL)
        self.assertEqual(running["state"], "running", running)
        status, _, cancelled = s.json("POST", f"/api/v1/jobs/{doc['id']}/cancel")
        self.assertIn(status, (200, 202), cancelled)
        done = wait_state(s, doc["id"], FINAL, timeout=30)
        self.assertEqual(done["state"], "cancelled", done)
        self.assertIsNone(done["error"])
        self.assertIsNotNone(done["finished_at"])
        self.assertLess(done["progress"], 100)
        # Finished jobs cannot be cancelled again; only failed or cancelled ones retried.
        status, hdrs, problem = s.json("POST", f"/api/v1/jobs/{doc['id']}/cancel")
        self.assertEqual(status, 409, problem)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        status, _, again = s.json("POST", f"/api/v1/jobs/{doc['id']}/retry")
        self.assertEqual(status, 202, again)
        self.assertEqual(again["retry_of"], doc["id"])
        self.assertEqual(again["params"], {"file": "long.avi"})
        s.json("POST", f"/api/v1/jobs/{again['id']}/cancel")
        self.assertEqual(wait_state(s, again["id"], FINAL, timeout=60)["state"], "cancelled")
        _, _, vacuum = submit(s, "vacuum")
        self.assertEqual(wait_state(s, vacuum["id"], FINAL)["state"], "succeeded")
        status, _, problem = s.json("POST", f"/api/v1/jobs/{vacuum['id']}/retry")
        self.assertEqual(status, 409, problem)

    def test_analyze_reads_only_files_under_the_videos_directory(self):
        s = self.server
        outside = tempfile.mkdtemp(prefix="argus-outside-")
        self.addCleanup(shutil.rmtree, outside, ignore_errors=True)
        secret = os.path.join(outside, "secret.avi")
        shutil.copy(os.path.join(self.videos, "clips", "short.avi"), secret)
        link = os.path.join(self.videos, "escape.avi")
        os.symlink(secret, link)
        self.addCleanup(os.unlink, link)
        os.symlink(outside, os.path.join(self.videos, "escape_dir"))
        self.addCleanup(os.unlink, os.path.join(self.videos, "escape_dir"))
        _, _, before = s.json("GET", "/api/v1/jobs?kind=analyze&limit=500")
        for bad in ("../argus.db", "/etc/passwd", secret, "clips/../../argus.db", "escape.avi",
                    "escape_dir/secret.avi", "missing.avi", "", "clips"):
            status, hdrs, problem = submit(s, "analyze", {"file": bad})
            self.assertEqual(status, 400, (bad, problem))
            self.assertEqual(hdrs["content-type"], "application/problem+json")
            self.assertNotIn(s.data_dir, problem["detail"], "no server paths in errors")
            self.assertNotIn(outside, problem["detail"])
        for params in ({}, {"file": 5}, {"file": "clips/short.avi", "fps": 0},
                       {"file": "clips/short.avi", "camera": {"lines": "nope"}}):
            status, _, problem = submit(s, "analyze", params)
            self.assertEqual(status, 400, (params, problem))
        _, _, after = s.json("GET", "/api/v1/jobs?kind=analyze&limit=500")
        self.assertEqual(len(after["items"]), len(before["items"]), "refused jobs are not stored")

    def test_unknown_kinds_and_bad_bodies_are_refused(self):
        s = self.server
        status, _, problem = submit(s, "defragment")
        self.assertEqual(status, 400, problem)
        self.assertIn("unknown job kind 'defragment'", problem["detail"])
        self.assertIn("analyze, export, retention, rollup, vacuum", problem["detail"])
        status, _, problem = s.json("POST", "/api/v1/jobs", {"params": {}})
        self.assertEqual(status, 400, problem)
        self.assertIn("vacuum", problem["detail"])
        status, _, problem = s.json("POST", "/api/v1/jobs", {"kind": "vacuum", "params": [1]})
        self.assertEqual(status, 422, problem)
        self.assertEqual(s.json("GET", "/api/v1/jobs?state=sleeping")[0], 400)
        self.assertEqual(s.json("GET", "/api/v1/jobs/no-such-job")[0], 404)
        self.assertEqual(s.json("POST", "/api/v1/jobs/no-such-job/cancel")[0], 404)
        self.assertEqual(s.json("POST", "/api/v1/jobs/no-such-job/retry")[0], 404)

    def test_list_pages_newest_first_and_the_scheduler_ran_retention(self):
        s = self.server
        ids = [submit(s, "vacuum")[2]["id"] for _ in range(3)]
        for i in ids:
            wait_state(s, i, FINAL)
        _, _, page1 = s.json("GET", "/api/v1/jobs?kind=vacuum&limit=2")
        self.assertEqual(len(page1["items"]), 2)
        self.assertIn("next_cursor", page1)
        _, _, page2 = s.json("GET", f"/api/v1/jobs?kind=vacuum&limit=2&cursor={page1['next_cursor']}")
        listed = [j["id"] for j in page1["items"] + page2["items"]]
        self.assertEqual(set(listed[:3]), set(ids), "the newest three are the ones just made")
        self.assertEqual(len(set(listed)), len(listed))
        created = [j["created_at"] for j in page1["items"] + page2["items"]]
        self.assertEqual(created, sorted(created, reverse=True))
        # The scheduler runs retention once at start (then every jobs.retention_interval).
        _, _, retention = s.json("GET", "/api/v1/jobs?kind=retention")
        self.assertGreaterEqual(len(retention["items"]), 1)
        r = wait_state(s, retention["items"][-1]["id"], FINAL)
        self.assertEqual(r["state"], "succeeded", r)
        self.assertEqual(r["created_by"], "system")
        self.assertIn("audit_rows_deleted", r["result"])
        self.assertIn("refresh_tokens_deleted", r["result"])


class JobsAcrossRestarts(unittest.TestCase):
    """One worker and a queue of one, so a second job waits and a third is refused."""

    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="argus-e2e-jobs-")
        self.addCleanup(shutil.rmtree, self.data_dir, ignore_errors=True)
        make_clip(os.path.join(self.data_dir, "videos", "long.avi"))
        self.server = self.start()

    def start(self):
        server = Server(data_dir=self.data_dir, args=("--set", "jobs.workers=1", "--set", "jobs.queue=1"))
        self.addCleanup(server.stop)
        return server.start()

    def start_long_analysis(self):
        s = self.server
        status, _, doc = submit(s, "analyze", {"file": "long.avi"})
        self.assertEqual(status, 202, doc)
        wait_for(lambda: job(s, doc["id"])["progress"] > 0, timeout=60)
        return doc["id"]

    def check_interrupted_then_retry(self, analysis, waiting):
        s = self.server
        interrupted = job(s, analysis)
        self.assertEqual(interrupted["state"], "failed", interrupted)
        self.assertEqual(interrupted["error"], "interrupted: the server stopped while this job was running")
        self.assertTrue(interrupted["retryable"])
        self.assertIsNotNone(interrupted["finished_at"])
        # What was still queued runs after the restart.
        self.assertEqual(wait_state(s, waiting, FINAL)["state"], "succeeded")
        status, hdrs, again = s.json("POST", f"/api/v1/jobs/{analysis}/retry")
        self.assertEqual(status, 202, again)
        self.assertEqual(hdrs["location"], f"/api/v1/jobs/{again['id']}")
        self.assertEqual(again["retry_of"], analysis)
        self.assertEqual(again["kind"], "analyze")
        running = wait_state(s, again["id"], ("running",) + FINAL, timeout=60)
        self.assertEqual(running["state"], "running", running)
        self.assertEqual(running["attempts"], 2, "attempts count across retries")
        s.json("POST", f"/api/v1/jobs/{again['id']}/cancel")
        self.assertEqual(wait_state(s, again["id"], FINAL, timeout=60)["state"], "cancelled")

    def test_a_full_queue_answers_429(self):
        s = self.server
        analysis = self.start_long_analysis()
        status, _, waiting = submit(s, "vacuum")
        self.assertEqual(status, 202, waiting)
        self.assertEqual(job(s, waiting["id"])["state"], "queued")
        status, hdrs, problem = submit(s, "vacuum")
        self.assertEqual(status, 429, problem)
        self.assertIn("retry-after", hdrs)
        self.assertIn("queue is full", problem["detail"])
        status, _, cancelled = s.json("POST", f"/api/v1/jobs/{waiting['id']}/cancel")
        self.assertEqual(status, 200, cancelled)
        self.assertEqual(cancelled["state"], "cancelled", "a queued job is cancelled at once")
        s.json("POST", f"/api/v1/jobs/{analysis}/cancel")
        wait_state(s, analysis, FINAL, timeout=60)

    def test_killed_server_leaves_the_job_failed_and_retryable(self):
        analysis = self.start_long_analysis()
        _, _, waiting = submit(self.server, "vacuum")
        self.server.stop(sig=signal.SIGKILL)
        self.server = self.start()
        self.check_interrupted_then_retry(analysis, waiting["id"])

    def test_stopped_server_interrupts_the_job_and_keeps_the_queue(self):
        analysis = self.start_long_analysis()
        _, _, waiting = submit(self.server, "vacuum")
        self.assertEqual(self.server.stop(), 0)
        self.server = self.start()
        self.check_interrupted_then_retry(analysis, waiting["id"])


if __name__ == "__main__":
    unittest.main()
