#!/usr/bin/env bash
# Fan-out benchmark (issue 5 part 5): N WebSocket subscribers on one argus server receiving
# RATE events/s for DURATION s, against the same number of MQTT subscribers on a Mosquitto
# broker receiving the same rate, in the same run. For every N: delivery latency p50/p99 from
# publish to receipt, messages lost, subscribers disconnected, and server RSS per idle
# subscriber. The load tool is bench/baseline/fanout.cpp (`bench_fanout`, one epoll thread);
# it reports its own CPU time so that a saturated client shows. See bench/README.md.
#
# Environment (all optional):
#   SUBSCRIBERS="1000 5000 10000"  subscriber counts, one fresh server per count and target
#   RATE=100  DURATION=60          messages/s and seconds of publishing
#   IDLE=5                         seconds all subscribers sit idle before RSS is sampled
#   DRAIN=10                       seconds to wait after the last publish for late messages
#   IO_THREADS=2                   argus server.io_threads (the server default; Mosquitto has one thread)
#   TARGETS="mosquitto argus"      subset/order of the targets
#   MAX_SERVER_RSS_MIB=4096        a server growing past this stops the run (shared machine)
#   BUILD_DIR=build-release  ARGUS_BIN=path  MOSQUITTO_BIN=path  SKIP_BUILD=1  KEEP_TMP=1
#   STRICT=1                       exit with status 3 when a goal is missed or an anomaly is seen
#                                  (status 1: a run failed)
#   RESULTS=bench/results/fanout.json
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-release}
ARGUS=${ARGUS_BIN:-$BUILD_DIR/argus}
TOOL=$BUILD_DIR/bench/baseline/bench_fanout
SUBSCRIBERS=${SUBSCRIBERS:-"1000 5000 10000"}
RATE=${RATE:-100}
DURATION=${DURATION:-60}
IDLE=${IDLE:-5}
DRAIN=${DRAIN:-10}
IO_THREADS=${IO_THREADS:-2}
TARGETS=${TARGETS:-"mosquitto argus"}
MAX_SERVER_RSS_MIB=${MAX_SERVER_RSS_MIB:-4096}
RESULTS=${RESULTS:-bench/results/fanout.json}
PASSWORD=bench-admin-password
MOSQUITTO=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}

log() { echo "[fanout] $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- processes: everything started here is stopped on exit, whatever the exit ---------------
pids=()
tmp=""
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  pids=()
  if [ -n "$tmp" ] && [ "${KEEP_TMP:-0}" != "1" ]; then rm -rf "$tmp"; fi
  if [ -n "$tmp" ] && [ "${KEEP_TMP:-0}" = "1" ]; then log "kept $tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

forget_pid() {
  local p rest=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || rest+=("$p"); done
  pids=("${rest[@]+"${rest[@]}"}")
}

stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget_pid "$1"
}

# Server CPU time (user + sys) of a live process, in seconds.
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {  # pid port name log
  for _ in $(seq 300); do
    kill -0 "$1" 2>/dev/null || { tail -n 20 "$4" >&2; die "$3 exited before listening on port $2"; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$4" >&2
  die "$3 did not listen on port $2 within 30 s"
}

# --- build and limits --------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  log "building: bash scripts/build.sh $BUILD_DIR Release -DARGUS_BUILD_TESTS=OFF"
  bash scripts/build.sh "$BUILD_DIR" Release -DARGUS_BUILD_TESTS=OFF >&2
fi
[ -f "$BUILD_DIR/build.ninja" ] || die "$BUILD_DIR is not configured: run bash bench/run.sh fanout (or drop SKIP_BUILD)"
ninja -C "$BUILD_DIR" bench_fanout >/dev/null
case " $TARGETS " in *" argus "*) [ -x "$ARGUS" ] || die "no argus binary at $ARGUS" ;; esac
case " $TARGETS " in *" mosquitto "*) [ -x "$MOSQUITTO" ] || die "no $MOSQUITTO: apt-get install mosquitto (scripts/setup.sh)" ;; esac

