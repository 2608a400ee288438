#!/usr/bin/env bash
# Sweeps through Slurm (docs/clusters.md), recorded in assets/figures/slurm/:
#   plan-2x3x2.json  what `aer run --executor slurm` submits for a 2 x 3 x 2 sweep (seed x
#                    sparsity x lr) whose dense first stage depends on the seed only: the
#                    sbatch calls and array tasks, from a dry run (no Slurm needed);
#   local-slurm.json scripts/test-slurm.sh through a one-node Slurm (scripts/slurm-local.sh;
#                    needs root): submission to completion time of a 4-point sweep with one
#                    requeued and one cancelled task, and its equality with a plain run.
#   AER=a built aer
source "$(dirname "$0")/common.sh"
export AER
FIG=assets/figures/slurm
mkdir -p "$FIG"
T="$(mktemp -d /tmp/aer-slurm-plan.XXXXXX)"
cat >"$T/sweep.toml" <<'TOML'
name = "plan-2x3x2"
seed = [0, 1]
[[stages]]
kind = "train"
[[stages]]
kind = "prune"
sparsity = [0.5, 0.8, 0.9]
[stages.train.optimizer]
lr = [1e-3, 3e-4]
TOML
"$AER" run "$T/sweep.toml" --out "$T/out" --executor slurm --dry-run >"$T/plan.txt"
python3 - "$T/plan.txt" "$T/out/slurm" "$FIG/plan-2x3x2.json" <<'PY'
import json, os, sys
lines = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
arrays = [{"role": l[1], "points": l[2].removeprefix("points "), "script": os.path.basename(l[3].split(",")[0]),
           "after": l[3].split(", after ")[1] if ", after " in l[3] else ""} for l in lines]
def count(spec):
    return sum(int(b) - int(a) + 1 if "-" in part else 1 for part in spec.split(",") for a, _, b in [part.partition("-")])
scripts = {a["script"]: open(os.path.join(sys.argv[2], a["script"])).read() for a in arrays}
json.dump({"sweep": "seed [0, 1] x sparsity [0.5, 0.8, 0.9] x lr [1e-3, 3e-4]; first stage shared per seed",
           "points": 12, "sbatch_calls": len(arrays), "array_tasks": sum(count(a["points"]) for a in arrays),
           "arrays": arrays, "scripts": scripts}, open(sys.argv[3], "w"), indent=2)
PY
bash scripts/test-slurm.sh --json "$FIG/local-slurm.json"
