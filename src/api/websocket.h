// The server side of the WebSocket protocol (RFC 6455), as plain functions over bytes:
// the opening handshake's accept key, frame headers for what the server sends, and an
// incremental reader of what clients send. No sockets here: the HTTP server moves the
// bytes, so this is unit-tested and fuzzed on its own.
//
// Why not Beast's websocket::stream: stream fan-out sends one message to thousands of
// connections. Writing frames ourselves lets the server precompute a message's frame
// header once, share the payload bytes with every subscriber, and send whatever a
// connection has queued in one gathered write (one system call per batch, not per
// message); control frames (pong, close) go through the same single writer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace argus::api::ws {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes (RFC 6455 §7.4.1) the server sends.
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kCloseProtocolError = 1002;
inline constexpr std::uint16_t kCloseUnsupportedData = 1003;
inline constexpr std::uint16_t kCloseInvalidPayload = 1007;  // e.g. text that is not UTF-8
inline constexpr std::uint16_t kClosePolicyViolation = 1008;
inline constexpr std::uint16_t kCloseTooBig = 1009;
inline constexpr std::uint16_t kCloseInternalError = 1011;

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view client_key);
// A valid Sec-WebSocket-Key is the base64 encoding of 16 bytes (24 characters, "==" at the end).
bool valid_client_key(std::string_view key);

// The header of an unmasked, final (FIN) server frame carrying `payload_size` bytes:
// 2, 4 or 10 bytes.
std::string frame_header(Opcode opcode, std::size_t payload_size);
// A whole unmasked server frame (control frames and small replies).
std::string frame(Opcode opcode, std::string_view payload);
// A close frame with `code` and a reason (truncated to fit the 125-byte control limit).
std::string close_frame(std::uint16_t code, std::string_view reason);

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool valid_utf8(std::string_view text);

// What a client sent, one complete message or control frame at a time.
struct Incoming {
  enum class Kind {
    kText,    // payload: the whole message (fragments joined), valid UTF-8
    kBinary,  // payload: the whole message
    kPing,    // payload: the ping's application data (answer with a pong carrying it)
    kPong,
    kClose,   // code (1005 when the frame had none) and reason
    kError,   // a protocol violation: close with `code` (1002, 1007 or 1009); reason says why
  };
  Kind kind = Kind::kText;
  std::string payload;
  std::uint16_t code = 0;
  std::string reason;
};

// Reads client frames incrementally. Enforces what a server must (RFC 6455 §5): frames are
// masked, reserved bits are clear, opcodes are known, control frames are final and at most
// 125 bytes, continuation frames follow an unfinished message, text is UTF-8, close codes
// are valid; messages are limited to `max_message_bytes` (1009 beyond). After a kError
// the reader stops; the connection must be closed with the error's code.
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_message_bytes);

  // Adds received bytes. Bytes are buffered only until the frame they belong to is
  // complete, so memory stays within one frame plus one message.
  void feed(std::string_view bytes);
  // The next complete message or control frame, if the bytes fed so far hold one.
  std::optional<Incoming> next();
  bool failed() const { return failed_; }
  // Bytes held for incomplete frames and messages.
  std::size_t buffered() const { return buffer_.size() - offset_ + message_.size(); }

 private:
  Incoming fail(std::uint16_t code, std::string reason);

  const std::size_t max_message_bytes_;
  std::string buffer_;     // received, not yet parsed (from offset_)
  std::size_t offset_ = 0;
  std::string message_;    // fragments of the message being assembled
  bool in_message_ = false;
  bool message_is_text_ = false;
  bool failed_ = false;
};

}  // namespace argus::api::ws
