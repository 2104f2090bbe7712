// EVAL, EVALSHA, EVAL_RO, SCRIPT and the script gate in process
// (command_test_fixture.h): replies byte for byte as redis-server 7.0.15
// sends them, the sandbox, atomicity against a concurrent client, -BUSY and
// SCRIPT KILL on the ManualClock, and the Lua memory cap.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "server/command_test_fixture.h"
#include "server/scripting.h"

namespace lsmkv::server {
namespace {

const std::string kBusy = Err(std::string(kBusyError));

// "ERR <msg> script: <sha>, on @user_script:1." for a script failing on line 1.
std::string ScriptErr(const std::string& msg, const std::string& sha) {
  return Err(msg + " script: " + sha + ", on @user_script:1.");
}

class ScriptingTest : public CommandsTest {
 protected:
  std::string Eval(const std::string& body, Args rest = {"0"}) {
    Args args = {"eval", body};
    args.insert(args.end(), rest.begin(), rest.end());
    return Run(std::move(args));
  }
  // Waits (yielding, no sleep) until a script's Lua code runs.
  void WaitExecuting() {
    while (!scripting_.executing()) std::this_thread::yield();
  }
  void WaitBusy() {
    while (!scripting_.busy()) std::this_thread::yield();
  }
};

TEST_F(ScriptingTest, LuaToRespConversions) {
  EXPECT_EQ(Eval("return 1"), Int(1));
  EXPECT_EQ(Eval("return 1.9"), Int(1));  // truncated
  EXPECT_EQ(Eval("return -3.7"), Int(-3));
  EXPECT_EQ(Eval("return 1e20"), Int(INT64_MIN));  // as redis-server 7.0.15 on x86
  EXPECT_EQ(Eval("return 'hello'"), Bulk("hello"));
  EXPECT_EQ(Eval("return true"), Int(1));
  EXPECT_EQ(Eval("return false"), kNil);
  EXPECT_EQ(Eval("return nil"), kNil);
  EXPECT_EQ(Eval("return {1,2,3,'x',nil,5}"), "*4\r\n" + Int(1) + Int(2) + Int(3) + Bulk("x"));
  EXPECT_EQ(Eval("return {1,{2,{3}},'a'}"),
            "*3\r\n" + Int(1) + "*2\r\n" + Int(2) + "*1\r\n" + Int(3) + Bulk("a"));
  EXPECT_EQ(Eval("return {1, false, 3}"), "*3\r\n" + Int(1) + kNil + Int(3));
  EXPECT_EQ(Eval("return {ok='fine'}"), "+fine\r\n");
  EXPECT_EQ(Eval("return {err='My Error'}"), Err("My Error"));
  EXPECT_EQ(Eval("return redis.error_reply('CUSTOM x')"), Err("CUSTOM x"));
  EXPECT_EQ(Eval("return redis.error_reply('nocode')"), Err("ERR nocode"));
  EXPECT_EQ(Eval("return redis.status_reply('PONG')"), "+PONG\r\n");
  EXPECT_EQ(Eval("return _G"), "*0\r\n");
  // A metatable is not consulted (raw access).
  EXPECT_EQ(Eval("local a = {}; setmetatable(a,{__index=function() foo() end}) return a"),
            "*0\r\n");
}

TEST_F(ScriptingTest, RespToLuaConversions) {
  EXPECT_EQ(Eval("return redis.call('set','k1','v1')"), kOk);
  EXPECT_EQ(Eval("return redis.call('get','k1')"), Bulk("v1"));
  EXPECT_EQ(Eval("return type(redis.call('get','nokey'))"), Bulk("boolean"));
  EXPECT_EQ(Eval("return redis.call('rpush','l',1,2,3)"), Int(3));
  EXPECT_EQ(Eval("return type(redis.call('llen','l'))"), Bulk("number"));
  EXPECT_EQ(Eval("return redis.call('lrange','l',0,-1)"),
            "*3\r\n" + Bulk("1") + Bulk("2") + Bulk("3"));
  EXPECT_EQ(Eval("return redis.call('ping')['ok']"), Bulk("PONG"));
  EXPECT_EQ(Eval("return redis.call('set','k2',1.5)"), kOk);  // numbers as text
  EXPECT_EQ(Run({"get", "k2"}), Bulk("1.5"));
  EXPECT_EQ(Eval("return redis.pcall('incr','k1')['err']"),
            Bulk("ERR value is not an integer or out of range"));
  EXPECT_EQ(Eval("return redis.sha1hex('abc')"), Bulk("a9993e364706816aba3e25717850c26c9cd0d89d"));
  EXPECT_EQ(Eval("return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", {"2", "a", "b", "c", "d"}),
            "*4\r\n" + Bulk("a") + Bulk("b") + Bulk("c") + Bulk("d"));
  EXPECT_EQ(Eval("return redis.call('get',KEYS[1])", {"1", "k1"}), Bulk("v1"));
  EXPECT_EQ(Eval("redis.setresp(3); return redis.call('hgetall','nohash')['map'] ~= nil"), Int(1));
  EXPECT_EQ(Eval("return redis.replicate_commands()"), Int(1));
  EXPECT_EQ(Eval("return redis.set_repl(redis.REPL_ALL)"), kNil);
  EXPECT_EQ(Eval("return redis.log(redis.LOG_WARNING, 'hi')"), kNil);
  EXPECT_EQ(Eval("return cjson.encode({1,2})"), Bulk("[1,2]"));
}

TEST_F(ScriptingTest, ErrorsAsRedisFormatsThem) {
  const std::string sha = "82903a0434f1503e152f89c03c9acd881a0e8150";  // of "error('boom')"
  EXPECT_EQ(Eval("error('boom')"), ScriptErr("ERR user_script:1: boom", sha));
  EXPECT_EQ(Eval("error({err='ERR tbl'})"),
            ScriptErr("ERR tbl", "09a5be91dfb59a7d9685e5beac64fda813ceb2e1"));
  EXPECT_EQ(Eval("syntax error here"),
            Err("ERR Error compiling script (new function): user_script:1: '=' expected near "
                "'error'"));
  EXPECT_EQ(Run({"set", "k1", "v1"}), kOk);
  EXPECT_EQ(Eval("return redis.call('incr','k1')"),
            ScriptErr("ERR value is not an integer or out of range",
                      "516fc0b3f3ec9eda9645d3b2b7489a6be8301747"));
  EXPECT_EQ(Eval("return redis.pcall('incr','k1')"),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Eval("return redis.call('nosuch')"),
            ScriptErr("ERR Unknown Redis command called from script",
                      "206396248e12c6e742fd7296250433c8d7343b74"));
  EXPECT_EQ(Eval("return redis.pcall('nosuch')"),
            Err("ERR Unknown Redis command called from script"));
  EXPECT_EQ(Eval("return redis.call('get')"),
            ScriptErr("ERR Wrong number of args calling Redis command from script",
                      "f187dee77f607f7cff00bbabc9df38507582c78d"));
  EXPECT_EQ(Eval("return redis.call()"),
            ScriptErr("ERR Please specify at least one argument for this redis lib call",
                      "0a907e1429221a4d85516cab7fd219a82a9439d8"));
  EXPECT_EQ(Eval("return redis.call({})"),
            ScriptErr("ERR Lua redis lib command arguments must be strings or integers",
                      "80747816df1f4411f7c442b928fce6a814214839"));
  EXPECT_EQ(Eval("return redis.call('multi')"),
            ScriptErr("ERR This Redis command is not allowed from script",
                      "c329a1a294be6bf95b44144f7502610661ae925a"));
  EXPECT_EQ(Eval("return redis.call('lpush','k1','x')"),
            ScriptErr(std::string(errors::kWrongType), "0a5f36bab53555d13eca9b0d0a2c8add869d21c9"));
  // numkeys.
  EXPECT_EQ(Eval("return 1", {"-1"}), Err("ERR Number of keys can't be negative"));
  EXPECT_EQ(Eval("return 1", {"2", "a"}),
            Err("ERR Number of keys can't be greater than number of args"));
  EXPECT_EQ(Eval("return 1", {"abc"}), Err("ERR value is not an integer or out of range"));
}

TEST_F(ScriptingTest, Sandbox) {
  EXPECT_EQ(Eval("x = 1"), ScriptErr("ERR user_script:1: Attempt to modify a readonly table",
                                     "34bce5f775de97f557a34088509c8bfe1ea17e52"));
  EXPECT_EQ(Eval("return y"),
            ScriptErr("ERR user_script:1: Script attempted to access nonexistent global "
                      "variable 'y'",
                      "e278681ed961e2fb52881313e5c90fdd93749940"));
  for (const char* name : {"os", "io", "loadfile", "dofile", "print", "require", "setfenv"}) {
    const std::string reply = Eval(std::string("return ") + name);
    EXPECT_NE(reply.find("Script attempted to access nonexistent global variable '" +
                         std::string(name) + "'"),
              std::string::npos)
        << name << ": " << reply;
  }
  EXPECT_EQ(Eval("rawset(_G, 'x', 1); return x"),
            ScriptErr("ERR Attempt to modify a readonly table",
                      "7855050053a89dac5a12d8655fe0c034f7b54a5f"));
  EXPECT_EQ(Eval("local a = {} ; setmetatable(_G, nil); return 1"),
            ScriptErr("ERR Attempt to modify a readonly table",
                      "f36ecccc13f3261fd0569ac17f5cee5fb700f050"));
  EXPECT_NE(Eval("redis.call = nil").find("Attempt to modify a readonly table"), std::string::npos);
  EXPECT_NE(Eval("string.x = 1").find("Attempt to modify a readonly table"), std::string::npos);
  // What loadstring compiles runs in the sandbox too.
  EXPECT_NE(Eval("loadstring('z = 1')()").find("Attempt to modify a readonly table"),
            std::string::npos);
  EXPECT_EQ(Eval("local t = {}; t.a = 1; return t.a"), Int(1));  // locals are free
}

TEST_F(ScriptingTest, ScriptFamily) {
  EXPECT_EQ(Run({"script", "load", "return 'loaded'"}),
            Bulk("b534286061d4b9e4026607613b95c06c06015ae8"));
  EXPECT_EQ(Run({"evalsha", "b534286061d4b9e4026607613b95c06c06015ae8", "0"}), Bulk("loaded"));
  EXPECT_EQ(Run({"evalsha", "B534286061D4B9E4026607613B95C06C06015AE8", "0"}), Bulk("loaded"));
  EXPECT_EQ(Run({"evalsha", "abc", "0"}), Err("NOSCRIPT No matching script. Please use EVAL."));
  EXPECT_EQ(Run({"script", "exists", "b534286061d4b9e4026607613b95c06c06015ae8", "abc"}),
            "*2\r\n" + Int(1) + Int(0));
  EXPECT_EQ(Run({"script", "exists"}),
            Err("ERR wrong number of arguments for 'script|exists' command"));
  EXPECT_EQ(Run({"script", "flush", "bad"}),
            Err("ERR SCRIPT FLUSH only support SYNC|ASYNC option"));
  EXPECT_EQ(Run({"script", "flush", "async"}), kOk);
  EXPECT_EQ(Run({"script", "exists", "b534286061d4b9e4026607613b95c06c06015ae8"}),
            "*1\r\n" + Int(0));
  EXPECT_EQ(Run({"evalsha", "b534286061d4b9e4026607613b95c06c06015ae8", "0"}),
            Err("NOSCRIPT No matching script. Please use EVAL."));
  EXPECT_EQ(Run({"script", "kill"}), Err("NOTBUSY No scripts in execution right now."));
  EXPECT_EQ(Run({"script", "bogus"}), Err("ERR unknown subcommand 'bogus'. Try SCRIPT HELP."));
  EXPECT_EQ(Run({"script"}), Err("ERR wrong number of arguments for 'script' command"));
  EXPECT_EQ(Run({"script", "help"}).substr(0, 4), "*11\r");
  // EVAL caches what it runs.
  EXPECT_EQ(Eval("return 1"), Int(1));
  EXPECT_EQ(Run({"evalsha", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"}), Int(1));
}

TEST_F(ScriptingTest, ReadOnlyScripts) {
  EXPECT_EQ(Run({"set", "k1", "v1"}), kOk);
  EXPECT_EQ(Run({"eval_ro", "return redis.call('get','k1')", "1", "k1"}), Bulk("v1"));
  EXPECT_EQ(Run({"eval_ro", "return redis.call('set','k1','x')", "1", "k1"}),
            ScriptErr("ERR Write commands are not allowed from read-only scripts.",
                      "2149e58deb8f8ada6571867f2efb4fc137407a58"));
  EXPECT_EQ(Run({"eval_ro", "return redis.pcall('set','k1','x')", "1", "k1"}),
            Err("ERR Write commands are not allowed from read-only scripts."));
  EXPECT_EQ(Eval("#!lua flags=no-writes\nreturn redis.pcall('set','k1','x')"),
            Err("ERR Write commands are not allowed from read-only scripts."));
  EXPECT_EQ(Run({"get", "k1"}), Bulk("v1"));
}

TEST_F(ScriptingTest, SelectInsideScriptAndBlockingCommands) {
  EXPECT_EQ(Run({"set", "k", "db0"}), kOk);
  EXPECT_EQ(Eval("redis.call('select', 1); return redis.call('set', 'k', 'db1')"), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("db0"));  // the caller stays in database 0
  EXPECT_EQ(Run({"select", "1"}), kOk);
  EXPECT_EQ(Run({"get", "k"}), Bulk("db1"));
  EXPECT_EQ(Run({"select", "0"}), kOk);
  // Blocking commands are refused, as redis-server 7.0.15 refuses them.
  const std::string refused = Err("ERR This Redis command is not allowed from script");
  EXPECT_EQ(Eval("return redis.pcall('blpop','empty',0)"), refused);
  EXPECT_EQ(Eval("return redis.pcall('brpoplpush','e1','e2',0)"), refused);
  EXPECT_EQ(Eval("return redis.pcall('bzpopmin','ez',0)"), refused);
}

TEST_F(ScriptingTest, ScriptInsideMultiExec) {
  EXPECT_EQ(Run({"multi"}), kOk);
  EXPECT_EQ(Eval("return redis.call('incr','c')"), "+QUEUED\r\n");
  EXPECT_EQ(Run({"incr", "c"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"exec"}), "*2\r\n" + Int(1) + Int(2));
}

TEST_F(ScriptingTest, AtomicAgainstConcurrentClient) {
  ClientState* other = NewClient();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      std::string out;
      Reply reply(&out, 2);
      Args args = {"incr", "x"};
      ExecuteCommand(context_, *other, args, reply);
    }
  });
  // Between its INCR and its GET nobody else may write x.
  std::vector<std::string> replies;
  for (int i = 0; i < 50; i++) {
    replies.push_back(
        Eval("local a = redis.call('incr','x'); for i=1,20000 do end; "
             "local b = tonumber(redis.call('get','x')); return a == b"));
  }
  stop = true;
  writer.join();
  for (size_t i = 0; i < replies.size(); i++) EXPECT_EQ(replies[i], Int(1)) << i;
}

TEST_F(ScriptingTest, BusyScriptAndScriptKill) {
  ASSERT_EQ(Run({"set", "xx", "1"}), kOk);
  ClientState* b = NewClient();
  std::string script_reply;
  std::thread runner([&] { script_reply = Eval("while true do end"); });
  WaitExecuting();
  EXPECT_FALSE(scripting_.busy());
  clock_.AdvanceMs(5001);  // past lua-time-limit (5000 ms)
  WaitBusy();
  EXPECT_EQ(Run(b, {"get", "xx"}), kBusy);
  EXPECT_EQ(Run(b, {"ping"}), kBusy);
  EXPECT_EQ(Run(b, {"eval", "return 1", "0"}), kBusy);
  // MULTI is allowed; a refused command dooms the transaction, and a
  // refused EXEC ends it.
  EXPECT_EQ(Run(b, {"multi"}), kOk);
  EXPECT_EQ(Run(b, {"incr", "xx"}), kBusy);
  EXPECT_EQ(Run(b, {"exec"}),
            Err("EXECABORT Transaction discarded because of: " + std::string(kBusyError)));
  EXPECT_FALSE(b->in_multi);
  EXPECT_EQ(Run(b, {"script", "kill"}), kOk);
  runner.join();
  EXPECT_EQ(script_reply, ScriptErr("ERR Script killed by user with SCRIPT KILL...",
                                    "694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7"));
  EXPECT_EQ(Run(b, {"script", "kill"}), Err("NOTBUSY No scripts in execution right now."));
  EXPECT_EQ(Run(b, {"get", "xx"}), Bulk("1"));
}

TEST_F(ScriptingTest, ScriptThatWroteIsUnkillable) {
  ClientState* b = NewClient();
  ASSERT_EQ(config_.Set(*Config::Find("busy-reply-threshold"), "10"), "");
  EXPECT_EQ(config_.Get(*Config::Find("lua-time-limit")), "10");
  std::string script_reply;
  std::thread runner([&] { script_reply = Eval("redis.call('set','w','1'); while true do end"); });
  WaitExecuting();
  clock_.AdvanceMs(11);
  WaitBusy();
  EXPECT_EQ(Run(b, {"script", "kill"}),
            Err("UNKILLABLE Sorry the script already executed write commands against the "
                "dataset. You can either wait the script termination or kill the server in a hard "
                "way using the SHUTDOWN NOSAVE command."));
  scripting_.KillForShutdown();
  runner.join();
  EXPECT_NE(script_reply.find("Script killed"), std::string::npos);
}

TEST_F(ScriptingTest, WaitingCommandRunsAfterScriptUnderTheLimit) {
  ClientState* b = NewClient();
  ClientState* c = NewClient();
  const int64_t until = kStartMs / 1000 + 2;  // TIME reads the test's clock
  std::string script_reply;
  // The script writes, then runs until the clock reaches `until` (under
  // lua-time-limit). The other clients' commands, sent meanwhile, must wait
  // for it rather than interleave, see its state half-done, or get -BUSY:
  // also a GET, which takes no key lock (only the script gate stops it).
  std::thread runner([&] {
    script_reply = Eval(
        "redis.call('set','y','10'); redis.call('set','z','5'); "
        "while tonumber(redis.call('time')[1]) < " +
        std::to_string(until) + " do end; return 'done'");
  });
  WaitExecuting();
  std::string incr_reply, get_reply;
  std::atomic<int> done{0};
  std::thread other([&] {
    incr_reply = Run(b, {"incr", "y"});
    done++;
  });
  std::thread reader([&] {
    get_reply = Run(c, {"get", "z"});
    done++;
  });
  // Both wait (for the gate, or, were it missing, a key lock) or are done.
  while (scripting_.waiters() + keyspace_->locks().waiters() + done.load() < 2) {
    std::this_thread::yield();
  }
  clock_.AdvanceMs(2000);
  runner.join();
  other.join();
  reader.join();
  EXPECT_EQ(script_reply, Bulk("done"));
  EXPECT_EQ(incr_reply, Int(11));   // ran after the script, on its write
  EXPECT_EQ(get_reply, Bulk("5"));  // not the state before the script
}

TEST_F(ScriptingTest, MemoryCapFailsTheScriptNotTheServer) {
  Scripting small(4 << 20);
  context_.scripting = &small;
  const std::string reply =
      Eval("local t = {} for i = 1, 10000000 do t[i] = string.rep('x', 64) .. i end return 1");
  EXPECT_NE(reply.find("not enough memory"), std::string::npos) << reply;
  EXPECT_LE(small.lua_memory(), size_t{4} << 20);
  EXPECT_EQ(Eval("return 7"), Int(7));
  EXPECT_EQ(Eval("return redis.call('set','after','ok')"), kOk);
  context_.scripting = &scripting_;
}

TEST_F(ScriptingTest, FunctionLibraries) {
  const std::string lib =
      "#!lua name=mylib\n"
      "redis.register_function('echo2', function(keys, args) return {keys[1], args[1]} end)\n"
      "redis.register_function{function_name='ro', callback=function() return "
      "redis.call('set','x','1') end, flags={'no-writes'}}";
  EXPECT_EQ(Run({"function", "load", lib}), Bulk("mylib"));
  EXPECT_EQ(Run({"function", "load", lib}), Err("ERR Library 'mylib' already exists"));
  EXPECT_EQ(Run({"function", "load", "replace", lib}), Bulk("mylib"));
  EXPECT_EQ(Run({"fcall", "echo2", "1", "k", "a"}), "*2\r\n" + Bulk("k") + Bulk("a"));
  EXPECT_EQ(Run({"fcall_ro", "echo2", "0"}),
            Err("ERR Can not execute a script with write flag using *_ro command."));
  EXPECT_EQ(Run({"fcall", "ro", "0"}),
            Err("ERR Write commands are not allowed from read-only scripts. script: ro, on "
                "@user_function:3."));
  EXPECT_EQ(Run({"fcall", "nosuch", "0"}), Err("ERR Function not found"));
  EXPECT_EQ(Run({"function", "load",
                 "#!lua name=other\nredis.register_function('echo2', "
                 "function() return 1 end)"}),
            Err("ERR Function echo2 already exists"));
  EXPECT_EQ(Run({"function", "load", "return 1"}), Err("ERR Missing library metadata"));
  EXPECT_EQ(Run({"function", "load", "#!lua\nreturn 1"}), Err("ERR Library name was not given"));
  EXPECT_EQ(Run({"function", "load", "#!lua name=t3\nreturn 1"}),
            Err("ERR No functions registered"));
  EXPECT_EQ(Run({"function", "load", "#!foo name=t3\nreturn 1"}),
            Err("ERR Engine 'foo' not found"));
  EXPECT_EQ(Run({"function", "load", "#!lua name=t7\nsyntax error"}),
            Err("ERR Error compiling function: user_function:2: '=' expected near 'error'"));
  // Libraries survive SCRIPT FLUSH; FUNCTION DELETE and FLUSH remove them.
  EXPECT_EQ(Run({"script", "flush"}), kOk);
  EXPECT_EQ(Run({"fcall", "echo2", "0", "a"}), "*0\r\n");  // keys[1] is nil: empty array
  EXPECT_EQ(Run({"function", "delete", "mylib"}), kOk);
  EXPECT_EQ(Run({"fcall", "echo2", "0"}), Err("ERR Function not found"));
  EXPECT_EQ(Run({"function", "delete", "mylib"}), Err("ERR Library not found"));
  EXPECT_EQ(Run({"function", "load", lib}), Bulk("mylib"));
  EXPECT_EQ(Run({"function", "flush"}), kOk);
  EXPECT_EQ(Run({"fcall", "echo2", "0"}), Err("ERR Function not found"));
}

TEST_F(ScriptingTest, ConfigAlias) {
  EXPECT_EQ(config_.Get(*Config::Find("lua-time-limit")), "5000");
  ASSERT_EQ(config_.Set(*Config::Find("lua-time-limit"), "10"), "");
  EXPECT_EQ(config_.Get(*Config::Find("busy-reply-threshold")), "10");
}

}  // namespace
}  // namespace lsmkv::server
