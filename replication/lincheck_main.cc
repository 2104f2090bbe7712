// lsmkv-lincheck: checks recorded histories for linearizability
// (replication/lincheck.h, docs/lincheck.md).
//
//   lsmkv-lincheck --format etcd|kv FILE...   one verdict per file
//   lsmkv-lincheck --verdicts DIR             every file of DIR/VERDICTS against its verdict
//
// Exit codes: with FILEs, 0 if every history is linearizable, 1 if one is
// not, 2 on a usage error, an unreadable or malformed file, or a verdict left
// unknown by the budget (2 wins over 1). With --verdicts, 0 if every verdict
// is reproduced, 1 if one differs, 2 on errors or unknown verdicts.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "replication/lincheck.h"

namespace {

using lsmkv::lincheck::Budget;
using lsmkv::lincheck::CheckResult;
using lsmkv::lincheck::Format;
using lsmkv::lincheck::Operation;
using lsmkv::lincheck::Verdict;

constexpr int kExitOk = 0;
constexpr int kExitIllegal = 1;
constexpr int kExitError = 2;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f s", s);
  return buf;
}

// Parses and checks one file. False (with *error) if it cannot be read or parsed.
bool CheckFile(Format format, const std::string& path, const Budget& budget, CheckResult* result,
               std::string* error) {
  std::vector<Operation> ops;
  if (!lsmkv::lincheck::ReadHistoryFile(format, path, &ops, error)) return false;
  *result = lsmkv::lincheck::Check(lsmkv::lincheck::ModelFor(format), ops, budget);
  return true;
}

int CheckFiles(Format format, const std::vector<std::string>& files, const Budget& budget) {
  int code = kExitOk;
  for (const std::string& path : files) {
    const auto start = std::chrono::steady_clock::now();
    CheckResult r;
    std::string error;
    if (!CheckFile(format, path, budget, &r, &error)) {
      std::cout << path << ": error: " << error << "\n";
      code = kExitError;
      continue;
    }
    std::cout << path << ": " << lsmkv::lincheck::VerdictName(r.verdict) << " (" << r.operations
              << " operations, " << r.keys << (r.keys == 1 ? " key, " : " keys, ") << r.steps
              << " steps, " << Seconds(SecondsSince(start)) << ")\n";
    if (r.verdict != Verdict::kOk) std::cout << "  " << r.explanation << "\n";
    if (r.verdict == Verdict::kIllegal) {
      if (code == kExitOk) code = kExitIllegal;
    } else if (r.verdict != Verdict::kOk) {
      code = kExitError;
    }
  }
  return code;
}

int CheckVerdicts(const std::string& dir, const Budget& budget, bool verbose) {
  std::vector<lsmkv::lincheck::VerdictEntry> entries;
  std::string error;
  if (!lsmkv::lincheck::ReadVerdicts(dir, &entries, &error)) {
    std::cerr << "lsmkv-lincheck: " << error << "\n";
    return kExitError;
  }
  const auto start = std::chrono::steady_clock::now();
  size_t reproduced = 0, differ = 0, errors = 0;
  double slowest = -1;
  std::string slowest_name;
  for (const auto& e : entries) {
    const auto file_start = std::chrono::steady_clock::now();
    CheckResult r;
    const bool parsed = CheckFile(e.format, e.path, budget, &r, &error);
    const double took = SecondsSince(file_start);
    if (took > slowest) {
      slowest = took;
      slowest_name = e.name;
    }
    const char* expected = e.linearizable ? "linearizable" : "not linearizable";
    if (!parsed) {
      ++errors;
      std::cout << e.name << ": error: " << error << "\n";
    } else if (r.verdict == Verdict::kUnknown || r.verdict == Verdict::kInvalid) {
      ++errors;
      std::cout << e.name << ": " << lsmkv::lincheck::VerdictName(r.verdict) << ", expected "
                << expected << ": " << r.explanation << "\n";
    } else if ((r.verdict == Verdict::kOk) != e.linearizable) {
      ++differ;
      std::cout << e.name << ": " << lsmkv::lincheck::VerdictName(r.verdict) << ", expected "
                << expected << (r.explanation.empty() ? "" : ": " + r.explanation) << "\n";
    } else {
      ++reproduced;
      if (verbose) {
        std::cout << e.name << ": " << expected << " as expected (" << r.operations
                  << " operations, " << r.steps << " steps, " << Seconds(took) << ")\n";
      }
    }
  }
  std::cout << reproduced << "/" << entries.size() << " verdicts reproduced in "
            << Seconds(SecondsSince(start));
  if (!slowest_name.empty())
    std::cout << " (slowest: " << slowest_name << ", " << Seconds(slowest) << ")";
  std::cout << "\n";
  if (errors > 0 || entries.empty()) return kExitError;
  return differ > 0 ? kExitIllegal : kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  CLI::App app{"lsmkv-lincheck: check recorded histories for linearizability"};
  app.footer(
      "Formats (docs/lincheck.md): etcd = Jepsen's etcd log (one register: read, write, cas);\n"
      "kv = one EDN map per line (string keys: get, put, append).\n"
      "\n"
      "Exit codes:\n"
      "  0  every history linearizable (--verdicts: every verdict reproduced)\n"
      "  1  a history is not linearizable (--verdicts: a verdict differs)\n"
      "  2  usage error, unreadable or malformed file, or a verdict left unknown by the budget");
  std::string format_name;
  std::vector<std::string> files;
  std::string verdicts_dir;
  double timeout_s = 60;
  uint64_t steps = 0;
  bool verbose = false;
  auto* format_opt =
      app.add_option("--format", format_name, "history format of the FILEs: etcd or kv");
  auto* files_opt = app.add_option("files", files, "history files");
  auto* verdicts_opt = app.add_option(
      "--verdicts", verdicts_dir, "check every file of DIR/VERDICTS against its expected verdict");
  app.add_option("--timeout", timeout_s, "time budget per file in seconds (0: none)")
      ->capture_default_str();
  app.add_option("--steps", steps, "search-step budget per file (0: none)")->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "--verdicts: a line for every reproduced verdict too");
  format_opt->needs(files_opt);
  files_opt->needs(format_opt);
  verdicts_opt->excludes(format_opt)->excludes(files_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitError;
  }
  Budget budget;
  budget.time = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  budget.steps = steps;
  if (!verdicts_dir.empty()) return CheckVerdicts(verdicts_dir, budget, verbose);
  Format format;
  if (files.empty()) {
    std::cerr << "lsmkv-lincheck: give --format and FILEs, or --verdicts DIR (see --help)\n";
    return kExitError;
  }
  if (!lsmkv::lincheck::ParseFormat(format_name, &format)) {
    std::cerr << "lsmkv-lincheck: --format must be etcd or kv, not \"" << format_name << "\"\n";
    return kExitError;
  }
  return CheckFiles(format, files, budget);
}
