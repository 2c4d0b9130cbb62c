// The identity adversary's tools (adversary.h).
#include "adversary.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/crypto/keys.h"
#include "secprof/domain/keys.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/registry/registry.h"

namespace secprof::lab::internal {

namespace fs = std::filesystem;

Result<DeviceCopy> CopyDevice(LiveDomain& d, int i, const fs::path& dest, bool with_kek) {
  const fs::path src = d.thing_dir(i);
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  fs::copy(src, dest, fs::copy_options::recursive, ec);
  if (ec) return Fail(ErrorCode::kIo, "lab: cannot copy " + src.string() + ": " + ec.message());
  DeviceCopy c{dest, {}};
  const fs::path kek = src.string() + ".kek";
  if (with_kek && fs::exists(kek)) {
    c.kek_file = dest.string() + ".kek";
    fs::copy_file(kek, c.kek_file, ec);
    if (ec) return Fail(ErrorCode::kIo, "lab: cannot copy " + kek.string() + ": " + ec.message());
  }
  return c;
}

Result<std::unique_ptr<thing::Agent>> OpenCopy(const DeviceCopy& c, const RunContext& ctx,
                                               const keystore::Pkcs11KeyStoreOptions* token) {
  thing::AgentOptions ao;
  ao.state_dir = c.state_dir.string();
  ao.timeout = ctx.timeout;
  if (!c.kek_file.empty()) ao.kek_file = c.kek_file.string();
  if (token) ao.pkcs11 = *token;
  return thing::Agent::Open(std::move(ao));
}

Result<FileLoot> ReadDeviceFiles(const DeviceCopy& c) {
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile((c.state_dir / "state.json").string()));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Fail(ErrorCode::kInvalidInput, "lab: the copy's state.json is not JSON");
  FileLoot loot;
  auto str = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
  };
  loot.serial = str("serial");
  loot.psk_identity = str("psk_identity");
  loot.ldevid_pem = str("ldevid");
  loot.ldevid_key_label = str("ldevid_key_label");
  loot.kek_label = str("kek_label");
  loot.idevid_key_label = str("idevid_key_label");
  loot.key_store = str("key_store");
  if (c.kek_file.empty()) {
    loot.locked = "the copy holds no KEK file: the secrets in state.json stay sealed";
    return loot;
  }
  SECPROF_ASSIGN_OR_RETURN(std::string kek_raw, ReadFile(c.kek_file.string()));
  crypto::SecureBuffer kek{
      crypto::ByteView(reinterpret_cast<const uint8_t*>(kek_raw.data()), kek_raw.size())};
  crypto::Cleanse(kek_raw);
  const std::string sealed_hex = str("secrets");
  if (!sealed_hex.empty()) {
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes sealed, cbor::FromHex(sealed_hex));
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer plain,
                             domain::UnwrapKey(kek.view(), "thing-secrets:" + loot.serial, sealed));
    SECPROF_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(plain.view()));
    if (!v.is_map()) return Fail(ErrorCode::kInvalidInput, "lab: the secrets are not a map");
    for (const auto& [k, val] : v.map())
      if (k.is_text() && val.is_bytes()) loot.secrets[k.text()] = crypto::SecureBuffer(val.bytes());
  }
  if (!loot.ldevid_key_label.empty() && fs::exists(c.state_dir / "keystore")) {
    keystore::FileKeyStoreOptions so;
    so.dir = (c.state_dir / "keystore").string();
    SECPROF_ASSIGN_OR_RETURN(so.kek, keystore::DeriveKek(kek.view(), "thing keystore"));
    SECPROF_ASSIGN_OR_RETURN(auto store, keystore::FileKeyStore::Open(std::move(so)));
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer der, store->ExportPrivate(loot.ldevid_key_label));
    SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk, crypto::PrivateKey::FromDer(der.view()));
    SECPROF_ASSIGN_OR_RETURN(loot.ldevid_key_pem, sk.ToPem());
  }
  return loot;
}

// ---- raw PKCS#11 ----------------------------------------------------------------------------

