# tests/bench/table.jq: assembles out/bench.json from the measurements of run.sh (passed
# as --argjson/--arg variables). Each row: the figure, the limit this run measured (or the
# target, where the issue names no machine limit), their ratio, the target and whether it
# was met, and a note saying how the figure was obtained. machine.others_cpu_pct is the share
# of the machine's CPU that processes other than this benchmark's used during the run (the
# machine's busy time from /proc/stat less the CPU time of the benchmark's own processes);
# the run counts as loaded above 10%, or when the machine was busy before or after it, or
# when the verifications on all cores fell short of one core's rate times the cores.

def r1: if type == "number" then (. * 10 | round) / 10 else null end;
def r2: if type == "number" then (. * 100 | round) / 100 else null end;
def n0: if type == "number" then (round | tostring) else "n/a" end;
def n1: if type == "number" then (r1 | tostring) else "n/a" end;
def ratio($a; $b): if ($a | type) == "number" and ($b | type) == "number" and $b > 0
                   then ($a / $b | r2) else null end;
def pct: if . == null then "n/a" else tostring end;
def le($x; $t): if $x == null then null else $x <= $t end;

$machine.cores as $cores
| $machine.quick as $quick
| ($chain1.identities // 0) as $ident1
| ($chain4.identities // 0) as $ident4
| ($sig1.rate * $cores) as $bound_sig
| ($bound_sig / 4) as $bound_sig4
| $http.rps as $bound_http
| ($machine.others_cpu_pct > 10 or $machine.busy_before_pct > 25 or $machine.busy_after_pct > 25
   or ($sigN.rate // 0) < 0.8 * $bound_sig) as $loaded
| (if $quick then " (QUICK)" else "" end) as $q
| def tp($name; $x; $limit; $lname; $target; $note):
    {item: $name, figure: "\($x.tps | n0) tx/s", value: $x.tps, unit: "tx/s",
     limit: "\($lname) \($limit | n0)", limit_value: $limit,
     ratio: (ratio($x.tps; $limit) | pct), ratio_value: ratio($x.tps; $limit),
     target: "≥ \($target)", met: (if $x.tps == null then null else ratio($x.tps; $limit) >= $target end),
     note: "\($note); \($x.txs // 0) txs, \($x.blocks // 0) blocks, \($x.rejected // 0) refused, admission alone \($x.admit_tps | n0) tx/s\(if $x.complete == false then "; INCOMPLETE: \($x.why)" else "" end)",
     load1: $x.load1};
{
  machine: ($machine + {loaded: $loaded,
            node_config: "testnet defaults: block_max_txs 5000, mempool_max_txs 100000"}),
  bounds: {sig_verify_1core: $sig1.rate, sig_verify_threads: $sigN.rate, cores: $cores,
           sig_verify_1core_one_key: $sig1k.rate,
           bound_sig: $bound_sig, bound_sig_4v: $bound_sig4, bound_http: $bound_http,
           bound_http_p99_ms: $http.p99_ms, wrk: $http.wrk},
  table: [
    {item: "1 bound_sig: BIP-340 verify/s x \($cores) cores", figure: "\($bound_sig | n0) /s",
     value: $bound_sig, limit: "\($cores) threads together: \($sigN.rate | n0)",
     ratio: (ratio($sigN.rate; $bound_sig) | pct), target: "-",
     note: "one core: \($sig1.rate | n0)/s; sig_verify over random keys and messages (one key, its parse kept: \($sig1k.rate | n0)/s)", load1: $sig1.load1},
    {item: "1 bound_http: GET /health/live", figure: "\($bound_http | n0) req/s",
     value: $bound_http, limit: "-", ratio: "-", target: "-",
     note: "wrk \($http.wrk), p99 \($http.p99_ms | n1) ms, same settings as verify", load1: $http.load1},
    tp("2 throughput, 1 validator, 1 actor"; $tp1a; $bound_sig; "bound_sig"; 0.6;
       "account.add by root-sysadmin, POST /v1/txs batches of \($tp1a.batch), 1 connection"),
    tp("2 throughput, 1 validator, 4 actors"; $tp1b; $bound_sig; "bound_sig"; 0.6;
       "account.add by root-sysadmin + 3 city sysadmins, 2 connections"),
    (if $fill1 then tp("2 throughput, 1 validator, sustained"; $fill1; $bound_sig; "bound_sig"; 0.6;
       "filling the chain to \($chain1.chain_txs) txs, \($fill1.actors) actor(s)") else empty end),
    tp("2 throughput, 4 validators, 1 actor"; $tp4a; $bound_sig4; "bound_sig/4"; 0.5;
       "account.add by root-sysadmin, submitted to node0, 1 connection"),
    tp("2 throughput, 4 validators, 4 actors"; $tp4b; $bound_sig4; "bound_sig/4"; 0.5;
       "4 actors, 2 connections to node0"),
    {item: "3 latency p50, 4 validators, half peak", figure: "\($lat.p50_ms | n1) ms",
     value: $lat.p50_ms, limit: "idle single-tx p50 \($floor.p50_ms | n1) ms",
     ratio: (ratio($lat.p50_ms; $floor.p50_ms) | pct), target: "≤ 300 ms",
     met: (if $lat.p50_ms == null then null else $lat.p50_ms <= 300 end),
     note: "open loop \($chain4.latency_rate) tx/s (half of \([$tp4a.tps, $tp4b.tps] | max | n0)), \($lat.txs // 0) txs, \($lat.lost // 0) not seen, \($lat.txs_per_block | n1) tx/block",
     load1: $lat.load1},
    {item: "3 latency p99, 4 validators, half peak", figure: "\($lat.p99_ms | n1) ms",
     value: $lat.p99_ms, limit: "idle single-tx p99 \($floor.p99_ms | n1) ms",
     ratio: (ratio($lat.p99_ms; $floor.p99_ms) | pct), target: "≤ 1000 ms",
     met: (if $lat.p99_ms == null then null else $lat.p99_ms <= 1000 end),
     note: "submit = start of the POST; commit = first poll (5 ms) showing its height; max \($lat.max_ms | n1) ms",
     load1: $lat.load1},
    {item: "4 verify API req/s\($q)", figure: "\($verify.rps | n0) req/s", value: $verify.rps,
     limit: "bound_http \($bound_http | n0)", ratio: (ratio($verify.rps; $bound_http) | pct),
     target: "≥ 0.7", met: (if $verify.rps == null then null else ratio($verify.rps; $bound_http) >= 0.7 end),
     note: "chain of \($ident1) accounts, wrk rotating over \($chain1.verify_sample) + \($chain1.grants) granted; \($verify.non2xx // 0) non-2xx, \($verify.errors // 0) errors",
     load1: $verify.load1},
    {item: "4 verify API p99\($q)", figure: "\($verify.p99_ms | n1) ms", value: $verify.p99_ms,
     limit: "bound_http p99 \($http.p99_ms | n1) ms", ratio: (ratio($verify.p99_ms; $http.p99_ms) | pct),
     target: "≤ 5 ms", met: (if $verify.p99_ms == null then null else $verify.p99_ms <= 5 end),
     note: "p50 \($verify.p50_ms | n1) ms; each request also writes a read-audit record; bench-0 allowed: \($chain1.verify_allowed)",
     load1: $verify.load1},
    {item: "5 replica catch-up\($q)", figure: "\($catchup.tps | n0) tx/s", value: $catchup.tps,
     limit: "bound_sig \($bound_sig | n0)", ratio: (ratio($catchup.tps; $bound_sig) | pct),
     target: "≥ 50000 tx/s", met: (if $catchup.complete then $catchup.tps >= 50000 else false end),
     note: "real chain built through consensus (1 validator): \($catchup.txs) txs, \($catchup.height) blocks in \($catchup.seconds | n1) s from process start (API up after \($catchup.api_up_seconds | n1) s; \($catchup.tps_after_api_up | n0) tx/s from then)\(if $catchup.complete then "" else "; DID NOT FINISH" end); replay checks certificates, not tx signatures\(if $catchup.cpu_seconds then "; the replica used \($catchup.cpu_seconds | n1) s of CPU; its LevelDB compactions ran \($catchup.compaction_seconds) s (elapsed)" else "" end)",
     load1: $catchup.load1},
    (if $imp.skipped then
       {item: "6 bulk import, 4 validators", figure: "skipped", limit: "-", ratio: "-",
        target: "1M ≤ 120 s", met: null, note: $imp.note}
     else
       {item: "6 bulk import, 4 validators\($q)", figure: "\($imp.rate | n0) ids/s", value: $imp.rate,
        limit: "target 8333/s", ratio: (ratio($imp.rate; 1000000 / 120) | pct),
        target: "1M ≤ 120 s", met: (if $imp.rate == null then null else $imp.rate >= 1000000 / 120 end),
        note: "idledger import --csv of \($imp.rows // 0) rows: \($imp.imported // 0) imported, \($imp.refused // 0) refused\(if ($imp.refusals_by_reason // []) | length > 0 then " (" + ([$imp.refusals_by_reason[] | "\(.rows): \(.reason)"] | join("; ")) + ")" else "" end), \($imp.transactions // 0) batch txs, \($imp.seconds | n1) s, exit \($imp.exit)",
        load1: $imp.load1}
     end),
    {item: "7 peak RSS, 1 validator\($q)", figure: "\($chain1.rss_mb | n1) MB", value: $chain1.rss_mb,
     limit: "target 256 MB", ratio: (ratio($chain1.rss_mb; 256) | pct), target: "≤ 256 MB",
     met: le($chain1.rss_mb; 256),
     note: "VmHWM of the validator at \($ident1) identities, after the verify run (\($chain1.rss_after_load_mb | n1) MB after the load); resident at the end: \($chain1.rss_at_end.anon_mb | n1) MB heap + \($chain1.rss_at_end.file_mb | n1) MB mapped files"},
    {item: "7 peak RSS, 4 validators, node0\($q)", figure: "\($chain4.rss_mb | n1) MB", value: $chain4.rss_mb,
     limit: "target 256 MB", ratio: (ratio($chain4.rss_mb; 256) | pct), target: "≤ 256 MB",
     met: le($chain4.rss_mb; 256),
     note: "VmHWM at \($ident4) identities (import included); resident at the end: \($chain4.rss_at_end.anon_mb | n1) MB heap + \($chain4.rss_at_end.file_mb | n1) MB mapped files"},
    {item: "7 disk per identity, 1 validator\($q)", figure: "\($chain1.disk_bytes / $ident1 | n0) B", value: ($chain1.disk_bytes / $ident1),
     limit: "-", ratio: "-", target: "-",
     note: "\($chain1.disk_bytes) bytes of data/ for \($ident1) identities (account.add, one tx each)"},
    {item: "7 disk per identity, 4 validators\($q)", figure: "\($chain4.disk_bytes / $ident4 | n0) B", value: ($chain4.disk_bytes / $ident4),
     limit: "-", ratio: "-", target: "-",
     note: "\($chain4.disk_bytes) bytes of node0 data/ for \($ident4) identities (mostly account.batch-add)"}
  ],
  raw: {sig1: $sig1, sigN: $sigN, http: $http, tp1a: $tp1a, tp1b: $tp1b, fill1: $fill1,
        tp4a: $tp4a, tp4b: $tp4b, floor: $floor, latency: $lat, verify: $verify,
        catchup: $catchup, import: $imp, grant: $grant, chain1: $chain1, chain4: $chain4}
}
