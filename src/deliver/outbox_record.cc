#include <canaryd/deliver/outbox_record.h>
#include <xxhash.h>

#include <cstring>

namespace canaryd::deliver {
namespace {

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}
void PutStr(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

uint32_t LoadU32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Bounds-checked reader over one payload: every Get fails instead of reading past the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool GetU8(uint8_t& v) {
    if (b_.size() - pos_ < 1) {
      return false;
    }
    v = b_[pos_++];
    return true;
  }
  bool GetU32(uint32_t& v) {
    if (b_.size() - pos_ < 4) {
      return false;
    }
    v = LoadU32(b_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool GetU64(uint64_t& v) {
    uint32_t lo = 0;
    uint32_t hi = 0;
    if (!GetU32(lo) || !GetU32(hi)) {
      return false;
    }
    v = uint64_t{hi} << 32 | lo;
    return true;
  }
  bool GetStr(std::string& s) {
    uint32_t n = 0;
    if (!GetU32(n) || b_.size() - pos_ < n) {
      return false;
    }
    s.assign(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool AtEnd() const { return pos_ == b_.size(); }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

bool DecodePayload(std::span<const uint8_t> payload, Record& r) {
  Reader rd(payload);
  uint8_t type = 0;
  if (!rd.GetU8(type)) {
    return false;
  }
  Delivery& d = r.delivery;
  switch (static_cast<RecordType>(type)) {
    case RecordType::kEnqueue: {
      r.type = RecordType::kEnqueue;
      uint32_t n = 0;
      if (!rd.GetStr(d.id) || !rd.GetStr(d.endpoint.url) || !rd.GetStr(d.endpoint.secret) ||
          !rd.GetU32(n)) {
        return false;
      }
      // Each header takes at least 8 bytes, so a huge n fails on the data, not on reserve().
      if (n > payload.size() / 8) {
        return false;
      }
      d.endpoint.headers.resize(n);
      for (auto& [name, value] : d.endpoint.headers) {
        if (!rd.GetStr(name) || !rd.GetStr(value)) {
          return false;
        }
      }
      uint64_t created = 0;
      if (!rd.GetStr(d.event) || !rd.GetStr(d.body) || !rd.GetU64(created) || !rd.GetU64(d.seq)) {
        return false;
      }
      d.created_ms = static_cast<int64_t>(created);
      return rd.AtEnd() && !d.id.empty();
    }
    case RecordType::kComplete: {
      r.type = RecordType::kComplete;
      uint8_t how = 0;
      if (!rd.GetStr(d.id) || !rd.GetU8(how)) {
        return false;
      }
      if (how != static_cast<uint8_t>(Completion::kDelivered) &&
          how != static_cast<uint8_t>(Completion::kDropped)) {
        return false;
      }
      r.completion = static_cast<Completion>(how);
      return rd.AtEnd();
    }
    case RecordType::kSeqMark:
      r.type = RecordType::kSeqMark;
      return rd.GetStr(d.endpoint.url) && rd.GetU64(d.seq) && rd.AtEnd();
  }
  return false;
}

}  // namespace

std::string EncodeFrame(const Record& r) {
  std::string p;
  p.push_back(static_cast<char>(r.type));
  const Delivery& d = r.delivery;
  switch (r.type) {
    case RecordType::kEnqueue:
      PutStr(p, d.id);
      PutStr(p, d.endpoint.url);
      PutStr(p, d.endpoint.secret);
      PutU32(p, static_cast<uint32_t>(d.endpoint.headers.size()));
      for (const auto& [name, value] : d.endpoint.headers) {
        PutStr(p, name);
        PutStr(p, value);
      }
      PutStr(p, d.event);
      PutStr(p, d.body);
      PutU64(p, static_cast<uint64_t>(d.created_ms));
      PutU64(p, d.seq);
      break;
    case RecordType::kComplete:
      PutStr(p, d.id);
      p.push_back(static_cast<char>(r.completion));
      break;
    case RecordType::kSeqMark:
      PutStr(p, d.endpoint.url);
      PutU64(p, d.seq);
      break;
  }
  std::string frame;
  frame.reserve(kFrameHeaderBytes + p.size());
  PutU32(frame, static_cast<uint32_t>(p.size()));
  PutU32(frame, XXH32(p.data(), p.size(), 0));
  frame.append(p);
  return frame;
}

ParsedFrame ParseFrame(std::span<const uint8_t> bytes) {
  ParsedFrame out;
  if (bytes.size() < kFrameHeaderBytes) {
    out.status = ParsedFrame::Status::kIncomplete;
    return out;
  }
  const uint32_t len = LoadU32(bytes.data());
  const uint32_t sum = LoadU32(bytes.data() + 4);
  if (len == 0 || len > kMaxRecordBytes) {
    out.status = ParsedFrame::Status::kCorrupt;
    return out;
  }
  if (bytes.size() - kFrameHeaderBytes < len) {
    out.status = ParsedFrame::Status::kIncomplete;
    return out;
  }
  const auto payload = bytes.subspan(kFrameHeaderBytes, len);
  if (XXH32(payload.data(), payload.size(), 0) != sum || !DecodePayload(payload, out.record)) {
    out.status = ParsedFrame::Status::kCorrupt;
    out.record = {};
    return out;
  }
  out.status = ParsedFrame::Status::kOk;
  out.size = kFrameHeaderBytes + len;
  return out;
}

}  // namespace canaryd::deliver
