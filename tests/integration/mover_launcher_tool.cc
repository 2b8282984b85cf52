// Drives runner/mover's scheduler and launchers for tests/integration/mover_test.py, with a
// harmless container command in place of the real mover:
//   /bin/sh -c 'sleep S; printf %s "$AWS_ACCESS_KEY_ID" > "$2/seen"; echo ... >&2; exit N'
//     sh --path /cairn/volume
// Usage: mover_launcher_tool (--kubeconfig FILE | --local DIR) --namespace NS --pvcs A,B
//   [--node NODE] [--exit N] [--sleep S] [--timeout-ms MS] [--concurrency C]
//   [--access-key VALUE] [--ca PEM]
// Prints one JSON array of outcomes on stdout; SIGTERM cancels (the movers are deleted).
#include <signal.h>

#include <atomic>
#include <iostream>
#include <map>
#include <sstream>

#include "kube/client.h"
#include "kube/config.h"
#include "mover/job_spec.h"
#include "mover/launcher.h"
#include "mover/scheduler.h"

namespace {

std::atomic<bool> g_cancel{false};

void OnTerm(int) { g_cancel.store(true); }

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) out.push_back(part);
  return out;
}

using Flags = std::map<std::string, std::string>;

nlohmann::json Job(const Flags& f, const std::string& pvc) {
  using namespace cairn::mover;
  JobSpecInput in;
  in.backup_name = "it-backup";
  in.namespace_name = f.at("--namespace");
  in.pvc = pvc;
  in.image = "cairn:test";
  in.vault_args = {"--url", "file:///nowhere"};
  in.secret_name = SecretName(JobName(in.direction, in.backup_name, pvc));
  in.credential_keys = {"AWS_ACCESS_KEY_ID"};
  in.ca_bundle = f.count("--ca") > 0;
  in.placement.node_name = f.count("--node") ? f.at("--node") : "";
  in.placement.identity.uid = 1000;
  in.active_deadline_seconds = 600;
  nlohmann::json job = BuildJob(in);
  std::string script = "sleep " + (f.count("--sleep") ? f.at("--sleep") : "0") +
                       "; { printf %s \"$AWS_ACCESS_KEY_ID\" > \"$2/seen\"; } 2>/dev/null; "
                       "echo \"mover stderr: done\" >&2; exit " +
                       (f.count("--exit") ? f.at("--exit") : "0");
  auto& c = job["spec"]["template"]["spec"]["containers"][0];
  c["command"] = {"/bin/sh", "-c", script, "sh"};
  c["args"] = {"--path", kVolumeMountPath};
  return job;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) f[argv[i]] = argv[i + 1];
  signal(SIGTERM, OnTerm);
  std::unique_ptr<cairn::kube::Client> client, cleanup;
  std::unique_ptr<cairn::mover::Launcher> launcher;
  if (f.count("--local")) {
    launcher = cairn::mover::NewLocalLauncher(f["--local"]);
  } else {
    // As a run does it: the watching client stops on SIGTERM, the cleanup client does not.
    auto cfg = cairn::kube::LoadClusterConfig({f["--kubeconfig"], ""});
    if (!cfg.ok()) return std::cerr << cfg.status().message() << "\n", 2;
    cairn::kube::ClientOptions watch_opts;
    watch_opts.cancel = &g_cancel;
    auto c = cairn::kube::Client::Create(*cfg, watch_opts);
    auto d = cairn::kube::Client::Create(*cfg);
    if (!c.ok() || !d.ok()) return std::cerr << "unable to create kube clients\n", 2;
    client = std::move(c).value();
    cleanup = std::move(d).value();
    launcher = cairn::mover::NewKubeLauncher(*client, cleanup.get());
  }
  std::vector<cairn::mover::VolumeTask> tasks;
  for (const std::string& pvc : Split(f["--pvcs"])) {
    cairn::mover::SecretData secret = {{"AWS_ACCESS_KEY_ID", f["--access-key"]}};
    if (f.count("--ca")) secret[cairn::mover::kCaKey] = f["--ca"];
    tasks.push_back({f["--namespace"], pvc, f["--node"], Job(f, pvc), secret});
  }
  cairn::mover::SchedulerOptions o;
  o.per_node = f.count("--concurrency") ? std::stoi(f["--concurrency"]) : 1;
  o.volume_timeout =
      std::chrono::milliseconds(f.count("--timeout-ms") ? std::stol(f["--timeout-ms"]) : 60000);
  o.poll_min = std::chrono::milliseconds(100);
  o.poll_max = std::chrono::milliseconds(500);
  o.cancel = &g_cancel;
  auto out = cairn::mover::RunMovers(*launcher, tasks, o, cairn::base::RealClock());
  nlohmann::json j = nlohmann::json::array();
  for (const auto& v : out) {
    j.push_back({{"namespace", v.namespace_name},
                 {"pvc", v.pvc},
                 {"completed", v.completed},
                 {"reason", v.reason},
                 {"node", v.node}});
  }
  std::cout << j.dump() << std::endl;
  return 0;
}
