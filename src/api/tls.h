// TLS for the HTTP server: the server context built from the configuration, the
// self-signed certificate made on first start, and reloading certificates on SIGHUP.
//
// TlsContextProvider holds the current boost::asio::ssl::context behind a shared_ptr. The
// server takes current() for each accepted connection and keeps it for the life of that
// connection; reload() builds a new context from the files and swaps it in, so new
// connections use the new certificate while existing ones keep theirs.
//
// Every context: TLS server, TLS 1.2 or 1.3 as the minimum (per tls.min_version; SSLv3,
// TLS 1.0 and 1.1 are never offered), forward-secret AEAD cipher suites only (ECDHE with
// AES-GCM or ChaCha20-Poly1305), X25519/P-256/P-384 key exchange, no compression, no
// renegotiation, no session tickets.
//
// Threading: current() and reload() may be called from any thread.
#pragma once

#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "core/config.h"
#include "core/status.h"

namespace boost::asio::ssl {
class context;
}

namespace argus::api {

// For tls.mode self_signed: makes sure config.cert_file and config.key_file hold an EC
// P-256 key and a self-signed X.509 v3 certificate for config.hostnames and config.ips
// (subjectAltName DNS and IP entries, CA:FALSE, digitalSignature, serverAuth), valid for
// a year from `now`. Existing files are reused unless they cannot be read, do not match,
// expire within 30 days of `now` or name other hosts; then new ones are written (key mode
// 0600, each file written to a temporary name and renamed). Returns true if it wrote new
// files. IOError naming the path if a file cannot be written.
Result<bool> ensure_self_signed_certificate(const TlsConfig& config, std::time_t now = std::time(nullptr));

class TlsContextProvider {
 public:
  // Builds the first context: for self_signed, after ensure_self_signed_certificate(); for
  // provided, from the files as they are. InvalidArgument naming the file and OpenSSL's
  // reason if a file is missing, unreadable, not PEM, or the key does not match the
  // certificate. config.mode must not be disabled.
  static Result<std::unique_ptr<TlsContextProvider>> create(const TlsConfig& config);

  // The context for a new connection. Never null.
  std::shared_ptr<boost::asio::ssl::context> current() const;

  // Reads the certificate and key files again and, if they load and match, makes them
  // current. On error the current context stays and the Status says why.
  Status reload();

  // "CN=..., expires 2026-01-01T00:00:00Z (/path/cert.pem)" for the log.
  std::string describe() const;

 private:
  TlsContextProvider(TlsConfig config, std::shared_ptr<boost::asio::ssl::context> context, std::string description);

  const TlsConfig config_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;  // guarded by mu_
  std::string description_;                             // guarded by mu_
};

}  // namespace argus::api
