#!/usr/bin/env bash
# `npm run report [-- notebook.ipynb ... --static --timeout S --executed DIR --out DIR --no-build]`:
# executes the notebooks (default: every notebooks/*.ipynb) headless in the project's tslab kernel at the quick
# budget (FTGEO_BUDGET, default quick) and writes self-contained HTML reports to reports/. Exit status 1 when a
# cell fails (the notebook and cell are named), 2 when Jupyter is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# Jupyter is Python: find the interpreter that has it (Debian's /usr/bin/python3 when installed by apt; a pyenv
# python3 first on PATH often lacks it). FTGEO_PYTHON overrides.
py=""
for cand in ${FTGEO_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import nbclient, nbconvert, jupyter_client" >/dev/null 2>&1; then
    py="$cand"
    break
  fi
done
if [ -z "$py" ]; then
  echo "report.sh: no Python with nbclient + nbconvert + jupyter_client found. Debian/Ubuntu: sudo apt-get install -y" \
    "--no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel;" \
    "elsewhere: pip install notebook nbconvert nbclient (or set FTGEO_PYTHON)" >&2
  exit 2
fi
if [ ! -x node_modules/.bin/tslab ]; then
  echo "report.sh: node_modules/.bin/tslab is missing: run npm ci first" >&2
  exit 2
fi

build=1
args=()
have_notebook=0
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *.ipynb) have_notebook=1; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
if [ "$have_notebook" = 0 ]; then
  shopt -s nullglob
  nbs=(notebooks/*.ipynb)
  if [ "${#nbs[@]}" = 0 ]; then echo "report.sh: no notebooks in notebooks/" >&2; exit 2; fi
  args+=("${nbs[@]}")
fi

# Notebooks import the compiled library: a report must run on what the sources say now.
if [ "$build" = 1 ]; then
  node node_modules/typescript/bin/tsc -p tsconfig.json
fi

export FTGEO_BUDGET="${FTGEO_BUDGET:-quick}"
echo "report: budget $FTGEO_BUDGET, python $py" >&2
# -Xfrozen_modules=off and PYDEVD_DISABLE_FILE_VALIDATION silence a debugger warning of Python 3.11 + ipykernel.
export PYDEVD_DISABLE_FILE_VALIDATION=1
exec "$py" -Xfrozen_modules=off jupyter/run_notebooks.py "${args[@]}"
