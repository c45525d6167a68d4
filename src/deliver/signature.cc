#include <canaryd/deliver/signature.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>

namespace canaryd::deliver {

std::string HmacSha256Hex(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  // HMAC() with an empty key needs a non-null pointer on some OpenSSL versions.
  static const unsigned char kEmpty = 0;
  const void* key = secret.empty() ? &kEmpty : static_cast<const void*>(secret.data());
  const auto* data = reinterpret_cast<const unsigned char*>(body.data());
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), body.empty() ? &kEmpty : data,
           body.size(), mac, &mac_len) == nullptr) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(mac_len * 2);
  for (unsigned int i = 0; i < mac_len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

std::string ComputeSignature(std::string_view secret, std::string_view body) {
  return "sha256=" + HmacSha256Hex(secret, body);
}

bool VerifySignature(std::string_view secret, std::string_view body,
                     std::string_view header_value) {
  constexpr std::string_view kPrefix = "sha256=";
  if (!header_value.starts_with(kPrefix)) {
    return false;
  }
  std::string given(header_value.substr(kPrefix.size()));
  for (char& c : given) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const std::string expected = HmacSha256Hex(secret, body);
  if (expected.empty() || given.size() != expected.size()) {
    return false;
  }
  // Constant time, so a receiver built on this does not leak how many hex digits matched.
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace canaryd::deliver
