// secprof::coap::Server: the DTLS-PSK identity lookup and libcoap's session events, kept as
// ServerStats (server_impl.h).
#include "server_impl.h"

namespace secprof::coap::internal {

// coap_dtls_id_callback_t: the key for a client's PSK identity (RFC 4279 §2), or NULL to refuse.
const coap_bin_const_t* OnPskIdentity(coap_bin_const_t* identity, coap_session_t*, void* arg) {
  auto* impl = static_cast<Server::Impl*>(arg);
  try {
    if (!impl->psk || !impl->psk->key_for_identity || !identity) return nullptr;
    std::string_view id(reinterpret_cast<const char*>(identity->s), identity->length);
    auto key = impl->psk->key_for_identity(id);
    if (!key || key->empty() || key->size() > COAP_DTLS_MAX_PSK) return nullptr;
    impl->last_key = std::move(*key);
    impl->last_key_bin.s = impl->last_key.data();
    impl->last_key_bin.length = impl->last_key.size();
    return &impl->last_key_bin;
  } catch (...) {
    return nullptr;
  }
}

Server::Impl* ImplOf(coap_session_t* session) {
  return static_cast<Server::Impl*>(coap_get_app_data(coap_session_get_context(session)));
}

namespace {

// What a server session has been counted as, kept in its app data: kCounted (in `sessions`),
// kEstablished (also in `dtls_established`). Each count drops exactly once.
char kCounted, kEstablished;

void Count(Server::Impl* impl, coap_session_t* s) {
  if (coap_session_get_app_data(s) == nullptr) {
    coap_session_set_app_data(s, &kCounted);
    impl->sessions.fetch_add(1, std::memory_order_relaxed);
    impl->sessions_created.fetch_add(1, std::memory_order_relaxed);
  }
}

void ForgetEstablished(Server::Impl* impl, coap_session_t* s) {
  if (coap_session_get_app_data(s) == &kEstablished) {
    coap_session_set_app_data(s, &kCounted);
    impl->dtls_established.fetch_sub(1, std::memory_order_relaxed);
  }
}

// coap_event_handler_t: session bookkeeping for ServerStats. libcoap 4.3.1 announces UDP server
// sessions with COAP_EVENT_SERVER_SESSION_NEW but DTLS ones only with COAP_EVENT_DTLS_CONNECTED

}  // namespace

// (the cookie exchange creates no session, RFC 6347 §4.2.1), so both count; every server session
// ends with COAP_EVENT_SERVER_SESSION_DEL.
int OnServerEvent(coap_session_t* s, const coap_event_t event) {
  Server::Impl* impl = ImplOf(s);
  if (!impl) return 0;
  if (event == COAP_EVENT_SERVER_SESSION_DEL && impl->bodies)  // its partial Block1 bodies go too
    impl->bodies->ForgetPeer(internal::PeerKey(&coap_session_get_addr_remote(s)->addr.sa) + "|");
  if (impl->handshakes && coap_session_get_proto(s) == COAP_PROTO_DTLS) {
    if (event == COAP_EVENT_SERVER_SESSION_NEW) {
      impl->handshakes->OnNew(s, std::chrono::steady_clock::now());
      impl->handshakes_changed = true;
    } else if (event == COAP_EVENT_DTLS_CONNECTED || event == COAP_EVENT_DTLS_CLOSED ||
               event == COAP_EVENT_DTLS_ERROR || event == COAP_EVENT_SERVER_SESSION_DEL) {
      if (impl->handshakes->OnGone(s, event == COAP_EVENT_DTLS_CONNECTED))
        impl->handshakes_failed.fetch_add(1, std::memory_order_relaxed);
      impl->handshakes_changed = true;
    }
  }
  if (coap_session_get_type(s) != COAP_SESSION_TYPE_SERVER) return 0;
  switch (event) {
    case COAP_EVENT_SERVER_SESSION_NEW:
      Count(impl, s);
      break;
    case COAP_EVENT_DTLS_CONNECTED:
      Count(impl, s);
      if (coap_session_get_app_data(s) == &kCounted) {
        coap_session_set_app_data(s, &kEstablished);
        impl->dtls_established.fetch_add(1, std::memory_order_relaxed);
        impl->handshakes_completed.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    case COAP_EVENT_DTLS_CLOSED:
    case COAP_EVENT_DTLS_ERROR:
      ForgetEstablished(impl, s);
      break;
    case COAP_EVENT_SERVER_SESSION_DEL:
      ForgetEstablished(impl, s);
      if (coap_session_get_app_data(s) == &kCounted) {
        coap_session_set_app_data(s, nullptr);
        impl->sessions.fetch_sub(1, std::memory_order_relaxed);
      }
      break;
    default:
      break;
  }
  return 0;
}

}  // namespace secprof::coap::internal
