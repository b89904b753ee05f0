#!/usr/bin/env bash
# mpirun with what this project's machines need: Open MPI refuses root
# unless told (CI runs as root), and 2 ranks on 2 cores need oversubscribing;
# the shared-memory transport's single-copy mode (CMA) is off because
# containers usually forbid the ptrace it relies on. MPICH's mpiexec takes
# none of these flags and needs none of them.
#   scripts/mpirun.sh -np 2 target/debug/ember distributed check
set -euo pipefail
if mpirun --version 2>&1 | grep -q "Open MPI"; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_rmaps_base_oversubscribe=1
  export OMPI_MCA_btl_vader_single_copy_mechanism=none
  # One rank's failure ends the job (Open MPI's default, said aloud).
  exec mpirun --oversubscribe --bind-to none "$@"
fi
exec mpirun "$@"
