"""FastAPI baseline for bench/http_cameras.py.

Answers GET /api/v1/cameras with the exact bytes Argus returned for the same request,
read once at start from the file named by ARGUS_BENCH_BODY_FILE. It also answers GET /health
so the harness can wait for readiness the same way for every target.

Run (what the harness does):
    ARGUS_BENCH_BODY_FILE=/tmp/x/cameras.json /usr/bin/python3 -m uvicorn fastapi_app:app \
        --app-dir bench/baselines --host 127.0.0.1 --port 8000 --workers 1 \
        --log-level warning --no-access-log
"""

import os

from fastapi import FastAPI, Response

_BODY_FILE = os.environ.get("ARGUS_BENCH_BODY_FILE")
if not _BODY_FILE:
    raise RuntimeError("set ARGUS_BENCH_BODY_FILE to the JSON file to serve")
with open(_BODY_FILE, "rb") as f:
    BODY = f.read()

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/api/v1/cameras")
async def list_cameras() -> Response:
    # async def: runs on the event loop, no thread-pool hop (the fastest FastAPI path).
    return Response(content=BODY, media_type="application/json")


@app.get("/health")
async def health() -> Response:
    return Response(content=b"ok", media_type="text/plain")
