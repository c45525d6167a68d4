#include "canaryd/series/series_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "canaryd/model/labels.h"

namespace canaryd::series {
namespace {

// A batch entry with both hash halves, as the decoder fills them (BatchSeries contract).
model::BatchSeries Entry(std::string_view key) {
  const auto h = model::HashLabelKey128(key);
  return {key, h.lo, h.hi, 0, 0};
}

std::string Key(const std::string& name, int i) {
  std::string key;
  model::AppendLabel(key, "__name__", name);
  model::AppendLabel(key, "i", std::to_string(i));
  return key;
}

TEST(SeriesTableTest, StartsEmpty) {
  SeriesTable t;
  EXPECT_EQ(t.size(), 0u);
  SeriesId id = 12345;
  EXPECT_FALSE(t.Find(Key("m", 1), model::HashLabelKey(Key("m", 1)), id));
  EXPECT_EQ(id, 12345u);
  EXPECT_EQ(t.ExpireBefore(1000), 0u);
  size_t visited = 0;
  t.ForEach([&](SeriesId, std::string_view) { ++visited; });
  EXPECT_EQ(visited, 0u);
}

TEST(SeriesTableTest, SameKeySameIdDifferentKeysDifferentIds) {
  SeriesTable t;
  const std::string a = Key("m", 1), b = Key("m", 2);
  bool inserted = false;
  const SeriesId ida = t.Resolve(a, model::HashLabelKey(a), 10, &inserted);
  EXPECT_TRUE(inserted);
  const SeriesId idb = t.Resolve(b, model::HashLabelKey(b), 10, &inserted);
  EXPECT_TRUE(inserted);
  EXPECT_NE(ida, idb);
  EXPECT_EQ(t.Resolve(a, model::HashLabelKey(a), 11, &inserted), ida);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(t.Resolve(std::string(a), model::HashLabelKey(a), 12), ida);  // another buffer
  EXPECT_EQ(t.size(), 2u);
  SeriesId found = 0;
  ASSERT_TRUE(t.Find(b, model::HashLabelKey(b), found));
  EXPECT_EQ(found, idb);
}

TEST(SeriesTableTest, HashCollisionsWithDifferentKeysGetDifferentIds) {
  SeriesTable t;
  // Same hash on purpose, in one shard and at one home slot.
  const uint64_t h = 0xabcdef0123456789ULL;
  std::vector<std::string> keys;
  std::vector<SeriesId> ids;
  for (int i = 0; i < 20; ++i) {
    keys.push_back(Key("collide", i));
    ids.push_back(t.Resolve(keys.back(), h, 1));
  }
  EXPECT_EQ(std::set<SeriesId>(ids.begin(), ids.end()).size(), keys.size());
  EXPECT_EQ(t.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    SeriesId id;
    ASSERT_TRUE(t.Find(keys[i], h, id));
    EXPECT_EQ(id, ids[i]);
    EXPECT_EQ(t.Resolve(keys[i], h, 2), ids[i]);
  }
  // A key that is a prefix of another, same hash: still different.
  const std::string k = Key("p", 1);
  const std::string longer = k + k;
  EXPECT_NE(t.Resolve(k, 7, 1), t.Resolve(longer, 7, 1));
  SeriesId id;
  EXPECT_FALSE(t.Find(Key("collide", 99), h, id));
  // Same key, different hash: the table trusts the hash, so it is another entry.
  EXPECT_FALSE(t.Find(keys[0], h + 1, id));
}

TEST(SeriesTableTest, ResolveBatchWithCollidingHashesGivesDifferentIds) {
  SeriesTable t;
  model::SeriesBatch batch;
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) keys.push_back(Key("bc", i));
  for (const auto& k : keys) {
    auto e = Entry(k);
    e.hash = 0x42;  // every key: same low 64 bits, hence same shard and home slot
    batch.series.push_back(e);
  }
  std::vector<SeriesId> ids;
  EXPECT_EQ(t.ResolveBatch(batch, 1, ids), keys.size());
  EXPECT_EQ(std::set<SeriesId>(ids.begin(), ids.end()).size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    SeriesId id;
    ASSERT_TRUE(t.Find(keys[i], 0x42, id));
    EXPECT_EQ(id, ids[i]);
    EXPECT_EQ(t.Resolve(keys[i], 0x42, 2), ids[i]);
  }
}

TEST(SeriesTableTest, EmptyKeyIsAValidKey) {
  SeriesTable t;
  const SeriesId a = t.Resolve("", 0, 1);
  SeriesId id;
  ASSERT_TRUE(t.Find("", 0, id));
  EXPECT_EQ(id, a);
  EXPECT_EQ(t.Resolve("", 0, 2), a);
}

TEST(SeriesTableTest, ResolveBatchMatchesResolve) {
  SeriesTable t;
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(Key("batch", i));
  model::SeriesBatch batch;
  for (const auto& k : keys) batch.series.push_back(Entry(k));
  // Duplicates within a batch get the same id and count once as new.
  batch.series.push_back(batch.series[5]);
  std::vector<SeriesId> ids;
  EXPECT_EQ(t.ResolveBatch(batch, 100, ids), keys.size());
  ASSERT_EQ(ids.size(), batch.series.size());
  EXPECT_EQ(ids.back(), ids[5]);
  EXPECT_EQ(std::set<SeriesId>(ids.begin(), ids.end()).size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(t.Resolve(keys[i], model::HashLabelKey(keys[i]), 100), ids[i]);
  }
  std::vector<SeriesId> again;
  EXPECT_EQ(t.ResolveBatch(batch, 101, again), 0u);
  EXPECT_EQ(again, ids);
  model::SeriesBatch empty;
  EXPECT_EQ(t.ResolveBatch(empty, 1, again), 0u);
  EXPECT_TRUE(again.empty());
}

TEST(SeriesTableTest, ForEachVisitsEverySeriesOnce) {
  SeriesTable t;
  std::map<SeriesId, std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    const std::string k = Key("fe", i);
    expected[t.Resolve(k, model::HashLabelKey(k), 1)] = k;
  }
  std::map<SeriesId, std::string> seen;
  t.ForEach([&](SeriesId id, std::string_view key) {
    EXPECT_TRUE(seen.emplace(id, std::string(key)).second);
  });
  EXPECT_EQ(seen, expected);
}

