#include "canaryd/series/series_table.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

#include "canaryd/model/labels.h"

namespace canaryd::series {
namespace {

constexpr size_t kInitialSlots = 64;
// Key arena chunks start small (most shards of a small table hold few keys) and double up to
// kMaxChunk.
constexpr size_t kMinChunk = 4 << 10;
constexpr size_t kMaxChunk = 16 << 10;
constexpr uint64_t kAddressMask = (uint64_t{1} << 48) - 1;

// Slot index from the hash bits below the shard bits, so that shard and slot are independent.
inline size_t SlotOf(uint64_t hash, size_t mask) { return static_cast<size_t>(hash) & mask; }

// The 16 check bits kept in a slot's tagged key pointer, from the high half of the hash.
inline uint64_t CheckTag(uint64_t hash_hi) { return hash_hi & 0xffff000000000000ULL; }

inline const char* EntryOf(uint64_t tagged) {
  return reinterpret_cast<const char*>(static_cast<uintptr_t>(tagged & kAddressMask));
}

inline std::string_view KeyOf(uint64_t tagged) {
  const char* entry = EntryOf(tagged);
  uint32_t len;
  std::memcpy(&len, entry, sizeof len);
  return {entry + sizeof len, len};
}

inline size_t EntrySize(size_t key_len) { return sizeof(uint32_t) + key_len; }

}  // namespace

const char* SeriesTable::KeyArena::Store(std::string_view key) {
  const size_t need = EntrySize(key.size());
  if (chunks.empty() || chunk_size - chunk_used < need) {
    const size_t size = std::max(need, std::min(kMaxChunk, std::max(kMinChunk, capacity_bytes)));
    chunks.push_back(std::make_unique<char[]>(size));
    chunk_size = size;
    chunk_used = 0;
    capacity_bytes += size;
  }
  char* entry = chunks.back().get() + chunk_used;
  // The tagged pointer needs the address to fit 48 bits, as user-space addresses do on x86-64
  // and arm64.
  if ((reinterpret_cast<uintptr_t>(entry) & ~kAddressMask) != 0) {
    throw std::bad_alloc();
  }
  const auto len = static_cast<uint32_t>(key.size());
  std::memcpy(entry, &len, sizeof len);
  std::memcpy(entry + sizeof len, key.data(), key.size());
  chunk_used += need;
  total_bytes += need;
  live_bytes += need;
  return entry;
}

SeriesTable::SeriesTable() {
  for (auto& s : shards_) {
    s.slots.resize(kInitialSlots);
  }
}

SeriesTable::~SeriesTable() = default;

void SeriesTable::Grow(Shard& shard) {
  std::vector<Slot> old(shard.slots.size() * 2);
  old.swap(shard.slots);
  const size_t mask = shard.slots.size() - 1;
  for (const auto& s : old) {
    if (s.key == 0) {
      continue;
    }
    size_t i = SlotOf(s.hash, mask);
    while (shard.slots[i].key != 0) {
      i = (i + 1) & mask;
    }
    shard.slots[i] = s;
  }
}

void SeriesTable::CompactKeys(Shard& shard) {
  // Copy the live keys into a fresh arena and repoint their slots; the old chunks, with the keys
  // of expired series, are freed.
  KeyArena fresh;
  for (auto& slot : shard.slots) {
    if (slot.key != 0) {
      const char* entry = fresh.Store(KeyOf(slot.key));
      slot.key = (slot.key & ~kAddressMask) | reinterpret_cast<uintptr_t>(entry);
    }
  }
  shard.keys = std::move(fresh);
}

SeriesId SeriesTable::ResolveLocked(Shard& shard, size_t shard_index, std::string_view key,
                                    uint64_t hash, uint64_t check_tag, uint32_t now_s,
                                    bool& inserted) {
  size_t mask = shard.slots.size() - 1;
  size_t i = SlotOf(hash, mask);
  for (;;) {
    Slot& slot = shard.slots[i];
    if (slot.key == 0) {
      break;
    }
    if (slot.hash == hash && (slot.key & ~kAddressMask) == check_tag) {
      slot.last_seen_s = now_s;
      inserted = false;
      return slot.id;
    }
    i = (i + 1) & mask;
  }
  // Keep the load factor at or below 7/8: beyond it linear probing degrades quickly.
  if ((shard.used + 1) * 8 > shard.slots.size() * 7) {
    Grow(shard);
    mask = shard.slots.size() - 1;
    i = SlotOf(hash, mask);
    while (shard.slots[i].key != 0) {
      i = (i + 1) & mask;
    }
  }
  const char* entry = shard.keys.Store(key);
  uint32_t local;
  if (!shard.free_ids.empty()) {
    local = shard.free_ids.back();
    shard.free_ids.pop_back();
  } else {
    local = shard.next_local_id++;
    if (local >= shard.attachments.size()) {
      shard.attachments.resize(std::max<size_t>(64, shard.attachments.size() * 2));
    }
  }
  shard.attachments[local] = 0;
  Slot& slot = shard.slots[i];
  slot.hash = hash;
  slot.id = (local << kShardBits) | static_cast<uint32_t>(shard_index);
  slot.last_seen_s = now_s;
  slot.key = check_tag | reinterpret_cast<uintptr_t>(entry);
  ++shard.used;
  size_.fetch_add(1, std::memory_order_relaxed);
  inserted = true;
  return slot.id;
}

SeriesId SeriesTable::Resolve(std::string_view label_key, uint64_t hash, uint32_t now_s,
                              bool* inserted) {
  const uint64_t tag = CheckTag(model::HashLabelKey128(label_key).hi);
  const size_t si = ShardOf(hash);
  Shard& shard = shards_[si];
  bool ins = false;
  std::lock_guard lock(shard.mu);
  const SeriesId id = ResolveLocked(shard, si, label_key, hash, tag, now_s, ins);
  if (inserted != nullptr) {
    *inserted = ins;
  }
  return id;
}

size_t SeriesTable::ResolveBatch(const model::SeriesBatch& batch, uint32_t now_s,
                                 std::vector<SeriesId>& ids, std::vector<uint64_t>* attachments) {
  const size_t n = batch.series.size();
  ids.resize(n);
  if (attachments != nullptr) {
    attachments->resize(n);
  }
  // Counting sort of the batch by shard, so each shard's lock is taken once.
  thread_local std::vector<uint32_t> order;
  std::array<uint32_t, kShards + 1> start{};
  for (const auto& s : batch.series) {
    ++start[ShardOf(s.hash) + 1];
  }
  for (size_t i = 1; i <= kShards; ++i) {
    start[i] += start[i - 1];
  }
  order.resize(n);
  std::array<uint32_t, kShards> fill{};
  for (size_t i = 0; i < n; ++i) {
    const size_t si = ShardOf(batch.series[i].hash);
    order[start[si] + fill[si]++] = static_cast<uint32_t>(i);
  }
  size_t inserted_count = 0;
  constexpr uint32_t kPrefetchDistance = 4;
  for (size_t si = 0; si < kShards; ++si) {
    if (start[si] == start[si + 1]) {
      continue;
    }
    Shard& shard = shards_[si];
    std::lock_guard lock(shard.mu);
    // Slots of big tables miss the cache; fetch a few ahead while resolving the current one.
    for (uint32_t k = start[si]; k < start[si] + kPrefetchDistance && k < start[si + 1]; ++k) {
      __builtin_prefetch(&shard.slots[SlotOf(batch.series[order[k]].hash, shard.slots.size() - 1)]);
    }
    for (uint32_t k = start[si]; k < start[si + 1]; ++k) {
      if (k + kPrefetchDistance < start[si + 1]) {
        __builtin_prefetch(&shard.slots[SlotOf(batch.series[order[k + kPrefetchDistance]].hash,
                                               shard.slots.size() - 1)]);
      }
      const auto& s = batch.series[order[k]];
      bool inserted = false;
      const SeriesId id =
          ResolveLocked(shard, si, s.labels, s.hash, CheckTag(s.hash_hi), now_s, inserted);
      ids[order[k]] = id;
      if (attachments != nullptr) {
        (*attachments)[order[k]] = shard.attachments[id >> kShardBits];
      }
      inserted_count += inserted ? 1 : 0;
    }
  }
  return inserted_count;
}

bool SeriesTable::Find(std::string_view label_key, uint64_t hash, SeriesId& id) const {
  const Shard& shard = shards_[ShardOf(hash)];
  std::lock_guard lock(shard.mu);
  const size_t mask = shard.slots.size() - 1;
  for (size_t i = SlotOf(hash, mask);; i = (i + 1) & mask) {
    const Slot& slot = shard.slots[i];
    if (slot.key == 0) {
      return false;
    }
    if (slot.hash == hash && KeyOf(slot.key) == label_key) {
      id = slot.id;
      return true;
    }
  }
}

uint64_t SeriesTable::CompareExchangeAttachment(SeriesId id, uint64_t expected, uint64_t desired) {
  Shard& shard = shards_[id & (kShards - 1)];
  std::lock_guard lock(shard.mu);
  const uint32_t local = id >> kShardBits;
  if (local >= shard.next_local_id) {
    return expected;
  }
  uint64_t& a = shard.attachments[local];
  if (a == expected) {
    a = desired;
  }
  return a;
}

void SeriesTable::ForEachAttached(
    const std::function<void(SeriesId, std::string_view, uint64_t&)>& fn) {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& slot : shard.slots) {
      if (slot.key != 0) {
        fn(slot.id, KeyOf(slot.key), shard.attachments[slot.id >> kShardBits]);
      }
    }
  }
}

