// config/suggest: "did you mean ...?" for unknown config keys and unknown flags.
//
// Contract: Suggest() returns the candidate closest to a mistyped word by optimal string
// alignment distance (Levenshtein plus adjacent transpositions), or nothing when no candidate
// is close enough to be a plausible typo. Ties go to the first candidate in the given order, so
// callers list candidates in a stable order (the schema's or the flag registry's).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::config {

// Edits (insert, delete, substitute, swap two adjacent characters) turning `a` into `b`.
size_t EditDistance(std::string_view a, std::string_view b);

// The closest plausible candidate for `word`: within max(1, len/3) edits (at most 3), else
// the only candidate that starts with `word` (for a word of at least 3 characters).
std::optional<std::string> Suggest(std::string_view word,
                                   const std::vector<std::string_view>& candidates);

// " (did you mean 'x'?)" with `quote_prefix` before x (e.g. "--"), or "" when nothing is close.
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates,
                       std::string_view quote_prefix = "");

}  // namespace cairn::config
