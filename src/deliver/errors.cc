#include <canaryd/deliver/types.h>

#include <string>

namespace canaryd::deliver {
namespace {

class DeliverCategoryImpl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "canaryd.deliver"; }
  std::string message(int ev) const override {
    switch (static_cast<DeliverErrc>(ev)) {
      case DeliverErrc::kOk:
        return "ok";
      case DeliverErrc::kBadUrl:
        return "webhook url is not http(s)://host[:port][/path]";
      case DeliverErrc::kUnsupportedScheme:
        return "webhook url scheme not supported (only http:// and https://)";
      case DeliverErrc::kBadHeader:
        return "invalid webhook header or event name";
      case DeliverErrc::kIo:
        return "webhook outbox i/o error";
      case DeliverErrc::kCorruptRecord:
        return "corrupt webhook outbox record";
      case DeliverErrc::kRecordTooLarge:
        return "webhook outbox record too large";
      case DeliverErrc::kShuttingDown:
        return "webhook dispatcher is shutting down";
      case DeliverErrc::kLocked:
        return "webhook outbox directory is in use by another process";
      case DeliverErrc::kTlsSetup:
        return "webhook TLS client setup failed (CA file or trust store)";
    }
    return "unknown deliver error";
  }
};

}  // namespace

const boost::system::error_category& DeliverCategory() noexcept {
  static const DeliverCategoryImpl category;
  return category;
}

}  // namespace canaryd::deliver
