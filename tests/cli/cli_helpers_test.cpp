// The CLI's shared pieces (src/cli): the one endpoint parser, the one exit-code mapper and the
// one serve-until-signal loop, the JSON output helper, compiled into this test from the CLI's
// sources.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "command.h"
#include "endpoint.h"
#include "output.h"
#include "secprof/core/fs.h"
#include "serve.h"
#include "testutil.h"

namespace secprof::cli {
namespace {

using namespace std::chrono_literals;

const EndpointSyntax kListen{.min_ports = 0,
                             .max_ports = 1,
                             .zero_port_ok = true,
                             .bare_ipv6 = true,
                             .wording = EndpointSyntax::Wording::kListen};

std::string Why(const Result<Endpoint>& r) { return r ? std::string("ok") : r.error().message(); }

TEST(CliEndpoint, KdcListenAcceptsAnAddressWithOrWithoutAPort) {
  auto a = ParseEndpoint("--listen", "127.0.0.1", kListen);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_TRUE(a->ports.empty());
  auto b = ParseEndpoint("--listen", "::1", kListen);  // bare IPv6, no port
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  auto c = ParseEndpoint("--listen", "[::1]:5683", kListen);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->ports, std::vector<uint16_t>{5683});
}

TEST(CliEndpoint, KdcListenKeepsItsWording) {
  EXPECT_EQ(Why(ParseEndpoint("--listen", "", kListen)), "--listen : empty");
  EXPECT_EQ(Why(ParseEndpoint("--listen", "1.2.3.4:", kListen)), "--listen 1.2.3.4:: empty port");
  EXPECT_EQ(Why(ParseEndpoint("--listen", "[::1", kListen)), "--listen [::1: missing ']'");
  EXPECT_EQ(Why(ParseEndpoint("--listen", "[::1]x", kListen)),
            "--listen [::1]x: expected ':' after ']'");
  EXPECT_EQ(Why(ParseEndpoint("--listen", ":5683", kListen)), "--listen :5683: empty address");
  EXPECT_EQ(Why(ParseEndpoint("--listen", "host:1", kListen)),
            "--listen host:1: 'host' is not a numeric IPv4 or IPv6 address");
  EXPECT_EQ(Why(ParseEndpoint("--listen", "1.2.3.4:65536", kListen)),
            "--listen 1.2.3.4:65536: port must be a number 0..65535");
  EXPECT_EQ(Why(ParseEndpoint("--listen", "[::1]:5:6", kListen)),
            "--listen [::1]:5:6: port must be a number 0..65535");
}

TEST(CliEndpoint, ThingEndpointsTakeSeveralPortsAndKeepTheirWording) {
  EndpointSyntax kdc{.min_ports = 1, .max_ports = 2, .zero_port_ok = true};
  auto a = ParseEndpoint("--kdc", "127.0.0.1:5683:5684", kdc);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ports, (std::vector<uint16_t>{5683, 5684}));
  EXPECT_EQ(Why(ParseEndpoint("--kdc", "127.0.0.1", kdc)),
            "--kdc 127.0.0.1: expected 1 to 2 ports");
  EXPECT_EQ(Why(ParseEndpoint("--kdc", "::1:5", kdc)),
            "--kdc ::1:5: empty address");  // IPv6 needs brackets here
  EXPECT_EQ(Why(ParseEndpoint("--kdc", "h:5", kdc)),
            "--kdc h:5: 'h' is not a numeric IPv4 or IPv6 address (IPv6 in brackets)");
  EXPECT_EQ(Why(ParseEndpoint("--kdc", "1.2.3.4:x", kdc)),
            "--kdc 1.2.3.4:x: port 'x' is not a number");
  EndpointSyntax to{.min_ports = 1, .max_ports = 1, .zero_port_ok = false};
  EXPECT_EQ(Why(ParseEndpoint("--to", "1.2.3.4:0", to)),
            "--to 1.2.3.4:0: port 0 is out of range (1..65535)");
  EXPECT_EQ(Why(ParseEndpoint("--to", "1.2.3.4:1:2", to)), "--to 1.2.3.4:1:2: expected 1 port(s)");
  EXPECT_EQ(FormatHostPort("::1", 5), "[::1]:5");
  EXPECT_EQ(FormatHostPort("127.0.0.1", 5), "127.0.0.1:5");
}

