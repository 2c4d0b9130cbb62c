// state.cbor of the slot store: deterministic CBOR with text keys, and its strict decoder
// (install.h SlotState; docs/UPDATE.md, "Installing on the thing").
#include <algorithm>
#include <string>
#include <vector>

#include "secprof/crypto/hash.h"
#include "secprof/update/install.h"

namespace secprof::update {
namespace {

using cbor::Value;

constexpr uint64_t kStateFormat = 1;

Value T(const char* s) { return Value::Text(s); }

Value ImageValue(const ImageRecord& r) {
  return Value::Map({{T("seq"), Value::Unsigned(r.sequence_number)},
                     {T("digest"), Value::ByteString(r.digest)},
                     {T("size"), Value::Unsigned(r.size)}});
}

Result<Slot> SlotFromText(const std::string& s, const std::string& field) {
  if (s == "a") return Slot::kA;
  if (s == "b") return Slot::kB;
  return Fail(ErrorCode::kInvalidInput, "state: " + field + ": slot must be \"a\" or \"b\"");
}

// A strict reader over one state map: every key must be known, each read once, types checked.
class MapReader {
 public:
  MapReader(const Value& v, std::string where) : v_(v), where_(std::move(where)) {}
  Status IsMap() const {
    if (!v_.is_map()) return Fail(ErrorCode::kInvalidInput, "state: " + where_ + " is not a map");
    for (const auto& [k, _] : v_.map())
      if (!k.is_text())
        return Fail(ErrorCode::kInvalidInput, "state: " + where_ + ": keys must be text");
    return Ok();
  }
  const Value* Get(const char* key) {
    seen_.push_back(key);
    return v_.Find(T(key));
  }
  Result<const Value*> Need(const char* key) {
    const Value* x = Get(key);
    if (!x) return Fail(ErrorCode::kInvalidInput, "state: " + where_ + ": missing \"" + key + "\"");
    return x;
  }
  Result<uint64_t> Uint(const char* key) {
    SECPROF_ASSIGN_OR_RETURN(const Value* x, Need(key));
    if (!x->is_unsigned())
      return Fail(ErrorCode::kInvalidInput, "state: " + where_ + "." + key + ": not an unsigned");
    return x->uint_value();
  }
  Result<Bytes> Bstr(const char* key, size_t size) {
    SECPROF_ASSIGN_OR_RETURN(const Value* x, Need(key));
    if (!x->is_bytes() || x->bytes().size() != size)
      return Fail(ErrorCode::kInvalidInput, "state: " + where_ + "." + key + ": not a " +
                                                std::to_string(size) + "-byte string");
    return x->bytes();
  }
  Result<std::string> Text(const char* key) {
    SECPROF_ASSIGN_OR_RETURN(const Value* x, Need(key));
    if (!x->is_text())
      return Fail(ErrorCode::kInvalidInput, "state: " + where_ + "." + key + ": not text");
    return x->text();
  }
  Status NoOthers() const {
    for (const auto& [k, _] : v_.map())
      if (std::find(seen_.begin(), seen_.end(), k.text()) == seen_.end())
        return Fail(ErrorCode::kInvalidInput,
                    "state: " + where_ + ": unknown key \"" + k.text() + "\"");
    return Ok();
  }

