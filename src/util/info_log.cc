#include "util/info_log.h"

#include <sys/time.h>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace lsmkv {

Status InfoLog::Open(Env* env, const std::string& fname, std::unique_ptr<InfoLog>* result) {
  std::unique_ptr<WritableFile> file;
  Status s = env->NewAppendableFile(fname, &file);
  if (!s.ok()) return s;
  result->reset(new InfoLog(std::move(file)));
  return Status::OK();
}

void InfoLog::Log(const char* format, ...) {
  char body[1024];
  va_list ap;
  va_start(ap, format);
  int n = std::vsnprintf(body, sizeof(body), format, ap);
  va_end(ap);
  if (n < 0) return;
  std::string line;
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm_utc;
  gmtime_r(&tv.tv_sec, &tm_utc);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ ",
                tm_utc.tm_year + 1900, tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour,
                tm_utc.tm_min, tm_utc.tm_sec, static_cast<long>(tv.tv_usec));
  line.append(stamp);
  line.append(body, std::min<size_t>(static_cast<size_t>(n), sizeof(body) - 1));
  if (static_cast<size_t>(n) >= sizeof(body)) line.append("...");
  line.push_back('\n');
  MutexLock guard(&mu_);
  if (!status_.ok()) return;
  Status s = file_->Append(line);
  if (s.ok()) s = file_->Flush();
  if (!s.ok()) status_ = s;
}

Status InfoLog::status() {
  MutexLock guard(&mu_);
  return status_;
}

}  // namespace lsmkv
