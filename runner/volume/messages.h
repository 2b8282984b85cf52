// volume/messages: how WriteTree and RestoreTree collect per-file warnings and errors (private).
#pragma once

#include <string>
#include <vector>

#include "volume/volume.h"

namespace cairn::volume {

// Appends `msg` while fewer than kMaxMessages are kept; past that the last kept message counts
// the ones left out ("... and N more").
void AddMessage(std::vector<std::string>& list, std::string msg);
void AddWarning(TreeResult& r, std::string msg);
void AddError(TreeResult& r, std::string msg);

}  // namespace cairn::volume
