// Fuzz target: the JSON bodies of the main write routes, through a real api::Api::handle
// with real parts as app/ wires them: a SQLite store in a temporary directory, the
// in-memory bus, SigningKeys + AuthService + Gatekeeper, a fixed camera status source.
//
// Contract under test, for any body on any of these routes:
//  - handle() never throws, and never answers 500 (a 500 is a bug: the fuzzer aborts);
//  - the status is in 100..599; every 4xx/5xx is application/problem+json whose body is a
//    JSON object with that status; a 2xx application/json body is JSON;
//  - every response carries the security headers (X-Content-Type-Options: nosniff);
//  - no response shows the admin's password, a password hash or a channel's secret.
//
// The caller is the admin (bootstrap_admin with a fixed password, signed in once through
// POST /api/v1/auth/login); rate limits are raised so every request reaches its handler.
// Input: byte 0 picks the route, byte 1 the target id (for {id} routes) and the
// Content-Type; the rest is the body, in which "$RT" becomes the current refresh token,
// "$UID" a viewer's user id and "$AID" the admin's. After each input the state the
// request changed is put back (created cameras, users, keys, alert rules and channels
// deleted; the fixed camera, rule, channel and users restored), so inputs replay alike. FUZZ_VERBOSE=1 prints each request's status.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/security.h"
#include "auth/auth_service.h"
#include "auth/signing_keys.h"
#include "bus/bus.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace {

using namespace argus;
using nlohmann::json;

constexpr char kAdminPassword[] = "fuzz-admin-Passw0rd";
constexpr char kCameraId[] = "fuzzcam";
constexpr char kChannelId[] = "fuzzchan";
constexpr char kChannelSecret[] = "fuzz-channel-Secret-9";
const json kCamera = {{"id", kCameraId},
                      {"name", "Fuzz camera"},
                      {"source", {{"kind", "snapshot"}, {"url", "http://camera.example/snap.jpg"}}},
                      {"enabled", false}};

class FixedStatus final : public api::CameraStatusSource {
 public:
  json status(const Camera& camera) const override {
    return {{"state", camera.enabled ? "starting" : "disabled"}, {"reason", nullptr}};
  }
  std::uint64_t revision() const override { return 1; }
};

// Everything app/ would build, in construction order (destroyed in reverse).
struct World {
  std::string dir;
  std::unique_ptr<metrics::Registry> metrics;
  std::unique_ptr<Store> store;
  std::unique_ptr<bus::EventBus> bus;
  FixedStatus status;
  std::unique_ptr<auth::SigningKeys> keys;
  std::unique_ptr<auth::AuthService> auth;
  std::unique_ptr<api::Gatekeeper> gate;
  std::unique_ptr<api::Api> api;

  std::string access_token;   // the admin's
  std::string refresh_token;  // the admin's current one
  std::string admin_id;
  std::string viewer_id;
  std::string rule_id;  // the fixed alert rule's (server-assigned; new after each restore)
};
World* g = nullptr;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_api_json: invariant broken: %s %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) fail(what, r.status().to_string());
  return std::move(r).value();
}

api::Response call(api::Method method, const std::string& path, std::string body,
                   std::string content_type = "application/json") {
  api::Request req;
  req.method = method;
  req.target = path;
  req.path = path;
  req.headers = {{"host", "localhost"}, {"user-agent", "fuzz"}};
  if (!content_type.empty()) req.headers.emplace_back("content-type", std::move(content_type));
  if (!g->access_token.empty()) req.headers.emplace_back("authorization", "Bearer " + g->access_token);
  req.body = std::move(body);
  req.request_id = "fuzz";
  req.remote_address = "127.0.0.1:4000";
  try {
    return g->api->handle(req);
  } catch (const std::exception& e) {
    fail("Api::handle threw", e.what());
  } catch (...) {
    fail("Api::handle threw a non-exception");
  }
}

json body_json(const api::Response& r) {
  if (!r.body) return json();
  return json::parse(*r.body, nullptr, false);
}