TEST(CliExit, OnePolicyPerCommand) {
  const Error verify(ErrorCode::kVerifyFailed, "x"), conflict(ErrorCode::kConflict, "x"),
      io(ErrorCode::kIo, "x"), limit(ErrorCode::kLimit, "x"), bad(ErrorCode::kInvalidInput, "x");
  EXPECT_EQ(ExitFor(Status(Ok()), kPlainExit), kExitOk);
  EXPECT_EQ(ExitFor(verify, kPlainExit), kExitFinding);
  EXPECT_EQ(ExitFor(conflict, kPlainExit), kExitBadInput);
  EXPECT_EQ(ExitFor(io, kPlainExit), kExitBadInput);
  EXPECT_EQ(ReportError(bad), kExitBadInput);
  EXPECT_EQ(ExitFor(conflict, kOwnerExit), kExitFinding);
  EXPECT_EQ(ExitFor(io, kOwnerExit), kExitBadInput);
  EXPECT_EQ(ExitFor(io, kThingLocalExit), kExitBadInput);
  EXPECT_EQ(ExitFor(io, kThingRemoteExit), kExitFinding);
  EXPECT_EQ(ExitFor(limit, kThingRemoteExit), kExitFinding);
  EXPECT_EQ(ExitFor(conflict, kThingRemoteExit), kExitBadInput);
  EXPECT_EQ(ExitFor(verify, kThingLocalExit), kExitFinding);
}

TEST(CliJson, FormatJsonAnywhereOnTheCommandLineMeansJsonErrors) {
  auto asks = [](std::vector<const char*> v) {
    v.insert(v.begin(), "secprof");
    return ArgsAskForJson(static_cast<int>(v.size()), v.data());
  };
  EXPECT_TRUE(asks({"kdc", "list", "--format", "json"}));
  EXPECT_TRUE(asks({"kdc", "list", "--format=json", "--db", "x"}));
  EXPECT_FALSE(asks({"kdc", "list", "--format", "text"}));
  EXPECT_FALSE(asks({"kdc", "list", "--format"}));           // no value
  EXPECT_FALSE(asks({"cbor", "diag", "json", "--format"}));  // "json" is not the format's value
  EXPECT_FALSE(asks({"assess", "m.yaml", "--format", "sarif"}));
}

TEST(CliJson, ErrorsInJsonModeKeepTheirExitStatus) {
  const Error conflict(ErrorCode::kConflict, Reason("already-retired"), "retired twice");
  SetJsonErrors(true);
  ::testing::internal::CaptureStderr();
  const int status = ExitFor(conflict, kOwnerExit);
  const std::string err = ::testing::internal::GetCapturedStderr();
  SetJsonErrors(false);
  EXPECT_EQ(status, kExitFinding);  // as in text mode
  auto j = nlohmann::json::parse(err, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << err;
  EXPECT_EQ(j["schema"], "secprof.error.v1");
  EXPECT_EQ(j["exit"], kExitFinding);
  EXPECT_EQ(j["error"]["code"], "conflict");
  EXPECT_EQ(j["error"]["reason"], "already-retired");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("retired twice"), std::string::npos);
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line";
  // Text mode: the familiar line.
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(ExitFor(conflict, kOwnerExit), kExitFinding);
  EXPECT_EQ(::testing::internal::GetCapturedStderr().rfind("secprof: ", 0), 0u);
}

TEST(CliJson, TimesAndDocuments) {
  EXPECT_EQ(JsonTime(int64_t{0}), "1970-01-01T00:00:00Z");
  EXPECT_TRUE(JsonTime(std::optional<int64_t>()).is_null());
  EXPECT_EQ(JsonDocument("kdc.list", 2)["schema"], "secprof.kdc.list.v2");
}

TEST(CliServe, ReturnsWhatTheServerReturned) {
  SignalBlock signals;
  ASSERT_TRUE(signals.ok());
  Served s = ServeUntilSignal(signals, "t", 0, [](std::stop_token) -> Status {
    return Fail(ErrorCode::kIo, "port in use");
  });
  ASSERT_FALSE(s.status);
  EXPECT_EQ(s.status.error().message(), "port in use");
}

TEST(CliServe, StopsTheServerOnSigterm) {
  SignalBlock signals;
  ASSERT_TRUE(signals.ok());
  bool asked_to_stop = false;
  ::testing::internal::CaptureStdout();
  Served s = ServeUntilSignal(signals, "who", 0, [&](std::stop_token st) -> Status {
    ::kill(::getpid(), SIGTERM);  // to the process, as `kill` does: blocked, so it waits pending
    while (!st.stop_requested()) std::this_thread::sleep_for(5ms);
    asked_to_stop = true;
    return Ok();
  });
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(s.status);
  EXPECT_TRUE(asked_to_stop);
  EXPECT_EQ(out, "who: SIGTERM, stopping\n");
}

TEST(CliServe, ReadyFileIsRemovedWithItsObject) {
  secprof::testing::TempDir dir;
  const std::string path = (dir.path() / "ready").string();
  {
    auto r = ReadyFile::Write(path, 0, 5684);
    ASSERT_TRUE(r) << r.error().ToString();
    auto text = ReadFile(path);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "udp=0\ndtls=5684\n");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(ReadyFile::Write("", 1, 2));  // no --ready-file: nothing written
}

}  // namespace
}  // namespace secprof::cli
