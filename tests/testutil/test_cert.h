#pragma once
// A self-signed certificate for TLS tests (webhooks over https, https scrape targets).

#include <string>

namespace canaryd::testutil {

/// A self-signed P-256 certificate for 127.0.0.1 (IP SAN) and its key, as PEM. Valid from an hour
/// ago for a day.
struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};
TestCert MakeSelfSignedCert();

}  // namespace canaryd::testutil
