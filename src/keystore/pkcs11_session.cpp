#include "pkcs11_session.h"

#include <dlfcn.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>

namespace secprof::keystore::p11 {

std::string RvName(CK_RV rv) {
  switch (rv) {
#define SECPROF_RV(x) \
  case x:             \
    return #x
    SECPROF_RV(CKR_OK);
    SECPROF_RV(CKR_HOST_MEMORY);
    SECPROF_RV(CKR_SLOT_ID_INVALID);
    SECPROF_RV(CKR_GENERAL_ERROR);
    SECPROF_RV(CKR_FUNCTION_FAILED);
    SECPROF_RV(CKR_ARGUMENTS_BAD);
    SECPROF_RV(CKR_ATTRIBUTE_READ_ONLY);
    SECPROF_RV(CKR_ATTRIBUTE_SENSITIVE);
    SECPROF_RV(CKR_ATTRIBUTE_TYPE_INVALID);
    SECPROF_RV(CKR_ATTRIBUTE_VALUE_INVALID);
    SECPROF_RV(CKR_DATA_INVALID);
    SECPROF_RV(CKR_DATA_LEN_RANGE);
    SECPROF_RV(CKR_DEVICE_ERROR);
    SECPROF_RV(CKR_DEVICE_MEMORY);
    SECPROF_RV(CKR_DEVICE_REMOVED);
    SECPROF_RV(CKR_FUNCTION_NOT_SUPPORTED);
    SECPROF_RV(CKR_KEY_HANDLE_INVALID);
    SECPROF_RV(CKR_KEY_TYPE_INCONSISTENT);
    SECPROF_RV(CKR_KEY_FUNCTION_NOT_PERMITTED);
    SECPROF_RV(CKR_KEY_UNEXTRACTABLE);
    SECPROF_RV(CKR_MECHANISM_INVALID);
    SECPROF_RV(CKR_MECHANISM_PARAM_INVALID);
    SECPROF_RV(CKR_OBJECT_HANDLE_INVALID);
    SECPROF_RV(CKR_OPERATION_ACTIVE);
    SECPROF_RV(CKR_OPERATION_NOT_INITIALIZED);
    SECPROF_RV(CKR_PIN_INCORRECT);
    SECPROF_RV(CKR_PIN_LEN_RANGE);
    SECPROF_RV(CKR_PIN_LOCKED);
    SECPROF_RV(CKR_SESSION_CLOSED);
    SECPROF_RV(CKR_SESSION_HANDLE_INVALID);
    SECPROF_RV(CKR_SESSION_READ_ONLY);
    SECPROF_RV(CKR_TEMPLATE_INCOMPLETE);
    SECPROF_RV(CKR_TEMPLATE_INCONSISTENT);
    SECPROF_RV(CKR_TOKEN_NOT_PRESENT);
    SECPROF_RV(CKR_TOKEN_NOT_RECOGNIZED);
    SECPROF_RV(CKR_TOKEN_WRITE_PROTECTED);
    SECPROF_RV(CKR_USER_ALREADY_LOGGED_IN);
    SECPROF_RV(CKR_USER_NOT_LOGGED_IN);
    SECPROF_RV(CKR_USER_PIN_NOT_INITIALIZED);
    SECPROF_RV(CKR_USER_TYPE_INVALID);
    SECPROF_RV(CKR_BUFFER_TOO_SMALL);
    SECPROF_RV(CKR_CRYPTOKI_NOT_INITIALIZED);
    SECPROF_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED);
    SECPROF_RV(CKR_DOMAIN_PARAMS_INVALID);
    SECPROF_RV(CKR_CURVE_NOT_SUPPORTED);
#undef SECPROF_RV
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "CKR_0x%lx", static_cast<unsigned long>(rv));
      return buf;
    }
  }
}

Error RvError(const char* function, CK_RV rv) {
  return Error(ErrorCode::kCrypto, std::string(function) + " failed: " + RvName(rv));
}

