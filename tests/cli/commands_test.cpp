#include "cli/commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/credentials.h"
#include "cli/fake_auth_server.h"
#include "cli/session.h"
#include "testing/testing.h"

namespace argus::cli {
namespace {

using testing::FakeAuthServer;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

struct Prompt {
  std::string text;
  bool echo = true;
};

// Runs client commands as `argus` would, with an injected environment: variables, standard
// input, a scripted terminal and captured output.
class CommandsTest : public ::testing::Test {
 protected:
  Outcome run(std::vector<std::string> args, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    Environment env;
    env.var = [this](const std::string& name) {
      auto it = vars_.find(name);
      return it != vars_.end() ? it->second : std::string();
    };
    env.in = &in;
    env.out = &out;
    env.err = &err;
    if (terminal_) {
      env.ask = [this](const std::string& prompt, bool echo) -> Result<std::string> {
        prompts_.push_back({prompt, echo});
        if (answers_.empty()) return Status::cancelled("no input");
        std::string a = answers_.front();
        answers_.erase(answers_.begin());
        return a;
      };
    }
    env.out_terminal = out_terminal_;
    env.sleep = [this](long ms) { slept_ms_ += ms; };
    if (interrupt_when_) env.interrupted = [this, &out] { return interrupt_when_(out.str()); };
    Outcome r;
    CLI::App app{"argus"};
    add_client_commands(app, &r.code, std::move(env));
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    try {
      app.parse(std::move(args));
    } catch (const CLI::ParseError& e) {
      r.code = app.exit(e) == 0 ? 0 : kExitUsage;
    }
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  Outcome login(const FakeAuthServer& server, const std::string& password = FakeAuthServer::kPassword) {
    return run({"login", "--server", server.url(), "--password-stdin"}, password + "\n");
  }

  CredentialMap stored() {
    auto all = CredentialStore(path_).load();
    EXPECT_TRUE(all.ok()) << all.status().to_string();
    return all.ok() ? *all : CredentialMap{};
  }

  void expect_no_token_in(const Outcome& r, const FakeAuthServer& server) {
    for (const std::string& token : server.issued_tokens()) {
      EXPECT_EQ(r.out.find(token), std::string::npos) << "token printed";
      EXPECT_EQ(r.err.find(token), std::string::npos) << "token printed";
    }
    EXPECT_EQ(r.out.find(FakeAuthServer::kPassword), std::string::npos);
    EXPECT_EQ(r.err.find(FakeAuthServer::kPassword), std::string::npos);
  }

  FakeAuthServer server_;
  argus::testing::TempDir dir_;
  std::string path_ = dir_.file("creds/credentials.json");
  std::map<std::string, std::string> vars_{{"ARGUS_CREDENTIALS", path_}, {"HOME", dir_.file("home")}};
  bool terminal_ = false;
  bool out_terminal_ = false;
  long slept_ms_ = 0;
  std::function<bool(const std::string& out)> interrupt_when_;
  std::vector<std::string> answers_;
  std::vector<Prompt> prompts_;
};

TEST_F(CommandsTest, LoginWithPasswordStdinStoresThePrivateSession) {
  Outcome r = login(server_);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "signed in to " + server_.url() + " as admin\n");
  expect_no_token_in(r, server_);
  CredentialMap all = stored();
  ASSERT_EQ(all.count(server_.url()), 1u);
  EXPECT_EQ(all[server_.url()].username, "admin");
  EXPECT_TRUE(server_.refresh_token_valid(all[server_.url()].refresh_token));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The password is not in the file.
  EXPECT_EQ(argus::testing::read_file(path_).find(FakeAuthServer::kPassword), std::string::npos);
}

TEST_F(CommandsTest, LoginAsksOnTheTerminalWithoutEchoingThePassword) {
  terminal_ = true;
  answers_ = {"", FakeAuthServer::kPassword};  // Enter takes the default user
  Outcome r = run({"login", "--server", server_.url()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(prompts_.size(), 2u);
  EXPECT_EQ(prompts_[0].text, "Username [admin]: ");
  EXPECT_TRUE(prompts_[0].echo);
  EXPECT_NE(prompts_[1].text.find("Password"), std::string::npos);
  EXPECT_FALSE(prompts_[1].echo);
}

TEST_F(CommandsTest, LoginWithoutATerminalNeedsPasswordStdin) {
  Outcome r = run({"login", "--server", server_.url()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--password-stdin"), std::string::npos);
  EXPECT_EQ(server_.logins(), 0);
}

TEST_F(CommandsTest, WrongPasswordExits4AndStoresNothing) {
  Outcome r = login(server_, "wrong-password");
  EXPECT_EQ(r.code, kExitUnauthorized);
  EXPECT_NE(r.err.find("invalid username or password"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("wrong-password"), std::string::npos);
  EXPECT_TRUE(stored().empty());
}

TEST_F(CommandsTest, LockedSignInSaysHowLongToWait) {
  server_.set_locked(42);
  Outcome r = login(server_);
  EXPECT_EQ(r.code, kExitUnauthorized);
  EXPECT_NE(r.err.find("wait 42 s"), std::string::npos) << r.err;
}

TEST_F(CommandsTest, UnreachableServerExits3) {
  Outcome r =
      run({"login", "--server", "http://127.0.0.1:" + std::to_string(argus::testing::free_port()), "--password-stdin"},
          "pw\n");
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_NE(r.err.find("cannot reach"), std::string::npos);
}

TEST_F(CommandsTest, StatusAndWhoamiUseTheStoredSession) {
  ASSERT_EQ(login(server_).code, kExitOk);
  vars_["ARGUS_SERVER"] = server_.url();
  Outcome status = run({"status"});
  EXPECT_EQ(status.code, kExitOk) << status.err;
  EXPECT_NE(status.out.find("9.9.9"), std::string::npos);
  Outcome who = run({"whoami"});
  EXPECT_EQ(who.code, kExitOk) << who.err;
  EXPECT_NE(who.out.find("user     admin\n"), std::string::npos) << who.out;
  EXPECT_NE(who.out.find("role     admin\n"), std::string::npos);
  EXPECT_NE(who.out.find("cameras  all\n"), std::string::npos);
  expect_no_token_in(status, server_);
  expect_no_token_in(who, server_);
}

TEST_F(CommandsTest, WhoamiWhenNotSignedInExits4) {
  Outcome r = run({"whoami", "--server", server_.url()});
  EXPECT_EQ(r.code, kExitUnauthorized);
  EXPECT_NE(r.err.find("not signed in"), std::string::npos);
  EXPECT_NE(r.err.find("argus login"), std::string::npos);
}

TEST_F(CommandsTest, StatusWithoutAnyCredentialIsNotAuthorised) {
  Outcome r = run({"status", "--server", server_.url()});
  EXPECT_EQ(r.code, kExitUnauthorized);
  EXPECT_NE(r.err.find("not authorised"), std::string::npos);
  EXPECT_NE(r.err.find("argus login"), std::string::npos);
}

TEST_F(CommandsTest, RefreshBeforeExpiryRotatesTheStoredPair) {
  server_.set_expires_in(10);  // inside the 30 s margin from the start
  ASSERT_EQ(login(server_).code, kExitOk);
  std::string first = stored()[server_.url()].refresh_token;
  Outcome r = run({"status", "--server", server_.url()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_GE(server_.refreshes(), 1);
  std::string now = stored()[server_.url()].refresh_token;
  EXPECT_NE(now, first);
  EXPECT_TRUE(server_.refresh_token_valid(now));
  expect_no_token_in(r, server_);
}

TEST_F(CommandsTest, RefusedRefreshSaysSessionExpiredAndExits4) {
  ASSERT_EQ(login(server_).code, kExitOk);
  server_.expire_access_tokens();
  server_.revoke_sessions();
  for (const char* cmd : {"status", "whoami"}) {
    Outcome r = run({cmd, "--server", server_.url()});
    EXPECT_EQ(r.code, kExitUnauthorized) << cmd;
    EXPECT_NE(r.err.find("session expired: run argus login"), std::string::npos) << r.err;
    expect_no_token_in(r, server_);
  }
}

TEST_F(CommandsTest, TokenFlagAndEnvironmentComeBeforeTheStoredSession) {
  ASSERT_EQ(login(server_).code, kExitOk);
  Outcome r = run({"status", "--server", server_.url(), "--token", "bogus"});
  EXPECT_EQ(r.code, kExitUnauthorized);  // the flag wins, and is not refreshed
  vars_["ARGUS_TOKEN"] = "bogus-env";
  r = run({"status", "--server", server_.url()});
  EXPECT_EQ(r.code, kExitUnauthorized);
  EXPECT_EQ(server_.refreshes(), 0);
  auto auths = server_.authorizations();
  ASSERT_GE(auths.size(), 2u);
  EXPECT_EQ(auths[auths.size() - 2], "Bearer bogus");
  EXPECT_EQ(auths.back(), "Bearer bogus-env");
}

TEST_F(CommandsTest, LogoutRevokesAndRemovesOnlyThatServer) {
  FakeAuthServer other;
  ASSERT_EQ(login(server_).code, kExitOk);
  ASSERT_EQ(login(other).code, kExitOk);
  ASSERT_EQ(stored().size(), 2u);
  std::string refresh = stored()[server_.url()].refresh_token;

  Outcome r = run({"logout", "--server", server_.url() + "/"});  // same server, spelled differently
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "signed out of " + server_.url() + "\n");
  EXPECT_FALSE(server_.refresh_token_valid(refresh));
  CredentialMap all = stored();
  EXPECT_EQ(all.count(server_.url()), 0u);
  EXPECT_EQ(all.count(other.url()), 1u);

  r = run({"logout", "--server", server_.url()});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("not signed in"), std::string::npos);
}

TEST_F(CommandsTest, LogoutOfAnUnreachableServerStillForgetsTheSession) {
  const std::string gone = "http://127.0.0.1:" + std::to_string(argus::testing::free_port());
  {
    CredentialStore store(path_);
    auto lock = store.lock();
    ASSERT_TRUE(lock.ok());
    ASSERT_TRUE(store.put(*lock, gone, {"admin", "a", 0, "r"}).ok());
  }
  Outcome r = run({"logout", "--server", gone});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.err.find("warning"), std::string::npos);
  EXPECT_TRUE(stored().empty());
}

TEST_F(CommandsTest, SigningInAgainEndsThePreviousSession) {
  ASSERT_EQ(login(server_).code, kExitOk);
  std::string first = stored()[server_.url()].refresh_token;
  ASSERT_EQ(login(server_).code, kExitOk);
  EXPECT_FALSE(server_.refresh_token_valid(first));
  EXPECT_TRUE(server_.refresh_token_valid(stored()[server_.url()].refresh_token));
}

const nlohmann::json kStats = {
    {"uptime_seconds", 3725.2},
    {"version", "9.9.9"},
    {"process", {{"cpu_seconds", 12.5}, {"resident_memory_bytes", 1536}, {"open_fds", 9}}},
    {"cameras",
     {{{"id", "front"},
       {"name", "Front"},
       {"state", "online"},
       {"fps_in", 5},
       {"fps_processed", 4.5},
       {"frames_dropped", 2}}}},
    {"detector", {{"kind", "onnx"}, {"workers", 2}, {"queue_depth", 3}, {"queue_capacity", 64}}},
    {"store", {{"kind", "sqlite"}, {"size_bytes", 2097152}}},
    {"streams", {{"subscribers", 4}}},
    {"jobs", {{"queued", 1}, {"running", 0}}},
    {"notifications", {{"queued", 0}, {"dead_letters", 3}}}};

TEST_F(CommandsTest, StatusRendersTheStatsDocument) {
  ASSERT_EQ(login(server_).code, kExitOk);
  vars_["ARGUS_SERVER"] = server_.url();
  server_.set_answer("GET /api/v1/system/stats", 200, kStats);
  Outcome r = run({"status"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  for (const char* line :
       {"version\t9.9.9\n", "uptime\t1h 02m 05s\n", "process\tcpu 12.5 s, memory 1.5 KiB, open files 9\n",
        "detector\tonnx, 2 workers, queue 3/64\n", "store\tsqlite, 2.0 MiB\n", "streams\t4 subscribers\n",
        "jobs\t1 queued, 0 running\n", "notifications\tdead_letters 3, queued 0\n",
        "camera\tfront\tFront\tonline\t5\t4.5\t2\n"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " in\n" << r.out;
  }
  Outcome j = run({"status", "--json"});
  EXPECT_EQ(nlohmann::json::parse(j.out), kStats);
  // A terminal gets a table with a header; colour is off with NO_COLOR.
  out_terminal_ = true;
  vars_["NO_COLOR"] = "1";
  Outcome tty = run({"status"});
  EXPECT_NE(tty.out.find("CAMERA  NAME   STATE   FPS IN"), std::string::npos) << tty.out;
  EXPECT_EQ(tty.out.find("\x1b["), std::string::npos);
  vars_.erase("NO_COLOR");
  tty = run({"status"});
  EXPECT_NE(tty.out.find("\x1b[32monline\x1b[0m"), std::string::npos) << tty.out;
}

TEST_F(CommandsTest, StatusWatchPrintsSnapshotsUntilInterrupted) {
  ASSERT_EQ(login(server_).code, kExitOk);
  vars_["ARGUS_SERVER"] = server_.url();
  server_.set_answer("GET /api/v1/system/stats", 200, kStats);
  interrupt_when_ = [](const std::string& out) {
    std::size_t n = 0;
    for (std::size_t at = out.find("version\t"); at != std::string::npos; at = out.find("version\t", at + 1)) ++n;
    return n >= 3;
  };
  Outcome r = run({"status", "--watch", "2"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(slept_ms_, 4000);                         // two waits of 2 s between three snapshots
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos);  // piped: no screen clearing
}

TEST_F(CommandsTest, AlertsUseTheDocumentedRoutes) {
  ASSERT_EQ(login(server_).code, kExitOk);
  vars_["ARGUS_SERVER"] = server_.url();
  nlohmann::json alert = {{"id", "a1"},
                          {"rule_id", "r1"},
                          {"rule_name", "people at night"},
                          {"camera", "front"},
                          {"label", "person"},
                          {"severity", "critical"},
                          {"state", "firing"},
                          {"started_at", "2026-01-31T00:00:00Z"},
                          {"resolved_at", nullptr},
                          {"acknowledged_at", nullptr},
                          {"acknowledged_by", nullptr},
                          {"message", "1 person"}};
  server_.set_answer("GET /api/v1/alerts", 200, {{"items", {alert}}, {"next_cursor", "c2"}});
  Outcome r = run({"alerts", "list", "--state", "firing", "--camera", "front", "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::array({alert}));
  EXPECT_NE(r.err.find("--cursor c2"), std::string::npos);
  EXPECT_EQ(server_.requests().back(), "GET /api/v1/alerts?state=firing&camera=front");
  r = run({"alerts", "list"});
  EXPECT_EQ(r.out, "a1\tcritical\tfiring\tpeople at night\tfront\tperson\t2026-01-31T00:00:00Z\t-\t1 person\n");
  alert["acknowledged_at"] = "2026-01-31T00:01:00Z";
  server_.set_answer("POST /api/v1/alerts/a1/ack", 200, alert);
  r = run({"alerts", "ack", "a1", "--json"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(r.out)["acknowledged_at"], "2026-01-31T00:01:00Z");
  server_.set_answer("POST /api/v1/alerts/zz/ack", 404, {{"title", "Not Found"}, {"detail", "no alert 'zz'"}});
  r = run({"alerts", "ack", "zz"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.err.find("Not Found: no alert 'zz' (HTTP 404)"), std::string::npos) << r.err;
}

TEST_F(CommandsTest, DeadLetterCommandsUseTheDocumentedRoutes) {
  ASSERT_EQ(login(server_).code, kExitOk);
  vars_["ARGUS_SERVER"] = server_.url();
  nlohmann::json letter = {{"id", "7"},
                           {"kind", "webhook"},
                           {"channel_id", "hook"},
                           {"error", "HTTP 500"},
                           {"attempts", 5},
                           {"created_at", "2026-01-31T00:00:00Z"},
                           {"failed_at", "2026-01-31T00:05:00Z"}};
  server_.set_answer("GET /api/v1/dlq", 200, {{"items", {letter}}});
  Outcome r = run({"dlq", "list", "--channel", "hook", "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["id"], "7");
  EXPECT_EQ(server_.requests().back(), "GET /api/v1/dlq?channel=hook");
  server_.set_answer("POST /api/v1/dlq/7/requeue", 204, nullptr);
  EXPECT_EQ(run({"dlq", "requeue", "7"}).code, kExitOk);
  server_.set_answer("POST /api/v1/dlq/requeue", 200, {{"requeued", 3}});
  r = run({"dlq", "requeue", "--all", "--kind", "webhook"});
  EXPECT_EQ(r.out, "3\n");
  EXPECT_EQ(server_.requests().back(), "POST /api/v1/dlq/requeue?kind=webhook");
  EXPECT_EQ(run({"dlq", "requeue"}).code, kExitUsage);
  EXPECT_EQ(run({"dlq", "requeue", "7", "--all"}).code, kExitUsage);
  // Purging everything asks first; without a terminal it needs --yes.
  const auto asked = server_.requests().size();
  EXPECT_EQ(run({"dlq", "purge"}).code, kExitUsage);
  EXPECT_EQ(server_.requests().size(), asked);
  terminal_ = true;
  answers_ = {"n"};
  EXPECT_EQ(run({"dlq", "purge"}).code, kExitFailed);
  EXPECT_EQ(server_.requests().size(), asked);
  server_.set_answer("DELETE /api/v1/dlq", 200, {{"purged", 2}});
  answers_ = {"y"};
  r = run({"dlq", "purge", "--json"});
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json({{"purged", 2}}));
  server_.set_answer("DELETE /api/v1/dlq/7", 204, nullptr);
  r = run({"dlq", "purge", "7", "--json"});
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json({{"purged", "7"}}));
}

TEST_F(CommandsTest, BusyServerIsRetriedThenReported) {
  ASSERT_EQ(login(server_).code, kExitOk);
  vars_["ARGUS_SERVER"] = server_.url();
  server_.set_answer("GET /api/v1/cameras", 503, {{"title", "Service Unavailable"}, {"detail", "store busy"}});
  const auto before = server_.requests().size();
  Outcome r = run({"cameras", "list"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(server_.requests().size() - before, 4u);
  EXPECT_EQ(slept_ms_, 250 + 500 + 1000);
  EXPECT_NE(r.err.find("store busy (HTTP 503)"), std::string::npos) << r.err;
  // A POST is not repeated.
  server_.set_answer("POST /api/v1/jobs", 503, {{"detail", "busy"}});
  const auto posts = server_.requests().size();
  EXPECT_EQ(run({"jobs", "submit", "vacuum"}).code, kExitFailed);
  EXPECT_EQ(server_.requests().size() - posts, 1u);
}

TEST_F(CommandsTest, JobsWaitExitsOneWhenTheJobFails) {
  ASSERT_EQ(login(server_).code, kExitOk);
  vars_["ARGUS_SERVER"] = server_.url();
  server_.set_answer("GET /api/v1/jobs/j1", 200,
                     {{"id", "j1"},
                      {"kind", "analyze"},
                      {"state", "failed"},
                      {"progress", 40},
                      {"message", "decoding"},
                      {"error", "not a video"},
                      {"result", nullptr}});
  Outcome r = run({"jobs", "wait", "j1"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.err.find("job j1: failed 40% decoding\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a video"), std::string::npos);
  EXPECT_NE(r.out.find("state\tfailed\n"), std::string::npos) << r.out;
  server_.set_answer("GET /api/v1/jobs/j2", 200, {{"id", "j2"}, {"state", "succeeded"}, {"progress", 100}});
  EXPECT_EQ(run({"jobs", "wait", "j2"}).code, kExitOk);
  server_.set_answer("POST /api/v1/jobs/j3/cancel", 200, {{"id", "j3"}, {"state", "cancelled"}});
  Outcome cancel = run({"jobs", "cancel", "j3", "--json"});
  EXPECT_EQ(cancel.code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(cancel.out)["state"], "cancelled");
  EXPECT_EQ(server_.requests().back(), "POST /api/v1/jobs/j3/cancel");
}

TEST(Commands, EveryCommandHasHelpAndLoginHasExamples) {
  CLI::App app{"argus"};
  int code = 0;
  add_client_commands(app, &code, Environment{});
  for (const char* name : {"login", "logout", "whoami", "status", "version"}) {
    EXPECT_FALSE(app.get_subcommand(name)->get_description().empty()) << name;
  }
  // Every command and subcommand: a description, an example, and --json where it prints data.
  std::function<void(CLI::App*, const std::string&)> check = [&](CLI::App* cmd, const std::string& path) {
    EXPECT_FALSE(cmd->get_description().empty()) << path;
    EXPECT_NE(cmd->help().find("Examples:"), std::string::npos) << path;
    auto subs = cmd->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) {
      EXPECT_NE(cmd->help().find("--json"), std::string::npos) << path;
    }
    for (CLI::App* sub : subs) check(sub, path + " " + sub->get_name());
  };
  for (CLI::App* cmd : app.get_subcommands([](CLI::App*) { return true; })) check(cmd, cmd->get_name());
  std::string help = app.get_subcommand("login")->help();
  EXPECT_NE(help.find("Examples:"), std::string::npos) << help;
  EXPECT_NE(help.find("--password-stdin"), std::string::npos);
  EXPECT_NE(help.find("credentials.json"), std::string::npos);
}

}  // namespace
}  // namespace argus::cli
