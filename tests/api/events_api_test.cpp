// The event review and delete routes through a real Api (SQLite store, in-memory bus,
// AuthService, Gatekeeper) as app/ wires them: what they publish on the bus.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/api.h"
#include "api/security.h"
#include "auth/auth_service.h"
#include "auth/signing_keys.h"
#include "bus/bus.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "testing/testing.h"

namespace argus::api {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kPassword[] = "events-admin-Passw0rd";

class NoStatus final : public CameraStatusSource {
 public:
  json status(const Camera&) const override { return json::object(); }
  std::uint64_t revision() const override { return 1; }
};

template <typename T>
T must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}

class EventsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions so;
    so.config.url = "sqlite://" + dir_.file("argus.db");
    store_ = must(open_store(so));
    bus_ = must(bus::open_bus({}));
    keys_ = must(auth::SigningKeys::open(dir_.path(), {}, &system_clock()));
    auth::AuthOptions ao;
    auth_ = std::make_unique<auth::AuthService>(store_.get(), &system_clock(), keys_.get(), ao);
    ASSERT_TRUE(auth_->bootstrap_admin(dir_.path(), std::string(kPassword), std::nullopt).ok());
    gate_ = must(Gatekeeper::create(auth_.get(), SecurityOptions{}, &system_clock(), &metrics_));
    ApiDeps deps;
    deps.store = store_.get();
    deps.auth = auth_.get();
    deps.gate = gate_.get();
    deps.metrics = &metrics_;
    deps.status = &status_;
    deps.bus = bus_.get();
    deps.media_dir = dir_.file("media");
    api_ = std::make_unique<Api>(deps);
    Response login =
        call(Method::kPost, "/api/v1/auth/login", json{{"username", "admin"}, {"password", kPassword}}.dump());
    ASSERT_EQ(login.status, 200) << *login.body;
    token_ = json::parse(*login.body)["access_token"];
  }

  Response call(Method method, const std::string& path, std::string body = "") {
    Request req;
    req.method = method;
    req.target = req.path = path;
    req.headers = {{"host", "localhost"}};
    if (!body.empty()) req.headers.emplace_back("content-type", "application/json");
    if (!token_.empty()) req.headers.emplace_back("authorization", "Bearer " + token_);
    req.body = std::move(body);
    req.request_id = "test";
    req.remote_address = "127.0.0.1:4000";
    return api_->handle(req);
  }

  argus::testing::TempDir dir_;
  metrics::Registry metrics_;
  NoStatus status_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<bus::EventBus> bus_;
  std::unique_ptr<auth::SigningKeys> keys_;
  std::unique_ptr<auth::AuthService> auth_;
  std::unique_ptr<Gatekeeper> gate_;
  std::unique_ptr<Api> api_;
  std::string token_;
};

TEST_F(EventsApiTest, ReviewAndDeletePublishOnTheEventsTopic) {
  EventRecord e;
  e.id = "front-abc";
  e.camera_id = "front";
  e.label = "person";
  e.start_time = 1'700'000'000'000;
  e.updated_at = e.start_time;
  e.snapshot = "snapshots/front/2023-11-14/front-abc.jpg";
  ASSERT_TRUE(store_->save_events({e}).ok());
  std::filesystem::path snapshot = std::filesystem::path(dir_.file("media")) / e.snapshot;
  std::filesystem::create_directories(snapshot.parent_path());
  std::ofstream(snapshot) << "jpeg";
  auto sub = bus_->subscribe({.topics = {std::string(bus::kEvents)}});

  Response patched = call(Method::kPatch, "/api/v1/events/front-abc", R"({"reviewed":true,"note":"ok"})");
  ASSERT_EQ(patched.status, 200) << *patched.body;
  auto msg = sub->next(2s);
  ASSERT_TRUE(msg);
  EXPECT_EQ((*msg)->camera, "front");
  EXPECT_EQ((*msg)->data["type"], "reviewed");
  EXPECT_EQ((*msg)->data["event"], json::parse(*patched.body));
  EXPECT_EQ((*msg)->data["event"]["note"], "ok");

  Response deleted = call(Method::kDelete, "/api/v1/events/front-abc");
  ASSERT_EQ(deleted.status, 204);
  msg = sub->next(2s);
  ASSERT_TRUE(msg);
  EXPECT_EQ((*msg)->data, (json{{"type", "deleted"}, {"id", "front-abc"}}));
  EXPECT_FALSE(std::filesystem::exists(snapshot));

  // Nothing is published for what fails.
  EXPECT_EQ(call(Method::kDelete, "/api/v1/events/front-abc").status, 404);
  EXPECT_EQ(call(Method::kPatch, "/api/v1/events/front-abc", R"({"reviewed":true})").status, 404);
  EXPECT_EQ(call(Method::kPatch, "/api/v1/events/front-abc", R"({"reviewed":1})").status, 422);
  EXPECT_FALSE(sub->next(50ms));
}

}  // namespace
}  // namespace argus::api
