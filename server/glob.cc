#include "server/glob.h"

#include <utility>

namespace lsmkv::server {

namespace {

unsigned char Fold(unsigned char c, bool nocase) {
  if (nocase && c >= 'A' && c <= 'Z') return static_cast<unsigned char>(c - 'A' + 'a');
  return c;
}

// Matches one text byte against the single-byte element of pattern at *p
// ('?', a bracket set, an escape or a literal) and advances *p past it.
// REQUIRES: *p < pattern.size() and pattern[*p] != '*'.
bool MatchElement(std::string_view pattern, size_t* p, unsigned char byte, bool nocase) {
  const size_t n = pattern.size();
  const unsigned char folded = Fold(byte, nocase);
  const char c = pattern[*p];
  if (c == '?') {
    (*p)++;
    return true;
  }
  if (c == '\\') {
    // A trailing backslash stands for itself.
    if (*p + 1 < n) (*p)++;
    const bool equal = Fold(static_cast<unsigned char>(pattern[*p]), nocase) == folded;
    (*p)++;
    return equal;
  }
  if (c != '[') {
    (*p)++;
    return Fold(static_cast<unsigned char>(c), nocase) == folded;
  }
  size_t i = *p + 1;
  const bool negate = i < n && pattern[i] == '^';
  if (negate) i++;
  bool matched = false;
  while (i < n && pattern[i] != ']') {
    if (pattern[i] == '\\' && i + 1 < n) {
      if (Fold(static_cast<unsigned char>(pattern[i + 1]), nocase) == folded) matched = true;
      i += 2;
    } else if (i + 2 < n && pattern[i + 1] == '-') {
      unsigned char low = Fold(static_cast<unsigned char>(pattern[i]), nocase);
      unsigned char high = Fold(static_cast<unsigned char>(pattern[i + 2]), nocase);
      if (low > high) std::swap(low, high);
      if (folded >= low && folded <= high) matched = true;
      i += 3;
    } else {
      if (Fold(static_cast<unsigned char>(pattern[i]), nocase) == folded) matched = true;
      i++;
    }
  }
  // An unterminated set runs to the end of the pattern.
  *p = i < n ? i + 1 : n;
  return matched != negate;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase) {
  const size_t n = pattern.size();
  size_t p = 0;
  size_t t = 0;
  // Backtracking point: the pattern position after the last '*' and the
  // text position it was tried from. Only '*' consumes a variable number of
  // bytes, so retrying from the most recent star is enough.
  size_t star_p = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < n && pattern[p] == '*') {
      while (p < n && pattern[p] == '*') p++;
      if (p == n) return true;
      star_p = p;
      star_t = t;
      continue;
    }
    if (p < n) {
      size_t next = p;
      if (MatchElement(pattern, &next, static_cast<unsigned char>(text[t]), nocase)) {
        p = next;
        t++;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < n && pattern[p] == '*') p++;
  return p == n;
}

std::string GlobLiteralPrefix(std::string_view pattern) {
  std::string prefix;
  for (char c : pattern) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') break;
    prefix.push_back(c);
  }
  return prefix;
}

}  // namespace lsmkv::server