// The invariants every response must hold. `sent`: the request body.
void check(const api::Response& r, std::string_view what, std::string_view sent = {}) {
  if (r.status < 100 || r.status > 599) fail("status out of range", std::to_string(r.status));
  if (r.status == 500) fail("500 for", std::string(what) + ": " + (r.body ? *r.body : std::string()));
  if (r.fixed_headers.find("X-Content-Type-Options: nosniff") == std::string_view::npos) {
    fail("response without security headers");
  }
  std::string_view body = r.body ? std::string_view(*r.body) : std::string_view();
  if (sent.find(kAdminPassword) == std::string_view::npos && body.find(kAdminPassword) != std::string_view::npos) {
    fail("response shows the admin password");
  }
  if (sent.find(kChannelSecret) == std::string_view::npos && body.find(kChannelSecret) != std::string_view::npos) {
    fail("response shows a channel secret");
  }
  // A stored hash must never appear; the "$argon2" prefix may appear only when the request
  // carried it (an unknown field named "$argon2x" is echoed in the 422's pointer).
  if (sent.find("$argon2") == std::string_view::npos && body.find("$argon2") != std::string_view::npos) {
    fail("response shows a password hash");
  }
  for (const std::string* id : {&g->admin_id, &g->viewer_id}) {
    if (id->empty()) continue;
    auto user = g->store->get_user(*id);
    if (user.ok() && !user->password_hash.empty() && body.find(user->password_hash) != std::string_view::npos) {
      fail("response shows a stored password hash");
    }
  }
  if (r.status >= 400) {
    if (r.content_type != "application/problem+json") fail("error without problem+json", std::to_string(r.status));
    json doc = body_json(r);
    if (!doc.is_object() || !doc.contains("status") || doc["status"] != r.status) {
      fail("problem body is not a problem document", body);
    }
  } else if (r.content_type == "application/json" && !body.empty() && !json::accept(body)) {
    fail("2xx body is not JSON");
  }
}

// A request the harness itself makes: must succeed with `expect`.
api::Response setup_call(api::Method method, const std::string& path, const json& body, int expect) {
  api::Response r = call(method, path, body.is_null() ? std::string() : body.dump(),
                         body.is_null() ? std::string() : std::string("application/json"));
  check(r, path);
  if (r.status != expect) fail("harness request failed", path + " -> " + std::to_string(r.status));
  return r;
}

// Signs the admin in for a fresh refresh token (and, the first time, the access token).
// Later sign-ins may meet the sign-in backoff that fuzzed logins as "admin" trigger (429):
// the old refresh token is then kept, and the next refresh with it tries again.
void sign_in() {
  json creds = {{"username", "admin"}, {"password", kAdminPassword}};
  api::Response r = call(api::Method::kPost, "/api/v1/auth/login", creds.dump());
  check(r, "sign-in");
  if (r.status != 200) {
    if (g->access_token.empty() || r.status != 429) fail("the admin cannot sign in", std::to_string(r.status));
    return;
  }
  json doc = body_json(r);
  if (g->access_token.empty()) g->access_token = doc["access_token"].get<std::string>();
  g->refresh_token = doc["refresh_token"].get<std::string>();
}

void restore_camera() {
  call(api::Method::kDelete, std::string("/api/v1/cameras/") + kCameraId, "", "");
  setup_call(api::Method::kPost, "/api/v1/cameras", kCamera, 201);
}

const json kRule = {{"name", "Fuzz rule"},
                    {"cameras", {kCameraId}},
                    {"labels", {"person"}},
                    {"condition", {{"type", "event_start"}}},
                    {"severity", "info"}};
const json kChannel = {{"id", kChannelId},
                       {"name", "Fuzz hook"},
                       {"type", "webhook"},
                       {"config", {{"url", "http://hooks.example/argus"}, {"secret", kChannelSecret}}}};

// The fixed rule and channel, as setup made them (deleted first when present).
void restore_rule() {
  if (!g->rule_id.empty()) call(api::Method::kDelete, "/api/v1/alerts/rules/" + g->rule_id, "", "");
  g->rule_id = body_json(setup_call(api::Method::kPost, "/api/v1/alerts/rules", kRule, 201))["id"].get<std::string>();
}
void restore_channel() {
  call(api::Method::kDelete, std::string("/api/v1/notifications/channels/") + kChannelId, "", "");
  setup_call(api::Method::kPost, "/api/v1/notifications/channels", kChannel, 201);
}

