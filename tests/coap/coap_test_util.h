// tests/coap/coap_test_util.h — helpers shared by the secprof::coap test files.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "secprof/coap/coap.h"

namespace secprof::coap {

inline crypto::SecureBuffer Key(std::string_view s) {
  return crypto::SecureBuffer(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

// A server whose I/O loop runs in a thread owned by this object; the destructor stops the loop
// (std::jthread requests stop and joins) before the server is destroyed.
class RunningServer {
 public:
  explicit RunningServer(ServerConfig cfg, const std::function<void(Server&)>& setup) {
    auto s = Server::Create(std::move(cfg));
    if (!s) throw std::runtime_error(s.error().ToString());
    server_ = std::move(*s);
    setup(*server_);
    loop_ = std::jthread([srv = server_.get()](std::stop_token st) { (void)srv->Serve(st); });
  }
  Server& operator*() { return *server_; }
  Server* operator->() { return server_.get(); }

 private:
  std::unique_ptr<Server> server_;
  std::jthread loop_;  // declared after server_: stopped and joined first
};

}  // namespace secprof::coap
