// A tiny HTTP/1.1 receiver on a loopback port for webhook tests: records every request
// (headers and the exact body bytes) and answers with a status the test sets. One
// connection at a time, Connection: close.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace argus::alerts::testing_support {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class HttpReceiver {
 public:
  HttpReceiver();  // listens on 127.0.0.1, a free port
  ~HttpReceiver();
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void set_status(int status) { status_ = status; }
  // Waits until at least `n` requests arrived; false after `timeout`.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::vector<ReceivedRequest> requests();

 private:
  void serve();
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

}  // namespace argus::alerts::testing_support
