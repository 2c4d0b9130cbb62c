// tests/support/postgres_fixture.h — a throw-away PostgreSQL 15 server for one test binary: initdb
// into a temporary directory, `pg_ctl start` on 127.0.0.1 with a free port, its socket in that
// directory, fsync = on, password (SCRAM) authentication for TCP. Each test gets a fresh schema
// (NewDatabase) on it. When the test process runs as root the server runs as the `postgres`
// system user (runuser, else setpriv; the directory is chowned to it).
//
// Lifetime: SharedPostgres() starts the server at its first call and keeps it for the whole
// binary (one server per binary, not per test); it is stopped and its directory removed when the
// process exits normally, and by a watchdog process when the test process dies any other way
// (the watchdog blocks reading a pipe only the test process holds; EOF = the test process is
// gone: `pg_ctl stop -m immediate`, then the directory is removed).
//
// Tests call SECPROF_REQUIRE_POSTGRES(server): when no server can run here (no PostgreSQL 15
// binaries, no way to drop root) the test is SKIPPED with the reason, never passed.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

extern char** environ;

namespace secprof::testing {

class PostgresServer {
 public:
  // Starts a server; nullptr with `why` set when it cannot run here.
  static std::unique_ptr<PostgresServer> Start(std::string* why) {
    std::unique_ptr<PostgresServer> s(new PostgresServer());
    *why = s->Init();
    if (!why->empty()) return nullptr;
    return s;
  }

  ~PostgresServer() {
    // Immediate: the data is thrown away, so no shutdown checkpoint is worth its fsyncs.
    if (running_) RunAs({bin_ + "/pg_ctl", "stop", "-D", data_, "-m", "immediate", "-w"});
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (watchdog_pipe_ >= 0) ::close(watchdog_pipe_);  // EOF: the watchdog finds nothing to do
    if (watchdog_ > 0) ::waitpid(watchdog_, nullptr, 0);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  const std::string& log_path() const { return log_; }

  // The superuser's URI for database `postgres`, with the password in it.
  std::string AdminUri() const {
    return "postgresql://secprof:" + password_ + "@127.0.0.1:" + std::to_string(port_) +
           "/postgres";
  }
  // Creates a fresh, empty schema and returns a URI whose search_path selects it.
  std::string NewDatabase() {
    const std::string schema = "t" + std::to_string(++schemas_);
    const std::string err = Sql(AdminUri(), "CREATE SCHEMA " + schema);
    EXPECT_EQ(err, "") << "creating schema " << schema;
    return AdminUri() + "?options=-csearch_path%3D" + schema;
  }

  // Runs `sql` (no parameters) on a new connection to `uri`; "" on success, else the error.
  static std::string Sql(const std::string& uri, const std::string& sql) {
    PGconn* c = PQconnectdb(uri.c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      const ExecStatusType st = PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(c);
    return err;
  }
  // The first value `sql` returns, as text ("" for none or an error).
  static std::string Value(const std::string& uri, const std::string& sql) {
    PGconn* c = PQconnectdb(uri.c_str());
    std::string out;
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
      PQclear(r);
    }
    PQfinish(c);
    return out;
  }

  // Kills the server as a crash would (immediate shutdown: no checkpoint, every backend gone),
  // and starts it again on the same port and data (crash recovery replays the WAL). False with
  // the server log's tail in `why` when the restart failed.
  bool CrashAndRestart(std::string* why) {
    running_ = false;
    if (RunAs({bin_ + "/pg_ctl", "stop", "-D", data_, "-m", "immediate", "-w"}) != 0) {
      *why = "pg_ctl stop -m immediate failed";
      return false;
    }
    return StartServer(why);
  }

 private:
  PostgresServer() = default;

  // "" when the server is up, else why not.
  std::string Init() {
    const char* env = std::getenv("SECPROF_PG_BINDIR");
    bin_ = env != nullptr ? env : "/usr/lib/postgresql/15/bin";
    if (::access((bin_ + "/initdb").c_str(), X_OK) != 0 ||
        ::access((bin_ + "/pg_ctl").c_str(), X_OK) != 0)
      return "PostgreSQL 15 server binaries not found in " + bin_ +
             " (install postgresql-15: scripts/deps.sh, or set SECPROF_PG_BINDIR)";
    std::string tmpl = (std::filesystem::temp_directory_path() / "secprof-pg-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return "mkdtemp failed";
    dir_ = tmpl;
    data_ = dir_ + "/data";
    log_ = dir_ + "/server.log";
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) return "running as root and there is no `postgres` user to run the server";
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return "cannot chown " + dir_;
      for (const char* tool : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/setpriv"}) {
        if (::access(tool, X_OK) != 0) continue;
        if (std::string(tool).find("runuser") != std::string::npos)
          as_ = {tool, "-u", "postgres", "--"};
        else
          as_ = {tool, "--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
        if (RunAs({"/bin/true"}) == 0) break;
        as_.clear();
      }
      if (as_.empty())
        return "running as root and neither runuser nor setpriv can drop to postgres";
    }
    std::random_device rd;
    for (int i = 0; i < 16; ++i) password_ += "0123456789abcdef"[rd() % 16];
    password_ = "pw-" + password_;
    const std::string pwfile = dir_ + "/pw";
    std::ofstream(pwfile) << password_ << "\n";
    if (!as_.empty()) {
      const passwd* pw = ::getpwnam("postgres");
      if (::chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0) return "cannot chown " + pwfile;
    }
    if (!StartWatchdog()) return "cannot start the watchdog process";
    if (RunAs({bin_ + "/initdb", "-D", data_, "-U", "secprof", "--pwfile=" + pwfile,
               "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
               "--no-sync", "--no-instructions"},
              dir_ + "/initdb.log") != 0)
      return "initdb failed (see " + dir_ + "/initdb.log)";
    std::string why;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreePort();
      if (StartServer(&why)) return "";
    }
    return why;
  }

