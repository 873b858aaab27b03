#include "alerts/mqtt_bridge.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "alerts/mqtt_client.h"
#include "bus/bus.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace argus::alerts {
namespace {

using Json = nlohmann::json;

// Unacknowledged QoS 1 messages handed to libmosquitto at once; the rest waits in the backlog.
constexpr std::size_t kWindow = 256;
// A connection attempt without a CONNACK after this long is abandoned and retried.
constexpr std::int64_t kConnectTimeoutMs = 10'000;
// Open objects remembered for the before/after documents and the counts.
constexpr std::size_t kMaxOpenEvents = 10'000;
// How long after connecting the bridge listens for discovery configs left by cameras that
// were deleted while it was away.
constexpr std::int64_t kSweepMs = 5000;
// Bus messages translated per loop iteration before the network gets its turn again.
constexpr int kBusBatch = 1000;

struct Outgoing {
  std::string topic;
  std::string payload;
  bool retain = false;
};

// Home Assistant object ids: [a-zA-Z0-9_-]; anything else becomes '_'.
std::string object_id_part(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) out += (std::isalnum(ch) != 0 || ch == '_' || ch == '-') ? static_cast<char>(ch) : '_';
  return out.empty() ? "_" : out;
}

std::string capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::vector<std::string> string_list(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

struct CameraModel {
  Camera camera;
  std::string status;
  std::map<std::string, std::int64_t> labels;                          // label -> objects now
  std::map<std::pair<std::string, std::string>, std::int64_t> zones;   // (zone, label) -> objects now
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> lines;  // line -> (in, out) totals
  std::set<std::string> topics;                                        // retained topics it owns
};

struct OpenEvent {
  std::string camera;
  std::string label;
  std::vector<std::string> zones;  // zones it is counted in now
  Json last;                       // the last "after" published
  UnixMillis last_sent = 0;
  std::optional<Json> pending;  // a throttled update not yet published
};

}  // namespace

std::string mqtt_topic_level(const std::string& name) {
  std::string out;
  for (unsigned char ch : name) out += (ch == '/' || ch == '+' || ch == '#' || ch < 0x20) ? '_' : static_cast<char>(ch);
  return out.empty() ? "_" : out;
}

struct MqttBridge::State {
  // Constant after construction.
  MqttBridgeOptions options;
  Store* store = nullptr;
  bus::EventBus* bus = nullptr;
  std::unique_ptr<MqttClient> client;
  std::string prefix;
  std::string available_topic;
  std::string events_topic;
  std::string stats_topic;
  std::string node_prefix;
  metrics::Gauge* connected_gauge = nullptr;
  metrics::Counter* published_counter = nullptr;
  metrics::Counter* dropped_counter = nullptr;
  metrics::Counter* reconnects_counter = nullptr;

  // Lifecycle (caller's thread).
  std::thread thread;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;

  // Read by stats() from any thread.
  std::atomic<bool> connected{false};
  std::atomic<std::size_t> backlog_size{0};
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> reconnects{0};

  // Bridge thread only (and start() before the thread exists).
  enum class Conn { kDown, kConnecting, kUp };
  Conn conn = Conn::kDown;
  UnixMillis next_attempt = 0;
  std::int64_t backoff_ms = 0;
  UnixMillis connect_started = 0;
  bool outage_logged = false;
  std::uint64_t connections = 0;
  std::unique_ptr<bus::Subscription> sub;
  std::uint64_t bus_dropped_seen = 0;
  std::deque<Outgoing> backlog;
  std::size_t stream_queued = 0;  // messages in the backlog that are not retained state
  std::set<int> inflight;
  std::map<std::string, std::string> retained;  // topic -> payload, republished on every connect
  std::set<std::string> clears;                 // retained topics to empty on the next connect
  std::map<std::string, CameraModel> cameras;
  std::map<std::string, OpenEvent> events;  // by event id
  UnixMillis started_at = 0;
  UnixMillis next_stats = 0;
  UnixMillis sweep_until = 0;  // > 0 while subscribed to the discovery configs (see sweep)

  UnixMillis now() const { return options.clock->now_ms(); }
  const MqttConfig& cfg() const { return options.config; }

  // --- the outgoing queue ---

  void count_dropped(std::uint64_t n) {
    if (n == 0) return;
    dropped += n;
    if (dropped_counter != nullptr) dropped_counter->inc(static_cast<double>(n));
  }

