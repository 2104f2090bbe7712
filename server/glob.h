// Glob patterns as KEYS, SCAN MATCH and CONFIG GET understand them:
// '*' any run of bytes, '?' one byte, '[abc]' '[^abc]' '[a-z]' one byte of a
// set, '\x' the byte x literally. Matching is byte-wise and case-sensitive
// unless nocase is set (CONFIG GET matches names without case).
#ifndef LSMKV_SERVER_GLOB_H_
#define LSMKV_SERVER_GLOB_H_

#include <string>
#include <string_view>

namespace lsmkv::server {

// True if text matches pattern.
bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase = false);

// The bytes every match of pattern starts with (the part before its first
// special character); lets scans seek instead of reading every key.
std::string GlobLiteralPrefix(std::string_view pattern);

}  // namespace lsmkv::server

#endif  // LSMKV_SERVER_GLOB_H_
