#include "core/url_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace argus {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

IpAddress ip(const std::string& text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

// A resolver from a fixed table, counting its calls; unknown names do not resolve.
struct FakeDns {
  std::map<std::string, std::vector<std::string>> table;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);

  HostResolver resolver() const {
    return [table = table, calls = calls](const std::string& host) -> Result<std::vector<IpAddress>> {
      ++*calls;
      auto it = table.find(host);
      if (it == table.end())
        return Status::unavailable("cannot resolve host \"" + host + "\": Name or service not known");
      std::vector<IpAddress> out;
      for (const auto& t : it->second) out.push_back(*IpAddress::parse(t));
      return out;
    };
  }
};

UrlGuard make_guard(UrlGuardPolicy policy, const FakeDns& dns = {}) {
  auto g = UrlGuard::create(std::move(policy), dns.resolver());
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  return std::move(g).value();
}

UrlGuardPolicy public_policy() {
  UrlGuardPolicy p;
  p.policy_key = "security.webhook_urls";
  return p;
}

UrlGuardPolicy private_policy() {
  UrlGuardPolicy p;
  p.allow_private = p.allow_loopback = true;
  p.policy_key = "security.camera_urls";
  return p;
}

std::string refusal(const UrlGuard& g, const std::string& url) {
  auto r = g.vet(url);
  EXPECT_FALSE(r.ok()) << url << " was allowed";
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().to_string();
  return r.status().message();
}

// ---------------------------------------------------------------------------------------
// Addresses and their classes

TEST(IpAddressTest, StrictParsing) {
  EXPECT_EQ(ip("10.0.0.1").to_string(), "10.0.0.1");
  EXPECT_FALSE(ip("10.0.0.1").v6);
  EXPECT_EQ(ip("::1").to_string(), "::1");
  EXPECT_EQ(ip("2001:DB8::1").to_string(), "2001:db8::1");
  EXPECT_EQ(ip("::ffff:127.0.0.1").to_string(), "::ffff:127.0.0.1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "0x7f.0.0.1", "2130706433", "1.2.3.4 ",
                          "fe80::1%eth0", "1.2.3.-4", "a.b.c.d", ":::1", "[::1]"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
  }
}

TEST(IpAddressTest, FromSockaddr) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  ::inet_pton(AF_INET, "192.168.7.9", &in.sin_addr);
  auto a = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&in));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "192.168.7.9");
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  ::inet_pton(AF_INET6, "fe80::2", &in6.sin6_addr);
  a = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&in6));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "fe80::2");
  EXPECT_FALSE(IpAddress::from_sockaddr(nullptr));
}

struct ClassCase {
  const char* address;
  AddressClass cls;
};