  // The bound (mqtt.backlog) applies to events and stats; retained state in the queue is
  // bounded by the retained map (what the cameras define) and never dropped here.
  void enqueue(Outgoing m) {
    if (!m.retain) {
      if (stream_queued >= cfg().backlog) {
        auto oldest = std::find_if(backlog.begin(), backlog.end(), [](const Outgoing& o) { return !o.retain; });
        if (oldest != backlog.end()) {
          backlog.erase(oldest);
          --stream_queued;
          count_dropped(1);
        }
      }
      ++stream_queued;
    }
    backlog.push_back(std::move(m));
  }

  void pop_front() {
    if (!backlog.front().retain) --stream_queued;
    backlog.pop_front();
  }

  // Retained state: remembered (and republished on every connect); sent now if connected.
  void set_retained(CameraModel* owner, const std::string& topic, const std::string& payload) {
    if (owner != nullptr) owner->topics.insert(topic);
    clears.erase(topic);
    auto it = retained.find(topic);
    if (it != retained.end() && it->second == payload) return;
    retained[topic] = payload;
    if (conn == Conn::kUp) enqueue({topic, payload, true});
  }

  void clear_retained(const std::string& topic) {
    retained.erase(topic);
    if (conn == Conn::kUp) {
      enqueue({topic, "", true});
    } else {
      clears.insert(topic);
    }
  }

  void publish_event_message(const std::string& type, const Json& before, const Json& after) {
    Json doc{{"type", type}, {"before", before}, {"after", after}};
    enqueue({events_topic, doc.dump(-1, ' ', false, Json::error_handler_t::replace), false});
  }

  // --- connection ---

  void start_connect() {
    Status s = client->connect();
    if (s.ok()) {
      conn = Conn::kConnecting;
      connect_started = now();
      return;
    }
    connection_down(s.message());
  }

  void connection_down(const std::string& reason) {
    if (conn == Conn::kUp) {
      log::warn("MQTT connection lost; reconnecting with backoff", {{"reason", reason}, {"backlog", backlog.size()}});
      outage_logged = true;
    } else if (!outage_logged) {
      log::warn("MQTT broker unreachable; retrying with backoff", {{"reason", reason}, {"url", cfg().url}});
      outage_logged = true;
    }
    conn = Conn::kDown;
    connected = false;
    sweep_until = 0;
    if (connected_gauge != nullptr) connected_gauge->set(0);
    inflight.clear();
    if (backoff_ms <= 0) backoff_ms = options.reconnect_initial_ms;
    next_attempt = now() + backoff_ms;
    backoff_ms = std::min(backoff_ms * 2, cfg().reconnect_max_ms);
  }

  // CONNACK: everything retained is republished first (the broker may have restarted
  // without persistence), then what waited in the backlog.
  void on_connect(int code) {
    if (code != 0) {
      log::error("MQTT broker refused the connection", {{"reason", MqttClient::error_text(code)}, {"code", code}});
      return;  // loop() fails next and the connection is retried with backoff
    }
    conn = Conn::kUp;
    connected = true;
    if (connected_gauge != nullptr) connected_gauge->set(1);
    backoff_ms = 0;
    outage_logged = false;
    if (++connections > 1) {
      ++reconnects;
      if (reconnects_counter != nullptr) reconnects_counter->inc();
    }
    log::info("MQTT connected", {{"url", cfg().url}, {"client_id", cfg().client_id}, {"backlog", backlog.size()}});
    std::deque<Outgoing> rest;
    for (auto& m : backlog) {
      if (!m.retain) {
        rest.push_back(std::move(m));
      } else if (m.payload.empty() && retained.count(m.topic) == 0) {
        clears.insert(m.topic);
      }
    }
    backlog.clear();
    backlog.push_back({available_topic, "online", true});
    for (const auto& t : clears) backlog.push_back({t, "", true});
    clears.clear();
    for (const auto& [t, p] : retained) backlog.push_back({t, p, true});
    for (auto& m : rest) backlog.push_back(std::move(m));
    next_stats = now();  // stats follow at once (when the backlog has room)
    if (cfg().discovery) {
      bool ok = true;
      for (const char* component : {"sensor", "binary_sensor"}) {
        ok = ok && client->subscribe(cfg().discovery_prefix + "/" + component + "/+/+/config", 1).ok();
      }
      sweep_until = ok ? now() + kSweepMs : 0;
    }
  }

