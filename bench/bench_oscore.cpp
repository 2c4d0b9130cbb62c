// bench_oscore — OSCORE (RFC 8613) message protection against the keyed AEAD it runs on, in the
// same run (issue 14 "Benchmark"; docs/PERFORMANCE.md "OSCORE").
//
//   limit:  crypto::AeadKey SealInto + OpenInto of the same plaintext an OSCORE request with a
//           64-byte payload has (code, Uri-Path, payload: 74 bytes), with an AAD of the same size,
//           on AES-CCM-16-64-128 keyed once: the AEAD work OSCORE cannot avoid.
//   ours:   SecurityContext::ProtectRequest on the client + UnprotectRequest on the server (a
//           64-byte payload), then ProtectResponse + UnprotectResponse of a response with a
//           64-byte payload; per message (one protect + one unprotect each).
// Rates are per CPU second of this thread (CLOCK_THREAD_CPUTIME_ID: the machine is shared), over
// interleaved rounds; the figure is the median ratio ours / limit over the rounds (goal >= 0.9).
// Then the bytes OSCORE adds on the wire per request and per response, next to RFC 8613's
// figures (13 and 11 bytes in the reading of the RFC; see docs/PERFORMANCE.md).
//
//   bench_oscore [--rounds N] [--ms-per-round M]
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.h"
#include "secprof/crypto/aead.h"
#include "secprof/oscore/oscore.h"

using namespace secprof;
using namespace secprof::oscore;

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_oscore: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T Must(Result<T> r, const char* what) {
  if (!r) Die(std::string(what) + ": " + r.error().message());
  return std::move(*r);
}

// Runs `op` (which does `per_call` messages) for about `ms` of thread CPU; messages per CPU second.
template <class F>
double Rate(double ms, int per_call, F&& op) {
  long calls = 0;
  double start = ThreadCpuSeconds(), now = start;
  while (now - start < ms / 1000.0) {
    for (int i = 0; i < 64; ++i) op();
    calls += 64;
    now = ThreadCpuSeconds();
  }
  return static_cast<double>(calls) * per_call / (now - start);
}

Message Request(size_t payload) {
  Message m{.code = code::kPost};
  m.Add(opt::kUriHost, "thing.example");
  m.Add(opt::kUriPath, "cmd");
  m.payload.assign(payload, 0x5A);
  return m;
}

Message Response(size_t payload) {
  Message m{.code = code::kChanged};
  m.payload.assign(payload, 0xA5);
  return m;
}

