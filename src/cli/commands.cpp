#include "cli/commands.h"

#include <cstdlib>
#include <iostream>
#include <memory>

#include <argus_version.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/credentials.h"
#include "cli/runner.h"
#include "cli/session.h"
#include "cli/terminal.h"

namespace argus::cli {
namespace {

using nlohmann::json;

constexpr const char* kDefaultServer = "http://127.0.0.1:8080";
constexpr const char* kDefaultUser = "admin";

struct LoginOptions {
  std::string server;
  std::string user;
  bool password_stdin = false;
  std::string password_file;
  bool json = false;
};

const char* const kLoginFooter = R"(Examples:
  argus login                                  # asks for the user (default admin) and the password
  argus login --server https://nvr.example.com:8443 --user alice
  argus login --user ci --password-stdin < ~/.argus-password
  argus login --user ci --password-file /run/secrets/argus-password
  pass show argus/ci | argus login --user ci --password-stdin
  argus status                                 # later commands use the stored session
  argus logout

The password is never a flag: it comes from the terminal, --password-stdin or --password-file.
The session is kept in $ARGUS_CREDENTIALS if set, else $XDG_CONFIG_HOME/argus/credentials.json,
else ~/.config/argus/credentials.json (mode 0600; one entry per server). The password is never
stored, and the access token is refreshed as needed. --token and ARGUS_TOKEN take precedence
over a stored session.
Exit codes: 0 signed in, 2 usage, 3 server unreachable, 4 wrong password or too many attempts.)";

// A member as display text: a string as it is, another value as JSON, `fallback` if absent.
std::string field_text(const json& doc, const char* key, const char* fallback = "?") {
  if (!doc.is_object()) return fallback;
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

Result<std::string> credentials_file(const Environment& env) {
  return credentials_path(env.var("ARGUS_CREDENTIALS"), env.var("XDG_CONFIG_HOME"), env.var("HOME"));
}

std::string login_hint(const std::string& server) { return "run argus login --server " + server; }

// The shared entry of every command that talks to a server: a session holding the first
// credential found (--token, ARGUS_TOKEN, the stored session for that server).
Result<Session> open_session(const Common& c, const Environment& env) {
  SessionOptions options;
  options.server = server_of(c.server, env);
  options.flag_token = c.token;
  options.env_token = env.var("ARGUS_TOKEN");
  options.clock = env.clock;
  if (auto path = credentials_file(env); path.ok()) options.credentials_path = *path;
  return Session::open(std::move(options));
}

// Reports a 401/403 answer; exit 4.
int not_authorised(const Session& session, const HttpResult& answer, const Environment& env) {
  *env.err << "argus: not authorised by " << session.server() << ": " << describe_answer(answer);
  if (!session.has_credential()) *env.err << "; " << login_hint(session.server()) << " or pass --token";
  *env.err << "\n";
  return kExitUnauthorized;
}

std::string cameras_text(const json& cameras) {
  if (cameras.is_null()) return "all";
  if (!cameras.is_array() || cameras.empty()) return "none";
  std::string out;
  for (const auto& id : cameras) {
    if (!out.empty()) out += ", ";
    out += id.is_string() ? id.get<std::string>() : id.dump();
  }
  return out;
}

int run_whoami(const Common& c, const Environment& env) {
  auto session = open_session(c, env);
  if (!session.ok()) return fail(env, session.status());
  if (!session->has_credential()) {
    *env.err << "argus: not signed in to " << session->server() << ": " << login_hint(session->server()) << "\n";
    return kExitUnauthorized;
  }
  auto me = session->request("GET", "/api/v1/users/me");
  if (!me.ok()) return fail(env, me.status());
  if (me->status == 401 || me->status == 403) return not_authorised(*session, *me, env);
  json doc = json::parse(me->body, nullptr, false);
  if (me->status != 200 || !doc.is_object()) {
    *env.err << "argus: unexpected answer from " << session->server() << ": " << describe_answer(*me) << "\n";
    return kExitFailed;
  }
  if (c.json) {
    *env.out << json{{"server", session->server()}, {"user", doc}}.dump() << "\n";
    return kExitOk;
  }
  *env.out << "user     " << field_text(doc, "username") << "\n"
           << "role     " << field_text(doc, "role") << "\n"
           << "cameras  " << cameras_text(doc.contains("cameras") ? doc["cameras"] : json()) << "\n"
           << "server   " << session->server() << "\n";
  if (field_text(doc, "via") == "api_key") *env.out << "via      API key\n";
  return kExitOk;
}

// The username the server knows the new session by (it may normalize what was typed).
std::string signed_in_username(Client& client, const std::string& access_token, const std::string& typed) {
  client.set_token(access_token);
  auto me = client.request("GET", "/api/v1/users/me");
  client.set_token("");
  if (!me.ok() || me->status != 200) return typed;
  json doc = json::parse(me->body, nullptr, false);
  if (!doc.is_object()) return typed;
  auto name = doc.find("username");
  return name != doc.end() && name->is_string() ? name->get<std::string>() : typed;
}

int run_login(const LoginOptions& o, const Environment& env) {
  const std::string server = server_of(o.server, env);
  auto path = credentials_file(env);
  if (!path.ok()) return fail(env, path.status());
  const bool unattended = o.password_stdin || !o.password_file.empty();
  if (!unattended && !env.ask) {
    return fail(env, Status::invalid_argument("no terminal to ask for the password: pipe it in with --password-stdin "
                                              "or name a file with --password-file (see --help)"));
  }

  std::string user = o.user;
  if (user.empty() && !unattended) {
    auto typed = env.ask("Username [" + std::string(kDefaultUser) + "]: ", true);
    if (!typed.ok()) return fail(env, Status::invalid_argument("sign-in cancelled"));
    user = *typed;
  }
  if (user.empty()) user = kDefaultUser;

  auto password =
      read_password(env, o.password_file, o.password_stdin, "Password for " + user + " at " + server + ": ", false);
  if (!password.ok()) {
    if (password.status().code() == StatusCode::kInvalidArgument) return fail(env, password.status());
    return fail(env, Status::invalid_argument("sign-in cancelled"));
  }
  if (password->empty()) return fail(env, Status::invalid_argument("the password is empty"));

  Client client(server);
  auto pair = auth_login(client, user, *password);
  wipe(*password);
  if (!pair.ok()) {
    const Status& s = pair.status();
    if (s.code() == StatusCode::kUnauthenticated) {
      *env.err << "argus: sign-in to " << server << " failed: " << s.message() << "\n";
    } else if (s.code() == StatusCode::kResourceExhausted) {
      *env.err << "argus: sign-in to " << server << " refused: " << s.message() << "\n";
    } else {
      *env.err << "argus: " << s.message() << "\n";
    }
    return exit_code_for(s);
  }

  StoredCredential credential;
  credential.username = signed_in_username(client, pair->access_token, user);
  credential.access_token = pair->access_token;
  credential.refresh_token = pair->refresh_token;
  credential.access_expires_at =
      (env.clock != nullptr ? env.clock : &system_clock())->now_ms() + pair->expires_in * 1000;

  CredentialStore store(*path);
  std::optional<StoredCredential> previous;
  Status stored = [&]() -> Status {
    ARGUS_ASSIGN_OR_RETURN(CredentialStore::Lock lock, store.lock());
    ARGUS_ASSIGN_OR_RETURN(CredentialMap all, store.load());
    if (auto it = all.find(server); it != all.end()) previous = it->second;
    all[server] = credential;
    return store.save(lock, all);
  }();
  if (!stored.ok()) {
    (void)auth_logout(client, credential.refresh_token);  // no session left behind unreachable
    return fail(env, stored.with_context("cannot store the session"));
  }
  // The session this one replaces is of no further use: end it on the server (best effort).
  if (previous) (void)auth_logout(client, previous->refresh_token);
  if (o.json) {
    *env.out << json{{"server", server}, {"username", credential.username}}.dump() << "\n";
  } else {
    *env.out << "signed in to " << server << " as " << credential.username << "\n";
  }
  return kExitOk;
}

int run_logout(const std::string& server_flag, bool as_json, const Environment& env) {
  const std::string server = server_of(server_flag, env);
  auto path = credentials_file(env);
  if (!path.ok()) return fail(env, path.status());
  CredentialStore store(*path);
  auto lock = store.lock();
  if (!lock.ok()) return fail(env, lock.status());
  auto all = store.load();
  if (!all.ok()) return fail(env, all.status());
  auto it = all->find(server);
  if (it == all->end()) {
    if (as_json) {
      *env.out << json{{"server", server}, {"signed_out", false}}.dump() << "\n";
    } else {
      *env.out << "not signed in to " << server << "\n";
    }
    return kExitOk;
  }
  Client client(server);
  Status revoked = auth_logout(client, it->second.refresh_token);
  // Unauthenticated: the server had already ended this sign-in.
  if (!revoked.ok() && revoked.code() != StatusCode::kUnauthenticated) {
    *env.err << "argus: warning: could not end the session on the server (" << revoked.message()
             << "); removing it here anyway\n";
  }
  all->erase(it);
  if (Status s = store.save(*lock, *all); !s.ok()) return fail(env, s.with_context("cannot update the credentials"));
  if (as_json) {
    *env.out << json{{"server", server}, {"signed_out", true}}.dump() << "\n";
  } else {
    *env.out << "signed out of " << server << "\n";
  }
  return kExitOk;
}

}  // namespace

Environment process_environment() {
  Environment env;
  env.var = [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return std::string(v != nullptr ? v : "");
  };
  env.in = &std::cin;
  env.out = &std::cout;
  env.err = &std::cerr;
  if (stdin_is_terminal()) env.ask = ask_terminal;
  env.clock = &system_clock();
  env.out_terminal = stdout_is_terminal();
  env.err_terminal = stderr_is_terminal();
  env.catch_interrupts = catch_interrupts;
  env.interrupted = interrupt_requested;
  return env;
}

void add_client_commands(CLI::App& cli, int* exit_code) { add_client_commands(cli, exit_code, process_environment()); }

void add_client_commands(CLI::App& cli, int* exit_code, Environment env) {
  auto shared_env = std::make_shared<const Environment>(std::move(env));

  auto version_json = std::make_shared<bool>(false);
  CLI::App* version = cli.add_subcommand("version", "Print the version of this binary");
  version->add_flag("--json", *version_json, "Print {\"version\", \"git_revision\"} as JSON");
  version->footer("Examples:\n  argus version\n  argus version --json");
  version->callback([exit_code, shared_env, version_json] {
    if (*version_json) {
      *shared_env->out << json{{"version", ARGUS_VERSION}, {"git_revision", ARGUS_GIT_REVISION}}.dump() << "\n";
    } else {
      *shared_env->out << "argus " << ARGUS_VERSION << " (" << ARGUS_GIT_REVISION << ")\n";
    }
    *exit_code = kExitOk;
  });

  auto login = std::make_shared<LoginOptions>();
  CLI::App* login_cmd =
      cli.add_subcommand("login", "Sign in to a server and keep the session, so later commands need no --token");
  login_cmd->add_option("--server", login->server, "Server base URL (env ARGUS_SERVER, default http://127.0.0.1:8080)");
  login_cmd->add_option("-u,--user", login->user, "User name (asked on the terminal, default admin)");
  auto* from_stdin = login_cmd->add_flag("--password-stdin", login->password_stdin,
                                         "Read the password from the first line of standard input (for scripts)");
  login_cmd->add_option("--password-file", login->password_file, "Read the password from the first line of FILE")
      ->excludes(from_stdin);
  login_cmd->add_flag("--json", login->json, "Print {\"server\", \"username\"} as JSON");
  login_cmd->footer(kLoginFooter);
  login_cmd->callback([login, exit_code, shared_env] { *exit_code = run_login(*login, *shared_env); });

  auto logout_server = std::make_shared<std::string>();
  CLI::App* logout_cmd =
      cli.add_subcommand("logout", "End the stored session on the server and forget it on this machine");
  logout_cmd->add_option("--server", *logout_server,
                         "Server base URL (env ARGUS_SERVER, default http://127.0.0.1:8080)");
  auto logout_json = std::make_shared<bool>(false);
  logout_cmd->add_flag("--json", *logout_json, "Print {\"server\", \"signed_out\"} as JSON");
  logout_cmd->footer("Examples:\n  argus logout\n  argus logout --server https://nvr.example.com:8443");
  logout_cmd->callback([logout_server, logout_json, exit_code, shared_env] {
    *exit_code = run_logout(*logout_server, *logout_json, *shared_env);
  });

  auto whoami = std::make_shared<Common>();
  CLI::App* whoami_cmd =
      cli.add_subcommand("whoami", "Show who the credential in use belongs to (user, role, cameras)");
  add_connection_options(whoami_cmd, *whoami);
  whoami_cmd->footer("Examples:\n  argus whoami\n  argus whoami --token \"$ARGUS_KEY\" --json");
  whoami_cmd->callback([whoami, exit_code, shared_env] { *exit_code = run_whoami(*whoami, *shared_env); });

  add_operation_commands(cli, exit_code, shared_env);
  add_resource_commands(cli, exit_code, shared_env);
}

}  // namespace argus::cli
