#include "core/url_guard.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace argus {
namespace {

constexpr std::string_view kAllowKey = "security.url_allow";
constexpr std::string_view kDenyKey = "security.url_deny";

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::uint32_t v4_value(const IpAddress& a) {
  return (std::uint32_t{a.bytes[0]} << 24) | (std::uint32_t{a.bytes[1]} << 16) | (std::uint32_t{a.bytes[2]} << 8) |
         std::uint32_t{a.bytes[3]};
}

IpAddress v4_from_value(std::uint32_t v) {
  IpAddress a;
  a.bytes[0] = static_cast<std::uint8_t>(v >> 24);
  a.bytes[1] = static_cast<std::uint8_t>(v >> 16);
  a.bytes[2] = static_cast<std::uint8_t>(v >> 8);
  a.bytes[3] = static_cast<std::uint8_t>(v);
  return a;
}

IpAddress v4_from_bytes(const std::uint8_t* p) {
  IpAddress a;
  std::copy(p, p + 4, a.bytes.begin());
  return a;
}

// True if the first `bits` bits of `a` equal those of `prefix` (same family assumed).
bool has_prefix(const IpAddress& a, const IpAddress& prefix, int bits) {
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((a.bytes[static_cast<std::size_t>(i)] & mask) != (prefix.bytes[static_cast<std::size_t>(i)] & mask)) {
      return false;
    }
  }
  return true;
}

bool in_v4(std::uint32_t v, std::uint32_t net, int bits) {
  std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (v & mask) == (net & mask);
}

constexpr std::uint32_t ip4(int a, int b, int c, int d) {
  return (static_cast<std::uint32_t>(a) << 24) | (static_cast<std::uint32_t>(b) << 16) |
         (static_cast<std::uint32_t>(c) << 8) | static_cast<std::uint32_t>(d);
}

// An IPv6 address from its eight 16-bit groups (trailing groups zero).
IpAddress v6(std::uint16_t g0, std::uint16_t g1 = 0, std::uint16_t g2 = 0, std::uint16_t g7 = 0) {
  IpAddress a;
  a.v6 = true;
  const std::uint16_t groups[8] = {g0, g1, g2, 0, 0, 0, 0, g7};
  for (std::size_t i = 0; i < 8; ++i) {
    a.bytes[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
    a.bytes[2 * i + 1] = static_cast<std::uint8_t>(groups[i]);
  }
  return a;
}

bool is_v4_mapped(const IpAddress& a) {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return a.v6 && std::equal(kMapped, kMapped + 12, a.bytes.begin());
}

// ::ffff:a.b.c.d is a.b.c.d: the kernel connects to the IPv4 address.
IpAddress unmap(const IpAddress& a) { return is_v4_mapped(a) ? v4_from_bytes(&a.bytes[12]) : a; }

AddressClass classify_v4(std::uint32_t v) {
  if (v == ip4(169, 254, 169, 254) || v == ip4(100, 100, 100, 200)) return AddressClass::kMetadata;
  if (in_v4(v, ip4(0, 0, 0, 0), 8)) return AddressClass::kThisHost;
  if (in_v4(v, ip4(127, 0, 0, 0), 8)) return AddressClass::kLoopback;
  if (in_v4(v, ip4(10, 0, 0, 0), 8) || in_v4(v, ip4(172, 16, 0, 0), 12) || in_v4(v, ip4(192, 168, 0, 0), 16) ||
      in_v4(v, ip4(100, 64, 0, 0), 10)) {
    return AddressClass::kPrivate;
  }
  if (in_v4(v, ip4(169, 254, 0, 0), 16)) return AddressClass::kLinkLocal;
  if (in_v4(v, ip4(224, 0, 0, 0), 4)) return AddressClass::kMulticast;
  if (in_v4(v, ip4(240, 0, 0, 0), 4) ||      // reserved, and 255.255.255.255 (broadcast)
      in_v4(v, ip4(192, 0, 0, 0), 24) ||     // IETF protocol assignments
      in_v4(v, ip4(192, 0, 2, 0), 24) ||     // documentation (TEST-NET-1)
      in_v4(v, ip4(198, 51, 100, 0), 24) ||  // documentation (TEST-NET-2)
      in_v4(v, ip4(203, 0, 113, 0), 24) ||   // documentation (TEST-NET-3)
      in_v4(v, ip4(192, 88, 99, 0), 24) ||   // deprecated 6to4 relay anycast
      in_v4(v, ip4(198, 18, 0, 0), 15)) {    // benchmarking
    return AddressClass::kReserved;
  }
  return AddressClass::kPublic;
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) { return is_ascii_digit(c) || (c >= 'a' && c <= 'f'); }

// One part of a WHATWG IPv4 host: "0x1f" (hex), "017" (octal) or "17" (decimal).
std::optional<std::uint64_t> ipv4_number(std::string_view part) {
  int base = 10;
  if (part.size() >= 2 && part[0] == '0' && part[1] == 'x') {
    part.remove_prefix(2);
    base = 16;
    if (part.empty()) return 0;
  } else if (part.size() >= 2 && part[0] == '0') {
    part.remove_prefix(1);
    base = 8;
  }
  if (part.empty() || part.size() > 12) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v, base);
  if (ec != std::errc() || p != part.data() + part.size()) return std::nullopt;
  return v;
}

