// libFuzzer target: the webhook outbox's record parser (canaryd::deliver::ParseFrame), which reads
// whatever a crash, a full disk or a bad sector left in outbox.log at start-up.
//
// The first byte picks the mode; the rest is the input:
// - even: a log file. Frames are parsed one after another, as recovery does, until the first one
//   that is not OK.
// - odd: a frame payload. It is wrapped in a frame with a correct checksum, so the fuzzer reaches
//   the payload decoder instead of stopping at the checksum.
// Checks beyond "does not crash": an OK frame lies inside the input, and re-encoding its record
// gives back exactly the frame's bytes (the encoding is canonical); a strict prefix of an OK frame
// is incomplete, never OK.
#include <canaryd/deliver/outbox_record.h>
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace {

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

void CheckFrames(std::span<const uint8_t> bytes) {
  using canaryd::deliver::ParsedFrame;
  size_t off = 0;
  while (off < bytes.size()) {
    const auto rest = bytes.subspan(off);
    const ParsedFrame f = canaryd::deliver::ParseFrame(rest);
    if (f.status != ParsedFrame::Status::kOk) {
      return;
    }
    Check(f.size >= canaryd::deliver::kFrameHeaderBytes && f.size <= rest.size());
    const std::string again = canaryd::deliver::EncodeFrame(f.record);
    Check(again.size() == f.size && std::memcmp(again.data(), rest.data(), f.size) == 0);
    Check(canaryd::deliver::ParseFrame(rest.first(f.size - 1)).status ==
          ParsedFrame::Status::kIncomplete);
    off += f.size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::span<const uint8_t> input(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    CheckFrames(input);
    return 0;
  }
  if (input.empty() || input.size() > canaryd::deliver::kMaxRecordBytes) {
    return 0;
  }
  std::string frame(8, '\0');
  const uint32_t len = static_cast<uint32_t>(input.size());
  const uint32_t sum = XXH32(input.data(), input.size(), 0);
  for (int i = 0; i < 4; ++i) {
    frame[i] = static_cast<char>((len >> (8 * i)) & 0xff);
    frame[4 + i] = static_cast<char>((sum >> (8 * i)) & 0xff);
  }
  frame.append(reinterpret_cast<const char*>(input.data()), input.size());
  CheckFrames({reinterpret_cast<const uint8_t*>(frame.data()), frame.size()});
  return 0;
}
