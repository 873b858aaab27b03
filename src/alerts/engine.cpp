#include "alerts/engine.h"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alerts/notification.h"
#include "alerts/rules.h"
#include "bus/bus.h"
#include "core/bounded_queue.h"
#include "core/ids.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace argus::alerts {
namespace {

using nlohmann::json;

// An object with no message for this long is taken as gone (its end was lost: the
// subscription dropped it, or the pipeline stopped). The pipeline updates a tracked
// object at least every few seconds.
constexpr std::int64_t kStaleObjectMs = 10 * 60 * 1000;

// Camera states that count as offline for camera_offline rules.
bool is_offline_state(const std::string& state) {
  return state == "reconnecting" || state == "offline" || state == "error";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// One object the engine has seen on the events topic and that has not ended yet.
struct LiveObject {
  std::string camera;
  std::string label;
  UnixMillis first_seen = 0;                // engine clock
  UnixMillis last_seen = 0;                 // the latest message about it
  std::map<std::string, UnixMillis> zones;  // zone it is in -> since when (see handle())
  std::map<std::string, UnixMillis> lines;  // line -> when it first crossed it
  std::size_t crossings_seen = 0;           // entries of the event's crossings handled
};

// Where a rule's condition holds now, for one subject (an event or a camera).
struct Holding {
  std::string camera;
  std::string label;
  UnixMillis since = 0;  // 0: since the engine first saw it hold
  double value = 0;
};

struct Subject {
  UnixMillis since = 0;
  double value = 0;
  std::optional<AlertRecord> alert;  // set while firing
  bool suppressed = false;           // event_start that could not fire when it started
};

struct RuleState {
  Rule rule;
  std::map<std::string, Subject> subjects;                  // by event id or camera
  std::map<std::string, UnixMillis> last_fired;             // by camera (cooldown)
  std::map<std::string, std::deque<UnixMillis>> crossings;  // by camera, engine clock
};

struct Output {
  std::string type;  // firing, resolved
  AlertRecord alert;
  std::vector<std::string> channels;
};

}  // namespace

struct Engine::Impl {
  Impl(Store* s, bus::EventBus* b, EngineOptions o)
      : store(s), bus(b), options(o), outputs(o.queue, OverflowPolicy::kBlock) {
    subscription = bus->subscribe({.topics = {std::string(bus::kEvents), std::string(bus::kCameras)},
                                   .capacity = o.queue,
                                   .overflow = OverflowPolicy::kDropOldest,
                                   .name = "alert-engine"});
    if (o.metrics != nullptr) {
      firing_gauge = &o.metrics->gauge("argus_alerts_firing", "Alerts firing now.");
    }
  }

  Store* store;
  bus::EventBus* bus;
  EngineOptions options;
  std::unique_ptr<bus::Subscription> subscription;
  BoundedQueue<Output> outputs;
  metrics::Gauge* firing_gauge = nullptr;

  std::atomic<bool> reload_wanted{true};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> firing{0};
  bool started = false;
  std::thread evaluator;
  std::thread writer;
  std::mutex poll_mu;  // serializes poll() callers

  // Evaluation state: owned by the evaluation thread (or poll()'s caller).
  std::vector<RuleState> rules;
  std::map<std::string, LiveObject> objects;        // by event id
  std::map<std::string, UnixMillis> offline_since;  // by camera

  UnixMillis now() const { return options.clock->now_ms(); }

  // --- output ---

  void emit(Output out) {
    if (started) {
      if (outputs.push(std::move(out)) == PushResult::kClosed) log::warn("alert dropped at shutdown");
    } else {
      write(out);
    }
  }

  void write(Output& out) {
    AlertRecord alert = out.alert;
    auto saved = store->save_alert(alert);
    if (saved.ok()) {
      alert = *saved;
    } else {
      log::error("cannot store an alert", {{"alert", alert.id}, {"error", saved.status().to_string()}});
    }
    json doc = alert_to_json(alert);
    bus->publish(bus::kAlerts, alert.camera_id, {{"type", out.type}, {"alert", doc}});
    if (options.sink == nullptr) return;
    const UnixMillis at = out.type == "firing" ? alert.started_at : alert.resolved_at;
    for (const auto& channel : out.channels) {
      Status s = options.sink->enqueue({channel, "alert." + out.type, at, doc});
      if (!s.ok()) {
        log::warn("alert notification not queued",
                  {{"alert", alert.id}, {"channel", channel}, {"error", s.to_string()}});
      }
    }
  }

