#include "api/router.h"

#include <gtest/gtest.h>

namespace argus::api {
namespace {

Handler named(std::string name) {
  return [name](Request&) { return Response::text(200, name, "text/plain"); };
}

Request req(Method m, std::string path) {
  Request r;
  r.method = m;
  r.path = std::move(path);
  return r;
}

std::string call(const Router& router, Request& r) {
  auto m = router.match(r);
  EXPECT_EQ(m.status, 200);
  return m.route ? *m.route->handler(r).body : "";
}

TEST(Router, MatchesLiteralsAndParameters) {
  Router router;
  router.add(Method::kGet, "/api/v1/cameras", Access::open(), named("list"));
  router.add(Method::kGet, "/api/v1/cameras/{id}", Access::open(), named("get"));
  router.add(Method::kGet, "/api/v1/cameras/{id}/frames", Access::open(), named("frames"));
  auto r1 = req(Method::kGet, "/api/v1/cameras");
  EXPECT_EQ(call(router, r1), "list");
  EXPECT_EQ(r1.route, "/api/v1/cameras");
  auto r2 = req(Method::kGet, "/api/v1/cameras/front-door");
  EXPECT_EQ(call(router, r2), "get");
  EXPECT_EQ(r2.param("id"), "front-door");
  EXPECT_EQ(r2.route, "/api/v1/cameras/{id}");
  auto r3 = req(Method::kGet, "/api/v1/cameras/x/frames");
  EXPECT_EQ(call(router, r3), "frames");
  EXPECT_EQ(r3.param("id"), "x");
}

TEST(Router, LiteralWinsOverParameter) {
  Router router;
  router.add(Method::kGet, "/a/{id}", Access::open(), named("param"));
  router.add(Method::kGet, "/a/special", Access::open(), named("literal"));
  auto r1 = req(Method::kGet, "/a/special");
  EXPECT_EQ(call(router, r1), "literal");
  auto r2 = req(Method::kGet, "/a/other");
  EXPECT_EQ(call(router, r2), "param");
}

TEST(Router, DecodesParametersAndRejectsBadEscapes) {
  Router router;
  router.add(Method::kGet, "/a/{id}", Access::open(), named("param"));
  auto r1 = req(Method::kGet, "/a/x%2Fy");
  EXPECT_EQ(call(router, r1), "param");
  EXPECT_EQ(r1.param("id"), "x/y");
  auto r2 = req(Method::kGet, "/a/%zz");
  EXPECT_EQ(router.match(r2).status, 404);
  auto r3 = req(Method::kGet, "/a/%00");
  EXPECT_EQ(router.match(r3).status, 404);
}

TEST(Router, NotFoundAndMethodNotAllowed) {
  Router router;
  router.add(Method::kGet, "/a", Access::open(), named("get"));
  router.add(Method::kPost, "/a", Access::open(), named("post"));
  router.add(Method::kDelete, "/a/{id}", Access::open(), named("del"));
  auto r1 = req(Method::kGet, "/b");
  EXPECT_EQ(router.match(r1).status, 404);
  auto r2 = req(Method::kGet, "/a/b/c");
  EXPECT_EQ(router.match(r2).status, 404);
  auto r3 = req(Method::kPatch, "/a");
  auto m = router.match(r3);
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  auto r4 = req(Method::kGet, "/a/");  // empty parameter segment does not match {id}
  EXPECT_EQ(router.match(r4).status, 404);
}

TEST(Router, HeadUsesGetHandler) {
  Router router;
  router.add(Method::kGet, "/a", Access::open(), named("get"));
  auto r = req(Method::kHead, "/a");
  EXPECT_EQ(call(router, r), "get");
}

TEST(Router, RoutesListsEachMethodOnce) {
  Router router;
  router.add(Method::kGet, "/a", Access::open(), named("1"));
  router.add(Method::kGet, "/a", Access::open(), named("2"));
  router.add(Method::kPost, "/a", Access::open(), named("3"));
  auto routes = router.routes();
  ASSERT_EQ(routes.size(), 2u);
  auto r = req(Method::kGet, "/a");
  EXPECT_EQ(call(router, r), "2");
}

TEST(Router, TailParameterTakesTheRestOfThePathDecodedOnce) {
  Router router;
  router.add(Method::kGet, "/media/{path...}", Access::open(), named("media"));
  router.add(Method::kGet, "/media/list", Access::open(), named("list"));
  router.add(Method::kGet, "/items/{id}/files/{rest...}", Access::open(), named("files"));

  auto r1 = req(Method::kGet, "/media/snapshots/front/2026-01-31/e1.jpg");
  EXPECT_EQ(call(router, r1), "media");
  EXPECT_EQ(r1.param("path"), "snapshots/front/2026-01-31/e1.jpg");
  EXPECT_EQ(r1.route, "/media/{path...}");
  auto one = req(Method::kGet, "/media/a.jpg");
  EXPECT_EQ(call(router, one), "media");
  EXPECT_EQ(one.param("path"), "a.jpg");
  // Literals still win at their segment.
  auto r2 = req(Method::kGet, "/media/list");
  EXPECT_EQ(call(router, r2), "list");
  // Decoded once: an encoded escape stays an escape, for the handler to refuse.
  auto r3 = req(Method::kGet, "/media/%2e%2e%2fargus.db");
  EXPECT_EQ(call(router, r3), "media");
  EXPECT_EQ(r3.param("path"), "../argus.db");
  auto r4 = req(Method::kGet, "/media/%252e%252e%252f");
  EXPECT_EQ(call(router, r4), "media");
  EXPECT_EQ(r4.param("path"), "%2e%2e%2f");
  auto r5 = req(Method::kGet, "/media/../x");
  EXPECT_EQ(call(router, r5), "media");
  EXPECT_EQ(r5.param("path"), "../x");
  auto r6 = req(Method::kGet, "/media//etc/passwd");
  EXPECT_EQ(call(router, r6), "media");
  EXPECT_EQ(r6.param("path"), "/etc/passwd");
  // With ordinary parameters before it.
  auto r7 = req(Method::kGet, "/items/42/files/a/b%20c.txt");
  EXPECT_EQ(call(router, r7), "files");
  EXPECT_EQ(r7.param("id"), "42");
  EXPECT_EQ(r7.param("rest"), "a/b c.txt");
  // Never empty; malformed escapes and encoded NUL are 404.
  for (const char* path : {"/media", "/media/", "/media/a%zz", "/media/a%00b", "/items/42/files"}) {
    auto r = req(Method::kGet, path);
    EXPECT_EQ(router.match(r).status, 404) << path;
  }
  // Other methods: 405 with the tail route's Allow.
  auto r8 = req(Method::kPost, "/media/a.jpg");
  auto m = router.match(r8);
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, HEAD");
}

}  // namespace
}  // namespace argus::api