const json kViewerState = {{"role", "viewer"},
                           {"cameras", nullptr},
                           {"disabled", false},
                           {"display_name", "Viewer"},
                           {"settings", json::object()}};
const json kAdminState = {{"display_name", "Administrator"}, {"settings", json::object()}};

void setup() {
  log::init(log::Level::kError, log::Format::kText);
  g = new World();
  const char* tmp = std::getenv("TMPDIR");
  std::string dir_template = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/argus-fuzz-api-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) fail("mkdtemp failed");
  g->dir = dir_template;
  // The parts stay alive until the process ends (libFuzzer exits from its own thread);
  // only the scratch directory is removed then.
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(g->dir, ignored);
  });
  g->metrics = std::make_unique<metrics::Registry>();

  StoreOptions so;
  so.config.url = "sqlite://" + g->dir + "/argus.db";
  so.config.synchronous = SqliteSync::kOff;  // a fuzzing scratch database
  so.metrics = g->metrics.get();
  g->store = must(open_store(so), "open_store");

  bus::BusOptions bo;
  bo.metrics = g->metrics.get();
  g->bus = must(bus::open_bus(bo), "open_bus");

  g->keys = must(auth::SigningKeys::open(g->dir, {}, &system_clock()), "SigningKeys::open");
  auth::AuthOptions ao;
  ao.access_ttl_s = 30LL * 24 * 3600;  // outlives any fuzzing session
  ao.metrics = g->metrics.get();
  g->auth = std::make_unique<auth::AuthService>(g->store.get(), &system_clock(), g->keys.get(), ao);
  auto boot = must(g->auth->bootstrap_admin(g->dir, std::string(kAdminPassword), std::nullopt), "bootstrap_admin");
  if (!boot.created) fail("bootstrap_admin created no admin");

  api::SecurityOptions sec;
  sec.auth_rate = {"login", 1e6, 1000, 1'000'000};
  sec.read_rate = {"read", 1e6, 1000, 1'000'000};
  sec.write_rate = {"write", 1e6, 1000, 1'000'000};
  g->gate = must(api::Gatekeeper::create(g->auth.get(), sec, &system_clock(), g->metrics.get()), "Gatekeeper");

  api::ApiDeps deps;
  deps.store = g->store.get();
  deps.auth = g->auth.get();
  deps.gate = g->gate.get();
  deps.metrics = g->metrics.get();
  deps.status = &g->status;
  deps.bus = g->bus.get();
  deps.media_dir = g->dir + "/media";
  g->api = std::make_unique<api::Api>(deps);

  sign_in();
  g->admin_id = body_json(setup_call(api::Method::kGet, "/api/v1/users/me", nullptr, 200))["id"].get<std::string>();
  json viewer = {{"username", "viewer"}, {"password", "viewer-Passw0rd"}, {"role", "viewer"}};
  g->viewer_id = body_json(setup_call(api::Method::kPost, "/api/v1/users", viewer, 201))["id"].get<std::string>();
  setup_call(api::Method::kPatch, "/api/v1/users/" + g->viewer_id, kViewerState, 200);
  setup_call(api::Method::kPatch, "/api/v1/users/" + g->admin_id, kAdminState, 200);
  restore_camera();
  restore_rule();
  restore_channel();
}