size_t SeriesTable::ExpireBefore(uint32_t cutoff_s,
                                 const std::function<void(SeriesId, uint64_t)>& on_removed) {
  size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    const size_t mask = shard.slots.size() - 1;
    // Start right after an empty slot so that no cluster wraps around the start of the scan.
    size_t begin = 0;
    while (shard.slots[begin].key != 0) {
      begin = (begin + 1) & mask;
    }
    for (size_t step = 0, i = (begin + 1) & mask; step < shard.slots.size();) {
      Slot& slot = shard.slots[i];
      if (slot.key == 0 || slot.last_seen_s >= cutoff_s) {
        i = (i + 1) & mask;
        ++step;
        continue;
      }
      const uint32_t local = slot.id >> kShardBits;
      if (shard.attachments[local] != 0) {
        if (on_removed) {
          on_removed(slot.id, shard.attachments[local]);
        }
        shard.attachments[local] = 0;
      }
      shard.free_ids.push_back(local);
      shard.keys.live_bytes -= EntrySize(KeyOf(slot.key).size());
      --shard.used;
      ++removed;
      // Backward-shift deletion: pull later members of the cluster into the hole when their
      // home slot allows it. Then re-examine slot i, which may now hold a moved entry.
      size_t hole = i;
      for (size_t j = (i + 1) & mask; shard.slots[j].key != 0; j = (j + 1) & mask) {
        const size_t home = SlotOf(shard.slots[j].hash, mask);
        // Movable unless `home` lies cyclically within (hole, j].
        const bool home_in_range =
            hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_in_range) {
          shard.slots[hole] = shard.slots[j];
          hole = j;
        }
      }
      shard.slots[hole] = Slot{};
    }
    // Reclaim key memory once expired keys hold half of it.
    const size_t dead = shard.keys.total_bytes - shard.keys.live_bytes;
    if (dead >= kMinChunk && dead * 2 > shard.keys.total_bytes) {
      CompactKeys(shard);
    }
  }
  size_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

void SeriesTable::ForEach(const std::function<void(SeriesId, std::string_view)>& fn) const {
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& slot : shard.slots) {
      if (slot.key != 0) {
        fn(slot.id, KeyOf(slot.key));
      }
    }
  }
}

size_t SeriesTable::MemoryBytes() const {
  size_t bytes = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    bytes += shard.slots.capacity() * sizeof(Slot);
    bytes += shard.keys.capacity_bytes;
    bytes += shard.free_ids.capacity() * sizeof(uint32_t);
    bytes += shard.attachments.capacity() * sizeof(uint64_t);
  }
  return bytes;
}

}  // namespace canaryd::series