  void set_firing(std::size_t n) {
    firing = n;
    if (firing_gauge != nullptr) firing_gauge->set(static_cast<double>(n));
  }

  void recount_firing() {
    std::size_t n = 0;
    for (const auto& r : rules) {
      for (const auto& [_, s] : r.subjects) n += s.alert ? 1 : 0;
    }
    set_firing(n);
  }

  // --- rules ---

  void resolve(RuleState& rs, Subject& subject, UnixMillis at, const std::string& why) {
    if (!subject.alert) return;
    AlertRecord a = std::move(*subject.alert);
    subject.alert.reset();
    a.state = "resolved";
    a.resolved_at = at;
    if (!why.empty()) a.message += " (" + why + ")";
    emit({"resolved", std::move(a), rs.rule.channels});
  }

  Status load_rules() {
    std::vector<Rule> loaded;
    PageRequest page;
    page.limit = 500;
    for (;;) {
      auto got = store->list_alert_rules(page);
      if (!got.ok()) return got.status();
      for (const auto& rec : got->items) {
        auto rule = rule_from_record(rec);
        if (!rule.ok()) {
          log::error("alert rule ignored", {{"rule", rec.id}, {"error", rule.status().to_string()}});
          continue;
        }
        if (rule->enabled) loaded.push_back(std::move(rule).value());
      }
      if (!got->next_after) break;
      page.after = *got->next_after;
    }
    const UnixMillis t = now();
    std::vector<RuleState> next;
    for (auto& rule : loaded) {
      auto old = std::find_if(rules.begin(), rules.end(), [&](const RuleState& rs) { return rs.rule.id == rule.id; });
      if (old != rules.end() && old->rule == rule) {
        next.push_back(std::move(*old));
        rules.erase(old);
      } else {
        if (old != rules.end()) {
          for (auto& [_, s] : old->subjects) resolve(*old, s, t, "the rule changed");
          rules.erase(old);
        }
        next.push_back(RuleState{std::move(rule), {}, {}, {}});
      }
    }
    for (auto& gone : rules) {
      for (auto& [_, s] : gone.subjects) resolve(gone, s, t, "the rule was deleted or disabled");
    }
    rules = std::move(next);
    recount_firing();
    return Status::ok_status();
  }

  // Marks alerts a previous process left firing as resolved now.
  Status resolve_leftovers() {
    AlertQuery q;
    q.state = "firing";
    q.limit = 500;
    const UnixMillis t = now();
    for (;;) {
      auto page = store->list_alerts(q);
      if (!page.ok()) return page.status();
      for (auto a : page->items) {
        a.state = "resolved";
        a.resolved_at = t;
        a.message += " (resolved at start: the server stopped while it was firing)";
        Output out{"resolved", std::move(a), {}};
        write(out);
      }
      if (!page->next_after) break;
      q.after = *page->next_after;
    }
    return Status::ok_status();
  }

  // --- bus messages ---