# Both the servers and the client inherit this limit: each side needs one descriptor per
# subscriber plus a few.
hard=$(ulimit -Hn)
if [ "$hard" != "unlimited" ]; then ulimit -n "$hard"; fi
max_n=0
for n in $SUBSCRIBERS; do [ "$n" -gt "$max_n" ] && max_n=$n; done
if [ "$hard" != "unlimited" ] && [ "$max_n" -gt $((hard - 100)) ]; then
  die "RLIMIT_NOFILE hard limit is $hard, but $max_n subscribers need about $((max_n + 100)) descriptors" \
      "on each side: raise it (ulimit -Hn as root, LimitNOFILE=, /etc/security/limits.conf) or lower SUBSCRIBERS"
fi
load=$(cut -d' ' -f1 /proc/loadavg)
log "load average $load on $(nproc) cores; the machine is shared: compare ratios from this run only"

tmp=$(mktemp -d /tmp/argus-fanout.XXXXXX)
mkdir -p "$(dirname "$RESULTS")"
: >"$tmp/runs.jsonl"

# --- one run -------------------------------------------------------------------------------------
# run_tool TARGET N PID ARGS...: runs bench_fanout in the background (so a signal reaches the
# traps at once), appends its JSON line plus the server's CPU and version to runs.jsonl.
run_tool() {
  local target=$1 n=$2 server=$3
  shift 3
  local cpu0 out rc=0
  cpu0=$(cpu_s "$server")
  "$TOOL" "$@" --subscribers "$n" --rate "$RATE" --duration "$DURATION" --idle "$IDLE" --drain "$DRAIN" \
    --server-pid "$server" --max-server-rss-mib "$MAX_SERVER_RSS_MIB" >"$tmp/out.json" &
  local tool=$!
  pids+=("$tool")
  wait "$tool" || rc=$?
  forget_pid "$tool"
  out=$(tail -n 1 "$tmp/out.json")
  if [ -z "$out" ]; then
    log "$target N=$n: bench_fanout failed (status $rc) without a result"
    return 0
  fi
  local cpu1
  cpu1=$(cpu_s "$server" 2>/dev/null || echo "$cpu0")
  /usr/bin/python3 -c 'import json, sys
r = json.loads(sys.argv[1]); r.update(target=sys.argv[2], server_cpu_s=round(float(sys.argv[3]) - float(sys.argv[4]), 2), tool_status=int(sys.argv[5]))
print(json.dumps(r))' "$out" "$target" "$cpu1" "$cpu0" "$rc" >>"$tmp/runs.jsonl"
}

run_mosquitto() {
  local n=$1 port conf
  port=$(free_port)
  conf=$tmp/mosquitto-$n.conf
  cat >"$conf" <<EOF
# generated by bench/fanout.sh
listener $port 127.0.0.1
allow_anonymous true
max_connections -1
persistence false
log_dest stderr
log_type error
log_type warning
EOF
  "$MOSQUITTO" -c "$conf" >"$tmp/mosquitto-$n.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_port "$pid" "$port" mosquitto "$tmp/mosquitto-$n.log"
  log "mosquitto ($("$MOSQUITTO" -h 2>/dev/null | head -n 1 | sed 's/^mosquitto //'), pid $pid, port $port): $n MQTT subscribers"
  run_tool mosquitto "$n" "$pid" mqtt --port "$port"
  stop_pid "$pid"
}

run_argus() {
  local n=$1 port data
  port=$(free_port)
  data=$tmp/argus-data-$n
  mkdir -p "$data"
  # As bench/http_cameras.py does: the per-caller read and write limits are lifted, since all
  # subscribers and the publisher are one caller; authentication and the limiter still run.
  ARGUS_ADMIN_PASSWORD=$PASSWORD ARGUS_MAX_CONNECTIONS=20000 ARGUS_STREAMS_MAX_SUBSCRIBERS=20000 \
    "$ARGUS" serve --listen "127.0.0.1:$port" --data-dir "$data" --log-level warn \
    --set "server.io_threads=$IO_THREADS" \
    --set auth.read_rate=1000000/s --set auth.read_burst=1000000 \
    --set auth.write_rate=1000000/s --set auth.write_burst=1000000 >"$tmp/argus-$n.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_port "$pid" "$port" argus "$tmp/argus-$n.log"
  local ok=""
  for _ in $(seq 100); do
    if curl -sf --noproxy '*' "http://127.0.0.1:$port/health" >/dev/null; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || die "argus did not answer /health"
  local token
  token=$(curl -sf --noproxy '*' -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$port/api/v1/auth/login" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') ||
    die "argus: sign-in failed; log: $(tail -n 5 "$tmp/argus-$n.log")"
  log "argus (pid $pid, port $port, $IO_THREADS I/O thread(s)): $n WebSocket subscribers"
  run_tool argus "$n" "$pid" ws --port "$port" --token "$token"
  if [ -s "$tmp/argus-$n.log" ]; then
    log "argus logged at warn or above (first lines):"
    head -n 5 "$tmp/argus-$n.log" >&2
    cp "$tmp/argus-$n.log" "$(dirname "$RESULTS")/fanout-argus-$n.log"
  fi
  stop_pid "$pid"
}

for n in $SUBSCRIBERS; do
  for target in $TARGETS; do
    case "$target" in
      mosquitto) run_mosquitto "$n" ;;
      argus) run_argus "$n" ;;
      *) die "unknown target $target (TARGETS: mosquitto argus)" ;;
    esac
  done
