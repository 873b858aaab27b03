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

}  // namespace
}  // namespace argus::api
