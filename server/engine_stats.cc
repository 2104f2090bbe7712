#include "server/engine_stats.h"

#include <cctype>
#include <cstdlib>
#include <sstream>

namespace lsmkv::server {

namespace {

std::string SnakeCase(const std::string& label) {
  std::string out;
  for (char c : label) {
    if (c == '(') break;  // "write amplification (table bytes ...)"
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

bool ParseNumber(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

LevelStats* FindLevel(EngineStats* stats, const std::string& level) {
  for (LevelStats& l : stats->levels) {
    if (l.level == level) return &l;
  }
  stats->levels.push_back(LevelStats{level});
  return &stats->levels.back();
}

}  // namespace

EngineStats ParseEngineStats(const std::string& stats_text, const std::string& levels_text) {
  EngineStats stats;
  std::istringstream levels(levels_text);
  std::string line;
  while (std::getline(levels, line)) {
    // "L0         3      1234567   0.75  no"
    std::istringstream row(line);
    std::string level;
    double files = 0, bytes = 0, score = 0;
    if (!(row >> level >> files >> bytes >> score) || level.size() < 2 || level[0] != 'L') continue;
    LevelStats* l = FindLevel(&stats, level);
    l->files = files;
    l->bytes = bytes;
    l->score = score;
  }
  std::istringstream text(stats_text);
  while (std::getline(text, line)) {
    if (line.size() >= 2 && line[0] == 'L' && std::isdigit(static_cast<unsigned char>(line[1]))) {
      // "L1  compactions moves bytes-read bytes-written seconds"
      std::istringstream row(line);
      std::string level;
      double compactions = 0, moves = 0, read = 0, written = 0, seconds = 0;
      if (!(row >> level >> compactions >> moves >> read >> written >> seconds)) continue;
      LevelStats* l = FindLevel(&stats, level);
      l->compactions = compactions;
      l->compaction_bytes_read = read;
      l->compaction_bytes_written = written;
      l->compaction_seconds = seconds;
      continue;
    }
    const size_t colon = line.rfind(": ");
    if (colon == std::string::npos) continue;
    double value = 0;
    if (!ParseNumber(line.substr(colon + 2), &value)) continue;
    const std::string name = SnakeCase(line.substr(0, colon));
    if (!name.empty()) stats.counters.emplace_back(name, value);
  }
  return stats;
}

EngineStats ReadEngineStats(DB* db) {
  std::string stats_text, levels_text;
  if (!db->GetProperty("lsmkv.stats", &stats_text)) stats_text.clear();
  if (!db->GetProperty("lsmkv.levels", &levels_text)) levels_text.clear();
  return ParseEngineStats(stats_text, levels_text);
}

std::string EngineErrorState(DB* db) {
  std::string state;
  if (!db->GetProperty("lsmkv.error-state", &state)) return "unknown";
  return state;
}

std::string EngineBackgroundError(DB* db) {
  if (EngineErrorState(db) == "none") return "none";
  std::string text;
  if (!db->GetProperty("lsmkv.background-error", &text)) return "unknown";
  for (char& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return text;
}

}  // namespace lsmkv::server
