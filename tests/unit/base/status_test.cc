#include "base/status.h"

#include <gtest/gtest.h>

namespace cairn::base {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Error(Code::kInvalidArgument, "odd number " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status st = Error(Code::kNotFound, "object 'x' not found").WithHint("check the name");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_EQ(st.ToString(), "object 'x' not found\nHINT: check the name");
  Status wrapped = st.Wrap("unable to read manifest");
  EXPECT_EQ(wrapped.message(), "unable to read manifest: object 'x' not found");
  EXPECT_EQ(wrapped.hint(), "check the name");
  EXPECT_EQ(wrapped.code(), Code::kNotFound);
}

TEST(Status, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd number 3");
}

TEST(Status, CodeNamesAreStable) {
  EXPECT_EQ(CodeName(Code::kAlreadyExists), "AlreadyExists");
  EXPECT_EQ(CodeName(Code::kDataLoss), "DataLoss");
  EXPECT_EQ(CodeName(Code::kUnauthenticated), "Unauthenticated");
}

}  // namespace
}  // namespace cairn::base
