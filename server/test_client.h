// Test helpers for the integration tests: a blocking RESP client over a
// loopback TCP socket, a RESP reply reader that keeps replies as raw bytes
// (so tests compare exact wire format), and a handle on a lsmkv-server
// child process.
#ifndef LSMKV_SERVER_TEST_CLIENT_H_
#define LSMKV_SERVER_TEST_CLIENT_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lsmkv::server::test {

// Encodes args as a RESP multi-bulk request.
std::string EncodeCommand(const std::vector<std::string>& args);

class RespClient {
 public:
  RespClient() = default;
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Connects to 127.0.0.1:port; false on failure.
  bool Connect(int port, int timeout_ms = 5000);
  void Close();
  bool connected() const { return fd_ >= 0; }

  // Sends of more than ms block no longer: SendRaw then returns false.
  void set_send_timeout(int ms);
  // Sends raw bytes; false if the connection is gone.
  bool SendRaw(const std::string& bytes);
  bool Send(const std::vector<std::string>& args) { return SendRaw(EncodeCommand(args)); }
  // Reads one complete reply and returns its raw bytes ("+OK\r\n",
  // "*2\r\n$1\r\na\r\n:1\r\n"...); "" on timeout or closed connection.
  std::string ReadReply(int timeout_ms = 5000);
  // Send + ReadReply.
  std::string Call(const std::vector<std::string>& args, int timeout_ms = 5000);
  // True if the server closed the connection (reads EOF within timeout_ms).
  bool WaitClosed(int timeout_ms = 5000);
  // Reads until the peer closes (or timeout_ms) and returns every byte
  // received and not yet returned (for non-RESP peers, e.g. HTTP).
  std::string ReadAll(int timeout_ms = 5000);

 private:
  // Length of the first complete reply in buffer_ at offset, or 0 if incomplete.
  size_t CompleteReplyLength(size_t offset) const;
  bool Fill(int timeout_ms);

  int fd_ = -1;
  std::string buffer_;
};

// The value of "name:value" in an INFO text; "<absent>" if it has no such
// line.
std::string InfoField(const std::string& info, const std::string& name);

// Decodes a bulk-string reply ("$3\r\nabc\r\n" -> "abc"); "<nil>" for a null.
std::string BulkValue(const std::string& raw);

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts binary with --port 0 --dir dir plus extra flags, waits for its
  // "listening on" line and records the port. False (with *log) on failure.
  bool Start(const std::string& binary, const std::string& dir,
             const std::vector<std::string>& extra, std::string* log = nullptr);
  // The child's RLIMIT_NOFILE, soft and hard (0 = inherited). Set before Start.
  void set_fd_limit(int limit) { fd_limit_ = limit; }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  // Sends signal and waits for exit; returns the exit status (as from
  // waitpid: use WIFEXITED/WEXITSTATUS) or -1 on timeout.
  int StopWith(int signal, int timeout_ms = 15000);
  // Waits for the process to exit by itself; status or -1 on timeout.
  int Wait(int timeout_ms = 15000);
  std::string output() const;  // everything it printed

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = -1;
  int fd_limit_ = 0;
  std::string log_path_;
};

// A fresh temporary directory (removed by the caller with RemoveTree).
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);

}  // namespace lsmkv::server::test

#endif  // LSMKV_SERVER_TEST_CLIENT_H_