namespace {

std::string Ckr(CK_RV rv) {
  switch (rv) {
    case CKR_OK:
      return "CKR_OK";
    case CKR_ATTRIBUTE_SENSITIVE:
      return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_KEY_UNEXTRACTABLE:
      return "CKR_KEY_UNEXTRACTABLE";
    case CKR_KEY_NOT_WRAPPABLE:
      return "CKR_KEY_NOT_WRAPPABLE";
    case CKR_ATTRIBUTE_READ_ONLY:
      return "CKR_ATTRIBUTE_READ_ONLY";
    default: {
      char hex[24];
      std::snprintf(hex, sizeof hex, "CKR 0x%lx", static_cast<unsigned long>(rv));
      return hex;
    }
  }
}

// A session on one token, released in reverse order; finalises the module and logs out only
// when this object initialised it or logged in (another store in the process may hold both).
class RawSession {
 public:
  RawSession(const keystore::Pkcs11KeyStoreOptions& t, std::string& problem) {
    lib_ = ::dlopen(t.module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib_) {
      problem = "cannot load " + t.module_path;
      return;
    }
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(lib_, "C_GetFunctionList"));
    if (!get || get(&f_) != CKR_OK) {
      problem = "no C_GetFunctionList";
      return;
    }
    CK_RV rv = f_->C_Initialize(nullptr);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      problem = "C_Initialize " + Ckr(rv);
      return;
    }
    initialized_ = rv == CKR_OK;
    CK_ULONG n = 0;
    f_->C_GetSlotList(CK_TRUE, nullptr, &n);
    std::vector<CK_SLOT_ID> slots(n);
    f_->C_GetSlotList(CK_TRUE, slots.data(), &n);
    for (CK_ULONG i = 0; i < n && !open_; ++i) {
      CK_TOKEN_INFO info{};
      if (f_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      std::string l(reinterpret_cast<char*>(info.label), sizeof info.label);
      l.erase(l.find_last_not_of(' ') + 1);
      if (l != t.token_label) continue;
      open_ = f_->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                &s_) == CKR_OK;
    }
    if (!open_) {
      problem = "token " + t.token_label + " not found";
      return;
    }
    rv = f_->C_Login(s_, CKU_USER, const_cast<CK_UTF8CHAR*>(t.pin.bytes().data()), t.pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) problem = "C_Login " + Ckr(rv);
    logged_in_ = rv == CKR_OK;
  }
  ~RawSession() {
    if (logged_in_) f_->C_Logout(s_);
    if (open_) f_->C_CloseSession(s_);
    if (initialized_) f_->C_Finalize(nullptr);
    if (lib_) ::dlclose(lib_);
  }
  RawSession(const RawSession&) = delete;
  RawSession& operator=(const RawSession&) = delete;
  CK_FUNCTION_LIST* f() const { return f_; }
  CK_SESSION_HANDLE s() const { return s_; }

  std::vector<CK_OBJECT_HANDLE> Find(const std::string& label) {
    CK_ATTRIBUTE t{CKA_LABEL, const_cast<char*>(label.data()), label.size()};
    std::vector<CK_OBJECT_HANDLE> out(8);
    CK_ULONG n = 0;
    if (f_->C_FindObjectsInit(s_, &t, 1) != CKR_OK) return {};
    f_->C_FindObjects(s_, out.data(), out.size(), &n);
    f_->C_FindObjectsFinal(s_);
    out.resize(n);
    return out;
  }

 private:
  void* lib_ = nullptr;
  CK_FUNCTION_LIST* f_ = nullptr;
  CK_SESSION_HANDLE s_ = CK_INVALID_HANDLE;
  bool initialized_ = false, open_ = false, logged_in_ = false;
};

}  // namespace

