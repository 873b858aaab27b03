// How events and counts are checked, stored and paged, independent of SQL. Shared by every
// Store backend, so that they accept the same input and hand out the same paging keys.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "store/records.h"

namespace argus::store_internal {

// The JSON columns of an event: box `[x1,y1,x2,y2]`, zones `["a","b"]`, crossings
// `[{"line":"door","direction":"in","time":1700000000000}]`.
struct EncodedEvent {
  std::string box;
  std::string zones;
  std::string crossings;
};

// Checks `event` and encodes its JSON columns. InvalidArgument naming the event (by id when
// it has one, else by `index` in its batch) and the problem: an empty id, camera_id or
// label, a score or box coordinate that is not finite, a crossing with no line or a
// direction other than "in"/"out", or text that is not valid UTF-8.
Result<EncodedEvent> encode_event(const EventRecord& event, std::size_t index);

// Fills event.box, zones and crossings from stored columns. Corruption naming the event if
// a column is not what encode_event writes. Empty or absent columns read as empty values.
Status decode_event_columns(const std::string& box, const std::string& zones, const std::string& crossings,
                            EventRecord& event);

// Events page newest first by (start_time, id). The key is "<start_time>:<id>", or
// "+<start_time>:<id>" when paging oldest first, so a key is tied to its sort order.
std::string event_page_key(UnixMillis start_time, const std::string& id, bool ascending = false);
struct EventPageKey {
  UnixMillis start_time = 0;
  std::string id;
  bool ascending = false;
};
// InvalidArgument if `key` is not a key made by event_page_key.
Result<EventPageKey> parse_event_page_key(const std::string& key);

// InvalidArgument naming the detection (by `index` in its batch) and the problem: an empty
// or non-UTF-8 event_id, camera_id or label, or a score or box coordinate that is not finite.
Status validate_detection(const DetectionRecord& detection, std::size_t index);

// True for "camera", "zone" and "line".
bool is_count_scope(const std::string& scope);

// InvalidArgument naming the delta (by `index` in its batch) and the problem: an empty
// camera_id or label, an unknown scope, a name that does not fit the scope (empty for
// "camera", non-empty otherwise), a bucket that is negative or not a whole minute, or a
// negative number.
Status validate_count_delta(const CountDelta& delta, std::size_t index);

// Count rows page in (bucket, scope, name, label) order. The key is
// "<bucket>:<scope>:<length of name>:<name>:<label>", so names and labels may hold any
// character.
std::string count_page_key(const CountRow& row);
struct CountPageKey {
  UnixMillis bucket = 0;
  std::string scope;
  std::string name;
  std::string label;
};
// InvalidArgument if `key` is not a key made by count_page_key.
Result<CountPageKey> parse_count_page_key(const std::string& key);

}  // namespace argus::store_internal
