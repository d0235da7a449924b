/// \file The tuning database: round trips, torn and corrupt lines, queries, CSV, unwritable paths.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "tests/test_support.h"
#include "tuner/database.h"

using namespace convtune;
using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using convtune::testing::read_file;
using convtune::testing::TempPath;
using nlohmann::json;

namespace {

void append_raw(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

/// A record with every field set; `config_tile` and `gflops` make records distinct.
TrialRecord make_record(int config_tile, double gflops, bool ok = true,
                        const std::string& target_key = "cpu_x86_64-unknown-linux-gnu_znver4_v512",
                        int threads = 1,
                        const std::string& workload_key = "conv2d_f32_NCHW_n1_c64_h56_w56") {
  TrialRecord r;
  r.workload_key = workload_key;
  r.workload = json{{"n", 1}, {"c", 64}, {"h", 56}, {"w", 56}, {"k", 64}, {"r", 3}, {"s", 3}};
  r.target_key = target_key;
  r.target = json{{"kind", "cpu"}, {"cpu", "znver4"}, {"vector_bits", 512}};
  r.threads = threads;
  r.template_name = "direct_nchwc";
  r.template_version = 2;
  r.config = json{{"tile_k", config_tile}, {"unroll", true}, {"order", "kcpq"}};
  r.schedule = json::array({json{{"op", "split"}, {"loop", "k"}, {"factor", config_tile}}});
  r.ok = ok;
  if (!ok) r.error = "crash:SIGSEGV";
  if (ok) r.times_ms = {1.25, 1.2000000000000002, 1.3};
  r.median_ms = ok ? 1.25 : 0;
  r.gflops = gflops;
  r.timestamp = "2024-05-01T12:34:56.789Z";
  r.version = "0.1.0";
  return r;
}

void require_same(const TrialRecord& a, const TrialRecord& b) {
  CHECK(a.workload_key == b.workload_key);
  CHECK(a.workload == b.workload);
  CHECK(a.target_key == b.target_key);
  CHECK(a.target == b.target);
  CHECK(a.threads == b.threads);
  CHECK(a.template_name == b.template_name);
  CHECK(a.template_version == b.template_version);
  CHECK(a.config == b.config);
  CHECK(a.schedule == b.schedule);
  CHECK(a.ok == b.ok);
  CHECK(a.error == b.error);
  CHECK(a.times_ms == b.times_ms);
  CHECK(a.median_ms == b.median_ms);
  CHECK(a.gflops == b.gflops);
  CHECK(a.timestamp == b.timestamp);
  CHECK(a.version == b.version);
}

const std::string kSlot = "cpu_x86_64-unknown-linux-gnu_znver4_v512/t1";
const std::string kWorkload = "conv2d_f32_NCHW_n1_c64_h56_w56";

} // namespace

TEST_CASE("Database records round-trip through the file and a fresh load", "[tuner][database]") {
  TempPath file("db", ".jsonl");
  TrialRecord ok = make_record(8, 123.456789012345);
  TrialRecord failed = make_record(16, 0, /*ok=*/false);
  failed.error = "compile_error: unexpected \"token\", line 3\n\tcol 7 \xc3\xa9";
  {
    Database db(file.str());
    CHECK(std::filesystem::exists(file.str()));  // created on open
    std::ostringstream warnings;
    db.load(warnings);
    CHECK(db.records().empty());
    CHECK(warnings.str().empty());
    db.append(ok);
    db.append(failed);
    REQUIRE(db.records().size() == 2);  // appended records are visible at once
  }
  const std::string text = read_file(file.str());
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);  // one line each, newline-terminated
  CHECK(text.back() == '\n');

  Database fresh(file.str());
  CHECK(fresh.records().empty());  // opening does not read
  std::ostringstream warnings;
  fresh.load(warnings);
  CHECK(warnings.str().empty());
  REQUIRE(fresh.records().size() == 2);
  require_same(fresh.records()[0], ok);
  require_same(fresh.records()[1], failed);
  CHECK(fresh.path() == file.str());

  // Loading twice replaces rather than duplicates.
  fresh.load(warnings);
  CHECK(fresh.records().size() == 2);
}

TEST_CASE("Database target slot includes the thread count", "[tuner][database]") {
  TrialRecord r = make_record(8, 1, true, "cpu_x", 16);
  CHECK(r.target_slot() == "cpu_x/t16");
}

