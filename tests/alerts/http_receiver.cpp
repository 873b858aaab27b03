#include "alerts/http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace argus::alerts::testing_support {

HttpReceiver::HttpReceiver() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket");
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0) {
    throw std::runtime_error("bind/listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

HttpReceiver::~HttpReceiver() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

bool HttpReceiver::wait_for(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

std::vector<ReceivedRequest> HttpReceiver::requests() {
  std::lock_guard lock(mu_);
  return requests_;
}

void HttpReceiver::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::string data;
    char buf[4096];
    std::size_t header_end = std::string::npos;
    std::size_t content_length = 0;
    ReceivedRequest req;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    bool complete = false;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd cp{c, POLLIN, 0};
      if (::poll(&cp, 1, 50) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        std::size_t line_end = data.find("\r\n");
        std::string line = data.substr(0, line_end);
        req.method = line.substr(0, line.find(' '));
        req.target = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
        std::size_t pos = line_end + 2;
        while (pos < header_end) {
          std::size_t e = data.find("\r\n", pos);
          std::string h = data.substr(pos, e - pos);
          auto colon = h.find(':');
          if (colon != std::string::npos) {
            std::string name = h.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
            std::string value = h.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            req.headers[name] = value;
          }
          pos = e + 2;
        }
        if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
          content_length = std::stoul(it->second);
        }
      }
      if (data.size() >= header_end + 4 + content_length) {
        req.body = data.substr(header_end + 4, content_length);
        complete = true;
        break;
      }
    }
    if (complete) {
      // Recorded before answering, so a test that saw the sender's outcome sees the request.
      int status = status_.load();
      {
        std::lock_guard lock(mu_);
        requests_.push_back(std::move(req));
      }
      cv_.notify_all();
      std::string answer =
          "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      (void)!::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    }
    ::close(c);
  }
}

}  // namespace argus::alerts::testing_support
