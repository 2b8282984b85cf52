// ops/restore/conversion: restore-run --conversion NAME — the specs a published conversion
// (convert-run, content/conversion.h) rewrote, for the transform (transform.h ConvertedSpecs).
//
// Refused (kFailedPrecondition), before anything is applied:
//   - a conversion that is not there for this backup; when a conversion of that name exists
//     for other backups, the message names them ("made for backup 'x'");
//   - a conversion made for an earlier backup of the same name (its recorded manifest checksum
//     is not the backup's);
//   - a --storage-class-mapping or --convert-to-access-modes entry whose FROM the conversion
//     maps to another TO (the two would disagree on the same objects). Entries that agree with
//     the conversion or map what it does not are allowed: they apply to the objects the
//     conversion did not rewrite.
#pragma once

#include <string>

#include "base/status.h"
#include "ops/restore/transform.h"
#include "store/object_store.h"
#include "vault/layout.h"

namespace cairn::ops::restore {

[[nodiscard]] base::Result<ConvertedSpecs> LoadConversion(store::ObjectStore& store,
                                                          const vault::Layout& layout,
                                                          const std::string& backup_checksum,
                                                          const std::string& name,
                                                          const RestoreOptions& o);

}  // namespace cairn::ops::restore