  bool StartServer(std::string* why) {
    const std::string opts = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                             " -c unix_socket_directories=" + dir_ +
                             " -c fsync=on -c synchronous_commit=on -c max_connections=40"
                             " -c shared_buffers=16MB"
                             // after a crash, sync the data directory with one syncfs() instead
                             // of an fsync() per file (PostgreSQL 14+, Linux)
                             " -c recovery_init_sync_method=syncfs";
    if (RunAs({bin_ + "/pg_ctl", "start", "-D", data_, "-w", "-t", "60", "-l", log_, "-o", opts},
              dir_ + "/pg_ctl.log") != 0) {
      std::ifstream in(log_);
      std::string line, tail;
      while (std::getline(in, line)) tail = line;
      *why = "pg_ctl start failed: " + tail;
      return false;
    }
    running_ = true;
    return true;
  }

  // A port on 127.0.0.1 that was free a moment ago.
  static int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }

  // Runs argv (as postgres when root) to its end in dir_; its output to `log` (or discarded).
  int RunAs(std::vector<std::string> argv, const std::string& log = "/dev/null") {
    std::vector<std::string> full = as_;
    full.insert(full.end(), argv.begin(), argv.end());
    std::vector<char*> args;
    for (auto& a : full) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (!dir_.empty()) posix_spawn_file_actions_addchdir_np(&fa, dir_.c_str());
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // A shell in its own process group that waits for EOF on a pipe whose write end only this
  // process holds (close-on-exec: no server or tool inherits it), then stops the server and
  // removes the directory.
  bool StartWatchdog() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    std::string as;
    for (const auto& a : as_) as += "'" + a + "' ";
    const std::string script = "read _x; if [ -d '" + data_ + "' ]; then " + as + "'" + bin_ +
                               "/pg_ctl' stop -D '" + data_ +
                               "' -m immediate -w >/dev/null 2>&1; fi; rm -rf '" + dir_ + "'";
    std::vector<std::string> argv = {"/bin/sh", "-c", script};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    const int rc = ::posix_spawn(&watchdog_, "/bin/sh", &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(fds[0]);
    if (rc != 0) {
      ::close(fds[1]);
      watchdog_ = 0;
      return false;
    }
    watchdog_pipe_ = fds[1];
    return true;
  }

  std::string bin_, dir_, data_, log_, password_;
  std::vector<std::string> as_;  // the prefix that runs a command as postgres (root only)
  int port_ = 0;
  int schemas_ = 0;
  bool running_ = false;
  pid_t watchdog_ = 0;
  int watchdog_pipe_ = -1;
};

// The test binary's one server, started at the first call; nullptr with `why` when none can run.
inline PostgresServer* SharedPostgres(std::string* why) {
  static std::string reason;
  static std::unique_ptr<PostgresServer> server = PostgresServer::Start(&reason);
  *why = reason;
  return server.get();
}

#define SECPROF_REQUIRE_POSTGRES(server_var)                \
  std::string secprof_pg_why_;                              \
  ::secprof::testing::PostgresServer* server_var =          \
      ::secprof::testing::SharedPostgres(&secprof_pg_why_); \
  if (server_var == nullptr) GTEST_SKIP() << "no PostgreSQL server: " << secprof_pg_why_

}  // namespace secprof::testing