done

# --- report --------------------------------------------------------------------------------------
planned=$(( $(wc -w <<<"$SUBSCRIBERS") * $(wc -w <<<"$TARGETS") ))
/usr/bin/python3 - "$tmp/runs.jsonl" "$RESULTS" "$RATE" "$DURATION" "$IO_THREADS" "$load" "$planned" "${STRICT:-0}" <<'PY'
import json, subprocess, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
results, rate, duration, io_threads, load = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
planned, strict = int(sys.argv[7]), sys.argv[8] not in ("", "0")
by = {(r["target"], r["subscribers"]): r for r in runs}
ns = sorted({r["subscribers"] for r in runs})

def f(v, fmt="{:.1f}"):
    return "-" if v is None or v < 0 else fmt.format(v)

def late(v):
    return f"{v:.1f}" if v >= 0 else "late"

print(f"fan-out: {rate} msg/s for {duration} s to N subscribers on one server "
      f"(argus: WebSocket, {io_threads} I/O thread(s); mosquitto: MQTT 3.1.1 QoS 0)")
head = (f"{'N':>6} {'target':<10} {'subscr':>6} {'conn s':>6} {'delivered':>10} {'lost':>9} {'lost(k)':>8} "
        f"{'disc':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p99 all':>8} {'KiB/sub':>8} {'RSS MiB':>8} {'srv cpu':>7} {'k/cpu s':>7} {'cli cpu':>7}")
print(head)
for n in ns:
    for t in ("mosquitto", "argus"):
        r = by.get((t, n))
        if not r:
            continue
        per = r["server_kib_per_idle_subscriber"]
        print(f"{n:>6} {t:<10} {r['subscribed']:>6} {r['connect_s']:>6.1f} {r['delivered']:>10} {r['lost']:>9} "
              f"{r['lost_connected']:>8} {r['disconnected']:>5} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} "
              f"{late(r['p99_all_ms']):>8} "
              f"{f(per):>8} {f(r['server_rss_kib_peak'] / 1024 if r['server_rss_kib_peak'] >= 0 else -1):>8} "
              f"{r['server_cpu_s']:>7.1f} {r['delivered'] / max(r['server_cpu_s'], 0.01) / 1000:>7.1f} "
              f"{100 * r['client_cpu_util']:>6.0f}%")
print("p50/p99/max: over the messages delivered; p99 all: over every expected delivery, an undelivered message "
      "counting as infinitely late ('late': more than 1 % never arrived); lost = expected - delivered by the end of "
      "the drain wait; lost(k) = the same for subscribers the server did not disconnect; KiB/sub = server RSS growth "
      "per idle subscriber; RSS MiB = server peak; srv cpu = server CPU s during the run; k/cpu s = thousands of messages delivered per server CPU second; cli cpu = bench_fanout CPU "
      "while publishing and draining, % of one core")

