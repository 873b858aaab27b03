#include "alerts/channels.h"

#include <gtest/gtest.h>

namespace argus::alerts {
namespace {

using nlohmann::json;

bool has_error(const FieldErrors& errors, const std::string& pointer) {
  for (const auto& e : errors) {
    if (e.pointer == pointer) return true;
  }
  return false;
}

TEST(ChannelsTest, WebhookGetsDefaultsAndHidesItsSecret) {
  FieldErrors errors;
  auto ch = channel_from_json({{"id", "ops"},
                               {"name", "Ops"},
                               {"type", "webhook"},
                               {"config", {{"url", "https://hooks.example.com/x"}, {"secret", "k"}}}},
                              errors);
  ASSERT_TRUE(ch.ok()) << errors.at(0).pointer << " " << errors.at(0).detail;
  EXPECT_EQ(ch->config["timeout_seconds"], 10);
  EXPECT_EQ(ch->config["secret"], "k");
  EXPECT_EQ(ch->timeout_ms(), 10'000);
  json shown = channel_to_json(*ch);
  EXPECT_FALSE(shown["config"].contains("secret"));
  EXPECT_EQ(shown["config"]["secret_set"], true);
  EXPECT_EQ(shown.dump().find("\"k\""), std::string::npos);
}

TEST(ChannelsTest, IdIsGeneratedWhenAbsent) {
  FieldErrors errors;
  auto ch = channel_from_json({{"name", "x"}, {"type", "webhook"}, {"config", {{"url", "http://a.example"}}}}, errors);
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(ch->id.rfind("ch-", 0), 0u);
}

TEST(ChannelsTest, RefusesBadInputWithPointers) {
  FieldErrors errors;
  EXPECT_FALSE(channel_from_json({{"name", "x"}, {"type", "pager"}}, errors).ok());
  EXPECT_TRUE(has_error(errors, "/type"));
  errors.clear();
  EXPECT_FALSE(channel_from_json({{"type", "webhook"}, {"config", {{"url", "ftp://x.example"}}}}, errors).ok());
  EXPECT_TRUE(has_error(errors, "/name"));
  EXPECT_TRUE(has_error(errors, "/config/url"));
  errors.clear();
  EXPECT_FALSE(channel_from_json({{"id", "Bad Id"},
                                  {"name", "x"},
                                  {"type", "webhook"},
                                  {"config",
                                   {{"url", "http://a.example"},
                                    {"timeout_seconds", 0},
                                    {"headers", {{"X-Argus-Signature", "forged"}}},
                                    {"extra", 1}}}},
                                 errors)
                   .ok());
  EXPECT_TRUE(has_error(errors, "/id"));
  EXPECT_TRUE(has_error(errors, "/config/timeout_seconds"));
  EXPECT_TRUE(has_error(errors, "/config/headers/X-Argus-Signature"));
  EXPECT_TRUE(has_error(errors, "/config/extra"));
  errors.clear();
  EXPECT_FALSE(
      channel_from_json({{"name", "m"},
                         {"type", "email"},
                         {"config", {{"smtp_url", "smtp://mail.example"}, {"from", "nobody"}, {"to", json::array()}}}},
                        errors)
          .ok());
  EXPECT_TRUE(has_error(errors, "/config/from"));
  EXPECT_TRUE(has_error(errors, "/config/to"));
  errors.clear();
  EXPECT_FALSE(channel_from_json({{"name", "q"},
                                  {"type", "mqtt"},
                                  {"config", {{"url", "mqtt://broker.example"}, {"topic", "a/#"}, {"qos", 3}}}},
                                 errors)
                   .ok());
  EXPECT_TRUE(has_error(errors, "/config/topic"));
  EXPECT_TRUE(has_error(errors, "/config/qos"));
}

TEST(ChannelsTest, CaPemMustBeCertificatesInPemTextAndOnlyForCurlChannels) {
  const std::string pem = "-----BEGIN CERTIFICATE-----\r\nMIIB\n-----END CERTIFICATE-----\n";
  auto hook = [](json ca) {
    return json{{"name", "h"}, {"type", "webhook"}, {"config", {{"url", "https://h.example"}, {"ca_pem", ca}}}};
  };
  FieldErrors errors;
  auto ok = channel_from_json(hook(pem), errors);
  ASSERT_TRUE(ok.ok()) << (errors.empty() ? "" : errors[0].detail);
  EXPECT_EQ(ok->config["ca_pem"], pem);
  EXPECT_EQ(channel_to_json(*ok)["config"]["ca_pem"], pem);  // not a secret
  for (const json& bad : {json("no certificate here"), json(42), json(std::string(70 * 1024, 'A')),
                          json(pem + std::string(1, '\x01')), json(pem + "\xc3\xa9")}) {
    errors.clear();
    EXPECT_FALSE(channel_from_json(hook(bad), errors).ok()) << bad.dump().substr(0, 40);
    EXPECT_TRUE(has_error(errors, "/config/ca_pem"));
  }
  errors.clear();
  EXPECT_TRUE(channel_from_json({{"name", "m"},
                                 {"type", "email"},
                                 {"config", {{"smtp_url", "smtp://mail.example"},
                                             {"from", "a@b.example"},
                                             {"to", "c@d.example"},
                                             {"ca_pem", pem}}}},
                                errors)
                  .ok());
  errors.clear();
  EXPECT_FALSE(channel_from_json({{"name", "q"},
                                  {"type", "mqtt"},
                                  {"config", {{"url", "mqtt://b.example"}, {"topic", "a"}, {"ca_pem", pem}}}},
                                 errors)
                   .ok());
  EXPECT_TRUE(has_error(errors, "/config/ca_pem"));
}

TEST(ChannelsTest, EmailAndMqttNormalize) {
  FieldErrors errors;
  auto mail = channel_from_json({{"name", "m"},
                                 {"type", "email"},
                                 {"config",
                                  {{"smtp_url", "smtp://mail.example:2525"},
                                   {"from", "argus@example.com"},
                                   {"to", "ops@example.com"},
                                   {"password", "pw"}}}},
                                errors);
  ASSERT_TRUE(mail.ok());
  EXPECT_EQ(mail->config["to"], json::array({"ops@example.com"}));
  EXPECT_EQ(mail->config["starttls"], true);
  EXPECT_EQ(channel_to_json(*mail)["config"]["password_set"], true);
  EXPECT_FALSE(channel_to_json(*mail)["config"].contains("password"));
  auto q = channel_from_json(
      {{"name", "q"}, {"type", "mqtt"}, {"config", {{"url", "mqtt://b.example"}, {"topic", "argus/alerts"}}}}, errors);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->config["qos"], 1);
  EXPECT_EQ(q->config["retain"], false);
  EXPECT_EQ(channel_to_json(*q)["config"]["password_set"], false);
}

TEST(ChannelsTest, PatchKeepsAbsentSecretsAndClearsNullOnes) {
  FieldErrors errors;
  auto ch = channel_from_json(
      {{"name", "x"}, {"type", "webhook"}, {"config", {{"url", "http://a.example"}, {"secret", "old"}}}}, errors);
  ASSERT_TRUE(ch.ok());
  Channel c = *ch;
  // What a client GETs and sends back does not wipe the secret.
  json round_trip = channel_to_json(c);
  round_trip["name"] = "renamed";
  ASSERT_TRUE(apply_channel_patch(c, round_trip, errors)) << errors.at(0).pointer;
  EXPECT_EQ(c.name, "renamed");
  EXPECT_EQ(c.config["secret"], "old");
  ASSERT_TRUE(apply_channel_patch(c, {{"config", {{"secret", nullptr}}}}, errors));
  EXPECT_FALSE(c.config.contains("secret"));
  // Invalid patches leave the channel as it was.
  Channel before = c;
  EXPECT_FALSE(apply_channel_patch(c, {{"type", "email"}}, errors));
  EXPECT_FALSE(apply_channel_patch(c, {{"config", {{"url", "gopher://x"}}}}, errors));
  EXPECT_EQ(c.config, before.config);
}

TEST(ChannelsTest, RecordRoundTrip) {
  FieldErrors errors;
  auto ch = channel_from_json({{"id", "a"},
                               {"name", "x"},
                               {"type", "mqtt"},
                               {"enabled", false},
                               {"config", {{"url", "mqtt://b.example"}, {"topic", "t"}}}},
                              errors);
  ASSERT_TRUE(ch.ok());
  auto back = channel_from_record(channel_to_record(*ch));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type, ChannelType::kMqtt);
  EXPECT_FALSE(back->enabled);
  EXPECT_EQ(back->config, ch->config);
  NotificationChannelRecord bad = channel_to_record(*ch);
  bad.type = "pager";
  EXPECT_EQ(channel_from_record(bad).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace argus::alerts