TEST(SeriesTableTest, ExpireBeforeRemovesExactlyTheOldOnes) {
  SeriesTable t;
  std::vector<std::string> keys;
  std::vector<SeriesId> ids;
  for (int i = 0; i < 5000; ++i) {
    keys.push_back(Key("exp", i));
    ids.push_back(t.Resolve(keys[i], model::HashLabelKey(keys[i]), static_cast<uint32_t>(i % 10)));
  }
  // last_seen 0..4 go; 5..9 stay. Cutoff is exclusive: seen at 5 stays.
  EXPECT_EQ(t.ExpireBefore(5), 2500u);
  EXPECT_EQ(t.size(), 2500u);
  for (int i = 0; i < 5000; ++i) {
    SeriesId id;
    const bool found = t.Find(keys[i], model::HashLabelKey(keys[i]), id);
    EXPECT_EQ(found, i % 10 >= 5) << i;
    if (found) {
      EXPECT_EQ(id, ids[i]);
    }
  }
  EXPECT_EQ(t.ExpireBefore(5), 0u);
  EXPECT_EQ(t.ExpireBefore(100), 2500u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(SeriesTableTest, ResolveRefreshesLastSeen) {
  SeriesTable t;
  const std::string k = Key("r", 1);
  const uint64_t h = model::HashLabelKey(k);
  const SeriesId id = t.Resolve(k, h, 1);
  t.Resolve(k, h, 50);
  EXPECT_EQ(t.ExpireBefore(10), 0u);
  SeriesId found;
  ASSERT_TRUE(t.Find(k, h, found));
  EXPECT_EQ(found, id);
  // Find does not refresh.
  EXPECT_EQ(t.ExpireBefore(51), 1u);
}

TEST(SeriesTableTest, IdsAreReusedAfterExpiry) {
  SeriesTable t;
  std::set<SeriesId> old_ids;
  for (int i = 0; i < 2000; ++i) {
    const std::string k = Key("old", i);
    old_ids.insert(t.Resolve(k, model::HashLabelKey(k), 1));
  }
  ASSERT_EQ(old_ids.size(), 2000u);
  EXPECT_EQ(t.ExpireBefore(2), 2000u);
  std::set<SeriesId> new_ids;
  for (int i = 0; i < 2000; ++i) {
    const std::string k = Key("new", i);
    new_ids.insert(t.Resolve(k, model::HashLabelKey(k), 3));
  }
  ASSERT_EQ(new_ids.size(), 2000u);
  // Ids are per shard, so new series reuse most old ids (all, where a shard got as many).
  size_t reused = 0;
  for (auto id : new_ids) reused += old_ids.count(id);
  EXPECT_GT(reused, 1500u);
  // Ids stay compact: they never exceed what the peak population needs per shard.
  SeriesId max_id = 0;
  for (auto id : new_ids) max_id = std::max(max_id, id);
  EXPECT_LT(max_id >> SeriesTable::kShardBits, 2000u);
}

// Hashes built so that every key lands in one shard and the home slots cluster and wrap around the
// end of the slot array, exercising backward-shift deletion across clusters.
TEST(SeriesTableTest, BackwardShiftDeletionAgainstModel) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(seed);
    SeriesTable t;
    std::mt19937_64 rng(seed);
    struct Entry {
      SeriesId id;
      uint32_t last_seen;
      uint64_t hash;
    };
    std::map<std::string, Entry> model;
    uint32_t now = 100;
    // Seed 1: every home in slots 0..63 of one shard (one long cluster). Seed 2: the same over two
    // shards. Seed 3: homes at the very end of the slot array (whatever its size up to 2^20) or
    // at its start, so clusters wrap around and merge. Seed 4: uniform homes at high load.
    auto make_hash = [&](int i) -> uint64_t {
      const uint64_t shard = seed == 2 ? uint64_t{static_cast<uint64_t>(i) % 2} << 58 : 0;
      uint64_t low;
      if (seed <= 2) {
        low = rng() % 64;
      } else if (seed == 3) {
        low = rng() % 2 ? 0xfffff - rng() % 48 : rng() % 16;
      } else {
        low = rng() & ((uint64_t{1} << 58) - 1);
      }
      // Bits 48-55 make equal homes differ in hash without changing shard or home.
      return shard | low | (seed == 4 ? 0 : (rng() & 0x00ff000000000000ULL));
    };
    std::vector<std::string> all_keys;
    for (int i = 0; i < 2000; ++i) all_keys.push_back(Key("bs", i));
    std::map<std::string, uint64_t> hash_of;
    for (int i = 0; i < 2000; ++i) hash_of[all_keys[i]] = make_hash(i);
    std::set<SeriesId> live_ids;

    for (int round = 0; round < 40; ++round) {
      ++now;
      // Insert or touch a random subset.
      const int ops = 300 + static_cast<int>(rng() % 300);
      for (int k = 0; k < ops; ++k) {
        const std::string& key = all_keys[rng() % all_keys.size()];
        bool inserted = false;
        const SeriesId id = t.Resolve(key, hash_of[key], now, &inserted);
        auto it = model.find(key);
        if (it == model.end()) {
          ASSERT_TRUE(inserted) << key;
          ASSERT_TRUE(live_ids.insert(id).second) << "id reused while still live";
          model[key] = {id, now, hash_of[key]};
        } else {
          ASSERT_FALSE(inserted);
          ASSERT_EQ(id, it->second.id);
          it->second.last_seen = now;
        }
      }
      // Expire some.
      if (round % 3 == 2) {
        const uint32_t cutoff = now - static_cast<uint32_t>(rng() % 4);
        size_t expected = 0;
        for (auto it = model.begin(); it != model.end();) {
          if (it->second.last_seen < cutoff) {
            live_ids.erase(it->second.id);
            it = model.erase(it);
            ++expected;
          } else {
            ++it;
          }
        }
        ASSERT_EQ(t.ExpireBefore(cutoff), expected);
      }
      ASSERT_EQ(t.size(), model.size());
      // Every live key findable with its id; every dead key absent.
      for (const auto& key : all_keys) {
        SeriesId id;
        const bool found = t.Find(key, hash_of[key], id);
        auto it = model.find(key);
        ASSERT_EQ(found, it != model.end()) << "round " << round;
        if (found) {
          ASSERT_EQ(id, it->second.id);
        }
      }
    }
    size_t visited = 0;
    t.ForEach([&](SeriesId, std::string_view) { ++visited; });
    EXPECT_EQ(visited, model.size());
  }
}