// A host name whose last label is a number is an IPv4 address to a browser (WHATWG URL)
// and to inet_aton, in forms like 2130706433, 0x7f.1 or 0177.0.0.1.
bool ends_in_number(std::string_view host) {
  std::size_t dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (std::all_of(last.begin(), last.end(), is_ascii_digit)) return true;
  return last.size() >= 2 && last[0] == '0' && last[1] == 'x' &&
         std::all_of(last.begin() + 2, last.end(), is_hex_digit);
}

// The value of a host that ends in a number, read as WHATWG does; nullopt if invalid.
std::optional<std::uint32_t> whatwg_ipv4(std::string_view host) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = host.find('.', start);
    parts.push_back(host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() > 4) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto n = ipv4_number(parts[i]);
    if (!n) return std::nullopt;
    if (i + 1 < parts.size()) {
      if (*n > 255) return std::nullopt;
      value |= *n << (8 * (3 - i));
    } else {
      std::uint64_t limit = std::uint64_t{1} << (8 * (5 - parts.size()));
      if (*n >= limit) return std::nullopt;
      value |= *n;
    }
  }
  return static_cast<std::uint32_t>(value);
}

// Letters, digits, '-' and '_' in labels of 1..63 characters, 253 in all.
bool valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || is_ascii_digit(c) || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

std::uint16_t default_port(std::string_view scheme) {
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "https" || scheme == "wss") return 443;
  if (scheme == "rtsp") return 554;
  if (scheme == "rtsps") return 322;
  if (scheme == "smtp") return 25;
  if (scheme == "smtps") return 465;
  if (scheme == "mqtt") return 1883;
  if (scheme == "mqtts") return 8883;
  return 0;
}

// Drops "user:pass@" so that messages never carry credentials.
std::string without_userinfo(std::string_view url) {
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  std::size_t begin = sep + 3;
  std::size_t end = url.find_first_of("/?#", begin);
  std::string_view authority = url.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
  std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, begin)) + std::string(url.substr(begin + at + 1));
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string bracketed(const IpAddress& a) { return a.v6 ? "[" + a.to_string() + "]" : a.to_string(); }

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddress a;
  if (s.find(':') != std::string::npos) {
    in6_addr v6{};
    if (::inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
    a.v6 = true;
    std::memcpy(a.bytes.data(), &v6, 16);
    return a;
  }
  // Dotted quad, decimal, no leading zeros.
  int part = 0;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = s.find('.', start);
    std::string_view p = std::string_view(s).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0') || part > 3) return std::nullopt;
    if (!std::all_of(p.begin(), p.end(), is_ascii_digit)) return std::nullopt;
    int v = 0;
    std::from_chars(p.data(), p.data() + p.size(), v);
    if (v > 255) return std::nullopt;
    a.bytes[static_cast<std::size_t>(part++)] = static_cast<std::uint8_t>(v);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (part != 4) return std::nullopt;
  return a;
}

std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  IpAddress a;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    std::memcpy(a.bytes.data(), &in.sin_addr, 4);
    return a;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    a.v6 = true;
    std::memcpy(a.bytes.data(), &in6.sin6_addr, 16);
    return a;
  }
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  ::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

