// The one error <-> CoAP code mapping (coap/errors.h).
#include "secprof/coap/errors.h"

#include <gtest/gtest.h>

namespace secprof::coap {
namespace {

TEST(CoapErrorsTest, ServerSideCodes) {
  EXPECT_EQ(CodeFor(Error(ErrorCode::kInvalidInput, "x")), kBadRequest);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kVerifyFailed, "x")), kUnauthorized);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kNotFound, "x")), kForbidden);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kConflict, "x")), kForbidden);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kLimit, "x")), kServiceUnavailable);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kIo, "x")), kInternalServerError);
  EXPECT_EQ(CodeFor(Error(ErrorCode::kInternal, "x")), kInternalServerError);
}

TEST(CoapErrorsTest, ClientSideErrorsKeepTheDiagnostic) {
  Response r{kForbidden, content_format::kTextPlain, Text("not a member")};
  Error e = ErrorFromResponse(r, "group key", "KDC");
  EXPECT_EQ(e.code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(e.message(), "group key: KDC answered " + CodeString(kForbidden) + " (not a member)");
  EXPECT_EQ(ErrorFromResponse(Response{kUnauthorized, {}, {}}, "x").code(),
            ErrorCode::kVerifyFailed);
  EXPECT_EQ(ErrorFromResponse(Response{kBadRequest, {}, {}}, "x").code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(ErrorFromResponse(Response{kServiceUnavailable, {}, {}}, "x").code(), ErrorCode::kIo);
  // A non-text payload is not echoed into the message.
  Response bin{kBadRequest, std::nullopt, Bytes{0x01, 0x02}};
  EXPECT_EQ(ErrorFromResponse(bin, "x").message().find('('), std::string::npos);
}

TEST(CoapErrorsTest, ExpectCode) {
  EXPECT_TRUE(ExpectCode(Response{kChanged, {}, {}}, kChanged, "x"));
  Status st = ExpectCode(Response{kContent, {}, {}}, kChanged, "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace secprof::coap
