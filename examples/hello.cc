// The smallest lsmkv program: open, write, read back, delete.
// Built against the installed package by tests/install_test.sh.
#include <lsmkv/db.h>

#include <cstdio>
#include <memory>
#include <string>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "/tmp/lsmkv-hello";
  lsmkv::Options options;
  options.create_if_missing = true;
  std::unique_ptr<lsmkv::DB> db;
  lsmkv::Status s = lsmkv::DB::Open(options, path, &db);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.ToString().c_str());
    return 1;
  }
  lsmkv::WriteOptions sync_write;
  sync_write.sync = true;
  s = db->Put(sync_write, "hello", "world");
  std::string value;
  if (s.ok()) s = db->Get(lsmkv::ReadOptions(), "hello", &value);
  if (s.ok()) s = db->Delete(lsmkv::WriteOptions(), "hello");
  if (s.ok()) s = db->Close();
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("hello -> %s\n", value.c_str());
  return value == "world" ? 0 : 1;
}
