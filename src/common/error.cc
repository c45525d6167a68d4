#include "canaryd/common/error.h"

#include <string>

namespace canaryd {
namespace {

class CanarydCategoryImpl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "canaryd"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::kOk:
        return "success";
      case Errc::kTruncated:
        return "protobuf field runs past the end of its message";
      case Errc::kBadVarint:
        return "protobuf varint longer than 10 bytes";
      case Errc::kBadWireType:
        return "invalid protobuf wire type";
      case Errc::kNestingTooDeep:
        return "protobuf groups nested too deeply";
      case Errc::kBadFieldNumber:
        return "protobuf field number 0";
      case Errc::kCorruptCompressed:
        return "compressed body does not decode";
      case Errc::kTooLarge:
        return "decoded size over the limit";
      case Errc::kBadSymbolTable:
        return "symbols[0] must be the empty string";
      case Errc::kUnsupportedEncoding:
        return "unsupported Content-Encoding";
      case Errc::kConfigInvalid:
        return "invalid configuration";
    }
    return "unknown canaryd error";
  }
};

}  // namespace

const boost::system::error_category& CanarydCategory() noexcept {
  static const CanarydCategoryImpl category;
  return category;
}

std::string_view ErrcName(Errc e) noexcept {
  switch (e) {
    case Errc::kOk:
      return "ok";
    case Errc::kTruncated:
      return "truncated";
    case Errc::kBadVarint:
      return "bad_varint";
    case Errc::kBadWireType:
      return "bad_wire_type";
    case Errc::kNestingTooDeep:
      return "nesting_too_deep";
    case Errc::kBadFieldNumber:
      return "bad_field_number";
    case Errc::kCorruptCompressed:
      return "corrupt_compressed";
    case Errc::kTooLarge:
      return "too_large";
    case Errc::kBadSymbolTable:
      return "bad_symbol_table";
    case Errc::kUnsupportedEncoding:
      return "unsupported_encoding";
    case Errc::kConfigInvalid:
      return "config_invalid";
  }
  return "unknown";
}

}  // namespace canaryd