TEST_CASE("Database load skips a torn last line and a garbage line with warnings", "[tuner][database]") {
  TempPath file("db", ".jsonl");
  const std::string line1 = json(make_record(1, 10)).dump();
  const std::string line3 = json(make_record(2, 20)).dump();
  const std::string line5 = json(make_record(3, 30)).dump();
  const std::string torn = line5.substr(0, line5.size() / 2);
  const std::string content = line1 + "\n" + "}{ not json at all\n" + line3 + "\n" +
                              R"({"workload_key": 42})" + "\n" + line5 + "\n" + "\n" + torn;
  append_raw(file.str(), content);

  Database db(file.str());
  std::ostringstream warnings;
  REQUIRE_NOTHROW(db.load(warnings));
  REQUIRE(db.records().size() == 3);
  CHECK(db.records()[0].config["tile_k"] == 1);
  CHECK(db.records()[1].config["tile_k"] == 2);
  CHECK(db.records()[2].config["tile_k"] == 3);

  const std::string text = warnings.str();
  const std::string prefix = "warning: " + file.str() + ":";
  CHECK_THAT(text, Contains(prefix + "2: skipped a corrupt record ("));
  CHECK_THAT(text, Contains(prefix + "4: skipped a corrupt record ("));
  CHECK_THAT(text, Contains("'workload_key' must be a string"));
  CHECK_THAT(text, Contains(prefix + "7: skipped a corrupt record (torn last line"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);  // exactly three warnings, one line each
  CHECK(text.find(prefix + "1:") == std::string::npos);
  CHECK(text.find(prefix + "6:") == std::string::npos);  // a blank line is no record, no warning
  // The file is never rewritten by loading.
  CHECK(read_file(file.str()) == content);
}

TEST_CASE("Database append after a torn last line starts the record on its own line", "[tuner][database]") {
  TempPath file("db", ".jsonl");
  const std::string line1 = json(make_record(1, 10)).dump();
  const std::string torn = line1.substr(0, 40);
  append_raw(file.str(), line1 + "\n" + torn);

  const TrialRecord added = make_record(5, 50);
  {
    Database db(file.str());
    db.append(added);
  }
  const std::string text = read_file(file.str());
  CHECK(text == line1 + "\n" + torn + "\n" + json(added).dump() + "\n");

  Database db(file.str());
  std::ostringstream warnings;
  db.load(warnings);
  REQUIRE(db.records().size() == 2);
  require_same(db.records()[1], added);
  CHECK_THAT(warnings.str(), Contains("warning: " + file.str() + ":2: skipped a corrupt record ("));
  CHECK(warnings.str().find(":3:") == std::string::npos);

  // A second append after a clean line adds no blank line.
  db.append(make_record(6, 60));
  CHECK(read_file(file.str()) == text + json(make_record(6, 60)).dump() + "\n");
}

TEST_CASE("Database best picks the fastest ok record of that workload and slot", "[tuner][database]") {
  TempPath file("db", ".jsonl");
  Database db(file.str());
  std::ostringstream warnings;
  db.load(warnings);
  CHECK(db.best(kWorkload, kSlot) == nullptr);

  db.append(make_record(1, 50));
  db.append(make_record(2, 80));
  db.append(make_record(3, 500, /*ok=*/false));                        // failed: ignored
  db.append(make_record(4, 900, true, "cpu_other_v256"));              // another target
  db.append(make_record(5, 900, true, "cpu_x86_64-unknown-linux-gnu_znver4_v512", 8));  // 8 threads
  db.append(make_record(6, 900, true, "cpu_x86_64-unknown-linux-gnu_znver4_v512", 1, "other"));
  db.append(make_record(7, 80));  // ties with tile 2: the earliest wins

  const TrialRecord* best = db.best(kWorkload, kSlot);
  REQUIRE(best != nullptr);
  CHECK(best->config["tile_k"] == 2);
  CHECK(best->gflops == 80);

  const TrialRecord* threaded =
      db.best(kWorkload, "cpu_x86_64-unknown-linux-gnu_znver4_v512/t8");
  REQUIRE(threaded != nullptr);
  CHECK(threaded->config["tile_k"] == 5);

  // Only failed records: no best.
  db.append(make_record(8, 100, false, "cpu_failing"));
  CHECK(db.best(kWorkload, "cpu_failing/t1") == nullptr);

  // The same answer after a fresh load.
  Database fresh(file.str());
  fresh.load(warnings);
  REQUIRE(fresh.best(kWorkload, kSlot) != nullptr);
  CHECK(fresh.best(kWorkload, kSlot)->config["tile_k"] == 2);
  CHECK(warnings.str().empty());
}

TEST_CASE("Database find returns only that workload and target slot, in order", "[tuner][database]") {
  TempPath file("db", ".jsonl");
  Database db(file.str());
  db.append(make_record(1, 10));
  db.append(make_record(2, 20, true, "cpu_other_v256"));
  db.append(make_record(3, 30, false));
  db.append(make_record(4, 40, true, "cpu_x86_64-unknown-linux-gnu_znver4_v512", 4));
  db.append(make_record(5, 50, true, "cpu_x86_64-unknown-linux-gnu_znver4_v512", 1, "other"));

  const auto found = db.find(kWorkload, kSlot);
  REQUIRE(found.size() == 2);
  CHECK(found[0]->config["tile_k"] == 1);
  CHECK(found[1]->config["tile_k"] == 3);
  for (const TrialRecord* r : found) CHECK(r->target_key != "cpu_other_v256");

  REQUIRE(db.find(kWorkload, "cpu_other_v256/t1").size() == 1);
  CHECK(db.find(kWorkload, "cpu_other_v256/t1")[0]->config["tile_k"] == 2);
  CHECK(db.find(kWorkload, "cpu_other_v256/t2").empty());
  CHECK(db.find("nope", kSlot).empty());
}

TEST_CASE("Database measured finds configs by value, ok or failed", "[tuner][database]") {
  TempPath file("db", ".jsonl");
  {
    Database db(file.str());
    TrialRecord failed = make_record(1, 0, false);
    failed.config = json::parse(R"({"b": 2, "a": {"y": [1, 2], "x": "v"}})");
    db.append(failed);
    db.append(make_record(2, 20));
    db.append(make_record(3, 30, true, "cpu_other_v256"));
  }
  Database db(file.str());
  std::ostringstream warnings;
  db.load(warnings);

  const std::string kTemplate = "direct_nchwc";
  // Same object, keys written in another order, nested objects too.
  const json reordered = json::parse(R"({"a": {"x": "v", "y": [1, 2]}, "b": 2})");
  CHECK(db.measured(kWorkload, kSlot, kTemplate, 2, reordered));
  CHECK(db.measured(kWorkload, kSlot, kTemplate, 2, json{{"unroll", true}, {"order", "kcpq"}, {"tile_k", 2}}));
  // Different values, array order, other targets or thread counts are not measured.
  CHECK_FALSE(db.measured(kWorkload, kSlot, kTemplate, 2, json::parse(R"({"a": {"x": "v", "y": [2, 1]}, "b": 2})")));
  CHECK_FALSE(db.measured(kWorkload, kSlot, kTemplate, 2, json{{"unroll", true}, {"order", "kcpq"}, {"tile_k", 3}}));
  CHECK(db.measured(kWorkload, "cpu_other_v256/t1", kTemplate, 2,
                    json{{"unroll", true}, {"order", "kcpq"}, {"tile_k", 3}}));
  CHECK_FALSE(db.measured(kWorkload, "cpu_other_v256/t2", kTemplate, 2,
                          json{{"unroll", true}, {"order", "kcpq"}, {"tile_k", 3}}));
  CHECK_FALSE(db.measured("other", kSlot, kTemplate, 2, reordered));
  // The same knob values under another template or version are another trial.
  CHECK_FALSE(db.measured(kWorkload, kSlot, kTemplate, 1, reordered));
  CHECK_FALSE(db.measured(kWorkload, kSlot, "depthwise_nchwc", 2, reordered));

  // A config appended in this session counts at once.
  db.append(make_record(9, 90));
  CHECK(db.measured(kWorkload, kSlot, kTemplate, 2, json{{"tile_k", 9}, {"order", "kcpq"}, {"unroll", true}}));
}

TEST_CASE("Database export_csv writes a header and one quoted row per record", "[tuner][database]") {
  TempPath file("db", ".jsonl");
  Database db(file.str());
  CHECK(db.export_csv() == "timestamp,workload_key,target_slot,template,config,ok,error,median_ms,gflops\n");

  TrialRecord ok = make_record(4, 12.5);
  ok.config = json{{"tile", 4}, {"order", "a,\"b\""}};
  TrialRecord failed = make_record(8, 0, false, "cpu_t", 2, "w,1");
  failed.error = "compile_error: bad \"split\", factor 0";
  failed.median_ms = 0;
  db.append(ok);
  db.append(failed);

  const std::string csv = db.export_csv();
  const std::string expected =
      "timestamp,workload_key,target_slot,template,config,ok,error,median_ms,gflops\n"
      "2024-05-01T12:34:56.789Z,conv2d_f32_NCHW_n1_c64_h56_w56,"
      "cpu_x86_64-unknown-linux-gnu_znver4_v512/t1,direct_nchwc,"
      "\"{\"\"order\"\":\"\"a,\\\"\"b\\\"\"\"\",\"\"tile\"\":4}\",true,,1.25,12.5\n"
      "2024-05-01T12:34:56.789Z,\"w,1\",cpu_t/t2,direct_nchwc,"
      "\"{\"\"order\"\":\"\"kcpq\"\",\"\"tile_k\"\":8,\"\"unroll\"\":true}\",false,"
      "\"compile_error: bad \"\"split\"\", factor 0\",0,0\n";
  CHECK(csv == expected);
}

TEST_CASE("Database refuses a path it cannot open, naming it", "[tuner][database]") {
  TempPath dir("db", "_dir");
  std::filesystem::create_directory(dir.str());
  CHECK_THROWS_MATCHES(Database(dir.str()), UserError,
                       Message("cannot open tuning database '" + dir.str() + "': Is a directory"));
  CHECK_THROWS_MATCHES(Database("/proc/x/y"), UserError,
                       Message("cannot open tuning database '/proc/x/y': No such file or directory"));
  CHECK_THROWS_MATCHES(Database(dir.str() + "/missing/db.jsonl"), UserError,
                       Message("cannot open tuning database '" + dir.str() +
                               "/missing/db.jsonl': No such file or directory"));
}

TEST_CASE("Database record from_json names the malformed field", "[tuner][database]") {
  json j = make_record(1, 1);
  CHECK_NOTHROW(j.get<TrialRecord>());

  json missing = j;
  missing.erase("config");
  CHECK_THROWS_MATCHES(missing.get<TrialRecord>(), UserError,
                       Message("tuning record: missing field 'config'"));
  json wrong = j;
  wrong["gflops"] = "fast";
  CHECK_THROWS_MATCHES(wrong.get<TrialRecord>(), UserError,
                       Message("tuning record: field 'gflops' must be a number"));
  json threads = j;
  threads["threads"] = 0;
  CHECK_THROWS_MATCHES(threads.get<TrialRecord>(), UserError,
                       Message("tuning record: field 'threads' must be at least 1"));
  CHECK_THROWS_MATCHES(json::array().get<TrialRecord>(), UserError,
                       Message("tuning record: not a JSON object"));

  // Fields outside a trial's identity are optional; unknown fields are ignored.
  json minimal = {{"workload_key", "w"}, {"target_key", "t"}, {"threads", 2},
                  {"template_name", "direct"}, {"config", json::object()}, {"ok", false},
                  {"from_the_future", 1}};
  const TrialRecord r = minimal.get<TrialRecord>();
  CHECK(r.target_slot() == "t/t2");
  CHECK(r.template_version == 1);
  CHECK(r.times_ms.empty());
}

TEST_CASE("Database iso_timestamp_now is ISO 8601 UTC", "[tuner][database]") {
  const std::string now = iso_timestamp_now();
  REQUIRE(now.size() == 24);
  CHECK(now[4] == '-');
  CHECK(now[7] == '-');
  CHECK(now[10] == 'T');
  CHECK(now[13] == ':');
  CHECK(now[16] == ':');
  CHECK(now[19] == '.');
  CHECK(now.back() == 'Z');
  CHECK(now.substr(0, 2) == "20");
}

TEST_CASE("Database refresh reads what another writer appended, never this one's own records twice", "[tuner][database][shared]") {
  TempPath path("shared", ".jsonl");
  Database a(path.str()), b(path.str());
  std::ostringstream warnings;
  a.load(warnings);
  b.load(warnings);
  a.append(make_record(8, 10));
  a.append(make_record(16, 20));
  CHECK(a.refresh(warnings) == 0);  // its own
  REQUIRE(b.refresh(warnings) == 2);
  CHECK(b.measured(kWorkload, kSlot, "direct_nchwc", 2, make_record(16, 0).config));
  b.append(make_record(32, 30));
  REQUIRE(a.refresh(warnings) == 1);
  CHECK(a.records().size() == 3);
  CHECK(a.best(kWorkload, kSlot)->gflops == 30);
  CHECK(b.refresh(warnings) == 0);
  CHECK(b.records().size() == 3);
  // A torn line from a writer that crashed: skipped with a warning once it is ended.
  append_raw(path.str(), "{\"workload_key\": \"torn");
  CHECK(a.refresh(warnings) == 0);
  CHECK(warnings.str().empty());  // not yet: it may still be completed
  b.append(make_record(64, 40));
  CHECK(a.refresh(warnings) == 1);
  CHECK_THAT(warnings.str(), Contains(":4: skipped a corrupt record"));
  CHECK(a.records().size() == 4);
  // A fresh load agrees with what the refreshes built.
  Database c(path.str());
  c.load(warnings);
  CHECK(c.records().size() == 4);
}
