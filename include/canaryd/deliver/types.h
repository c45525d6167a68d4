#pragma once
// Value types shared by the outbox and the dispatcher, and the deliver module's error codes.

#include <boost/system/error_code.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace canaryd::deliver {

/// Where a webhook goes. Two endpoints with the same `url` share one ordered lane: deliveries to
/// a URL are attempted strictly one after the other, in enqueue order.
struct Endpoint {
  std::string url;     // http:// or https://host[:port][/path]
  std::string secret;  // HMAC-SHA256 key for X-Canaryd-Signature
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

/// One webhook delivery as persisted in the outbox.
struct Delivery {
  std::string id;  // X-Canaryd-Delivery: unique, stable across retries and restarts
  Endpoint endpoint;
  std::string event;       // X-Canaryd-Event
  std::string body;        // JSON bytes, signed exactly as stored
  int64_t created_ms = 0;  // Clock::NowMillis() at enqueue; max_age is measured from here
  uint64_t seq = 0;        // per-URL sequence number, strictly increasing in enqueue order

  friend bool operator==(const Delivery&, const Delivery&) = default;
};

/// How a delivery left the outbox.
enum class Completion : uint8_t {
  kDelivered = 1,  // the receiver answered 2xx
  kDropped = 2,    // older than max_age before it could be delivered
};

/// Errors of the deliver module (category "canaryd.deliver").
enum class DeliverErrc {
  kOk = 0,
  kBadUrl,             // not an http://host[:port][/path] URL
  kUnsupportedScheme,  // a scheme other than http and https
  kBadHeader,          // header name/value or event with CR, LF, NUL, or an empty/invalid name
  kIo,                 // outbox file I/O failed (see the log for errno)
  kCorruptRecord,      // outbox record fails its checksum or does not decode
  kRecordTooLarge,     // outbox record over kMaxRecordBytes
  kShuttingDown,       // the dispatcher is being destroyed
  kLocked,             // the outbox directory is in use by another Outbox (flock)
  kTlsSetup,           // the TLS client context (CA file or system trust store) failed to load
};

const boost::system::error_category& DeliverCategory() noexcept;

inline boost::system::error_code make_error_code(  // NOLINT(readability-identifier-naming): ADL
    DeliverErrc e) noexcept {
  return {static_cast<int>(e), DeliverCategory()};
}

}  // namespace canaryd::deliver

template <>
struct boost::system::is_error_code_enum<canaryd::deliver::DeliverErrc> : std::true_type {};