  // A retained discovery config of ours (our node prefix, our availability topic) for an
  // object we no longer have: a camera (or zone, line, label) deleted while we were away.
  void on_message(const std::string& topic, const std::string& payload) {
    if (sweep_until == 0 || payload.empty() || retained.count(topic) != 0) return;
    const std::string head = cfg().discovery_prefix + "/";
    if (topic.rfind(head, 0) != 0) return;
    std::string rest = topic.substr(head.size());  // component/node/object/config
    std::size_t a = rest.find('/');
    std::size_t b = a == std::string::npos ? a : rest.find('/', a + 1);
    if (b == std::string::npos) return;
    const std::string node = rest.substr(a + 1, b - a - 1);
    if (node.rfind(node_prefix + "_", 0) != 0) return;
    Json doc = Json::parse(payload, nullptr, false);
    if (!doc.is_object() || doc.value("availability_topic", "") != available_topic) return;
    log::info("MQTT: removing a stale discovery config", {{"topic", topic}});
    enqueue({topic, "", true});
  }

  void end_sweep() {
    if (sweep_until == 0 || now() < sweep_until) return;
    sweep_until = 0;
    if (conn != Conn::kUp) return;
    for (const char* component : {"sensor", "binary_sensor"}) {
      (void)client->unsubscribe(cfg().discovery_prefix + "/" + component + "/+/+/config");
    }
  }

  void on_disconnect(int rc) {
    if (rc != 0 && conn != Conn::kDown) connection_down(MqttClient::error_text(rc));
  }

  void on_publish(int mid) {
    inflight.erase(mid);
    ++published;
    if (published_counter != nullptr) published_counter->inc();
  }

  void publish_backlog() {
    while (conn == Conn::kUp && !backlog.empty() && inflight.size() < kWindow) {
      Outgoing& m = backlog.front();
      auto mid = client->publish(m.topic, m.payload, cfg().qos, m.retain);
      if (!mid.ok()) {
        if (mid.status().code() == StatusCode::kUnavailable) return;  // loop() reports the loss
        log::warn("MQTT message refused by the client library; dropped",
                  {{"topic", m.topic}, {"error", mid.status().message()}});
        count_dropped(1);
      } else if (cfg().qos > 0) {
        inflight.insert(*mid);
      }
      pop_front();
    }
  }

  // One round of network work: connect when due, publish, and let libmosquitto run for up
  // to `wait` (it returns early on socket activity).
  void network(std::chrono::milliseconds wait) {
    UnixMillis t = now();
    if (conn == Conn::kDown && t >= next_attempt) start_connect();
    if (conn == Conn::kConnecting && t - connect_started > kConnectTimeoutMs) {
      connection_down("no CONNACK within " + std::to_string(kConnectTimeoutMs / 1000) + " s");
    }
    if (conn == Conn::kDown) return;
    publish_backlog();
    Status s = client->loop(wait);
    if (!s.ok()) {
      if (conn != Conn::kDown) connection_down(s.message());
      return;
    }
    publish_backlog();
  }

  // --- cameras ---

  std::string node_id(const std::string& camera_id) const { return node_prefix + "_" + object_id_part(camera_id); }
  std::string cam_topic(const std::string& camera_id) const { return prefix + "/" + mqtt_topic_level(camera_id); }
  std::string label_topic(const std::string& cam, const std::string& label) const {
    return cam_topic(cam) + "/" + mqtt_topic_level(label);
  }
  std::string zone_topic(const std::string& cam, const std::string& zone, const std::string& label) const {
    return cam_topic(cam) + "/" + mqtt_topic_level(zone) + "/" + mqtt_topic_level(label);
  }
  std::string line_topic(const std::string& cam, const std::string& line, const char* dir) const {
    return cam_topic(cam) + "/" + mqtt_topic_level(line) + "/" + dir;
  }

