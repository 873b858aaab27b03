"""Streams end to end over real sockets: the WebSocket at /api/v1/stream, Server-Sent
Events at /api/v1/events/stream and polling with GET /api/v1/events?after_id=.

Messages come from real publishers: camera changes through the API (topic `cameras`) and
POST /api/v1/stream/test (topic `system`)."""

import json
import socket
import struct
import threading
import time
import unittest

from harness import Server, camera, wait_for
from ws_client import EventStream, WebSocket, WsClosed

VIEWER_PW = "viewer-password-1"
# These tests publish hundreds of messages quickly.
FAST_WRITES = {"ARGUS_AUTH_WRITE_RATE": "10000/s", "ARGUS_AUTH_WRITE_BURST": "10000"}


class StreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(env={"ARGUS_STREAMS_RING_SIZE": "50", "ARGUS_STREAMS_HEARTBEAT": "1s", **FAST_WRITES}).start()
        for cid in ("cam-a", "cam-b"):
            status, _, doc = cls.server.json("POST", "/api/v1/cameras", camera(cid, enabled=False))
            assert status == 201, doc
        body = {"username": "viewer-a", "password": VIEWER_PW, "role": "viewer", "cameras": ["cam-a"]}
        status, _, doc = cls.server.json("POST", "/api/v1/users", body)
        assert status == 201, doc
        status, _, tokens = cls.server.json("POST", "/api/v1/auth/login",
                                            {"username": "viewer-a", "password": VIEWER_PW}, auth=False)
        assert status == 200, tokens
        cls.viewer = tokens["access_token"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def publish(self, data):
        status, _, doc = self.server.json("POST", "/api/v1/stream/test", {"data": data})
        self.assertEqual(status, 202, doc)
        return doc["id"]

    def touch_camera(self, cid, name):
        status, _, doc = self.server.json("PATCH", f"/api/v1/cameras/{cid}", {"name": name},
                                          headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(status, 200, doc)

    def ws(self, token=None, **kwargs):
        w = WebSocket(self.server.port, token=token or self.server.token, **kwargs)
        self.addCleanup(w.close)
        return w

    # --- WebSocket ---

    def test_websocket_subscribe_filters_and_envelope(self):
        w = self.ws()
        self.assertEqual(w.status, 101)
        reply = w.subscribe(topics=["system"])
        self.assertEqual(reply, {"op": "subscribed", "topics": ["system"], "cameras": []})
        mid = self.publish({"n": 1})
        self.touch_camera("cam-a", "not for this subscriber")
        msg = w.recv_until(lambda m: "topic" in m and m.get("data", {}).get("test") is not None)
        self.assertEqual(set(msg), {"id", "topic", "time", "data"})
        self.assertEqual(msg["id"], mid)
        self.assertEqual(msg["topic"], "system")
        self.assertEqual(msg["data"], {"test": {"n": 1}})
        self.assertTrue(msg["time"].endswith("Z"))

        # Cameras topic for one camera only.
        reply = w.subscribe(topics=["cameras"], cameras=["cam-b"])
        self.assertEqual(reply["topics"], ["cameras", "system"])
        self.touch_camera("cam-a", "A1")
        self.touch_camera("cam-b", "B1")
        msg = w.recv_until(lambda m: m.get("topic") == "cameras")
        self.assertEqual(msg["data"]["camera"]["id"] if "camera" in msg["data"] else msg["data"].get("id"), "cam-b")

        # Unsubscribe: nothing more of that topic arrives.
        w.send_json({"op": "unsubscribe", "topics": ["cameras"]})
        self.assertEqual(w.recv_until(lambda m: m.get("op") == "unsubscribed")["topics"], ["system"])
        self.touch_camera("cam-b", "B2")
        self.publish({"n": 2})
        msg = w.recv_until(lambda m: "topic" in m and "test" in m.get("data", {}))
        self.assertEqual(msg["data"]["test"], {"n": 2})  # and no cameras message before it

    def test_camera_status_changes_are_published(self):
        w = self.ws()
        w.subscribe(topics=["cameras"], cameras=["cam-live"])
        status, _, doc = self.server.json("POST", "/api/v1/cameras",
                                          camera("cam-live", source={"url": "rtsp://127.0.0.1:9/none"}))
        self.assertEqual(status, 201, doc)
        created = w.recv_until(lambda m: m.get("topic") == "cameras")
        self.assertEqual(created["data"]["type"], "created")
        # Nothing listens on port 9: the camera leaves "starting" and says why.
        msg = w.recv_until(lambda m: m.get("data", {}).get("type") == "status"
                           and m["data"]["status"]["state"] not in ("starting", "online"), timeout=30)
        self.assertEqual(msg["data"]["camera_id"], "cam-live")
        self.assertTrue(msg["data"]["status"]["reason"])
        self.server.json("DELETE", "/api/v1/cameras/cam-live")

    def test_websocket_bad_requests_get_error_replies(self):
        w = self.ws()
        w.send_frame(1, b"not json")
        self.assertEqual(w.recv()["op"], "error")
        w.send_json({"op": "dance"})
        self.assertIn("unknown op", w.recv()["error"])
        self.assertEqual(w.subscribe(topics=["nope"])["op"], "error")
        w.send_json({"op": "ping"})
        self.assertEqual(w.recv(), {"op": "pong"})
        # The connection is still usable.
        self.assertEqual(w.subscribe(topics=["system"])["op"], "subscribed")

    def test_websocket_ping_pong_and_server_keepalive(self):
        w = self.ws()
        w.send_frame(9, b"hello")
        op, payload = w.recv_frame()
        self.assertEqual((op, payload), (10, b"hello"))
        # heartbeat is 1 s: the server pings an idle client.
        w.sock.settimeout(5)
        op, _ = w.recv_frame()
        self.assertEqual(op, 9)

    def test_websocket_silent_client_is_dropped(self):
        w = self.ws()
        w.sock.settimeout(15)
        # Never answer pings: after two heartbeats (+5 s) the server closes with 1001.
        while True:
            op, payload = w.recv_frame()
            if op == 8:
                self.assertEqual(struct.unpack("!H", payload[:2])[0], 1001)
                break

    def test_websocket_protocol_violations_close_with_rfc_codes(self):
        cases = [
            ("unmasked frame", lambda w: w.send_frame(1, b"{}", mask=False), 1002),
            ("reserved bits", lambda w: w.send_frame(1, b"{}", rsv=4), 1002),
            ("unknown opcode", lambda w: w.send_frame(3, b""), 1002),
            ("fragmented ping", lambda w: w.send_frame(9, b"", fin=False), 1002),
            ("stray continuation", lambda w: w.send_frame(0, b"x"), 1002),
            ("invalid UTF-8", lambda w: w.send_frame(1, b"\xc3\x28"), 1007),
            ("too big", lambda w: w.send_frame(1, b"x" * (70 * 1024)), 1009),
            ("binary", lambda w: w.send_frame(2, b"\x00"), 1003),
        ]
        for name, send, code in cases:
            with self.subTest(name):
                w = self.ws()
                send(w)
                self.assertEqual(w.expect_close(), code)

    def test_websocket_client_close_is_echoed(self):
        w = self.ws()
        w.send_frame(8, struct.pack("!H", 1000) + b"bye")
        self.assertEqual(w.expect_close(), 1000)

    def test_websocket_handshake_errors(self):
        # A plain GET (no upgrade): 426.
        status, headers, _ = self.server.request("GET", "/api/v1/stream")
        self.assertEqual(status, 426)
        # No credentials: 401 before any upgrade.
        w = WebSocket(self.server.port, token=None)
        self.addCleanup(w.close)
        self.assertEqual(w.status, 401)
        # Wrong version.
        w = WebSocket(self.server.port, token=self.server.token, headers={"Sec-WebSocket-Version": "8"})
        self.addCleanup(w.close)
        self.assertEqual(w.status, 426)
        self.assertEqual(w.headers.get("sec-websocket-version"), "13")

    def test_websocket_with_a_ticket(self):
        status, _, doc = self.server.json("POST", "/api/v1/auth/ticket")
        self.assertEqual(status, 201, doc)
        w = WebSocket(self.server.port, path="/api/v1/stream?ticket=" + doc["ticket"])
        self.addCleanup(w.close)
        self.assertEqual(w.status, 101)
        # Single use.
        again = WebSocket(self.server.port, path="/api/v1/stream?ticket=" + doc["ticket"])
        self.addCleanup(again.close)
        self.assertEqual(again.status, 401)

    def test_websocket_replay_after_id(self):
        first = self.publish({"r": 0})
        ids = [self.publish({"r": i}) for i in range(1, 4)]
        w = self.ws()
        self.assertEqual(w.subscribe(topics=["system"], after_id=first)["op"], "subscribed")
        got = [w.recv_until(lambda m: "test" in m.get("data", {}))["id"] for _ in ids]
        self.assertEqual(got, ids)

    def test_camera_scope_applies_to_streams(self):
        w = self.ws(token=self.viewer)
        self.assertEqual(w.subscribe(topics=["cameras"])["op"], "subscribed")
        # Asking for a camera outside the scope looks like asking for one that does not exist.
        self.assertEqual(w.subscribe(topics=["cameras"], cameras=["cam-b"])["op"], "error")
        self.touch_camera("cam-b", "hidden from the viewer")
        self.touch_camera("cam-a", "visible")
        msg = w.recv_until(lambda m: m.get("topic") == "cameras")
        self.assertIn("cam-a", json.dumps(msg["data"]))
        self.assertNotIn("cam-b", json.dumps(msg["data"]))
        # Viewers may not read jobs? They may; but no viewer reads a topic without permission:
        w.send_json({"op": "subscribe", "topics": ["alerts", "system"]})
        self.assertIn(w.recv()["op"], ("subscribed", "error"))

    def test_revoked_credentials_end_their_streams(self):
        s = self.server
        # A key: revoking it ends the SSE stream it opened, with a last system event saying why.
        status, _, key = s.json("POST", "/api/v1/keys", {"name": "dashboard", "permissions": ["streams:read"]})
        self.assertEqual(status, 201, key)
        by_key = self.sse("?topics=system", token=key["key"])
        self.assertEqual(by_key.status, 200)
        admin_stream = self.sse("?topics=system")
        # A user: disabling them ends their WebSocket with 1008, and their SSE stream too.
        body = {"username": "streamer", "password": VIEWER_PW, "role": "viewer"}
        status, _, user = s.json("POST", "/api/v1/users", body)
        self.assertEqual(status, 201, user)
        _, _, tokens = s.json("POST", "/api/v1/auth/login", {"username": "streamer", "password": VIEWER_PW},
                              auth=False)
        w = self.ws(token=tokens["access_token"])
        self.assertEqual(w.subscribe(topics=["system"])["op"], "subscribed")
        mid = self.publish({"before": "revocation"})
        self.assertEqual(by_key.next_event()[0], mid)
        self.assertEqual(w.recv_until(lambda m: m.get("id") == mid)["id"], mid)

        self.assertEqual(s.request("DELETE", f"/api/v1/keys/{key['id']}")[0], 204)
        _, last = by_key.next_event()
        self.assertEqual(last["topic"], "system")
        self.assertEqual(last["data"]["disconnected"], "credentials revoked")
        self.assertIn("the API key was revoked", last["data"]["detail"])
        self.assertIsNone(by_key.next_event(timeout=5))  # the server ended the stream
        self.assertEqual(s.request("GET", "/api/v1/events/stream?topics=system", token=key["key"])[0], 401)

        status, _, doc = s.json("PATCH", f"/api/v1/users/{user['id']}", {"disabled": True})
        self.assertEqual(status, 200, doc)
        notice = w.recv_until(lambda m: m.get("topic") == "system" and "disconnected" in m.get("data", {}))
        self.assertIn("status changed", notice["data"]["detail"])
        self.assertEqual(w.expect_close(), 1008)

        # Streams opened by anyone else go on.
        mid = self.publish({"after": "revocation"})
        seen = [admin_stream.next_event() for _ in range(2)]
        self.assertEqual([event_id for event_id, _ in seen][-1], mid)
        self.assertFalse(any("disconnected" in data["data"] for _, data in seen))

    # --- SSE ---

    def sse(self, query="", token=None, headers=None):
        s = EventStream(self.server.port, "/api/v1/events/stream" + query, token=token or self.server.token,
                        headers=headers)
        self.addCleanup(s.close)
        return s

    def test_sse_receives_envelopes_with_ids(self):
        s = self.sse("?topics=system")
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers["content-type"].startswith("text/event-stream"))
        self.assertNotIn("content-length", s.headers)
        mid = self.publish({"sse": 1})
        event_id, data = s.next_event()
        self.assertEqual(s.retry, 3000)
        self.assertEqual(event_id, mid)
        self.assertEqual(data["id"], mid)
        self.assertEqual(data["data"], {"test": {"sse": 1}})

    def test_sse_heartbeat(self):
        s = self.sse("?topics=alerts")
        s.sock.settimeout(5)
        while s.comments == 0:
            chunk = s.sock.recv(1024)
            self.assertTrue(chunk)
            if b": keep-alive" in chunk:
                break

    def test_sse_replay_with_last_event_id(self):
        s = self.sse("?topics=system")
        first = self.publish({"k": 0})
        event_id, _ = s.next_event()
        self.assertEqual(event_id, first)
        s.close()
        # Missed while disconnected:
        missed = [self.publish({"k": i}) for i in range(1, 4)]
        s = self.sse("?topics=system", headers={"Last-Event-ID": first})
        got = [s.next_event()[0] for _ in missed]
        self.assertEqual(got, missed)
        # Live messages follow the replay without a gap.
        live = self.publish({"k": 4})
        self.assertEqual(s.next_event()[0], live)

    def test_sse_truncated_replay_is_announced(self):
        old = self.publish({"t": "old"})
        for i in range(60):  # the ring holds 50
            self.publish({"t": i})
        s = self.sse("?topics=system", headers={"Last-Event-ID": old})
        event_id, data = s.next_event()
        self.assertIsNone(event_id)
        self.assertEqual(data["topic"], "system")
        self.assertEqual(data["data"]["replay"], "truncated")
        # Then what the ring still holds.
        next_id, _ = s.next_event()
        self.assertGreater(int(next_id), int(old) + 1)
        # An id from an earlier run (smaller than anything this run published) is truncated too.
        s2 = self.sse("?topics=system", headers={"Last-Event-ID": "5"})
        self.assertEqual(s2.next_event()[1]["data"]["replay"], "truncated")

    def test_sse_errors(self):
        status, _, doc = self.server.json("GET", "/api/v1/events/stream?topics=bogus")
        self.assertEqual(status, 400, doc)
        status, _, doc = self.server.json("GET", "/api/v1/events/stream", headers={"Last-Event-ID": "abc"})
        self.assertEqual(status, 400, doc)
        status, _, doc = self.server.json("GET", "/api/v1/events/stream?cameras=cam-b", token=self.viewer)
        self.assertEqual(status, 404, doc)
        status, _, _ = self.server.request("GET", "/api/v1/events/stream", auth=False)
        self.assertEqual(status, 401)

    # --- polling ---

    def test_polling_after_id(self):
        first = self.publish({"p": 0})
        ids = [self.publish({"p": i}) for i in range(1, 4)]
        # A publish is accepted when the bus has it; the stream hub files it a moment later.
        doc = wait_for(lambda: (lambda d: d if len(d["items"]) >= 3 else None)(
            self.server.json("GET", f"/api/v1/events?after_id={first}&topics=system")[2]), timeout=10)
        self.assertEqual([m["id"] for m in doc["items"]], ids)
        self.assertEqual(doc["last_id"], ids[-1])
        self.assertFalse(doc["truncated"])
        status, _, doc = self.server.json("GET", f"/api/v1/events?after_id={ids[-1]}&topics=system")
        self.assertEqual(doc["items"], [])
        status, _, doc = self.server.json("GET", "/api/v1/events?after_id=3")
        self.assertTrue(doc["truncated"])
        status, _, doc = self.server.json("GET", "/api/v1/events?after_id=x")
        self.assertEqual(status, 400)


class SlowConsumerTest(unittest.TestCase):
    """A subscriber that stops reading: its queue overflows without slowing the others."""

    def run_policy(self, policy):
        server = Server(env={"ARGUS_STREAMS_QUEUE": "64", "ARGUS_STREAMS_SLOW_POLICY": policy, **FAST_WRITES}).start()
        self.addCleanup(server.cleanup)
        slow = WebSocket(server.port, token=server.token)
        fast = WebSocket(server.port, token=server.token)
        self.addCleanup(slow.close)
        self.addCleanup(fast.close)
        # The slow client does not read until the end: the socket buffers (a few MiB on
        # loopback) fill first, then its queue of 64 messages overflows.
        slow.subscribe(topics=["system"])
        fast.subscribe(topics=["system"])
        big = "x" * 100000
        n = 400
        got = []

        def read_fast():
            while len(got) < n:
                got.append(fast.recv_until(lambda m: "test" in m.get("data", {}), timeout=20)["data"]["test"]["i"])

        reader = threading.Thread(target=read_fast, daemon=True)
        reader.start()
        for i in range(n):
            status, _, _ = server.request("POST", "/api/v1/stream/test", {"data": {"i": i, "pad": big}})
            self.assertEqual(status, 202)
        reader.join(30)
        self.assertEqual(got, list(range(n)))  # the fast one lost nothing
        return server, slow

    def test_drop_oldest_tells_the_client(self):
        server, slow = self.run_policy("drop_oldest")
        received, notices = [], []
        slow.sock.settimeout(5)
        try:
            while len(received) + sum(notices) < 400:
                m = slow.recv(5)
                if "dropped" in m.get("data", {}):
                    notices.append(m["data"]["dropped"])
                elif "test" in m.get("data", {}):
                    received.append(m["data"]["test"]["i"])
        except socket.timeout:
            pass
        self.assertTrue(notices, "the slow client was not told it lost messages")
        self.assertEqual(len(received) + sum(notices), 400)
        self.assertEqual(received, sorted(received))
        self.assertEqual(received[-1], 399)  # the newest survive
        metrics = server.request("GET", "/metrics")[2].decode()
        self.assertIn("argus_stream_messages_dropped_total", metrics)

    def test_disconnect_policy_closes_the_slow_client(self):
        _, slow = self.run_policy("disconnect")
        slow.sock.settimeout(10)
        code = None
        try:
            while True:
                slow.recv(10)
        except WsClosed as e:
            code = e.code
        except (ConnectionError, OSError):
            code = "reset"
        self.assertIn(code, (1008, "reset"))


class ShutdownTest(unittest.TestCase):
    def test_stream_clients_are_told_on_shutdown(self):
        server = Server().start()
        self.addCleanup(server.cleanup)
        w = WebSocket(server.port, token=server.token)
        self.addCleanup(w.close)
        w.subscribe(topics=["system"])
        s = EventStream(server.port, "/api/v1/events/stream", token=server.token)
        self.addCleanup(s.close)
        started = time.time()
        server.stop()
        self.assertEqual(w.expect_close(), 1001)
        self.assertLess(time.time() - started, 8)
        self.assertIsNone(s.next_event(timeout=5))


if __name__ == "__main__":
    unittest.main()
