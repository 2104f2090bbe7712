// Compaction picking (db/compaction.h) on versions built in memory, driven
// by the testdata files in src/db/testdata/compaction_picker/.
//
// Commands (state carries over from one case to the next within a file):
//
//   define [l0-limit=N] [base=BYTES] [multiplier=N] [target=BYTES] [soft=X]
//   L0
//   <number>: <smallest>..<largest> [size=BYTES]
//   L1
//   ...
//     A new version (and no running compaction, empty cursors). Keys are
//     user keys with an optional #sequence (default 1). Level 0 lists the
//     newest file first. Options not given keep their defaults.
//   score            Every level's score and the pending-bytes estimate.
//   pick [dry-run]   PickCompaction; registers the pick as running (as
//                    DBImpl does) unless dry-run.
//   manual level=N [start=K] [end=K] [bottommost] [dry-run]
//                    PickRangeCompaction, then the conflict check DBImpl
//                    makes; registers it if it does not conflict.
//   read-pick level=N file=NUMBER
//                    PickReadCompaction of that file (a number not in the
//                    version stands for a file compacted away meanwhile).
//   in-flight files=(N, ...) [level=N] [same-level]
//                    Registers a running compaction of those files (in level
//                    and level + 1; level defaults to the first file's).
//   done id=N        The running compaction N finishes.
//   cursor           The round-robin cursor of every level that has one.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>

#include "db/compaction.h"
#include "db/version_testutil.h"
#include "util/comparator.h"
#include "util/datadriven_testutil.h"

namespace lsmkv {
namespace {

using test::datadriven::TestData;

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// "key" or "key#seq" as an internal key of a value.
bool ParseKey(std::string_view text, std::string* ikey) {
  SequenceNumber seq = 1;
  const size_t hash = text.find('#');
  std::string_view user = text.substr(0, hash);
  if (hash != std::string_view::npos) {
    const std::string digits(text.substr(hash + 1));
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
    seq = std::stoull(digits);
  }
  if (user.empty()) return false;
  ikey->clear();
  AppendInternalKey(ikey, user, seq, kTypeValue);
  return true;
}

std::string KeyString(std::string_view ikey) {
  ParsedInternalKey p;
  if (!ParseInternalKey(ikey, &p)) return "<bad key>";
  std::string s(p.user_key);
  if (p.sequence != 1) s += "#" + std::to_string(p.sequence);
  return s;
}

std::string Numbers(const std::vector<FileRef>& files) {
  std::string s;
  for (const FileRef& f : files) s += (s.empty() ? "" : " ") + std::to_string(f->number);
  return s.empty() ? "-" : s;
}

uint64_t Bytes(const std::vector<FileRef>& files) {
  uint64_t sum = 0;
  for (const FileRef& f : files) sum += f->file_size;
  return sum;
}

class PickerHarness {
 public:
  std::string Run(const TestData& d) {
    if (d.cmd == "define") return Define(d);
    if (v_ == nullptr) {
      ADD_FAILURE_AT(d.file.c_str(), d.line) << "'define' must come first";
      return "";
    }
    if (d.cmd == "score") return Score();
    if (d.cmd == "pick") return Pick(d);
    if (d.cmd == "manual") return Manual(d);
    if (d.cmd == "read-pick") return ReadPick(d);
    if (d.cmd == "in-flight") return InFlight(d);
    if (d.cmd == "done") return Done(d);
    if (d.cmd == "cursor") return Cursors();
    ADD_FAILURE_AT(d.file.c_str(), d.line) << "unknown command '" << d.cmd << "'";
    return "";
  }

 private:
  std::string Define(const TestData& d) {
    options_ = Options();
    options_.level0_file_limit = static_cast<int>(d.UintArg("l0-limit", 4));
    options_.max_bytes_for_level_base = d.UintArg("base", 1000);
    options_.level_size_multiplier = static_cast<int>(d.UintArg("multiplier", 10));
    options_.target_file_size = d.UintArg("target", 100);
    options_.compaction_soft_limit = d.DoubleArg("soft", 1.0);
    inflight_ = CompactionsInFlight();
    running_.clear();
    for (std::string& c : cursor_) c.clear();
    v_.reset();

    std::vector<FileRef> files[kNumLevels];
    int level = -1;
    std::istringstream in(d.input);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      n++;
      const std::string t = Trim(line);
      if (t.empty()) continue;
      if (t[0] == 'L' && t.find(':') == std::string::npos) {
        level = std::stoi(t.substr(1));
        if (level < 0 || level >= kNumLevels) return "error: input line " + std::to_string(n);
        continue;
      }
      FileMetaData f;
      if (level < 0 || !ParseFile(t, &f)) {
        return "error: input line " + std::to_string(n) + ": '" + t + "'";
      }
      for (const auto& l : files) {
        for (const FileRef& g : l) {
          if (g->number == f.number) return "error: file " + std::to_string(f.number) + " twice";
        }
      }
      files[level].push_back(std::make_shared<const FileMetaData>(f));
    }
    std::shared_ptr<Version> v = VersionTestPeer::Make(&icmp_, files);
    const std::string bad = VersionTestPeer::CheckLevels(icmp_, *v);
    if (!bad.empty()) return "error: " + bad;
    v_ = std::move(v);
    return VersionString();
  }