  // Line totals over the stored history, so a restart continues where the last run ended.
  void seed_lines(CameraModel& m) {
    CountSeriesQuery q;
    q.camera = m.camera.id;
    q.scope = "line";
    q.bucket = CountBucket::kDay;
    q.limit = 1000;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = store->query_count_series(q);
      if (!page.ok()) {
        log::warn("MQTT: cannot read line totals", {{"camera", m.camera.id}, {"error", page.status().message()}});
        return;
      }
      for (const auto& row : page->items) {
        auto& t = m.lines[row.name];
        t.first += row.in;
        t.second += row.out;
      }
      if (!page->next_after) return;
      q.after = *page->next_after;
    }
  }

  void add_discovery(std::map<std::string, std::string>& want, const CameraModel& m, const std::string& component,
                     const std::string& object, Json config) const {
    const Camera& c = m.camera;
    const std::string node = node_id(c.id);
    config["unique_id"] = node + "_" + object;
    config["object_id"] = node + "_" + object;
    config["availability_topic"] = available_topic;
    config["payload_available"] = "online";
    config["payload_not_available"] = "offline";
    config["device"] = {{"identifiers", Json::array({node})},
                        {"name", c.name.empty() ? c.id : c.name},
                        {"manufacturer", "Argus"},
                        {"model", "Argus camera (" + std::string(source_kind_name(c.source.kind)) + ")"},
                        {"sw_version", options.sw_version}};
    want[cfg().discovery_prefix + "/" + component + "/" + node + "/" + object + "/config"] =
        config.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

  // Every retained topic the camera should have now, with its payload.
  std::map<std::string, std::string> desired_topics(const CameraModel& m) const {
    std::map<std::string, std::string> want;
    const Camera& c = m.camera;
    std::set<std::string> labels(c.detection.labels.begin(), c.detection.labels.end());
    for (const auto& [label, n] : m.labels) {
      if (n > 0) labels.insert(label);
    }
    auto count_of = [](const auto& map, const auto& key) {
      auto it = map.find(key);
      return it == map.end() ? std::int64_t{0} : std::max<std::int64_t>(0, it->second);
    };
    want[cam_topic(c.id) + "/status"] = m.status;
    for (const auto& label : labels) want[label_topic(c.id, label)] = std::to_string(count_of(m.labels, label));
    for (const auto& z : c.zones) {
      for (const auto& label : labels) {
        want[zone_topic(c.id, z.name, label)] = std::to_string(count_of(m.zones, std::make_pair(z.name, label)));
      }
    }
    for (const auto& l : c.lines) {
      auto it = m.lines.find(l.name);
      std::int64_t in = it == m.lines.end() ? 0 : it->second.first;
      std::int64_t out = it == m.lines.end() ? 0 : it->second.second;
      want[line_topic(c.id, l.name, "in")] = std::to_string(in);
      want[line_topic(c.id, l.name, "out")] = std::to_string(out);
    }
    if (!cfg().discovery) return want;
    const std::string occupied = "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}";
    add_discovery(want, m, "sensor", "status",
                  {{"name", "Status"},
                   {"state_topic", cam_topic(c.id) + "/status"},
                   {"icon", "mdi:cctv"},
                   {"entity_category", "diagnostic"}});
    for (const auto& label : labels) {
      const std::string obj = object_id_part(label);
      add_discovery(want, m, "sensor", obj + "_count",
                    {{"name", capitalized(label) + " count"},
                     {"state_topic", label_topic(c.id, label)},
                     {"state_class", "measurement"},
                     {"icon", "mdi:counter"}});
      add_discovery(want, m, "binary_sensor", obj + "_occupancy",
                    {{"name", capitalized(label) + " occupancy"},
                     {"state_topic", label_topic(c.id, label)},
                     {"device_class", "occupancy"},
                     {"value_template", occupied},
                     {"payload_on", "ON"},
                     {"payload_off", "OFF"}});
      for (const auto& z : c.zones) {
        const std::string zobj = object_id_part(z.name) + "_" + obj;
        add_discovery(want, m, "sensor", zobj + "_count",
                      {{"name", capitalized(z.name) + " " + label + " count"},
                       {"state_topic", zone_topic(c.id, z.name, label)},
                       {"state_class", "measurement"},
                       {"icon", "mdi:counter"}});
        add_discovery(want, m, "binary_sensor", zobj + "_occupancy",
                      {{"name", capitalized(z.name) + " " + label + " occupancy"},
                       {"state_topic", zone_topic(c.id, z.name, label)},
                       {"device_class", "occupancy"},
                       {"value_template", occupied},
                       {"payload_on", "ON"},
                       {"payload_off", "OFF"}});
      }
    }
    for (const auto& l : c.lines) {
      for (const char* dir : {"in", "out"}) {
        add_discovery(want, m, "sensor", "line_" + object_id_part(l.name) + "_" + dir,
                      {{"name", capitalized(l.name) + " " + dir},
                       {"state_topic", line_topic(c.id, l.name, dir)},
                       {"state_class", "total_increasing"},
                       {"icon", std::string(dir) == "in" ? "mdi:location-enter" : "mdi:location-exit"}});
      }
    }
    return want;
  }

  // Publishes the camera's retained topics and empties those it no longer has.
  void sync_camera(CameraModel& m) {
    auto want = desired_topics(m);
    for (const auto& t : m.topics) {
      if (want.count(t) == 0) clear_retained(t);
    }
    m.topics.clear();
    for (const auto& [t, p] : want) set_retained(&m, t, p);
  }

  void load_camera(const Camera& c) {
    auto [it, fresh] = cameras.try_emplace(c.id);
    CameraModel& m = it->second;
    m.camera = c;
    if (fresh) {
      m.status = c.enabled ? "starting" : "disabled";
      seed_lines(m);
    } else if (!c.enabled) {
      m.status = "disabled";
    }
    sync_camera(m);
  }

  void remove_camera(const std::string& id) {
    auto it = cameras.find(id);
    if (it == cameras.end()) return;
    for (const auto& t : it->second.topics) clear_retained(t);
    cameras.erase(it);
  }

  void refresh_camera(const std::string& id) {
    auto cam = store->get_camera(id);
    if (cam.ok()) {
      load_camera(*cam);
    } else if (cam.status().code() == StatusCode::kNotFound) {
      remove_camera(id);
    } else {
      log::warn("MQTT: cannot read camera", {{"camera", id}, {"error", cam.status().message()}});
    }
  }

  Status load_all_cameras() {
    std::set<std::string> seen;
    PageRequest page;
    page.limit = 500;
    for (;;) {
      auto cams = store->list_cameras(page);
      if (!cams.ok()) return cams.status();
      for (const auto& c : cams->items) {
        seen.insert(c.id);
        load_camera(c);
      }
      if (!cams->next_after) break;
      page.after = *cams->next_after;
    }
    std::vector<std::string> gone;
    for (const auto& [id, _] : cameras) {
      if (seen.count(id) == 0) gone.push_back(id);
    }
    for (const auto& id : gone) remove_camera(id);
    return Status();
  }

  // --- counts and events ---

  void set_label_count(const std::string& cam, const std::string& label, std::int64_t delta) {
    auto it = cameras.find(cam);
    if (it == cameras.end()) return;
    std::int64_t& n = it->second.labels[label];
    n = std::max<std::int64_t>(0, n + delta);
    set_retained(&it->second, label_topic(cam, label), std::to_string(n));
  }

  void set_zone_count(const std::string& cam, const std::string& zone, const std::string& label, std::int64_t delta) {
    auto it = cameras.find(cam);
    if (it == cameras.end()) return;
    std::int64_t& n = it->second.zones[{zone, label}];
    n = std::max<std::int64_t>(0, n + delta);
    set_retained(&it->second, zone_topic(cam, zone, label), std::to_string(n));
  }

  void move_zones(OpenEvent& ev, const std::vector<std::string>& now_in) {
    for (const auto& z : ev.zones) {
      if (std::find(now_in.begin(), now_in.end(), z) == now_in.end()) set_zone_count(ev.camera, z, ev.label, -1);
    }
    for (const auto& z : now_in) {
      if (std::find(ev.zones.begin(), ev.zones.end(), z) == ev.zones.end()) set_zone_count(ev.camera, z, ev.label, +1);
    }
    ev.zones = now_in;
  }

  // The object document: the API's event fields plus Frigate's zone names.
  static Json object_doc(const Json& event, const std::vector<std::string>& current_zones) {
    Json doc = event;
    doc["current_zones"] = current_zones;
    doc["entered_zones"] = event.contains("zones") ? event["zones"] : Json::array();
    doc["has_snapshot"] = event.contains("snapshot_url") && event["snapshot_url"].is_string();
    return doc;
  }

  void on_event_message(const std::string& type, const Json& event) {
    if (!event.is_object() || !event.contains("id") || !event["id"].is_string()) return;
    const std::string id = event["id"].get<std::string>();
    const std::vector<std::string> zones_now = string_list(event.value("current_zones", Json::array()));
    Json after = object_doc(event, zones_now);
    auto it = events.find(id);
    if (type == "end") {
      if (it == events.end()) {
        publish_event_message("end", after, after);
        return;
      }
      OpenEvent& ev = it->second;
      move_zones(ev, {});
      set_label_count(ev.camera, ev.label, -1);
      publish_event_message("end", ev.last, after);
      events.erase(it);
      return;
    }
    if (it == events.end()) {
      if (events.size() >= kMaxOpenEvents) {
        OpenEvent& old = events.begin()->second;
        move_zones(old, {});
        set_label_count(old.camera, old.label, -1);
        events.erase(events.begin());
      }
      OpenEvent ev;
      ev.camera = event.value("camera", "");
      ev.label = event.value("label", "");
      ev.last = after;
      ev.last_sent = now();
      set_label_count(ev.camera, ev.label, +1);
      move_zones(ev, zones_now);
      publish_event_message(type == "new" ? "new" : "update", after, after);
      events.emplace(id, std::move(ev));
      return;
    }
    OpenEvent& ev = it->second;
    move_zones(ev, zones_now);
    if (now() - ev.last_sent >= options.event_update_interval_ms) {
      publish_event_message("update", ev.last, after);
      ev.last = std::move(after);
      ev.last_sent = now();
      ev.pending.reset();
    } else {
      ev.pending = std::move(after);
    }
  }

  void flush_pending_updates(bool all) {
    const UnixMillis t = now();
    for (auto& [_, ev] : events) {
      if (!ev.pending || (!all && t - ev.last_sent < options.event_update_interval_ms)) continue;
      publish_event_message("update", ev.last, *ev.pending);
      ev.last = std::move(*ev.pending);
      ev.pending.reset();
      ev.last_sent = t;
    }
  }

  void on_counts_message(const Json& data) {
    const std::string cam = data.value("camera", "");
    auto it = cameras.find(cam);
    if (it == cameras.end() || !data.contains("deltas") || !data["deltas"].is_array()) return;
    CameraModel& m = it->second;
    std::set<std::string> changed;
    for (const auto& d : data["deltas"]) {
      if (!d.is_object() || d.value("scope", "") != "line") continue;
      const std::string line = d.value("name", "");
      std::int64_t in = d.value("in", std::int64_t{0}), out = d.value("out", std::int64_t{0});
      if (in == 0 && out == 0) continue;
      auto& t = m.lines[line];
      t.first += in;
      t.second += out;
      changed.insert(line);
    }
    for (const auto& line : changed) {
      set_retained(&m, line_topic(cam, line, "in"), std::to_string(m.lines[line].first));
      set_retained(&m, line_topic(cam, line, "out"), std::to_string(m.lines[line].second));
    }
  }

  void on_camera_message(const bus::Message& msg) {
    const std::string type = msg.data.value("type", "");
    if (type == "status") {
      const std::string id = msg.data.value("camera_id", msg.camera);
      auto it = cameras.find(id);
      if (it == cameras.end()) return;
      const Json& st = msg.data.contains("status") ? msg.data["status"] : Json();
      std::string state = st.is_object() ? st.value("state", "") : "";
      if (state.empty()) return;
      it->second.status = state;
      set_retained(&it->second, cam_topic(id) + "/status", state);
    } else if (type == "created" || type == "updated") {
      refresh_camera(msg.camera);
    } else if (type == "deleted") {
      remove_camera(msg.camera);
    }
  }

  void handle(const bus::Message& msg) {
    try {
      if (msg.topic == bus::kEvents) {
        const std::string type = msg.data.value("type", "");
        if (type == "new" || type == "update" || type == "end") on_event_message(type, msg.data.value("event", Json()));
      } else if (msg.topic == bus::kCounts) {
        on_counts_message(msg.data);
      } else if (msg.topic == bus::kCameras) {
        on_camera_message(msg);
      }
    } catch (const std::exception& e) {  // a malformed message must not end the bridge
      log::warn("MQTT: bus message ignored", {{"topic", msg.topic}, {"error", e.what()}});
    }
  }

  // Translates what the bus holds, waiting up to `wait` for the first message.
  void drain_bus(std::chrono::milliseconds wait) {
    for (int i = 0; i < kBusBatch; ++i) {
      auto m = i == 0 && wait.count() > 0 ? sub->next(wait) : sub->try_next();
      if (!m || !*m) break;
      handle(**m);
    }
    std::uint64_t d = sub->dropped();
    if (d != bus_dropped_seen) {
      count_dropped(d - bus_dropped_seen);
      bus_dropped_seen = d;
      log::warn("MQTT: bus messages were dropped; resynchronizing cameras", {{"dropped_total", d}});
      Status s = load_all_cameras();
      if (!s.ok()) log::warn("MQTT: camera resynchronization failed", {{"error", s.message()}});
    }
  }

  // Stats never displace events: skipped while the backlog is full.
  void enqueue_stats() {
    const UnixMillis t = now();
    next_stats = t + cfg().stats_interval_ms;
    if (stream_queued >= cfg().backlog) return;
    Json doc{{"time", format_rfc3339(t)},      {"uptime_s", (t - started_at) / 1000}, {"version", options.sw_version},
             {"cameras", cameras.size()},      {"open_events", events.size()},        {"connected", conn == Conn::kUp},
             {"backlog", backlog.size()},      {"published", published.load()},       {"dropped", dropped.load()},
             {"reconnects", reconnects.load()}};
    enqueue({stats_topic, doc.dump(), false});
  }

  void run() {
    while (!stopping.load()) {
      const bool down = conn == Conn::kDown;
      std::chrono::milliseconds wait(0);
      if (down) wait = std::chrono::milliseconds(std::clamp<std::int64_t>(next_attempt - now(), 1, 100));
      drain_bus(wait);
      flush_pending_updates(false);
      if (conn == Conn::kUp && now() >= next_stats) enqueue_stats();
      end_sweep();
      network(std::chrono::milliseconds(down ? 0 : 50));
      backlog_size = backlog.size() + inflight.size();  // not yet acknowledged by the broker
    }
    shutdown();
  }

  // What is left on the bus and in the backlog goes out while the broker is there (up to
  // the grace period); then "offline" and DISCONNECT, so the broker drops the last will.
  void shutdown() {
    while (auto m = sub->try_next()) {
      if (!*m) break;
      handle(**m);
    }
    flush_pending_updates(true);
    const UnixMillis deadline = now() + options.stop_grace_ms;
    while (conn != Conn::kDown && now() < deadline &&
           (conn == Conn::kConnecting || !backlog.empty() || !inflight.empty())) {
      network(std::chrono::milliseconds(50));
    }
    if (conn == Conn::kUp) {
      count_dropped(stream_queued);  // what the grace period did not deliver
      backlog.clear();
      stream_queued = 0;
      backlog.push_back({available_topic, "offline", true});
      const UnixMillis offline_deadline = now() + 1000;
      while (conn == Conn::kUp && now() < offline_deadline && (!backlog.empty() || !inflight.empty())) {
        network(std::chrono::milliseconds(50));
      }
      client->disconnect();
      // Lets libmosquitto write the DISCONNECT; it then reports "not connected", as expected.
      for (int i = 0; i < 5 && client->loop(std::chrono::milliseconds(20)).ok(); ++i) {
      }
      conn = Conn::kDown;
    }
    count_dropped(stream_queued);
    backlog.clear();
    stream_queued = 0;
    connected = false;
    if (connected_gauge != nullptr) connected_gauge->set(0);
    backlog_size = 0;
    sub->close();
  }
};

