// Sequence-number bounds, persisted (RFC 8613 Appendix B.1.1). See sequence_store.h.
#include "secprof/oscore/sequence_store.h"

#include <charconv>
#include <string_view>

namespace secprof::oscore {

namespace {
constexpr std::string_view kMagic = "secprof-oscore-ssn 1 ";
}  // namespace

Result<std::optional<uint64_t>> FileSequenceStore::Load() {
  auto text = fs_.ReadFile(path_);
  if (!text) {
    if (text.error().code() == ErrorCode::kNotFound) return std::optional<uint64_t>();
    return Fail(text.error().WithContext("reading OSCORE sequence bound " + path_));
  }
  std::string_view s = *text;
  uint64_t bound = 0;
  bool ok =
      s.size() > kMagic.size() + 1 && s.substr(0, kMagic.size()) == kMagic && s.back() == '\n';
  if (ok) {
    std::string_view digits = s.substr(kMagic.size(), s.size() - kMagic.size() - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bound);
    ok = ec == std::errc() && end == digits.data() + digits.size() &&
         (digits.size() == 1 || digits[0] != '0');
  }
  if (!ok) {
    return Fail(ErrorCode::kInvalidInput, "OSCORE sequence bound " + path_ +
                                              " is corrupt: refusing to guess a sequence number");
  }
  return std::optional<uint64_t>(bound);
}

Status FileSequenceStore::Save(uint64_t bound) {
  std::string text(kMagic);
  text += std::to_string(bound);
  text += '\n';
  auto st = WriteFileAtomic(path_, text, 0600, fs_);
  if (!st) return Fail(st.error().WithContext("saving OSCORE sequence bound " + path_));
  return Ok();
}

Status MemorySequenceStore::Save(uint64_t bound) {
  if (budget_ == 0) return Fail(ErrorCode::kIo, "MemorySequenceStore: save refused (kill point)");
  if (budget_ > 0) --budget_;
  bound_ = bound;
  ++saves_;
  return Ok();
}

}  // namespace secprof::oscore