AddressClass classify_address(const IpAddress& address) {
  const IpAddress a = unmap(address);
  if (!a.v6) return classify_v4(v4_value(a));
  static const IpAddress kZero{true, {}};
  if (a == kZero) return AddressClass::kThisHost;
  if (a == v6(0, 0, 0, 1)) return AddressClass::kLoopback;
  if (a == v6(0xfd00, 0x0ec2, 0, 0x254)) return AddressClass::kMetadata;
  if (has_prefix(a, v6(0x64, 0xff9b), 96)) return classify_v4(v4_value(v4_from_bytes(&a.bytes[12])));
  if (has_prefix(a, v6(0x2002), 16)) return classify_v4(v4_value(v4_from_bytes(&a.bytes[2])));
  if (has_prefix(a, v6(0x64, 0xff9b, 1), 48)) return AddressClass::kPrivate;  // local-use NAT64
  if (has_prefix(a, v6(0xfc00), 7)) return AddressClass::kPrivate;            // unique local
  if (has_prefix(a, v6(0xfec0), 10)) return AddressClass::kPrivate;           // old site-local
  if (has_prefix(a, v6(0xfe80), 10)) return AddressClass::kLinkLocal;
  if (has_prefix(a, v6(0xff00), 8)) return AddressClass::kMulticast;
  if (has_prefix(a, v6(0x2001, 0x0db8), 32) ||  // documentation
      has_prefix(a, v6(0x2001), 32) ||          // Teredo (embeds an obfuscated IPv4)
      has_prefix(a, v6(0x0100), 64) ||          // discard
      !has_prefix(a, v6(0x2000), 3)) {          // outside global unicast; ::/96 IPv4-compatible
    return AddressClass::kReserved;
  }
  return AddressClass::kPublic;
}

std::string_view address_class_description(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic:
      return "a public address";
    case AddressClass::kLoopback:
      return "a loopback address";
    case AddressClass::kThisHost:
      return "an unspecified (this host) address";
    case AddressClass::kPrivate:
      return "a private address";
    case AddressClass::kLinkLocal:
      return "a link-local address";
    case AddressClass::kMetadata:
      return "a cloud metadata address";
    case AddressClass::kMulticast:
      return "a multicast address";
    case AddressClass::kReserved:
      return "a reserved address";
  }
  return "an address";
}

Result<UrlRule> UrlRule::parse(std::string_view text) {
  std::string t = lower(text);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(t.begin());
  const Status bad = Status::invalid_argument(
      "\"" + std::string(text) +
      "\" is not a CIDR (10.1.0.0/16, fd00::/8), an address, a host name (cam1.lan) or a domain (*.lan)");
  UrlRule r;
  r.text_ = t;
  std::string addr = t;
  int prefix = -1;
  if (std::size_t slash = t.find('/'); slash != std::string::npos) {
    addr = t.substr(0, slash);
    std::string_view bits = std::string_view(t).substr(slash + 1);
    auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (bits.empty() || ec != std::errc() || p != bits.data() + bits.size()) return bad;
  }
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
  if (auto a = IpAddress::parse(addr)) {
    const int max = a->v6 ? 128 : 32;
    if (prefix == -1) prefix = max;
    if (prefix < 0 || prefix > max) return bad;
    // Clear the host bits, so "10.0.0.5/8" means 10.0.0.0/8.
    for (int i = 0; i < 16; ++i) {
      int keep = std::clamp(prefix - 8 * i, 0, 8);
      a->bytes[static_cast<std::size_t>(i)] &= static_cast<std::uint8_t>(0xff << (8 - keep));
    }
    r.network_ = *a;
    r.prefix_ = prefix;
    return r;
  }
  if (prefix != -1) return bad;
  std::string name = t;
  if (name.rfind("*.", 0) == 0) {
    r.wildcard_ = true;
    name = name.substr(2);
  }
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (!valid_host_name(name) || ends_in_number(name)) return bad;
  r.name_ = r.wildcard_ ? "." + name : name;
  return r;
}

bool UrlRule::matches_host(std::string_view host) const {
  if (name_.empty()) return false;
  if (!wildcard_) return host == name_;
  return host.size() > name_.size() && host.substr(host.size() - name_.size()) == name_;
}

bool UrlRule::matches_address(const IpAddress& address) const {
  if (prefix_ < 0 || address.v6 != network_.v6) return false;
  return has_prefix(address, network_, prefix_);
}

bool UrlRule::is_single_address() const { return prefix_ >= 0 && prefix_ == (network_.v6 ? 128 : 32); }

