// bench/bench_crypto.cpp — secprof::crypto through its wrappers, next to the same primitives
// driven through OpenSSL EVP directly ("Raw*"), in the same process and run.
//
// The Raw* drivers do what `openssl speed` does for the asymmetric primitives (a context set up
// once, then EVP_PKEY_sign / EVP_PKEY_verify / EVP_DigestSign / EVP_PKEY_derive in a loop) and,
// for AES-CCM, the complete per-message EVP sequence on a keyed context (nonce, length, payload,
// final, tag), which `openssl speed -evp aes-128-ccm` does not do (it skips nonce, AAD and tag).
// scripts/bench-crypto.sh runs this and `openssl speed`, and prints the ratios.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <memory>

#include "bench_util.h"
#include "secprof/crypto/crypto.h"

namespace {

using namespace secprof::crypto;

constexpr size_t kMessageSize = 64;

Bytes Message(size_t n) {
  Bytes m(n);
  for (size_t i = 0; i < n; ++i) m[i] = static_cast<uint8_t>(i * 7 + 1);
  return m;
}

PrivateKey MustKey(KeyType t) {
  auto k = PrivateKey::Generate(t);
  if (!k) std::abort();
  return std::move(*k);
}

// ---------------------------------------------------------------- through secprof::crypto

void BM_EcdsaP256Sign(benchmark::State& st) {
  PrivateKey sk = MustKey(KeyType::kP256);
  const Bytes msg = Message(kMessageSize);
  for (auto _ : st) benchmark::DoNotOptimize(sk.Sign(SignatureAlgorithm::kEcdsaP256Sha256, msg));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_EcdsaP256Sign);

void BM_EcdsaP256Verify(benchmark::State& st) {
  PrivateKey sk = MustKey(KeyType::kP256);
  const Bytes msg = Message(kMessageSize);
  const Bytes sig = *sk.Sign(SignatureAlgorithm::kEcdsaP256Sha256, msg);
  const PublicKey& pk = sk.public_key();
  for (auto _ : st) {
    auto r = pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg, sig);
    if (!r) st.SkipWithError("verify failed");
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_EcdsaP256Verify);

void BM_Ed25519Sign(benchmark::State& st) {
  PrivateKey sk = MustKey(KeyType::kEd25519);
  const Bytes msg = Message(kMessageSize);
  for (auto _ : st) benchmark::DoNotOptimize(sk.Sign(SignatureAlgorithm::kEd25519, msg));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& st) {
  PrivateKey sk = MustKey(KeyType::kEd25519);
  const Bytes msg = Message(kMessageSize);
  const Bytes sig = *sk.Sign(SignatureAlgorithm::kEd25519, msg);
  const PublicKey& pk = sk.public_key();
  for (auto _ : st) {
    auto r = pk.Verify(SignatureAlgorithm::kEd25519, msg, sig);
    if (!r) st.SkipWithError("verify failed");
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_Ed25519Verify);

void BM_EcdhP256(benchmark::State& st) {
  PrivateKey a = MustKey(KeyType::kP256);
  PrivateKey b = MustKey(KeyType::kP256);
  for (auto _ : st) benchmark::DoNotOptimize(DeriveSharedSecret(a, b.public_key()));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_EcdhP256);

void BM_EcdhX25519(benchmark::State& st) {
  PrivateKey a = MustKey(KeyType::kX25519);
  PrivateKey b = MustKey(KeyType::kX25519);
  for (auto _ : st) benchmark::DoNotOptimize(DeriveSharedSecret(a, b.public_key()));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_EcdhX25519);

// AES-CCM-16-64-128 (COSE alg 10, OSCORE), 64-byte messages, empty AAD like `openssl speed`.
// Keyed: AeadKey (key schedule kept); Stateless: Aead::Seal(key, ...) sets the key every call.
void BM_AesCcm16_64_128_Seal_Keyed(benchmark::State& st) {
  const Aead aead = *Aead::FromCoseAlgorithm(kCoseAesCcm16_64_128);
  AeadKey key = *AeadKey::Create(aead, Bytes(16, 0x42));
  const Bytes nonce(13, 0x24), msg = Message(kMessageSize);
  for (auto _ : st) benchmark::DoNotOptimize(key.Seal(nonce, {}, msg));
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * kMessageSize);
}
BENCHMARK(BM_AesCcm16_64_128_Seal_Keyed);

void BM_AesCcm16_64_128_Open_Keyed(benchmark::State& st) {
  const Aead aead = *Aead::FromCoseAlgorithm(kCoseAesCcm16_64_128);
  AeadKey key = *AeadKey::Create(aead, Bytes(16, 0x42));
  const Bytes nonce(13, 0x24), msg = Message(kMessageSize);
  const Bytes ct = *key.Seal(nonce, {}, msg);
  for (auto _ : st) {
    auto r = key.Open(nonce, {}, ct);
    if (!r) st.SkipWithError("open failed");
  }
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * kMessageSize);
}
BENCHMARK(BM_AesCcm16_64_128_Open_Keyed);

