// Token-held DTLS private keys: OpenSSL's "pkcs11" engine (libp11) as libcoap 4.3.1 uses it for
// COAP_PKI_KEY_PKCS11, and the private directory for the DER files that mode reads.
//
// The ENGINE API is deprecated in OpenSSL 3 but it is what libcoap 4.3.1 calls (ENGINE_by_id
// ("pkcs11"), ENGINE_ctrl_cmd_string(.., "PIN", ..), ENGINE_load_private_key); there is no
// provider path in that version.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <fcntl.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ui.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "internal.h"
#include "secprof/core/posix.h"

namespace secprof::coap::internal {

// ----------------------------------------------------------------------------------- PrivateDir

Result<std::unique_ptr<PrivateDir>> PrivateDir::Create() {
  std::error_code ec;
  auto base = std::filesystem::temp_directory_path(ec);
  if (ec) return Fail(ErrorCode::kIo, "no temporary directory: " + ec.message());
  std::string tmpl = (base / "secprof-coap-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)  // mode 0700
    return Fail(ErrorCode::kIo, "mkdtemp " + tmpl + ": " + std::strerror(errno));
  return std::unique_ptr<PrivateDir>(new PrivateDir(tmpl));
}

PrivateDir::~PrivateDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Result<std::string> PrivateDir::Write(const std::string& name, ByteView bytes) {
  std::string path = (path_ / name).string();
  posix::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return Fail(ErrorCode::kIo, "open " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(ErrorCode::kIo, "write " + path + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (!fd.Close()) return Fail(ErrorCode::kIo, "close " + path + ": " + std::strerror(errno));
  return path;
}

// ------------------------------------------------------------------------------ pkcs11 engine

namespace {

struct EngineRef {
  // The structural reference from ENGINE_by_id and the functional one from ENGINE_init, released
  // in that order's reverse. libcoap takes its own references to the same ENGINE object
  // (ENGINE_by_id returns the listed instance) and keeps them until coap_cleanup.
  ENGINE* engine = nullptr;
  bool initialised = false;
  ~EngineRef() {
    if (engine && initialised) ENGINE_finish(engine);
    if (engine) ENGINE_free(engine);
  }
};

struct EngineState {
  std::mutex mu;
  EngineRef ref;
  std::string module;  // the module_path it was loaded with ("" = the engine's default)
};

EngineState& State() {
  static EngineState state;
  return state;
}

// A UI that never prompts: libp11 falls back to the UI when it needs a PIN it does not have, and
// the default UI would read the terminal (or block on stdin).
int RefusePrompt(UI*, UI_STRING*) { return 0; }

std::string ErrorQueueText() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

}  // namespace

Status CheckPkcs11Key(const Pkcs11PrivateKey& key, ByteView certificate_der) {
  if (key.uri.rfind("pkcs11:", 0) != 0)
    return Fail(ErrorCode::kInvalidInput,
                "private_key_pkcs11.uri must be an RFC 7512 'pkcs11:' URI: '" + key.uri + "'");
  // RFC 7512 §2.3 allows the PIN in the URI (pin-value); refused here so that it never ends up in
  // messages or logs that quote the URI.
  if (key.uri.find("pin-value") != std::string::npos ||
      key.uri.find("pin-source") != std::string::npos)
    return Fail(ErrorCode::kInvalidInput,
                "private_key_pkcs11.uri carries a PIN; give it in private_key_pkcs11.pin instead");
  if (key.pin.empty())
    return Fail(ErrorCode::kInvalidInput, "private_key_pkcs11.pin is empty (the token's user PIN)");
  if (std::memchr(key.pin.data(), 0, key.pin.size()) != nullptr)
    return Fail(ErrorCode::kInvalidInput, "private_key_pkcs11.pin contains a NUL byte");

  EngineState& st = State();
  std::lock_guard lock(st.mu);
  ERR_clear_error();
  if (!st.ref.engine) {
    ENGINE* e = ENGINE_by_id("pkcs11");
    if (!e) {
      ERR_clear_error();
      return Fail(ErrorCode::kUnsupported,
                  "OpenSSL's pkcs11 engine is not available (Debian package "
                  "libengine-pkcs11-openssl); token-held DTLS keys need it");
    }
    st.ref.engine = e;
    if (!key.module_path.empty() &&
        !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", key.module_path.c_str(), 0)) {
      std::string why = ErrorQueueText();
      ENGINE_free(e);
      st.ref.engine = nullptr;
      return Fail(ErrorCode::kCrypto,
                  "pkcs11 engine refused MODULE_PATH " + key.module_path + ": " + why);
    }
    if (!ENGINE_init(e)) {
      std::string why = ErrorQueueText();
      ENGINE_free(e);
      st.ref.engine = nullptr;
      return Fail(ErrorCode::kCrypto, "pkcs11 engine initialisation failed: " + why);
    }
    st.ref.initialised = true;
    st.module = key.module_path;
  } else if (!key.module_path.empty() && key.module_path != st.module) {
    return Fail(ErrorCode::kInvalidInput,
                "the pkcs11 engine is process-wide and already uses module '" +
                    (st.module.empty() ? std::string("(engine default)") : st.module) + "', not '" +
                    key.module_path + "'");
  }
  ENGINE* e = st.ref.engine;

  // The PIN as a C string in a wiping buffer; libp11 keeps its own copy for later logins.
  crypto::SecureBuffer pin(key.pin.size() + 1);
  std::memcpy(pin.data(), key.pin.data(), key.pin.size());
  if (!ENGINE_ctrl_cmd_string(e, "PIN", reinterpret_cast<const char*>(pin.data()), 0)) {
    std::string why = ErrorQueueText();
    return Fail(ErrorCode::kCrypto, "pkcs11 engine refused the PIN: " + why);
  }
  openssl::UiMethodPtr ui(UI_create_method("secprof: no prompt"));
  if (!ui || UI_method_set_reader(ui.get(), &RefusePrompt) != 0)
    return Fail(ErrorCode::kInternal, "UI_create_method failed");
  openssl::EvpPkeyPtr pkey(ENGINE_load_private_key(e, key.uri.c_str(), ui.get(), nullptr));
  if (!pkey) {
    std::string why = ErrorQueueText();
    std::string lower = why;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    // libp11 reports CKR_PIN_* as "PIN incorrect", "PIN len range", "PIN locked", ...
    if (lower.find("pin incorrect") != std::string::npos ||
        lower.find("pin_incorrect") != std::string::npos ||
        lower.find("pin len range") != std::string::npos ||
        lower.find("pin locked") != std::string::npos)
      return Fail(ErrorCode::kInvalidInput,
                  "token refused the PIN for " + key.uri + (why.empty() ? "" : ": " + why));
    return Fail(ErrorCode::kNotFound,
                "no usable private key at " + key.uri + (why.empty() ? "" : " (" + why + ")"));
  }
  const unsigned char* p = certificate_der.data();
  openssl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(certificate_der.size())));
  if (!cert) {
    ERR_clear_error();
    return Fail(ErrorCode::kInvalidInput, "certificate_pem is not a certificate");
  }
  if (X509_check_private_key(cert.get(), pkey.get()) != 1) {
    std::string why = ErrorQueueText();
    return Fail(ErrorCode::kInvalidInput, "the token key at " + key.uri +
                                              " does not belong to certificate_pem" +
                                              (why.empty() ? "" : " (" + why + ")"));
  }
  ERR_clear_error();
  return Ok();
}

}  // namespace secprof::coap::internal
