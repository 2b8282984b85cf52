// ops/restore/spool: the verified objects wait in content/spool.h between verification and
// apply; these are the names the restore uses for it.
#pragma once

#include "content/spool.h"
#include "ops/restore/plan.h"

namespace cairn::ops::restore {

using content::Spool;
using content::SpooledObject;

}  // namespace cairn::ops::restore
