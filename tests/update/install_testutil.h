// Helpers for the installer tests: fixed keys, identities, images, envelopes, and a snapshot of a
// directory's files (to assert that a refusal changed nothing).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "secprof/crypto/hash.h"
#include "secprof/crypto/keys.h"
#include "secprof/update/install.h"
#include "secprof/update/suit.h"

namespace secprof::update::installtest {

inline cose::Key P256(uint8_t seed) {
  Bytes d(32, seed);
  d[0] = 0x01;
  auto sk = crypto::PrivateKey::FromRaw(crypto::KeyType::kP256, d);
  EXPECT_TRUE(sk.has_value());
  return *cose::KeyFromPrivate(std::move(*sk));
}

inline cose::Key Ed25519(uint8_t seed) {
  auto sk = crypto::PrivateKey::FromRaw(crypto::KeyType::kEd25519, Bytes(32, seed));
  EXPECT_TRUE(sk.has_value());
  return *cose::KeyFromPrivate(std::move(*sk));
}

// The public half only: what a thing holds as a trust anchor.
inline cose::Key PublicOf(const cose::Key& k) { return *cose::KeyFromPublic(*k.public_key); }

inline const cose::Key& VendorKey() {
  static const cose::Key k = P256(0x11);
  return k;
}
inline const cose::Key& OwnerKey() {
  static const cose::Key k = Ed25519(0x33);
  return k;
}
inline const cose::Key& OtherKey() {  // an attacker's key
  static const cose::Key k = P256(0x22);
  return k;
}

inline Bytes VendorId() { return *ParseUuid("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"); }
inline Bytes ClassId() { return *ParseUuid("1492af14-2569-5e48-bf42-9b2d51f2ab45"); }
inline Bytes OtherId() { return *ParseUuid("00112233-4455-6677-8899-aabbccddeeff"); }

inline InstallIdentity Identity(bool with_owner = false) {
  InstallIdentity id;
  id.vendor_id = VendorId();
  id.class_id = ClassId();
  id.vendor_key = PublicOf(VendorKey());
  if (with_owner) id.owner_key = PublicOf(OwnerKey());
  return id;
}

// A distinct image per sequence number.
inline Bytes Image(uint64_t seq, size_t size = 5000) {
  Bytes img(size);
  for (size_t i = 0; i < size; ++i) img[i] = static_cast<uint8_t>((i * 31 + seq * 17) ^ (i >> 8));
  return img;
}

inline Bytes MakeEnvelope(uint64_t seq, const Bytes& image, const cose::Key& key = VendorKey(),
                          Bytes vendor = VendorId(), Bytes cls = ClassId()) {
  CreateParams p;
  p.vendor_id = std::move(vendor);
  p.class_id = std::move(cls);
  p.sequence_number = seq;
  auto env = CreateEnvelope(image, p, key);
  EXPECT_TRUE(env.has_value()) << env.error().ToString();
  return *env;
}

inline void WriteBytes(const std::filesystem::path& p, const Bytes& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

inline Bytes ReadBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every file of a directory (name -> bytes): two equal snapshots mean nothing changed.
inline std::map<std::string, Bytes> Snapshot(const std::filesystem::path& dir) {
  std::map<std::string, Bytes> m;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) m[e.path().filename().string()] = ReadBytes(e.path());
  return m;
}

inline Bytes Sha256Of(const Bytes& b) {
  auto d = crypto::Sha256(b);
  return Bytes(d->begin(), d->end());
}

}  // namespace secprof::update::installtest
