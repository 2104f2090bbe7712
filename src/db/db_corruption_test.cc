// Corruption survival: bytes flipped, files truncated and ranges zeroed in
// each file type (table, WAL, MANIFEST, CURRENT) of a closed database, then
// Open and reads. The rules:
//   - never wrong data: a Get returns the written value, NotFound for a key
//     never written (or dropped by WAL recovery, see below), or an error; a
//     scan yields exactly the model's entries in order and stops with a
//     non-OK status at the damage;
//   - errors name the damaged file: Corruption "<dir>/000005.sst: ..." etc.;
//   - WAL damage follows Options::wal_recovery_mode (docs/format/wal.md):
//     kAbsoluteConsistency and kTolerateCorruptedTail fail Open with
//     Corruption naming the log for damage before the tail, kPointInTime
//     keeps exactly a prefix of the writes, kSkipAnyCorrupted (the default)
//     loses exactly the writes whose records hold damaged bytes; each loss
//     is reported in the LOG ("WAL damage ... bytes dropped") and in
//     lsmkv.stats; paranoid_checks fails Open on any WAL damage;
//   - MANIFEST and CURRENT damage fails Open with Corruption naming the file,
//     or (bytes that carry no meaning) opens with every key intact.
// What survives is measured and printed (docs/RELIABILITY.md): for one
// flipped byte in a table of 100 keys, how many keys stay readable.
#include <algorithm>
#include <map>

#include "base/filename.h"
#include "db/db_testutil.h"
#include "gtest/gtest.h"
#include "lsmkv/db.h"
#include "util/random.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"

namespace lsmkv {
namespace {

constexpr char kDbName[] = "/corrupt";

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%04d", i);
  return buf;
}

std::string Value(int i, int version) {
  std::string v = "value-" + std::to_string(i) + "-v" + std::to_string(version) + "-";
  v.resize(60 + (i * 37) % 80, static_cast<char>('a' + (i + version) % 26));
  return v;
}

// The WAL damage test: 600 writes of one key each (values 60..140 bytes: one
// record of about 90..170 bytes per write, a 3-block log), left in one WAL
// by Close. Record i is the batch of Key(i).
constexpr int kWalWrites = 600;

// Where each write's record lies in a log: [begin, end) holds its fragments
// (headers and payloads, not a trailer before it).
using RecordExtents = std::vector<std::pair<uint64_t, uint64_t>>;

// What the trials of one (paranoid, mode, kind of damage) saw.
struct WalTrialTally {
  int trials = 0, open_failed = 0, opened = 0;
  long lost = 0, max_lost = 0, damaged = 0;
};

class CorruptionTest : public test::DBTestBase<> {
 protected:
  CorruptionTest() { dbname_ = kDbName; }

  // Opens the database with paranoid_checks into db_ and expects Corruption
  // naming file; true if Open failed with Corruption.
  bool ParanoidOpenFailsNaming(const std::string& file) {
    Options paranoid = options_;
    paranoid.paranoid_checks = true;
    Status s = DB::Open(paranoid, kDbName, &db_);
    EXPECT_TRUE(s.IsCorruption()) << "paranoid Open: " << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find(file)) << s.ToString();
    return s.IsCorruption();
  }