// Keyed, into a caller buffer (no allocation per message): the packet-buffer path.
void BM_AesCcm16_64_128_SealInto_Keyed(benchmark::State& st) {
  const Aead aead = *Aead::FromCoseAlgorithm(kCoseAesCcm16_64_128);
  AeadKey key = *AeadKey::Create(aead, Bytes(16, 0x42));
  const Bytes nonce(13, 0x24), msg = Message(kMessageSize);
  uint8_t out[kMessageSize + 8];
  for (auto _ : st) benchmark::DoNotOptimize(key.SealInto(nonce, {}, msg, out));
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * kMessageSize);
}
BENCHMARK(BM_AesCcm16_64_128_SealInto_Keyed);

void BM_AesCcm16_64_128_OpenInto_Keyed(benchmark::State& st) {
  const Aead aead = *Aead::FromCoseAlgorithm(kCoseAesCcm16_64_128);
  AeadKey key = *AeadKey::Create(aead, Bytes(16, 0x42));
  const Bytes nonce(13, 0x24), msg = Message(kMessageSize);
  const Bytes ct = *key.Seal(nonce, {}, msg);
  uint8_t out[kMessageSize];
  for (auto _ : st) {
    auto r = key.OpenInto(nonce, {}, ct, out);
    if (!r) st.SkipWithError("open failed");
  }
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * kMessageSize);
}
BENCHMARK(BM_AesCcm16_64_128_OpenInto_Keyed);

void BM_AesCcm16_64_128_Seal_Stateless(benchmark::State& st) {
  const Aead aead = *Aead::FromCoseAlgorithm(kCoseAesCcm16_64_128);
  const Bytes key(16, 0x42), nonce(13, 0x24), msg = Message(kMessageSize);
  for (auto _ : st) benchmark::DoNotOptimize(aead.Seal(key, nonce, {}, msg));
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * kMessageSize);
}
BENCHMARK(BM_AesCcm16_64_128_Seal_Stateless);

void BM_AesCcm16_64_128_Open_Stateless(benchmark::State& st) {
  const Aead aead = *Aead::FromCoseAlgorithm(kCoseAesCcm16_64_128);
  const Bytes key(16, 0x42), nonce(13, 0x24), msg = Message(kMessageSize);
  const Bytes ct = *aead.Seal(key, nonce, {}, msg);
  for (auto _ : st) {
    auto r = aead.Open(key, nonce, {}, ct);
    if (!r) st.SkipWithError("open failed");
  }
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * kMessageSize);
}
BENCHMARK(BM_AesCcm16_64_128_Open_Stateless);

