// The vendor's update service (secprof/vendor/update_service.h; docs/DOMAIN.md "SecProf_1: the
// vendor's update service"; draft-garcia-security-mitigations-and-profiles §7.4).
#include "secprof/vendor/update_service.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "secprof/coap/coap.h"
#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/cose/key.h"
#include "secprof/domain/latest_release.h"
#include "secprof/domain/protocol.h"
#include "secprof/update/suit.h"

namespace secprof::vendor {

namespace fs = std::filesystem;
using coap::Request;
using coap::Response;

std::string LatestQuery(crypto::ByteView class_id) { return "class=" + ToHex(class_id); }

std::string ReleaseQuery(crypto::ByteView class_id, uint64_t sequence) {
  return LatestQuery(class_id) + "&seq=" + std::to_string(sequence);
}

namespace {

// One published file pair checked against the vendor's key, or the reason it is not served.
Result<Release> CheckRelease(const fs::path& suit, const std::string& vendor,
                             const std::vector<std::string>& models, const cose::Key& key) {
  fs::path img = suit;
  img.replace_extension(".img");
  SECPROF_ASSIGN_OR_RETURN(std::string env, ReadFile(suit.string()));
  const crypto::ByteView bytes(reinterpret_cast<const uint8_t*>(env.data()), env.size());
  SECPROF_ASSIGN_OR_RETURN(update::Envelope e, update::ParseAndVerify(bytes, key));
  SECPROF_ASSIGN_OR_RETURN(update::ImageParameters p, update::ImageParametersFor(e.manifest));
  const crypto::Bytes vendor_id = domain::FirmwareVendorId(vendor);
  for (const auto& model : models) {
    if (!update::CheckVendorClass(p, vendor_id, domain::FirmwareClassId(vendor, model))) continue;
    if (!p.image_size) return Fail(ErrorCode::kInvalidInput, "the manifest states no image size");
    if (!fs::exists(img)) return Fail(ErrorCode::kNotFound, img.filename().string() + " missing");
    SECPROF_TRY(update::CheckImageFile(p, img.string()));
    return Release{model, e.manifest.sequence_number, *p.image_size, suit.string(), img.string()};
  }
  return Fail(ErrorCode::kInvalidInput, "names another vendor or none of the models served");
}

// "class=<hex>[&seq=N]" -> (class-id, sequence or nullopt).
struct Query {
  crypto::Bytes class_id;
  std::optional<uint64_t> seq;
};
std::optional<Query> ParseQuery(const std::string& q) {
  Query out;
  size_t start = 0;
  while (start <= q.size()) {
    size_t end = q.find('&', start);
    if (end == std::string::npos) end = q.size();
    const std::string part = q.substr(start, end - start);
    if (part.rfind("class=", 0) == 0 && out.class_id.empty()) {
      auto id = FromHex(part.substr(6));
      if (!id || id->size() != 16) return std::nullopt;
      out.class_id = std::move(*id);
    } else if (part.rfind("seq=", 0) == 0 && !out.seq) {
      uint64_t v = 0;
      const char* b = part.data() + 4;
      const char* e = part.data() + part.size();
      auto [ptr, ec] = std::from_chars(b, e, v);
      if (b == e || ec != std::errc() || ptr != e) return std::nullopt;
      out.seq = v;
    } else {
      return std::nullopt;
    }
    start = end + 1;
  }
  if (out.class_id.empty()) return std::nullopt;
  return out;
}

Response Answer(coap::Code code, const std::string& text) {
  return Response{.code = code, .payload = coap::Text(text)};
}

}  // namespace

Result<Scan> ScanPublished(const std::string& dir, const std::string& vendor,
                           const std::vector<std::string>& models,
                           const crypto::PublicKey& vendor_key) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Fail(ErrorCode::kNotFound, dir + ": no such directory of published releases");
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::KeyFromPublic(vendor_key));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".suit") files.push_back(entry.path());
  if (ec) return Fail(ErrorCode::kIo, dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  Scan scan;
  std::set<std::pair<std::string, uint64_t>> seen;
  for (const auto& f : files) {
    auto r = CheckRelease(f, vendor, models, key);
    if (!r) {
      scan.problems.push_back(f.filename().string() + ": not served: " + r.error().message());
      continue;
    }
    if (!seen.insert({r->model, r->sequence}).second)
      return Fail(ErrorCode::kConflict, f.string() + ": a second release of " + r->model +
                                            " with sequence " + std::to_string(r->sequence));
    scan.releases.push_back(std::move(*r));
  }
  return scan;
}