const std::vector<ClassCase> kClasses = {
    // IPv4
    {"0.0.0.0", AddressClass::kThisHost},
    {"0.255.1.2", AddressClass::kThisHost},
    {"10.0.0.1", AddressClass::kPrivate},
    {"10.255.255.255", AddressClass::kPrivate},
    {"100.64.0.1", AddressClass::kPrivate},
    {"100.127.255.254", AddressClass::kPrivate},
    {"127.0.0.1", AddressClass::kLoopback},
    {"127.255.0.9", AddressClass::kLoopback},
    {"169.254.0.1", AddressClass::kLinkLocal},
    {"169.254.169.254", AddressClass::kMetadata},
    {"172.16.0.1", AddressClass::kPrivate},
    {"172.31.255.255", AddressClass::kPrivate},
    {"192.168.1.10", AddressClass::kPrivate},
    {"192.0.0.8", AddressClass::kReserved},
    {"192.0.2.1", AddressClass::kReserved},
    {"198.18.0.1", AddressClass::kReserved},
    {"198.19.255.255", AddressClass::kReserved},
    {"224.0.0.1", AddressClass::kMulticast},
    {"239.255.255.250", AddressClass::kMulticast},
    {"240.0.0.1", AddressClass::kReserved},
    {"255.255.255.255", AddressClass::kReserved},
    // Just outside the ranges: public.
    {"1.1.1.1", AddressClass::kPublic},
    {"8.8.8.8", AddressClass::kPublic},
    {"9.255.255.255", AddressClass::kPublic},
    {"11.0.0.0", AddressClass::kPublic},
    {"100.63.255.255", AddressClass::kPublic},
    {"100.128.0.0", AddressClass::kPublic},
    {"126.255.255.255", AddressClass::kPublic},
    {"128.0.0.0", AddressClass::kPublic},
    {"169.253.255.255", AddressClass::kPublic},
    {"172.15.255.255", AddressClass::kPublic},
    {"172.32.0.0", AddressClass::kPublic},
    {"192.167.255.255", AddressClass::kPublic},
    {"192.169.0.0", AddressClass::kPublic},
    {"198.17.255.255", AddressClass::kPublic},
    {"198.20.0.0", AddressClass::kPublic},
    {"223.255.255.255", AddressClass::kPublic},
    // IPv6
    {"::", AddressClass::kThisHost},
    {"::1", AddressClass::kLoopback},
    {"fc00::1", AddressClass::kPrivate},
    {"fd12:3456::1", AddressClass::kPrivate},
    {"fe80::1", AddressClass::kLinkLocal},
    {"febf::1", AddressClass::kLinkLocal},
    {"ff02::1", AddressClass::kMulticast},
    {"ff0e::1", AddressClass::kMulticast},
    {"fd00:ec2::254", AddressClass::kMetadata},
    {"2001:db8::1", AddressClass::kReserved},
    {"::2", AddressClass::kReserved},  // outside global unicast
    {"2606:4700:4700::1111", AddressClass::kPublic},
    {"2a00:1450:4001::1", AddressClass::kPublic},
    // IPv6 forms that embed an IPv4 address are judged by it.
    {"::ffff:127.0.0.1", AddressClass::kLoopback},
    {"::ffff:7f00:1", AddressClass::kLoopback},
    {"::ffff:10.1.2.3", AddressClass::kPrivate},
    {"::ffff:169.254.169.254", AddressClass::kMetadata},
    {"::ffff:8.8.8.8", AddressClass::kPublic},
    {"64:ff9b::a9fe:a9fe", AddressClass::kMetadata},  // NAT64 of 169.254.169.254
    {"64:ff9b::7f00:1", AddressClass::kLoopback},
    {"64:ff9b::c0a8:101", AddressClass::kPrivate},
    {"64:ff9b::808:808", AddressClass::kPublic},
    {"2002:0a00:0001::1", AddressClass::kPrivate},  // 6to4 of 10.0.0.1
    {"2002:0808:0808::1", AddressClass::kPublic},
};

TEST(ClassifyAddressTest, EveryRange) {
  for (const auto& c : kClasses) {
    EXPECT_EQ(classify_address(ip(c.address)), c.cls)
        << c.address << " is " << address_class_description(classify_address(ip(c.address)));
  }
}

TEST(UrlGuardTest, PublicPolicyRefusesEveryNonPublicRange) {
  UrlGuard g = make_guard(public_policy());
  for (const auto& c : kClasses) {
    std::string host = ip(c.address).v6 ? "[" + std::string(c.address) + "]" : std::string(c.address);
    auto r = g.vet("http://" + host + "/x");
    if (c.cls == AddressClass::kPublic) {
      EXPECT_TRUE(r.ok()) << c.address << ": " << r.status().to_string();
    } else {
      ASSERT_FALSE(r.ok()) << c.address;
      EXPECT_THAT(r.status().message(), HasSubstr(std::string(address_class_description(c.cls)))) << c.address;
    }
  }
}

TEST(UrlGuardTest, PrivatePolicyAllowsLanAndLoopbackButNotMetadataMulticastOrReserved) {
  UrlGuard g = make_guard(private_policy());
  for (const auto& c : kClasses) {
    std::string host = ip(c.address).v6 ? "[" + std::string(c.address) + "]" : std::string(c.address);
    auto r = g.vet("http://" + host + "/x");
    const bool allowed = c.cls == AddressClass::kPublic || c.cls == AddressClass::kPrivate ||
                         c.cls == AddressClass::kLinkLocal || c.cls == AddressClass::kLoopback ||
                         c.cls == AddressClass::kThisHost;
    EXPECT_EQ(r.ok(), allowed) << c.address << ": " << r.status().to_string();
  }
}