  // "<number>: <smallest>..<largest> [size=N]"
  static bool ParseFile(const std::string& t, FileMetaData* f) {
    const size_t colon = t.find(':');
    if (colon == std::string::npos) return false;
    const std::string number = Trim(std::string_view(t).substr(0, colon));
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) return false;
    f->number = std::stoull(number);
    std::istringstream rest(t.substr(colon + 1));
    std::string range, word;
    rest >> range;
    const size_t dots = range.find("..");
    if (dots == std::string::npos || !ParseKey(range.substr(0, dots), &f->smallest) ||
        !ParseKey(range.substr(dots + 2), &f->largest)) {
      return false;
    }
    f->file_size = 100;
    while (rest >> word) {
      if (word.rfind("size=", 0) != 0) return false;
      f->file_size = std::stoull(word.substr(5));
    }
    return true;
  }

  std::string VersionString() const {
    std::string out;
    for (int level = 0; level < kNumLevels; level++) {
      const std::vector<FileRef>& files = v_->files(level);
      if (files.empty()) continue;
      out += "L" + std::to_string(level) + ":";
      for (const FileRef& f : files) {
        out += " " + std::to_string(f->number) + "[" + KeyString(f->smallest) + ".." +
               KeyString(f->largest) + " " + std::to_string(f->file_size) + "]";
      }
      out += "\n";
    }
    return out.empty() ? "empty\n" : out;
  }

  std::string Score() const {
    std::string out;
    char buf[160];
    for (int level = 0; level < kNumLevels; level++) {
      const double score = LevelScore(options_, *v_, level);
      if (level == 0) {
        std::snprintf(buf, sizeof(buf), "L0: %d files, limit %d, score %.2f", v_->NumFiles(0),
                      options_.level0_file_limit, score);
      } else if (level == kNumLevels - 1) {
        std::snprintf(buf, sizeof(buf), "L%d: %llu bytes, last level, score %.2f", level,
                      static_cast<unsigned long long>(v_->LevelBytes(level)), score);
      } else {
        std::snprintf(buf, sizeof(buf), "L%d: %llu bytes of %llu, score %.2f", level,
                      static_cast<unsigned long long>(v_->LevelBytes(level)),
                      static_cast<unsigned long long>(MaxBytesForLevel(options_, level)), score);
      }
      out += buf;
      if (score >= options_.compaction_soft_limit) out += " (due)";
      out += "\n";
    }
    out += "pending compaction bytes: " +
           std::to_string(EstimatePendingCompactionBytes(options_, *v_)) + "\n";
    return out;
  }

  static std::string Describe(const Compaction& c) {
    std::string out = "L" + std::to_string(c.level) + " -> L" + std::to_string(c.output_level());
    if (c.manual) out += " (manual)";
    out += "\n";
    out += "  inputs L" + std::to_string(c.level) + ": " + Numbers(c.inputs[0]) + "\n";
    if (!c.same_level_output) {
      out += "  inputs L" + std::to_string(c.level + 1) + ": " + Numbers(c.inputs[1]) + "\n";
    }
    out += "  input bytes: " + std::to_string(c.InputBytes()) + "\n";
    if (!c.grandparents.empty()) {
      out += "  grandparents L" + std::to_string(c.level + 2) + ": " + Numbers(c.grandparents) +
             " (" + std::to_string(Bytes(c.grandparents)) + " bytes, limit " +
             std::to_string(c.max_grandparent_overlap) + ")\n";
    }
    out += "  max output file: " + std::to_string(c.max_output_file_size) + " bytes\n";
    out += std::string("  trivial move: ") + (c.IsTrivialMove() ? "yes" : "no") + "\n";
    return out;
  }

  std::string Register(Compaction c) {
    inflight_.Add(&c, icmp_.user_comparator());
    const uint64_t id = c.id;
    running_.emplace(id, std::move(c));
    return "running as #" + std::to_string(id) + "\n";
  }

  std::string Pick(const TestData& d) {
    Compaction c;
    if (!PickCompaction(options_, icmp_, *v_, inflight_, cursor_, &c)) return "none\n";
    std::string out = Describe(c);
    if (c.level > 0)
      out += "  cursor L" + std::to_string(c.level) + ": " + KeyString(cursor_[c.level]) + "\n";
    if (!d.HasArg("dry-run")) out += Register(std::move(c));
    return out;
  }