Status Publish(const std::string& dir, const std::string& name, crypto::ByteView envelope,
               crypto::ByteView image) {
  auto text = [](crypto::ByteView b) {
    return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
  };
  SECPROF_TRY(WriteFileAtomic(dir + "/" + name + ".img", text(image), 0644));
  return WriteFileAtomic(dir + "/" + name + ".suit", text(envelope), 0644);
}

struct UpdateService::Impl {
  ServiceOptions opt;
  const Clock& clock;
  std::unique_ptr<coap::Server> server;
  // Read on the I/O thread; the copies behind the mutex are for stats()/releases().
  std::vector<Release> releases;
  mutable std::mutex mu;
  ServiceStats stats;
  std::vector<Release> published;

  explicit Impl(ServiceOptions o)
      : opt(std::move(o)), clock(opt.clock ? *opt.clock : SystemClock()) {}

  // The directory's *.suit and *.img names, sizes and modification times when last scanned: a
  // request rescans (verifies and hashes) only when they changed, so a flood of vu/latest costs a
  // directory listing each, not a hash of every image.
  std::string listed;

  Status Rescan() {
    std::string now_listed;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(opt.publish_dir, ec)) {
      const auto ext = e.path().extension();
      if (ext != ".suit" && ext != ".img") continue;
      std::error_code e1, e2;
      now_listed += e.path().filename().string() + "/" + std::to_string(e.file_size(e1)) + "/" +
                    std::to_string(e.last_write_time(e2).time_since_epoch().count()) + "\n";
    }
    if (!ec && !listed.empty() && now_listed == listed) return Ok();
    auto scan = ScanPublished(opt.publish_dir, opt.vendor, opt.models, opt.signer->public_key());
    if (!scan) return Fail(scan.error());
    listed = ec ? std::string() : std::move(now_listed);
    releases = scan->releases;
    std::lock_guard<std::mutex> l(mu);
    stats.problems = std::move(scan->problems);
    published = releases;
    return Ok();
  }
  void Count(uint64_t ServiceStats::*field) {
    std::lock_guard<std::mutex> l(mu);
    ++(stats.*field);
  }
  Response Refuse(coap::Code code, const std::string& why) {
    Count(&ServiceStats::refused);
    return Answer(code, why);
  }
  std::optional<std::string> ModelOf(crypto::ByteView class_id) const {
    for (const auto& m : opt.models)
      if (domain::FirmwareClassId(opt.vendor, m) == crypto::Bytes(class_id.begin(), class_id.end()))
        return m;
    return std::nullopt;
  }

  // GET vu/latest: the vendor-signed statement of the highest sequence published for the model
  // (domain/latest_release.h: issued now, valid kLatestReleaseLifetime; sequence 0 when none).
  Response OnLatest(const Request& r) {
    auto q = ParseQuery(r.query);
    if (!q || q->seq) return Refuse(coap::kBadRequest, "query: class=<32 hex digits>");
    auto model = ModelOf(q->class_id);
    if (!model) return Refuse(coap::kNotFound, "no such class");
    // A failed rescan (the directory gone) keeps serving the last good scan.
    (void)Rescan();
    domain::LatestRelease lr;
    lr.vendor = opt.vendor;
    lr.model = *model;
    for (const auto& rel : releases)
      if (rel.model == *model) lr.sequence = std::max(lr.sequence, rel.sequence);
    lr.issued_at = UnixSeconds(clock);
    lr.expires = lr.issued_at + domain::kLatestReleaseLifetime;
    auto signed_statement = domain::SignLatestRelease(*opt.signer, lr);
    if (!signed_statement)
      return Refuse(coap::kInternalServerError, signed_statement.error().message());
    Count(&ServiceStats::statements);
    return Response{.code = coap::kContent,
                    .content_format = coap::content_format::kCoseSign1,
                    .payload = std::move(*signed_statement)};
  }

  // GET vu/manifest and vu/image: one file of the release the query names.
  Response OnRelease(const Request& r, bool image) {
    auto q = ParseQuery(r.query);
    if (!q || !q->seq) return Refuse(coap::kBadRequest, "query: class=<32 hex digits>&seq=N");
    auto model = ModelOf(q->class_id);
    if (!model) return Refuse(coap::kNotFound, "no such class");
    for (const auto& rel : releases) {
      if (rel.model != *model || rel.sequence != *q->seq) continue;
      auto data = ReadFile(image ? rel.image_path : rel.envelope_path);
      if (!data) return Refuse(coap::kInternalServerError, "the release cannot be read");
      Count(image ? &ServiceStats::images : &ServiceStats::manifests);
      return Response{.code = coap::kContent,
                      .content_format = coap::content_format::kOctetStream,
                      .payload = crypto::Bytes(data->begin(), data->end())};
    }
    return Refuse(coap::kNotFound, "no release " + std::to_string(*q->seq) + " of " + *model);
  }

  // POST vu/alert: what a thing reports (domain::FirmwareAlert), kept for the vendor.
  Response OnAlert(const Request& r) {
    auto a = domain::DecodeFirmwareAlert(r.payload);
    if (!a) return Refuse(coap::kBadRequest, a.error().message());
    std::lock_guard<std::mutex> l(mu);
    stats.alerts.push_back(a->kind + ": " + a->detail);
    if (stats.alerts.size() > 64) stats.alerts.erase(stats.alerts.begin());
    return Answer(coap::kChanged, "alert recorded");
  }
};

