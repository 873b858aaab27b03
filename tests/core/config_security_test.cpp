// The tls.* and security.* configuration keys.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config.h"
#include "testing/testing.h"

namespace argus {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class ConfigSecurityTest : public ::testing::Test {
 protected:
  ConfigSources file_sources(const std::string& yaml) {
    const std::string path = dir_.file("config.yaml");
    testing::write_file(path, yaml);
    ConfigSources s;
    s.file = path;
    return s;
  }

  Config load_ok(const ConfigSources& s) {
    Result<Config> r = load_config(s);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(r).value() : Config{};
  }

  std::string load_error(const ConfigSources& s) {
    Result<Config> r = load_config(s);
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.status().message();
  }

  testing::TempDir dir_;
};

TEST_F(ConfigSecurityTest, Defaults) {
  ConfigSources s;
  s.flags["data_dir"] = dir_.file("data");
  Config c = load_ok(s);
  EXPECT_EQ(c.tls.mode, TlsMode::kDisabled);
  EXPECT_EQ(c.tls.cert_file, dir_.file("data") + "/tls/cert.pem");
  EXPECT_EQ(c.tls.key_file, dir_.file("data") + "/tls/key.pem");
  ASSERT_FALSE(c.tls.hostnames.empty());
  EXPECT_EQ(c.tls.hostnames.front(), "localhost");
  EXPECT_THAT(c.tls.ips, ElementsAre("127.0.0.1", "::1"));
  EXPECT_EQ(c.tls.min_version, 12);
  EXPECT_EQ(c.security.camera_urls, UrlScope::kPrivate);
  EXPECT_EQ(c.security.webhook_urls, UrlScope::kPublic);
  EXPECT_EQ(c.security.detector_urls, UrlScope::kPrivate);
  EXPECT_TRUE(c.security.url_allow.empty());
  EXPECT_TRUE(c.security.url_deny.empty());
}

TEST_F(ConfigSecurityTest, FromEnvironment) {
  ConfigSources s;
  s.env = {
      {"ARGUS_TLS_MODE", "provided"},
      {"ARGUS_TLS_CERT_FILE", "/etc/argus/chain.pem"},
      {"ARGUS_TLS_KEY_FILE", "/etc/argus/key.pem"},
      {"ARGUS_TLS_HOSTNAMES", "argus.example, *.cams.example"},
      {"ARGUS_TLS_IPS", "10.0.0.2,fd00::2"},
      {"ARGUS_TLS_MIN_VERSION", "1.3"},
      {"ARGUS_SECURITY_CAMERA_URLS", "public"},
      {"ARGUS_SECURITY_WEBHOOK_URLS", "private"},
      {"ARGUS_SECURITY_DETECTOR_URLS", "public"},
      {"ARGUS_SECURITY_URL_ALLOW", "192.168.1.0/24, cam1.lan, *.site.lan"},
      {"ARGUS_SECURITY_URL_DENY", "192.168.1.1"},
  };
  Config c = load_ok(s);
  EXPECT_EQ(c.tls.mode, TlsMode::kProvided);
  EXPECT_EQ(c.tls.cert_file, "/etc/argus/chain.pem");
  EXPECT_EQ(c.tls.key_file, "/etc/argus/key.pem");
  EXPECT_THAT(c.tls.hostnames, ElementsAre("argus.example", "*.cams.example"));
  EXPECT_THAT(c.tls.ips, ElementsAre("10.0.0.2", "fd00::2"));
  EXPECT_EQ(c.tls.min_version, 13);
  EXPECT_EQ(c.security.camera_urls, UrlScope::kPublic);
  EXPECT_EQ(c.security.webhook_urls, UrlScope::kPrivate);
  EXPECT_EQ(c.security.detector_urls, UrlScope::kPublic);
  EXPECT_THAT(c.security.url_allow, ElementsAre("192.168.1.0/24", "cam1.lan", "*.site.lan"));
  EXPECT_THAT(c.security.url_deny, ElementsAre("192.168.1.1"));
}

TEST_F(ConfigSecurityTest, YamlListsAndScalars) {
  Config c = load_ok(file_sources(R"(
tls:
  mode: self_signed
  hostnames: [argus.lan, nvr.lan]
  ips:
    - 192.168.1.2
  min_version: 1.2
security:
  url_allow: [10.0.0.0/8]
  url_deny: "8.8.8.8, *.bad.example"
)"));
  EXPECT_EQ(c.tls.mode, TlsMode::kSelfSigned);
  EXPECT_THAT(c.tls.hostnames, ElementsAre("argus.lan", "nvr.lan"));
  EXPECT_THAT(c.tls.ips, ElementsAre("192.168.1.2"));
  EXPECT_THAT(c.security.url_allow, ElementsAre("10.0.0.0/8"));
  EXPECT_THAT(c.security.url_deny, ElementsAre("8.8.8.8", "*.bad.example"));
  // An empty list: no SAN addresses, no extra rules; empty host names mean the default.
  c = load_ok(file_sources("tls:\n  hostnames: []\n  ips: []\nsecurity:\n  url_allow:\n"));
  EXPECT_TRUE(c.tls.ips.empty());
  EXPECT_THAT(c.tls.hostnames, Contains("localhost"));
  EXPECT_TRUE(c.security.url_allow.empty());
}

TEST_F(ConfigSecurityTest, Errors) {
  std::string e = load_error(file_sources(R"(
tls:
  mode: on
  hostnames: [good.example, "bad name"]
  ips: [10.0.0.1, "fe80::1%eth0", 0x7f.1]
  min_version: 1.1
security:
  camera_urls: lan
  url_allow: [10.0.0.0/33]
  url_deny: [{a: 1}]
)"));
  EXPECT_THAT(e, HasSubstr("tls.mode = \"on\""));
  EXPECT_THAT(e, HasSubstr("must be disabled, self_signed or provided"));
  EXPECT_THAT(e, HasSubstr("\"bad name\" is not a host name; must be a list of host names"));
  EXPECT_THAT(e, HasSubstr("\"fe80::1%eth0\" is not an IPv4 or IPv6 address"));
  EXPECT_THAT(e, HasSubstr("tls.min_version = \"1.1\""));
  EXPECT_THAT(e, HasSubstr("must be 1.2 or 1.3"));
  EXPECT_THAT(e, HasSubstr("security.camera_urls = \"lan\""));
  EXPECT_THAT(e, HasSubstr("must be private"));
  EXPECT_THAT(e, HasSubstr("\"10.0.0.0/33\" is not a CIDR, an address, a host name or *.domain"));
  EXPECT_THAT(e, HasSubstr("security.url_deny (file "));
  EXPECT_THAT(e, HasSubstr("must be a list of single values"));

  ConfigSources s;
  s.env["ARGUS_TLS_MODE"] = "provided";
  e = load_error(s);
  EXPECT_THAT(e, HasSubstr("tls.cert_file: required when tls.mode is provided"));
  EXPECT_THAT(e, HasSubstr("tls.key_file: required when tls.mode is provided"));
  s.flags["tls.cert_file"] = "/x/cert.pem";
  e = load_error(s);
  EXPECT_THAT(e, Not(HasSubstr("tls.cert_file: required")));
  EXPECT_THAT(e, HasSubstr("tls.key_file: required"));
}

TEST_F(ConfigSecurityTest, PrintConfigReloadsToTheSameSettings) {
  Config first = load_ok(file_sources(R"(
data_dir: state
tls:
  mode: self_signed
  hostnames: [argus.lan]
  ips: ["::1", 10.0.0.2]
  min_version: "1.3"
security:
  camera_urls: public
  webhook_urls: private
  url_allow: ["fd00::/8", cam.lan]
  url_deny: ["*.example"]
)"));
  const std::string yaml = config_to_yaml(first);
  EXPECT_THAT(yaml, HasSubstr("tls:"));
  EXPECT_THAT(yaml, HasSubstr("mode: self_signed"));
  EXPECT_THAT(yaml, HasSubstr("security:"));
  testing::write_file(dir_.file("effective.yaml"), yaml);
  ConfigSources again;
  again.file = dir_.file("effective.yaml");
  Config second = load_ok(again);
  EXPECT_EQ(second.tls.mode, first.tls.mode);
  EXPECT_EQ(second.tls.cert_file, first.tls.cert_file);
  EXPECT_EQ(second.tls.key_file, first.tls.key_file);
  EXPECT_EQ(second.tls.hostnames, first.tls.hostnames);
  EXPECT_EQ(second.tls.ips, first.tls.ips);
  EXPECT_EQ(second.tls.min_version, 13);
  EXPECT_EQ(second.security.camera_urls, UrlScope::kPublic);
  EXPECT_EQ(second.security.webhook_urls, UrlScope::kPrivate);
  EXPECT_EQ(second.security.detector_urls, UrlScope::kPrivate);
  EXPECT_EQ(second.security.url_allow, first.security.url_allow);
  EXPECT_EQ(second.security.url_deny, first.security.url_deny);
  EXPECT_EQ(config_to_yaml(second), yaml);
}

TEST_F(ConfigSecurityTest, ReferenceDocumentsTheKeys) {
  const std::string ref = config_reference();
  for (const char* key : {"tls.mode", "tls.cert_file", "tls.key_file", "tls.hostnames", "tls.ips", "tls.min_version",
                          "security.camera_urls", "security.webhook_urls", "security.detector_urls",
                          "security.url_allow", "security.url_deny"}) {
    EXPECT_THAT(ref, HasSubstr(std::string("  ") + key + "\n")) << key;
  }
  EXPECT_THAT(ref, HasSubstr("env ARGUS_TLS_MODE; disabled|self_signed|provided"));
  EXPECT_THAT(ref, HasSubstr("reloaded on SIGHUP"));
  EXPECT_THAT(ref, HasSubstr("169.254.169.254"));
}

}  // namespace
}  // namespace argus
