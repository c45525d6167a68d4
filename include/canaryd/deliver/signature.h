#pragma once
// Webhook signatures: X-Canaryd-Signature: sha256=<lowercase hex HMAC-SHA256(secret, body)>.
// The HMAC is over the exact body bytes sent; receivers must verify before parsing the JSON.

#include <string>
#include <string_view>

namespace canaryd::deliver {

/// Lowercase hex HMAC-SHA256 of `body` keyed with `secret` (64 characters). Thread-safe.
std::string HmacSha256Hex(std::string_view secret, std::string_view body);

/// The X-Canaryd-Signature header value: "sha256=" + HmacSha256Hex(secret, body).
std::string ComputeSignature(std::string_view secret, std::string_view body);

/// True if `header_value` is exactly ComputeSignature(secret, body) (hex compared
/// case-insensitively, in constant time for equal lengths). Thread-safe.
bool VerifySignature(std::string_view secret, std::string_view body, std::string_view header_value);

}  // namespace canaryd::deliver
