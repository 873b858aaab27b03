// MqttClient: a thin RAII wrapper over one libmosquitto client handle.
//
// Not thread-safe: one thread owns the client and drives it with loop(); every callback
// runs inside loop() on that thread. No background thread is started (no
// mosquitto_loop_start), so reconnection is the owner's decision (see MqttBridge).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

struct mosquitto;

namespace argus::alerts {

// A broker address parsed from mqtt://host[:port] or mqtts://host[:port].
struct MqttAddress {
  std::string host;
  int port = 1883;
  bool tls = false;
};

// InvalidArgument for anything but mqtt:// or mqtts:// with a host and an optional port.
Result<MqttAddress> parse_mqtt_url(const std::string& url);

struct MqttClientOptions {
  MqttAddress address;
  std::string client_id;
  std::string username;  // "" = anonymous
  std::string password;
  std::string ca_file;  // TLS: "" = the system's CAs
  bool tls_insecure = false;
  int keepalive_s = 60;
  // Last will: published by the broker if the connection ends without a DISCONNECT.
  std::string will_topic;  // "" = none
  std::string will_payload;
  int will_qos = 1;
  bool will_retain = true;
};

struct MqttClientCallbacks {
  std::function<void(int connack_code)> on_connect;  // 0 = accepted
  std::function<void(int rc)> on_disconnect;         // 0 = we asked for it
  std::function<void(int mid)> on_publish;           // QoS 1: PUBACK received; QoS 0: written
  std::function<void(const std::string& topic, const std::string& payload, bool retained)> on_message;
};

class MqttClient {
 public:
  // InvalidArgument for options libmosquitto refuses (e.g. an unreadable CA file).
  static Result<std::unique_ptr<MqttClient>> create(const MqttClientOptions& options, MqttClientCallbacks callbacks);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Starts a connection (name resolution blocks; the TCP connect and TLS handshake finish in
  // loop()). The first call connects, later ones reconnect. on_connect reports the CONNACK.
  Status connect();
  // Runs network I/O for up to `timeout`. Unavailable when there is no connection (never
  // made, lost, or refused): the owner decides when to connect() again.
  Status loop(std::chrono::milliseconds timeout);
  // Queues a message; returns its message id. Unavailable when not connected.
  Result<int> publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  // Subscribes to / unsubscribes from a topic filter. Unavailable when not connected.
  Status subscribe(const std::string& filter, int qos);
  Status unsubscribe(const std::string& filter);
  // Sends DISCONNECT (the broker then drops the last will).
  void disconnect();

  static std::string error_text(int rc);

 private:
  MqttClient(struct mosquitto* m, MqttClientOptions options, MqttClientCallbacks callbacks);

  struct mosquitto* m_;
  MqttClientOptions options_;
  MqttClientCallbacks callbacks_;
};

}  // namespace argus::alerts