ratios = {}
for n in ns:
    a, m = by.get(("argus", n)), by.get(("mosquitto", n))
    if not a or not m:
        continue
    def ratio(x, y):
        return x / y if y and y > 0 and x is not None and x >= 0 else None
    ra = {"p50": ratio(a["p50_ms"], m["p50_ms"]), "p99": ratio(a["p99_ms"], m["p99_ms"]),
          "kib_per_subscriber": ratio(a["server_kib_per_idle_subscriber"], m["server_kib_per_idle_subscriber"])}
    ratios[n] = ra
    print(f"argus/mosquitto at N={n}: p50 {f(ra['p50'], '{:.2f}x')}, p99 {f(ra['p99'], '{:.2f}x')} (delivered), "
          f"memory per idle subscriber {f(ra['kib_per_subscriber'], '{:.2f}x')} (lower is better)")

goals = []
top = max((n for n in ns if ("argus", n) in by and ("mosquitto", n) in by), default=None)
if top is not None:
    a, m = by[("argus", top)], by[("mosquitto", top)]
    # Judged on p99 over every expected delivery (undelivered = infinitely late).
    pa, pm = a["p99_all_ms"], m["p99_all_ms"]
    show = lambda v: f"{v:.1f} ms" if v >= 0 else "late (> 1 % undelivered)"
    met = pa >= 0 and (pm < 0 or pa <= pm)
    if pa < 0 and pm < 0:
        met = None  # neither delivered 99 %: the tails cannot be compared
    goals.append((f"p99 at {top} subscribers <= mosquitto's: {show(pa)} vs {show(pm)}"
                  + ("" if top == 10000 else " (goal is stated at 10000)"), met))
for n in ns:
    a = by.get(("argus", n))
    if not a:
        continue
    goals.append((f"0 messages lost for subscribers that kept up (N={n}): {a['lost_connected']} lost, "
                  f"{a['disconnected']} disconnected", a["lost_connected"] == 0 and a["expected"] > 0))
    per = a["server_kib_per_idle_subscriber"]
    goals.append((f"<= 20 KiB of server memory per idle subscriber (N={n}): {f(per)} KiB", 0 <= per <= 20))
for text, met in goals:
    print(f"goal {text} -> {'UNDECIDED' if met is None else 'MET' if met else 'MISSED'}")

notes = []
for r in runs:
    tag = f"{r['target']} N={r['subscribers']}"
    if r["client_cpu_util"] > 0.8:
        notes.append(f"{tag}: bench_fanout used {100 * r['client_cpu_util']:.0f}% of a core: the client may be "
                     "the bottleneck, latencies include its queueing")
    if r["subscribed"] < r["subscribers"]:
        notes.append(f"{tag}: only {r['subscribed']} of {r['subscribers']} subscribed ({r['first_error']})")
    if r["publish_errors"]:
        notes.append(f"{tag}: {r['publish_errors']} publishes failed ({r['first_error']})")
    if r.get("server_dropped"):
        notes.append(f"{tag}: the server reported {r['server_dropped']} messages dropped for slow readers")
    if r["first_disconnect"]:
        notes.append(f"{tag}: first disconnect: {r['first_disconnect']}")
    if r["server_rss_aborted"]:
        notes.append(f"{tag}: stopped early: {r['first_error']}")
    if r["rate"] and r["publish_rate"] and r["publish_rate"] < 0.95 * r["rate"]:
        notes.append(f"{tag}: published only {r['publish_rate']:.1f} msg/s")
    if r["first_error"] and not r["server_rss_aborted"] and r["subscribed"] == r["subscribers"] \
            and not r["publish_errors"]:
        notes.append(f"{tag}: {r['first_error']}")
    if r["tool_status"]:
        notes.append(f"{tag}: bench_fanout exited with status {r['tool_status']}")
print("anomalies: " + ("none" if not notes else ""))
for n in notes:
    print("  " + n)
print(f"results: {results}")
rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
json.dump({"rate": int(rate), "duration": float(duration), "io_threads": int(io_threads), "load_average": float(load),
           "git_revision": rev, "runs": runs, "ratios": {str(k): v for k, v in ratios.items()},
           "goals": [{"goal": t, "met": m} for t, m in goals], "anomalies": notes},
          open(results, "w"), indent=2)
# 1: a run failed (no result, or the tool gave up); 3 with STRICT=1: a goal missed or an anomaly.
if len(runs) < planned or any(r["tool_status"] for r in runs):
    sys.exit(1)
if strict and (notes or any(m is not True for _t, m in goals)):
    sys.exit(3)
PY
