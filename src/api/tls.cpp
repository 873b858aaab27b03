#include "api/tls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/ids.h"
#include "core/log.h"
#include "core/url_guard.h"

namespace argus::api {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites: forward-secret AEAD only (Mozilla "intermediate" without DHE).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";

constexpr long kValidityDays = 365;
constexpr std::time_t kRenewBefore = 30L * 24 * 3600;  // regenerate when this close to expiry

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

// Every queued OpenSSL error as "reason; reason", then clears the queue.
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    if (!out.empty()) out += "; ";
    if (const char* reason = ERR_reason_error_string(e)) {
      out += reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      out += buf;
    }
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// Refuses to prompt for a passphrase on the terminal: an encrypted key is an error.
int no_passphrase(char*, int, int, void*) { return 0; }

X509Ptr read_certificate(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
}

PkeyPtr read_private_key(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
}

// The subjectAltName entries a certificate for `config` must carry: "DNS:name", "IP:addr".
std::set<std::string> wanted_names(const TlsConfig& config) {
  std::set<std::string> out;
  for (const auto& h : config.hostnames) {
    std::string name = h;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.insert("DNS:" + name);
  }
  for (const auto& ip : config.ips) {
    auto a = IpAddress::parse(ip);
    out.insert("IP:" + (a ? a->to_string() : ip));
  }
  return out;
}

std::set<std::string> certificate_names(X509* cert) {
  std::set<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName));
      std::string name(data, static_cast<std::size_t>(ASN1_STRING_length(n->d.dNSName)));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      out.insert("DNS:" + name);
    } else if (n->type == GEN_IPADD) {
      int len = ASN1_STRING_length(n->d.iPAddress);
      if (len != 4 && len != 16) continue;
      IpAddress a;
      a.v6 = len == 16;
      std::memcpy(a.bytes.data(), ASN1_STRING_get0_data(n->d.iPAddress), static_cast<std::size_t>(len));
      out.insert("IP:" + a.to_string());
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// "" if the files at the configured paths can be reused at `now`, else why not.
std::string reuse_problem(const TlsConfig& config, std::time_t now) {
  std::error_code ec;
  if (!std::filesystem::exists(config.cert_file, ec) || !std::filesystem::exists(config.key_file, ec)) {
    return "no certificate yet";
  }
  X509Ptr cert = read_certificate(config.cert_file);
  PkeyPtr key = read_private_key(config.key_file);
  ERR_clear_error();
  if (!cert || !key) return "the existing files cannot be read";
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return "the existing key does not match the certificate";
  }
  std::time_t renew = now + kRenewBefore;
  if (X509_cmp_time(X509_get0_notAfter(cert.get()), &renew) <= 0) return "the certificate expires within 30 days";
  if (X509_cmp_time(X509_get0_notBefore(cert.get()), &now) > 0) return "the certificate is not valid yet";
  if (certificate_names(cert.get()) != wanted_names(config)) return "the host names or addresses changed";
  return "";
}

// Writes `data` to a temporary file next to `path` with `mode`, then renames it over `path`.
Status write_file_atomically(const std::string& path, const std::string& data, mode_t mode) {
  const std::string tmp = path + ".tmp-" + random_hex_id(6);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::io_error("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, mode) == 0;  // the umask may have narrowed or the file system widened it
  std::size_t done = 0;
  while (ok && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (ok && ::rename(tmp.c_str(), path.c_str()) == 0) return Status();
  if (ok) saved = errno;
  ::unlink(tmp.c_str());
  return Status::io_error("cannot write " + path + ": " + std::strerror(saved));
}

Status add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return Status::internal("cannot build X.509 extension " + std::string(value));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status() : Status::internal("cannot add X.509 extension " + std::string(value));
}

Status add_subject_alt_names(X509* cert, const TlsConfig& config) {
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  if (names == nullptr) return Status::internal("out of memory");
  auto add = [&](int type, ASN1_STRING* value) {
    GENERAL_NAME* n = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(n, type, value);
    sk_GENERAL_NAME_push(names, n);
  };
  for (const auto& entry : wanted_names(config)) {
    if (entry.rfind("DNS:", 0) == 0) {
      ASN1_IA5STRING* s = ASN1_IA5STRING_new();
      ASN1_STRING_set(s, entry.data() + 4, static_cast<int>(entry.size() - 4));
      add(GEN_DNS, s);
    } else if (auto a = IpAddress::parse(entry.substr(3))) {
      ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(s, a->bytes.data(), a->v6 ? 16 : 4);
      add(GEN_IPADD, s);
    }
  }
  int ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);
  GENERAL_NAMES_free(names);
  return ok == 1 ? Status() : Status::internal("cannot add subjectAltName: " + openssl_errors());
}

