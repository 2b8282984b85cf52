// ops/restore/verify: a restore verifies its backup with content/verify.h (shared with
// convert-run); these are the names the restore uses for it.
#pragma once

#include "content/verify.h"
#include "ops/restore/spool.h"

namespace cairn::ops::restore {

using content::BackupContent;
using content::CheckEntry;
using content::kMaxEntryBytes;
using content::kMaxEntryDepth;
using content::kMaxListedProblems;
using content::PartialBackupWarning;
using content::ReadVerified;
using content::VerifyProblem;

}  // namespace cairn::ops::restore
