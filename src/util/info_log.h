// InfoLog: the human-readable LOG file of a database directory. Each line
// carries a UTC timestamp. Thread safe. Logging never fails the caller: an
// I/O error while writing the LOG is remembered and reported by status().
#ifndef LSMKV_UTIL_INFO_LOG_H_
#define LSMKV_UTIL_INFO_LOG_H_

#include <memory>
#include <mutex>
#include <string>

#include "lsmkv/env.h"

namespace lsmkv {

class InfoLog {
 public:
  // Opens (appending to) fname. On failure returns the error; callers may
  // continue with a null InfoLog (Log on nullptr is allowed via LogTo).
  static Status Open(Env* env, const std::string& fname, std::unique_ptr<InfoLog>* result);

  void Log(const char* format, ...) __attribute__((format(printf, 2, 3)));
  Status status();

 private:
  explicit InfoLog(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}
  std::mutex mu_;
  std::unique_ptr<WritableFile> file_;
  Status status_;
};

}  // namespace lsmkv

// Logs to an InfoLog* that may be null.
#define LSMKV_LOG(info_log, ...)                             \
  do {                                                       \
    if ((info_log) != nullptr) (info_log)->Log(__VA_ARGS__); \
  } while (0)

#endif  // LSMKV_UTIL_INFO_LOG_H_
