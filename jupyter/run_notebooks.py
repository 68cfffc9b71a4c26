"""Execute notebooks headless in the project's tslab kernel and export self-contained HTML reports.

Used by scripts/report.sh (`npm run report`). Jupyter itself is Python, so this runner is too; it only needs
nbclient + nbconvert + jupyter_client (Debian: jupyter-nbconvert python3-nbclient jupyter-client).

Each notebook runs top to bottom and stops at its first failing cell (tslab ignores requests for 200 ms after
an error, so carrying on would only produce noise). The failure names the notebook, the cell and its error.
Every notebook is attempted; the exit status is 1 if any failed, 2 for usage errors.
"""

import argparse
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JUPYTER_DIR = os.path.join(REPO, "jupyter")
VENDOR = [  # inlined in that order: vega-lite and vega-embed expect the globals of the ones before
    "node_modules/vega/build/vega.min.js",
    "node_modules/vega-lite/build/vega-lite.min.js",
    "node_modules/vega-embed/build/vega-embed.min.js",
]
# Runs in the report page: draws every chart with its Vega-Lite spec, keeping the static image if anything fails.
EMBED_SCRIPT = """
(function () {
  if (typeof vegaEmbed !== "function") return;
  document.querySelectorAll(".ftgeo-chart[data-vegalite]").forEach(function (el) {
    var live = el.querySelector(".ftgeo-live");
    if (!live) return;
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-vegalite")); } catch (e) { return; }
    vegaEmbed(live, spec, { renderer: "svg", actions: { export: true, source: true, compiled: false, editor: false } })
      .then(function () { el.classList.add("ftgeo-interactive"); })
      .catch(function (e) { console.error("ftgeo: interactive chart failed, static image kept:", e); });
  });
})();
"""


def prepend_path(var, path):
    old = os.environ.get(var)
    os.environ[var] = path if not old else path + os.pathsep + old


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="+", help="notebook files (.ipynb)")
    ap.add_argument("--out", default=os.path.join(REPO, "reports"), help="folder for the HTML reports (default: reports/)")
    ap.add_argument("--executed", help="also save the executed notebooks in this folder")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("FTGEO_CELL_TIMEOUT", "3600")),
                    help="seconds one cell may run (default 3600, env FTGEO_CELL_TIMEOUT)")
    ap.add_argument("--static", action="store_true", help="figures as images only (no inlined vega scripts)")
    ap.add_argument("--kernel", help="kernel name (default: each notebook's own kernelspec)")
    return ap.parse_args(argv)


def cell_failure_text(nb_path, cell, index, code_index):
    """What went wrong, from the cell's own outputs: tslab reports type errors as stderr text, not as ename/evalue."""
    lines = ["%s: cell %d (code cell %d) failed" % (nb_path, index + 1, code_index)]
    src = cell.source.strip().splitlines()
    lines.append("  source: " + (src[0] if src else "(empty)") + (" ..." if len(src) > 1 else ""))
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            lines.append("  error: %s: %s" % (out.get("ename", ""), out.get("evalue", "")))
            for tb in out.get("traceback", [])[:20]:
                lines.extend("    " + t for t in strip_ansi(tb).splitlines())
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            lines.extend("  stderr: " + t for t in strip_ansi(out.get("text", "")).rstrip().splitlines()[-20:])
    return "\n".join(lines)


def strip_ansi(s):
    import re
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", s)


def write_atomic(path, text):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def vendor_scripts():
    parts = []
    for rel in VENDOR:
        p = os.path.join(REPO, rel)
        if not os.path.exists(p):
            print("note: %s is missing (npm ci?): charts in reports are static images only" % rel, file=sys.stderr)
            return ""
        with open(p, encoding="utf-8") as f:
            parts.append("<script>\n%s\n</script>" % f.read())
    parts.append("<script>%s</script>" % EMBED_SCRIPT)
    return "\n".join(parts)


def main(argv):
    args = parse_args(argv)
    # The committed kernelspec and template, without touching the user's Jupyter setup.
    prepend_path("JUPYTER_PATH", JUPYTER_DIR)
    prepend_path("JUPYTER_CONFIG_PATH", os.path.join(JUPYTER_DIR, "config"))
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
        from nbconvert import HTMLExporter
    except ImportError as e:
        print("run_notebooks.py: %s. Install Jupyter: apt-get install -y --no-install-recommends jupyter-notebook "
              "jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel (or pip install notebook nbconvert)" % e,
              file=sys.stderr)
        return 2

    for nb_path in args.notebooks:
        if not os.path.isfile(nb_path):
            print("run_notebooks.py: notebook %s does not exist" % nb_path, file=sys.stderr)
            return 2
    os.makedirs(args.out, exist_ok=True)
    if args.executed:
        os.makedirs(args.executed, exist_ok=True)
    scripts = "" if args.static else vendor_scripts()

    exporter = HTMLExporter(template_name="ftgeo", extra_template_basedirs=[os.path.join(JUPYTER_DIR, "nbconvert", "templates")])
    failures = []
    started = time.time()
    for nb_path in args.notebooks:
        name = os.path.splitext(os.path.basename(nb_path))[0]
        nb = nbformat.read(nb_path, as_version=4)
        kernel = args.kernel or nb.metadata.get("kernelspec", {}).get("name", "tslab")
        code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        state = {"index": None, "start": time.time()}

        def on_start(cell, cell_index, **_):
            if cell.cell_type != "code":
                return
            state["index"] = cell_index
            print("[%s] cell %d/%d (%.0fs)" % (name, code_cells.index(cell_index) + 1, len(code_cells), time.time() - state["start"]),
                  file=sys.stderr, flush=True)

        client = NotebookClient(nb, timeout=args.timeout, kernel_name=kernel, allow_errors=False,
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(nb_path))}},
                                on_cell_start=on_start)
        t0 = time.time()
        error = None
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
            i = state["index"]
            if i is None:
                error = "%s: %s" % (nb_path, e)
            else:
                error = cell_failure_text(nb_path, nb.cells[i], i, code_cells.index(i) + 1)
                if isinstance(e, CellTimeoutError):
                    error += "\n  timeout: the cell ran longer than %d s (--timeout / FTGEO_CELL_TIMEOUT)" % args.timeout
                elif isinstance(e, DeadKernelError):
                    error += "\n  the kernel died (out of memory? see the kernel's log above)"
        except Exception as e:  # kernel could not start, etc.
            error = "%s: could not run in kernel %r: %s: %s" % (nb_path, kernel, type(e).__name__, e)
        elapsed = time.time() - t0

        if args.executed:
            write_atomic(os.path.join(args.executed, name + ".ipynb"), nbformat.writes(nb))
        html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
        if scripts:
            cut = html.rfind("</body>")
            html = html[:cut] + scripts + "\n" + html[cut:] if cut >= 0 else html + scripts
        out_path = os.path.join(args.out, name + ".html")
        write_atomic(out_path, html)
        if error:
            failures.append(error)
            print("FAILED %s after %.0fs (partial report: %s)\n%s" % (nb_path, elapsed, out_path, error), file=sys.stderr, flush=True)
        else:
            print("ok %s in %.0fs -> %s" % (nb_path, elapsed, out_path), file=sys.stderr, flush=True)

    print("%d notebook(s) in %.0fs" % (len(args.notebooks), time.time() - started), file=sys.stderr)
    if failures:
        print("\n%d of %d notebooks failed:" % (len(failures), len(args.notebooks)), file=sys.stderr)
        for f in failures:
            print(f.splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