UpdateService::UpdateService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UpdateService::~UpdateService() = default;

Result<std::unique_ptr<UpdateService>> UpdateService::Start(ServiceOptions options) {
  if (!options.signer)
    return Fail(ErrorCode::kInvalidInput, "the update service needs the vendor's signing key");
  if (options.vendor.empty() || options.models.empty())
    return Fail(ErrorCode::kInvalidInput, "the update service needs a vendor and a model");
  auto impl = std::make_unique<Impl>(std::move(options));
  SECPROF_TRY(impl->Rescan());
  coap::ServerConfig cfg;
  cfg.address = impl->opt.address;
  cfg.udp_port = impl->opt.port;
  cfg.max_request_body = 4096;  // only vu/alert has a body
  SECPROF_ASSIGN_OR_RETURN(impl->server, coap::Server::Create(std::move(cfg)));
  Impl* p = impl.get();
  using coap::Method;
  p->server->AddResource(path::kLatest, Method::kGet,
                         [p](const Request& r) { return p->OnLatest(r); });
  p->server->AddResource(path::kManifest, Method::kGet,
                         [p](const Request& r) { return p->OnRelease(r, false); });
  p->server->AddResource(path::kImage, Method::kGet,
                         [p](const Request& r) { return p->OnRelease(r, true); });
  p->server->AddResource(path::kAlert, Method::kPost,
                         [p](const Request& r) { return p->OnAlert(r); });
  return std::unique_ptr<UpdateService>(new UpdateService(std::move(impl)));
}

uint16_t UpdateService::port() const { return impl_->server->udp_port(); }
Status UpdateService::RunOnce(std::chrono::milliseconds t) { return impl_->server->RunOnce(t); }
Status UpdateService::Serve(std::stop_token stop) { return impl_->server->Serve(stop); }

ServiceStats UpdateService::stats() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->stats;
}

std::vector<Release> UpdateService::releases() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->published;
}

}  // namespace secprof::vendor
