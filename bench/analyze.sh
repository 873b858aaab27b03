#!/usr/bin/env bash
# Analyze benchmark (issue: vision pipeline): `argus analyze vtest.avi` frames/s against real
# time (the video's 10 fps) and against a plain OpenCV loop doing the same decode + motion +
# HOG work (bench/baseline/opencv_loop.cpp) in the same run; plus accuracy on the
# hand-labeled set (argus eval). Settings are the demo's (config/demo.yaml): HOG at 1.6x on
# every second frame (detect fps 5), camera min score 0.7.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-release}
VIDEO=${VIDEO:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}
ARGUS=${ARGUS_BIN:-$BUILD_DIR/argus}
SETTINGS='{"detection":{"fps":5,"labels":["person"],"min_score":0.7}}'
mkdir -p bench/results

ninja -C "$BUILD_DIR" bench_opencv_loop >/dev/null
echo "[analyze] argus analyze $VIDEO" >&2
"$ARGUS" analyze "$VIDEO" --config config/demo.yaml --camera-settings "$SETTINGS" --no-progress \
  -o bench/results/analyze_frames.jsonl
argus_json=$(tail -n 1 bench/results/analyze_frames.jsonl)
echo "[analyze] plain OpenCV loop (same decode, motion and HOG work, 1 thread)" >&2
base_json=$("$BUILD_DIR/bench/baseline/bench_opencv_loop" "$VIDEO" --every 2 --upscale 1.6)
echo "[analyze] argus eval on tests/data/vtest_people.json" >&2
eval_json=$("$ARGUS" eval --labels tests/data/vtest_people.json --config config/demo.yaml \
  --camera-settings "$SETTINGS" --json)

/usr/bin/python3 - "$argus_json" "$base_json" "$eval_json" <<'PY'
import json, sys
a = json.loads(sys.argv[1])["summary"]; b = json.loads(sys.argv[2]); e = json.loads(sys.argv[3])
rt = a["video_fps"]
print(f"argus analyze vtest.avi ({a['frames']} frames, detector on {a['detected_frames']})")
print(f"{'target':<28}{'frames/s':>10}{'x real time':>13}")
print(f"{'argus analyze (2 workers)':<28}{a['frames_per_second']:>10.1f}{a['frames_per_second']/rt:>13.2f}")
print(f"{'plain OpenCV loop (1 thread)':<28}{b['frames_per_second']:>10.1f}{b['frames_per_second']/rt:>13.2f}")
print(f"argus / plain loop: {a['frames_per_second']/b['frames_per_second']:.2f}x "
      f"(argus uses crops and 2 detector threads; the loop runs HOG on whole frames on 1)")
print(f"accuracy on {e['labeled_frames']} labeled frames: precision {e['precision']:.3f}, recall {e['recall']:.3f}, "
      f"count error {e['count_mae']:.3f} people/frame")
print(f"goals: >= 25 frames/s: {'MET' if a['frames_per_second'] >= 25 else 'MISSED'}; "
      f"count error <= 0.5: {'MET' if e['count_mae'] <= 0.5 else 'MISSED'}")
json.dump({"argus": a, "baseline": b, "eval": e}, open("bench/results/analyze.json", "w"), indent=2)
PY
