#!/usr/bin/env bash
# `aer run --executor slurm` against a real Slurm (not run in CI: it needs root for the
# daemons, about 8 minutes on 2 CPU cores). A 4-point mlp sweep on the bundled data whose
# first stage (a dense model) all points share: submitted through Slurm and left alone; then
# submitted again into another directory, one running task
# requeued (`scontrol requeue`: SIGTERM, then the task runs again and resumes) and another
# cancelled (`scancel`); when the arrays are done the same `aer run --executor slurm` submits
# only what is missing (the cancelled point); at the end every summary must equal, bit for
# bit apart from wall-clock fields, that of a plain `aer run` of the same file.
#
#   bash scripts/test-slurm.sh [--json FILE]   # FILE: timings and results as JSON
#
# Uses the Slurm that SLURM_CONF names when it answers, else starts one with
# scripts/slurm-local.sh (and stops it at the end). AER=a built aer (default: cargo build).
set -euo pipefail
cd "$(dirname "$0")/.."
JSON=""
[[ "${1:-}" == "--json" ]] && JSON="$2"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
if [[ -z "${AER:-}" ]]; then
  cargo build --release --bin aer
  AER=target/release/aer
fi
AER="$(realpath "$AER")"

if [[ -n "${SLURM_CONF:-}" ]] && sinfo >/dev/null 2>&1; then
  echo "== using the Slurm of $SLURM_CONF"
else
  bash scripts/slurm-local.sh start
  export SLURM_CONF="${AER_SLURM_DIR:-/tmp/aer-slurm-local}/slurm.conf"
  trap 'bash scripts/slurm-local.sh stop' EXIT
fi

T="$(mktemp -d /tmp/aer-slurm-test.XXXXXX)"
cat >"$T/sweep.toml" <<'TOML'
name = "slurm-test"
train_examples = 2000
[[stages]]
kind = "train"
[stages.train]
epochs = 1
[[stages]]
kind = "prune"
sparsity = [0.5, 0.7, 0.8, 0.9]
ramp_epochs = 2
[stages.train]
epochs = 4
TOML

fail() { echo "FAILED: $*" >&2; exit 1; }
# Seconds since the epoch, with fractions.
now() { date +%s.%N; }
# The Slurm state of task $1 (empty when the controller no longer lists it).
state() { squeue --noheader --array --jobs="${1%_*}" --format='%F_%K %T' 2>/dev/null | awk -v t="$1" '$1 == t { print $2 }'; }
# Wait (at most $2 s) until `$1` succeeds.
wait_for() {
  local cond="$1" limit="$2" t0=$SECONDS
  until eval "$cond"; do
    (( SECONDS - t0 < limit )) || fail "waited ${limit}s for: $cond"
    sleep 1
  done
}
# Both arrays gone from the queue.
queue_empty() { [[ -z "$(squeue --noheader --jobs="$1" 2>/dev/null)" ]]; }

echo "== the same sweep run locally, for reference"
l0=$(now)
"$AER" run "$T/sweep.toml" --out "$T/local" 2>"$T/local.log"
l1=$(now)

echo "== submitted to Slurm, left alone"
c0=$(now)
"$AER" run "$T/sweep.toml" --out "$T/clean" --executor slurm | tee "$T/submit-clean.txt"
wait_for "queue_empty $(awk '{ print $1 }' "$T/submit-clean.txt" | paste -sd,)" 900
c1=$(now)
[[ $(grep -c '	finished	' <("$AER" status "$T/clean")) == 4 ]] || fail "the uninterrupted sweep did not finish"

echo "== submitted to Slurm, one task requeued and one cancelled"
OUT="$T/slurm"
t0=$(now)
"$AER" run "$T/sweep.toml" --out "$OUT" --executor slurm | tee "$T/submit-1.txt"
SHARED=$(awk '$2 == "shared" { print $1 }' "$T/submit-1.txt")
POINTS=$(awk '$2 == "points" { print $1 }' "$T/submit-1.txt")
[[ -n "$SHARED" && -n "$POINTS" ]] || fail "expected a shared array and a points array"
grep -q "^#SBATCH --dependency=afterok:$SHARED$" "$OUT/slurm/points-2.sbatch" || fail "the points do not wait for the shared stage"

# Requeue point 1 once its prune stage has written a checkpoint (SIGTERM mid-training).
wait_for "[[ \$(state ${POINTS}_1) == RUNNING && -f '$OUT/sparsity=0.7/02-prune/last.safetensors' ]]" 600
scontrol requeue "${POINTS}_1"
requeued_at=$(now)
echo "== requeued ${POINTS}_1"
# Cancel point 2 once it runs and has a checkpoint.
wait_for "[[ \$(state ${POINTS}_2) == RUNNING && -f '$OUT/sparsity=0.8/02-prune/last.safetensors' ]]" 600
scancel "${POINTS}_2"
echo "== cancelled ${POINTS}_2"
wait_for "queue_empty $SHARED,$POINTS" 900
drained=$(now)
"$AER" status "$OUT" | tee "$T/status-1.txt"
grep -qE '^2	(stopped|failed)' "$T/status-1.txt" || fail "the cancelled point is not shown as stopped"
grep -qE '^1	finished' "$T/status-1.txt" || fail "the requeued point did not finish"
grep -q "SIGTERM" "$OUT/slurm/logs/aer-slurm-test-points-${POINTS}_1.log" || fail "the requeued task did not see SIGTERM"
grep -qE "resuming after epoch|finished earlier" "$OUT/slurm/logs/aer-slurm-test-points-${POINTS}_1.log" || fail "the requeued task did not resume"

