// Fuzzes the WebSocket frame reader (api/websocket.h) with what a hostile client could
// send: the input is split into chunks (sizes from its first bytes) as a socket would
// deliver it. Checks the reader's promises: whole text messages are UTF-8, control
// payloads are at most 125 bytes, nothing is read after an error, and the bytes it holds
// stay within one frame plus one message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/websocket.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using argus::api::ws::FrameReader;
  using argus::api::ws::Incoming;
  constexpr std::size_t kMax = 4096;
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  FrameReader reader(kMax);
  bool failed = false;
  for (std::size_t off = 0; off < input.size(); off += chunk) {
    reader.feed(input.substr(off, chunk));
    while (auto m = reader.next()) {
      if (failed) std::abort();  // nothing after an error
      switch (m->kind) {
        case Incoming::Kind::kText:
          if (!argus::api::ws::valid_utf8(m->payload) || m->payload.size() > kMax) std::abort();
          break;
        case Incoming::Kind::kBinary:
          if (m->payload.size() > kMax) std::abort();
          break;
        case Incoming::Kind::kPing:
        case Incoming::Kind::kPong:
          if (m->payload.size() > 125) std::abort();
          break;
        case Incoming::Kind::kClose:
          if (m->reason.size() > 123) std::abort();
          break;
        case Incoming::Kind::kError:
          if (m->code != 1002 && m->code != 1007 && m->code != 1009) std::abort();
          failed = true;
          break;
      }
    }
    // A frame's header plus payload (at most kMax + 14), a partial message, one chunk.
    if (reader.buffered() > 2 * kMax + 14 + chunk) std::abort();
  }
  return 0;
}
