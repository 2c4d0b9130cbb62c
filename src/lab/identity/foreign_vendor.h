// Internal to secprof::lab, identity/ group: another manufacturer as an adversary (T2, malicious
// substitution). It has a real vendor CA of its own (made by `secprof manufacture`), mints IDevIDs
// with whatever serial and O it likes for keys it holds, signs vouchers for any serial and domain,
// and plays the minted device against the KDC's join resources over DTLS (docs/DOMAIN.md
// "SecProf_3, SecProf_4": j/voucher, j/enroll).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "secprof/coap/coap.h"
#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/crypto/signer.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/keystore.h"
#include "secprof/voucher/voucher.h"

namespace secprof::lab::internal {

struct ForeignVendor {
  std::string name;
  std::filesystem::path ca_file;  // its CA certificate (PEM), for the owner to trust or not
  std::optional<identity::Certificate> ca;  // set by MakeForeignVendor
  std::unique_ptr<keystore::KeyStore> store;
  std::unique_ptr<crypto::Signer> ca_key;
};

// Manufactures vendor `name`'s CA (and one device of its own) under `dir` (file key store).
Result<ForeignVendor> MakeForeignVendor(const std::filesystem::path& dir, const std::string& name);
// A vendor's CA and key from its factory directory (`secprof manufacture --out`): the domain's
// own vendor too, when a scenario needs a voucher it really issued (an old or a misdirected one).
Result<ForeignVendor> OpenVendor(const std::filesystem::path& factory_dir);

// A device the vendor minted: an IDevID naming `serial`, O = `vendor_o`, for a key it holds.
struct MintedDevice {
  std::string serial;
  std::string idevid_pem;
  crypto::SecureBuffer key_pem;
  std::unique_ptr<crypto::Signer> key;
};
Result<MintedDevice> Mint(ForeignVendor& v, const std::string& serial, const std::string& vendor_o,
                          const std::string& model);

// The vendor's voucher for `serial` pinning `domain_ca`, valid from `created` to `expires`.
Result<crypto::Bytes> SignVoucher(ForeignVendor& v, const std::string& serial,
                                  const std::string& model, const identity::Certificate& domain_ca,
                                  int64_t created, int64_t expires);

// What the KDC answered the minted device: GET j/voucher, then POST j/enroll with a CSR for its
// key. `handshake` holds the error when the DTLS handshake itself was refused.
struct JoinAttempt {
  std::string handshake;
  std::optional<coap::Response> voucher, enroll;
  bool enrolled() const { return enroll && enroll->code == coap::kChanged; }
};
Result<JoinAttempt> TryJoin(uint16_t kdc_dtls_port, MintedDevice& dev,
                            std::chrono::milliseconds timeout);

}  // namespace secprof::lab::internal
