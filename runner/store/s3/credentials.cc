#include "store/s3/credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/log.h"

namespace cairn::store::s3 {
namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void Register(const Credentials& c) {
  base::RegisterSecret(c.secret_access_key);
  base::RegisterSecret(c.session_token);
}

}  // namespace

base::Result<Credentials> ParseCredentialsFile(std::string_view text, std::string_view profile,
                                               std::string_view origin) {
  std::istringstream in{std::string(text)};
  std::string line, section;
  bool found = false;
  Credentials c;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      if (t.back() != ']') {
        return base::Error(
            base::Code::kInvalidArgument,
            std::string(origin) + ":" + std::to_string(lineno) + ": malformed section header");
      }
      section = Trim(t.substr(1, t.size() - 2));
      if (section.rfind("profile ", 0) == 0) section = Trim(section.substr(8));
      if (section == profile) found = true;
      continue;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos) {
      return base::Error(
          base::Code::kInvalidArgument,
          std::string(origin) + ":" + std::to_string(lineno) + ": expected 'key = value'");
    }
    if (section != profile) continue;
    std::string key = Trim(t.substr(0, eq));
    std::string value = Trim(t.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (!found) {
    return base::Error(base::Code::kInvalidArgument,
                       std::string(origin) + ": no profile '" + std::string(profile) + "'");
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return base::Error(base::Code::kInvalidArgument,
                       std::string(origin) + ": profile '" + std::string(profile) +
                           "' lacks aws_access_key_id or aws_secret_access_key");
  }
  Register(c);
  return c;
}

base::Result<Credentials> LoadCredentials(const CredentialSource& src, std::string* where) {
  std::string profile = src.profile;
  if (profile.empty()) profile = Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string file = src.file;
  if (file.empty() && !Env("AWS_ACCESS_KEY_ID").empty()) {
    Credentials c{Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"), Env("AWS_SESSION_TOKEN")};
    if (c.secret_access_key.empty()) {
      return base::Error(base::Code::kInvalidArgument,
                         "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    Register(c);
    if (where) *where = "environment";
    return c;
  }
  bool explicit_file = !file.empty();
  if (file.empty()) file = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty() && !Env("HOME").empty()) file = Env("HOME") + "/.aws/credentials";
  std::ifstream f(file);
  if (!f) {
    if (explicit_file) {
      return base::Error(base::Code::kInvalidArgument,
                         "credentials file '" + file + "' cannot be read");
    }
    return base::Error(base::Code::kInvalidArgument,
                       "no s3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                       "name a credentials file in the vault's config (credentials_file)");
  }
  std::stringstream ss;
  ss << f.rdbuf();
  auto c = ParseCredentialsFile(ss.str(), profile, file);
  if (c.ok() && where) *where = "file " + file + " (profile " + profile + ")";
  return c;
}

}  // namespace cairn::store::s3
