#include "cli/client.h"

#include <gtest/gtest.h>

#include "api/server.h"
#include "testing/testing.h"

namespace argus::cli {
namespace {

// A real HttpServer on a free port that echoes the method, path and body.
class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig c;
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    c.io_threads = 1;
    server_ = std::make_unique<api::HttpServer>(
        c,
        [](api::Request& r) {
          if (r.path == "/missing") return api::Response::text(404, "{}", "application/json");
          if (r.path == "/whoami") {
            return api::Response::text(200, r.header("authorization") ? *r.header("authorization") : "-", "text/plain");
          }
          std::string ct = r.header("content-type") ? *r.header("content-type") : "";
          return api::Response::text(
              200, std::string(api::method_name(r.method)) + " " + r.path + " " + ct + " " + r.body, "text/plain");
        },
        nullptr);
    ASSERT_TRUE(server_->start().ok());
  }
  void TearDown() override { server_->stop(std::chrono::seconds(1)); }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  std::unique_ptr<api::HttpServer> server_;
};

TEST_F(ClientTest, SendsMethodBodyAndContentType) {
  Client client(base() + "/");
  auto r = client.request("POST", "/x", "{\"a\":1}", "application/json");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /x application/json {\"a\":1}");
  EXPECT_EQ(r->content_type, "text/plain");
}

TEST_F(ClientTest, ReturnsErrorStatusesAsResults) {
  Client client(base());
  auto r = client.request("GET", "/missing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
}

TEST_F(ClientTest, SendsTheTokenAsBearer) {
  auto with = Client(base(), "tok-123").request("GET", "/whoami");
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->body, "Bearer tok-123");
  auto without = Client(base()).request("GET", "/whoami");
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->body, "-");
}

TEST_F(ClientTest, KeepsResponseHeaders) {
  auto r = Client(base()).request("GET", "/x");
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r->header("content-type"), nullptr);
  EXPECT_EQ(*r->header("content-type"), "text/plain");
  EXPECT_EQ(r->header("retry-after"), nullptr);
}

TEST(Client, NormalizesServerUrls) {
  EXPECT_EQ(normalize_server("127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(normalize_server("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
  EXPECT_EQ(normalize_server(" HTTPS://NVR.Example.com:8443// "), "https://nvr.example.com:8443");
  EXPECT_EQ(normalize_server("https://host/Prefix/"), "https://host/Prefix");
}

TEST(Client, UnreachableServerIsUnavailable) {
  Client client("127.0.0.1:" + std::to_string(argus::testing::free_port()), "", 2000);
  auto r = client.request("GET", "/health");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot reach"), std::string::npos);
}

}  // namespace
}  // namespace argus::cli