Result<std::unique_ptr<MqttBridge>> MqttBridge::create(const MqttBridgeOptions& options, Store* store,
                                                       bus::EventBus* bus) {
  const MqttConfig& c = options.config;
  if (store == nullptr || bus == nullptr) return Status::invalid_argument("MQTT bridge needs a store and a bus");
  auto address = parse_mqtt_url(c.url);
  if (!address.ok()) return address.status().with_context("mqtt.url");
  auto s = std::make_unique<State>();
  s->options = options;
  s->store = store;
  s->bus = bus;
  s->prefix = c.topic_prefix;
  s->available_topic = c.topic_prefix + "/available";
  s->events_topic = c.topic_prefix + "/events";
  s->stats_topic = c.topic_prefix + "/stats";
  s->node_prefix = object_id_part(c.topic_prefix);

  std::string password = c.password;
  if (!c.password_file.empty()) {
    std::ifstream in(c.password_file, std::ios::binary);
    if (!in) return Status::invalid_argument("mqtt.password_file: cannot read " + c.password_file);
    std::ostringstream text;
    text << in.rdbuf();
    password = text.str();
    if (!password.empty() && password.back() == '\n') password.pop_back();
    if (!password.empty() && password.back() == '\r') password.pop_back();
  }
  if (!c.ca_file.empty()) {
    std::ifstream ca(c.ca_file);
    if (!ca) return Status::invalid_argument("mqtt.tls.ca_file: cannot read " + c.ca_file);
  }

  MqttClientOptions co;
  co.address = *address;
  co.client_id = c.client_id;
  co.username = c.username;
  co.password = password;
  co.ca_file = c.ca_file;
  co.tls_insecure = c.tls_insecure;
  co.keepalive_s = static_cast<int>(std::max<std::int64_t>(5, c.keepalive_ms / 1000));
  co.will_topic = s->available_topic;
  co.will_payload = "offline";
  co.will_qos = c.qos;
  co.will_retain = true;
  State* st = s.get();
  MqttClientCallbacks cb;
  cb.on_connect = [st](int code) { st->on_connect(code); };
  cb.on_disconnect = [st](int rc) { st->on_disconnect(rc); };
  cb.on_publish = [st](int mid) { st->on_publish(mid); };
  cb.on_message = [st](const std::string& topic, const std::string& payload, bool) { st->on_message(topic, payload); };
  auto client = MqttClient::create(co, std::move(cb));
  if (!client.ok()) return client.status();
  s->client = std::move(client).value();

  if (options.metrics != nullptr) {
    metrics::Registry& r = *options.metrics;
    s->connected_gauge = &r.gauge("argus_mqtt_connected", "1 while the MQTT bridge is connected to its broker.");
    s->published_counter =
        &r.counter("argus_mqtt_messages_published_total", "MQTT messages the broker accepted (QoS 1) or sent (QoS 0).");
    s->dropped_counter =
        &r.counter("argus_mqtt_messages_dropped_total", "MQTT messages lost to a full backlog or a full bus queue.");
    s->reconnects_counter =
        &r.counter("argus_mqtt_reconnects_total", "MQTT connections made again after a lost connection.");
    s->connected_gauge->set(0);
  }
  return std::unique_ptr<MqttBridge>(new MqttBridge(std::move(s)));
}

