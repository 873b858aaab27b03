// TLS: the self-signed certificate, loading provided files, and real handshakes against a
// running HttpServer with an asio TLS client that verifies the certificate.
#include "api/tls.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <sys/stat.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/server.h"
#include "core/url_guard.h"
#include "metrics/metrics.h"
#include "testing/testing.h"

namespace argus::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using ::testing::HasSubstr;

constexpr std::time_t kDay = 24 * 3600;

TlsConfig self_signed_config(const argus::testing::TempDir& dir,
                             std::vector<std::string> hostnames = {"localhost", "argus.test"}) {
  TlsConfig c;
  c.mode = TlsMode::kSelfSigned;
  c.cert_file = dir.file("tls/cert.pem");
  c.key_file = dir.file("tls/key.pem");
  c.hostnames = std::move(hostnames);
  c.ips = {"127.0.0.1", "::1"};
  return c;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr load_cert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509Ptr x(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  return x;
}

std::set<std::string> sans(X509* cert) {
  std::set<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    auto* value = static_cast<ASN1_STRING*>(GENERAL_NAME_get0_value(n, &type));
    const auto* data = ASN1_STRING_get0_data(value);
    auto len = static_cast<std::size_t>(ASN1_STRING_length(value));
    if (type == GEN_DNS) {
      out.insert("DNS:" + std::string(reinterpret_cast<const char*>(data), len));
    } else if (type == GEN_IPADD) {
      IpAddress a;
      a.v6 = len == 16;
      std::copy(data, data + len, a.bytes.begin());
      out.insert("IP:" + a.to_string());
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// ---------------------------------------------------------------------------------------
// Self-signed certificates

TEST(SelfSignedTest, GeneratesAnEcKeyAndAServerCertificateWithSans) {
  argus::testing::TempDir dir;
  TlsConfig c = self_signed_config(dir);
  auto made = ensure_self_signed_certificate(c);
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  EXPECT_TRUE(*made);
  EXPECT_EQ(file_mode(c.key_file), 0600u);
  EXPECT_EQ(file_mode(dir.file("tls")), 0700u);

  X509Ptr cert = load_cert(c.cert_file);
  ASSERT_TRUE(cert);
  EXPECT_EQ(sans(cert.get()), (std::set<std::string>{"DNS:localhost", "DNS:argus.test", "IP:127.0.0.1", "IP:::1"}));
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_check_ca(cert.get()), 0) << "CA:FALSE";
  EXPECT_TRUE(X509_get_extension_flags(cert.get()) & EXFLAG_BCONS);
  EXPECT_TRUE(X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(X509_get_key_usage(cert.get()) & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER);
  EXPECT_EQ(X509_check_host(cert.get(), "argus.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_host(cert.get(), "other.test", 0, 0, nullptr), 1);
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
  char group[64] = {0};
  std::size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(pub, group, sizeof group, &group_len), 1);
  EXPECT_STREQ(group, "prime256v1");
  // Valid about a year.
  std::time_t now = std::time(nullptr);
  std::time_t in_360_days = now + 360 * kDay;
  std::time_t in_370_days = now + 370 * kDay;
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(cert.get()), &in_360_days), 0);
  EXPECT_LT(X509_cmp_time(X509_get0_notAfter(cert.get()), &in_370_days), 0);
  EXPECT_LT(X509_cmp_time(X509_get0_notBefore(cert.get()), &now), 0);
  // Only the two files: no temporary files left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.file("tls"))) ++files;
  EXPECT_EQ(files, 2u);
}

TEST(SelfSignedTest, ReusedOnTheNextStartAndKeyModeKeptPrivate) {
  argus::testing::TempDir dir;
  TlsConfig c = self_signed_config(dir);
  ASSERT_TRUE(ensure_self_signed_certificate(c).ok());
  const std::string cert = argus::testing::read_file(c.cert_file);
  const std::string key = argus::testing::read_file(c.key_file);
  ASSERT_EQ(::chmod(c.key_file.c_str(), 0644), 0);
  auto again = ensure_self_signed_certificate(c);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_FALSE(*again);
  EXPECT_EQ(argus::testing::read_file(c.cert_file), cert);
  EXPECT_EQ(argus::testing::read_file(c.key_file), key);
  EXPECT_EQ(file_mode(c.key_file), 0600u);
  // Host names in another order or case are the same set.
  c.hostnames = {"ARGUS.test", "localhost"};
  EXPECT_FALSE(*ensure_self_signed_certificate(c));
}

TEST(SelfSignedTest, RegeneratedWhenNamesOrAddressesChange) {
  argus::testing::TempDir dir;
  TlsConfig c = self_signed_config(dir);
  ASSERT_TRUE(ensure_self_signed_certificate(c).ok());
  const std::string first = argus::testing::read_file(c.cert_file);
  c.hostnames.push_back("nvr.lan");
  auto made = ensure_self_signed_certificate(c);
  ASSERT_TRUE(made.ok());
  EXPECT_TRUE(*made);
  EXPECT_NE(argus::testing::read_file(c.cert_file), first);
  X509Ptr cert = load_cert(c.cert_file);
  ASSERT_TRUE(cert);
  EXPECT_TRUE(sans(cert.get()).count("DNS:nvr.lan"));
  c.ips = {"192.168.1.10"};
  EXPECT_TRUE(*ensure_self_signed_certificate(c));
  cert = load_cert(c.cert_file);
  EXPECT_EQ(sans(cert.get()),
            (std::set<std::string>{"DNS:localhost", "DNS:argus.test", "DNS:nvr.lan", "IP:192.168.1.10"}));
  EXPECT_EQ(file_mode(c.key_file), 0600u);
}

TEST(SelfSignedTest, RegeneratedWhenExpiredOrBroken) {
  argus::testing::TempDir dir;
  TlsConfig c = self_signed_config(dir);
  const std::time_t now = std::time(nullptr);
  ASSERT_TRUE(*ensure_self_signed_certificate(c, now - 400 * kDay));  // expired 35 days ago
  EXPECT_TRUE(*ensure_self_signed_certificate(c, now)) << "expired";
  EXPECT_FALSE(*ensure_self_signed_certificate(c, now));
  EXPECT_TRUE(*ensure_self_signed_certificate(c, now + 340 * kDay)) << "expires within 30 days";
  // A key that does not belong to the certificate.
  argus::testing::TempDir other;
  TlsConfig o = self_signed_config(other);
  ASSERT_TRUE(ensure_self_signed_certificate(o).ok());
  fs::copy_file(o.key_file, c.key_file, fs::copy_options::overwrite_existing);
  EXPECT_TRUE(*ensure_self_signed_certificate(c)) << "mismatched key";
  argus::testing::write_file(c.cert_file, "garbage");
  EXPECT_TRUE(*ensure_self_signed_certificate(c)) << "unreadable certificate";
  EXPECT_TRUE(TlsContextProvider::create(c).ok());
}

TEST(SelfSignedTest, UnwritableLocationIsAClearError) {
  argus::testing::TempDir dir;
  argus::testing::write_file(dir.file("file"), "a file where a directory should be");
  TlsConfig c = self_signed_config(dir);
  c.cert_file = dir.file("file/tls/cert.pem");
  c.key_file = dir.file("file/tls/key.pem");
  auto made = ensure_self_signed_certificate(c);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kIOError);
  EXPECT_THAT(made.status().message(), HasSubstr("self-signed TLS certificate: cannot create " + dir.file("file/tls")));
}

// ---------------------------------------------------------------------------------------
// Provided certificates

TEST(ProvidedTest, LoadsFilesAndDescribesTheCertificate) {
  argus::testing::TempDir dir;
  TlsConfig c = self_signed_config(dir);
  ASSERT_TRUE(ensure_self_signed_certificate(c).ok());
  c.mode = TlsMode::kProvided;
  auto p = TlsContextProvider::create(c);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_NE((*p)->current(), nullptr);
  EXPECT_THAT((*p)->describe(), HasSubstr("CN=localhost"));
  EXPECT_THAT((*p)->describe(), HasSubstr(c.cert_file));
}

TEST(ProvidedTest, BadPathsAndFilesAreClearErrors) {
  argus::testing::TempDir dir;
  TlsConfig good = self_signed_config(dir);
  ASSERT_TRUE(ensure_self_signed_certificate(good).ok());
  auto error = [](TlsConfig c) {
    c.mode = TlsMode::kProvided;
    auto p = TlsContextProvider::create(c);
    EXPECT_FALSE(p.ok());
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    }
    return p.ok() ? std::string() : p.status().message();
  };
  TlsConfig c = good;
  c.cert_file = dir.file("missing.pem");
  EXPECT_EQ(error(c), "tls.cert_file " + dir.file("missing.pem") + ": No such file or directory");
  c = good;
  c.key_file = dir.file("tls");
  EXPECT_EQ(error(c), "tls.key_file " + dir.file("tls") + ": not a regular file");

  argus::testing::write_file(dir.file("garbage.pem"), "not a certificate\n");
  c = good;
  c.cert_file = dir.file("garbage.pem");
  std::string e = error(c);
  EXPECT_THAT(e, HasSubstr("tls.cert_file " + dir.file("garbage.pem") + ": cannot load a PEM certificate chain: "));
  EXPECT_THAT(e, HasSubstr("no start line")) << "OpenSSL's reason";
  c = good;
  c.key_file = dir.file("garbage.pem");
  EXPECT_THAT(error(c), HasSubstr("tls.key_file " + dir.file("garbage.pem") + ": cannot load a PEM private key"));
  c = good;
  c.key_file = good.cert_file;
  EXPECT_THAT(error(c), HasSubstr("cannot load a PEM private key"));

  argus::testing::TempDir other;
  TlsConfig o = self_signed_config(other);
  ASSERT_TRUE(ensure_self_signed_certificate(o).ok());
  c = good;
  c.key_file = o.key_file;
  e = error(c);
  EXPECT_THAT(e, HasSubstr("tls.key_file " + o.key_file + " does not match the certificate in " + good.cert_file));
  EXPECT_THAT(e, HasSubstr("key values mismatch"));
}

