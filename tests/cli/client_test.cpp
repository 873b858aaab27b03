#include "cli/client.h"

#include <atomic>

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
          if (r.path == "/peer") return api::Response::text(200, r.remote_address, "text/plain");
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

TEST_F(ClientTest, RequestsReuseOneConnection) {
  Client client(base());
  auto first = client.request("GET", "/peer");
  auto second = client.request("GET", "/peer");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->body, second->body);  // the same client address and port: kept alive
  Client other(base());
  EXPECT_NE(other.request("GET", "/peer")->body, first->body);
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

TEST(Client, UnreachableIdempotentRequestsAreRetriedWithGrowingBackoff) {
  Client client("127.0.0.1:" + std::to_string(argus::testing::free_port()), "", 2000);
  std::vector<long> waits;
  client.set_sleeper([&](long ms) { waits.push_back(ms); });
  auto r = client.request("GET", "/x");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(waits, (std::vector<long>{250, 500, 1000}));  // 4 attempts
  waits.clear();
  EXPECT_FALSE(client.request("POST", "/x", "{}").ok());
  EXPECT_TRUE(waits.empty());  // a POST is sent once
}

TEST(Client, RetryDelayHonoursRetryAfter) {
  RetryPolicy p;
  HttpResult answer;
  EXPECT_EQ(retry_delay_ms(p, 1, nullptr), 250);
  EXPECT_EQ(retry_delay_ms(p, 3, nullptr), 1000);
  EXPECT_EQ(retry_delay_ms(p, 10, nullptr), 4000);
  answer.headers = {{"retry-after", "2"}};
  EXPECT_EQ(retry_delay_ms(p, 1, &answer), 2000);
  answer.headers = {{"retry-after", "3600"}};
  EXPECT_EQ(retry_delay_ms(p, 1, &answer), 30000);
  answer.headers = {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}};  // a date: the backoff instead
  EXPECT_EQ(retry_delay_ms(p, 2, &answer), 500);
  EXPECT_TRUE(idempotent_method("GET"));
  EXPECT_TRUE(idempotent_method("DELETE"));
  EXPECT_TRUE(idempotent_method("PUT"));
  EXPECT_FALSE(idempotent_method("POST"));
  EXPECT_FALSE(idempotent_method("PATCH"));
}

// A server that answers 503 (with Retry-After: 1) to the first `failures` requests, then 200.
class FlakyServerTest : public ::testing::Test {
 protected:
  void start(int failures, int status = 503) {
    failures_ = failures;
    ServerConfig c;
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    c.io_threads = 1;
    server_ = std::make_unique<api::HttpServer>(
        c,
        [this, status](api::Request&) {
          if (hits_.fetch_add(1) < failures_) {
            api::Response r = api::Response::text(status, "{\"title\":\"busy\"}", "application/problem+json");
            r.set_header("Retry-After", "1");
            return r;
          }
          return api::Response::text(200, "ok", "text/plain");
        },
        nullptr);
    ASSERT_TRUE(server_->start().ok());
    client_ = std::make_unique<Client>("http://127.0.0.1:" + std::to_string(server_->port()));
    client_->set_sleeper([this](long ms) { waits_.push_back(ms); });
  }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::seconds(1));
  }

  int failures_ = 0;
  std::atomic<int> hits_{0};
  std::vector<long> waits_;
  std::unique_ptr<api::HttpServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(FlakyServerTest, GetIsRetriedAfterTheServersWait) {
  start(2);
  auto r = client_->request("GET", "/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(hits_.load(), 3);
  EXPECT_EQ(waits_, (std::vector<long>{1000, 1000}));
}

TEST_F(FlakyServerTest, PostIsNotRetriedUnlessMarkedIdempotent) {
  start(1, 502);
  auto r = client_->request("POST", "/x", "{}", "application/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(hits_.load(), 1);
  RequestOptions idempotent;
  idempotent.idempotent = true;
  hits_ = 0;
  failures_ = 1;
  r = client_->request("POST", "/x/ack", "", "", idempotent);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(hits_.load(), 2);
}

TEST_F(FlakyServerTest, GivesUpAfterTheLastAttempt) {
  start(100, 504);
  client_->set_retry_policy({.attempts = 3});
  auto r = client_->request("DELETE", "/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(hits_.load(), 3);
  EXPECT_EQ(waits_.size(), 2u);
}

TEST_F(FlakyServerTest, OtherErrorsAreNotRetried) {
  start(100, 500);
  auto r = client_->request("GET", "/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(hits_.load(), 1);
}

}  // namespace
}  // namespace argus::cli
