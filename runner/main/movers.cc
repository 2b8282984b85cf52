#include "main/movers.h"

#include <fstream>
#include <sstream>

#include "base/log.h"
#include "mover/job_spec.h"
#include "store/s3/credentials.h"

namespace cairn::wiring {
namespace {

using base::Code;
using base::Error;

// Vault keys a mover Job is not given (it gets the vault as flags): refused rather than ignored.
base::Status CheckCarried(const config::VaultConfig& v) {
  std::string key;
  if (!v.storage_class.empty()) key = "storage_class";
  if (!v.oss_network.empty()) key = "oss_network";
  if (v.payload_signing != "signed") key = "payload_signing";
  if (v.part_size != config::kDefaultPartSize) key = "part_size";
  if (v.parallel_parts != config::kDefaultParallelParts) key = "parallel_parts";
  if (v.insecure_skip_tls_verify) key = "insecure_skip_tls_verify";
  if (key.empty()) return base::Status::Ok();
  return Error(Code::kInvalidArgument,
               "vault '" + v.name + "' sets " + key +
                   ", which mover Jobs are not given yet; remove it to back up volume data, or "
                   "use --local-volumes");
}

// The mover's vault flags: the parent's config and vault when the mover shares its filesystem,
// else the vault spelled out as flags.
std::vector<std::string> VaultArgs(const Invocation& inv, bool local) {
  const config::VaultConfig& v = inv.vault.vault;
  if (local && !inv.common.config_path.empty() && !v.name.empty()) {
    return {"--config", inv.common.config_path, "--vault", v.name};
  }
  std::vector<std::string> args = {"--url", v.url};
  if (!v.endpoint.empty()) args.insert(args.end(), {"--endpoint", v.endpoint});
  if (!v.region.empty()) args.insert(args.end(), {"--region", v.region});
  if (v.path_style) args.push_back(*v.path_style ? "--path-style" : "--path-style=false");
  if (local && !v.ca_file.empty()) args.insert(args.end(), {"--ca-file", v.ca_file});
  return args;
}

// The credentials as environment variables, and the CA bundle, for the mover's Secret.
base::Status FillSecret(const config::VaultConfig& v, bool local, mover::Setup& setup) {
  if (v.location.scheme != config::VaultUrl::Scheme::kS3) return base::Status::Ok();
  std::string where;
  ASSIGN_OR_RETURN(store::s3::Credentials c,
                   store::s3::LoadCredentials({v.credentials_file, v.profile}, &where));
  setup.secret["AWS_ACCESS_KEY_ID"] = c.access_key_id;
  setup.secret["AWS_SECRET_ACCESS_KEY"] = c.secret_access_key;
  if (!c.session_token.empty()) setup.secret["AWS_SESSION_TOKEN"] = c.session_token;
  for (const auto& [k, unused] : setup.secret) setup.credential_keys.push_back(k);
  const std::string ca = !v.ca_file.empty()                        ? v.ca_file
                         : std::getenv("AWS_CA_BUNDLE") != nullptr ? std::getenv("AWS_CA_BUNDLE")
                                                                   : "";
  if (local || ca.empty()) return base::Status::Ok();
  std::ifstream in(ca, std::ios::binary);
  std::ostringstream bundle;
  bundle << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return Error(Code::kInvalidArgument, "ca_file '" + ca + "': unable to read it");
  }
  setup.secret[mover::kCaKey] = bundle.str();
  return base::Status::Ok();
}

}  // namespace

void AddMoverFlags(config::FlagSet& flags) {
  flags.AddString("local-volumes", "DIR",
                  "run volume movers as local processes: DIR/NAMESPACE/PVC stands for each "
                  "claim's volume (trying cairn without a cluster, tests)");
}

base::Result<Movers> SetUpMovers(const Invocation& inv, kube::Client& kube, kube::Client& cleanup,
                                 const std::string& own_image) {
  const std::string local_dir = inv.flags.GetString("local-volumes");
  const bool local = !local_dir.empty();
  const config::VaultConfig& v = inv.vault.vault;
  if (!local) {
    if (v.location.scheme != config::VaultUrl::Scheme::kS3) {
      return Error(Code::kInvalidArgument,
                   "volume data needs an s3 vault: mover Jobs in the workloads' namespaces cannot "
                   "reach " +
                       v.url + " (or give --local-volumes DIR)");
    }
    RETURN_IF_ERROR(CheckCarried(v));
  }
  Movers m;
  m.launcher = local ? mover::NewLocalLauncher(local_dir) : mover::NewKubeLauncher(kube, &cleanup);
  m.setup = std::make_unique<mover::Setup>(mover::Setup{*m.launcher, own_image, {}, {}, {}});
  if (m.setup->image.empty()) m.setup->image = local ? "local" : "";
  m.setup->vault_args = VaultArgs(inv, local);
  RETURN_IF_ERROR(FillSecret(v, local, *m.setup));
  return m;
}

std::string OwnImage(kube::Client& kube, const std::string& ns, const std::string& pod) {
  if (ns.empty() || pod.empty()) return "";
  auto p = kube.Get({"", "v1", "pods", true}, ns, pod);
  if (!p.ok()) return "";
  const auto containers =
      p->value("spec", nlohmann::json::object()).value("containers", nlohmann::json::array());
  if (!containers.is_array() || containers.empty() || !containers[0].is_object()) return "";
  return containers[0].value("image", "");
}

}  // namespace cairn::wiring
