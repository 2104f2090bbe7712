#include "wal/batch_reader.h"

#include <utility>
#include "util/check.h"

#include "base/filename.h"
#include "base/write_batch_format.h"

namespace lsmkv::log {

const char* WalEventTypeName(WalEvent::Type type) {
  switch (type) {
    case WalEvent::Type::kLogStart:
      return "log start";
    case WalEvent::Type::kLogUnreadable:
      return "log unreadable";
    case WalEvent::Type::kBatch:
      return "batch";
    case WalEvent::Type::kDropped:
      return "dropped";
    case WalEvent::Type::kBadBatch:
      return "bad batch";
    case WalEvent::Type::kTornTail:
      return "torn tail";
    case WalEvent::Type::kHole:
      return "hole";
    case WalEvent::Type::kLogEnd:
      return "log end";
  }
  return "?";
}

BatchReader::BatchReader(Env* env, std::vector<WalFile> logs) : env_(env), logs_(std::move(logs)) {
  DCHECK(env_ != nullptr);
}

namespace {

std::vector<WalFile> LogsOf(const std::string& dbname, const std::vector<uint64_t>& numbers) {
  std::vector<WalFile> logs;
  for (uint64_t number : numbers) logs.push_back({number, LogFileName(dbname, number)});
  return logs;
}

}  // namespace

BatchReader::BatchReader(Env* env, const std::string& dbname,
                         const std::vector<uint64_t>& log_numbers)
    : BatchReader(env, LogsOf(dbname, log_numbers)) {}

BatchReader::~BatchReader() = default;

bool BatchReader::Next(WalEvent* event) {
  *event = WalEvent();
  while (true) {
    if (current_ == logs_.size()) return false;
    const WalFile& log = logs_[current_];
    event->log_number = log.number;
    event->path = log.path;

    if (!drops_.drops.empty()) {
      DropQueue::Drop& drop = drops_.drops.front();
      event->type = WalEvent::Type::kDropped;
      event->offset = drop.offset;
      event->bytes = drop.bytes;
      event->limit = drop.offset + drop.bytes;
      event->status = std::move(drop.reason);
      drops_.drops.pop_front();
      return true;
    }

    switch (step_) {
      case Step::kOpen: {
        Status s = env_->NewSequentialFile(log.path, &file_);
        if (!s.ok()) {
          event->type = WalEvent::Type::kLogUnreadable;
          event->status = std::move(s);
          file_.reset();
          current_++;
          return true;
        }
        reader_ = std::make_unique<Reader>(file_.get(), &drops_, /*verify_checksums=*/true,
                                           log.number, log.path);
        step_ = Step::kRead;
        event->type = WalEvent::Type::kLogStart;
        return true;
      }

      case Step::kRead:
        // What the reader dropped on the way is emitted first (loop top).
        if (reader_->ReadRecord(&record_)) {
          step_ = hole_log_ != kNoHole ? Step::kHole : Step::kRecord;
        } else {
          step_ = reader_->TornTail() ? Step::kTornTail : Step::kLogEnd;
        }
        break;

      case Step::kHole:
        // A torn tail ends its log, so the pending one is an earlier log's.
        DCHECK(hole_log_ < current_);
        event->type = WalEvent::Type::kHole;
        event->bytes = hole_bytes_;
        event->hole_path = logs_[hole_log_].path;
        event->hole_log_number = logs_[hole_log_].number;
        hole_log_ = kNoHole;
        step_ = Step::kRecord;
        return true;

      case Step::kRecord: {
        event->offset = reader_->LastRecordOffset();
        event->limit = reader_->LastRecordEnd();
        event->record = record_;
        event->bytes = record_.size();
        Status s = batch_format::ValidateRecord(record_);
        if (s.ok()) {
          event->type = WalEvent::Type::kBatch;
          event->sequence = batch_format::Sequence(record_);
          event->count = batch_format::Count(record_);
        } else {
          event->type = WalEvent::Type::kBadBatch;
          event->status = std::move(s);
        }
        step_ = Step::kRead;
        return true;
      }

      case Step::kTornTail:
        event->type = WalEvent::Type::kTornTail;
        event->bytes = reader_->TornTailBytes();
        event->limit = reader_->LogicalEnd();
        DCHECK(event->limit >= event->bytes);
        event->offset = event->limit - event->bytes;
        hole_log_ = current_;
        hole_bytes_ = event->bytes;
        step_ = Step::kLogEnd;
        return true;

      case Step::kLogEnd:
        event->type = WalEvent::Type::kLogEnd;
        event->end = reader_->EndReason();
        event->offset = reader_->LogicalEnd();
        event->limit = event->offset;
        event->status = reader_->status();
        reader_.reset();
        file_.reset();
        current_++;
        step_ = Step::kOpen;
        return true;
    }
  }
}

}  // namespace lsmkv::log
