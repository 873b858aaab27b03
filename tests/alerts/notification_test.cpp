#include "alerts/notification.h"

#include <gtest/gtest.h>

namespace argus::alerts {
namespace {

TEST(NotificationTest, KnowsItsKinds) {
  EXPECT_TRUE(is_notification_kind("alert.firing"));
  EXPECT_TRUE(is_notification_kind("alert.resolved"));
  EXPECT_TRUE(is_notification_kind("test"));
  EXPECT_FALSE(is_notification_kind(""));
  EXPECT_FALSE(is_notification_kind("alert"));
  EXPECT_FALSE(is_notification_kind("Test"));
}

}  // namespace
}  // namespace argus::alerts