namespace {

// The live modules by path. A Module being destroyed stays `alive` until C_Finalize and dlclose
// have returned, so that a concurrent Load waits instead of initialising it a second time.
struct Registry {
  std::mutex mu;
  std::condition_variable cv;
  struct Entry {
    std::weak_ptr<Module> module;
    bool alive = false;
  };
  std::map<std::string, Entry> entries;
};
Registry& TheRegistry() {
  static Registry* r = new Registry;  // never destroyed: Modules may outlive static destruction
  return *r;
}

}  // namespace

Result<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  Registry& reg = TheRegistry();
  std::unique_lock lock(reg.mu);
  for (;;) {
    auto& e = reg.entries[path];
    if (auto live = e.module.lock()) return live;
    if (!e.alive) break;
    reg.cv.wait(lock);  // the previous instance is finalising
  }
  if (::access(path.c_str(), F_OK) != 0)
    return Fail(ErrorCode::kNotFound, "PKCS#11 module " + path + " does not exist");
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return Fail(ErrorCode::kCrypto,
                "cannot load PKCS#11 module " + path + ": " + (why ? why : "dlopen failed"));
  }
  // §5.2: C_GetFunctionList is the one symbol a module must export.
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST* functions = nullptr;
  CK_RV rv = get_list ? get_list(&functions) : CKR_FUNCTION_NOT_SUPPORTED;
  if (rv != CKR_OK || !functions) {
    ::dlclose(handle);
    return Fail(ErrorCode::kCrypto,
                path + " is not a PKCS#11 module (C_GetFunctionList: " + RvName(rv) + ")");
  }
  // §5.4: the library may use the operating system's locking (we call it from several threads
  // only through separate sessions, each behind its own mutex).
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  rv = functions->C_Initialize(&args);
  bool finalize = true;
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    finalize = false;  // someone else in this process initialised it and will finalise it
  } else if (rv != CKR_OK) {
    ::dlclose(handle);
    return Fail(RvError("C_Initialize", rv).WithContext(path));
  }
  std::shared_ptr<Module> m(new Module(path, handle, functions, finalize));
  auto& e = reg.entries[path];
  e.module = m;
  e.alive = true;
  return m;
}

Module::~Module() {
  Registry& reg = TheRegistry();
  if (finalize_) functions_->C_Finalize(nullptr);  // §5.4: pReserved must be NULL
  ::dlclose(handle_);
  std::lock_guard lock(reg.mu);
  auto it = reg.entries.find(path_);
  if (it != reg.entries.end() && it->second.module.expired()) reg.entries.erase(it);
  reg.cv.notify_all();
}

Result<std::shared_ptr<Session>> Session::Open(std::shared_ptr<Module> module, CK_SLOT_ID slot) {
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  CK_RV rv =
      module->f()->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h);
  if (rv != CKR_OK) return Fail(RvError("C_OpenSession", rv));
  return std::shared_ptr<Session>(new Session(std::move(module), h));
}

Session::~Session() { f()->C_CloseSession(handle_); }

Result<std::shared_ptr<Login>> Login::Acquire(const std::shared_ptr<Session>& session,
                                              CK_SLOT_ID slot, crypto::ByteView pin) {
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest pin_hash, crypto::Sha256(pin));
  Module& module = *session->module();
  std::lock_guard lock(module.login_mu);
  auto& slot_login = module.logins[slot];
  if (auto live = slot_login.lock()) {
    if (!crypto::ConstantTimeEqual(live->pin_hash_, pin_hash))
      return Fail(ErrorCode::kInvalidInput, "C_Login failed: CKR_PIN_INCORRECT");
    return live;
  }
  CK_RV rv;
  {
    std::lock_guard session_lock(session->mu);
    rv = session->f()->C_Login(session->handle(), CKU_USER, const_cast<CK_UTF8CHAR*>(pin.data()),
                               pin.size());
  }
  bool logout = true;
  if (rv == CKR_USER_ALREADY_LOGGED_IN) {
    logout = false;  // logged in by code outside this registry; leave its state alone
  } else if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE ||
             rv == CKR_USER_PIN_NOT_INITIALIZED) {
    return Fail(ErrorCode::kInvalidInput, "C_Login failed: " + RvName(rv));
  } else if (rv != CKR_OK) {
    return Fail(RvError("C_Login", rv));
  }
  std::shared_ptr<Login> login(new Login(session, pin_hash, logout));
  slot_login = login;
  return login;
}