TokenProbe ProbeToken(const keystore::Pkcs11KeyStoreOptions& token,
                      const std::vector<std::string>& labels) {
  TokenProbe p;
  RawSession rs(token, p.problem);
  if (!p.problem.empty()) return p;
  // A wrapping key of the attacker's (a session object it may use as it likes).
  CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
  CK_KEY_TYPE aes = CKK_AES;
  CK_ULONG len = 32;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;  // `no`: the wrapping key is a session object
  CK_ATTRIBUTE wt[] = {{CKA_CLASS, &sk, sizeof sk},       {CKA_KEY_TYPE, &aes, sizeof aes},
                       {CKA_VALUE_LEN, &len, sizeof len}, {CKA_WRAP, &yes, sizeof yes},
                       {CKA_TOKEN, &no, sizeof no},       {CKA_EXTRACTABLE, &yes, sizeof yes}};
  CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE wrapping = CK_INVALID_HANDLE;
  const bool have_wrapping = rs.f()->C_GenerateKey(rs.s(), &gen, wt, 6, &wrapping) == CKR_OK;
  for (const auto& label : labels) {
    for (CK_OBJECT_HANDLE h : rs.Find(label)) {
      CK_OBJECT_CLASS cls = 0;
      CK_ATTRIBUTE ca{CKA_CLASS, &cls, sizeof cls};
      rs.f()->C_GetAttributeValue(rs.s(), h, &ca, 1);
      if (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY) continue;  // public halves are public
      uint8_t buf[512];
      CK_ATTRIBUTE v{CKA_VALUE, buf, sizeof buf};
      CK_RV rv = rs.f()->C_GetAttributeValue(rs.s(), h, &v, 1);
      std::string line = label + (cls == CKO_SECRET_KEY ? " (secret key)" : " (private key)") +
                         ": C_GetAttributeValue(CKA_VALUE) " + Ckr(rv);
      if (rv == CKR_OK) ++p.extracted;
      crypto::Cleanse(std::span<uint8_t>(buf, sizeof buf));
      // Make it extractable, then wrap it out under the attacker's key (base §4.9, §5.14).
      CK_ATTRIBUTE mk{CKA_EXTRACTABLE, &yes, sizeof yes};
      line += ", set CKA_EXTRACTABLE " + Ckr(rs.f()->C_SetAttributeValue(rs.s(), h, &mk, 1));
      if (have_wrapping) {
        CK_MECHANISM wrap{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
        uint8_t wrapped[1024];
        CK_ULONG wl = sizeof wrapped;
        CK_RV wr = rs.f()->C_WrapKey(rs.s(), &wrap, wrapping, h, wrapped, &wl);
        line += ", C_WrapKey " + Ckr(wr);
        if (wr == CKR_OK) ++p.extracted;
        crypto::Cleanse(std::span<uint8_t>(wrapped, sizeof wrapped));
      }
      p.lines.push_back(line);
    }
  }
  if (have_wrapping) rs.f()->C_DestroyObject(rs.s(), wrapping);
  if (p.lines.empty()) p.problem = "no secret or private key with the labels asked for";
  return p;
}

// ---- the KDC's and the registry's word --------------------------------------------------------

std::string RefusalDelta(const std::map<std::string, uint64_t>& before,
                         const std::map<std::string, uint64_t>& after) {
  std::string out;
  for (const auto& [reason, n] : after) {
    auto it = before.find(reason);
    if (n > (it == before.end() ? 0 : it->second)) out += (out.empty() ? "" : ", ") + reason;
  }
  return out;
}

std::string RegistryState(LiveDomain& d, const std::string& serial) {
  if (!d.owner()) return "unknown";
  auto t = d.owner()->registry().Get(serial);
  return t ? registry::StateName(t->state) : "unknown";
}

size_t CountAudit(LiveDomain& d, const std::string& serial, const std::string& action) {
  if (!d.owner()) return 0;
  auto a = d.owner()->registry().Audit(serial);
  size_t n = 0;
  if (a)
    for (const auto& e : *a) n += e.action == action;
  return n;
}

Result<std::unique_ptr<coap::Client>> OwnSession(LiveDomain& d, const FileLoot& loot,
                                                 const keystore::Pkcs11KeyStoreOptions* token,
                                                 std::chrono::milliseconds timeout) {
  coap::ClientConfig cc;
  cc.timeout = timeout;
  if (!loot.psk_identity.empty()) {
    auto it = loot.secrets.find("pairwise");
    if (it == loot.secrets.end()) return Fail(ErrorCode::kNotFound, "lab: no PSK in the loot");
    cc.security = coap::Security::kPsk;
    cc.psk_identity = loot.psk_identity;
    cc.psk_key = it->second.Clone();
  } else {
    if (loot.ldevid_pem.empty()) return Fail(ErrorCode::kNotFound, "lab: no LDevID in the loot");
    cc.security = coap::Security::kPki;
    cc.pki.certificate_pem = loot.ldevid_pem;
    if (!loot.ldevid_key_pem.empty()) {
      cc.pki.private_key_pem = loot.ldevid_key_pem.Clone();
    } else if (token) {
      coap::Pkcs11PrivateKey k;
      k.uri = "pkcs11:token=" + token->token_label + ";object=" + loot.ldevid_key_label +
              ";type=private";
      k.pin = token->pin.value().Clone();
      k.module_path = token->module_path;
      cc.pki.private_key_pkcs11 = std::move(k);
    } else {
      return Fail(ErrorCode::kNotFound, "lab: the LDevID key is neither in the loot nor a token");
    }
    cc.pki.trust_anchors_pem = d.kdc()->domain_ca().ToPem();
  }
  return coap::Client::Connect("127.0.0.1", d.kdc_dtls_port(), std::move(cc));
}

Status JoinNow(LiveDomain& d, int i) {
  const thing::State st = d.thing(i).state().state;
  if (st == thing::State::kManufactured || st == thing::State::kReOwned)
    return d.InstallAndJoin(i, d.kdc_udp_port(), d.kdc_dtls_port());
  return d.thing(i).Join();
}

std::string LegitimateJoin(LiveDomain& d, int i) {
  const std::string serial = d.thing(i).state().serial;
  auto a = d.Admit(i);
  if (!a) return "the owner could not admit " + serial + ": " + a.error().message();
  auto j = JoinNow(d, i);
  return "then " + serial + " admitted with a valid voucher joins: " +
         (j ? std::string("commissioned") : j.error().message());
}

std::string BodyText(const coap::Response& r) {
  std::string s(r.payload.begin(), r.payload.end());
  if (s.size() > 200) s.resize(200);
  for (char& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '.';
  return coap::CodeString(r.code) + (s.empty() ? "" : " " + s);
}

}  // namespace secprof::lab::internal
