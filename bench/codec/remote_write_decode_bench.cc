// Decode throughput of remote-write requests, in samples/s.
// Run: build/release/bench/canaryd_bench_codec (release build, quiet machine; pin with taskset).
//   BM_Decode*      : snappy decompress + protobuf walk + validation + canonical keys/hashes
//   BM_DecodeRaw*   : the walk alone on an already decompressed body
//   BM_LibprotobufV1: libprotobuf's generated parser on the same body, for comparison

#include <benchmark/benchmark.h>

#include <vector>

#include "canaryd/codec/remote_write.h"
#include "prometheus/remote.pb.h"
#include "workload/workload.h"

namespace {

using canaryd::codec::Compression;
using canaryd::codec::ProtocolVersion;

struct Bodies {
  std::vector<std::string> raw;
  std::vector<std::string> snappy;
  int64_t samples_per_request = 0;
};

// A rotation of 16 distinct requests so caches see realistic variety.
Bodies MakeBodies(ProtocolVersion v, int series, int samples) {
  canaryd::bench::WorkloadOptions o;
  o.series_per_request = series;
  o.samples_per_series = samples;
  canaryd::bench::Workload w(o);
  Bodies b;
  for (int k = 0; k < 16; ++k) {
    b.raw.push_back(v == ProtocolVersion::kV1 ? w.EncodeV1(k) : w.EncodeV2(k));
    b.snappy.push_back(canaryd::bench::SnappyCompress(b.raw.back()));
  }
  b.samples_per_request = w.samples_per_request();
  return b;
}

void RunDecode(benchmark::State& state, ProtocolVersion v, bool compressed) {
  const Bodies b = MakeBodies(v, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  canaryd::codec::RemoteWriteDecoder decoder;
  canaryd::model::SeriesBatch batch;
  canaryd::codec::DecodeReport report;
  std::string scratch;
  const canaryd::codec::DecodeLimits limits;
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    std::string_view body;
    if (compressed) {
      const auto& in = b.snappy[i];
      bytes += static_cast<int64_t>(in.size());
      if (!canaryd::codec::Decompress(Compression::kSnappy, in, 32 << 20, scratch)) {
        state.SkipWithError("decompress failed");
        break;
      }
      body = scratch;
    } else {
      body = b.raw[i];
      bytes += static_cast<int64_t>(body.size());
    }
    if (!decoder.Decode(v, body, limits, batch, report) ||
        report.samples_accepted != static_cast<uint64_t>(b.samples_per_request)) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(batch.series.data());
    i = (i + 1) % b.raw.size();
  }
  state.SetItemsProcessed(state.iterations() * b.samples_per_request);
  state.SetBytesProcessed(bytes);
  state.counters["bytes_per_sample"] = static_cast<double>(
      (compressed ? b.snappy[0].size() : b.raw[0].size())) / static_cast<double>(b.samples_per_request);
}

void BM_DecodeV1(benchmark::State& s) { RunDecode(s, ProtocolVersion::kV1, true); }
void BM_DecodeV2(benchmark::State& s) { RunDecode(s, ProtocolVersion::kV2, true); }
void BM_DecodeRawV1(benchmark::State& s) { RunDecode(s, ProtocolVersion::kV1, false); }
void BM_DecodeRawV2(benchmark::State& s) { RunDecode(s, ProtocolVersion::kV2, false); }

void BM_LibprotobufV1(benchmark::State& state) {
  const Bodies b = MakeBodies(ProtocolVersion::kV1, static_cast<int>(state.range(0)),
                              static_cast<int>(state.range(1)));
  std::string scratch;
  size_t i = 0;
  for (auto _ : state) {
    canaryd::codec::Decompress(Compression::kSnappy, b.snappy[i], 32 << 20, scratch);
    prometheus::WriteRequest req;
    req.ParseFromString(scratch);
    benchmark::DoNotOptimize(req.timeseries_size());
    i = (i + 1) % b.raw.size();
  }
  state.SetItemsProcessed(state.iterations() * b.samples_per_request);
}

#define CANARYD_SHAPES ArgNames({"series", "samples"})->Args({500, 1})->Args({2000, 1})->Args({100, 10})
BENCHMARK(BM_DecodeV1)->CANARYD_SHAPES;
BENCHMARK(BM_DecodeV2)->CANARYD_SHAPES;
BENCHMARK(BM_DecodeRawV1)->CANARYD_SHAPES;
BENCHMARK(BM_DecodeRawV2)->CANARYD_SHAPES;
BENCHMARK(BM_LibprotobufV1)->CANARYD_SHAPES;

}  // namespace
