// UrlGuard: refuses outbound URLs (cameras, snapshots, webhooks, remote detectors) whose
// host is, or resolves to, an address the server should not reach on a user's behalf:
// loopback, private, link-local, cloud metadata, multicast and reserved ranges (SSRF).
//
// How a caller uses it (e.g. a webhook notifier with libcurl):
//
//   ARGUS_ASSIGN_OR_RETURN(UrlGuard guard, UrlGuard::for_use(config.security, UrlUse::kWebhook));
//   ...
//   ARGUS_ASSIGN_OR_RETURN(VettedUrl vetted, guard.vet(url));   // parse + resolve + check all
//   curl_slist* pin = nullptr;
//   if (!vetted.curl_resolve_entry().empty())                   // connect to exactly the
//     pin = curl_slist_append(pin, vetted.curl_resolve_entry().c_str());  // vetted addresses
//   curl_easy_setopt(h, CURLOPT_RESOLVE, pin);                  // (defeats DNS rebinding)
//   curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);            // no blind redirects
//
// Redirects: either do not follow them, or take each Location, vet() it again and pin the
// new addresses before the next request. Callers that see the address actually connected
// to (CURLOPT_OPENSOCKETFUNCTION, a socket they open themselves) can check it with
// check_resolved() as a second line of defence.
//
// Rules, in order, for every address a host resolves to (all must pass):
//   1. an entry of the deny list matching the host name or the address refuses;
//   2. an entry of the allow list matching the host name or the address allows, except
//      that cloud metadata addresses (169.254.169.254, fd00:ec2::254) need an allow entry
//      naming exactly that address;
//   3. otherwise the address class decides: public addresses pass; loopback and
//      "this host" (0.0.0.0/8, ::) need allow_loopback; private, shared (100.64/10),
//      unique-local and link-local need allow_private; metadata, multicast and reserved
//      ranges are always refused.
// IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are
// judged by the IPv4 address they embed.
//
// Threading: a UrlGuard is immutable after create(); every method is const and may be
// called from any thread (resolution blocks in getaddrinfo).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

struct sockaddr;

namespace argus {

// An IPv4 or IPv6 address, in network byte order.
struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4

  // Strict text forms only: dotted-quad IPv4 ("10.0.0.1", no leading zeros) or RFC 4291
  // IPv6 without a zone id. nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text);
  // From an AF_INET or AF_INET6 socket address; nullopt for other families.
  static std::optional<IpAddress> from_sockaddr(const sockaddr* sa);
  std::string to_string() const;  // "10.0.0.1", "::1"
  bool operator==(const IpAddress&) const = default;
};

enum class AddressClass {
  kPublic,
  kLoopback,   // 127/8, ::1
  kThisHost,   // 0.0.0.0/8, :: (Linux connects these to the local host)
  kPrivate,    // 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7
  kLinkLocal,  // 169.254/16, fe80::/10
  kMetadata,   // 169.254.169.254, fd00:ec2::254 (cloud instance metadata)
  kMulticast,  // 224/4, ff00::/8
  kReserved,   // 192.0.0/24, 198.18/15, 240/4, 255.255.255.255, documentation, discard...
};

AddressClass classify_address(const IpAddress& address);
// "a private address", "a loopback address", ...
std::string_view address_class_description(AddressClass c);

// One allow or deny entry: a CIDR ("10.1.0.0/16", "fd00::/8"), one address ("10.0.0.7",
// same as /32 or /128), a host name ("cam1.lan") or every name under a domain ("*.lan").
class UrlRule {
 public:
  // InvalidArgument saying what is allowed if `text` is none of the above.
  static Result<UrlRule> parse(std::string_view text);

  bool matches_host(std::string_view host) const;  // host: lower-case, no trailing dot
  bool matches_address(const IpAddress& address) const;
  bool is_single_address() const;  // /32 or /128
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string name_;  // host name or domain suffix (".lan" for "*.lan"); "" for a network
  bool wildcard_ = false;
  IpAddress network_;
  int prefix_ = -1;  // -1 for a name rule
};