TEST(SeriesTableTest, ConcurrentResolveBatchGivesConsistentIds) {
  SeriesTable t;
  std::vector<std::string> keys;
  for (int i = 0; i < 20000; ++i) keys.push_back(Key("conc", i));
  constexpr int kThreads = 4;
  std::vector<std::vector<SeriesId>> results(kThreads, std::vector<SeriesId>(keys.size()));
  std::vector<size_t> inserted(kThreads, 0);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      // Each thread resolves all keys in batches, in its own order.
      std::vector<size_t> order(keys.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937(th));
      std::vector<SeriesId> ids;
      for (size_t start = 0; start < order.size(); start += 500) {
        model::SeriesBatch batch;
        for (size_t i = start; i < std::min(order.size(), start + 500); ++i) {
          const auto& k = keys[order[i]];
          batch.series.push_back(Entry(k));
        }
        inserted[th] += t.ResolveBatch(batch, 1, ids);
        for (size_t i = 0; i < ids.size(); ++i) results[th][order[start + i]] = ids[i];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.size(), keys.size());
  size_t total_inserted = 0;
  for (auto n : inserted) total_inserted += n;
  EXPECT_EQ(total_inserted, keys.size());  // every series inserted exactly once
  for (int th = 1; th < kThreads; ++th) {
    EXPECT_EQ(results[th], results[0]) << th;
  }
  EXPECT_EQ(std::set<SeriesId>(results[0].begin(), results[0].end()).size(), keys.size());
}

