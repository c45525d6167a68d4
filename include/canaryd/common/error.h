#pragma once
// canaryd's error model for the data plane: functions that can fail on untrusted input return
// Result<T> (boost::system::result) or an Errc, never throw. Exceptions are reserved for start-up
// and configuration loading, where they are caught in main().

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <string_view>
#include <type_traits>

namespace canaryd {

enum class Errc {
  kOk = 0,
  // Wire format (protobuf) problems: the request can never succeed.
  kTruncated,       // a field or varint runs past the end of its message
  kBadVarint,       // a varint longer than 10 bytes
  kBadWireType,     // wire type 6 or 7, or a mismatched end-group
  kNestingTooDeep,  // unknown groups nested deeper than the protobuf recursion limit
  kBadFieldNumber,  // field number 0
  // Compression problems.
  kCorruptCompressed,  // snappy/zstd data does not decode
  kTooLarge,           // declared or actual decoded size over the configured limit
  // Request-level content problems.
  kBadSymbolTable,  // 2.0: symbols[0] is not the empty string
  kUnsupportedEncoding,
  // Configuration.
  kConfigInvalid,
};

const boost::system::error_category& CanarydCategory() noexcept;

inline boost::system::error_code make_error_code(
    Errc e) noexcept {  // NOLINT(readability-identifier-naming): ADL hook
  return {static_cast<int>(e), CanarydCategory()};
}

template <typename T>
using Result = boost::system::result<T>;

/// Short stable identifier for an Errc ("truncated", "bad_varint", ...), used as a metric label.
std::string_view ErrcName(Errc e) noexcept;

}  // namespace canaryd

template <>
struct boost::system::is_error_code_enum<canaryd::Errc> : std::true_type {};
