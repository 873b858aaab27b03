#include "app/app.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace argus::app {
namespace {

// Sends one HTTP/1.1 request and returns the whole response (the server closes it).
std::string http_request(std::uint16_t port, const std::string& head_and_body);

std::string http_get(std::uint16_t port, const std::string& path, const std::string& token = "") {
  std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
  return http_request(port, "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + auth + "Connection: close\r\n\r\n");
}

std::string http_request(std::uint16_t port, const std::string& req) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  [[maybe_unused]] auto w = ::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

Config test_config(const argus::testing::TempDir& dir) {
  Config c;
  c.data_dir = dir.path().string();
  c.server.listen_host = "127.0.0.1";
  c.server.listen_port = 0;
  c.server.io_threads = 1;
  c.store.url = "sqlite://" + dir.file("argus.db");
  c.log.level = log::Level::kWarn;
  return c;
}

TEST(App, StartsServesAndStopsInOrder) {
  argus::testing::TempDir dir;
  Config c = test_config(dir);
  Camera cam;
  cam.id = "from-config";
  cam.name = "From config";
  cam.source.url = "rtsp://127.0.0.1:9/x";  // loopback, closed port: tests never reach out
  c.cameras.push_back(cam);
  auto app = App::create(c);
  ASSERT_TRUE(app.ok()) << app.status().to_string();
  ASSERT_TRUE((*app)->start().ok());
  std::uint16_t port = (*app)->port();
  ASSERT_NE(port, 0);
  std::string health = http_get(port, "/health");
  EXPECT_NE(health.find("200 OK"), std::string::npos);
  // Security is on by default: no credentials, no cameras.
  EXPECT_NE(http_get(port, "/api/v1/cameras").find("401 Unauthorized"), std::string::npos);
  // The first start made an admin with a random password, readable by the owner only.
  std::string password = argus::testing::read_file(dir.file("initial-admin-password"));
  while (!password.empty() && password.back() == '\n') password.pop_back();
  EXPECT_EQ(password.size(), 20u);
  EXPECT_EQ(std::filesystem::status(dir.file("initial-admin-password")).permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  std::string body = R"({"username":"admin","password":")" + password + R"("})";
  std::string login = http_request(port, "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                         "Content-Length: " + std::to_string(body.size()) +
                                             "\r\nConnection: close\r\n\r\n" + body);
  auto at = login.find("\"access_token\":\"");
  ASSERT_NE(at, std::string::npos) << login;
  std::string token = login.substr(at + 16, login.find('"', at + 16) - at - 16);
  std::string cams = http_get(port, "/api/v1/cameras", token);
  EXPECT_NE(cams.find("\"from-config\""), std::string::npos) << cams;
  (*app)->stop();
  EXPECT_EQ(http_get(port, "/health"), "");  // no longer listening
  EXPECT_TRUE(std::filesystem::exists(dir.file("argus.db")));
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("media")));
}

TEST(App, SecondAppOnSameDataDirIsRefused) {
  argus::testing::TempDir dir;
  auto first = App::create(test_config(dir));
  ASSERT_TRUE(first.ok());
  auto second = App::create(test_config(dir));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another argus"), std::string::npos);
  first->reset();
  auto third = App::create(test_config(dir));  // the lock is released with the first
  EXPECT_TRUE(third.ok()) << third.status().to_string();
}

TEST(App, UnwritableDataDirIsAClearError) {
  Config c;
  c.data_dir = "/proc/argus-cannot-create-this";
  c.store.url = "sqlite:///proc/argus-cannot-create-this/argus.db";
  auto app = App::create(c);
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.status().message().find("/proc/argus-cannot-create-this"), std::string::npos);
}

TEST(App, ListenFailureIsReported) {
  argus::testing::TempDir dir;
  Config c = test_config(dir);
  c.server.listen_host = "192.0.2.123";  // TEST-NET address not on this machine
  auto app = App::create(c);
  ASSERT_TRUE(app.ok());
  Status s = (*app)->start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("192.0.2.123"), std::string::npos);
}

}  // namespace
}  // namespace argus::app