echo "== submitted again: only what is missing"
resubmitted=$(now)
"$AER" run "$T/sweep.toml" --out "$OUT" --executor slurm | tee "$T/submit-2.txt"
[[ $(wc -l <"$T/submit-2.txt") == 1 ]] && grep -qP '\tpoints\tpoints 2\t' "$T/submit-2.txt" || fail "the second submission should hold point 2 alone"
AGAIN=$(awk '{ print $1 }' "$T/submit-2.txt")
wait_for "queue_empty $AGAIN" 600
t1=$(now)
"$AER" status "$OUT" | tee "$T/status-2.txt"
[[ $(grep -c '	finished	' "$T/status-2.txt") == 4 ]] || fail "not every point finished"
grep -q "resuming after epoch" "$OUT/slurm/logs/aer-slurm-test-points-${AGAIN}_2.log" || fail "the cancelled point did not resume"

echo "== every summary (uninterrupted, and requeued/cancelled) equals the local run's"
python3 - "$T/local" "$OUT" "$JSON" "$t0" "$t1" "$requeued_at" "$drained" "$resubmitted" "$l0" "$l1" "$POINTS" "$AGAIN" "$c0" "$c1" "$T/clean" <<'PY'
import json, os, sys, re
local, slurm, out = sys.argv[1:4]
t0, t1, requeued, drained, resubmitted, l0, l1 = map(float, sys.argv[4:11])
points_job, again_job = sys.argv[11:13]
c0, c1, clean = float(sys.argv[13]), float(sys.argv[14]), sys.argv[15]
def numbers(v):
    if isinstance(v, dict):
        return {k: numbers(x) for k, x in v.items() if "seconds" not in k and not k.endswith("_ms") and k != "us_per_example"}
    if isinstance(v, list):
        return [numbers(x) for x in v]
    return v
points = sorted(d for d in os.listdir(local) if os.path.exists(os.path.join(local, d, "summary.json")))
rows = []
for d in points:
    a = json.load(open(os.path.join(local, d, "summary.json")))
    b = json.load(open(os.path.join(slurm, d, "summary.json")))
    c = json.load(open(os.path.join(clean, d, "summary.json")))
    rows.append({"run": d, "equal": numbers(a) == numbers(b) == numbers(c), "test_accuracy": b["test_accuracy"], "sparsity": b["sparsity"]})
    print(d, "equal" if rows[-1]["equal"] else "DIFFERENT", b["test_accuracy"])
assert len(rows) == 4 and all(r["equal"] for r in rows), rows
if out:
    jobs = json.load(open(os.path.join(slurm, "slurm", "jobs.json")))
    logs = os.path.join(slurm, "slurm", "logs")
    def lines(name, pattern):
        return [l.strip() for l in open(os.path.join(logs, name)) if re.search(pattern, l)]
    pattern = r"SIGTERM|CANCELLED|resuming after epoch|finished earlier"
    json.dump({
        "sweep": open(os.path.join(slurm, "sweep.toml")).read(),
        "adapter": json.load(open(os.path.join(slurm, points[0], "summary.json")))["adapter"],
        "points": rows,
        "all_equal_to_plain_run": all(r["equal"] for r in rows),
        "seconds": {
            "plain_run": round(l1 - l0, 1),
            "uninterrupted_submission_to_completion": round(c1 - c0, 1),
            "submission_to_completion": round(t1 - t0, 1),
            "submission_to_first_arrays_drained": round(drained - t0, 1),
            "resubmission_to_completion": round(t1 - resubmitted, 1),
            "note": "on 2 shared CPU cores (2 tasks at a time); the requeued task waits out Slurm's begin-time delay for requeued jobs",
        },
        "requeued_task": {"task": f"{points_job}_1", "log": lines(f"aer-slurm-test-points-{points_job}_1.log", pattern)},
        "cancelled_task": {"task": f"{points_job}_2", "log": lines(f"aer-slurm-test-points-{points_job}_2.log", pattern),
                           "resubmitted_as": f"{again_job}_2", "resubmitted_log": lines(f"aer-slurm-test-points-{again_job}_2.log", pattern)},
        "sbatch_calls": len(jobs), "array_tasks": sum(len(j["points"]) for j in jobs), "submissions": jobs,
    }, open(out, "w"), indent=2)
PY
echo "PASSED ($T)"
