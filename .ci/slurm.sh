#!/usr/bin/env bash
# docs/sweep.md's Slurm recipe on a real Slurm cluster: one node on localhost.
#
# Installs `slurm-wlm` and `munge` from Debian when missing, starts munged (unless one answers),
# slurmctld and slurmd with a minimal slurm.conf of this machine's real CPUs and memory
# (`slurmd -C`), then, in a scratch directory:
#
#   1. takes the job script and the two submit commands out of docs/sweep.md's "Slurm" section
#      as written (so the doc and this check cannot drift apart), submits the array and the merge
#      job, waits for both (bounded) and compares `all/` with an unsharded `wiretap sweep` of the
#      same file byte for byte;
#   2. does it again with one task of the array failing: the merge job must still run (that is
#      what `afterany` is for), fail with exit code 2 and name the missing shard, and the rerun
#      the doc gives, then a merge, must again give the unsharded sweep's bytes.
#
# Usage: bash .ci/slurm.sh [WIRETAP_BINARY]   (default: builds the debug binary with cargo)
# Environment: SLURM_CHECK_TIMEOUT (seconds to wait for each job set, default 600),
#              SLURM_CHECK_KEEP=1 keeps the scratch directory,
#              SLURM_CHECK_DOC=FILE reads the recipe from FILE instead of docs/sweep.md.
# It stops the daemons it started (by pid) when it exits. Needs root (it installs packages and
# runs the daemons as root). Exit code 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
doc=${SLURM_CHECK_DOC:-$repo/docs/sweep.md}
timeout_s=${SLURM_CHECK_TIMEOUT:-600}
t0=$(date +%s)
say() { printf '[slurm-check %4ss] %s\n' "$(($(date +%s) - t0))" "$*"; }
fail() {
    say "FAIL: $*" >&2
    exit 1
}

# --- the binary -------------------------------------------------------------------------------
if [ $# -ge 1 ]; then
    wiretap_bin=$(realpath "$1")
else
    cargo build -q --bin wiretap
    wiretap_bin="${CARGO_TARGET_DIR:-$repo/target}/debug/wiretap"
fi
[ -x "$wiretap_bin" ] || fail "no wiretap binary at $wiretap_bin"

# --- install ----------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi
say "$(slurmctld -V), $(munged --version 2>&1 | awk '{print $1}')"

# --- the cluster ------------------------------------------------------------------------------
work=$(mktemp -d /tmp/wiretap-slurm.XXXXXX)
started_pids=()
cleanup() {
    local rc=$?
    local pids=("${started_pids[@]}")
    for pidfile in "$work/slurmctld.pid" "$work/slurmd.pid"; do
        if [ -s "$pidfile" ]; then pids+=("$(cat "$pidfile")"); fi
    done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    # slurmctld saves its state into $work/ctld as it shuts down: wait for the daemons to exit
    # (at most 15 s) before removing the directory, or rm races the save ("Directory not empty").
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
    done
    if [ "$rc" -ne 0 ] || [ "${SLURM_CHECK_KEEP:-}" = 1 ]; then
        echo "slurm-check: scratch directory kept: $work (slurmctld.log, slurmd.log, job outputs)" >&2
    else
        # Removing scratch space is housekeeping: it never turns a passed check into a failure.
        rm -rf "$work" 2>/dev/null || { sleep 2; rm -rf "$work" 2>/dev/null; } ||
            echo "slurm-check: could not remove $work (a daemon still writing?)" >&2
    fi
    return "$rc"
}
trap cleanup EXIT

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key && chmod 600 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    # munged runs as munge, so its pid file goes where munge may write.
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
    for _ in $(seq 50); do
        if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then break; fi
        sleep 0.1
    done
    munge -n | unmunge >/dev/null || fail "munged does not answer"
    started_pids+=("$(cat /run/munge/munged.pid)")
fi

host=$(hostname -s)
node_line=$(slurmd -C | head -n 1) # NodeName=<host> CPUs=... RealMemory=...: this machine
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
mkdir -p "$work/ctld" "$work/d"
export SLURM_CONF="$work/slurm.conf"
cat >"$SLURM_CONF" <<EOF
# One-node cluster for .ci/slurm.sh: no accounting, no cgroups, CPUs as the consumable.
ClusterName=wiretap-check
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/d
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=600
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=check Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 100); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then break; fi
    sleep 0.2
done
sinfo -h -o '%t' | grep -qx idle || fail "the node did not come up idle: $(sinfo 2>&1)"
say "cluster up: $node_line"

# --- the recipe, as docs/sweep.md writes it ---------------------------------------------------
section=$(awk '/^### Slurm$/ {on = 1; next} on && /^##+ / {exit} on' "$doc")
block() { awk -v want="$1" '/^```bash$/ {n++; inb = 1; next} /^```$/ {inb = 0; next} inb && n == want' <<<"$section"; }
job_script=$(block 1)
submit=$(block 2 | sed 's/[[:space:]]*#.*$//' | sed '/^$/d')
[ -n "$job_script" ] || fail "no job script in docs/sweep.md's Slurm section"
[ "$(sed -n 1p <<<"$submit")" = "sbatch sweep.sbatch" ] ||
    fail "docs/sweep.md's first submit command is not 'sbatch sweep.sbatch': $(sed -n 1p <<<"$submit")"
merge_cmd=$(sed -n 2p <<<"$submit")
grep -q -- '--dependency=afterany:4242' <<<"$merge_cmd" ||
    say "note: the doc's merge job depends on the array with: $merge_cmd"
