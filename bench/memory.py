#!/usr/bin/python3
"""Memory benchmark (issue: vision pipeline): is argus's memory flat over a long replay?

Starts `argus serve` with the demo configuration (one camera replaying vtest.avi in a loop at
its own 10 fps, HOG detection, zones and lines, events and snapshots written to a fresh data
directory) plus extra replay cameras (CAMERAS, default 1 = the demo camera only), samples the
server's resident set size (VmRSS) every INTERVAL seconds for DURATION seconds (default 1800 =
30 minutes), and reports:

  - RSS at warm-up end (after WARMUP seconds, default 120) and at the end,
  - the least-squares slope of RSS over the post-warm-up samples (KiB per minute),
  - frames processed and events stored over the run, so the run is known to have done work.

Memory is called flat when the post-warm-up growth is below 5% of the warm-up RSS and the
slope would add less than 10 MiB per hour. Samples go to bench/results/memory.json.

  DURATION=300 bash bench/run.sh memory   # a 5-minute smoke run
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from harness import free_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD_DIR = os.environ.get("BUILD_DIR", "build-release")
ARGUS = os.path.abspath(os.environ.get("ARGUS_BIN", os.path.join(ROOT, BUILD_DIR, "argus")))
DURATION = float(os.environ.get("DURATION", "1800"))
WARMUP = float(os.environ.get("WARMUP", str(min(120.0, DURATION / 4))))
INTERVAL = float(os.environ.get("INTERVAL", "10"))
CAMERAS = int(os.environ.get("CAMERAS", "1"))
VIDEO = os.environ.get("VIDEO", "/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


def slope_per_minute(samples):
    n = len(samples)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in samples) / n
    mr = sum(r for _, r in samples) / n
    num = sum((t - mt) * (r - mr) for t, r in samples)
    den = sum((t - mt) ** 2 for t, _ in samples)
    return num / den * 60.0 if den else 0.0


def main():
    data = tempfile.mkdtemp(prefix="argus-mem-")
    port = free_port()
    config = os.path.join(data, "config.yaml")
    with open(os.path.join(ROOT, "config", "demo.yaml")) as f:
        text = f.read()
    extra = "".join(
        f"""  - id: replay{i}
    source:
      kind: file
      url: file://{VIDEO}
    detection:
      fps: 5
      labels: [person]
      min_score: 0.7
"""
        for i in range(1, CAMERAS)
    )
    with open(config, "w") as f:
        f.write(text + extra)
    log = open(os.path.join(data, "argus.log"), "w")
    proc = subprocess.Popen(
        [ARGUS, "serve", "--config", config, "--data-dir", data, "--listen", f"127.0.0.1:{port}",
         "--log-level", "warn"],
        stdout=log, stderr=subprocess.STDOUT)
    samples = []
    try:
        for _ in range(100):
            try:
                get_json(port, "/health")
                break
            except OSError:
                time.sleep(0.1)
        start = time.monotonic()
        print(f"[memory] argus pid {proc.pid}, {CAMERAS} replay camera(s), {DURATION:.0f} s, "
              f"sampling every {INTERVAL:.0f} s", file=sys.stderr)
        next_report = 60.0
        while True:
            t = time.monotonic() - start
            if proc.poll() is not None:
                raise SystemExit(f"[memory] argus exited early with status {proc.returncode}")
            samples.append((t, rss_kib(proc.pid)))
            if t >= next_report:
                print(f"[memory] {t/60:5.1f} min  RSS {samples[-1][1]/1024:7.1f} MiB", file=sys.stderr)
                next_report += 60.0
            if t >= DURATION:
                break
            time.sleep(min(INTERVAL, max(0.0, DURATION - t)))
        cams = get_json(port, "/api/v1/cameras?limit=500")["items"]
        frames = sum(c.get("status", {}).get("frames_processed", 0) for c in cams)
        events = get_json(port, "/api/v1/events?limit=1")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    after = [(t, r) for t, r in samples if t >= WARMUP]
    warm = after[0][1]
    end = samples[-1][1]
    peak = max(r for _, r in samples)
    slope = slope_per_minute(after)
    growth = (end - warm) / warm
    flat = growth < 0.05 and slope * 60 < 10 * 1024
    result = {
        "duration_s": DURATION, "warmup_s": WARMUP, "cameras": CAMERAS,
        "rss_kib_at_warmup": warm, "rss_kib_at_end": end, "rss_kib_peak": peak,
        "growth_after_warmup": growth, "slope_kib_per_min": slope,
        "frames_processed": frames, "has_events": bool(events.get("items")),
        "flat": flat, "samples": samples,
    }
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "memory.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"argus serve, {CAMERAS} replay camera(s) for {DURATION/60:.1f} min "
          f"({frames} frames processed, events stored: {result['has_events']})")
    print(f"RSS after {WARMUP:.0f} s warm-up {warm/1024:.1f} MiB, at end {end/1024:.1f} MiB, "
          f"peak {peak/1024:.1f} MiB")
    print(f"growth after warm-up {growth*100:+.2f}%, trend {slope:+.1f} KiB/min "
          f"({slope*60/1024:+.2f} MiB/hour)")
    print(f"memory flat (growth < 5% and trend < 10 MiB/hour): {'YES' if flat else 'NO'}")


if __name__ == "__main__":
    main()