  std::string Manual(const TestData& d) {
    const int level = static_cast<int>(d.UintArg("level"));
    std::string start, end;
    const std::string* begin_p = nullptr;
    const std::string* end_p = nullptr;
    if (d.HasArg("start")) {
      start = d.StringArg("start");
      begin_p = &start;
    }
    if (d.HasArg("end")) {
      end = d.StringArg("end");
      end_p = &end;
    }
    Compaction c;
    if (!PickRangeCompaction(options_, icmp_, *v_, level, begin_p, end_p, d.HasArg("bottommost"),
                             &c)) {
      return "nothing in the range\n";
    }
    std::string out = Describe(c);
    if (inflight_.Conflicts(c, icmp_.user_comparator())) {
      return out + "conflicts with a running compaction: waits\n";
    }
    if (!d.HasArg("dry-run")) out += Register(std::move(c));
    return out;
  }

  std::string ReadPick(const TestData& d) {
    const int level = static_cast<int>(d.UintArg("level"));
    const uint64_t number = d.UintArg("file");
    FileRef file;
    for (const FileRef& f : v_->files(level)) {
      if (f->number == number) file = f;
    }
    if (file == nullptr) {
      FileMetaData gone;
      gone.number = number;
      file = std::make_shared<const FileMetaData>(gone);
    }
    Compaction c;
    if (!PickReadCompaction(options_, icmp_, *v_, inflight_, level, file, &c)) return "none\n";
    const std::string out = Describe(c);  // before c is moved from
    return out + Register(std::move(c));
  }

  std::string InFlight(const TestData& d) {
    const test::datadriven::CmdArg* arg = d.Arg("files");
    if (arg == nullptr || arg->values.empty()) {
      ADD_FAILURE_AT(d.file.c_str(), d.line) << "in-flight needs files=(...)";
      return "";
    }
    std::vector<std::pair<int, FileRef>> files;
    for (const std::string& s : arg->values) {
      const uint64_t number = std::stoull(s);
      bool found = false;
      for (int level = 0; level < kNumLevels && !found; level++) {
        for (const FileRef& f : v_->files(level)) {
          if (f->number == number) {
            files.emplace_back(level, f);
            found = true;
          }
        }
      }
      if (!found) return "error: no file " + s + "\n";
    }
    Compaction c;
    c.level = static_cast<int>(d.UintArg("level", static_cast<uint64_t>(files[0].first)));
    c.same_level_output = d.HasArg("same-level");
    for (const auto& [level, f] : files) {
      if (level != c.level && level != c.level + 1) {
        return "error: file " + std::to_string(f->number) + " is in L" + std::to_string(level) +
               "\n";
      }
      c.inputs[level - c.level].push_back(f);
    }
    std::string out = "L" + std::to_string(c.level) + " -> L" + std::to_string(c.output_level()) +
                      ": " + Numbers(c.inputs[0]) + " + " + Numbers(c.inputs[1]) + "\n";
    if (inflight_.Conflicts(c, icmp_.user_comparator())) {
      return out + "conflicts with a running compaction: not started\n";
    }
    return out + Register(std::move(c));
  }

  std::string Done(const TestData& d) {
    const uint64_t id = d.UintArg("id");
    auto it = running_.find(id);
    if (it == running_.end()) return "error: no running compaction #" + std::to_string(id) + "\n";
    inflight_.Remove(it->second);
    running_.erase(it);
    std::string out = "running:";
    for (const auto& [rid, c] : running_) {
      out += " #" + std::to_string(rid) + "(L" + std::to_string(c.level) + ")";
    }
    return out + (running_.empty() ? " none\n" : "\n");
  }

  std::string Cursors() const {
    std::string out;
    for (int level = 0; level < kNumLevels; level++) {
      if (!cursor_[level].empty()) {
        out += "L" + std::to_string(level) + ": " + KeyString(cursor_[level]) + "\n";
      }
    }
    return out.empty() ? "none\n" : out;
  }

  const InternalKeyComparator icmp_{BytewiseComparator()};
  Options options_;
  std::shared_ptr<Version> v_;
  CompactionsInFlight inflight_;
  std::map<uint64_t, Compaction> running_;
  std::string cursor_[kNumLevels];
};

TEST(CompactionPickerTest, TestData) {
  for (const std::string& path : test::datadriven::TestDataFiles(
           test::datadriven::SourceDir() + "/src/db/testdata/compaction_picker")) {
    SCOPED_TRACE(path);
    PickerHarness h;
    test::datadriven::RunTestFile(path, [&h](const TestData& d) { return h.Run(d); });
  }
}

}  // namespace
}  // namespace lsmkv