TEST(UrlGuardTest, MessageNamesUrlAddressReasonAndHowToAllow) {
  UrlGuard g = make_guard(public_policy());
  EXPECT_EQ(refusal(g, "http://10.0.0.5/x"),
            "http://10.0.0.5/x points to 10.0.0.5, a private address; allow it with security.webhook_urls: private or "
            "security.url_allow");
  FakeDns dns;
  dns.table["cam.example"] = {"192.168.1.20"};
  UrlGuard named = make_guard(public_policy(), dns);
  EXPECT_EQ(refusal(named, "https://cam.example:8443/snap.jpg?x=1"),
            "https://cam.example:8443/snap.jpg?x=1 resolves to 192.168.1.20, a private address; allow it with "
            "security.webhook_urls: private or security.url_allow");
  EXPECT_THAT(refusal(g, "http://169.254.169.254/latest/meta-data/"),
              HasSubstr("a cloud metadata address; refused unless security.url_allow lists exactly 169.254.169.254"));
  EXPECT_THAT(refusal(g, "http://224.0.0.1/"), HasSubstr("a multicast address; allow it with security.url_allow"));
}

// ---------------------------------------------------------------------------------------
// URL syntax

TEST(ParseGuardedUrlTest, SplitsSchemeHostPort) {
  const std::vector<std::string> schemes = {"http", "https", "rtsp", "rtsps"};
  auto u = parse_guarded_url("HTTP://Cam.Example./a/b?c#d", schemes, false);
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "cam.example");
  EXPECT_FALSE(u->host_is_address);
  EXPECT_EQ(u->port, 80);
  u = parse_guarded_url("https://[2001:DB8::1]:8443/", schemes, false);
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_TRUE(u->host_is_address);
  EXPECT_EQ(u->port, 8443);
  u = parse_guarded_url("rtsp://admin:secret@192.168.1.5/stream1", schemes, true);
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->host, "192.168.1.5");
  EXPECT_EQ(u->port, 554);
  EXPECT_EQ(u->display, "rtsp://192.168.1.5/stream1") << "credentials never shown";
  u = parse_guarded_url("rtsps://cam:/x", schemes, false);
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->port, 322) << "an empty port means the default";
  u = parse_guarded_url("http://169.254.169.254.:80/", schemes, false);
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->host, "169.254.169.254") << "a trailing dot is dropped, also after an address";
  EXPECT_TRUE(u->host_is_address);
}

TEST(ParseGuardedUrlTest, RefusesTricksAndMalformedUrls) {
  const std::vector<std::string> schemes = {"http", "https"};
  auto error = [&](const std::string& url, bool credentials = false) {
    auto u = parse_guarded_url(url, schemes, credentials);
    EXPECT_FALSE(u.ok()) << url << " was accepted as host " << (u.ok() ? u->host : "");
    return u.ok() ? std::string() : u.status().message();
  };
  EXPECT_THAT(error("ftp://example.com/"),
              HasSubstr("scheme \"ftp\", which is not allowed here (allowed: http, https)"));
  EXPECT_THAT(error("file:///etc/passwd"), HasSubstr("not allowed here"));
  EXPECT_THAT(error("gopher://127.0.0.1:6379/_INFO"), HasSubstr("not allowed"));
  EXPECT_THAT(error("example.com/x"), HasSubstr("not an absolute URL"));
  EXPECT_THAT(error("http:/example.com"), HasSubstr("not an absolute URL"));
  EXPECT_THAT(error("http:///x"), HasSubstr("has no host"));
  EXPECT_THAT(error("http://:80/x"), HasSubstr("has no host"));
  // userinfo: the host is what follows '@', and credentials are refused unless allowed.
  EXPECT_THAT(error("http://good.example@evil.example/"), HasSubstr("contains a user name or password"));
  EXPECT_THAT(error("http://a@b@evil.example/", true), HasSubstr("more than one '@'"));
  EXPECT_THAT(error("http://@evil.example/", true), HasSubstr("empty user name"));
  EXPECT_THAT(error("http://evil.example\\@good.example/"), HasSubstr("backslash"));
  EXPECT_THAT(error("http://user:pw@10.0.0.1/"), Not(HasSubstr("pw"))) << "no credentials in messages";
  // Encodings of 127.0.0.1 that resolvers and browsers accept.
  EXPECT_THAT(error("http://2130706433/"), HasSubstr("non-standard form; write it as 127.0.0.1"));
  EXPECT_THAT(error("http://0x7f.1/"), HasSubstr("write it as 127.0.0.1"));
  EXPECT_THAT(error("http://0x7f000001/"), HasSubstr("write it as 127.0.0.1"));
  EXPECT_THAT(error("http://0177.0.0.1/"), HasSubstr("write it as 127.0.0.1"));
  EXPECT_THAT(error("http://127.1/"), HasSubstr("write it as 127.0.0.1"));
  EXPECT_THAT(error("http://127.0.1/"), HasSubstr("write it as 127.0.0.1"));
  EXPECT_THAT(error("http://0/"), HasSubstr("write it as 0.0.0.0"));
  EXPECT_THAT(error("http://010.0.0.1/"), HasSubstr("write it as 8.0.0.1"));
  EXPECT_THAT(error("http://1.2.3.4.5/"), HasSubstr("neither a valid name nor a valid IPv4 address"));
  EXPECT_THAT(error("http://256.0.0.1/"), HasSubstr("neither a valid name"));
  EXPECT_THAT(error("http://example.123/"), HasSubstr("neither a valid name"));
  // IPv6
  EXPECT_THAT(error("http://[fe80::1%25eth0]/"), HasSubstr("zone id"));
  EXPECT_THAT(error("http://[fe80::1%eth0]/"), HasSubstr("zone id"));
  EXPECT_THAT(error("http://[::1/"), HasSubstr("unclosed"));
  EXPECT_THAT(error("http://[127.0.0.1]/"), HasSubstr("invalid IPv6"));
  EXPECT_THAT(error("http://::1/"), HasSubstr("not in brackets"));
  EXPECT_THAT(error("http://[::1]x/"), HasSubstr("after the IPv6 address"));
  // Host names and ports
  EXPECT_THAT(error("http://exa%6dple.com/"), HasSubstr("percent-encoded"));
  EXPECT_THAT(error("http://ex ample.com/"), HasSubstr("whitespace"));
  EXPECT_THAT(error("http://example.com\r\nHost: x/"), HasSubstr("control"));
  EXPECT_THAT(error("http://bücher.example/"), HasSubstr("non-ASCII"));
  EXPECT_THAT(error("http://a..b/"), HasSubstr("invalid host name"));
  EXPECT_THAT(error("http://example.com:0/"), HasSubstr("invalid port"));
  EXPECT_THAT(error("http://example.com:65536/"), HasSubstr("invalid port"));
  EXPECT_THAT(error("http://example.com:8o/"), HasSubstr("invalid port"));
}

