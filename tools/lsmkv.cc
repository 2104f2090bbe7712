// lsmkv: command-line access to a database directory.
//
//   lsmkv --db DIR put KEY VALUE          lsmkv --db DIR get KEY
//   lsmkv --db DIR del KEY                lsmkv --db DIR scan [--from A] [--to B] ...
//   lsmkv --db DIR load FILE              lsmkv --db DIR stats
//   lsmkv --db DIR compact                lsmkv --db DIR verify
//   lsmkv --db DIR repair                 lsmkv dump FILE
//   lsmkv --db DIR checkpoint NEWDIR
//
// --engine lsm|btree|bitcask picks the storage engine (default lsm).
//
// Keys and values are taken literally from the arguments, or as hex with
// --hex. Output escapes non-printable bytes (\xNN, backslash as \\) unless
// --hex or --raw. The subcommands live in tools/cli/; the exit codes are in
// tools/cli/cli.h and below.
#include <CLI/CLI.hpp>
#include <iostream>
#include <vector>

#include "cli/cli.h"

int main(int argc, char** argv) {
  using namespace lsmkv::cli;
  std::ios::sync_with_stdio(false);
  CLI::App app{"lsmkv: read, write, check and repair an lsmkv database directory"};
  app.footer(
      "Keys and values are bytes: arguments are taken literally (or as hex with --hex); output\n"
      "escapes bytes outside printable ASCII as \\xNN and a backslash as \\\\ (--raw: raw bytes,\n"
      "--hex: hex). Options may come before or after the subcommand; use -- before a key that\n"
      "starts with '-'.\n"
      "\n"
      "Exit codes:\n"
      "  0  success\n"
      "  1  get: key not found\n"
      "  2  usage error, or a malformed line in a load file (named with its line number)\n"
      "  3  database error: cannot open, I/O error, damage met while reading (see stderr)\n"
      "  4  verify/dump found damage; repair had to drop data (the report says what)");
  app.require_subcommand(1);
  app.fallthrough();

  Global g;
  app.add_option("--db", g.db, "database directory")->capture_default_str();
  app.add_flag("--hex", g.hex, "keys and values in arguments, input files and output are hex");
  app.add_flag("--raw", g.raw, "print keys and values as raw bytes instead of escaping them");
  app.add_flag("--sync", g.sync, "fdatasync the write-ahead log before each write returns");
  app.add_flag("--no-create", g.no_create,
               "fail instead of creating a missing database (put, del, load)");
  app.add_flag("--progress", g.progress,
               "show a progress bar on stderr even if it is not a terminal");
  app.add_flag("--no-progress", g.no_progress, "never show a progress bar");
  app.add_option("--engine", g.engine_name,
                 "storage engine: lsm, btree or bitcask (a new database is created with it; an "
                 "existing one must match; verify, repair and dump work on lsm only)")
      ->capture_default_str();

  std::vector<Command> commands;
  AddDataCommands(&app, &g, &commands);
  AddLoadCommand(&app, &g, &commands);
  AddToolCommands(&app, &g, &commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (g.hex && g.raw) return UsageError("--hex and --raw exclude each other");
  if (!ParseEngine(g.engine_name, &g.engine)) {
    return UsageError("--engine must be lsm, btree or bitcask, not \"" + g.engine_name + "\"");
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) {
      const int code = c.run();
      std::cout.flush();
      return code;
    }
  }
  return UsageError("no subcommand (see --help)");
}