  // A closed database whose data is one table of keys Key(0..99) (into
  // *model), saved as the pristine copy.
  void WriteOneTableOf100Keys(std::map<std::string, std::string>* model) {
    ASSERT_TRUE(DB::Open(options_, kDbName, &db_).ok());
    for (int i = 0; i < 100; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), Key(i), Value(i, 0)).ok());
      (*model)[Key(i)] = Value(i, 0);
    }
    ASSERT_TRUE(db_->Flush().ok());
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
    SavePristine();
  }

  // The files of the closed database, to restore before every trial.
  void SavePristine() {
    pristine_.clear();
    std::vector<std::string> children;
    ASSERT_TRUE(env_->GetChildren(kDbName, &children).ok());
    for (const std::string& c : children) {
      uint64_t number;
      FileType type;
      if (!ParseFileName(c, &number, &type) || type == FileType::kLockFile) continue;
      std::string data;
      ASSERT_TRUE(ReadFileToString(env_.get(), Path(c), &data).ok());
      pristine_[c] = data;
    }
  }
  void Restore() {
    std::vector<std::string> children;
    ASSERT_TRUE(env_->GetChildren(kDbName, &children).ok());
    for (const std::string& c : children) {
      if (c != "LOCK") {
        ASSERT_TRUE(env_->RemoveFile(Path(c)).ok());
      }
    }
    for (const auto& [name, data] : pristine_) {
      ASSERT_TRUE(WriteStringToFile(env_.get(), data, Path(name), false).ok());
    }
  }
  static std::string Path(const std::string& name) { return std::string(kDbName) + "/" + name; }

  // The one pristine file of a type (its name).
  std::string FileOfType(FileType wanted) const {
    std::string found;
    for (const auto& [name, data] : pristine_) {
      uint64_t number;
      FileType type;
      if (ParseFileName(name, &number, &type) && type == wanted) {
        EXPECT_TRUE(found.empty()) << "more than one file of the type: " << found << ", " << name;
        found = name;
      }
    }
    EXPECT_FALSE(found.empty());
    return found;
  }

  void Damage(const std::string& name, const std::string& data) {
    ASSERT_TRUE(WriteStringToFile(env_.get(), data, Path(name), false).ok());
  }

  // Reads keys 0..n-1 against model (absent = never written). Counts
  // readable (right value, or NotFound for an absent key), errors, and
  // checks that no read returns wrong data and that errors name file_hint.
  struct ReadCounts {
    int readable = 0, errors = 0, missing = 0;
  };
  ReadCounts ReadAll(const std::map<std::string, std::string>& model, int n,
                     const std::string& file_hint, bool missing_allowed) {
    ReadCounts counts;
    for (int i = 0; i < n; i++) {
      std::string value;
      Status s = db_->Get(ReadOptions(), Key(i), &value);
      auto it = model.find(Key(i));
      if (s.ok()) {
        EXPECT_TRUE(it != model.end() && it->second == value) << "wrong value for " << Key(i);
        counts.readable++;
      } else if (s.IsNotFound()) {
        if (it == model.end()) {
          counts.readable++;
        } else {
          EXPECT_TRUE(missing_allowed) << Key(i) << " silently missing";
          counts.missing++;
        }
      } else {
        EXPECT_TRUE(s.IsCorruption()) << s.ToString();
        EXPECT_NE(std::string::npos, s.ToString().find(file_hint)) << s.ToString();
        counts.errors++;
      }
      if (::testing::Test::HasFailure()) break;  // one report per trial is enough
    }
    return counts;
  }

  // A forward scan yields the model's entries in order (a subset of them if
  // missing_allowed: WAL recovery dropped some) and stops with an error
  // naming file_hint, or yields all of them.
  void CheckScan(const std::map<std::string, std::string>& model, const std::string& file_hint,
                 bool missing_allowed) {
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    auto m = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (missing_allowed) {
        while (m != model.end() && m->first < it->key()) ++m;
      }
      ASSERT_TRUE(m != model.end()) << "scan yielded an entry past the model's last";
      ASSERT_EQ(m->first, it->key()) << "scan skipped or invented a key";
      ASSERT_EQ(m->second, it->value()) << "scan returned a wrong value";
      ++m;
    }
    if (it->status().ok()) {
      if (!missing_allowed) {
        EXPECT_TRUE(m == model.end()) << "scan ended early with OK status";
      }
    } else {
      EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();
      EXPECT_NE(std::string::npos, it->status().ToString().find(file_hint))
          << it->status().ToString();
    }
  }

  std::string InfoLog() {
    std::string data;
    EXPECT_TRUE(ReadFileToString(env_.get(), InfoLogFileName(kDbName), &data).ok());
    return data;
  }

  // The WAL damage test (defined in the WAL section below).
  // Reads the pristine log wal and sets *extent[i] to where record i lies.
  void FindRecordExtents(const std::string& wal, RecordExtents* extent);
  // One trial: restores the database, damages wal (pristine bytes good) with
  // kind (an index of kWalDamageKinds) at offset, opens it with mode and
  // paranoid, and checks what survived against model under that mode's
  // rule; counts into *tally.
  void RunWalTrial(WalRecoveryMode mode, int paranoid, int kind, size_t offset,
                   const std::string& wal, const std::string& good, const RecordExtents& extent,
                   const std::map<std::string, std::string>& model, WalTrialTally* tally);
  std::map<std::string, std::string> pristine_;
};