Result<GuardedUrl> parse_guarded_url(std::string_view url, const std::vector<std::string>& schemes,
                                     bool allow_credentials) {
  const std::string shown = without_userinfo(url);
  auto bad = [&](const std::string& why) { return Status::invalid_argument("URL \"" + shown + "\" " + why); };
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad("contains whitespace, control or non-ASCII characters");
  }
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad("is not an absolute URL (scheme://host/...)");
  GuardedUrl out;
  out.scheme = lower(url.substr(0, sep));
  if (!std::isalpha(static_cast<unsigned char>(out.scheme[0])) ||
      !std::all_of(out.scheme.begin(), out.scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      })) {
    return bad("has a malformed scheme");
  }
  if (std::find(schemes.begin(), schemes.end(), out.scheme) == schemes.end()) {
    return bad("uses scheme \"" + out.scheme + "\", which is not allowed here (allowed: " + join(schemes) + ")");
  }
  const std::size_t begin = sep + 3;
  const std::size_t end = url.find_first_of("/?#", begin);
  std::string_view authority = url.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
  if (authority.find('\\') != std::string_view::npos) return bad("has a backslash in its host part");
  std::string_view hostport = authority;
  if (std::size_t at = authority.find('@'); at != std::string_view::npos) {
    if (authority.find('@', at + 1) != std::string_view::npos) return bad("has more than one '@' in its host part");
    if (!allow_credentials) {
      return bad("contains a user name or password, which is not allowed here (the host is what follows '@')");
    }
    if (at == 0) return bad("has an empty user name before '@'");
    hostport = authority.substr(at + 1);
  }

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '[' in its host");
    host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("has characters after the IPv6 address");
      has_port = true;
      port_text = after.substr(1);
    }
    if (host.find('%') != std::string_view::npos) return bad("has an IPv6 zone id, which is not allowed");
    auto a = IpAddress::parse(host);
    if (!a || !a->v6) return bad("has an invalid IPv6 address in brackets");
    out.host = a->to_string();
    out.host_is_address = true;
  } else {
    std::size_t colon = hostport.find(':');
    host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = hostport.substr(colon + 1);
      if (port_text.find(':') != std::string_view::npos) return bad("has an IPv6 address that is not in brackets");
    }
    if (host.empty()) return bad("has no host");
    if (host.find('%') != std::string_view::npos) return bad("has a percent-encoded host, which is not allowed");
    std::string h = lower(host);
    if (h.back() == '.') h.pop_back();
    if (ends_in_number(h)) {
      if (auto a = IpAddress::parse(h)) {
        out.host = a->to_string();
        out.host_is_address = true;
      } else if (auto v = whatwg_ipv4(h)) {
        std::string dotted = v4_from_value(*v).to_string();
        return bad("writes the IPv4 address " + dotted + " in a non-standard form; write it as " + dotted);
      } else {
        return bad("has a host that is neither a valid name nor a valid IPv4 address");
      }
    } else {
      if (!valid_host_name(h)) return bad("has an invalid host name \"" + std::string(host) + "\"");
      out.host = h;
    }
  }

  out.port = default_port(out.scheme);
  if (has_port && !port_text.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      return bad("has an invalid port (must be 1..65535)");
    }
    out.port = static_cast<std::uint16_t>(v);
  }
  if (out.port == 0) return bad("needs a port: scheme \"" + out.scheme + "\" has no default");
  out.display = out.scheme + "://" + std::string(hostport) +
                (end == std::string_view::npos ? std::string() : std::string(url.substr(end)));
  return out;
}

std::string VettedUrl::curl_resolve_entry() const {
  if (url.host_is_address || addresses.empty()) return "";
  std::string out = url.host + ":" + std::to_string(url.port) + ":";
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) out += ',';
    out += bracketed(addresses[i]);
  }
  return out;
}

UrlGuardPolicy url_guard_policy(const SecurityConfig& security, UrlUse use) {
  UrlGuardPolicy p;
  UrlScope scope = UrlScope::kPublic;
  switch (use) {
    case UrlUse::kCamera:
      scope = security.camera_urls;
      p.schemes = {"rtsp", "rtsps", "http", "https"};
      p.allow_credentials = true;
      p.policy_key = "security.camera_urls";
      break;
    case UrlUse::kWebhook:
      scope = security.webhook_urls;
      p.policy_key = "security.webhook_urls";
      break;
    case UrlUse::kDetector:
      scope = security.detector_urls;
      p.policy_key = "security.detector_urls";
      break;
  }
  p.allow_private = p.allow_loopback = scope == UrlScope::kPrivate;
  p.allow = security.url_allow;
  p.deny = security.url_deny;
  return p;
}

Result<std::vector<IpAddress>> resolve_host(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    std::string why = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
    return Status::unavailable("cannot resolve host \"" + host + "\": " + why);
  }
  std::vector<IpAddress> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    auto a = IpAddress::from_sockaddr(ai->ai_addr);
    if (a && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return Status::unavailable("host \"" + host + "\" has no IPv4 or IPv6 address");
  return out;
}

UrlGuard::UrlGuard(UrlGuardPolicy policy, std::vector<UrlRule> allow, std::vector<UrlRule> deny, HostResolver resolver)
    : policy_(std::move(policy)), allow_(std::move(allow)), deny_(std::move(deny)), resolver_(std::move(resolver)) {}