  // `t` is when the message was published (the bus's clock, the engine's in production).
  void handle(const bus::Message& m, UnixMillis t) {
    const std::string type = m.data.value("type", "");
    if (m.topic == bus::kEvents) {
      if (type == "deleted") {
        objects.erase(m.data.value("id", ""));
        return;
      }
      if (type != "new" && type != "update" && type != "end") return;
      auto ev = m.data.find("event");
      if (ev == m.data.end() || !ev->is_object()) return;
      const std::string id = ev->value("id", "");
      if (id.empty()) return;
      if (type == "end" || !ev->value("active", true)) {
        objects.erase(id);
        return;
      }
      auto [it, added] = objects.try_emplace(id);
      LiveObject& o = it->second;
      o.last_seen = std::max(o.last_seen, t);
      if (added) {
        o.camera = ev->value("camera", m.camera);
        o.label = ev->value("label", "");
        o.first_seen = t;
      }
      if (auto now_in = ev->find("current_zones"); now_in != ev->end() && now_in->is_array()) {
        // The pipeline says where the object is now: zones it left drop out (a re-entry
        // starts its time again), zones it stays in keep their entry time.
        std::map<std::string, UnixMillis> zones;
        for (const auto& z : *now_in) {
          if (!z.is_string()) continue;
          auto prev = o.zones.find(z.get<std::string>());
          zones.emplace(z.get<std::string>(), prev == o.zones.end() ? t : prev->second);
        }
        o.zones = std::move(zones);
      } else if (auto zones = ev->find("zones"); zones != ev->end() && zones->is_array()) {
        // Without current_zones (a stored event's shape), the zones it has entered count.
        for (const auto& z : *zones) {
          if (z.is_string()) o.zones.try_emplace(z.get<std::string>(), t);
        }
      }
      if (auto cr = ev->find("crossings"); cr != ev->end() && cr->is_array()) {
        for (std::size_t i = o.crossings_seen; i < cr->size(); ++i) {
          const json& c = (*cr)[i];
          if (!c.is_object()) continue;
          const std::string line = c.value("line", "");
          const std::string direction = c.value("direction", "");
          o.lines.try_emplace(line, t);
          for (auto& rs : rules) {
            const Rule& r = rs.rule;
            if (r.condition.type != ConditionType::kCrossings) continue;
            if (!r.matches_camera(o.camera) || !r.matches_label(o.label)) continue;
            if (!r.line.empty() && r.line != line) continue;
            if (r.condition.direction != "any" && r.condition.direction != direction) continue;
            rs.crossings[o.camera].push_back(t);
          }
        }
        o.crossings_seen = std::max(o.crossings_seen, cr->size());
      }
      return;
    }
    if (m.topic == bus::kCameras) {
      if (type == "status") {
        const std::string camera = m.data.value("camera_id", m.camera);
        std::string state;
        if (auto st = m.data.find("status"); st != m.data.end() && st->is_object()) state = st->value("state", "");
        if (is_offline_state(state)) {
          offline_since.try_emplace(camera, t);
        } else {
          offline_since.erase(camera);
        }
      } else if (type == "deleted") {
        offline_since.erase(m.camera);
        for (auto it = objects.begin(); it != objects.end();) {
          it = it->second.camera == m.camera ? objects.erase(it) : std::next(it);
        }
      }
    }
  }

  // --- evaluation ---

  // Where `rs`'s condition holds at `t`, by subject key.
  std::map<std::string, Holding> holdings(RuleState& rs, UnixMillis t) {
    const Rule& r = rs.rule;
    std::map<std::string, Holding> out;
    const std::string rule_label = r.labels.size() == 1 ? r.labels.front() : "";
    switch (r.condition.type) {
      case ConditionType::kEventStart:
      case ConditionType::kDwell:
        for (const auto& [id, o] : objects) {
          if (!r.matches_camera(o.camera) || !r.matches_label(o.label)) continue;
          UnixMillis since = o.first_seen;
          if (!r.zone.empty()) {
            auto z = o.zones.find(r.zone);
            if (z == o.zones.end()) continue;
            since = z->second;
          } else if (!r.line.empty()) {
            auto l = o.lines.find(r.line);
            if (l == o.lines.end()) continue;
            since = l->second;
          }
          double value = r.condition.type == ConditionType::kDwell ? static_cast<double>(t - since) / 1000.0 : 1.0;
          out[id] = {o.camera, o.label, since, value};
        }
        break;
      case ConditionType::kOccupancy: {
        // When each present object arrived (in the zone): the count has been at least N
        // since the N-th earliest of them arrived.
        std::map<std::string, std::vector<UnixMillis>> per_camera;
        for (const auto& [id, o] : objects) {
          if (!r.matches_camera(o.camera) || !r.matches_label(o.label)) continue;
          UnixMillis since = o.first_seen;
          if (!r.zone.empty()) {
            auto z = o.zones.find(r.zone);
            if (z == o.zones.end()) continue;
            since = z->second;
          }
          per_camera[o.camera].push_back(since);
        }
        for (auto& [camera, times] : per_camera) {
          const auto n = static_cast<std::int64_t>(times.size());
          if (n < r.condition.min) continue;
          std::sort(times.begin(), times.end());
          out[camera] = {camera, rule_label, times[static_cast<std::size_t>(r.condition.min - 1)],
                         static_cast<double>(n)};
        }
        break;
      }
      case ConditionType::kCrossings:
        for (auto it = rs.crossings.begin(); it != rs.crossings.end();) {
          auto& window = it->second;
          while (!window.empty() && window.front() <= t - r.condition.window_seconds * 1000) window.pop_front();
          if (window.empty()) {
            it = rs.crossings.erase(it);
            continue;
          }
          if (static_cast<std::int64_t>(window.size()) >= r.condition.min) {
            out[it->first] = {it->first, rule_label, 0, static_cast<double>(window.size())};
          }
          ++it;
        }
        break;
      case ConditionType::kCameraOffline:
        for (const auto& [camera, since] : offline_since) {
          if (r.matches_camera(camera)) out[camera] = {camera, "", since, static_cast<double>(t - since) / 1000.0};
        }
        break;
    }
    return out;
  }

