#include "api/websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>

namespace argus::api::ws {
namespace {

// RFC 6455 §1.3: the GUID appended to the client's key.
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

constexpr std::size_t kMaxControlPayload = 125;

bool valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // registered and private use
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
      return true;
    default:
      return false;  // 1004-1006 and 1015 must not be sent; others are unassigned
  }
}

}  // namespace

std::string accept_key(std::string_view client_key) {
  std::string input(client_key);
  input += kGuid;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> out{};
  int n = EVP_EncodeBlock(out.data(), digest.data(), static_cast<int>(digest.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n));
}

bool valid_client_key(std::string_view key) {
  // 16 bytes encode to 22 significant characters and "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (std::size_t i = 0; i < 22; ++i) {
    char c = key[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!ok) return false;
  }
  // The last significant character carries 2 bits: its low 4 bits must be zero.
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return (kAlphabet.find(key[21]) & 0x0F) == 0;
}

std::string frame_header(Opcode opcode, std::size_t payload_size) {
  std::string h;
  h.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  if (payload_size < 126) {
    h.push_back(static_cast<char>(payload_size));
  } else if (payload_size <= 0xFFFF) {
    h.push_back(static_cast<char>(126));
    h.push_back(static_cast<char>((payload_size >> 8) & 0xFF));
    h.push_back(static_cast<char>(payload_size & 0xFF));
  } else {
    h.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      h.push_back(static_cast<char>((static_cast<std::uint64_t>(payload_size) >> shift) & 0xFF));
    }
  }
  return h;
}

std::string frame(Opcode opcode, std::string_view payload) {
  std::string f = frame_header(opcode, payload.size());
  f += payload;
  return f;
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  reason = reason.substr(0, kMaxControlPayload - 2);
  // Do not cut a UTF-8 sequence in half.
  while (!reason.empty() && !valid_utf8(reason)) reason.remove_suffix(1);
  payload += reason;
  return frame(Opcode::kClose, payload);
}

bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte first, overlong 2-byte lead, or > U+10FFFF lead
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    p += extra + 1;
  }
  return true;
}

FrameReader::FrameReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

void FrameReader::feed(std::string_view bytes) {
  if (failed_) return;
  if (offset_ > 0) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

Incoming FrameReader::fail(std::uint16_t code, std::string reason) {
  failed_ = true;
  buffer_.clear();
  buffer_.shrink_to_fit();
  message_.clear();
  message_.shrink_to_fit();
  offset_ = 0;
  Incoming e;
  e.kind = Incoming::Kind::kError;
  e.code = code;
  e.reason = std::move(reason);
  return e;
}

std::optional<Incoming> FrameReader::next() {
  while (!failed_) {
    const std::size_t available = buffer_.size() - offset_;
    if (available < 2) return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + offset_);
    const bool fin = (p[0] & 0x80) != 0;
    if ((p[0] & 0x70) != 0) return fail(kCloseProtocolError, "reserved bits set (no extension was negotiated)");
    const std::uint8_t op = p[0] & 0x0F;
    const bool control = (op & 0x08) != 0;
    if (op != 0x0 && op != 0x1 && op != 0x2 && op != 0x8 && op != 0x9 && op != 0xA) {
      return fail(kCloseProtocolError, "unknown opcode " + std::to_string(op));
    }
    if ((p[1] & 0x80) == 0) return fail(kCloseProtocolError, "client frames must be masked");
    std::uint64_t length = p[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (available < 4) return std::nullopt;
      length = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
      if (length < 126) return fail(kCloseProtocolError, "payload length not minimally encoded");
    } else if (length == 127) {
      if (available < 10) return std::nullopt;
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
      header = 10;
      if ((length >> 63) != 0) return fail(kCloseProtocolError, "payload length has its top bit set");
      if (length <= 0xFFFF) return fail(kCloseProtocolError, "payload length not minimally encoded");
    }
    if (control) {
      if (!fin) return fail(kCloseProtocolError, "control frames must not be fragmented");
      if (length > kMaxControlPayload) return fail(kCloseProtocolError, "control frame payload over 125 bytes");
    } else {
      if (op == 0x0 && !in_message_) return fail(kCloseProtocolError, "continuation frame without a message");
      if (op != 0x0 && in_message_) return fail(kCloseProtocolError, "new message before the previous one ended");
      if (length > max_message_bytes_ || message_.size() + length > max_message_bytes_) {
        return fail(kCloseTooBig, "message larger than " + std::to_string(max_message_bytes_) + " bytes");
      }
    }
    header += 4;  // masking key
    if (available < header || available - header < length) return std::nullopt;
    const unsigned char* mask = p + header - 4;
    std::string payload(reinterpret_cast<const char*>(p + header), static_cast<std::size_t>(length));
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    offset_ += header + static_cast<std::size_t>(length);
    if (offset_ == buffer_.size()) {
      buffer_.clear();
      offset_ = 0;
    }

    if (control) {
      Incoming e;
      if (op == 0x8) {
        e.kind = Incoming::Kind::kClose;
        if (payload.size() == 1) return fail(kCloseProtocolError, "close frame with a one-byte payload");
        if (payload.size() >= 2) {
          e.code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                              static_cast<unsigned char>(payload[1]));
          if (!valid_close_code(e.code)) return fail(kCloseProtocolError, "invalid close code " + std::to_string(e.code));
          e.reason = payload.substr(2);
          if (!valid_utf8(e.reason)) return fail(kCloseInvalidPayload, "close reason is not UTF-8");
        } else {
          e.code = 1005;  // no status received
        }
        return e;
      }
      e.kind = op == 0x9 ? Incoming::Kind::kPing : Incoming::Kind::kPong;
      e.payload = std::move(payload);
      return e;
    }

    if (op != 0x0) {
      in_message_ = true;
      message_is_text_ = op == 0x1;
    }
    message_ += payload;
    if (!fin) continue;
    in_message_ = false;
    Incoming e;
    e.kind = message_is_text_ ? Incoming::Kind::kText : Incoming::Kind::kBinary;
    e.payload = std::move(message_);
    message_.clear();
    if (message_is_text_ && !valid_utf8(e.payload)) return fail(kCloseInvalidPayload, "text message is not UTF-8");
    return e;
  }
  return std::nullopt;
}

}  // namespace argus::api::ws
