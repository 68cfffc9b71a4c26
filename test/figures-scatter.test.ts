/**
 * scatterChart: the spec compiles without warnings, and the rendered scene puts one dot per point at the position
 * its scale implies (hand-computed from the domain), names next to the dots, one panel per facet.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as vega from "vega";
import { compileVegaLite, renderSvg, scatterChart, type TopLevelSpec } from "../lib/figures";

interface Item {
  x?: number;
  y?: number;
  text?: string;
  fill?: string;
  datum?: Record<string, unknown>;
  items?: Mark[];
}
interface Mark {
  marktype: string;
  role: string;
  items: Item[];
}

async function marks(spec: TopLevelSpec): Promise<Mark[]> {
  const compiled = compileVegaLite(spec);
  assert.deepEqual(compiled.warnings, [], "Vega-Lite warnings");
  const view = new vega.View(vega.parse(compiled.vega), { renderer: "none" });
  await view.runAsync();
  const out: Mark[] = [];
  const walk = (m: Mark) => {
    if (m.role === "mark") out.push(m);
    for (const item of m.items ?? []) for (const child of item.items ?? []) walk(child);
  };
  walk((view.scenegraph() as unknown as { root: Mark }).root);
  view.finalize();
  return out;
}

const items = (ms: Mark[], type: string) => ms.filter((m) => m.marktype === type).flatMap((m) => m.items);

test("scatterChart: a dot per point where the scales put it, its name beside it", async () => {
  // nice() would widen a domain like [0.3, 9.7]; integer end points keep the expected pixels exact.
  const pts = [
    { x: 0, y: 0, name: "NOUN" },
    { x: 5, y: 10, name: "VERB" },
    { x: 10, y: 5, name: "ADP" },
  ];
  const ms = await marks(scatterChart(pts, { width: 200, height: 100 }));
  const dots = items(ms, "symbol");
  assert.equal(dots.length, 3);
  for (const d of dots) {
    const p = pts.find((q) => q.name === d.datum!.name)!;
    assert.ok(Math.abs(d.x! - (200 * p.x) / 10) < 1e-6, `x of ${p.name}: ${d.x}`);
    assert.ok(Math.abs(d.y! - (100 - (100 * p.y) / 10)) < 1e-6, `y of ${p.name}: ${d.y}`);
  }
  assert.deepEqual(items(ms, "text").map((t) => t.text).sort(), ["ADP", "NOUN", "VERB"]);
  const svg = await renderSvg(scatterChart(pts));
  assert.match(svg, /<svg/);
  assert.equal((svg.match(/<text[^>]*>VERB<\/text>/g) ?? []).length, 1, "the name is written in the static image");
});

test("scatterChart: one panel per facet, series coloured, names left out when asked", async () => {
  const pts = ["layer 1", "layer 12"].flatMap((facet, f) =>
    ["a", "b", "c"].map((name, i) => ({ x: i * (f + 1), y: -i * (f + 1), name, facet, series: i === 0 ? "first" : "rest" })),
  );
  const ms = await marks(scatterChart(pts, { showNames: false, columns: 2 }));
  assert.equal(ms.filter((m) => m.marktype === "symbol").length, 2, "one dot mark per panel");
  assert.equal(items(ms, "symbol").length, 6);
  assert.equal(items(ms, "text").length, 0);
  const fills = new Set(items(ms, "symbol").filter((d) => d.datum!.series === "first").map((d) => d.fill));
  assert.equal(fills.size, 1, "one colour per series across panels");
  assert.throws(() => scatterChart([{ x: 1, y: NaN }]), /points\[0\]\.y/);
  assert.throws(() => scatterChart([{ x: 1, y: 1, facet: "a" }, { x: 1, y: 2 }]), /points\[1\]\.facet/);
});