  static std::int64_t required_ms(const Condition& c) {
    switch (c.type) {
      case ConditionType::kOccupancy:
      case ConditionType::kCameraOffline:
        return c.for_seconds * 1000;
      case ConditionType::kDwell:
        return c.min_seconds * 1000;
      default:
        return 0;
    }
  }

  static std::string describe(const Rule& r, const Holding& h, double value) {
    const std::string where = !r.zone.empty() ? " in zone '" + r.zone + "'" : "";
    const std::string on = " on camera '" + h.camera + "'";
    const std::string what = h.label.empty() ? (r.labels.empty() ? "objects" : join(r.labels)) : h.label;
    auto num = [](double v) { return std::to_string(static_cast<std::int64_t>(v)); };
    switch (r.condition.type) {
      case ConditionType::kEventStart:
        return h.label + (r.line.empty() ? " detected" + where : " crossed line '" + r.line + "'") + on;
      case ConditionType::kOccupancy:
        return num(value) + " " + what + where + on + " for " + std::to_string(r.condition.for_seconds) +
               " s (at least " + std::to_string(r.condition.min) + ")";
      case ConditionType::kCrossings:
        return num(value) + " crossings" + (r.line.empty() ? "" : " of line '" + r.line + "'") +
               (r.condition.direction == "any" ? "" : " (" + r.condition.direction + ")") + on + " within " +
               std::to_string(r.condition.window_seconds) + " s (at least " + std::to_string(r.condition.min) + ")";
      case ConditionType::kDwell:
        return h.label + " stayed " + num(value) + " s" + where + on + " (at least " +
               std::to_string(r.condition.min_seconds) + " s)";
      case ConditionType::kCameraOffline:
        return "camera '" + h.camera + "' offline for " + num(value) + " s";
    }
    return r.name;
  }

  void fire(RuleState& rs, Subject& subject, const Holding& h, UnixMillis t) {
    const Rule& r = rs.rule;
    AlertRecord a;
    a.id = "alert-" + random_hex_id(8);
    a.rule_id = r.id;
    a.rule_name = r.name;
    a.camera_id = h.camera;
    a.label = h.label;
    a.zone = r.zone;
    a.line = r.line;
    a.severity = r.severity;
    a.state = "firing";
    a.started_at = t;
    a.value = h.value;
    a.message = r.name + ": " + describe(r, h, h.value);
    subject.alert = a;
    rs.last_fired[h.camera] = t;
    if (options.metrics != nullptr) {
      options.metrics->counter("argus_alerts_fired_total", "Alerts fired.", {{"severity", r.severity}}).inc();
    }
    emit({"firing", std::move(a), r.channels});
  }