// ---------------------------------------------------------------- tables

struct SurvivalFigures {
  int trials = 0;
  int all_readable = 0;  // the flip cost no key
  int at_least_90 = 0;   // 90..99 readable
  int below_90 = 0;      // fewer than 90 readable (fails the test)
  int open_failed = 0;   // (fails the test)
  long readable_sum = 0;
  int min_readable = 100;
  // Where the flip landed, as the readers saw it (lsmkv.stats counters):
  int in_data = 0;         // a data block failed its checksum and was salvaged...
  int fully_salvaged = 0;  // ... with every entry group intact (restart array, trailer)
  int metadata_at_open =
      0;  // footer, filter, properties, meta-index or index: Open worked around it
  int unseen_by_reads = 0;  // bytes no read needs (salvage block): only the strict check sees it
  int paranoid_failed = 0;  // paranoid Opens that failed naming the table
};

// The value of one "name: N" line of the lsmkv.stats property.
uint64_t StatValue(DB* db, const std::string& name) {
  std::string stats;
  EXPECT_TRUE(db->GetProperty("lsmkv.stats", &stats));
  const size_t at = stats.find(name + ": ");
  EXPECT_NE(std::string::npos, at) << name;
  if (at == std::string::npos) return 0;
  return std::stoull(stats.substr(at + name.size() + 2));
}

class TableSurvivalTest : public CorruptionTest, public ::testing::WithParamInterface<size_t> {};