// A URL reduced to what the guard checks.
struct GuardedUrl {
  std::string scheme;  // lower-case
  std::string host;    // lower-case name without a trailing dot, or an address without brackets
  bool host_is_address = false;
  std::uint16_t port = 0;  // given or the scheme's default
  std::string display;     // the URL without user name and password, for messages and logs
};

// Splits and checks the syntax (not the destination). Refuses, with InvalidArgument:
// unknown or missing scheme, empty host, more than one '@', backslashes, whitespace and
// control characters, percent-encoded or non-ASCII host names, IPv6 zone ids, ports
// outside 1..65535, and IPv4 addresses in any form but dotted-quad decimal (2130706433,
// 0x7f.1, 0177.0.0.1: the message gives the dotted form). Credentials (user:pass@) are
// refused unless allow_credentials.
Result<GuardedUrl> parse_guarded_url(std::string_view url, const std::vector<std::string>& schemes,
                                     bool allow_credentials);

// The outcome of a successful check: where the URL may connect.
struct VettedUrl {
  GuardedUrl url;
  std::vector<IpAddress> addresses;  // every address the host resolved to; all vetted

  // "host:port:addr1,[v6addr]" for CURLOPT_RESOLVE, so libcurl connects to exactly these
  // addresses and never resolves the name again. "" when the host is an address literal
  // (nothing to pin).
  std::string curl_resolve_entry() const;
};

struct UrlGuardPolicy {
  bool allow_private = false;      // private, shared, unique-local and link-local ranges
  bool allow_loopback = false;     // loopback and "this host"
  bool allow_credentials = false;  // user:password@ in the URL
  std::vector<std::string> schemes = {"http", "https"};
  std::vector<std::string> allow;  // UrlRule texts
  std::vector<std::string> deny;   // UrlRule texts
  // The configuration key that chose this policy, named in refusals ("security.webhook_urls").
  std::string policy_key;
};

// What an outbound URL is for; each use has its own configured policy.
enum class UrlUse { kCamera, kWebhook, kDetector };

// The policy for `use` from the configuration: cameras allow rtsp(s) and http(s) with
// credentials; webhooks and detectors http(s) without.
UrlGuardPolicy url_guard_policy(const SecurityConfig& security, UrlUse use);

// Resolves a host name to its addresses. Unavailable naming the host if it cannot.
using HostResolver = std::function<Result<std::vector<IpAddress>>(const std::string& host)>;
Result<std::vector<IpAddress>> resolve_host(const std::string& host);  // getaddrinfo

class UrlGuard {
 public:
  // InvalidArgument naming any allow or deny entry that is not a valid UrlRule.
  static Result<UrlGuard> create(UrlGuardPolicy policy, HostResolver resolver = resolve_host);
  static Result<UrlGuard> for_use(const SecurityConfig& security, UrlUse use);

  // Parses the URL, resolves its host and checks every address. InvalidArgument with a
  // message naming the URL, the address and the reason if refused; Unavailable if the
  // host does not resolve.
  Result<VettedUrl> vet(std::string_view url) const;
  Status check_url(std::string_view url) const { return vet(url).status(); }

  // Checks one address that `host` resolved or connected to (the host's name rules
  // apply). InvalidArgument if refused.
  Status check_resolved(std::string_view host, const IpAddress& address) const;

  const UrlGuardPolicy& policy() const { return policy_; }

 private:
  UrlGuard(UrlGuardPolicy policy, std::vector<UrlRule> allow, std::vector<UrlRule> deny, HostResolver resolver);
  // "" if allowed, else the reason (", a private address; allow it with ...").
  std::string refusal(std::string_view host, const IpAddress& address) const;

  UrlGuardPolicy policy_;
  std::vector<UrlRule> allow_;
  std::vector<UrlRule> deny_;
  HostResolver resolver_;
};

}  // namespace argus