Result<UrlGuard> UrlGuard::create(UrlGuardPolicy policy, HostResolver resolver) {
  std::vector<UrlRule> allow;
  std::vector<UrlRule> deny;
  for (const auto& text : policy.allow) {
    auto r = UrlRule::parse(text);
    if (!r.ok()) return r.status().with_context(kAllowKey);
    allow.push_back(std::move(r).value());
  }
  for (const auto& text : policy.deny) {
    auto r = UrlRule::parse(text);
    if (!r.ok()) return r.status().with_context(kDenyKey);
    deny.push_back(std::move(r).value());
  }
  if (!resolver) resolver = resolve_host;
  return UrlGuard(std::move(policy), std::move(allow), std::move(deny), std::move(resolver));
}

Result<UrlGuard> UrlGuard::for_use(const SecurityConfig& security, UrlUse use) {
  return create(url_guard_policy(security, use));
}

std::string UrlGuard::refusal(std::string_view host, const IpAddress& address) const {
  const IpAddress a = unmap(address);
  auto matches = [&](const UrlRule& r) { return r.matches_address(a) || r.matches_address(address); };
  for (const auto& r : deny_) {
    if (r.matches_host(host) || matches(r)) return ", which " + std::string(kDenyKey) + " refuses (" + r.text() + ")";
  }
  const AddressClass cls = classify_address(a);
  for (const auto& r : allow_) {
    if (cls == AddressClass::kMetadata ? r.is_single_address() && matches(r) : r.matches_host(host) || matches(r)) {
      return "";
    }
  }
  bool allowed = false;
  switch (cls) {
    case AddressClass::kPublic:
      allowed = true;
      break;
    case AddressClass::kLoopback:
    case AddressClass::kThisHost:
      allowed = policy_.allow_loopback;
      break;
    case AddressClass::kPrivate:
    case AddressClass::kLinkLocal:
      allowed = policy_.allow_private;
      break;
    case AddressClass::kMetadata:
    case AddressClass::kMulticast:
    case AddressClass::kReserved:
      break;
  }
  if (allowed) return "";
  std::string why = ", " + std::string(address_class_description(cls));
  if (cls == AddressClass::kMetadata) {
    return why + "; refused unless " + std::string(kAllowKey) + " lists exactly " + a.to_string();
  }
  const bool policy_can_allow = cls == AddressClass::kLoopback || cls == AddressClass::kThisHost ||
                                cls == AddressClass::kPrivate || cls == AddressClass::kLinkLocal;
  if (policy_can_allow && !policy_.policy_key.empty()) {
    return why + "; allow it with " + policy_.policy_key + ": private or " + std::string(kAllowKey);
  }
  return why + "; allow it with " + std::string(kAllowKey);
}

Result<VettedUrl> UrlGuard::vet(std::string_view url) const {
  auto parsed = parse_guarded_url(url, policy_.schemes, policy_.allow_credentials);
  if (!parsed.ok()) return parsed.status();
  VettedUrl out;
  out.url = std::move(parsed).value();
  const GuardedUrl& u = out.url;
  if (u.host_is_address) {
    out.addresses.push_back(*IpAddress::parse(u.host));
  } else {
    for (const auto& r : deny_) {
      if (r.matches_host(u.host)) {
        return Status::invalid_argument(u.display + ": host " + u.host + " is refused by " + std::string(kDenyKey) +
                                        " (" + r.text() + ")");
      }
    }
    auto addresses = resolver_(u.host);
    if (!addresses.ok()) return Status(addresses.status().code(), u.display + ": " + addresses.status().message());
    if (addresses->empty()) return Status::unavailable(u.display + ": host " + u.host + " has no address");
    out.addresses = std::move(addresses).value();
  }
  for (const auto& a : out.addresses) {
    std::string why = refusal(u.host_is_address ? std::string_view() : std::string_view(u.host), a);
    if (!why.empty()) {
      return Status::invalid_argument(u.display + (u.host_is_address ? " points to " : " resolves to ") +
                                      a.to_string() + why);
    }
  }
  return out;
}

Status UrlGuard::check_resolved(std::string_view host, const IpAddress& address) const {
  std::string h = lower(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (IpAddress::parse(h)) h.clear();  // an address literal matches no name rule
  std::string why = refusal(h, address);
  if (why.empty()) return Status();
  return Status::invalid_argument((host.empty() ? std::string("the connection") : "host " + std::string(host)) +
                                  " resolves to " + address.to_string() + why);
}

}  // namespace argus
