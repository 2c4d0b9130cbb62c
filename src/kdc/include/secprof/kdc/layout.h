// secprof/kdc/layout.h — where a KDC keeps its files (docs/DOMAIN.md "Running it",
// docs/KEYSTORE.md): the registry, its lock, and the key directory beside it.
//
//   <db>                     the registry (SQLite; registry::Registry)
//   <db>.lock                one KDC per registry (flock)
//   <keys> = <db>.keys       unless given (`--keys`)
//     domain-ca.pem          the domain CA certificate
//     domain-ca.key          where the CA key is (a file, or a record naming its PKCS#11 token)
//     kdc.pem                the KDC's DTLS certificate
//     keystore/              the file key store (sealed under the KEK, kept outside <keys>)
//     vendors/<sha256>.pem   manufacturer trust anchors, by the SHA-256 of their DER
//     firmware/              the firmware store's images
//
// Pure path arithmetic: nothing here touches the file system.
#pragma once

#include <string>

#include "secprof/crypto/crypto.h"

namespace secprof::kdc {

struct Layout {
  std::string db;
  std::string keys;

  // `keys` empty: the default <db>.keys.
  static Layout For(const std::string& db, const std::string& keys = {});

  std::string RegistryLock() const { return db + ".lock"; }
  std::string DomainCaCertificate() const { return keys + "/domain-ca.pem"; }
  std::string DomainCaKey() const { return keys + "/domain-ca.key"; }
  std::string KdcCertificate() const { return keys + "/kdc.pem"; }
  std::string KeyStoreDir() const { return keys + "/keystore"; }
  std::string VendorsDir() const { return keys + "/vendors"; }
  std::string FirmwareDir() const { return keys + "/firmware"; }
  // A manufacturer trust anchor, by the SHA-256 fingerprint of its certificate's DER.
  std::string VendorAnchor(crypto::ByteView fingerprint) const;
};

}  // namespace secprof::kdc
