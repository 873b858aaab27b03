#!/usr/bin/python3
"""HTTP benchmark: GET /api/v1/cameras on Argus against two baselines measured in the same run.

What it does, in order:
  1. builds Argus in release mode (scripts/build.sh build-release Release -DARGUS_BUILD_TESTS=OFF);
  2. starts `argus serve` on a free loopback port with one I/O thread and an empty temp data dir,
     waits for GET /health == 200 and creates 10 cameras through POST /api/v1/cameras
     (created with "enabled": false so that their status, and so the body, stays fixed);
  3. saves the body of GET /api/v1/cameras to a file;
  4. starts nginx (1 worker, generated config) serving that file as a static file, and the
     FastAPI app bench/baselines/fastapi_app.py under uvicorn (1 worker) returning those bytes;
  5. checks that the three targets return byte-identical bodies (stops loudly otherwise);
  6. for each target, one after another (never concurrently): a short wrk warm-up, then
     `wrk -t1 -c50 -d10s --latency URL`; REPEAT=N repeats the round N times (targets
     interleaved) and the median of each figure is reported;
  7. prints req/s and p99 for each target and the ratios argus/nginx and argus/fastapi,
     and writes everything to bench/results/http_cameras.json.

The machine this runs on is shared and noisy (2 cores: wrk takes one, the server under test
the other, and other jobs may run at the same time). Single runs can move by 10-20 %; use
REPEAT=3 (or more) for figures you want to quote, and only compare ratios from the same run.

Environment (all optional):
  DURATION=10      seconds of each measured wrk run
  WARMUP=2         seconds of the wrk warm-up before each measured run (0 disables)
  REPEAT=1         rounds; the report shows the median of each figure
  THREADS=1        wrk -t
  CONNECTIONS=50   wrk -c
  CAMERAS=10       cameras created in Argus
  CAMERAS_ENABLED=0  1: create them enabled. The video pipeline then keeps retrying their
                   (unreachable) RTSP URLs and each camera's `status` (e.g. `reconnects`) changes
                   while the benchmark runs, so the body is no longer the baselines' bytes; the
                   default (disabled cameras) keeps the list byte-stable and the pipeline idle.
  BUILD_DIR=build-release
  ARGUS_BIN=path   use this binary instead of BUILD_DIR/argus (implies nothing about SKIP_BUILD)
  SKIP_BUILD=0     1: do not build, use BUILD_DIR/argus as it is
  TARGETS=argus,nginx,fastapi   subset/order of targets (ratios need argus and the baseline)
  STRICT=0         1: exit with status 3 when a goal is missed or an anomaly is seen
  KEEP_TMP=0       1: keep the temp dir (configs, logs, data dir) for inspection
  RESULTS=bench/results/http_cameras.json

Only the Python standard library is used by this file; the FastAPI baseline uses Debian's
python3-fastapi and python3-uvicorn (installed by scripts/setup.sh).
"""

import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
PATH_LIST = "/api/v1/cameras"
GOALS = {"argus/nginx": 1.0, "argus/fastapi": 20.0}


def env_int(name, default):
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        die(f"{name} must be an integer, got {value!r}")


def env_flag(name):
    return os.environ.get(name, "0") not in ("", "0", "false", "no")


class BenchError(Exception):
    pass


class Interrupted(BaseException):
    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def die(msg):
    raise BenchError(msg)


def log(msg):
    print(f"[http] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Processes: every child runs in its own session (process group), so cleanup can stop it and
# anything it spawned (nginx master + worker, ninja + compilers) with one killpg.
# ---------------------------------------------------------------------------------------------
class Processes:
    def __init__(self):
        self.children = []  # (name, Popen)

    def start(self, name, argv, log_path=None, env=None, cwd=None):
        out = open(log_path, "wb") if log_path else None
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out if out else None,
                stderr=subprocess.STDOUT if out else None,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as e:
            die(f"cannot start {name} ({argv[0]}): {e}")
        finally:
            if out:
                out.close()
        self.children.append((name, proc))
        return proc

    def stop(self, proc, grace=5.0):
        if proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self):
        for _name, proc in reversed(self.children):
            self.stop(proc)
        # Reap the group leaders; also kill any straggler left in their groups.
        for _name, proc in self.children:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.children.clear()