// ---------------------------------------------------------------------------------------
// Handshakes against a running server

// A blocking-style TLS client over asio: each step runs the io_context until it completes,
// under a 5 s deadline.
class TlsClient {
 public:
  // Verifies the server against `ca_file` and `verify_host` unless ca_file is empty.
  TlsClient(const std::string& ca_file, const std::string& verify_host) : host_(verify_host) {
    if (!ca_file.empty()) {
      ctx_.load_verify_file(ca_file);
      ctx_.set_verify_mode(ssl::verify_peer);
      ctx_.set_verify_callback(ssl::host_name_verification(verify_host));
    } else {
      ctx_.set_verify_mode(ssl::verify_none);
    }
  }

  ssl::context& context() { return ctx_; }

  error_code connect(std::uint16_t port) {
    stream_.emplace(ioc_, ctx_);
    SSL_set_tlsext_host_name(stream_->native_handle(), host_.c_str());
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    error_code ec = run([&](auto handler) { beast::get_lowest_layer(*stream_).async_connect(ep, handler); });
    if (ec) return ec;
    return run([&](auto handler) { stream_->async_handshake(ssl::stream_base::client, handler); });
  }

  // GET on the open connection; nullopt (and `ec`) if it fails.
  std::optional<http::response<http::string_body>> get(const std::string& target, error_code* ec_out = nullptr) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host_);
    error_code ec = run([&](auto handler) { http::async_write(*stream_, req, handler); });
    http::response<http::string_body> res;
    if (!ec) ec = run([&](auto handler) { http::async_read(*stream_, buffer_, res, handler); });
    if (ec_out != nullptr) *ec_out = ec;
    if (ec) return std::nullopt;
    return res;
  }

 private:
  template <typename Start>
  error_code run(Start start) {
    error_code result = asio::error::would_block;
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(5));
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  std::string host_;
  asio::io_context ioc_;
  ssl::context ctx_{ssl::context::tls_client};
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
};