// One table of 100 keys (default options but the block size: format
// version 2, restart interval 8); its bytes flipped in turn (every byte of a
// table up to 4000 bytes, every k-th byte of a larger one, so at most ~4000
// trials). Every flip leaves at least 90 keys readable; no read is ever
// wrong; an unreadable key is Corruption naming the table, never NotFound;
// a scan stops with Corruption at the damage; the damage reads worked
// around is counted in lsmkv.stats and logged; a paranoid Open fails on
// every flip.
TEST_P(TableSurvivalTest, OneFlippedByteInATableOf100Keys) {
  options_.block_size = GetParam();
  options_.compression = CompressionType::kNone;
  std::map<std::string, std::string> model;
  WriteOneTableOf100Keys(&model);
  const std::string table = FileOfType(FileType::kTableFile);
  const std::string good = pristine_[table];
  const size_t stride = std::max<size_t>(1, good.size() / 4000);
  SurvivalFigures f;
  std::string first_below_90;  // the first flip that left fewer than 90 keys readable
  for (size_t offset = 0; offset < good.size(); offset += stride) {
    SCOPED_TRACE("byte " + std::to_string(offset) + " of " + std::to_string(good.size()));
    Restore();
    std::string bad = good;
    bad[offset] = static_cast<char>(bad[offset] ^ 0xff);
    Damage(table, bad);
    Status s = DB::Open(options_, kDbName, &db_);
    f.trials++;
    if (!s.ok()) {
      ADD_FAILURE() << "Open failed: " << s.ToString();
      f.open_failed++;
      continue;
    }
    const ReadCounts counts = ReadAll(model, 100, table, /*missing_allowed=*/false);
    ASSERT_NO_FATAL_FAILURE(CheckScan(model, table, false));
    if (::testing::Test::HasFailure()) return;
    if (counts.readable < 90 && first_below_90.empty()) {
      first_below_90 = "byte " + std::to_string(offset) + ": " + std::to_string(counts.readable);
    }
    const uint64_t salvaged = StatValue(db_.get(), "data blocks salvaged");
    const uint64_t groups_lost = StatValue(db_.get(), "entry groups lost");
    const uint64_t damaged_opens = StatValue(db_.get(), "tables opened with damage");
    if (salvaged > 0) {
      f.in_data++;
      if (groups_lost == 0) f.fully_salvaged++;
      EXPECT_EQ(0u, damaged_opens);
    } else if (damaged_opens > 0) {
      f.metadata_at_open++;
    } else {
      f.unseen_by_reads++;
    }
    if (counts.readable < 100) {
      EXPECT_GT(groups_lost, 0u) << "keys lost but no lost entry group counted";
    }
    if (salvaged > 0 || damaged_opens > 0) {
      // What reads worked around is in the LOG, naming the table.
      const std::string log = InfoLog();
      EXPECT_NE(std::string::npos, log.find("table damage: " + Path(table))) << log;
    }
    db_.reset();
    // The strict check of a paranoid Open finds every flip.
    if (ParanoidOpenFailsNaming(table)) f.paranoid_failed++;
    f.readable_sum += counts.readable;
    f.min_readable = std::min(f.min_readable, counts.readable);
    if (counts.readable == 100) {
      f.all_readable++;
    } else if (counts.readable >= 90) {
      f.at_least_90++;
    } else {
      f.below_90++;
    }
    db_.reset();
  }
  std::printf(
      "table of 100 keys, block_size %zu, %zu bytes, one byte flipped at %d offsets: "
      "100 readable %d, 90-99 readable %d, below 90 %d, Open failed %d; readable min %d, mean "
      "%.1f; wrong values 0; flips in a data block %d (every entry group intact %d), in "
      "metadata worked around at Open %d, in bytes no read needs (salvage block) %d; paranoid "
      "Open failed naming the table %d\n",
      GetParam(), good.size(), f.trials, f.all_readable, f.at_least_90, f.below_90, f.open_failed,
      f.min_readable, static_cast<double>(f.readable_sum) / f.trials, f.in_data, f.fully_salvaged,
      f.metadata_at_open, f.unseen_by_reads, f.paranoid_failed);
  EXPECT_EQ(0, f.open_failed);
  EXPECT_EQ(0, f.below_90) << "first: " << first_below_90;
  EXPECT_GE(f.min_readable, 90);
  EXPECT_EQ(f.trials, f.paranoid_failed);
  // Every region was hit.
  EXPECT_GT(f.in_data, 0);
  EXPECT_GT(f.metadata_at_open, 0);
  EXPECT_GT(f.unseen_by_reads, 0);
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, TableSurvivalTest, ::testing::Values(256, 1024, 4096),
                         [](const auto& info) { return "block" + std::to_string(info.param); });

