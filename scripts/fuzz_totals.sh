#!/usr/bin/env bash
# fuzz_totals.sh: the campaigns of scripts/fuzz.sh summed per target, from the cache directory's
# campaigns.tsv ($SA_FUZZ_CACHE, default ~/.cache/safearith/fuzz): runs, seconds, executions, the
# largest cov reached, corpus files, and findings. Prints a Markdown table for docs/fuzzing.md.
set -euo pipefail
cache=${SA_FUZZ_CACHE:-$HOME/.cache/safearith/fuzz}
[ -f "$cache/campaigns.tsv" ] || { echo "fuzz_totals: no $cache/campaigns.tsv" >&2; exit 1; }
echo "| target | runs | seconds | executions | cov (max) | corpus files | findings |"
echo "|---|--:|--:|--:|--:|--:|--:|"
awk -F'\t' '{ runs[$3]++; secs[$3] += $4; ex[$3] += $5; if ($6 > cov[$3]) cov[$3] = $6;
              if ($8 != "clean") f[$3]++ }
            END { for (t in runs) printf "%s\t%d\t%d\t%d\t%d\t%d\n", t, runs[t], secs[t], ex[t],
                  cov[t], f[t] }' "$cache/campaigns.tsv" | sort |
  while IFS=$'\t' read -r t runs secs ex cov f; do
    n=$(find "$cache/corpus/$t" -type f 2>/dev/null | wc -l)
    printf '| `%s` | %d | %d | %s | %d | %d | %d |\n' "$t" "$runs" "$secs" \
      "$(printf "%'d" "$ex" 2>/dev/null || echo "$ex")" "$cov" "$n" "$f"
  done
