// EngineStats: the engine's statistics (DB::GetProperty "lsmkv.stats" and
// "lsmkv.levels") as named numbers, for INFO's lsmkv section and the
// Prometheus endpoint. The properties are human-readable text; this is the
// one place that knows their layout.
#ifndef LSMKV_SERVER_ENGINE_STATS_H_
#define LSMKV_SERVER_ENGINE_STATS_H_

#include <string>
#include <utility>
#include <vector>

#include "lsmkv/db.h"

namespace lsmkv::server {

struct LevelStats {
  std::string level;  // "L0", "L1", ...
  double files = 0;
  double bytes = 0;
  double score = 0;
  double compactions = 0;
  double compaction_bytes_read = 0;
  double compaction_bytes_written = 0;
  double compaction_seconds = 0;
};

struct EngineStats {
  // snake_case name ("wal_syncs", "block_cache_hits", "write_amplification")
  // and value, in the order the engine reports them.
  std::vector<std::pair<std::string, double>> counters;
  std::vector<LevelStats> levels;
};

// Parses the two property texts (either may be empty).
EngineStats ParseEngineStats(const std::string& stats_text, const std::string& levels_text);
// Reads and parses the properties of db.
EngineStats ReadEngineStats(DB* db);

// The engine's error state (property "lsmkv.error-state"): "none",
// "recoverable" (writes refused until the background error clears, e.g. a
// full disk) or "fatal" (writes refused until the database is reopened).
std::string EngineErrorState(DB* db);
// The background error's text on one line ("none" without one).
std::string EngineBackgroundError(DB* db);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_ENGINE_STATS_H_
