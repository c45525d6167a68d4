#pragma once
// The outbox's on-disk record format, public so that the fuzzer and tests can drive the parser.
//
// A log file is a sequence of frames:
//   u32 payload_length (LE) | u32 XXH32(payload, seed 0) (LE) | payload
// and a payload is one of
//   u8 1 (enqueue)  | str id | str url | str secret | u32 n | n x (str name, str value) |
//                     str event | str body | i64 created_ms | u64 seq
//   u8 2 (complete) | str id | u8 completion (1 delivered, 2 dropped)
//   u8 3 (seq mark) | str url | u64 next_seq      (written by compaction so sequences never reuse)
// where str is u32 length (LE) followed by the bytes. Integers are little-endian.

#include <canaryd/deliver/types.h>

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace canaryd::deliver {

/// Frames with a larger payload are treated as corrupt (a torn length field must not make
/// recovery allocate gigabytes).
inline constexpr uint32_t kMaxRecordBytes = 64u << 20;
inline constexpr size_t kFrameHeaderBytes = 8;

enum class RecordType : uint8_t { kEnqueue = 1, kComplete = 2, kSeqMark = 3 };

struct Record {
  RecordType type = RecordType::kEnqueue;
  Delivery delivery;  // kEnqueue: all fields; kComplete: id; kSeqMark: endpoint.url and seq
  Completion completion = Completion::kDelivered;  // kComplete only
};

/// Result of parsing one frame at the start of a buffer.
struct ParsedFrame {
  enum class Status {
    kOk,          // `record` is valid and the frame is `size` bytes long
    kIncomplete,  // the buffer ends inside the frame (a torn tail if at end of file)
    kCorrupt,     // bad length, checksum or payload
  };
  Status status = Status::kIncomplete;
  size_t size = 0;
  Record record;
};

/// Encodes one record as a complete frame.
std::string EncodeFrame(const Record& record);

/// Parses the frame at the start of `bytes`. Never reads past `bytes`; never throws on any input.
ParsedFrame ParseFrame(std::span<const uint8_t> bytes);

}  // namespace canaryd::deliver
