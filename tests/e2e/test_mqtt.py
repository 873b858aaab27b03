"""The MQTT bridge through the real binary and a real Mosquitto broker on loopback, checked
by a real MQTT subscriber (paho-mqtt): availability and the last will after kill -9, the
event lifecycle from pushed frames, counts, Home Assistant discovery (and its removal when
the camera is deleted), and a broker that goes away and comes back while Argus keeps
detecting."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import paho.mqtt.client as mqtt

from harness import Server, camera, free_port, wait_for
from mqtt_broker import Broker
from test_pipeline import jpeg_bytes, make_models


class Subscriber:
    """Subscribes to everything and records (topic, payload, retained) in arrival order.
    start() returns once the broker's retained messages have all arrived (a marker
    published after the subscription comes back after them)."""

    def __init__(self, port, client_id=""):
        """With a client_id the session is persistent (QoS 1): the broker keeps messages for
        it while it is disconnected."""
        self.port = port
        self.messages = []
        self.lock = threading.Lock()
        self.marker = f"argus-e2e/marker/{os.getpid()}/{id(self)}"
        self.marker_seen = threading.Event()
        self.client = mqtt.Client(client_id=client_id, clean_session=not client_id)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)

    def _on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            return
        client.subscribe([("#", 1)])
        client.publish(self.marker, b"x", qos=1)

    def _on_message(self, client, userdata, msg):
        if msg.topic == self.marker:
            self.marker_seen.set()
            return
        with self.lock:
            self.messages.append((msg.topic, msg.payload.decode("utf-8", "replace"), bool(msg.retain)))

    def start(self):
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        if not self.marker_seen.wait(10):
            raise AssertionError("subscriber did not get its marker back")
        return self

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def all(self):
        with self.lock:
            return list(self.messages)

    def last(self, topic):
        for t, p, r in reversed(self.all()):
            if t == topic:
                return p, r
        return None

    def wait_payload(self, topic, payload, timeout=30):
        return wait_for(lambda: (self.last(topic) or (None,))[0] == payload, timeout=timeout, interval=0.05)

    def wait_seen(self, topic, payload, timeout=30):
        """Waits until `payload` was published on `topic` at some point."""
        return wait_for(lambda: any(t == topic and p == payload for t, p, _ in self.all()), timeout=timeout,
                        interval=0.05)

    def events(self, prefix="argus"):
        return [json.loads(p) for t, p, _ in self.all() if t == f"{prefix}/events"]


class MqttBridge(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.models = tempfile.mkdtemp(prefix="argus-models-")
        cls.model, cls.labels = make_models(cls.models)
        cls.jpeg = jpeg_bytes(None)
        cls.data_dir = tempfile.mkdtemp(prefix="argus-e2e-mqtt-")
        cls.server = None

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.stop(signal.SIGKILL)
        cls.broker.cleanup()
        shutil.rmtree(cls.models, ignore_errors=True)
        shutil.rmtree(cls.data_dir, ignore_errors=True)

    def start_server(self):
        args = ("--set", "detector.kind=onnx", "--set", f"detector.model={self.model}",
                "--set", f"detector.labels={self.labels}", "--set", "detector.input_width=64",
                "--set", "detector.input_height=64", "--set", "pipeline.track_timeout=600ms",
                "--set", "pipeline.count_flush=1s", "--set", "pipeline.motion_gate=false",
                "--set", f"mqtt.url={self.broker.url}", "--set", "mqtt.client_id=argus-e2e",
                "--set", "mqtt.stats_interval=1s", "--set", "mqtt.reconnect_max=1s")
        self.__class__.server = Server(data_dir=self.data_dir, args=args).start()
        return self.server

    def push(self, cam_id, n=1, gap=0.06):
        for _ in range(n):
            for _ in range(50):
                status, _, body = self.server.request("POST", f"/api/v1/cameras/{cam_id}/frames", body=self.jpeg,
                                                      headers={"Content-Type": "image/jpeg"})
                if status != 503:
                    break
                time.sleep(0.1)
            self.assertEqual(status, 202, body)
            time.sleep(gap)

    def test_bridge_end_to_end(self):
        s = self.start_server()
        sub = Subscriber(self.broker.port, client_id="e2e-persistent").start()
        self.addCleanup(sub.close)
        sub.wait_payload("argus/available", "online")

        # A push camera with a zone over the whole picture and a line.
        body = camera("gate", source={"kind": "push"},
                      detection={"fps": 20, "labels": ["person"], "min_score": 0.5},
                      zones=[{"name": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
                      lines=[{"name": "door", "points": [[0, 0.9], [1, 0.9]]}])
        self.assertEqual(s.json("POST", "/api/v1/cameras", body)[0], 201)
        cfg_topic = "homeassistant/sensor/argus_gate/person_count/config"
        wait_for(lambda: sub.last(cfg_topic) and sub.last(cfg_topic)[0] != "")
        cfg = json.loads(sub.last(cfg_topic)[0])
        self.assertEqual(cfg["state_topic"], "argus/gate/person")
        self.assertEqual(cfg["availability_topic"], "argus/available")
        self.assertEqual(cfg["device"]["manufacturer"], "Argus")
        self.assertEqual(cfg["device"]["identifiers"], ["argus_gate"])
        self.assertEqual(cfg["unique_id"], "argus_gate_person_count")
        line_cfg = json.loads(wait_for(lambda: sub.last("homeassistant/sensor/argus_gate/line_door_in/config"))[0])
        self.assertEqual(line_cfg["state_class"], "total_increasing")
        occ = json.loads(wait_for(
            lambda: sub.last("homeassistant/binary_sensor/argus_gate/all_person_occupancy/config"))[0])
        self.assertEqual(occ["device_class"], "occupancy")
        wait_for(lambda: (sub.last("argus/gate/door/in") or ("",))[0] == "0")
        # A subscriber arriving now gets the configuration and the state as retained messages.
        fresh = Subscriber(self.broker.port).start()
        fresh.close()
        self.assertEqual(fresh.last(cfg_topic), (sub.last(cfg_topic)[0], True))
        self.assertEqual(fresh.last("argus/gate/door/in"), ("0", True))
        self.assertEqual(fresh.last("argus/available"), ("online", True))

        # Frames with a person: new/update/end with one id; counts go 1 then 0.
        self.push("gate", n=10)
        sub.wait_seen("argus/gate/person", "1")
        sub.wait_seen("argus/gate/all/person", "1")
        sub.wait_seen("argus/gate/status", "online")
        sub.wait_payload("argus/gate/person", "0")  # no more frames: the track times out
        sub.wait_payload("argus/gate/all/person", "0")
        evs = wait_for(lambda: [e for e in sub.events() if e["type"] == "end"] and sub.events())
        ids = {e["after"]["id"] for e in evs}
        self.assertEqual(len(ids), 1, evs)
        event_id = next(iter(ids))
        self.assertEqual(evs[0]["type"], "new")
        self.assertEqual(evs[-1]["type"], "end")
        self.assertIsNone(evs[0]["after"]["end_time"])
        self.assertIsNotNone(evs[-1]["after"]["end_time"])
        self.assertEqual(evs[-1]["before"]["id"], evs[-1]["after"]["id"])
        self.assertEqual(evs[0]["after"]["camera"], "gate")
        self.assertEqual(evs[0]["after"]["label"], "person")
        self.assertIn("all", evs[-1]["before"]["current_zones"] + evs[-1]["after"]["entered_zones"])
        for e in evs[1:]:
            self.assertIn(e["type"], ("update", "end"))
        # The stored event is the same object.
        status, _, stored = s.json("GET", f"/api/v1/events/{event_id}")
        self.assertEqual(status, 200)
        self.assertEqual(stored["camera"], "gate")

        # Stats on the interval.
        stats = json.loads(wait_for(lambda: sub.last("argus/stats"))[0])
        self.assertTrue(stats["connected"])
        self.assertGreaterEqual(stats["cameras"], 1)
        # Metrics.
        _, _, metrics = s.request("GET", "/metrics")
        self.assertIn(b"argus_mqtt_connected 1", metrics)
        self.assertIn(b"argus_mqtt_messages_published_total", metrics)

        # The broker goes away: Argus keeps serving and detecting, and delivers the backlog.
        self.broker.stop()
        wait_for(lambda: b"argus_mqtt_connected 0" in s.request("GET", "/metrics")[2])
        before = len(s.json("GET", "/api/v1/events?camera=gate")[2]["items"])
        self.push("gate", n=10)
        wait_for(lambda: len(s.json("GET", "/api/v1/events?camera=gate")[2]["items"]) > before)
        offline_ids = {e["id"] for e in s.json("GET", "/api/v1/events?camera=gate")[2]["items"]}
        ids_before = {e["after"]["id"] for e in evs}
        self.broker.start()
        # The persistent session gets what the bridge published on reconnect, whenever that was.
        arrived = wait_for(lambda: {e["after"]["id"] for e in sub.events()} & (offline_ids - ids_before))
        self.assertTrue(arrived)
        sub2 = Subscriber(self.broker.port).start()
        self.addCleanup(sub2.close)
        sub2.wait_payload("argus/available", "online")
        wait_for(lambda: sub2.last(cfg_topic) and sub2.last(cfg_topic)[0] != "")
        _, _, metrics = s.request("GET", "/metrics")
        self.assertIn(b"argus_mqtt_reconnects_total 1", metrics)

        # Deleting the camera removes its discovery configs (empty retained payloads).
        self.assertEqual(s.request("DELETE", "/api/v1/cameras/gate")[0], 204)
        sub2.wait_payload(cfg_topic, "")
        late = Subscriber(self.broker.port).start()
        self.addCleanup(late.close)
        leftovers = [t for t, _, _ in late.all() if "argus_gate" in t or t.startswith("argus/gate/")]
        self.assertEqual(leftovers, [])

        # kill -9: the broker publishes the last will (offline, retained).
        s.stop(signal.SIGKILL)
        late.wait_payload("argus/available", "offline")
        after_kill = Subscriber(self.broker.port).start()
        after_kill.close()
        self.assertEqual(after_kill.last("argus/available"), ("offline", True), "the will is retained")
        # A restart says online again.
        self.start_server()
        late.wait_payload("argus/available", "online")
        # A clean stop says offline.
        self.assertEqual(self.server.stop(), 0)
        late.wait_payload("argus/available", "offline")


if __name__ == "__main__":
    unittest.main()
