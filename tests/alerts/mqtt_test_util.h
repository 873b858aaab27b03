// Test helpers for the MQTT bridge: a real Mosquitto broker on a free loopback port and a
// real libmosquitto subscriber that records everything it receives.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "testing/testing.h"

struct mosquitto;

namespace argus::testing {

// `mosquitto -c <config>` listening on 127.0.0.1:<port>, anonymous, no persistence.
class MosquittoBroker {
 public:
  explicit MosquittoBroker(std::uint16_t port = 0);
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Starts the broker and waits until it accepts TCP connections; false if it did not.
  bool start();
  // Starts it with this configuration text instead (it must listen on port()).
  bool start_with(const std::string& config);
  const TempDir& dir() const { return dir_; }
  // SIGTERM and wait (a clean broker shutdown).
  void stop();
  std::uint16_t port() const { return port_; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

 private:
  TempDir dir_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

struct MqttMessage {
  std::string topic;
  std::string payload;
  bool retained = false;
};

// Subscribes to "#" and records every message. Thread-safe accessors.
class MqttRecorder {
 public:
  // With a client id, the session is persistent (clean_session false).
  explicit MqttRecorder(std::uint16_t port, std::string topic = "#", std::string client_id = "");
  ~MqttRecorder();
  MqttRecorder(const MqttRecorder&) = delete;
  MqttRecorder& operator=(const MqttRecorder&) = delete;

  // Connects, subscribes, and waits until the retained messages the broker holds have all
  // arrived (a marker published after the subscription comes back). False on timeout.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::vector<MqttMessage> messages() const;
  std::vector<MqttMessage> on(const std::string& topic) const;
  // The last payload seen on `topic`, or nullopt-like "" with found=false.
  bool last(const std::string& topic, MqttMessage* out) const;
  // Waits until pred(messages) holds; false on timeout.
  bool wait(const std::function<bool(const std::vector<MqttMessage>&)>& pred,
            std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Waits until the last message on `topic` has `payload`.
  bool wait_for(const std::string& topic, const std::string& payload,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  static void on_message_cb(struct mosquitto*, void* self, const void* msg);
  std::uint16_t port_;
  std::string topic_;
  std::string client_id_;
  std::string marker_;
  struct mosquitto* m_ = nullptr;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<MqttMessage> messages_;
  bool marker_seen_ = false;
};

}  // namespace argus::testing
