#include "api/websocket.h"

#include <random>

#include <gtest/gtest.h>

namespace argus::api::ws {
namespace {

// A client frame: masked with a fixed key unless `mask` is false.
std::string client_frame(std::uint8_t first_byte, std::string_view payload, bool mask = true) {
  std::string f;
  f.push_back(static_cast<char>(first_byte));
  const std::uint8_t m = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(m | payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    f.push_back(static_cast<char>(m | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    f.push_back(static_cast<char>(m | 127));
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((payload.size() >> shift) & 0xFF));
  }
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (mask) f.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(mask ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i]);
  return f;
}

std::string text(std::string_view payload) { return client_frame(0x81, payload); }

TEST(WebSocket, AcceptKeyMatchesTheRfcExample) {
  // RFC 6455 §1.3.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ"));     // no padding
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZR=="));   // stray low bits
  EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25j!Q=="));   // not base64
  EXPECT_FALSE(valid_client_key(""));
}

TEST(WebSocket, FrameHeadersUseTheShortestLength) {
  EXPECT_EQ(frame_header(Opcode::kText, 5), std::string("\x81\x05", 2));
  EXPECT_EQ(frame_header(Opcode::kText, 126), std::string("\x81\x7e\x00\x7e", 4));
  EXPECT_EQ(frame_header(Opcode::kText, 65535), std::string("\x81\x7e\xff\xff", 4));
  std::string big = frame_header(Opcode::kBinary, 65536);
  ASSERT_EQ(big.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(big[1]), 127);
  EXPECT_EQ(big.substr(2), std::string("\x00\x00\x00\x00\x00\x01\x00\x00", 8));
  std::string close = close_frame(1001, "bye");
  EXPECT_EQ(close, std::string("\x88\x05\x03\xe9" "bye", 7));
  // Reasons are cut to fit a control frame, never inside a UTF-8 sequence.
  std::string long_reason(200, 'a');
  long_reason[122] = '\xc3';
  long_reason[123] = '\xa9';
  EXPECT_LE(close_frame(1000, long_reason).size(), 2u + 125u);
  EXPECT_TRUE(valid_utf8(close_frame(1000, std::string(121, 'a') + "\xc3\xa9\xc3\xa9").substr(4)));
}

TEST(WebSocket, Utf8Validation) {
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xc3\x28"));          // bad continuation
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong 3-byte
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(valid_utf8("\x80"));
}

TEST(FrameReader, ReadsMaskedTextFedByteByByte) {
  FrameReader r(1024);
  std::string f = text("{\"op\":\"ping\"}");
  for (std::size_t i = 0; i + 1 < f.size(); ++i) {
    r.feed(f.substr(i, 1));
    EXPECT_FALSE(r.next()) << "complete after " << i + 1 << " bytes";
  }
  r.feed(f.substr(f.size() - 1));
  auto m = r.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Incoming::Kind::kText);
  EXPECT_EQ(m->payload, "{\"op\":\"ping\"}");
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, JoinsFragmentsAndAnswersControlFramesBetweenThem) {
  FrameReader r(1024);
  r.feed(client_frame(0x01, "hel") + client_frame(0x89, "p") + client_frame(0x00, "lo ") + client_frame(0x80, "world"));
  auto ping = r.next();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->kind, Incoming::Kind::kPing);
  EXPECT_EQ(ping->payload, "p");
  auto m = r.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Incoming::Kind::kText);
  EXPECT_EQ(m->payload, "hello world");
  EXPECT_FALSE(r.next());
}

TEST(FrameReader, ReadsLongLengthsAndCloseFrames) {
  FrameReader r(1 << 20);
  std::string payload(70000, 'z');
  r.feed(client_frame(0x82, payload) + client_frame(0x88, std::string("\x03\xe8", 2) + "done") + client_frame(0x88, ""));
  auto m = r.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Incoming::Kind::kBinary);
  EXPECT_EQ(m->payload.size(), 70000u);
  auto c = r.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, Incoming::Kind::kClose);
  EXPECT_EQ(c->code, 1000);
  EXPECT_EQ(c->reason, "done");
  auto empty = r.next();
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->code, 1005);
}

struct Violation {
  const char* name;
  std::string bytes;
  std::uint16_t code;
};

TEST(FrameReader, ProtocolViolationsNameTheirCloseCode) {
  std::string non_minimal = "\x81\xfe";
  non_minimal += std::string("\x00\x05", 2) + "abcd" + "hello";
  const std::vector<Violation> cases = {
      {"unmasked", client_frame(0x81, "x", false), kCloseProtocolError},
      {"rsv1", client_frame(0xC1, "x"), kCloseProtocolError},
      {"opcode 3", client_frame(0x83, ""), kCloseProtocolError},
      {"opcode 11", client_frame(0x8B, ""), kCloseProtocolError},
      {"fragmented ping", client_frame(0x09, ""), kCloseProtocolError},
      {"long ping", client_frame(0x89, std::string(126, 'p')), kCloseProtocolError},
      {"stray continuation", client_frame(0x80, "x"), kCloseProtocolError},
      {"text inside a message", client_frame(0x01, "a") + client_frame(0x81, "b"), kCloseProtocolError},
      {"non-minimal length", non_minimal, kCloseProtocolError},
      {"bad utf-8", text("\xc3\x28"), kCloseInvalidPayload},
      {"bad utf-8 across fragments", client_frame(0x01, "\xe2\x82") + client_frame(0x80, "x"), kCloseInvalidPayload},
      {"one-byte close", client_frame(0x88, "\x03"), kCloseProtocolError},
      {"close code 1005", client_frame(0x88, std::string("\x03\xed", 2)), kCloseProtocolError},
      {"close code 999", client_frame(0x88, std::string("\x03\xe7", 2)), kCloseProtocolError},
      {"close reason not utf-8", client_frame(0x88, std::string("\x03\xe8\xff", 3)), kCloseInvalidPayload},
      {"too big", text(std::string(2000, 'a')), kCloseTooBig},
      {"too big across fragments", client_frame(0x01, std::string(800, 'a')) + client_frame(0x80, std::string(800, 'a')),
       kCloseTooBig},
  };
  for (const auto& v : cases) {
    FrameReader r(1024);
    r.feed(v.bytes);
    auto m = r.next();
    ASSERT_TRUE(m) << v.name;
    EXPECT_EQ(m->kind, Incoming::Kind::kError) << v.name;
    EXPECT_EQ(m->code, v.code) << v.name << ": " << m->reason;
    EXPECT_TRUE(r.failed()) << v.name;
    EXPECT_FALSE(r.next()) << v.name;
  }
}

TEST(FrameReader, TooBigIsRejectedFromTheHeaderAlone) {
  // A client announcing a huge frame is refused before the payload arrives.
  FrameReader r(1024);
  std::string header = "\x81\xff";
  header += std::string("\x00\x00\x00\x01\x00\x00\x00\x00", 8);
  header += "mask";
  r.feed(header);
  auto m = r.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->code, kCloseTooBig);
}

TEST(FrameReader, RandomBytesNeverCrashAndStayBounded) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    FrameReader r(4096);
    std::string junk(static_cast<std::size_t>(rng() % 300), '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    r.feed(junk);
    while (auto m = r.next()) {
      if (m->kind == Incoming::Kind::kText) {
        EXPECT_TRUE(valid_utf8(m->payload));
      }
    }
    EXPECT_LE(r.buffered(), 4096u + 300u);
  }
}

}  // namespace
}  // namespace argus::api::ws