rerun=$(grep -o 'wiretap sweep s.toml --shard 7/16 --out slice-7' <<<"$section" | head -n 1)
[ -n "$rerun" ] || fail "docs/sweep.md no longer shows the rerun of shard 7"
shards=$(sed -n 's/^#SBATCH --array=0-\([0-9]*\)$/\1/p' <<<"$job_script")
[ -n "$shards" ] || fail "no '#SBATCH --array=0-N' line in the doc's job script"
shards=$((shards + 1))
doc_cpt=$(sed -n 's/^#SBATCH --cpus-per-task=\([0-9]*\)$/\1/p' <<<"$job_script")
# The doc's #SBATCH line asks for 8 CPUs a task; a smaller node gets its CPU count on the
# command line, which overrides the #SBATCH line (the doc says so).
cpt=$((doc_cpt < cpus ? doc_cpt : cpus))

# The sweep: the doc calls it s.toml; small-lab, 2 points x 10 seeds = 20 runs, so that every
# one of the 16 shards selects at least one run.
mkdir -p "$work/bin" "$work/shim"
ln -s "$wiretap_bin" "$work/bin/wiretap"
cat >"$work/s.toml" <<'EOF'
[sweep]
name = "slurm-check"
description = "docs/sweep.md's Slurm recipe, run by .ci/slurm.sh"
scenario = "small-lab"
seeds = { from = 1, count = 10 }

[grid]
"traffic.mean_degree" = [2.0, 6.0]
EOF
export PATH="$work/bin:$PATH"

mkdir -p "$work/whole"
(cd "$work/whole" && cp ../s.toml . && wiretap sweep s.toml --out whole >/dev/null)
say "unsharded sweep written (reference)"

# Submits the doc's array and merge in directory $1 and waits for both; prints the merge job id.
submit_and_wait() {
    local dir=$1 out array merge
    cd "$dir"
    printf '%s\n' "$job_script" >sweep.sbatch
    cp "$work/s.toml" .
    out=$(sbatch --cpus-per-task="$cpt" sweep.sbatch)
    array=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$out")
    [ -n "$array" ] || fail "sbatch said: $out"
    out=$(eval "${merge_cmd//4242/$array}")
    merge=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$out")
    [ -n "$merge" ] || fail "sbatch (merge) said: $out"
    local start=$SECONDS
    while [ -n "$(squeue -h -j "$array,$merge" 2>/dev/null)" ]; do
        if ((SECONDS - start > timeout_s)); then
            squeue >&2
            scontrol show job "$merge" >&2
            fail "jobs $array and $merge still queued or running after ${timeout_s}s"
        fi
        sleep 1
    done
    echo "$merge"
}

job_field() { scontrol show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# 1. every task succeeds
mkdir -p "$work/ok"
t1=$(date +%s)
merge=$(submit_and_wait "$work/ok")
state=$(job_field "$merge" JobState)
code=$(job_field "$merge" ExitCode)
[ "$state" = COMPLETED ] && [ "$code" = 0:0 ] ||
    fail "merge job $merge: $state, exit $code: $(cat "$work/ok/slurm-$merge.out")"
[ "$(find "$work/ok" -maxdepth 1 -name 'slice-*' -type d | wc -l)" -eq "$shards" ] ||
    fail "expected $shards slices"
diff -r "$work/whole/whole" "$work/ok/all" >&2 || fail "merged files differ from the unsharded sweep"
say "array of $shards tasks (--cpus-per-task=$cpt) + merge: all/ is byte-identical to the unsharded sweep ($(ls "$work/ok/all" | tr '\n' ' ')) in $(($(date +%s) - t1)) s"

# 2. task 7 fails: the merge runs anyway, names shard 7/16, and the documented rerun repairs it.
cat >"$work/shim/wiretap" <<EOF
#!/bin/bash
# Task 7 of the array dies (as on a node failure) before writing anything.
if [ "\${SLURM_ARRAY_TASK_ID:-}" = 7 ]; then echo "task 7: simulated failure" >&2; exit 1; fi
exec "$wiretap_bin" "\$@"
EOF
chmod +x "$work/shim/wiretap"
mkdir -p "$work/fail"
t2=$(date +%s)
merge=$(PATH="$work/shim:$PATH" submit_and_wait "$work/fail")
state=$(job_field "$merge" JobState)
code=$(job_field "$merge" ExitCode)
[ "$state" = FAILED ] && [ "$code" = 2:0 ] ||
    fail "merge job $merge after a failed task: $state, exit $code (expected FAILED, 2:0)"
grep -q "shard 7/$shards of the sweep is not among the slices" "$work/fail/slurm-$merge.out" ||
    fail "the merge job's message does not name shard 7/$shards: $(cat "$work/fail/slurm-$merge.out")"
say "task 7 failed: the merge job ran, exit 2: $(grep -o "shard 7/$shards of the sweep is not among the slices" "$work/fail/slurm-$merge.out")"
(cd "$work/fail" && $rerun >/dev/null && wiretap merge slice-* --out all >/dev/null)
diff -r "$work/whole/whole" "$work/fail/all" >&2 || fail "after the rerun, merged files differ"
say "after '$rerun' and a merge: byte-identical to the unsharded sweep ($(($(date +%s) - t2)) s)"

say "PASS in $(($(date +%s) - t0)) s"