void BM_Sha256(benchmark::State& st) {
  const Bytes data = Message(static_cast<size_t>(st.range(0)));
  for (auto _ : st) benchmark::DoNotOptimize(Sha256(data));
  st.SetBytesProcessed(st.iterations() * st.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(1 << 20)->Arg(16 << 20);

// 64 MiB through the incremental hasher in 64 KiB chunks, as a firmware image would be read.
void BM_Sha256Incremental64MiB(benchmark::State& st) {
  const Bytes chunk = Message(64 << 10);
  for (auto _ : st) {
    auto h = Sha256Hasher::Create();
    for (int i = 0; i < 1024; ++i) (void)h->Update(chunk);
    benchmark::DoNotOptimize(h->Finish());
  }
  st.SetBytesProcessed(st.iterations() * (int64_t{64} << 20));
}
BENCHMARK(BM_Sha256Incremental64MiB)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------- raw EVP, no wrapper

// A private EVP_PKEY generated directly, for the raw drivers.
struct RawKey {
  EVP_PKEY* pkey = nullptr;
  explicit RawKey(const char* alg, const char* group) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr);
    EVP_PKEY_keygen_init(ctx);
    if (group) {
      char g[16];
      std::snprintf(g, sizeof(g), "%s", group);
      OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, g, 0),
                        OSSL_PARAM_construct_end()};
      EVP_PKEY_CTX_set_params(ctx, p);
    }
    EVP_PKEY_generate(ctx, &pkey);
    EVP_PKEY_CTX_free(ctx);
    if (!pkey) std::abort();
  }
  ~RawKey() { EVP_PKEY_free(pkey); }
};

// Like `openssl speed ecdsap256`: sign a digest-sized buffer with a context initialised once.
void RawEcdsaP256Sign(benchmark::State& st) {
  RawKey k("EC", "P-256");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, k.pkey, nullptr);
  EVP_PKEY_sign_init(ctx);
  const Bytes digest = Message(32);
  unsigned char sig[80];
  for (auto _ : st) {
    size_t len = sizeof(sig);
    benchmark::DoNotOptimize(EVP_PKEY_sign(ctx, sig, &len, digest.data(), digest.size()));
  }
  EVP_PKEY_CTX_free(ctx);
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(RawEcdsaP256Sign);

void RawEcdsaP256Verify(benchmark::State& st) {
  RawKey k("EC", "P-256");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, k.pkey, nullptr);
  EVP_PKEY_sign_init(ctx);
  const Bytes digest = Message(32);
  unsigned char sig[80];
  size_t len = sizeof(sig);
  EVP_PKEY_sign(ctx, sig, &len, digest.data(), digest.size());
  EVP_PKEY_verify_init(ctx);
  for (auto _ : st) {
    if (EVP_PKEY_verify(ctx, sig, len, digest.data(), digest.size()) != 1) {
      st.SkipWithError("verify failed");
    }
  }
  EVP_PKEY_CTX_free(ctx);
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(RawEcdsaP256Verify);