// Sends `bytes` over plain TCP and returns what comes back until the server closes (or
// 5 s pass: then `closed` is false).
std::string plain_exchange(std::uint16_t port, const std::string& bytes, bool* closed) {
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  s.expires_after(std::chrono::seconds(5));
  error_code ec;
  s.socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return "connect failed: " + ec.message();
  if (!bytes.empty()) asio::write(s.socket(), asio::buffer(bytes), ec);
  std::string out;
  beast::flat_buffer buf;
  error_code read_ec;
  std::function<void()> read_more = [&] {
    s.async_read_some(buf.prepare(4096), [&](error_code e, std::size_t n) {
      buf.commit(n);
      if (e) {
        read_ec = e;
        return;
      }
      read_more();
    });
  };
  read_more();
  ioc.run();
  out.assign(static_cast<const char*>(buf.data().data()), buf.size());
  *closed = read_ec != beast::error::timeout;
  return out;
}

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = self_signed_config(dir_);
    auto p = TlsContextProvider::create(config_);
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    provider_ = std::move(p).value();
  }

  void start(ServerConfig sc = {}) {
    sc.listen_host = "127.0.0.1";
    sc.listen_port = 0;
    sc.io_threads = 2;
    if (sc.header_timeout_ms == ServerConfig{}.header_timeout_ms) sc.header_timeout_ms = 2'000;
    server_ = std::make_unique<HttpServer>(
        sc,
        [](Request& req) {
          req.route = req.path;
          return Response::json(200, {{"secure", req.secure}, {"path", req.path}});
        },
        &metrics_, provider_.get());
    Status s = server_->start();
    ASSERT_TRUE(s.ok()) << s.to_string();
  }

  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(500));
  }

  double handshake_failures() { return metrics_.counter("argus_tls_handshake_failures_total", "").value(); }

  // Waits until the failure counter reaches `n` (the server counts after the client sees the alert).
  bool wait_failures(double n) {
    for (int i = 0; i < 200 && handshake_failures() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return handshake_failures() >= n;
  }

  argus::testing::TempDir dir_;
  TlsConfig config_;
  metrics::Registry metrics_;
  std::unique_ptr<TlsContextProvider> provider_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsServerTest, ClientVerifiesTheGeneratedCertificateWithHostnameCheck) {
  start();
  for (const char* host : {"localhost", "argus.test", "127.0.0.1"}) {
    TlsClient client(config_.cert_file, host);
    error_code ec = client.connect(server_->port());
    ASSERT_FALSE(ec) << host << ": " << ec.message();
    auto res = client.get("/health");
    ASSERT_TRUE(res) << host;
    EXPECT_EQ(res->result_int(), 200);
    EXPECT_EQ(res->at(http::field::strict_transport_security), "max-age=31536000");
    EXPECT_EQ(nlohmann::json::parse(res->body()), (nlohmann::json{{"secure", true}, {"path", "/health"}}));
    // Keep-alive: a second request on the same connection.
    res = client.get("/again");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result_int(), 200);
  }
  TlsClient wrong_name(config_.cert_file, "other.example");
  EXPECT_TRUE(wrong_name.connect(server_->port())) << "the certificate does not name other.example";
  EXPECT_TRUE(wait_failures(1)) << "the client's alert ends the server's handshake too";
}