 private:
  const Value& v_;
  std::string where_;
  std::vector<std::string> seen_;
};

Result<ImageRecord> ImageFromValue(const Value& v, const std::string& where, MapReader* outer) {
  // `outer` is set for the pending map, whose image fields sit next to slot and phase.
  MapReader own(v, where);
  MapReader& r = outer ? *outer : own;
  if (!outer) SECPROF_TRY(r.IsMap());
  ImageRecord rec;
  SECPROF_ASSIGN_OR_RETURN(rec.sequence_number, r.Uint("seq"));
  SECPROF_ASSIGN_OR_RETURN(rec.digest, r.Bstr("digest", crypto::kSha256Size));
  SECPROF_ASSIGN_OR_RETURN(rec.size, r.Uint("size"));
  if (!outer) SECPROF_TRY(r.NoOthers());
  return rec;
}

}  // namespace

// ---- Names --------------------------------------------------------------------------------------

const char* SlotName(Slot s) { return s == Slot::kA ? "a" : "b"; }
const char* PhaseName(Phase p) { return p == Phase::kWritten ? "written" : "testing"; }

// ---- State encoding -----------------------------------------------------------------------------

Bytes EncodeSlotState(const SlotState& s) {
  cbor::MapEntries m = {
      {T("format"), Value::Unsigned(kStateFormat)},
      {T("vendor-id"), Value::ByteString(s.vendor_id)},
      {T("class-id"), Value::ByteString(s.class_id)},
      {T("active"), Value::Text(SlotName(s.active))},
      {T("active-image"), ImageValue(s.active_image)},
      {T("floor"), Value::Unsigned(s.floor)},
  };
  if (s.pending) {
    m.emplace_back(T("pending"),
                   Value::Map({{T("slot"), Value::Text(SlotName(s.pending->slot))},
                               {T("seq"), Value::Unsigned(s.pending->image.sequence_number)},
                               {T("digest"), Value::ByteString(s.pending->image.digest)},
                               {T("size"), Value::Unsigned(s.pending->image.size)},
                               {T("phase"), Value::Text(PhaseName(s.pending->phase))}}));
  }
  if (s.last_result) {
    m.emplace_back(T("last-result"),
                   Value::Map({{T("ok"), Value::Bool(s.last_result->ok)},
                               {T("seq"), Value::Unsigned(s.last_result->sequence_number)},
                               {T("message"), Value::Text(s.last_result->message)},
                               {T("at"), Value::Int(s.last_result->at_unix)}}));
  }
  return cbor::Encode(Value::Map(std::move(m)));
}

Result<SlotState> DecodeSlotState(ByteView data) {
  cbor::Limits limits;
  limits.max_depth = 4;
  limits.max_bytes = 64u << 10;
  limits.allow_indefinite = false;
  auto v = cbor::Decode(data, limits);
  if (!v) return Fail(ErrorCode::kInvalidInput, "state: " + v.error().message());
  MapReader r(*v, "state");
  SECPROF_TRY(r.IsMap());
  SlotState s;
  SECPROF_ASSIGN_OR_RETURN(uint64_t format, r.Uint("format"));
  if (format != kStateFormat)
    return Fail(ErrorCode::kUnsupported, "state: format " + std::to_string(format) +
                                             " (this build reads format " +
                                             std::to_string(kStateFormat) + ")");
  SECPROF_ASSIGN_OR_RETURN(s.vendor_id, r.Bstr("vendor-id", kUuidSize));
  SECPROF_ASSIGN_OR_RETURN(s.class_id, r.Bstr("class-id", kUuidSize));
  SECPROF_ASSIGN_OR_RETURN(std::string active, r.Text("active"));
  SECPROF_ASSIGN_OR_RETURN(s.active, SlotFromText(active, "active"));
  SECPROF_ASSIGN_OR_RETURN(const Value* ai, r.Need("active-image"));
  SECPROF_ASSIGN_OR_RETURN(s.active_image, ImageFromValue(*ai, "active-image", nullptr));
  SECPROF_ASSIGN_OR_RETURN(s.floor, r.Uint("floor"));
  if (s.floor < s.active_image.sequence_number)
    return Fail(ErrorCode::kInvalidInput, "state: floor " + std::to_string(s.floor) +
                                              " is below the active sequence number " +
                                              std::to_string(s.active_image.sequence_number));
  if (const Value* p = r.Get("pending")) {
    MapReader pr(*p, "pending");
    SECPROF_TRY(pr.IsMap());
    PendingInstall pi;
    SECPROF_ASSIGN_OR_RETURN(std::string slot, pr.Text("slot"));
    SECPROF_ASSIGN_OR_RETURN(pi.slot, SlotFromText(slot, "pending.slot"));
    if (pi.slot == s.active)
      return Fail(ErrorCode::kInvalidInput, "state: pending.slot is the active slot");
    SECPROF_ASSIGN_OR_RETURN(pi.image, ImageFromValue(*p, "pending", &pr));
    SECPROF_ASSIGN_OR_RETURN(std::string phase, pr.Text("phase"));
    if (phase == "written")
      pi.phase = Phase::kWritten;
    else if (phase == "testing")
      pi.phase = Phase::kTesting;
    else
      return Fail(ErrorCode::kInvalidInput, "state: pending.phase: \"" + phase + "\"");
    SECPROF_TRY(pr.NoOthers());
    s.pending = std::move(pi);
  }
  if (const Value* l = r.Get("last-result")) {
    MapReader lr(*l, "last-result");
    SECPROF_TRY(lr.IsMap());
    LastResult res;
    SECPROF_ASSIGN_OR_RETURN(const Value* ok, lr.Need("ok"));
    if (!ok->is_bool()) return Fail(ErrorCode::kInvalidInput, "state: last-result.ok: not a bool");
    res.ok = ok->bool_value();
    SECPROF_ASSIGN_OR_RETURN(res.sequence_number, lr.Uint("seq"));
    SECPROF_ASSIGN_OR_RETURN(res.message, lr.Text("message"));
    SECPROF_ASSIGN_OR_RETURN(const Value* at, lr.Need("at"));
    auto at_i = at->AsInt64();
    if (!at_i) return Fail(ErrorCode::kInvalidInput, "state: last-result.at: not an integer");
    res.at_unix = *at_i;
    SECPROF_TRY(lr.NoOthers());
    s.last_result = std::move(res);
  }
  SECPROF_TRY(r.NoOthers());
  return s;
}

}  // namespace secprof::update