PROCS = Processes()


def run_checked(name, argv, cwd=None, capture=False, timeout=None):
    """Runs a child to completion inside PROCS (so an interrupt stops it too)."""
    if capture:
        tmp = tempfile.NamedTemporaryFile(prefix="argus-bench-", delete=False)
        tmp.close()
        proc = PROCS.start(name, argv, log_path=tmp.name, cwd=cwd)
    else:
        proc = PROCS.start(name, argv, cwd=cwd)
    output = ""
    try:
        rc = proc.wait(timeout=timeout)
        if capture:
            output = Path(tmp.name).read_text(errors="replace")
    except subprocess.TimeoutExpired:
        PROCS.stop(proc)
        die(f"{name} did not finish within {timeout}s")
    except BaseException:
        PROCS.stop(proc)  # interrupted: stop it before forgetting it
        raise
    finally:
        PROCS.children = [(n, p) for n, p in PROCS.children if p is not proc]
        if capture:
            try:
                os.unlink(tmp.name)
            except OSError:
                pass
    return rc, output


# ---------------------------------------------------------------------------------------------
# HTTP helpers (no proxies: the environment may define http_proxy).
# ---------------------------------------------------------------------------------------------
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(method, url, body=None, headers=None, timeout=5.0):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(req, timeout=timeout) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# Argus answers only authenticated requests (security is on by default). The benchmark signs
# in as the admin and sends the same Authorization header to every target, so all three get
# identical request bytes; the baselines ignore it.
AUTH = {"header": ""}
BENCH_ADMIN_PASSWORD = "bench-admin-password"


