#include "stress/expected_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/coding.h"
#include "util/random.h"

namespace lsmkv::stress {

namespace {

constexpr char kMagic[8] = {'L', 'S', 'M', 'K', 'V', 'E', 'X', 'P'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 32;
constexpr size_t kSlotSize = 16;

off_t SlotOffset(uint32_t index) { return static_cast<off_t>(kHeaderSize + kSlotSize * index); }

void EncodeSlot(const Slot& slot, char* out) {
  std::memset(out, 0, kSlotSize);
  EncodeFixed32(out, slot.value_id);
  EncodeFixed32(out + 4, slot.pending_value_id);
  EncodeFixed32(out + 8, slot.batch_id);
  out[12] = static_cast<char>(slot.flags);
}

Slot DecodeSlot(const char* in) {
  Slot slot;
  slot.value_id = DecodeFixed32(in);
  slot.pending_value_id = DecodeFixed32(in + 4);
  slot.batch_id = DecodeFixed32(in + 8);
  slot.flags = static_cast<uint8_t>(in[12]);
  return slot;
}

std::string ErrnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

bool WriteAll(int fd, const char* data, size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

bool ReadAll(int fd, char* data, size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pread(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

}  // namespace

std::string KeyFor(uint32_t index) {
  char prefix[9];
  std::snprintf(prefix, sizeof(prefix), "%08x", index);
  Random rnd(0x6b65790000000000ull ^ index);
  return std::string(prefix, 8) + rnd.RandomKey(rnd.Uniform(17));
}

std::string ValueFor(uint32_t index, uint32_t value_id) {
  Random rnd((static_cast<uint64_t>(index) << 32) | value_id);
  return rnd.RandomBytes(rnd.Uniform(1001));
}

std::string KeyPrefix(uint32_t index) {
  char prefix[9];
  std::snprintf(prefix, sizeof(prefix), "%08x", index);
  return std::string(prefix, 8);
}

ExpectedState::~ExpectedState() {
  if (fd_ >= 0) ::close(fd_);
}

bool ExpectedState::Open(const std::string& path, uint32_t num_keys, std::string* error) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    *error = ErrnoText("cannot open expected-state file", path);
    return false;
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    *error = ErrnoText("cannot stat", path);
    return false;
  }
  const size_t file_size = kHeaderSize + kSlotSize * static_cast<size_t>(num_keys);
  char header[kHeaderSize] = {};
  if (st.st_size == 0) {
    // New file: zero slots (every key absent), then the header, so a crash
    // while creating leaves a file that Open rejects rather than misreads.
    if (::ftruncate(fd_, static_cast<off_t>(file_size)) != 0) {
      *error = ErrnoText("cannot size", path);
      return false;
    }
    std::memcpy(header, kMagic, sizeof(kMagic));
    EncodeFixed32(header + 8, kVersion);
    EncodeFixed32(header + 12, num_keys);
    if (!WriteAll(fd_, header, kHeaderSize, 0)) {
      *error = ErrnoText("cannot write header of", path);
      return false;
    }
    slots_.assign(num_keys, Slot());
    return true;
  }
  if (!ReadAll(fd_, header, kHeaderSize, 0) || std::memcmp(header, kMagic, sizeof(kMagic)) != 0 ||
      DecodeFixed32(header + 8) != kVersion) {
    *error = path + " is not an lsmkv_stress expected-state file (bad header)";
    return false;
  }
  const uint32_t file_keys = DecodeFixed32(header + 12);
  if (file_keys != num_keys) {
    *error = path + " was created for --keys " + std::to_string(file_keys) + ", not " +
             std::to_string(num_keys);
    return false;
  }
  if (static_cast<size_t>(st.st_size) != file_size) {
    *error = path + " has " + std::to_string(st.st_size) + " bytes, expected " +
             std::to_string(file_size);
    return false;
  }
  std::vector<char> data(kSlotSize * static_cast<size_t>(num_keys));
  if (!ReadAll(fd_, data.data(), data.size(), static_cast<off_t>(kHeaderSize))) {
    *error = ErrnoText("cannot read", path);
    return false;
  }
  slots_.resize(num_keys);
  for (uint32_t i = 0; i < num_keys; i++) {
    slots_[i] = DecodeSlot(data.data() + kSlotSize * i);
    if ((slots_[i].flags & ~Slot::kKnownFlags) != 0) {
      *error = path + ": slot of key " + std::to_string(i) + " has unknown flags";
      return false;
    }
  }
  return true;
}

bool ExpectedState::Set(uint32_t index, const Slot& slot, std::string* error) {
  char buf[kSlotSize];
  EncodeSlot(slot, buf);
  slots_[index] = slot;
  if (!WriteAll(fd_, buf, kSlotSize, SlotOffset(index))) {
    *error =
        "cannot write expected state of key " + std::to_string(index) + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace lsmkv::stress