struct Route {
  api::Method method;
  const char* path;  // "{id}" is replaced by one of the route's ids
  enum class Ids { kNone, kCamera, kUser, kRule, kChannel } ids;
};
const Route kRoutes[] = {
    {api::Method::kPost, "/api/v1/cameras", Route::Ids::kNone},
    {api::Method::kPatch, "/api/v1/cameras/{id}", Route::Ids::kCamera},
    {api::Method::kPost, "/api/v1/auth/login", Route::Ids::kNone},
    {api::Method::kPost, "/api/v1/auth/refresh", Route::Ids::kNone},
    {api::Method::kPost, "/api/v1/users", Route::Ids::kNone},
    {api::Method::kPatch, "/api/v1/users/{id}", Route::Ids::kUser},
    {api::Method::kPost, "/api/v1/keys", Route::Ids::kNone},
    {api::Method::kPatch, "/api/v1/users/me", Route::Ids::kNone},
    // Appended (byte 0 of older corpus inputs keeps choosing the same routes above).
    {api::Method::kPost, "/api/v1/alerts/rules", Route::Ids::kNone},
    {api::Method::kPatch, "/api/v1/alerts/rules/{id}", Route::Ids::kRule},
    {api::Method::kPost, "/api/v1/notifications/channels", Route::Ids::kNone},
    {api::Method::kPatch, "/api/v1/notifications/channels/{id}", Route::Ids::kChannel},
};
constexpr std::size_t kRouteCount = sizeof kRoutes / sizeof kRoutes[0];

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// Deletes what a 201 created (its Location), so the next input sees the same store.
void undo_create(const api::Response& r) {
  const std::string* location = r.header("Location");
  if (location == nullptr) fail("201 without Location");
  api::Response d = call(api::Method::kDelete, *location, "", "");
  check(d, *location);
  if (d.status != 204) fail("cannot delete what was just created", *location + " -> " + std::to_string(d.status));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const Route& route = kRoutes[data[0] % kRouteCount];
  const unsigned variant = data[1];
  std::string body(reinterpret_cast<const char*>(data) + 2, size - 2);
  replace_all(body, "$RT", g->refresh_token);
  replace_all(body, "$UID", g->viewer_id);
  replace_all(body, "$AID", g->admin_id);

  std::string path = route.path;
  std::string id;
  if (route.ids == Route::Ids::kCamera) {
    const std::string ids[] = {kCameraId, "nosuchcam", "fuzz%20cam", "FUZZCAM"};
    id = ids[variant % 4];
  } else if (route.ids == Route::Ids::kUser) {
    const std::string ids[] = {g->viewer_id, g->admin_id, "u-nosuch", "%00"};
    id = ids[variant % 4];
  } else if (route.ids == Route::Ids::kRule) {
    const std::string ids[] = {g->rule_id, g->rule_id, "rule-nosuch", "..%2F"};
    id = ids[variant % 4];
  } else if (route.ids == Route::Ids::kChannel) {
    const std::string ids[] = {kChannelId, kChannelId, "nosuchchan", "%C0%AE"};
    id = ids[variant % 4];
  }
  if (!id.empty()) path.replace(path.find("{id}"), 4, id);
  static const char* const kTypes[] = {"application/json",
                                       "application/json",
                                       "application/json",
                                       "application/merge-patch+json",
                                       "application/json; charset=utf-8",
                                       "",
                                       "text/plain",
                                       "APPLICATION/JSON"};
  std::string content_type = kTypes[(variant >> 2) % 8];

  api::Response r = call(route.method, path, body, content_type);
  static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%s %s [%s] -> %d %s\n", std::string(api::method_name(route.method)).c_str(), path.c_str(),
                 content_type.c_str(), r.status, r.body ? r.body->substr(0, 200).c_str() : "");
  }
  check(r, path, body);

  // Put back what the request changed.
  const std::string_view p = route.path;
  if (r.status == 201) undo_create(r);
  if (p == "/api/v1/auth/refresh" && r.status == 200) {
    g->refresh_token = body_json(r)["refresh_token"].get<std::string>();
  } else if (p == "/api/v1/auth/refresh" && body.find(g->refresh_token) != std::string::npos && r.status == 401) {
    sign_in();  // our refresh token is no longer good (its family was revoked)
  }
  if (r.status == 200 && route.ids == Route::Ids::kCamera) restore_camera();
  if (r.status == 200 && route.ids == Route::Ids::kRule) restore_rule();
  if (r.status == 200 && route.ids == Route::Ids::kChannel) restore_channel();
  if (r.status == 200 && (route.ids == Route::Ids::kUser || p == "/api/v1/users/me")) {
    setup_call(api::Method::kPatch, "/api/v1/users/" + g->viewer_id, kViewerState, 200);
    setup_call(api::Method::kPatch, "/api/v1/users/" + g->admin_id, kAdminState, 200);
  }
  return 0;
}
