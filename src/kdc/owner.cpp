#include <filesystem>

#include "internal.h"
#include "owner_impl.h"
#include "secprof/cbor/cbor.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "secprof/kdc/kdc.h"
#include "secprof/voucher/voucher.h"
#include "setup_join.h"

namespace secprof::kdc {

int64_t UnixNow(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
}

std::string HexSha256(crypto::ByteView data) {
  auto d = crypto::Sha256(data);
  if (!d) return {};
  return cbor::ToHex(crypto::ByteView(d->data(), d->size()));
}

Result<crypto::Bytes> NewGroupKey(crypto::ByteView kek, std::string_view group, int64_t epoch,
                                  crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer key, rng.DrawSecret(domain::kMasterKeySize));
  return domain::WrapKey(kek, GroupContext(group, epoch), crypto::ByteView(key.data(), key.size()),
                         rng);
}

registry::GroupRekeyFn RekeyWith(crypto::ByteView kek, crypto::Random& rng) {
  return [kek, &rng](const std::string& group, int64_t new_epoch) -> Result<crypto::Bytes> {
    return NewGroupKey(kek, group, new_epoch, rng);
  };
}

namespace {
// Owner commands do not sign with the domain CA key: its token (and PIN) is not needed.
KeyDirOptions OwnerKek(KeyDirOptions k) {
  k.open_ca_token = false;
  return k;
}
}  // namespace

OwnerTools::OwnerTools(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OwnerTools::~OwnerTools() = default;

Result<std::unique_ptr<OwnerTools>> OwnerTools::Open(const std::string& db_path,
                                                     std::string keys_dir, const Clock& clock,
                                                     crypto::Random& rng,
                                                     const KeyDirOptions& kek) {
  if (db_path.empty()) return Fail(ErrorCode::kInvalidInput, "--db is required");
  if (!std::filesystem::exists(db_path))
    return Fail(ErrorCode::kNotFound,
                db_path + " does not exist (start the KDC once with --db to create it)");
  if (keys_dir.empty()) keys_dir = db_path + ".keys";
  // The owner's tools use the KDC's keys; they never make a domain CA of their own (a wrong
  // --keys would otherwise mint one that no voucher or LDevID matches).
  if (!std::filesystem::exists(keys_dir + "/domain-ca.pem"))
    return Fail(ErrorCode::kNotFound,
                keys_dir + "/domain-ca.pem does not exist (not the key directory of this KDC?)");
  SECPROF_ASSIGN_OR_RETURN(auto reg, registry::Registry::Open(db_path, clock));
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo info, reg->Domain());
  SECPROF_ASSIGN_OR_RETURN(DomainKeys keys,
                           OpenDomainKeys(keys_dir, info.owner, clock, rng, OwnerKek(kek)));
  if (!keys.colocated_kek.empty())
    SECPROF_TRY(reg->Append("owner", "override:colocated-kek", "", keys.colocated_kek));
  SECPROF_TRY(ConvertLegacySetupCodes(
      *reg, crypto::ByteView(keys.wrap_kek.data(), keys.wrap_kek.size()), rng));
  auto impl =
      std::unique_ptr<Impl>(new Impl{keys_dir, clock, rng, std::move(reg), std::move(keys)});
  return std::unique_ptr<OwnerTools>(new OwnerTools(std::move(impl)));
}

registry::Registry& OwnerTools::registry() { return *impl_->reg; }
const identity::Certificate& OwnerTools::domain_ca() const { return impl_->keys.domain_ca; }