TEST(UrlGuardTest, NonStandardIpv4FormsAreRefusedEvenUnderThePrivatePolicy) {
  UrlGuard g = make_guard(private_policy());
  EXPECT_THAT(refusal(g, "http://2130706433/"), HasSubstr("write it as 127.0.0.1"));
  EXPECT_TRUE(g.vet("http://127.0.0.1/").ok());
}

// ---------------------------------------------------------------------------------------
// Resolution, allow and deny lists

TEST(UrlGuardTest, EveryResolvedAddressIsChecked) {
  FakeDns dns;
  dns.table["rebind.example"] = {"93.184.216.34", "10.0.0.7"};
  dns.table["public.example"] = {"93.184.216.34", "2606:2800:220:1::1"};
  UrlGuard g = make_guard(public_policy(), dns);
  EXPECT_THAT(refusal(g, "http://rebind.example/"), HasSubstr("resolves to 10.0.0.7, a private address"));
  auto ok = g.vet("https://public.example/hook");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  ASSERT_EQ(ok->addresses.size(), 2u);
  EXPECT_EQ(ok->curl_resolve_entry(), "public.example:443:93.184.216.34,[2606:2800:220:1::1]");
}

TEST(UrlGuardTest, CurlResolveEntryPinsTheVettedAddresses) {
  FakeDns dns;
  dns.table["cam1.lan"] = {"192.168.1.5"};
  UrlGuardPolicy p = private_policy();
  p.schemes = {"rtsp"};
  p.allow_credentials = true;
  UrlGuard g = make_guard(p, dns);
  auto v = g.vet("rtsp://admin:pw@CAM1.lan/live");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->curl_resolve_entry(), "cam1.lan:554:192.168.1.5");
  v = g.vet("rtsp://192.168.1.5:8554/live");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->curl_resolve_entry(), "") << "an address literal needs no pinning";
  ASSERT_EQ(v->addresses.size(), 1u);
  EXPECT_EQ(v->addresses[0].to_string(), "192.168.1.5");
}