// Truncations and zeroed ranges of a table: the same rules.
TEST_F(CorruptionTest, TruncatedOrZeroedTable) {
  options_.block_size = 512;
  std::map<std::string, std::string> model;
  WriteOneTableOf100Keys(&model);
  const std::string table = FileOfType(FileType::kTableFile);
  const std::string good = pristine_[table];
  int trials = 0, open_failed = 0, reads_failed = 0, logged = 0, paranoid_failed = 0;
  for (int kind = 0; kind < 2; kind++) {
    for (size_t offset = 0; offset < good.size(); offset += 97) {
      Restore();
      std::string bad = good;
      if (kind == 0) {
        bad.resize(offset);
      } else {
        std::fill(bad.begin() + static_cast<long>(offset),
                  bad.begin() + static_cast<long>(std::min(good.size(), offset + 64)), '\0');
        if (bad == good) continue;
      }
      SCOPED_TRACE(std::string(kind == 0 ? "truncated to " : "zeroed 64 bytes at ") +
                   std::to_string(offset));
      Damage(table, bad);
      trials++;
      Status s = DB::Open(options_, kDbName, &db_);
      if (!s.ok()) {
        EXPECT_TRUE(s.IsCorruption()) << s.ToString();
        EXPECT_NE(std::string::npos, s.ToString().find(table)) << s.ToString();
        open_failed++;
        continue;
      }
      const ReadCounts counts = ReadAll(model, 100, table, false);
      ASSERT_NO_FATAL_FAILURE(CheckScan(model, table, false));
      if (counts.errors > 0) {
        reads_failed++;
      } else if (InfoLog().find("table damage: " + Path(table)) != std::string::npos) {
        logged++;  // worked around (a footer copy, meta block, salvaged block), and logged
      }
      db_.reset();
      // The strict check of a paranoid Open sees all of it.
      if (ParanoidOpenFailsNaming(table)) paranoid_failed++;
      db_.reset();
    }
  }
  std::printf(
      "table truncated or zeroed (64 bytes) at %d points: Open failed %d, reads reported "
      "Corruption %d, read around and logged %d, wrong values 0; paranoid Open failed %d\n",
      trials, open_failed, reads_failed, logged, paranoid_failed);
  EXPECT_EQ(trials, open_failed + paranoid_failed) << "some damage went unnoticed";
}

// ---------------------------------------------------------------- WAL

// The kinds of damage, by index: one byte flipped, 64 bytes zeroed (or up to
// the end), the log truncated.
const char* const kWalDamageKinds[] = {"flip", "zero 64", "truncate"};

// good with damage of kind (an index of kWalDamageKinds) at offset.
std::string DamagedLog(const std::string& good, int kind, size_t offset) {
  std::string bad = good;
  if (kind == 0) {
    bad[offset] = static_cast<char>(bad[offset] ^ 0x20);
  } else if (kind == 1) {
    std::fill(bad.begin() + static_cast<long>(offset),
              bad.begin() + static_cast<long>(std::min(good.size(), offset + 64)), '\0');
  } else {
    bad.resize(offset);
  }
  return bad;
}

// The writes whose record has a changed byte in bad (flip, zeros; none
// for a truncation, kind 2).
std::vector<int> DamagedWrites(const std::string& good, const std::string& bad,
                               const RecordExtents& extent, int kind) {
  std::vector<int> damaged_writes;
  if (kind == 2) return damaged_writes;
  for (int i = 0; i < kWalWrites; i++) {
    const auto [begin, end] = extent[i];
    if (good.compare(begin, end - begin, bad, begin, end - begin) != 0) {
      damaged_writes.push_back(i);
    }
  }
  return damaged_writes;
}

void CorruptionTest::FindRecordExtents(const std::string& wal, RecordExtents* extent) {
  uint64_t number = 0;
  FileType type;
  ASSERT_TRUE(ParseFileName(wal, &number, &type));
  std::unique_ptr<SequentialFile> file;
  ASSERT_TRUE(env_->NewSequentialFile(Path(wal), &file).ok());
  log::Reader reader(file.get(), nullptr, true, number, wal);
  std::string record;
  while (reader.ReadRecord(&record)) {
    // Replays the writer's fragmentation to find the record's end.
    uint64_t pos = reader.LastRecordOffset();
    size_t left = record.size();
    do {
      const size_t n =
          std::min<size_t>(left, log::kBlockSize - pos % log::kBlockSize - log::kHeaderSize);
      pos += log::kHeaderSize + n;
      left -= n;
    } while (left > 0);
    extent->emplace_back(reader.LastRecordOffset(), pos);
  }
}

