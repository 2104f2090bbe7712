#include "server/test_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace lsmkv::server::test {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Index just past the CRLF of the line starting at offset, or npos.
size_t LineEnd(const std::string& buffer, size_t offset) {
  const size_t crlf = buffer.find("\r\n", offset);
  return crlf == std::string::npos ? std::string::npos : crlf + 2;
}

}  // namespace

std::string EncodeCommand(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  }
  return out;
}

RespClient::~RespClient() { Close(); }

bool RespClient::Connect(int port, int timeout_ms) {
  Close();
  const int64_t deadline = NowMs() + timeout_ms;
  while (NowMs() < deadline) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      int one = 1;
      setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      buffer_.clear();
      return true;
    }
    close(fd_);
    fd_ = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void RespClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
}

void RespClient::set_send_timeout(int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool RespClient::SendRaw(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RespClient::Fill(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return false;
  char chunk[65536];
  const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

size_t RespClient::CompleteReplyLength(size_t offset) const {
  if (offset >= buffer_.size()) return 0;
  const size_t line_end = LineEnd(buffer_, offset);
  if (line_end == std::string::npos) return 0;
  const char type = buffer_[offset];
  const std::string header = buffer_.substr(offset + 1, line_end - offset - 3);
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return line_end - offset;
    case '$':
    case '=':
    case '!': {
      const long long length = std::atoll(header.c_str());
      if (length < 0) return line_end - offset;
      const size_t end = line_end + static_cast<size_t>(length) + 2;
      return end <= buffer_.size() ? end - offset : 0;
    }
    case '*':
    case '~':
    case '%':
    case '>': {
      long long count = std::atoll(header.c_str());
      if (count < 0) return line_end - offset;
      if (type == '%') count *= 2;
      size_t position = line_end;
      for (long long i = 0; i < count; i++) {
        const size_t n = CompleteReplyLength(position);
        if (n == 0) return 0;
        position += n;
      }
      return position - offset;
    }
    default:
      return line_end - offset;
  }
}

std::string RespClient::ReadReply(int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    const size_t n = CompleteReplyLength(0);
    if (n > 0) {
      std::string reply = buffer_.substr(0, n);
      buffer_.erase(0, n);
      return reply;
    }
    const int64_t left = deadline - NowMs();
    if (fd_ < 0 || left <= 0 || !Fill(static_cast<int>(left))) return "";
  }
}

std::string RespClient::Call(const std::vector<std::string>& args, int timeout_ms) {
  if (!Send(args)) return "";
  return ReadReply(timeout_ms);
}

bool RespClient::WaitClosed(int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (NowMs() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(deadline - NowMs())) <= 0) return false;
    char chunk[4096];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return true;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  return false;
}

std::string RespClient::ReadAll(int timeout_ms) {
  WaitClosed(timeout_ms);
  std::string all;
  all.swap(buffer_);
  return all;
}

std::string InfoField(const std::string& info, const std::string& name) {
  const std::string prefix = "\r\n" + name + ":";
  size_t pos = info.find(prefix);
  if (pos == std::string::npos) return "<absent>";
  pos += prefix.size();
  return info.substr(pos, info.find("\r\n", pos) - pos);
}

std::string BulkValue(const std::string& raw) {
  if (raw.rfind("$-1\r\n", 0) == 0 || raw == "_\r\n") return "<nil>";
  if (raw.empty() || raw[0] != '$') return "<not a bulk: " + raw + ">";
  const size_t line_end = raw.find("\r\n");
  return raw.substr(line_end + 2, raw.size() - line_end - 4);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (!log_path_.empty()) std::remove(log_path_.c_str());
}

bool ServerProcess::Start(const std::string& binary, const std::string& dir,
                          const std::vector<std::string>& extra, std::string* log) {
  log_path_ = dir + ".log";
  std::vector<std::string> args = {binary, "--port", "0", "--dir", dir};
  args.insert(args.end(), extra.begin(), extra.end());
  // Empty the log before the child starts: a previous server's "listening
  // on" line must not be read as this one's.
  const int truncated = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (truncated >= 0) close(truncated);
  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd_limit_ > 0) {
      rlimit limit{};
      getrlimit(RLIMIT_NOFILE, &limit);
      limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(fd_limit_);
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  const int64_t deadline = NowMs() + 20000;
  while (NowMs() < deadline) {
    const std::string text = output();
    const size_t at = text.find("listening on ");
    if (at != std::string::npos && text.find(')', at) != std::string::npos) {
      const size_t colon = text.find(' ', at + 13);
      const std::string address = text.substr(at + 13, colon - at - 13);
      port_ = std::atoi(address.substr(address.rfind(':') + 1).c_str());
      const size_t metrics = text.find("/metrics");
      if (metrics != std::string::npos) {
        const size_t start = text.rfind(':', metrics);
        metrics_port_ = std::atoi(text.substr(start + 1, metrics - start - 1).c_str());
      }
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (log) *log = output();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (log) *log = output();
  return false;
}

int ServerProcess::Wait(int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (pid_ > 0 && NowMs() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

int ServerProcess::StopWith(int signal, int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  return Wait(timeout_ms);
}

std::string ServerProcess::output() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = std::filesystem::temp_directory_path().string() + "/" + prefix + "XXXXXX";
  char* made = mkdtemp(pattern.data());
  return made ? std::string(made) : std::string();
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace lsmkv::server::test