TEST(UrlGuardTest, UnresolvableHostIsUnavailable) {
  FakeDns dns;
  UrlGuard g = make_guard(public_policy(), dns);
  auto r = g.vet("http://nowhere.example/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("http://nowhere.example/x: cannot resolve host \"nowhere.example\""));

  auto real = UrlGuard::create(public_policy());
  ASSERT_TRUE(real.ok());
  r = real->vet("http://argus-test.invalid/");  // .invalid never resolves (RFC 6761)
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().to_string();
  EXPECT_THAT(r.status().message(), HasSubstr("argus-test.invalid"));
}

TEST(UrlGuardTest, LocalhostResolvesAndIsBlockedUnderThePublicPolicy) {
  auto g = UrlGuard::create(public_policy());  // the system resolver
  ASSERT_TRUE(g.ok());
  for (const char* url : {"http://localhost:8080/", "http://LOCALHOST./", "https://localhost/hook"}) {
    auto r = g->vet(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("resolves to "));
    EXPECT_THAT(r.status().message(), HasSubstr("a loopback address")) << r.status().message();
  }
  auto p = UrlGuard::create(private_policy());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->vet("http://localhost:8080/").ok()) << "cameras and detectors may be on this machine";
}

TEST(UrlGuardTest, AllowListByCidrHostAndDomain) {
  FakeDns dns;
  dns.table["cam1.lan"] = {"192.168.1.5"};
  dns.table["cam2.site.lan"] = {"192.168.2.5"};
  dns.table["other.example"] = {"192.168.3.5"};
  UrlGuardPolicy p = public_policy();
  p.allow = {"10.1.0.0/16", "cam1.lan", "*.site.lan", "fd00:1::/32", "127.0.0.1"};
  UrlGuard g = make_guard(p, dns);
  EXPECT_TRUE(g.vet("http://10.1.2.3/").ok());
  EXPECT_THAT(refusal(g, "http://10.2.0.1/"), HasSubstr("a private address"));
  EXPECT_TRUE(g.vet("http://cam1.lan/").ok());
  EXPECT_TRUE(g.vet("http://cam2.site.lan/").ok());
  EXPECT_THAT(refusal(g, "http://other.example/"), HasSubstr("192.168.3.5"));
  EXPECT_TRUE(g.vet("http://[fd00:1:2::3]/").ok());
  EXPECT_FALSE(g.vet("http://[fd00:2::3]/").ok());
  EXPECT_TRUE(g.vet("http://127.0.0.1:9000/").ok());
  EXPECT_FALSE(g.vet("http://127.0.0.2:9000/").ok());
  EXPECT_TRUE(g.vet("http://[::ffff:10.1.0.9]/").ok()) << "an IPv4 rule covers the IPv4-mapped form";
}

TEST(UrlGuardTest, MetadataNeedsAnExactAllowEntry) {
  UrlGuardPolicy p = private_policy();
  p.allow = {"169.254.0.0/16", "0.0.0.0/0"};
  UrlGuard broad = make_guard(p);
  EXPECT_THAT(refusal(broad, "http://169.254.169.254/"), HasSubstr("cloud metadata"));
  EXPECT_THAT(refusal(broad, "http://[::ffff:169.254.169.254]/"), HasSubstr("cloud metadata"));
  EXPECT_TRUE(broad.vet("http://169.254.10.1/").ok());
  p.allow = {"169.254.169.254/32"};
  UrlGuard exact = make_guard(p);
  EXPECT_TRUE(exact.vet("http://169.254.169.254/latest").ok());
  p.allow = {"169.254.169.254"};
  EXPECT_TRUE(make_guard(p).vet("http://169.254.169.254/latest").ok());
}

TEST(UrlGuardTest, DenyListWinsAndNamesAreDeniedBeforeResolving) {
  FakeDns dns;
  dns.table["tracker.example"] = {"93.184.216.34"};
  dns.table["cam1.lan"] = {"192.168.1.5"};
  UrlGuardPolicy p = private_policy();
  p.allow = {"192.168.1.0/24"};
  p.deny = {"192.168.1.5", "*.example", "8.8.8.0/24"};
  UrlGuard g = make_guard(p, dns);
  EXPECT_THAT(refusal(g, "http://cam1.lan/"),
              HasSubstr("resolves to 192.168.1.5, which security.url_deny refuses (192.168.1.5)"));
  EXPECT_THAT(refusal(g, "http://8.8.8.8/"), HasSubstr("security.url_deny refuses (8.8.8.0/24)"));
  int before = *dns.calls;
  EXPECT_THAT(refusal(g, "https://tracker.example/"),
              HasSubstr("host tracker.example is refused by security.url_deny (*.example)"));
  EXPECT_EQ(*dns.calls, before) << "a denied name is not looked up";
  EXPECT_TRUE(g.vet("http://192.168.1.6/").ok());
}