void CorruptionTest::RunWalTrial(WalRecoveryMode mode, int paranoid, int kind, size_t offset,
                                 const std::string& wal, const std::string& good,
                                 const RecordExtents& extent,
                                 const std::map<std::string, std::string>& model,
                                 WalTrialTally* tally) {
  Restore();
  const std::string bad = DamagedLog(good, kind, offset);
  const std::vector<int> damaged_writes = DamagedWrites(good, bad, extent, kind);
  Damage(wal, bad);
  tally->trials++;
  Options o = options_;
  o.wal_recovery_mode = mode;
  o.paranoid_checks = paranoid == 1;
  Status s = DB::Open(o, kDbName, &db_);
  if (!s.ok()) {
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(std::string::npos, s.ToString().find(wal)) << s.ToString();
    tally->open_failed++;
    return;
  }
  tally->opened++;
  tally->damaged += static_cast<long>(damaged_writes.size());
  const ReadCounts counts = ReadAll(model, kWalWrites, wal, /*missing_allowed=*/true);
  EXPECT_EQ(0, counts.errors);
  ASSERT_NO_FATAL_FAILURE(CheckScan(model, wal, true));
  tally->lost += counts.missing;
  tally->max_lost = std::max<long>(tally->max_lost, counts.missing);
  std::vector<int> missing;
  for (int i = 0; i < kWalWrites; i++) {
    std::string v;
    if (db_->Get(ReadOptions(), Key(i), &v).IsNotFound()) missing.push_back(i);
  }
  if (counts.missing > 0 && kind != 2) {
    // Reported in the LOG (log file, offset, bytes) and in the stats.
    const std::string info = InfoLog();
    EXPECT_NE(std::string::npos, info.find("WAL damage: Corruption: " + Path(wal)))
        << "a loss not reported in the LOG";
    EXPECT_NE(std::string::npos, info.find("bytes dropped")) << info;
    std::string stats;
    ASSERT_TRUE(db_->GetProperty("lsmkv.stats", &stats));
    const size_t at = stats.find("wal damaged bytes dropped at open: ");
    ASSERT_NE(std::string::npos, at) << stats;
    EXPECT_GT(std::stoull(stats.substr(at + 35)), 0u) << stats;
  }
  if (mode == WalRecoveryMode::kSkipAnyCorrupted && kind != 2) {
    // Exactly the writes whose record the damage touched are lost.
    EXPECT_EQ(damaged_writes, missing) << "lost other records than the damaged ones";
  }
  if (mode == WalRecoveryMode::kPointInTime) {
    // Exactly a prefix: up to the first damaged record.
    const int first_missing = missing.empty() ? kWalWrites : missing.front();
    EXPECT_EQ(kWalWrites - counts.missing, first_missing) << "not a prefix";
    if (kind != 2) {
      EXPECT_EQ(damaged_writes.empty() ? kWalWrites : damaged_writes.front(), first_missing);
    }
  }
  db_.reset();
}

// Prints the figures of one (paranoid, mode, kind) and checks the rules
// that hold over all of its trials.
void CheckWalTally(const WalTrialTally& t, WalRecoveryMode mode, int paranoid, int kind) {
  std::printf(
      "WAL %-8s %-22s%s: %2d trials, Open failed %2d, opened %2d, writes lost "
      "%ld (mean %.1f, max %ld of %d; writes with a damaged record %ld)\n",
      kWalDamageKinds[kind], WalRecoveryModeName(mode), paranoid ? " paranoid" : "         ",
      t.trials, t.open_failed, t.opened, t.lost,
      t.opened ? static_cast<double>(t.lost) / t.opened : 0.0, t.max_lost, kWalWrites, t.damaged);
  if (paranoid == 1 && kind != 2) {
    EXPECT_EQ(0, t.opened) << "paranoid_checks must fail Open on any damage";
  }
  if (paranoid == 0 && mode == WalRecoveryMode::kSkipAnyCorrupted && kind != 2) {
    // The default mode: every trial opens; a flipped byte loses at most
    // its one record, 64 zeroed bytes at most the 2 records they overlap
    // (records are longer than 64 bytes).
    EXPECT_EQ(t.trials, t.opened);
    EXPECT_LE(t.max_lost, kind == 0 ? 1 : 2);
  }
  if (kind != 2 && (mode == WalRecoveryMode::kAbsoluteConsistency ||
                    (mode == WalRecoveryMode::kTolerateCorruptedTail && paranoid == 0))) {
    // Damage is caught (flip/zero of a 33 KB log is rarely in the last record).
    EXPECT_GE(t.open_failed, t.trials - 2);
  }
}

