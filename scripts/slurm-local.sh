#!/usr/bin/env bash
# A real Slurm on this one machine, for testing `aer run --executor slurm`: Debian's
# slurm-wlm and munge (installed when missing), a one-node slurm.conf for localhost with the
# node's CPUs and memory as `slurmd -C` reports them, and munged, slurmctld and slurmd started
# as root. The same Slurm as on clusters, on one node.
#
#   bash scripts/slurm-local.sh start    # then: export SLURM_CONF=<printed path>
#   bash scripts/slurm-local.sh status
#   bash scripts/slurm-local.sh stop
#
# Everything it writes (configuration, state, logs, pid files) is under $AER_SLURM_DIR
# (default /tmp/aer-slurm-local); stop ends only the daemons whose pid files are there. The
# controller listens on $AER_SLURM_PORT (default 6817) and slurmd on the port after it, so
# that a second instance can run beside another Slurm.
set -euo pipefail
DIR="${AER_SLURM_DIR:-/tmp/aer-slurm-local}"
PORT="${AER_SLURM_PORT:-6817}"
CONF="$DIR/slurm.conf"
MUNGE_SOCKET="$DIR/munge/munge.socket.2"

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "slurm-local.sh starts daemons as root; run it as root (or with sudo)" >&2
        exit 1
    fi
}

install() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then
        return
    fi
    echo "== installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

# A daemon from its pid file runs.
running() {
    [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

start() {
    need_root
    install
    # Never another Slurm's configuration.
    if [ -f "$CONF" ] && ! head -n 1 "$CONF" | grep -q "written by scripts/slurm-local.sh"; then
        echo "$CONF was not written by this script; give another AER_SLURM_DIR" >&2
        exit 1
    fi
    mkdir -p "$DIR"/{state,spool,munge,log}
    chmod 0755 "$DIR"
    # munge: its own socket and pid file under $DIR, with the key the package made (or a new one).
    if [ ! -f /etc/munge/munge.key ]; then
        mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
        chmod 0400 /etc/munge/munge.key
    fi
    if ! running "$DIR/munge/munged.pid"; then
        echo "== munged"
        munged --force --socket="$MUNGE_SOCKET" --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
    fi
    local node host
    host="$(hostname -s)"
    # NodeName=... CPUs=... Boards=... RealMemory=...: this machine as slurmd sees it.
    node="$(slurmd -C | head -n 1)"
    cat >"$CONF" <<EOF
# One-node Slurm for localhost, written by scripts/slurm-local.sh.
ClusterName=aerlocal
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# Seconds between SIGTERM and SIGKILL when a job is cancelled or requeued.
KillWait=30
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$CONF"
    if ! running "$DIR/slurmctld.pid"; then
        echo "== slurmctld"
        slurmctld -c -f "$CONF"
    fi
    if ! running "$DIR/slurmd.pid"; then
        echo "== slurmd"
        slurmd -f "$CONF"
    fi
    # Up when the node takes jobs.
    for _ in $(seq 60); do
        if sinfo --noheader --format=%T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
            echo "Slurm runs on $host ($(sinfo --noheader --format='%c CPUs, %m MB')); for its commands:"
            echo "export SLURM_CONF=$CONF"
            return
        fi
        sleep 1
    done
    echo "Slurm did not come up; see $DIR/log/" >&2
    exit 1
}

stop() {
    local name
    for name in slurmd slurmctld munge/munged; do
        if running "$DIR/$name.pid"; then
            echo "== stopping ${name#munge/}"
            kill "$(cat "$DIR/$name.pid")"
            for _ in $(seq 30); do
                running "$DIR/$name.pid" || break
                sleep 1
            done
        fi
    done
}

status() {
    local name
    for name in munge/munged slurmctld slurmd; do
        if running "$DIR/$name.pid"; then echo "${name#munge/}: running (pid $(cat "$DIR/$name.pid"))"; else echo "${name#munge/}: stopped"; fi
    done
    if running "$DIR/slurmctld.pid"; then SLURM_CONF="$CONF" sinfo; fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