// The PEM text written by `write` into a memory BIO; "" on failure.
template <typename Write>
std::string to_pem(Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return "";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Status generate_self_signed(const TlsConfig& config, std::time_t now) {
  if (config.hostnames.empty() && config.ips.empty()) {
    return Status::invalid_argument("tls.hostnames and tls.ips are both empty: the certificate would name no host");
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!key || !cert) return Status::internal("cannot generate a key: " + openssl_errors());
  X509* x = cert.get();
  X509_set_version(x, X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Status::internal("no random bytes: " + openssl_errors());
  serial[0] &= 0x7f;  // positive
  BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)) == nullptr) {
    return Status::internal("cannot set the serial number: " + openssl_errors());
  }
  std::time_t start = now;
  X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &start);  // an hour of clock skew
  X509_time_adj_ex(X509_getm_notAfter(x), kValidityDays, 0, &start);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  std::string cn = !config.hostnames.empty() ? config.hostnames.front() : config.ips.front();
  if (cn.size() > 64) cn = "argus";
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Argus"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  ARGUS_RETURN_IF_ERROR(add_extension(x, NID_basic_constraints, "critical,CA:FALSE"));
  ARGUS_RETURN_IF_ERROR(add_extension(x, NID_key_usage, "critical,digitalSignature"));
  ARGUS_RETURN_IF_ERROR(add_extension(x, NID_ext_key_usage, "serverAuth"));
  ARGUS_RETURN_IF_ERROR(add_extension(x, NID_subject_key_identifier, "hash"));
  ARGUS_RETURN_IF_ERROR(add_extension(x, NID_authority_key_identifier, "keyid:always"));
  ARGUS_RETURN_IF_ERROR(add_subject_alt_names(x, config));
  if (X509_sign(x, key.get(), EVP_sha256()) <= 0) return Status::internal("cannot sign: " + openssl_errors());

  std::string key_pem =
      to_pem([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  std::string cert_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, x); });
  if (key_pem.empty() || cert_pem.empty()) return Status::internal("cannot encode PEM: " + openssl_errors());

  for (const auto& file : {config.key_file, config.cert_file}) {
    auto dir = std::filesystem::path(file).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) return Status::io_error("cannot create " + dir.string() + ": " + ec.message());
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
  }
  // The key first: if we stop between the two, the pair does not match and is made anew.
  ARGUS_RETURN_IF_ERROR(write_file_atomically(config.key_file, key_pem, 0600));
  ARGUS_RETURN_IF_ERROR(write_file_atomically(config.cert_file, cert_pem, 0644));
  return Status();
}

// "" if `path` is a readable file, else why not.
std::string unreadable(const std::string& path) {
  if (path.empty()) return "no path given";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (::access(path.c_str(), R_OK) != 0) return std::strerror(errno);
  return "";
}

std::string format_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string describe_certificate(X509* cert, const std::string& path) {
  if (cert == nullptr) return path;
  char subject[256] = {0};
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
  return std::string(subject) + ", expires " + format_time(X509_get0_notAfter(cert)) + " (" + path + ")";
}