// kWalWrites writes in one WAL, damaged at 24 random offsets by each kind of
// damage, opened under each recovery mode, with and without paranoid_checks.
TEST_F(CorruptionTest, WalDamageUnderEachRecoveryMode) {
  options_.write_buffer_size = 4 << 20;
  // The mode measured as "(default)" below.
  ASSERT_EQ(Options().wal_recovery_mode, WalRecoveryMode::kSkipAnyCorrupted);
  std::map<std::string, std::string> model;
  ASSERT_TRUE(DB::Open(options_, kDbName, &db_).ok());
  for (int i = 0; i < kWalWrites; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), Key(i), Value(i, 1)).ok());
    model[Key(i)] = Value(i, 1);
  }
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  SavePristine();
  const std::string wal = FileOfType(FileType::kLogFile);
  const std::string good = pristine_[wal];
  ASSERT_GT(good.size(), 32u * 1024) << "the log should span several blocks";

  RecordExtents extent;
  ASSERT_NO_FATAL_FAILURE(FindRecordExtents(wal, &extent));
  ASSERT_EQ(static_cast<size_t>(kWalWrites), extent.size());
  ASSERT_EQ(good.size(), extent.back().second);

  const WalRecoveryMode modes[] = {
      WalRecoveryMode::kAbsoluteConsistency, WalRecoveryMode::kTolerateCorruptedTail,
      WalRecoveryMode::kPointInTime, WalRecoveryMode::kSkipAnyCorrupted};
  Random rnd(301);
  std::vector<size_t> offsets;
  for (int i = 0; i < 24; i++) offsets.push_back(rnd.Uniform(static_cast<uint32_t>(good.size())));
  for (int paranoid = 0; paranoid < 2; paranoid++) {
    for (WalRecoveryMode mode : modes) {
      for (int kind = 0; kind < 3; kind++) {
        WalTrialTally tally;
        for (size_t offset : offsets) {
          SCOPED_TRACE(std::string(WalRecoveryModeName(mode)) + (paranoid ? " paranoid " : " ") +
                       kWalDamageKinds[kind] + " at " + std::to_string(offset));
          ASSERT_NO_FATAL_FAILURE(
              RunWalTrial(mode, paranoid, kind, offset, wal, good, extent, model, &tally));
        }
        CheckWalTally(tally, mode, paranoid, kind);
      }
    }
  }
}

// ---------------------------------------------------------------- MANIFEST, CURRENT

// A database with several tables on two levels and data in the WAL.
void BuildManyTables(DB* db, std::map<std::string, std::string>* model) {
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 150; i++) {
      const int k = (i * 7 + round * 13) % 200;
      ASSERT_TRUE(db->Put(WriteOptions(), Key(k), Value(k, round)).ok());
      (*model)[Key(k)] = Value(k, round);
    }
    ASSERT_TRUE(db->Flush().ok());
    if (round == 1) {
      ASSERT_TRUE(db->CompactRange(nullptr, nullptr).ok());
    }
  }
  ASSERT_TRUE(db->Put(WriteOptions(), Key(0), "in the WAL").ok());
  (*model)[Key(0)] = "in the WAL";
}

