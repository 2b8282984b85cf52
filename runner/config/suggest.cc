#include "config/suggest.h"

#include <algorithm>

namespace cairn::config {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Full matrix: the words are keys and flag names, a few dozen characters at most.
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::optional<std::string> Suggest(std::string_view word,
                                   const std::vector<std::string_view>& candidates) {
  const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  std::optional<std::string_view> best;
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    const size_t dist = EditDistance(word, c);
    if (dist < best_distance) {
      best = c;
      best_distance = dist;
    }
  }
  if (best) return std::string(*best);
  if (word.size() < 3) return std::nullopt;
  std::optional<std::string_view> prefixed;
  for (std::string_view c : candidates) {
    if (c.substr(0, word.size()) != word) continue;
    if (prefixed) return std::nullopt;  // ambiguous: say nothing rather than guess
    prefixed = c;
  }
  if (prefixed) return std::string(*prefixed);
  return std::nullopt;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates,
                       std::string_view quote_prefix) {
  std::optional<std::string> s = Suggest(word, candidates);
  if (!s) return "";
  return " (did you mean '" + std::string(quote_prefix) + *s + "'?)";
}

}  // namespace cairn::config
