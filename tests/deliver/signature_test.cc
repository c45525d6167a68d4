#include <canaryd/deliver/signature.h>
#include <gtest/gtest.h>

#include <string>

namespace canaryd::deliver {
namespace {

// RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
TEST(SignatureTest, Rfc4231Case2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 4231, test case 1: key 0x0b x 20, data "Hi There".
TEST(SignatureTest, Rfc4231Case1) {
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(SignatureTest, HeaderFormatAndVerify) {
  const std::string sig = ComputeSignature("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_TRUE(VerifySignature("Jefe", "what do ya want for nothing?", sig));
  EXPECT_TRUE(
      VerifySignature("Jefe", "what do ya want for nothing?",
                      "sha256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"));
  EXPECT_FALSE(VerifySignature("jefe", "what do ya want for nothing?", sig));
  EXPECT_FALSE(VerifySignature("Jefe", "what do ya want for nothing!", sig));
  EXPECT_FALSE(VerifySignature("Jefe", "what do ya want for nothing?", sig.substr(7)));
  EXPECT_FALSE(VerifySignature("Jefe", "what do ya want for nothing?", "sha256="));
}

TEST(SignatureTest, EmptySecretAndBody) {
  // HMAC-SHA256 with empty key and empty message (a well-known value).
  EXPECT_EQ(HmacSha256Hex("", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

}  // namespace
}  // namespace canaryd::deliver