Result<std::shared_ptr<ssl::context>> build_context(const TlsConfig& config, std::string* description) {
  if (std::string why = unreadable(config.cert_file); !why.empty()) {
    return Status::invalid_argument("tls.cert_file " + config.cert_file + ": " + why);
  }
  if (std::string why = unreadable(config.key_file); !why.empty()) {
    return Status::invalid_argument("tls.key_file " + config.key_file + ": " + why);
  }
  std::shared_ptr<ssl::context> context;
  try {
    context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return Status::internal(std::string("cannot create a TLS context: ") + e.what());
  }
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  SSL_CTX_set_options(ctx, SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION |
                               SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  bool ok = SSL_CTX_set_min_proto_version(ctx, config.min_version >= 13 ? TLS1_3_VERSION : TLS1_2_VERSION) == 1 &&
            SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) == 1 && SSL_CTX_set_ciphersuites(ctx, kTls13Suites) == 1 &&
            SSL_CTX_set1_groups_list(ctx, kGroups) == 1;
  if (!ok) return Status::internal("cannot configure TLS: " + openssl_errors());
  static const unsigned char kSessionContext[] = "argus";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
    return Status::invalid_argument("tls.cert_file " + config.cert_file +
                                    ": cannot load a PEM certificate chain: " + openssl_errors());
  }
  PkeyPtr key = read_private_key(config.key_file);
  if (!key) {
    return Status::invalid_argument("tls.key_file " + config.key_file +
                                    ": cannot load a PEM private key (an unencrypted one): " + openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return Status::invalid_argument("tls.key_file " + config.key_file + " does not match the certificate in " +
                                    config.cert_file + ": " + openssl_errors());
  }
  if (description != nullptr) *description = describe_certificate(SSL_CTX_get0_certificate(ctx), config.cert_file);
  return context;
}

}  // namespace

Result<bool> ensure_self_signed_certificate(const TlsConfig& config, std::time_t now) {
  std::string why = reuse_problem(config, now);
  if (why.empty()) {
    // Reused: make sure the key is private even if someone loosened its mode.
    struct stat st {};
    if (::stat(config.key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      ::chmod(config.key_file.c_str(), 0600);
    }
    return false;
  }
  Status s = generate_self_signed(config, now);
  if (!s.ok()) return s.with_context("self-signed TLS certificate");
  log::info("generated a self-signed TLS certificate",
            {{"reason", why}, {"cert_file", config.cert_file}, {"key_file", config.key_file}});
  return true;
}

TlsContextProvider::TlsContextProvider(TlsConfig config, std::shared_ptr<ssl::context> context, std::string description)
    : config_(std::move(config)), context_(std::move(context)), description_(std::move(description)) {}

Result<std::unique_ptr<TlsContextProvider>> TlsContextProvider::create(const TlsConfig& config) {
  if (config.mode == TlsMode::kDisabled) return Status::invalid_argument("tls.mode is disabled");
  if (config.mode == TlsMode::kSelfSigned) {
    auto made = ensure_self_signed_certificate(config);
    if (!made.ok()) return made.status();
  }
  std::string description;
  auto context = build_context(config, &description);
  if (!context.ok()) return context.status();
  return std::unique_ptr<TlsContextProvider>(
      new TlsContextProvider(config, std::move(context).value(), std::move(description)));
}

std::shared_ptr<ssl::context> TlsContextProvider::current() const {
  std::lock_guard lock(mu_);
  return context_;
}

Status TlsContextProvider::reload() {
  if (config_.mode == TlsMode::kSelfSigned) {
    auto made = ensure_self_signed_certificate(config_);
    if (!made.ok()) return made.status();
  }
  std::string description;
  auto context = build_context(config_, &description);
  if (!context.ok()) return context.status();
  std::lock_guard lock(mu_);
  context_ = std::move(context).value();
  description_ = std::move(description);
  return Status();
}

std::string TlsContextProvider::describe() const {
  std::lock_guard lock(mu_);
  return description_;
}

}  // namespace argus::api