TEST(UrlGuardTest, CheckResolvedAppliesTheSameRules) {
  UrlGuardPolicy p = public_policy();
  p.allow = {"cam1.lan"};
  UrlGuard g = make_guard(p);
  EXPECT_TRUE(g.check_resolved("example.com", ip("93.184.216.34")).ok());
  Status s = g.check_resolved("example.com", ip("127.0.0.1"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("host example.com resolves to 127.0.0.1, a loopback address"));
  EXPECT_TRUE(g.check_resolved("CAM1.lan.", ip("192.168.1.5")).ok()) << "host rules apply, case-insensitively";
  EXPECT_FALSE(g.check_resolved("[::1]", ip("::1")).ok());
  EXPECT_FALSE(g.check_resolved("", ip("::ffff:10.0.0.1")).ok());
}

TEST(UrlGuardTest, BadRulesAreRefusedAtCreation) {
  for (const char* bad :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "not a host", "*.", "1.2.3", "cam.lan/24", "", "http://x/"}) {
    UrlGuardPolicy p;
    p.allow = {bad};
    auto g = UrlGuard::create(p);
    ASSERT_FALSE(g.ok()) << bad;
    EXPECT_THAT(g.status().message(), HasSubstr("security.url_allow")) << bad;
    EXPECT_THAT(g.status().message(), HasSubstr("is not a CIDR")) << bad;
  }
  auto r = UrlRule::parse("10.0.0.5/8");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->matches_address(ip("10.200.1.1"))) << "host bits are ignored";
  EXPECT_FALSE(r->is_single_address());
  r = UrlRule::parse("[::1]");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_single_address());
  EXPECT_TRUE(r->matches_address(ip("::1")));
  EXPECT_FALSE(r->matches_address(ip("127.0.0.1"))) << "families do not mix";
  r = UrlRule::parse("*.Lan");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->matches_host("a.b.lan"));
  EXPECT_FALSE(r->matches_host("lan"));
  EXPECT_FALSE(r->matches_host("alan"));
}

TEST(UrlGuardTest, PoliciesFromTheConfiguration) {
  SecurityConfig sec;  // defaults: cameras and detectors private, webhooks public
  auto cameras = UrlGuard::for_use(sec, UrlUse::kCamera);
  auto webhooks = UrlGuard::for_use(sec, UrlUse::kWebhook);
  auto detectors = UrlGuard::for_use(sec, UrlUse::kDetector);
  ASSERT_TRUE(cameras.ok() && webhooks.ok() && detectors.ok());
  EXPECT_TRUE(cameras->vet("rtsp://admin:pw@192.168.1.64:554/Streaming/Channels/101").ok());
  EXPECT_TRUE(cameras->vet("http://10.0.0.9/snapshot.jpg").ok());
  EXPECT_FALSE(cameras->vet("http://169.254.169.254/").ok());
  EXPECT_TRUE(detectors->vet("http://127.0.0.1:5000/v1/vision/detection").ok());
  EXPECT_FALSE(detectors->vet("rtsp://127.0.0.1/").ok()) << "detectors speak HTTP";
  EXPECT_THAT(webhooks->vet("http://192.168.1.10/hook").status().message(),
              HasSubstr("allow it with security.webhook_urls: private or security.url_allow"));
  EXPECT_FALSE(webhooks->vet("https://user:pw@hooks.example/").ok()) << "no credentials in webhook URLs";

  sec.camera_urls = UrlScope::kPublic;
  sec.url_allow = {"192.168.1.64"};
  sec.url_deny = {"10.0.0.0/8"};
  sec.webhook_urls = UrlScope::kPrivate;
  cameras = UrlGuard::for_use(sec, UrlUse::kCamera);
  webhooks = UrlGuard::for_use(sec, UrlUse::kWebhook);
  ASSERT_TRUE(cameras.ok() && webhooks.ok());
  EXPECT_TRUE(cameras->vet("rtsp://192.168.1.64/").ok());
  EXPECT_THAT(cameras->vet("rtsp://192.168.1.65/").status().message(),
              HasSubstr("allow it with security.camera_urls: private or security.url_allow"));
  EXPECT_TRUE(webhooks->vet("http://192.168.1.10/hook").ok());
  EXPECT_FALSE(webhooks->vet("http://10.0.0.1/hook").ok());
}

}  // namespace
}  // namespace argus
