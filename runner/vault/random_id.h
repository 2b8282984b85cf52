// vault/random_id: random UUID version 4 strings, for vault ids, lease holders and probe keys.
//
// The bytes come from std::random_device (the kernel's getrandom on Linux). The form is the
// lowercase 8-4-4-4-12 hex form of RFC 9562.
#pragma once

#include <string>
#include <string_view>

namespace cairn::vault {

std::string NewUuidV4();

// True when `s` is a lowercase UUID version 4 in 8-4-4-4-12 form.
bool IsUuidV4(std::string_view s);

}  // namespace cairn::vault
