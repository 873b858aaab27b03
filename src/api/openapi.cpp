#include "api/openapi.h"

#include <charconv>
#include <cmath>
#include <regex>

#include <yaml-cpp/yaml.h>

#include "api/json_body.h"

namespace argus::api {
namespace embedded {
extern const char kOpenApiYaml[];
}  // namespace embedded

namespace {

// Nesting bound: the document is ours, but the converter is general and must not recurse
// without end on hostile input.
constexpr int kMaxDepth = 128;

bool one_of(const std::string& s, std::initializer_list<std::string_view> words) {
  for (auto w : words) {
    if (s == w) return true;
  }
  return false;
}

nlohmann::json plain_scalar(const std::string& s) {
  if (s.empty() || one_of(s, {"~", "null", "Null", "NULL"})) return nullptr;
  if (one_of(s, {"true", "True", "TRUE"})) return true;
  if (one_of(s, {"false", "False", "FALSE"})) return false;
  // YAML 1.2 core schema: [-+]?[0-9]+ and [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (std::regex_match(s, kInt)) {
    long long i = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
    if (ec == std::errc() && p == digits.data() + digits.size()) return i;
    // Beyond 64 bits: fall through to a double, as JSON readers would.
  }
  if (std::regex_match(s, kInt) || std::regex_match(s, kFloat)) {
    double d = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    if (ec == std::errc() && p == digits.data() + digits.size() && std::isfinite(d)) return d;
  }
  return s;
}

Status convert(const YAML::Node& node, nlohmann::json& out, int depth) {
  if (depth > kMaxDepth) return Status::invalid_argument("YAML nested deeper than " + std::to_string(kMaxDepth));
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out = nullptr;
      return Status::ok_status();
    case YAML::NodeType::Sequence: {
      out = nlohmann::json::array();
      for (const auto& item : node) {
        nlohmann::json v;
        if (Status s = convert(item, v, depth + 1); !s.ok()) return s;
        out.push_back(std::move(v));
      }
      return Status::ok_status();
    }
    case YAML::NodeType::Map: {
      out = nlohmann::json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return Status::invalid_argument("a mapping key that is not a scalar at line " +
                                          std::to_string(kv.first.Mark().line + 1));
        }
        nlohmann::json v;
        if (Status s = convert(kv.second, v, depth + 1); !s.ok()) return s;
        out[kv.first.Scalar()] = std::move(v);
      }
      return Status::ok_status();
    }
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted and block scalars "!" (non-specific, so: a string) and plain
      // ones "?" (resolved by the schema).
      out = node.Tag() == "?" ? plain_scalar(node.Scalar()) : nlohmann::json(node.Scalar());
      return Status::ok_status();
  }
  out = nullptr;
  return Status::ok_status();
}

}  // namespace

Result<nlohmann::json> yaml_text_to_json(std::string_view yaml) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    nlohmann::json out;
    if (Status s = convert(root, out, 0); !s.ok()) return s;
    return out;
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument("not valid YAML: " + e.msg + " at line " + std::to_string(e.mark.line + 1) +
                                    ", column " + std::to_string(e.mark.column + 1));
  }
}

const Result<OpenApiDocument>& openapi_document() {
  static const Result<OpenApiDocument> kDocument = []() -> Result<OpenApiDocument> {
    auto doc = yaml_text_to_json(embedded::kOpenApiYaml);
    if (!doc.ok()) return Status::internal("docs/openapi.yaml: " + doc.status().message());
    OpenApiDocument out;
    out.json = std::make_shared<const std::string>(doc->dump());
    out.etag = make_etag(*out.json);
    return out;
  }();
  return kDocument;
}

}  // namespace argus::api