TEST_F(TlsServerTest, Tls11OnlyClientIsRefused) {
  start();
  TlsClient old("", "localhost");
  SSL_CTX* ctx = old.context().native_handle();
  SSL_CTX_set_security_level(ctx, 0);  // let this client offer TLS 1.0/1.1 at all
  ASSERT_EQ(SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0"), 1);
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  error_code ec = old.connect(server_->port());
  ASSERT_TRUE(ec) << "a TLS 1.1 handshake succeeded";
  EXPECT_THAT(ec.message(), HasSubstr("protocol version")) << ec.message();
  EXPECT_TRUE(wait_failures(1));
  // The server still serves modern clients.
  TlsClient modern(config_.cert_file, "localhost");
  ASSERT_FALSE(modern.connect(server_->port()));
  EXPECT_TRUE(modern.get("/health"));
}

TEST_F(TlsServerTest, MinVersion13RefusesTls12) {
  config_.mode = TlsMode::kProvided;
  config_.min_version = 13;
  auto p = TlsContextProvider::create(config_);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  provider_ = std::move(p).value();
  start();
  TlsClient tls12(config_.cert_file, "localhost");
  SSL_CTX_set_max_proto_version(tls12.context().native_handle(), TLS1_2_VERSION);
  EXPECT_TRUE(tls12.connect(server_->port()));
  TlsClient tls13(config_.cert_file, "localhost");
  ASSERT_FALSE(tls13.connect(server_->port()));
  EXPECT_TRUE(tls13.get("/health"));
}

TEST_F(TlsServerTest, PlainHttpIsDroppedWithoutAffectingATlsClient) {
  start();
  TlsClient client(config_.cert_file, "localhost");
  ASSERT_FALSE(client.connect(server_->port()));
  ASSERT_TRUE(client.get("/before"));

  bool closed = false;
  std::string reply = plain_exchange(server_->port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", &closed);
  EXPECT_TRUE(closed) << "the server closes the connection";
  EXPECT_EQ(reply.find("HTTP/1.1"), std::string::npos) << "no plain HTTP answer: " << reply;
  EXPECT_EQ(reply.find("secure"), std::string::npos);
  EXPECT_TRUE(wait_failures(1));

  // A silent client is dropped at the handshake timeout (2 s here).
  auto started = std::chrono::steady_clock::now();
  plain_exchange(server_->port(), "", &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));

  auto res = client.get("/after");
  ASSERT_TRUE(res) << "the TLS connection opened before is unaffected";
  EXPECT_EQ(res->result_int(), 200);
  TlsClient fresh(config_.cert_file, "localhost");
  ASSERT_FALSE(fresh.connect(server_->port()));
  EXPECT_TRUE(fresh.get("/fresh"));
}

TEST_F(TlsServerTest, ReloadServesNewCertificateToNewConnectionsOnly) {
  // Provided files in their own directory, first a copy of the fixture's certificate.
  const std::string cert = dir_.file("provided/cert.pem");
  const std::string key = dir_.file("provided/key.pem");
  fs::create_directories(dir_.file("provided"));
  fs::copy_file(config_.cert_file, cert);
  fs::copy_file(config_.key_file, key);
  TlsConfig provided = config_;
  provided.mode = TlsMode::kProvided;
  provided.cert_file = cert;
  provided.key_file = key;
  auto p = TlsContextProvider::create(provided);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  provider_ = std::move(p).value();
  start();

  TlsClient before(config_.cert_file, "localhost");
  ASSERT_FALSE(before.connect(server_->port()));
  ASSERT_TRUE(before.get("/1"));

  argus::testing::TempDir next_dir;
  TlsConfig next = self_signed_config(next_dir);
  ASSERT_TRUE(ensure_self_signed_certificate(next).ok());
  fs::copy_file(next.cert_file, cert, fs::copy_options::overwrite_existing);
  fs::copy_file(next.key_file, key, fs::copy_options::overwrite_existing);
  Status reloaded = provider_->reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.to_string();

  TlsClient trusts_old(config_.cert_file, "localhost");
  EXPECT_TRUE(trusts_old.connect(server_->port())) << "new connections get the new certificate";
  TlsClient trusts_new(next.cert_file, "localhost");
  ASSERT_FALSE(trusts_new.connect(server_->port()));
  EXPECT_TRUE(trusts_new.get("/2"));
  auto res = before.get("/3");
  ASSERT_TRUE(res) << "the connection made before the reload keeps working";
  EXPECT_EQ(res->result_int(), 200);

  // A broken file: reload fails, the current certificate stays.
  argus::testing::write_file(cert, "broken");
  Status failed = provider_->reload();
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.message(), HasSubstr("tls.cert_file " + cert));
  TlsClient still(next.cert_file, "localhost");
  ASSERT_FALSE(still.connect(server_->port()));
  EXPECT_TRUE(still.get("/4"));
}

TEST_F(TlsServerTest, StopClosesIdleTlsConnectionsPromptly) {
  start();
  TlsClient idle(config_.cert_file, "localhost");
  ASSERT_FALSE(idle.connect(server_->port()));
  ASSERT_TRUE(idle.get("/x"));
  TlsClient handshaken_only(config_.cert_file, "localhost");
  ASSERT_FALSE(handshaken_only.connect(server_->port()));
  auto started = std::chrono::steady_clock::now();
  std::size_t forced = server_->stop(std::chrono::seconds(5));
  EXPECT_EQ(forced, 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(server_->active_connections(), 0u);
  server_.reset();
}

}  // namespace
}  // namespace argus::api
