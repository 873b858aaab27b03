#include "api/openapi.h"

#include <gtest/gtest.h>

namespace argus::api {
namespace {

nlohmann::json convert(std::string_view yaml) {
  auto r = yaml_text_to_json(yaml);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nlohmann::json();
}

TEST(OpenApiYaml, PlainScalarsFollowTheCoreSchema) {
  auto j = convert(
      "a: 1\nb: -12\nc: 0.5\nd: true\ne: False\nf: ~\ng:\nh: null\ni: hello world\nj: 1.2.3\nk: .5\n"
      "l: 99999999999999999999\nm: +7\n");
  EXPECT_EQ(j["a"], 1);
  EXPECT_TRUE(j["a"].is_number_integer());
  EXPECT_EQ(j["b"], -12);
  EXPECT_EQ(j["c"], 0.5);
  EXPECT_EQ(j["d"], true);
  EXPECT_EQ(j["e"], false);
  EXPECT_TRUE(j["f"].is_null());
  EXPECT_TRUE(j["g"].is_null());
  EXPECT_TRUE(j["h"].is_null());
  EXPECT_EQ(j["i"], "hello world");
  EXPECT_EQ(j["j"], "1.2.3");
  EXPECT_EQ(j["k"], 0.5);
  EXPECT_TRUE(j["l"].is_number_float());
  EXPECT_EQ(j["m"], 7);
}

TEST(OpenApiYaml, QuotedAndBlockScalarsStayStrings) {
  auto j = convert("a: \"1\"\nb: 'true'\nc: \"\"\nd: |\n  line one\n  line two\ne: >\n  42\nf: \"0.1.0\"\n");
  EXPECT_EQ(j["a"], "1");
  EXPECT_EQ(j["b"], "true");
  EXPECT_EQ(j["c"], "");
  EXPECT_EQ(j["d"], "line one\nline two\n");
  EXPECT_EQ(j["e"], "42\n");
  EXPECT_EQ(j["f"], "0.1.0");
}

TEST(OpenApiYaml, KeysAreStringsAndWordsThatAreNotBooleansStayStrings) {
  auto j = convert("\"200\": ok\n404: gone\ntrue: x\nyes: no\non: off\nlist: [1, \"2\", three, {k: v}]\nempty: {}\n");
  EXPECT_EQ(j["200"], "ok");
  EXPECT_EQ(j["404"], "gone");
  EXPECT_EQ(j["true"], "x");
  EXPECT_EQ(j["yes"], "no");  // YAML 1.2: not booleans
  EXPECT_EQ(j["on"], "off");
  EXPECT_EQ(j["list"], nlohmann::json::parse(R"([1, "2", "three", {"k": "v"}])"));
  EXPECT_TRUE(j["empty"].is_object());
}

TEST(OpenApiYaml, MalformedYamlIsAnErrorWithItsLine) {
  auto r = yaml_text_to_json("a: 1\nb: [unclosed\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line"), std::string::npos) << r.status().message();
  EXPECT_FALSE(yaml_text_to_json("[a, b]: c\n").ok());  // a key that is not a scalar
}

TEST(OpenApiDocument, TheEmbeddedDocumentConverts) {
  const auto& doc = openapi_document();
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  auto j = nlohmann::json::parse(*doc->json);
  EXPECT_EQ(j["openapi"], "3.1.0");
  EXPECT_TRUE(j["paths"].contains("/api/v1/openapi.json"));
  EXPECT_TRUE(j["paths"]["/health"]["get"]["responses"].contains("200"));
  EXPECT_EQ(doc->etag.front(), '"');
  EXPECT_EQ(&openapi_document(), &doc);  // converted once
}

}  // namespace
}  // namespace argus::api