MqttBridge::MqttBridge(std::unique_ptr<State> state) : s_(std::move(state)) {}

MqttBridge::~MqttBridge() { stop(); }

Status MqttBridge::start() {
  State& s = *s_;
  if (s.started) return Status::failed_precondition("MQTT bridge already started");
  s.sub =
      s.bus->subscribe({.topics = {std::string(bus::kEvents), std::string(bus::kCounts), std::string(bus::kCameras)},
                        .capacity = s.options.bus_queue,
                        .overflow = OverflowPolicy::kDropOldest,
                        .name = "mqtt-bridge"});
  if (!s.sub) return Status::internal("MQTT bridge: bus subscription failed");
  s.started_at = s.now();
  Status loaded = s.load_all_cameras();
  if (!loaded.ok()) return loaded.with_context("MQTT bridge: read cameras");
  s.started = true;
  s.thread = std::thread([&s] { s.run(); });
  log::info("MQTT bridge started",
            {{"url", s.cfg().url}, {"topic_prefix", s.prefix}, {"discovery", s.cfg().discovery}});
  return Status();
}

void MqttBridge::stop() {
  if (!s_ || !s_->started || s_->stopped) return;
  s_->stopped = true;
  s_->stopping = true;
  if (s_->thread.joinable()) s_->thread.join();
  log::info("MQTT bridge stopped", {{"published", s_->published.load()}, {"dropped", s_->dropped.load()}});
}

MqttBridgeStats MqttBridge::stats() const {
  MqttBridgeStats out;
  out.connected = s_->connected.load();
  out.backlog = s_->backlog_size.load();
  out.published = s_->published.load();
  out.dropped = s_->dropped.load();
  out.reconnects = s_->reconnects.load();
  return out;
}

}  // namespace argus::alerts