def raw_get(port, path, timeout=5.0):
    """One HTTP/1.1 GET over a raw socket: returns (status, header_bytes, body_bytes).

    Used to compare bodies byte for byte and to record what each target puts on the wire.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        auth = f"Authorization: {AUTH['header']}\r\n" if AUTH["header"] else ""
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        die(f"port {port}: incomplete HTTP response to GET {path}: {data[:200]!r}")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    if "content-length" not in headers:
        die(f"port {port}: GET {path} answered without Content-Length ({headers})")
    n = int(headers["content-length"])
    if len(body) < n:
        die(f"port {port}: GET {path}: body truncated ({len(body)} of {n} bytes)")
    return status, len(head) + 4, headers, body[:n]


def free_ports(n):
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def tail(path, n=30):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in lines[-n:]) or "    (empty log)"


def wait_healthy(name, proc, url, log_path, timeout=30.0):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            die(f"{name} exited with status {proc.returncode} before answering {url}; its log:\n{tail(log_path)}")
        try:
            status, _h, _b = http_request("GET", url, timeout=1.0)
            if status == 200:
                return
            last = f"status {status}"
        except (OSError, urllib.error.URLError) as e:
            last = str(e)
        time.sleep(0.1)
    die(f"{name} did not answer 200 on {url} within {timeout:.0f}s (last: {last}); its log:\n{tail(log_path)}")


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------
def camera_doc(i, enabled):
    cid = f"cam-{i:02d}"
    return {
        "id": cid,
        "name": f"Camera {i:02d}",
        "enabled": enabled,
        "source": {"kind": "stream", "url": f"rtsp://127.0.0.1:9/{cid}"},
        "detection": {"fps": 5, "labels": ["person", "car"], "min_score": 0.5},
        "zones": [{"name": "entrance", "polygon": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]}],
        "lines": [{"name": "door", "points": [[0.2, 0.8], [0.8, 0.8]], "in": "left"}],
    }


def start_argus(binary, port, tmp):
    data_dir = tmp / "argus-data"
    data_dir.mkdir()
    log_path = tmp / "argus.log"
    # The per-caller read limit (100/s by default) is lifted: wrk is one caller sending as
    # fast as it can; authentication, the limiter check and the headers still run per request.
    argv = [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir),
            "--set", "server.io_threads=1", "--log-level", "warn",
            "--set", "auth.read_rate=1000000/s", "--set", "auth.read_burst=1000000",
            "--set", "auth.write_rate=1000/s", "--set", "auth.write_burst=1000"]
    log(f"starting argus: {' '.join(argv)}")
    env = dict(os.environ, ARGUS_ADMIN_PASSWORD=BENCH_ADMIN_PASSWORD)
    proc = PROCS.start("argus", argv, log_path=log_path, cwd=tmp, env=env)
    wait_healthy("argus", proc, f"http://127.0.0.1:{port}/health", log_path)
    status, _h, resp = http_request("POST", f"http://127.0.0.1:{port}/api/v1/auth/login",
                                    body=json.dumps({"username": "admin", "password": BENCH_ADMIN_PASSWORD}).encode(),
                                    headers={"Content-Type": "application/json"})
    if status != 200:
        die(f"argus: sign-in answered {status}: {resp[:300]!r}")
    AUTH["header"] = "Bearer " + json.loads(resp)["access_token"]
    return proc, log_path


def seed_cameras(port, count, enabled):
    for i in range(1, count + 1):
        body = json.dumps(camera_doc(i, enabled)).encode()
        status, _h, resp = http_request("POST", f"http://127.0.0.1:{port}{PATH_LIST}", body=body,
                                        headers={"Content-Type": "application/json", "Authorization": AUTH["header"]})
        if status not in (200, 201):
            die(f"argus: POST {PATH_LIST} (cam-{i:02d}) answered {status}: {resp[:500]!r}")
    status, _hlen, headers, body = raw_get(port, PATH_LIST)
    if status != 200:
        die(f"argus: GET {PATH_LIST} answered {status}: {body[:500]!r}")
    try:
        doc = json.loads(body)
    except ValueError as e:
        die(f"argus: GET {PATH_LIST} is not JSON ({e}): {body[:200]!r}")
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list) or len(items) != count:
        die(f"argus: GET {PATH_LIST} should list {count} cameras, got {len(items) if isinstance(items, list) else items!r}")
    return body, headers


def nginx_config(tmp, port, body_file):
    d = tmp / "nginx"
    v = subprocess.run(["nginx", "-V"], capture_output=True, text=True).stderr
    temp_paths = [f"    client_body_temp_path {d}/client_body;"]
    for mod in ("proxy", "fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{mod}_module" not in v:
            temp_paths.append(f"    {mod}_temp_path {d}/{mod};")
    temp_paths = "\n".join(temp_paths)
    return f"""# generated by bench/http_cameras.py