Status OwnerTools::ImportVoucher(const crypto::Bytes& bytes, const identity::Certificate& vendor_ca,
                                 std::string_view actor) {
  if (auto d = CheckVendorCaDistinct(impl_->keys.domain_ca, vendor_ca); !d)
    return Fail(d.error().WithContext("voucher refused"));
  auto v = voucher::Verify(bytes, vendor_ca, impl_->clock);
  if (!v) return Fail(v.error().WithContext("voucher refused"));
  auto bind = voucher::CheckBinding(*v, v->serial, impl_->keys.domain_ca);
  if (!bind)
    return Fail(ErrorCode::kVerifyFailed,
                "voucher refused: it pins another domain, not this KDC's domain CA");
  SECPROF_TRY(domain::ValidateSerial(v->serial));
  SECPROF_TRY(SaveVendorCa(impl_->keys_dir, vendor_ca));
  // The registry records which vendor CA verified the voucher: Joining admits only an IDevID that
  // chains to it (issue 9 item 3).
  const auto& fp = vendor_ca.fingerprint();
  return impl_->reg->ImportVoucherFrom(v->serial, v->vendor, v->model, bytes, v->expires,
                                       cbor::ToHex(crypto::ByteView(fp.data(), fp.size())), actor);
}

Status OwnerTools::AllowSetupCode(std::string_view serial, std::string_view vendor,
                                  std::string_view model, std::string_view setup_code,
                                  std::string_view actor) {
  SECPROF_TRY(domain::ValidateSerial(serial));
  SECPROF_TRY(domain::CheckSetupCodeStrength(setup_code));
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes w, WrapSetupCodeKey(kek, serial, setup_code, impl_->rng));
  return impl_->reg->AllowSetupVerifier(serial, vendor, model, std::move(w), actor);
}

Status OwnerTools::RetireSetupCode(std::string_view serial, std::string_view reason,
                                   std::string_view actor) {
  return impl_->reg->RetireSetupCode(serial, reason, actor);
}

Status OwnerTools::Retire(std::string_view serial, registry::State to, std::string_view reason,
                          std::string_view actor) {
  if (to != registry::State::kDecommissioned && to != registry::State::kRevoked &&
      to != registry::State::kEvicted)
    return Fail(ErrorCode::kInvalidInput, "retire to decommissioned, revoked or evicted only");
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  auto r = impl_->reg->Transition(serial, to, actor, reason, RekeyWith(kek, impl_->rng));
  if (!r) return Fail(r.error());
  return {};
}

Status OwnerTools::Replace(std::string_view old_serial, std::string_view new_serial,
                           std::string_view actor) {
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  auto r = impl_->reg->Replace(old_serial, new_serial, actor, RekeyWith(kek, impl_->rng));
  if (!r) return Fail(r.error());
  return {};
}

Status OwnerTools::CreateGroup(std::string_view name, std::string_view actor) {
  SECPROF_TRY(domain::ValidateGroupName(name));
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes wrapped, NewGroupKey(kek, name, 1, impl_->rng));
  return impl_->reg->CreateGroup(name, std::move(wrapped), actor);
}

Status OwnerTools::AddMember(std::string_view group, std::string_view serial,
                             std::string_view actor) {
  // SecProf_3/4 (Policy::rekey_on_join): the join re-keys the group in the same transaction, so
  // the newcomer cannot read traffic of the epoch before it joined (issue 9 item 8).
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo info, impl_->reg->Domain());
  SECPROF_ASSIGN_OR_RETURN(domain::Profile profile, domain::ParseProfile(info.profile));
  if (!domain::PolicyFor(profile).rekey_on_join) return impl_->reg->AddMember(group, serial, actor);
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  return impl_->reg->AddMember(group, serial, actor, RekeyWith(kek, impl_->rng));
}

Status OwnerTools::RemoveMember(std::string_view group, std::string_view serial,
                                std::string_view actor) {
  SECPROF_ASSIGN_OR_RETURN(registry::Group g, impl_->reg->GetGroup(group));
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes wrapped, NewGroupKey(kek, group, g.epoch + 1, impl_->rng));
  return impl_->reg->RemoveMember(group, serial, std::move(wrapped), actor);
}

Status OwnerTools::ReleaseQuarantine(std::string_view serial, std::string_view actor) {
  return impl_->reg->ReleaseQuarantine(serial, actor);
}

}  // namespace secprof::kdc
