// The Slurm executor's files, without a cluster: task splitting, the manifest
// (and reading a task's grid back from it), the sbatch script, shard names,
// and collect's merge rules on hand-made shards.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "cli/planning.h"
#include "common/error.h"
#include "slurm/collect.h"
#include "slurm/submission.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace sweep;
using namespace sweep::slurm;
using sweep::test::TempDir;

namespace {

const char* kGrid =
    "name: tiny grid\n"
    "dataset: {name: mnist, train_limit: 200, test_limit: 100}\n"
    "model:\n"
    "  builder: {conv_depth: 1, filters: 4, kernel: 3, dense: [16]}\n"
    "train: {learning_rate: [0.001, 0.01, 0.1], epochs: 1}\n";

}  // namespace

TEST_CASE("runs are split into array tasks of --runs-per-task") {
  const std::vector<std::string> hashes = {"a", "b", "c", "d", "e"};
  CHECK(split_into_tasks(hashes, 1).size() == 5);
  const auto pairs = split_into_tasks(hashes, 2);
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[0] == std::vector<std::string>{"a", "b"});
  CHECK(pairs[2] == std::vector<std::string>{"e"});
  CHECK(split_into_tasks(hashes, 9).size() == 1);
  CHECK_THROWS_AS(split_into_tasks(hashes, 0), InputError);
}

TEST_CASE("paths live beside the database, with file-safe sweep names") {
  CHECK(file_safe("tiny grid/2") == "tiny_grid_2");
  CHECK(file_safe(".hidden") == "_.hidden");
  const SubmissionPaths paths = submission_paths("/data/results.db", "tiny grid", "20260101T000000Z");
  CHECK(paths.results_dir == fs::path("/data/results.db.d"));
  CHECK(paths.script == fs::path("/data/results.db.d/slurm/tiny_grid-20260101T000000Z.sbatch"));
  CHECK(paths.manifest == fs::path("/data/results.db.d/slurm/tiny_grid-20260101T000000Z.manifest.json"));
  CHECK(shard_path("/data/results.db", "tiny grid", "42", 3) == fs::path("/data/results.db.d/shards/tiny_grid-42-3.db"));
}

TEST_CASE("the manifest carries each task's runs with their canonical configs") {
  const ExpandedGrid grid = parse_grid(kGrid, "grid.yaml");
  REQUIRE(grid.runs.size() == 3);
  std::vector<const ExpandedRun*> runs;
  std::vector<std::string> hashes;
  for (const ExpandedRun& run : grid.runs) {
    runs.push_back(&run);
    hashes.push_back(run.config.hash);
  }
  const json manifest = make_manifest(grid, runs, split_into_tasks(hashes, 2), "/data/results.db");
  CHECK(manifest["db"] == "/data/results.db");
  CHECK(manifest["sweep"]["name"] == "tiny grid");
  CHECK(manifest["tasks"].size() == 2);

  // Through text, as the task reads it: same runs, same hashes, same varied values.
  const json reread = json::parse(manifest.dump(1));
  const ExpandedGrid first = task_grid(reread, 0, "m.json");
  const ExpandedGrid second = task_grid(reread, 1, "m.json");
  REQUIRE(first.runs.size() == 2);
  REQUIRE(second.runs.size() == 1);
  CHECK(first.name == grid.name);
  CHECK(first.varied == grid.varied);
  CHECK(first.runs[0].config.hash == grid.runs[0].config.hash);
  CHECK(first.runs[1].varied == grid.runs[1].varied);
  CHECK(second.runs[0].config.hash == grid.runs[2].config.hash);
  CHECK(second.runs[0].config.canonical == grid.runs[2].config.canonical);

  CHECK_THROWS_WITH_AS(task_grid(reread, 2, "m.json"), doctest::Contains("no task 2"), InputError);
  json tampered = reread;
  tampered["runs"][hashes[0]]["config"]["train"]["learning_rate"] = 0.5;
  CHECK_THROWS_WITH_AS(task_grid(tampered, 0, "m.json"), doctest::Contains("hash"), InputError);
}

