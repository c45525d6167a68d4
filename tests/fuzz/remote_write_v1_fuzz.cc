// libFuzzer target: remote-write 1.0 bodies (snappy-compressed, and raw). See remote_write_fuzz.h.
#include <cstddef>
#include <cstdint>

#include "remote_write_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return canaryd::fuzz::RunRemoteWrite(canaryd::codec::ProtocolVersion::kV1, data, size);
}