TEST(SeriesTableTest, ConcurrentResolveAndExpire) {
  SeriesTable t;
  std::atomic<bool> stop{false};
  std::thread expirer([&] {
    uint32_t cutoff = 0;
    while (!stop.load()) t.ExpireBefore(cutoff++ % 50);
  });
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) keys.push_back(Key("ce", i));
  for (uint32_t now = 100; now < 110; ++now) {
    for (const auto& k : keys) {
      const SeriesId id = t.Resolve(k, model::HashLabelKey(k), now);
      SeriesId found;
      ASSERT_TRUE(t.Find(k, model::HashLabelKey(k), found));  // seen at >= 100: never expired
      ASSERT_EQ(found, id);
    }
  }
  stop = true;
  expirer.join();
  EXPECT_EQ(t.size(), keys.size());
}

TEST(SeriesTableTest, MemoryBytesGrowsSanely) {
  SeriesTable t;
  const size_t empty = t.MemoryBytes();
  EXPECT_GE(empty, SeriesTable::kShards * 64 * 16);  // the initial slot arrays
  EXPECT_LT(empty, 1u << 20);
  size_t key_bytes = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::string k = Key("mem_series_with_a_longer_name", i);
    key_bytes += k.size();
    t.Resolve(k, model::HashLabelKey(k), 1);
  }
  const size_t full = t.MemoryBytes();
  EXPECT_GT(full, empty + key_bytes);            // at least the keys themselves
  EXPECT_LT(full, empty + key_bytes + 100000 * 100);  // and under 100 bytes of overhead each
  EXPECT_EQ(t.ExpireBefore(2), 100000u);
  EXPECT_LT(t.MemoryBytes(), full);  // blocks freed (slot arrays keep their size)
}

TEST(SeriesTableTest, ExpiryReclaimsKeyMemoryAndKeepsSurvivorsIntact) {
  SeriesTable t;
  std::map<SeriesId, std::string> survivors;
  constexpr int kSeries = 40'000;
  for (int i = 0; i < kSeries; ++i) {
    const std::string k = Key("compact", i);
    // Three in four series are only seen at time 1; the rest are seen again at time 10.
    const SeriesId id = t.Resolve(k, model::HashLabelKey(k), 1);
    if (i % 4 == 0) {
      EXPECT_EQ(t.Resolve(k, model::HashLabelKey(k), 10), id);
      survivors[id] = k;
    }
  }
  const size_t before = t.MemoryBytes();
  EXPECT_EQ(t.ExpireBefore(5), static_cast<size_t>(kSeries - kSeries / 4));
  // Keys moved to fresh arenas: the old chunks are gone and every survivor reads back intact.
  EXPECT_LT(t.MemoryBytes(), before);
  size_t seen = 0;
  t.ForEach([&](SeriesId id, std::string_view key) {
    ++seen;
    ASSERT_TRUE(survivors.count(id));
    EXPECT_EQ(key, survivors[id]);
  });
  EXPECT_EQ(seen, survivors.size());
  for (const auto& [id, k] : survivors) {
    SeriesId found = 0;
    ASSERT_TRUE(t.Find(k, model::HashLabelKey(k), found));
    EXPECT_EQ(found, id);
    EXPECT_EQ(t.Resolve(k, model::HashLabelKey(k), 11), id);
  }
}

TEST(SeriesTableTest, OverheadPerSeriesStaysNearTheTarget) {
  // 24-byte slots at load 0.44-0.875 plus a 4-byte length per key: 31-59 bytes of overhead.
  SeriesTable t;
  size_t key_bytes = 0;
  for (int i = 0; i < 200'000; ++i) {
    const std::string k = Key("mem", i);
    key_bytes += k.size();
    t.Resolve(k, model::HashLabelKey(k), 1);
  }
  const double overhead =
      static_cast<double>(t.MemoryBytes() - key_bytes) / static_cast<double>(t.size());
  EXPECT_LE(overhead, 64.0 + 1.0);  // + arena chunk slack, amortised
}

}  // namespace
}  // namespace canaryd::series
