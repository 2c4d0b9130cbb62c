// kdc::Layout (secprof/kdc/layout.h): the paths of a KDC's files.
#include "secprof/kdc/layout.h"

#include "secprof/cbor/cbor.h"

namespace secprof::kdc {

Layout Layout::For(const std::string& db, const std::string& keys) {
  return Layout{db, keys.empty() ? db + ".keys" : keys};
}

std::string Layout::VendorAnchor(crypto::ByteView fingerprint) const {
  return VendorsDir() + "/" + cbor::ToHex(fingerprint) + ".pem";
}

}  // namespace secprof::kdc
