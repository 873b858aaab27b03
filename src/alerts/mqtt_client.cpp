#include "alerts/mqtt_client.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>

#include <mosquitto.h>

namespace argus::alerts {
namespace {

void lib_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

}  // namespace

Result<MqttAddress> parse_mqtt_url(const std::string& url) {
  MqttAddress a;
  std::string rest;
  if (url.rfind("mqtt://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("mqtts://", 0) == 0) {
    rest = url.substr(8);
    a.tls = true;
    a.port = 8883;
  } else {
    return Status::invalid_argument("MQTT URL must start with mqtt:// or mqtts://: " + url);
  }
  if (rest.empty() || rest.find_first_of("/@?# ") != std::string::npos) {
    return Status::invalid_argument("MQTT URL must be mqtt[s]://host[:port]: " + url);
  }
  std::string port;
  if (rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string::npos || close == 1) return Status::invalid_argument("bad IPv6 host in " + url);
    a.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return Status::invalid_argument("bad MQTT URL " + url);
      port = rest.substr(close + 2);
      if (port.empty()) return Status::invalid_argument("empty port in " + url);
    }
  } else if (std::size_t colon = rest.find(':'); colon != std::string::npos) {
    a.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return Status::invalid_argument("empty port in " + url);
  } else {
    a.host = rest;
  }
  if (a.host.empty()) return Status::invalid_argument("MQTT URL without a host: " + url);
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      return Status::invalid_argument("bad port in MQTT URL " + url);
    }
    a.port = p;
  }
  return a;
}

std::string MqttClient::error_text(int rc) { return mosquitto_strerror(rc); }

Result<std::unique_ptr<MqttClient>> MqttClient::create(const MqttClientOptions& options,
                                                       MqttClientCallbacks callbacks) {
  lib_init_once();
  struct mosquitto* m = mosquitto_new(options.client_id.c_str(), true, nullptr);
  if (m == nullptr) return Status::internal("mosquitto_new failed (out of memory or bad client id)");
  std::unique_ptr<MqttClient> c(new MqttClient(m, options, std::move(callbacks)));
  auto fail = [](const std::string& what, int rc) {
    return Status::invalid_argument("MQTT " + what + ": " + mosquitto_strerror(rc));
  };
  mosquitto_user_data_set(m, c.get());
  int rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (rc != MOSQ_ERR_SUCCESS) return fail("protocol version", rc);
  if (!options.username.empty()) {
    rc = mosquitto_username_pw_set(m, options.username.c_str(),
                                   options.password.empty() ? nullptr : options.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) return fail("credentials", rc);
  }
  if (!options.will_topic.empty()) {
    rc = mosquitto_will_set(m, options.will_topic.c_str(), static_cast<int>(options.will_payload.size()),
                            options.will_payload.data(), options.will_qos, options.will_retain);
    if (rc != MOSQ_ERR_SUCCESS) return fail("last will", rc);
  }
  if (options.address.tls) {
    if (options.ca_file.empty()) {
      rc = mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
      if (rc != MOSQ_ERR_SUCCESS) return fail("TLS system CAs", rc);
    } else {
      rc = mosquitto_tls_set(m, options.ca_file.c_str(), nullptr, nullptr, nullptr, nullptr);
      if (rc != MOSQ_ERR_SUCCESS) return fail("TLS CA file " + options.ca_file, rc);
    }
    rc = mosquitto_tls_insecure_set(m, options.tls_insecure);
    if (rc != MOSQ_ERR_SUCCESS) return fail("TLS insecure", rc);
  }
  mosquitto_connect_callback_set(m, [](struct mosquitto*, void* self, int code) {
    auto* me = static_cast<MqttClient*>(self);
    if (me->callbacks_.on_connect) me->callbacks_.on_connect(code);
  });
  mosquitto_disconnect_callback_set(m, [](struct mosquitto*, void* self, int code) {
    auto* me = static_cast<MqttClient*>(self);
    if (me->callbacks_.on_disconnect) me->callbacks_.on_disconnect(code);
  });
  mosquitto_publish_callback_set(m, [](struct mosquitto*, void* self, int mid) {
    auto* me = static_cast<MqttClient*>(self);
    if (me->callbacks_.on_publish) me->callbacks_.on_publish(mid);
  });
  mosquitto_message_callback_set(m, [](struct mosquitto*, void* self, const struct mosquitto_message* msg) {
    auto* me = static_cast<MqttClient*>(self);
    if (!me->callbacks_.on_message || msg == nullptr || msg->topic == nullptr) return;
    std::string payload;
    if (msg->payloadlen > 0)
      payload.assign(static_cast<const char*>(msg->payload), static_cast<std::size_t>(msg->payloadlen));
    me->callbacks_.on_message(msg->topic, payload, msg->retain);
  });
  return c;
}

MqttClient::MqttClient(struct mosquitto* m, MqttClientOptions options, MqttClientCallbacks callbacks)
    : m_(m), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

MqttClient::~MqttClient() { mosquitto_destroy(m_); }

Status MqttClient::connect() {
  int rc = mosquitto_connect_async(m_, options_.address.host.c_str(), options_.address.port, options_.keepalive_s);
  if (rc == MOSQ_ERR_SUCCESS) return Status();
  std::string why = rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : mosquitto_strerror(rc);
  return Status::unavailable("cannot connect to MQTT broker " + options_.address.host + ":" +
                             std::to_string(options_.address.port) + ": " + why);
}

Status MqttClient::loop(std::chrono::milliseconds timeout) {
  int rc = mosquitto_loop(m_, static_cast<int>(timeout.count()), 1);
  if (rc == MOSQ_ERR_SUCCESS) return Status();
  std::string why = rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : mosquitto_strerror(rc);
  return Status::unavailable("MQTT connection: " + why);
}

Result<int> MqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  int mid = 0;
  int rc = mosquitto_publish(m_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
  if (rc == MOSQ_ERR_SUCCESS) return mid;
  if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
    return Status::unavailable(std::string("MQTT publish: ") + mosquitto_strerror(rc));
  }
  return Status::invalid_argument("MQTT publish to " + topic + ": " + mosquitto_strerror(rc));
}

Status MqttClient::subscribe(const std::string& filter, int qos) {
  int rc = mosquitto_subscribe(m_, nullptr, filter.c_str(), qos);
  if (rc == MOSQ_ERR_SUCCESS) return Status();
  return Status::unavailable("MQTT subscribe " + filter + ": " + mosquitto_strerror(rc));
}

Status MqttClient::unsubscribe(const std::string& filter) {
  int rc = mosquitto_unsubscribe(m_, nullptr, filter.c_str());
  if (rc == MOSQ_ERR_SUCCESS) return Status();
  return Status::unavailable("MQTT unsubscribe " + filter + ": " + mosquitto_strerror(rc));
}

void MqttClient::disconnect() { mosquitto_disconnect(m_); }

}  // namespace argus::alerts