// Like `openssl speed ed25519`: one EVP_MD_CTX initialised once, EVP_DigestSign in a loop.
void RawEd25519Sign(benchmark::State& st) {
  RawKey k("ED25519", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit_ex(ctx, nullptr, nullptr, nullptr, nullptr, k.pkey, nullptr);
  const Bytes msg = Message(kMessageSize);
  unsigned char sig[64];
  for (auto _ : st) {
    size_t len = sizeof(sig);
    benchmark::DoNotOptimize(EVP_DigestSign(ctx, sig, &len, msg.data(), msg.size()));
  }
  EVP_MD_CTX_free(ctx);
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(RawEd25519Sign);

void RawEd25519Verify(benchmark::State& st) {
  RawKey k("ED25519", nullptr);
  EVP_MD_CTX* sctx = EVP_MD_CTX_new();
  EVP_DigestSignInit_ex(sctx, nullptr, nullptr, nullptr, nullptr, k.pkey, nullptr);
  const Bytes msg = Message(kMessageSize);
  unsigned char sig[64];
  size_t len = sizeof(sig);
  EVP_DigestSign(sctx, sig, &len, msg.data(), msg.size());
  EVP_MD_CTX_free(sctx);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestVerifyInit_ex(ctx, nullptr, nullptr, nullptr, nullptr, k.pkey, nullptr);
  for (auto _ : st) {
    if (EVP_DigestVerify(ctx, sig, len, msg.data(), msg.size()) != 1) {
      st.SkipWithError("verify failed");
    }
  }
  EVP_MD_CTX_free(ctx);
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(RawEd25519Verify);

// Like `openssl speed ecdhp256`: peer set once, EVP_PKEY_derive in a loop.
void RawEcdh(benchmark::State& st, const char* alg, const char* group) {
  RawKey a(alg, group), b(alg, group);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, a.pkey, nullptr);
  EVP_PKEY_derive_init(ctx);
  EVP_PKEY_derive_set_peer(ctx, b.pkey);
  unsigned char out[32];
  for (auto _ : st) {
    size_t len = sizeof(out);
    benchmark::DoNotOptimize(EVP_PKEY_derive(ctx, out, &len));
  }
  EVP_PKEY_CTX_free(ctx);
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK_CAPTURE(RawEcdh, P256, "EC", "P-256");
BENCHMARK_CAPTURE(RawEcdh, X25519, "X25519", nullptr);

// AES-128-CCM, 13-byte nonce, 8-byte tag, 64-byte message: the complete per-message sequence on
// a keyed context (what a caller of EVP must do at minimum for one message).
void RawAesCcmSeal(benchmark::State& st) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-128-CCM", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const Bytes key(16, 0x42), nonce(13, 0x24), msg = Message(kMessageSize);
  EVP_EncryptInit_ex(ctx, cipher, nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 13, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 8, nullptr);
  EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), nullptr);
  unsigned char out[kMessageSize + 8];
  for (auto _ : st) {
    int len = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data());
    EVP_EncryptUpdate(ctx, nullptr, &len, nullptr, kMessageSize);
    EVP_EncryptUpdate(ctx, out, &len, msg.data(), kMessageSize);
    EVP_EncryptFinal_ex(ctx, out + len, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 8, out + kMessageSize);
    benchmark::DoNotOptimize(out);
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * kMessageSize);
}
BENCHMARK(RawAesCcmSeal);

void RawAesCcmOpen(benchmark::State& st) {
  const Aead aead = *Aead::FromCoseAlgorithm(kCoseAesCcm16_64_128);
  const Bytes key(16, 0x42), nonce(13, 0x24), msg = Message(kMessageSize);
  const Bytes ct = *aead.Seal(key, nonce, {}, msg);
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-128-CCM", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex(ctx, cipher, nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 13, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 8, nullptr);
  EVP_DecryptInit_ex(ctx, nullptr, nullptr, key.data(), nullptr);
  unsigned char out[kMessageSize];
  for (auto _ : st) {
    int len = 0;
    EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data());
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 8,
                        const_cast<unsigned char*>(ct.data() + kMessageSize));
    EVP_DecryptUpdate(ctx, nullptr, &len, nullptr, kMessageSize);
    if (EVP_DecryptUpdate(ctx, out, &len, ct.data(), kMessageSize) != 1) {
      st.SkipWithError("open failed");
    }
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * kMessageSize);
}
BENCHMARK(RawAesCcmOpen);

void RawSha256(benchmark::State& st) {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  const Bytes data = Message(static_cast<size_t>(st.range(0)));
  unsigned char out[32];
  for (auto _ : st) {
    unsigned int len = 0;
    benchmark::DoNotOptimize(EVP_Digest(data.data(), data.size(), out, &len, md, nullptr));
  }
  EVP_MD_free(md);
  st.SetBytesProcessed(st.iterations() * st.range(0));
}
BENCHMARK(RawSha256)->Arg(64)->Arg(1 << 20)->Arg(16 << 20);

}  // namespace

// BENCHMARK_MAIN with the machine first: the line on stderr, where Google Benchmark writes its
// own context (scripts/bench-crypto.sh reads the JSON on stdout), and in that context too, so the
// JSON output carries it as "machine".
int main(int argc, char** argv) {
  secprof::bench::PrintMachine(stderr);
  benchmark::AddCustomContext("machine", secprof::bench::MachineDescription());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
