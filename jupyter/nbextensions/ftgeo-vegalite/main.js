// Classic Jupyter Notebook extension: renders application/vnd.vegalite.v5+json outputs with vega-embed, like
// JupyterLab does natively. vega, vega-lite and vega-embed are copied from the project's node_modules into
// vendor/ by scripts/notebook.sh: nothing is fetched from a CDN.
define(["require", "notebook/js/outputarea"], function (require, outputarea) {
  "use strict";
  var MIME = "application/vnd.vegalite.v5+json";
  var vendor = require.toUrl("./vendor/").replace(/\?.*$/, "");
  // vega-embed's AMD wrapper asks for the modules "vega" and "vega-lite" by these exact names.
  window.requirejs.config({
    paths: {
      vega: vendor + "vega.min",
      "vega-lite": vendor + "vega-lite.min",
      "vega-embed": vendor + "vega-embed.min",
    },
  });

  function appendVegaLite(spec, metadata, element) {
    var subarea = this.create_output_subarea(metadata, "output_vegalite", MIME);
    var target = document.createElement("div");
    subarea.append(target);
    element.append(subarea);
    window.requirejs(["vega-embed"], function (vegaEmbed) {
      vegaEmbed(target, spec, { renderer: "svg", actions: { export: true, source: true, compiled: false, editor: false } })
        .catch(function (e) {
          target.textContent = "Vega-Lite chart could not be drawn: " + e.message;
        });
    }, function (e) {
      target.textContent = "vega-embed did not load (run the notebook through `npm run notebook`): " + e.message;
    });
    return subarea;
  }

  function load_ipython_extension() {
    // index 0: preferred over the static image/svg+xml in the same output; safe like a static image, since the
    // spec is data rendered by vega, so it also shows in notebooks that are not trusted yet.
    outputarea.OutputArea.prototype.register_mime_type(MIME, appendVegaLite, { safe: true, index: 0 });
  }

  return { load_ipython_extension: load_ipython_extension };
});
