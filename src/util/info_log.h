// InfoLog: the human-readable LOG file of a database directory. Each line
// carries a UTC timestamp. Thread safe. Logging never fails the caller: an
// I/O error while writing the LOG is remembered and reported by status().
#ifndef LSMKV_UTIL_INFO_LOG_H_
#define LSMKV_UTIL_INFO_LOG_H_

#include <memory>
#include <string>

#include "lsmkv/env.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lsmkv {

class InfoLog {
 public:
  // Opens (appending to) fname. On failure returns the error; callers may
  // continue with a null InfoLog (Log on nullptr is allowed via LogTo).
  static Status Open(Env* env, const std::string& fname, std::unique_ptr<InfoLog>* result);

  void Log(const char* format, ...) __attribute__((format(printf, 2, 3))) EXCLUDES(mu_);
  Status status() EXCLUDES(mu_);

 private:
  explicit InfoLog(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}
  // A leaf lock: one line is appended at a time, in one piece.
  Mutex mu_;
  const std::unique_ptr<WritableFile> file_ PT_GUARDED_BY(mu_);
  Status status_ GUARDED_BY(mu_);
};

}  // namespace lsmkv

// Logs to an InfoLog* that may be null.
#define LSMKV_LOG(info_log, ...)                             \
  do {                                                       \
    if ((info_log) != nullptr) (info_log)->Log(__VA_ARGS__); \
  } while (0)

#endif  // LSMKV_UTIL_INFO_LOG_H_