  void evaluate(UnixMillis t) {
    for (auto it = objects.begin(); it != objects.end();) {
      it = t - it->second.last_seen > kStaleObjectMs ? objects.erase(it) : std::next(it);
    }
    for (auto& rs : rules) {
      const Rule& r = rs.rule;
      std::map<std::string, Holding> now_holding = holdings(rs, t);
      for (auto it = rs.subjects.begin(); it != rs.subjects.end();) {
        if (now_holding.count(it->first) == 0) {
          resolve(rs, it->second, t, "");
          it = rs.subjects.erase(it);
        } else {
          ++it;
        }
      }
      const std::int64_t need = required_ms(r.condition);
      const bool instant = r.condition.type == ConditionType::kEventStart;
      for (const auto& [key, h] : now_holding) {
        auto [it, added] = rs.subjects.try_emplace(key);
        Subject& s = it->second;
        if (added) s.since = h.since != 0 ? h.since : t;
        s.value = h.value;
        if (s.alert) {
          s.alert->value = h.value;
          continue;
        }
        if (s.suppressed || t - s.since < need) continue;
        bool allowed = !r.schedule || r.schedule->active(t);
        if (allowed && r.cooldown_seconds > 0) {
          auto last = rs.last_fired.find(h.camera);
          allowed = last == rs.last_fired.end() || t - last->second >= r.cooldown_seconds * 1000;
        }
        if (allowed) {
          fire(rs, s, h, t);
        } else if (instant) {
          s.suppressed = true;
        }
      }
    }
    recount_firing();
  }

  // One round: reload if asked, the queued messages, then every rule at the clock's now.
  Status step(std::optional<bus::MessagePtr> first) {
    if (reload_wanted.exchange(false)) {
      Status s = load_rules();
      if (!s.ok()) {
        reload_wanted = true;
        log::error("cannot load alert rules", {{"error", s.to_string()}});
      }
    }
    auto at = [this](const bus::Message& m) { return m.time > 0 ? m.time : now(); };
    if (first && *first) handle(**first, at(**first));
    for (int i = 0; i < 4096; ++i) {
      auto m = subscription->try_next();
      if (!m || !*m) break;
      handle(**m, at(**m));
    }
    evaluate(now());
    return Status::ok_status();
  }

  void run_evaluator() {
    auto next_tick = std::chrono::steady_clock::now();
    std::uint64_t dropped = 0;
    while (!stopping) {
      if (subscription->dropped() != dropped) {
        dropped = subscription->dropped();
        log::warn("the alert engine fell behind the bus and lost messages", {{"lost_total", dropped}});
      }
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - std::chrono::steady_clock::now());
      if (wait.count() < 0) wait = std::chrono::milliseconds(0);
      auto m = subscription->next(wait);
      if (stopping) break;
      if (std::chrono::steady_clock::now() >= next_tick) next_tick = std::chrono::steady_clock::now() + options.tick;
      (void)step(std::move(m));
    }
  }

  void run_writer() {
    while (auto out = outputs.pop()) write(*out);
  }
};

Engine::Engine(Store* store, bus::EventBus* bus, EngineOptions options)
    : impl_(std::make_unique<Impl>(store, bus, options)) {}

Engine::~Engine() { stop(); }

Status Engine::start() {
  Impl& p = *impl_;
  if (p.started) return Status::failed_precondition("the alert engine is running already");
  ARGUS_RETURN_IF_ERROR(p.resolve_leftovers());
  p.reload_wanted = false;
  ARGUS_RETURN_IF_ERROR(p.load_rules());
  p.started = true;
  p.writer = std::thread([&p] { p.run_writer(); });
  p.evaluator = std::thread([&p] { p.run_evaluator(); });
  return Status::ok_status();
}

void Engine::stop() {
  Impl& p = *impl_;
  if (!p.started) return;
  p.stopping = true;
  p.subscription->close();
  if (p.evaluator.joinable()) p.evaluator.join();
  p.outputs.close();
  if (p.writer.joinable()) p.writer.join();
  p.started = false;
}

void Engine::reload() { impl_->reload_wanted = true; }

Status Engine::poll() {
  Impl& p = *impl_;
  if (p.started) return Status::failed_precondition("poll() is for an engine that was not started");
  std::lock_guard lock(p.poll_mu);
  return p.step(std::nullopt);
}

std::size_t Engine::firing_count() const { return impl_->firing.load(); }

}  // namespace argus::alerts
