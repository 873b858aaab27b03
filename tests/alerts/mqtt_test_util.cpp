#include "alerts/mqtt_test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <thread>

#include <mosquitto.h>

extern char** environ;

namespace argus::testing {
namespace {

bool port_accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

MosquittoBroker::MosquittoBroker(std::uint16_t port) : port_(port == 0 ? free_port() : port) {}

MosquittoBroker::~MosquittoBroker() { stop(); }

bool MosquittoBroker::start() {
  return start_with("listener " + std::to_string(port_) + " 127.0.0.1\nallow_anonymous true\npersistence false\n" +
                    "log_dest stderr\nlog_type error\n");
}

bool MosquittoBroker::start_with(const std::string& config) {
  const std::string conf = dir_.file("mosquitto.conf");
  write_file(conf, config);
  std::vector<std::string> argv = {"mosquitto", "-c", conf};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "mosquitto", &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  pid_ = pid;
  for (int i = 0; i < 500; ++i) {  // up to 5 s for the listener
    if (port_accepts(port_)) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void MosquittoBroker::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int st = 0;
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

MqttRecorder::MqttRecorder(std::uint16_t port, std::string topic, std::string client_id)
    : port_(port), topic_(std::move(topic)), client_id_(std::move(client_id)) {
  std::random_device rd;
  marker_ = "argus-test/marker/" + std::to_string(rd()) + std::to_string(rd());
}

MqttRecorder::~MqttRecorder() {
  if (m_ != nullptr) {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, true);
    mosquitto_destroy(m_);
  }
}

void MqttRecorder::on_message_cb(struct mosquitto*, void* self, const void* raw) {
  auto* me = static_cast<MqttRecorder*>(self);
  const auto* msg = static_cast<const mosquitto_message*>(raw);
  MqttMessage m;
  m.topic = msg->topic;
  if (msg->payloadlen > 0) m.payload.assign(static_cast<const char*>(msg->payload), msg->payloadlen);
  m.retained = msg->retain;
  std::lock_guard lock(me->mu_);
  if (m.topic == me->marker_) {
    me->marker_seen_ = true;
  } else {
    me->messages_.push_back(std::move(m));
  }
  me->cv_.notify_all();
}

bool MqttRecorder::start(std::chrono::milliseconds timeout) {
  mosquitto_lib_init();
  m_ = mosquitto_new(client_id_.empty() ? nullptr : client_id_.c_str(), client_id_.empty(), this);
  if (m_ == nullptr) return false;
  mosquitto_message_callback_set(
      m_, [](struct mosquitto* m, void* self, const mosquitto_message* msg) { on_message_cb(m, self, msg); });
  mosquitto_connect_callback_set(m_, [](struct mosquitto* m, void* self, int rc) {
    if (rc != 0) return;
    auto* me = static_cast<MqttRecorder*>(self);
    // Subscribing again on every (re)connect; the marker follows the retained messages.
    mosquitto_subscribe(m, nullptr, me->topic_.c_str(), 1);
    mosquitto_subscribe(m, nullptr, me->marker_.c_str(), 1);
    mosquitto_publish(m, nullptr, me->marker_.c_str(), 1, "x", 1, false);
  });
  mosquitto_reconnect_delay_set(m_, 1, 1, false);
  // A broker with several listeners may open this one a moment after the first.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (mosquitto_connect(m_, "127.0.0.1", port_, 30) != MOSQ_ERR_SUCCESS) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (mosquitto_loop_start(m_) != MOSQ_ERR_SUCCESS) return false;
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return marker_seen_; });
}

std::vector<MqttMessage> MqttRecorder::messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

std::vector<MqttMessage> MqttRecorder::on(const std::string& topic) const {
  std::lock_guard lock(mu_);
  std::vector<MqttMessage> out;
  for (const auto& m : messages_) {
    if (m.topic == topic) out.push_back(m);
  }
  return out;
}

bool MqttRecorder::last(const std::string& topic, MqttMessage* out) const {
  std::lock_guard lock(mu_);
  for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
    if (it->topic == topic) {
      *out = *it;
      return true;
    }
  }
  return false;
}

bool MqttRecorder::wait(const std::function<bool(const std::vector<MqttMessage>&)>& pred,
                        std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pred(messages_); });
}

bool MqttRecorder::wait_for(const std::string& topic, const std::string& payload,
                            std::chrono::milliseconds timeout) const {
  return wait(
      [&](const std::vector<MqttMessage>& all) {
        for (auto it = all.rbegin(); it != all.rend(); ++it) {
          if (it->topic == topic) return it->payload == payload;
        }
        return false;
      },
      timeout);
}

}  // namespace argus::testing
