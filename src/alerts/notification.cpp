#include "alerts/notification.h"

namespace argus::alerts {

bool is_notification_kind(std::string_view kind) {
  return kind == "alert.firing" || kind == "alert.resolved" || kind == "test";
}

}  // namespace argus::alerts
