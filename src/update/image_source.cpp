// Hashing an image source (image_source.h).
#include "image_source.h"

namespace secprof::update::detail {

Result<Hashed> HashSource(ImageSource& src, size_t chunk) {
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Hasher h, crypto::Sha256Hasher::Create());
  SECPROF_ASSIGN_OR_RETURN(uint64_t n, src.ForEach(chunk, [&](ByteView b) { return h.Update(b); }));
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, h.Finish());
  return Hashed{d, n};
}

Result<Hashed> HashPath(const std::string& path, FileIo io) {
  SECPROF_ASSIGN_OR_RETURN(ImageSource src, ImageSource::FromFile(path, io));
  return HashSource(src, io.chunk);
}

}  // namespace secprof::update::detail
