// Identifiers and encodings: random ids, slugs, base64url.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace argus {

// A random identifier of `bytes` random bytes as lowercase hex (thread-safe; seeded from
// the OS). Used for request ids; not for secrets.
std::string random_hex_id(std::size_t bytes = 8);

// A slug: 1..64 characters of [a-z0-9_-], starting with a letter or digit.
bool is_valid_slug(std::string_view s);

// RFC 4648 §5 base64url without padding.
std::string base64url_encode(std::string_view bytes);
// Accepts input with or without padding; nullopt on any invalid character.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace argus
