#!/bin/sh
# tests/bench/table.sh RESULTS OUT: builds the benchmark table (tests/bench/table.jq) from
# the measurements run.sh left in RESULTS (one JSON file each), writes it to OUT and prints
# it. run.sh calls it at the end; run it by hand to rebuild the table of a kept run
# (BENCH_KEEP=1, BENCH_DIR=DIR: the results are in DIR/results).
set -eu
R=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)

# f NAME: the file's JSON, or null if the step did not run.
f() { if [ -s "$R/$1.json" ]; then cat "$R/$1.json"; else echo null; fi; }

jq -n --argjson machine "$(f machine)" --argjson sig1 "$(f sig1)" --argjson sigN "$(f sigN)" --argjson sig1k "$(f sig1k)" \
    --argjson http "$(f http)" --argjson verify "$(f verify)" \
    --argjson tp1a "$(f tp1a)" --argjson tp1b "$(f tp1b)" --argjson fill1 "$(f fill1)" \
    --argjson tp4a "$(f tp4a)" --argjson tp4b "$(f tp4b)" \
    --argjson floor "$(f floor)" --argjson lat "$(f lat)" \
    --argjson catchup "$(f catchup)" --argjson imp "$(f import)" --argjson grant "$(f grant)" \
    --argjson chain1 "$(f chain1)" --argjson chain4 "$(f chain4)" \
    -f "$HERE/table.jq" >"$OUT"

jq -r '.table[] | [.item, .figure, .limit, .ratio, .target, (if .met == null then "" elif .met then "yes" else "NO" end), .note] | @tsv' "$OUT" |
    awk -F'\t' 'BEGIN { f = "%-42s %-14s %-30s %-6s %-13s %-4s %s\n"
                        printf f, "item", "figure", "limit (measured this run)", "ratio", "target", "met", "note" }
                { printf f, $1, $2, $3, $4, $5, $6, $7 }'
jq -r '.machine | "machine: \(.cores) cores (\(.cpu)), \(.date); load before \(.load_before), after \(.load_after); other processes used \(.others_cpu_pct)% of the machine during the run\(if .loaded then " -- LOADED by other work: the figures are lower bounds" else "" end)\(if .quick then "\nQUICK mode: smaller chains than the issue asks for (see the items marked QUICK)" else "" end)"' "$OUT"