TEST_F(CorruptionTest, ManifestAndCurrentDamageFailsOpenOrKeepsEverything) {
  options_.block_size = 512;
  options_.max_manifest_file_size = 1 << 20;
  std::map<std::string, std::string> model;
  ASSERT_TRUE(DB::Open(options_, kDbName, &db_).ok());
  ASSERT_NO_FATAL_FAILURE(BuildManyTables(db_.get(), &model));
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  SavePristine();
  const std::string manifest = FileOfType(FileType::kDescriptorFile);
  const std::string current = FileOfType(FileType::kCurrentFile);
  int total_missing = 0;
  std::string all_missing_cases;
  for (const std::string& file : {manifest, current}) {
    const std::string good = pristine_[file];
    for (int paranoid = 0; paranoid < 2; paranoid++) {
      int trials = 0, open_failed = 0, opened_intact = 0, opened_missing = 0;
      std::string missing_cases;
      for (int kind = 0; kind < 3; kind++) {
        for (size_t offset = 0; offset < good.size(); offset++) {
          std::string bad = good;
          if (kind == 0) {
            bad[offset] = static_cast<char>(bad[offset] ^ 0x04);
          } else if (kind == 1) {
            std::fill(bad.begin() + static_cast<long>(offset),
                      bad.begin() + static_cast<long>(std::min(good.size(), offset + 16)), '\0');
            if (bad == good) continue;
          } else {
            bad.resize(offset);
          }
          SCOPED_TRACE(file +
                       (kind == 0   ? " flip at "
                        : kind == 1 ? " zero 16 at "
                                    : " cut at ") +
                       std::to_string(offset) + (paranoid ? " paranoid" : ""));
          Restore();
          Damage(file, bad);
          trials++;
          Options o = options_;
          o.paranoid_checks = paranoid == 1;
          Status s = DB::Open(o, kDbName, &db_);
          if (!s.ok()) {
            EXPECT_TRUE(s.IsCorruption()) << s.ToString();
            // The damaged file, or CURRENT when it no longer names a MANIFEST.
            EXPECT_TRUE(s.ToString().find(file) != std::string::npos ||
                        s.ToString().find("CURRENT") != std::string::npos)
                << s.ToString();
            open_failed++;
            continue;
          }
          // Missing keys are counted (and fail the test below); a wrong
          // value or a read error stops it here.
          const ReadCounts counts = ReadAll(model, 200, file, /*missing_allowed=*/true);
          EXPECT_EQ(0, counts.errors);
          ASSERT_NO_FATAL_FAILURE(CheckScan(model, file, /*missing_allowed=*/true));
          if (::testing::Test::HasFailure()) return;
          if (counts.missing > 0) {
            opened_missing++;
            if (opened_missing <= 5) {
              missing_cases += std::string(kind == 0   ? " flip"
                                           : kind == 1 ? " zero16"
                                                       : " cut") +
                               "@" + std::to_string(offset) + (paranoid ? "(paranoid)" : "") + ":" +
                               std::to_string(counts.missing) + "/200 keys gone;";
            }
          } else {
            opened_intact++;
          }
          db_.reset();
        }
      }
      std::printf(
          "%-16s flipped/zeroed/truncated%s: %3d trials, Open failed (Corruption naming "
          "it) %3d, opened with every key intact %3d, opened with data missing %d%s\n",
          file.c_str(), paranoid ? " (paranoid)" : "", trials, open_failed, opened_intact,
          opened_missing, missing_cases.c_str());
      total_missing += opened_missing;
      all_missing_cases += missing_cases;
    }
  }
  EXPECT_EQ(0, total_missing) << "Open succeeded with keys gone (and their tables deleted):"
                              << all_missing_cases
                              << " (db_manifest_zero_header_test.cc is the minimal case)";
}

}  // namespace
}  // namespace lsmkv