size_t WireSize(const Message& m) {
  return Must(EncodeDatagram({.type = 0, .message_id = 1, .token = {1, 2}, .message = m}), "encode")
      .size();
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 9;
  double ms = 300;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--ms-per-round" && i + 1 < argc) {
      ms = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_oscore [--rounds N] [--ms-per-round M]\n");
      return 2;
    }
  }
  bench::PrintMachine();

  const Bytes secret(16, 0x42);
  MemorySequenceStore cs, ss;
  ContextParams cp{.master_secret = secret, .sender_id = {0x01}, .recipient_id = {0x02}};
  ContextParams sp{.master_secret = secret, .sender_id = {0x02}, .recipient_id = {0x01}};
  // A persist interval that keeps the in-memory store out of the measurement (it is a no-op
  // save, but counts as one call per interval).
  SecurityContext client = Must(
      SecurityContext::Create(cp, {.sequence_store = &cs, .persist_interval = 1u << 20}), "client");
  SecurityContext server = Must(
      SecurityContext::Create(sp, {.sequence_store = &ss, .persist_interval = 1u << 20}), "server");

  const Message request = Request(64);
  const Message response = Response(64);
  auto oscore_pair = [&] {
    ProtectedRequest p = Must(client.ProtectRequest(request), "protect request");
    IncomingRequest in = Must(server.UnprotectRequest(p.message), "unprotect request");
    Message r = Must(server.ProtectResponse(in.binding(), response), "protect response");
    (void)Must(client.UnprotectResponse(p.pending, r), "unprotect response");
  };

  // The limit: the same AEAD work on a keyed context, into reused buffers.
  crypto::Aead aead = Must(crypto::Aead::FromCoseAlgorithm(crypto::kCoseAesCcm16_64_128), "aead");
  crypto::AeadKey k1 = Must(crypto::AeadKey::Create(aead, Bytes(16, 1)), "key");
  crypto::AeadKey k2 = Must(crypto::AeadKey::Create(aead, Bytes(16, 2)), "key");
  Bytes nonce(13, 7), aad(23, 3), pt_req(1 + 4 + 1 + 64, 9), pt_resp(1 + 1 + 64, 9);
  Bytes ct(128), back(128);
  auto aead_pair = [&] {
    nonce[12]++;
    size_t n = Must(k1.SealInto(nonce, aad, pt_req, ct), "seal");
    (void)Must(k1.OpenInto(nonce, aad, ByteView(ct.data(), n), back), "open");
    n = Must(k2.SealInto(nonce, aad, pt_resp, ct), "seal");
    (void)Must(k2.OpenInto(nonce, aad, ByteView(ct.data(), n), back), "open");
  };

  // The same with one AeadKey per endpoint and direction, as two OSCORE endpoints have them (the
  // client's Sender Key and the server's Recipient Key are distinct cipher contexts).
  crypto::AeadKey k1r = Must(crypto::AeadKey::Create(aead, Bytes(16, 1)), "key");
  crypto::AeadKey k2r = Must(crypto::AeadKey::Create(aead, Bytes(16, 2)), "key");
  auto aead_pair_split = [&] {
    nonce[12]++;
    size_t n = Must(k1.SealInto(nonce, aad, pt_req, ct), "seal");
    (void)Must(k1r.OpenInto(nonce, aad, ByteView(ct.data(), n), back), "open");
    n = Must(k2.SealInto(nonce, aad, pt_resp, ct), "seal");
    (void)Must(k2r.OpenInto(nonce, aad, ByteView(ct.data(), n), back), "open");
  };

  std::vector<double> ours, limit, limit_split, ratio, ratio_split;
  for (int r = 0; r < rounds; ++r) {
    double l = Rate(ms, 2, aead_pair);
    double ls = Rate(ms, 2, aead_pair_split);
    double o = Rate(ms, 2, oscore_pair);
    limit.push_back(l);
    limit_split.push_back(ls);
    ours.push_back(o);
    ratio.push_back(o / l);
    ratio_split.push_back(o / ls);
  }
  std::printf("messages (protect + unprotect) per CPU second, 64-byte payload, %d rounds:\n",
              rounds);
  std::printf("  keyed AEAD seal+open (limit): median %.0f\n", bench::Median(limit));
  std::printf("  keyed AEAD, key per endpoint:  median %.0f\n", bench::Median(limit_split));
  std::printf("  OSCORE protect+unprotect:     median %.0f\n", bench::Median(ours));
  std::printf("  ratio ours/limit: median %.3f (min %.3f, max %.3f)  goal >= 0.9\n",
              bench::Median(ratio), *std::min_element(ratio.begin(), ratio.end()),
              *std::max_element(ratio.begin(), ratio.end()));
  std::printf("  ratio ours/limit with a key per endpoint: median %.3f\n",
              bench::Median(ratio_split));

  // Bytes on the wire: a GET with one Uri-Path and no payload, and a 2.05 with a 4-byte payload,
  // from a client with a 1-byte Sender ID and a sequence number below 256 (RFC 8613 Appendix
  // C.4/C.7 shape), plain against protected, same token and message ID.
  MemorySequenceStore cs2, ss2;
  SecurityContext c2 = Must(SecurityContext::Create(cp, {.sequence_store = &cs2}), "client");
  SecurityContext s2 = Must(SecurityContext::Create(sp, {.sequence_store = &ss2}), "server");
  Message get{.code = code::kGet};
  get.Add(opt::kUriPath, "temp");
  Message content{.code = code::kContent};
  content.payload = {'2', '1', '.', '5'};
  ProtectedRequest pg = Must(c2.ProtectRequest(get), "protect");
  IncomingRequest ig = Must(s2.UnprotectRequest(pg.message), "unprotect");
  Message pr = Must(s2.ProtectResponse(ig.binding(), content), "protect response");
  Message pr_piv = Must(s2.ProtectResponse(ig.binding(), content, ResponseNonce::kOwnPartialIv),
                        "protect response");
  std::printf("overhead on the wire (bytes added by OSCORE):\n");
  std::printf("  request  GET /temp, kid 1 B, Partial IV 1 B: %zu -> %zu: +%zu\n", WireSize(get),
              WireSize(pg.message), WireSize(pg.message) - WireSize(get));
  std::printf("  response 2.05 \"21.5\", no Partial IV:        %zu -> %zu: +%zu\n",
              WireSize(content), WireSize(pr), WireSize(pr) - WireSize(content));
  std::printf("  response 2.05 \"21.5\", own Partial IV:       %zu -> %zu: +%zu\n",
              WireSize(content), WireSize(pr_piv), WireSize(pr_piv) - WireSize(content));
  return 0;
}
