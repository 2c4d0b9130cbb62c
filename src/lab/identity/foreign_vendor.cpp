// Another manufacturer as an adversary (foreign_vendor.h).
#include "foreign_vendor.h"

#include "secprof/core/fs.h"
#include "secprof/domain/protocol.h"
#include "secprof/keystore/file_store.h"
#include "secprof/manufacture/manufacture.h"

namespace secprof::lab::internal {

namespace fs = std::filesystem;

Result<ForeignVendor> MakeForeignVendor(const fs::path& dir, const std::string& name) {
  manufacture::Options mo;
  mo.vendor = name;
  mo.model = "Plug";
  mo.count = 1;
  mo.out_dir = dir.string();
  SECPROF_TRY(manufacture::Manufacture(mo));
  return OpenVendor(dir);
}

Result<ForeignVendor> OpenVendor(const fs::path& factory_dir) {
  SECPROF_ASSIGN_OR_RETURN(std::string json, ReadFile((factory_dir / "manifest.json").string()));
  SECPROF_ASSIGN_OR_RETURN(manufacture::Manifest mf,
                           manufacture::ManifestFromJson(json, "manifest.json"));
  ForeignVendor v;
  v.name = mf.vendor;
  v.ca_file = factory_dir / mf.ca_certificate;
  SECPROF_ASSIGN_OR_RETURN(std::string pem, ReadFile(v.ca_file.string()));
  SECPROF_ASSIGN_OR_RETURN(v.ca, identity::Certificate::FromPem(pem));
  keystore::FileKeyStoreOptions so;
  so.dir = (factory_dir / mf.ca_key_location).string();
  SECPROF_ASSIGN_OR_RETURN(auto store, keystore::FileKeyStore::Open(std::move(so)));
  v.store = std::move(store);
  SECPROF_ASSIGN_OR_RETURN(v.ca_key, v.store->GetSigner(mf.ca_key_label));
  return v;
}

Result<MintedDevice> Mint(ForeignVendor& v, const std::string& serial, const std::string& vendor_o,
                          const std::string& model) {
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk,
                           crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  identity::IdevidRequest req;
  req.serial_number = serial;
  req.model = model;
  req.vendor = vendor_o;
  // The vendor claims the key was made in a token (it is the vendor's claim to make): what a
  // SecProf_3/4 KDC asks of every IDevID (docs/KEYSTORE.md "Key protection claim").
  req.policy_oids = {identity::kPolicyKeyInToken};
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate idevid,
                           identity::IssueIdevid(*v.ca_key, *v.ca, sk.public_key(), req));
  MintedDevice d;
  d.serial = serial;
  d.idevid_pem = idevid.ToPem();
  SECPROF_ASSIGN_OR_RETURN(d.key_pem, sk.ToPem());
  SECPROF_ASSIGN_OR_RETURN(
      crypto::SoftwareSigner s,
      crypto::SoftwareSigner::Create(std::move(sk), crypto::SignatureAlgorithm::kEcdsaP256Sha256));
  d.key = std::make_unique<crypto::SoftwareSigner>(std::move(s));
  return d;
}

Result<crypto::Bytes> SignVoucher(ForeignVendor& v, const std::string& serial,
                                  const std::string& model, const identity::Certificate& domain_ca,
                                  int64_t created, int64_t expires) {
  voucher::Voucher vo;
  vo.serial = serial;
  vo.vendor = v.ca->subject().organization;
  vo.model = model;
  vo.owner = "lab";
  vo.domain_hash = voucher::DomainHash(domain_ca);
  vo.created = created;
  vo.expires = expires;
  return voucher::Issue(*v.ca_key, vo);
}

Result<JoinAttempt> TryJoin(uint16_t kdc_dtls_port, MintedDevice& dev,
                            std::chrono::milliseconds timeout) {
  JoinAttempt a;
  coap::ClientConfig cc;
  cc.security = coap::Security::kPki;
  cc.pki.certificate_pem = dev.idevid_pem;
  cc.pki.private_key_pem = dev.key_pem.Clone();
  cc.pki.require_peer_certificate = false;  // a provisional session, as a joining thing's
  cc.timeout = timeout;
  auto c = coap::Client::Connect("127.0.0.1", kdc_dtls_port, std::move(cc));
  if (!c) {
    a.handshake = c.error().message();
    return a;
  }
  SECPROF_ASSIGN_OR_RETURN(a.voucher, (*c)->Get(domain::path::kVoucher));
  SECPROF_ASSIGN_OR_RETURN(
      identity::CertificateRequest csr,
      identity::CreateRequest(*dev.key, identity::Name{.serial_number = dev.serial}));
  SECPROF_ASSIGN_OR_RETURN(a.enroll, (*c)->Post(domain::path::kEnroll,
                                                domain::Encode(domain::EnrollRequest{csr.ToDer()}),
                                                coap::content_format::kCbor));
  return a;
}

}  // namespace secprof::lab::internal