worker_processes 1;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 100000;
    open_file_cache max=16 inactive=60s;
{temp_paths}
    types {{ }}

    server {{
        listen 127.0.0.1:{port};
        location = {PATH_LIST} {{
            default_type application/json;
            alias {body_file};
        }}
        location = /health {{
            default_type text/plain;
            return 200 "ok\\n";
        }}
    }}
}}
"""


def start_nginx(port, tmp, body_file):
    d = tmp / "nginx"
    d.mkdir()
    # The worker runs as an unprivileged user when started as root: it must reach the file.
    os.chmod(tmp, 0o755)
    os.chmod(d, 0o755)
    served = d / "cameras.json"
    shutil.copyfile(body_file, served)
    os.chmod(served, 0o644)
    conf = d / "nginx.conf"
    conf.write_text(nginx_config(tmp, port, served))
    log_path = tmp / "nginx.log"
    rc, out = run_checked("nginx -t", ["nginx", "-t", "-q", "-e", str(d / "error.log"), "-p", str(d), "-c", str(conf)],
                          capture=True, timeout=30)
    if rc != 0:
        die(f"nginx rejected the generated config {conf}:\n{out}")
    argv = ["nginx", "-e", str(d / "error.log"), "-p", str(d), "-c", str(conf)]
    log(f"starting nginx: {' '.join(argv)}")
    proc = PROCS.start("nginx", argv, log_path=log_path, cwd=d)
    wait_healthy("nginx", proc, f"http://127.0.0.1:{port}/health", d / "error.log")
    return proc, d / "error.log"


def start_fastapi(port, tmp, body_file):
    log_path = tmp / "fastapi.log"
    env = dict(os.environ, ARGUS_BENCH_BODY_FILE=str(body_file), PYTHONDONTWRITEBYTECODE="1")
    argv = [PYTHON, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(ROOT / "bench" / "baselines"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--log-level", "warning", "--no-access-log"]
    log(f"starting fastapi: {' '.join(argv)}")
    proc = PROCS.start("fastapi", argv, log_path=log_path, env=env, cwd=tmp)
    wait_healthy("fastapi", proc, f"http://127.0.0.1:{port}/health", log_path)
    return proc, log_path


# ---------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        die(f"cannot parse wrk latency {text!r}")
    return float(m.group(1)) * UNIT_MS[m.group(2)]


def parse_wrk(out):
    res = {}
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
    if not m:
        die(f"wrk output has no Requests/sec line:\n{out}")
    res["rps"] = float(m.group(1))
    m = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not m:
        die(f"wrk output has no 99% latency line:\n{out}")
    res["p99_ms"] = to_ms(m.group(1))
    for pct in ("50", "75", "90"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        if m:
            res[f"p{pct}_ms"] = to_ms(m.group(1))
    m = re.search(r"^\s+(\d+) requests in ([0-9.]+\w+), ([0-9.]+\w+) read", out, re.M)
    if m:
        res["requests"] = int(m.group(1))
        res["read"] = m.group(3)
    m = re.search(r"^Transfer/sec:\s+(\S+)", out, re.M)
    if m:
        res["transfer_per_sec"] = m.group(1)
    m = re.search(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", out, re.M)
    res["non_2xx_3xx"] = int(m.group(1)) if m else 0
    m = re.search(r"^\s*Socket errors:\s+connect (\d+), read (\d+), write (\d+), timeout (\d+)", out, re.M)
    res["socket_errors"] = ({"connect": int(m.group(1)), "read": int(m.group(2)), "write": int(m.group(3)),
                             "timeout": int(m.group(4))} if m else None)
    return res


def run_wrk(url, threads, connections, seconds):
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if AUTH["header"]:
        argv[1:1] = ["-H", f"Authorization: {AUTH['header']}"]
    rc, out = run_checked("wrk", argv, capture=True, timeout=seconds + 60)
    if rc != 0:
        die(f"wrk exited with status {rc}:\n{out}")
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.2f}x"


def ratio(a, b):
    return None if not a or not b else a / b


def versions():
    def first_line(argv, stream="stdout"):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            text = (p.stdout if stream == "stdout" else p.stderr) or p.stdout or p.stderr
            return text.strip().splitlines()[0] if text.strip() else ""
        except (OSError, subprocess.SubprocessError):
            return ""

    v = {
        "nginx": first_line(["nginx", "-v"], "stderr"),
        "wrk": first_line(["wrk", "-v"]),
        "python": first_line([PYTHON, "--version"]),
    }
    probe = ("import fastapi, uvicorn, importlib.util as u;"
             "print(fastapi.__version__, uvicorn.__version__,"
             " 'uvloop' if u.find_spec('uvloop') else 'asyncio',"
             " 'httptools' if u.find_spec('httptools') else 'h11')")
    parts = first_line([PYTHON, "-c", probe]).split()
    if len(parts) == 4:
        v["fastapi"], v["uvicorn"] = parts[0], parts[1]
        v["uvicorn_loop"], v["uvicorn_http"] = parts[2], parts[3]
    return v


def git_revision():
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("-dirty" if dirty else "") if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def loadavg():
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def main():
    duration = env_int("DURATION", 10)
    warmup = env_int("WARMUP", 2)
    repeat = env_int("REPEAT", 1)
    threads = env_int("THREADS", 1)
    connections = env_int("CONNECTIONS", 50)
    cameras = env_int("CAMERAS", 10)
    cameras_enabled = env_flag("CAMERAS_ENABLED")
    build_dir = os.environ.get("BUILD_DIR", "build-release")
    targets = [t.strip() for t in os.environ.get("TARGETS", "argus,nginx,fastapi").split(",") if t.strip()]
    results_path = Path(os.environ.get("RESULTS", str(ROOT / "bench" / "results" / "http_cameras.json")))
    if not results_path.is_absolute():
        results_path = ROOT / results_path
    if repeat < 1 or duration < 1 or warmup < 0:
        die("REPEAT and DURATION must be >= 1, WARMUP >= 0")
    for t in targets:
        if t not in ("argus", "nginx", "fastapi"):
            die(f"unknown target {t!r} in TARGETS (known: argus, nginx, fastapi)")

    missing = [tool for tool in ("wrk", "nginx", "cmake", "ninja") if shutil.which(tool) is None]
    if not Path(PYTHON).exists():
        missing.append(PYTHON)
    elif "fastapi" in targets:
        rc = subprocess.run([PYTHON, "-c", "import fastapi, uvicorn"], capture_output=True).returncode
        if rc != 0:
            missing.append("python3-fastapi/python3-uvicorn")
    if missing:
        die(f"missing: {', '.join(missing)}; run `bash scripts/setup.sh` (as root) first")

    load_before = loadavg()
    if load_before and load_before[0] > 0.5 * (os.cpu_count() or 1):
        log(f"WARNING: load average is {load_before[0]:.2f} on {os.cpu_count()} CPUs; figures will be noisy")

    # 1. build
    binary = Path(os.environ["ARGUS_BIN"]) if os.environ.get("ARGUS_BIN") else ROOT / build_dir / "argus"
    if env_flag("SKIP_BUILD"):
        log(f"SKIP_BUILD=1: using {binary} as it is")
    else:
        log(f"building: bash scripts/build.sh {build_dir} Release -DARGUS_BUILD_TESTS=OFF")
        rc, _ = run_checked("build", ["bash", "scripts/build.sh", build_dir, "Release", "-DARGUS_BUILD_TESTS=OFF"],
                            cwd=ROOT)
        if rc != 0:
            die(f"release build failed (status {rc}); see the compiler output above")
    if not os.access(binary, os.X_OK):
        die(f"{binary} is missing or not executable")

    tmp = Path(tempfile.mkdtemp(prefix="argus-bench-http-"))
    anomalies = []
    try:
        port_argus, port_nginx, port_fastapi = free_ports(3)
        # 2-3. argus + reference bytes
        argus_proc, argus_log = start_argus(binary, port_argus, tmp)
        body, argus_headers = seed_cameras(port_argus, cameras, cameras_enabled)
        body_file = tmp / "cameras.json"
        body_file.write_bytes(body)
        log(f"argus lists {cameras} cameras: {len(body)} bytes, Content-Type {argus_headers.get('content-type')}")

        # 4. baselines
        ports = {"argus": port_argus}
        procs = {"argus": (argus_proc, argus_log)}
        if "nginx" in targets:
            procs["nginx"] = start_nginx(port_nginx, tmp, body_file)
            ports["nginx"] = port_nginx
        if "fastapi" in targets:
            procs["fastapi"] = start_fastapi(port_fastapi, tmp, body_file)
            ports["fastapi"] = port_fastapi

        # 5. byte-identical bodies
        wire = {}
        for name, port in ports.items():
            status, header_len, headers, got = raw_get(port, PATH_LIST)
            if status != 200:
                die(f"{name}: GET {PATH_LIST} answered {status}")
            if got != body:
                diff_at = next((i for i, (a, b) in enumerate(zip(got, body)) if a != b), min(len(got), len(body)))
                die(f"{name} does not return the reference bytes fetched from argus at setup"
                    f"{' (the argus list changed between two GETs)' if name == 'argus' else ''} ({len(got)} vs {len(body)} bytes, "
                    f"first difference at byte {diff_at}): {got[max(0, diff_at - 40):diff_at + 40]!r} vs "
                    f"{body[max(0, diff_at - 40):diff_at + 40]!r}")
            ctype = headers.get("content-type", "")
            if not ctype.startswith("application/json"):
                die(f"{name}: Content-Type is {ctype!r}, expected application/json")
            wire[name] = {"status": status, "header_bytes": header_len, "body_bytes": len(got),
                          "content_type": ctype, "header_names": sorted(headers)}
        log("bodies are byte-identical: " + ", ".join(
            f"{n} ({w['body_bytes']} B body + {w['header_bytes']} B headers)" for n, w in wire.items()))

        # 6. measure, one target at a time
        order = [t for t in targets if t in ports]
        runs = {name: [] for name in order}
        for rnd in range(1, repeat + 1):
            for name in order:
                url = f"http://127.0.0.1:{ports[name]}{PATH_LIST}"
                proc, plog = procs[name]
                if proc.poll() is not None:
                    die(f"{name} exited with status {proc.returncode} during the benchmark; its log:\n{tail(plog)}")
                if warmup > 0:
                    log(f"round {rnd}/{repeat} {name}: warm-up {warmup}s")
                    parse_wrk(run_wrk(url, threads, connections, warmup))
                log(f"round {rnd}/{repeat} {name}: wrk -t{threads} -c{connections} -d{duration}s --latency {url}")
                out = run_wrk(url, threads, connections, duration)
                r = parse_wrk(out)
                r["round"] = rnd
                r["wrk_output"] = out
                runs[name].append(r)
                log(f"  {name}: {r['rps']:.0f} req/s, p99 {r['p99_ms']:.2f} ms")
                if r["non_2xx_3xx"]:
                    anomalies.append(f"{name} round {rnd}: wrk saw {r['non_2xx_3xx']} non-2xx/3xx responses")
                se = r["socket_errors"]
                if se and any(se.values()):
                    anomalies.append(f"{name} round {rnd}: wrk socket errors {se}")
                if proc.poll() is not None:
                    die(f"{name} exited with status {proc.returncode} during wrk; its log:\n{tail(plog)}")

        # Still alive and still answering the same bytes after the load?
        for name, port in ports.items():
            status, _hl, _h, got = raw_get(port, PATH_LIST)
            if status != 200 or got != body:
                anomalies.append(f"{name}: after the load GET {PATH_LIST} answered {status} with "
                                 f"{'the same' if got == body else 'different'} bytes")
        argus_log_text = Path(argus_log).read_text(errors="replace").strip()
        if argus_log_text:
            lines = argus_log_text.splitlines()
            anomalies.append(f"argus wrote {len(lines)} line(s) at --log-level warn, last: {lines[-1][:300]}")
        load_after = loadavg()
    finally:
        PROCS.stop_all()
        if env_flag("KEEP_TMP"):
            log(f"KEEP_TMP=1: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # 7. report
    summary = {}
    for name, rs in runs.items():
        summary[name] = {
            "rps": statistics.median(r["rps"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "rps_all": [r["rps"] for r in rs],
            "p99_ms_all": [r["p99_ms"] for r in rs],
        }
    ratios = {}
    a = summary.get("argus")
    for base in ("nginx", "fastapi"):
        b = summary.get(base)
        if a and b:
            ratios[f"argus/{base}"] = {
                "rps": ratio(a["rps"], b["rps"]),  # ratio of the medians: the reported figure
                "p99": ratio(a["p99_ms"], b["p99_ms"]),
                # rounds are interleaved, so each round's ratio compares runs close in time
                "rps_per_round": [ratio(x, y) for x, y in zip(a["rps_all"], b["rps_all"])],
            }

    agg = "median of " + str(repeat) + " runs" if repeat > 1 else "1 run"
    print()
    print(f"GET {PATH_LIST} ({cameras} cameras, {len(body)} B body) -- wrk -t{threads} -c{connections} "
          f"-d{duration}s, 1 I/O thread / worker each, {agg}")
    print(f"{'target':<10}{'req/s':>12}{'p99 ms':>10}   {'argus/target req/s':>18}{'argus/target p99':>18}")
    for name in order:
        s = summary[name]
        if name == "argus":
            rr, pr = "", ""
        else:
            rr = fmt_ratio(ratios.get(f"argus/{name}", {}).get("rps"))
            pr = fmt_ratio(ratios.get(f"argus/{name}", {}).get("p99"))
        print(f"{name:<10}{s['rps']:>12.0f}{s['p99_ms']:>10.2f}   {rr:>18}{pr:>18}")
    if repeat > 1:
        for name in order:
            s = summary[name]
            print(f"  {name:<8} runs: req/s " + ", ".join(f"{x:.0f}" for x in s["rps_all"]) +
                  "; p99 ms " + ", ".join(f"{x:.2f}" for x in s["p99_ms_all"]))
        for key in ratios:
            per = ratios[key]["rps_per_round"]
            print(f"  {key} req/s per round: " + ", ".join(fmt_ratio(x) for x in per) +
                  f" (median {fmt_ratio(statistics.median(per))})")
    goals_result = {}
    for key, goal in GOALS.items():
        if key in ratios and ratios[key]["rps"] is not None:
            ok = ratios[key]["rps"] >= goal
            goals_result[key] = {"goal": goal, "ratio": ratios[key]["rps"], "met": ok}
            print(f"goal {key} req/s >= {goal:.1f}x: {fmt_ratio(ratios[key]['rps'])} -> {'MET' if ok else 'MISSED'}")
    print("(p99 ratio: argus p99 / baseline p99, lower is better)")
    if anomalies:
        print("ANOMALIES:")
        for a_ in anomalies:
            print(f"  - {a_}")
    else:
        print("anomalies: none (no non-2xx responses, no socket errors, argus log empty at warn level)")

    doc = {
        "benchmark": "http_cameras",
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "host": {"cpus": os.cpu_count(), "kernel": platform.release(), "loadavg_before": load_before,
                 "loadavg_after": load_after},
        "settings": {"path": PATH_LIST, "cameras": cameras, "cameras_enabled": cameras_enabled, "duration_s": duration, "warmup_s": warmup,
                     "repeat": repeat, "wrk_threads": threads, "wrk_connections": connections,
                     "build_dir": build_dir, "argus_io_threads": 1, "nginx_workers": 1, "uvicorn_workers": 1},
        "versions": versions(),
        "wire": wire,
        "summary": summary,
        "ratios": ratios,
        "goals": goals_result,
        "anomalies": anomalies,
        "runs": runs,
    }
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"results: {results_path.relative_to(ROOT) if results_path.is_relative_to(ROOT) else results_path}")

    if env_flag("STRICT") and (anomalies or not all(g["met"] for g in goals_result.values())):
        return 3
    return 0


def on_signal(signum, _frame):
    # First signal: unwind through main()'s finally (cleanup). Later ones are ignored so that
    # cleanup itself is not interrupted.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        code = main()
    except BenchError as e:
        print(f"[http] FAILED: {e}", file=sys.stderr)
        code = 1
    except Interrupted as e:
        print(f"[http] interrupted ({e}); stopped every process this run started", file=sys.stderr)
        code = 128 + e.signum
    finally:
        PROCS.stop_all()
    sys.exit(code)
