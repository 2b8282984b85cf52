// store/s3/credentials: where S3 credentials come from.
//
// Order: an AWS-style credentials file named in the config (the shape a mounted Kubernetes
// Secret gives), else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the
// shared file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) with AWS_PROFILE. Loaded
// secrets are registered with base::RegisterSecret so no log line can carry them. Errors name
// the file, line and profile but never a value.
#pragma once

#include <string>

#include "base/status.h"
#include "store/s3/sigv4.h"

namespace cairn::store::s3 {

struct CredentialSource {
  std::string file;     // explicit credentials file; empty = environment, then shared file
  std::string profile;  // empty = AWS_PROFILE or "default"
};

// `where` receives a description such as "environment" or "file /x (profile default)".
base::Result<Credentials> LoadCredentials(const CredentialSource& src, std::string* where);

// Parses an AWS-style INI credentials document. `origin` names it in errors.
base::Result<Credentials> ParseCredentialsFile(std::string_view text, std::string_view profile,
                                               std::string_view origin);

}  // namespace cairn::store::s3