Login::~Login() {
  if (!logout_) return;
  std::lock_guard lock(session_->mu);
  session_->f()->C_Logout(session_->handle());
}

Result<CK_SLOT_ID> FindTokenSlot(const Module& module, const std::string& label) {
  CK_FUNCTION_LIST* f = module.f();
  std::vector<CK_SLOT_ID> slots;
  for (;;) {
    CK_ULONG n = 0;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &n);
    if (rv != CKR_OK) return Fail(RvError("C_GetSlotList", rv));
    slots.resize(n);
    rv = f->C_GetSlotList(CK_TRUE, slots.data(), &n);
    if (rv == CKR_BUFFER_TOO_SMALL) continue;  // a token appeared between the calls
    if (rv != CKR_OK) return Fail(RvError("C_GetSlotList", rv));
    slots.resize(n);
    break;
  }
  std::string seen;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if (!(info.flags & CKF_TOKEN_INITIALIZED)) continue;
    // §3.2 CK_TOKEN_INFO: label is 32 bytes, blank padded, not NUL terminated.
    std::string l(reinterpret_cast<const char*>(info.label), sizeof info.label);
    while (!l.empty() && (l.back() == ' ' || l.back() == '\0')) l.pop_back();
    if (l == label) return slot;
    seen += (seen.empty() ? "" : ", ") + ("'" + l + "'");
  }
  return Fail(ErrorCode::kNotFound,
              "no PKCS#11 token labelled '" + label + "' in " + module.path() +
                  (seen.empty() ? " (no initialised token)" : " (found " + seen + ")"));
}

Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(Session& s, std::vector<CK_ATTRIBUTE> tmpl) {
  CK_RV rv = s.f()->C_FindObjectsInit(s.handle(), tmpl.data(), tmpl.size());
  if (rv != CKR_OK) return Fail(RvError("C_FindObjectsInit", rv));
  std::vector<CK_OBJECT_HANDLE> out;
  CK_OBJECT_HANDLE batch[32];
  for (;;) {
    CK_ULONG n = 0;
    rv = s.f()->C_FindObjects(s.handle(), batch, 32, &n);
    if (rv != CKR_OK) break;
    out.insert(out.end(), batch, batch + n);
    if (n == 0) break;
  }
  CK_RV rv_final = s.f()->C_FindObjectsFinal(s.handle());  // always end the search operation
  if (rv != CKR_OK) return Fail(RvError("C_FindObjects", rv));
  if (rv_final != CKR_OK) return Fail(RvError("C_FindObjectsFinal", rv_final));
  return out;
}

namespace {

template <class Buffer>
Result<Buffer> GetAttributeInto(Session& s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  CK_RV rv = s.f()->C_GetAttributeValue(s.handle(), obj, &a, 1);
  if (rv != CKR_OK) return Fail(RvError("C_GetAttributeValue", rv));
  // §5.7: ulValueLen is CK_UNAVAILABLE_INFORMATION for a sensitive or invalid attribute.
  if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
    return Fail(RvError("C_GetAttributeValue", CKR_ATTRIBUTE_SENSITIVE));
  Buffer out(a.ulValueLen);
  a.pValue = out.data();
  rv = s.f()->C_GetAttributeValue(s.handle(), obj, &a, 1);
  if (rv != CKR_OK) return Fail(RvError("C_GetAttributeValue", rv));
  out.resize(a.ulValueLen);
  return out;
}

}  // namespace

Result<crypto::Bytes> GetAttribute(Session& s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  return GetAttributeInto<crypto::Bytes>(s, obj, type);
}

Result<crypto::SecureBuffer> GetSecretAttribute(Session& s, CK_OBJECT_HANDLE obj,
                                                CK_ATTRIBUTE_TYPE type) {
  return GetAttributeInto<crypto::SecureBuffer>(s, obj, type);
}

}  // namespace secprof::keystore::p11
