#include "secprof/keystore/pin.h"

namespace secprof::keystore {

Pin Pin::Take(std::string& text) {
  Pin pin{std::string_view(text)};
  crypto::Cleanse(text);  // the flag's copy; a wipe the compiler cannot drop as a dead store
  text.clear();
  return pin;
}

}  // namespace secprof::keystore