TEST_CASE("the sbatch script: array, options, absolute paths, the worker line") {
  SlurmOptions slurm;
  slurm.partition = "gpu";
  slurm.time = "1:00:00";
  slurm.cpus_per_task = 4;
  slurm.gpus_per_task = 1;
  slurm.array_parallelism = 8;
  slurm.runs_per_task = 2;
  slurm.sbatch_args = {"--account=lab", "--qos=short"};
  WorkerOptions worker;
  worker.threads_per_run = 2;
  const SubmissionPaths paths = submission_paths("/data/results.db", "tiny", "S");
  const std::string script =
      make_sbatch_script("tiny", 5, slurm, worker, paths, "/data/results.db", "/opt/sweep/bin/sweep", "/data/sets");
  CHECK(script.rfind("#!/bin/bash\n", 0) == 0);
  for (const char* line : {"#SBATCH --job-name=sweep-tiny\n", "#SBATCH --array=0-4%8\n",
                           "#SBATCH --output=/data/results.db.d/slurm/logs/tiny-%A_%a.out\n",
                           "#SBATCH --partition=gpu\n", "#SBATCH --time=1:00:00\n", "#SBATCH --cpus-per-task=4\n",
                           "#SBATCH --gpus-per-task=1\n", "#SBATCH --account=lab\n", "#SBATCH --qos=short\n",
                           "export SWEEP_DATA_DIR=/data/sets\n",
                           "exec /opt/sweep/bin/sweep worker --db /data/results.db --task-manifest "
                           "/data/results.db.d/slurm/tiny-S.manifest.json --task-id \"$SLURM_ARRAY_TASK_ID\" "
                           "--threads-per-run 2\n"})
    CHECK_MESSAGE(script.find(line) != std::string::npos, line);

  // Defaults leave Slurm's own defaults alone; odd paths are shell-quoted.
  const std::string plain =
      make_sbatch_script("tiny", 1, SlurmOptions{}, WorkerOptions{}, paths, "/data/results.db", "/my sweep/sweep", "");
  CHECK(plain.find("--partition") == std::string::npos);
  CHECK(plain.find("--time") == std::string::npos);
  CHECK(plain.find("#SBATCH --array=0-0\n") != std::string::npos);
  CHECK(plain.find("SWEEP_DATA_DIR") == std::string::npos);
  CHECK(plain.find("exec '/my sweep/sweep' worker") != std::string::npos);

  SlurmOptions bad;
  bad.sbatch_args = {"account=lab"};
  CHECK_THROWS_WITH_AS(validate(bad), doctest::Contains("--sbatch-arg"), InputError);
}

TEST_CASE("collect merges shards by hash: done replaces, never duplicates, done stays") {
  TempDir dir("slurm_unit");
  const std::string db = (dir.path / "results.db").string();
  const ExpandedGrid grid = parse_grid(kGrid, "grid.yaml");
  const auto planned = cli::plan_grid(grid);
  {
    auto main = Store::open(db);
    main->upsert_sweep(cli::sweep_record(grid), planned);
  }
  // Two shards, as two array tasks would leave them: run 0 done in the first;
  // run 1 interrupted in the first and done in the second; run 2 running.
  auto make_shard = [&](const std::string& name) {
    auto shard = Store::open((results_dir(db) / "shards" / name).string());
    shard->upsert_sweep(cli::sweep_record(grid), planned);
    return shard;
  };
  fs::create_directories(results_dir(db) / "shards");
  RunResult done;
  done.status = RunStatus::done;
  done.epochs = {EpochMetrics{}};
  done.epochs[0].epoch = 1;
  done.epochs[0].loss = 0.125;
  done.test.accuracy = 0.875;
  done.test.classes = 2;
  done.test.confusion = {3, 1, 0, 4};
  RunResult interrupted;
  interrupted.status = RunStatus::interrupted;
  interrupted.error = "stopped by a signal";
  {
    auto first = make_shard("tiny_grid-1-0.db");
    const auto rows = first->runs_of(1);
    REQUIRE(rows.size() == 3);
    first->start_run(rows[0].id, "cpu", "cpu", 1);
    first->finish_run(rows[0].id, done);
    first->start_run(rows[1].id, "cpu", "cpu", 1);
    first->finish_run(rows[1].id, interrupted);
    first->start_run(rows[2].id, "cpu", "cpu", 1);
  }
  {
    auto second = make_shard("tiny_grid-2-0.db");
    const auto rows = second->runs_of(1);
    second->start_run(rows[1].id, "cpu", "cpu", 1);
    second->finish_run(rows[1].id, done);
  }
  const CollectSummary summary = collect_shards(db);
  CHECK(summary.shards == 2);
  CHECK(summary.done_copied == 2);
  auto main = Store::open(db, Store::Mode::read_only);
  const auto rows = main->runs_of(1);
  CHECK(rows[0].status == RunStatus::done);
  CHECK(rows[1].status == RunStatus::done);
  CHECK(rows[2].status == RunStatus::running);
  auto scalar = [&](const std::string& sql) { return main->query(sql).rows.at(0).at(0).value_or("NULL"); };
  CHECK(scalar("SELECT COUNT(*) FROM epochs") == "2");
  CHECK(scalar("SELECT COUNT(*) FROM confusion") == "8");
  CHECK(scalar("SELECT test_accuracy FROM runs WHERE id = 1") == "0.875");
  CHECK(scalar("SELECT loss FROM epochs WHERE run_id = 2") == "0.125");

  // Again: nothing changes, nothing is duplicated.
  const CollectSummary again = collect_shards(db);
  CHECK(again.done_copied == 0);
  CHECK(scalar("SELECT COUNT(*) FROM epochs") == "2");
  CHECK(scalar("SELECT COUNT(*) FROM confusion") == "8");
  CHECK(scalar("SELECT COUNT(*) FROM runs") == "3");
}
