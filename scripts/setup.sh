#!/usr/bin/env bash
# Installs every Debian package Argus needs to build, test, benchmark and run.
# Idempotent and non-interactive; run as root (or through sudo) on Debian 12.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
  # libraries
  libboost-dev libssl-dev nlohmann-json3-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev
  libsodium-dev libjwt-dev libcurl4-openssl-dev
  # vision: OpenCV (videoio with FFmpeg, dnn, objdetect), libjpeg-turbo; vtest.avi and cascades
  libopencv-dev libturbojpeg0-dev opencv-doc opencv-data ffmpeg
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 curl wrk nginx-light python3-fastapi python3-uvicorn mosquitto mosquitto-clients
  # MQTT (the bridge and notification channels use libmosquitto); the e2e MQTT subscriber;
  # an SMTP sink that receives test mail
  libmosquitto-dev python3-paho-mqtt python3-aiosmtpd
  # private-CA certificates for the TLS notification tests
  openssl
  # tests generate small ONNX models themselves
  python3-onnx python3-numpy
  # a real RTSP server for the RTSP camera tests (GStreamer's gst-rtsp-server from Python)
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  # the OpenAPI test compares the served JSON with docs/openapi.yaml
  python3-yaml
  # promtool checks the live /metrics exposition (tests/e2e/test_metrics.py)
  prometheus
)
# Node.js and npm run the OpenAPI linter (Redocly CLI, scripts/openapi-lint.sh). Only when
# they are not on PATH already: a machine with another Node.js distribution (NodeSource,
# nvm) keeps its own, whose npm Debian's npm package would conflict with.
if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
else
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  echo "setup: done"
fi
