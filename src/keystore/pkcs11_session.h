// Internal: RAII over the PKCS#11 C API (v2.40 base specification, "PKCS #11 Cryptographic Token
// Interface Base Specification Version 2.40", OASIS 2015; section numbers below refer to it).
//
// Ownership, from the outside in:
//   Module  — a dlopen'ed module and its C_Initialize; ~Module calls C_Finalize (§5.4) and dlclose.
//             One per process and path (Module::Load returns the live one), because C_Initialize
//             may be called once per process (§5.4: CKR_CRYPTOKI_ALREADY_INITIALIZED).
//   Session — one C_OpenSession (§5.6); ~Session calls C_CloseSession. Holds the Module. A session
//             runs one operation at a time, so every use takes Session::mu.
//   Login   — the user login on one token (§5.6 C_Login). The login state belongs to the
//             application, not to a session (§5.6, "all sessions ... share the login state"), so
//             every store on the same token shares one Login; ~Login calls C_Logout through the
//             session that logged in, which it keeps open.
//   Token   — what a store and the signers it hands out share: Module, Login and their Session.
//             Members are destroyed session-first, module-last.
//
// This header includes p11-kit's <p11-kit/pkcs11.h> (Debian libp11-kit-dev), a complete,
// standalone PKCS#11 v2.40 header usable from C++ with the standard CK_ names (its
// CRYPTOKI_COMPAT mode, the default). It stays out of the public headers.
#pragma once

#include <p11-kit/pkcs11.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/crypto/hash.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::keystore::p11 {

// "CKR_PIN_INCORRECT" etc.; "CKR_0x…" for codes not in our table.
std::string RvName(CK_RV rv);
// kCrypto "<function>: <CKR name>".
Error RvError(const char* function, CK_RV rv);

class Login;

class Module {
 public:
  // The process-wide instance for `path`, loading and initialising it when none is alive.
  // kNotFound when the file does not exist, kCrypto when it is not a PKCS#11 module or
  // C_Initialize fails.
  static Result<std::shared_ptr<Module>> Load(const std::string& path);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* f() const { return functions_; }
  const std::string& path() const { return path_; }

  // Logins per slot, shared by all stores on that token (see Login).
  std::mutex login_mu;
  std::map<CK_SLOT_ID, std::weak_ptr<Login>> logins;

 private:
  Module(std::string path, void* handle, CK_FUNCTION_LIST* functions, bool finalize)
      : path_(std::move(path)), handle_(handle), functions_(functions), finalize_(finalize) {}
  std::string path_;
  void* handle_;                 // from dlopen; dlclose'd last
  CK_FUNCTION_LIST* functions_;  // owned by the module
  bool finalize_;                // false when someone else in the process had initialised it
};

class Session {
 public:
  // C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION) (§5.6; CKF_SERIAL_SESSION is
  // mandatory).
  static Result<std::shared_ptr<Session>> Open(std::shared_ptr<Module> module, CK_SLOT_ID slot);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CK_FUNCTION_LIST* f() const { return module_->f(); }
  CK_SESSION_HANDLE handle() const { return handle_; }
  const std::shared_ptr<Module>& module() const { return module_; }
  std::mutex mu;  // held for the whole of each operation

 private:
  Session(std::shared_ptr<Module> module, CK_SESSION_HANDLE h)
      : module_(std::move(module)), handle_(h) {}
  std::shared_ptr<Module> module_;
  CK_SESSION_HANDLE handle_;
};

class Login {
 public:
  // Logs the normal user in on `session`'s token, or joins the live login of this module and
  // slot after checking the PIN against the one that login was made with (a second store must
  // not get in with a wrong PIN because someone else is logged in). kInvalidInput for a wrong
  // PIN (CKR_PIN_INCORRECT) or a locked one.
  static Result<std::shared_ptr<Login>> Acquire(const std::shared_ptr<Session>& session,
                                                CK_SLOT_ID slot, crypto::ByteView pin);
  ~Login();
  Login(const Login&) = delete;
  Login& operator=(const Login&) = delete;

 private:
  Login(std::shared_ptr<Session> session, crypto::Sha256Digest pin_hash, bool logout)
      : session_(std::move(session)), pin_hash_(pin_hash), logout_(logout) {}
  std::shared_ptr<Session> session_;
  crypto::Sha256Digest pin_hash_;
  bool logout_;
};

struct Token {
  std::shared_ptr<Module> module;
  std::shared_ptr<Login> login;
  std::shared_ptr<Session> session;  // destroyed first
  CK_SLOT_ID slot = 0;
  std::string label;
};

// Finds the slot whose token has CK_TOKEN_INFO.label == `label` (blank padding ignored).
// kNotFound, naming the labels seen.
Result<CK_SLOT_ID> FindTokenSlot(const Module& module, const std::string& label);

// C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal (§5.7). REQUIRES session.mu held.
Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(Session& session, std::vector<CK_ATTRIBUTE> tmpl);
// C_GetAttributeValue for one attribute, length first (§5.7). REQUIRES session.mu held.
// Errors carry the CKR name (CKR_ATTRIBUTE_SENSITIVE for a sensitive value).
Result<crypto::Bytes> GetAttribute(Session& session, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);
// The same, read straight into a wiping buffer, for secret values.
Result<crypto::SecureBuffer> GetSecretAttribute(Session& session, CK_OBJECT_HANDLE obj,
                                                CK_ATTRIBUTE_TYPE type);

}  // namespace secprof::keystore::p11
