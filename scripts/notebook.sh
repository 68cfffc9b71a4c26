#!/usr/bin/env bash
# `npm run notebook`: opens Jupyter on notebooks/ with the project's tslab kernel, configuration and Vega-Lite
# extension, all taken from jupyter/ through JUPYTER_PATH / JUPYTER_CONFIG_PATH: the user's Jupyter is untouched.
# JupyterLab when installed (it renders Vega-Lite itself), otherwise the classic notebook (Debian's).
# FTGEO_JUPYTER=lab|notebook forces one. --no-build skips building the library; other arguments go to Jupyter
# (e.g. --no-browser --port 8899; as root the classic notebook also wants --allow-root).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v jupyter >/dev/null 2>&1; then
  echo "notebook.sh: jupyter is not installed. Debian/Ubuntu: sudo apt-get install -y --no-install-recommends" \
    "jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel; elsewhere: pip install jupyterlab" >&2
  exit 2
fi
if [ ! -x node_modules/.bin/tslab ]; then
  echo "notebook.sh: node_modules/.bin/tslab is missing: run npm ci first" >&2
  exit 2
fi

build=1
args=()
dir_arg="--notebook-dir=$root/notebooks"
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --notebook-dir=*) dir_arg="$a" ;; # Jupyter accepts one --notebook-dir only
    *) args+=("$a") ;;
  esac
done

# Notebooks import the compiled library (dist/lib): build it. Type errors are reported but do not stop Jupyter,
# since tsc still writes the JavaScript and a notebook may not need the file at fault.
if [ "$build" = 1 ]; then
  node node_modules/typescript/bin/tsc -p tsconfig.json || echo "notebook.sh: the build reported errors (above); dist/ was still written" >&2
fi

# The classic notebook's Vega-Lite renderer loads vega from the project's node_modules, never from a CDN.
vendor=jupyter/nbextensions/ftgeo-vegalite/vendor
mkdir -p "$vendor"
cp node_modules/vega/build/vega.min.js node_modules/vega-lite/build/vega-lite.min.js \
  node_modules/vega-embed/build/vega-embed.min.js "$vendor/"

export JUPYTER_PATH="$root/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export JUPYTER_CONFIG_PATH="$root/jupyter/config${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"

kind="${FTGEO_JUPYTER:-}"
if [ -z "$kind" ]; then
  if jupyter lab --version >/dev/null 2>&1; then kind=lab; else kind=notebook; fi
fi
case "$kind" in
  lab) exec jupyter lab "$dir_arg" ${args[@]+"${args[@]}"} ;;
  notebook) exec jupyter notebook "$dir_arg" ${args[@]+"${args[@]}"} ;;
  *) echo "notebook.sh: FTGEO_JUPYTER must be lab or notebook, got '$kind'" >&2; exit 2 ;;
esac
