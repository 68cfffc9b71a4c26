/**
 * Figure builders: each spec compiles with Vega-Lite without warnings, renders to SVG in Node, and the rendered
 * scene has the marks the data asks for, at the positions the scales imply (checked against hand-computed
 * pixel positions, not against a previous rendering).
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as vega from "vega";
import {
  barChart,
  compileVegaLite,
  heatmapChart,
  learningCurveChart,
  lineChart,
  pathChart,
  renderSvg,
  writeChartSvg,
  type TopLevelSpec,
} from "../lib/figures";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FtgeoError } from "../lib/util/errors";

interface SceneMark {
  marktype: string;
  role: string;
  name?: string;
  items: SceneItem[];
}
interface SceneItem {
  x?: number;
  y?: number;
  x2?: number;
  y2?: number;
  width?: number;
  height?: number;
  fill?: string;
  stroke?: string;
  strokeDash?: number[] | string;
  text?: string;
  datum?: Record<string, unknown>;
  items?: SceneMark[];
}

/** Runs the compiled spec in a headless View and returns every data mark ("role: mark") of the scene graph. */
async function dataMarks(spec: TopLevelSpec): Promise<SceneMark[]> {
  const compiled = compileVegaLite(spec);
  assert.deepEqual(compiled.warnings, [], "Vega-Lite warnings");
  const view = new vega.View(vega.parse(compiled.vega), { renderer: "none" });
  await view.runAsync();
  const out: SceneMark[] = [];
  const walk = (mark: SceneMark) => {
    if (mark.role === "mark") out.push(mark);
    for (const item of mark.items ?? []) for (const child of item.items ?? []) walk(child);
  };
  walk((view.scenegraph() as unknown as { root: SceneMark }).root);
  view.finalize();
  return out;
}

function itemsOf(marks: SceneMark[], marktype: string): SceneItem[] {
  return marks.filter((m) => m.marktype === marktype).flatMap((m) => m.items);
}

/** How many elements the SVG string draws inside the data-mark groups of a mark type. */
function svgCount(svg: string, marktype: string, element: string): number {
  let n = 0;
  for (const m of svg.matchAll(new RegExp(`<g class="mark-${marktype} role-mark[^"]*"[^>]*>(.*?)</g>`, "gs"))) {
    n += (m[1].match(new RegExp(`<${element}[ />]`, "g")) ?? []).length;
  }
  return n;
}

const close = (a: number | undefined, b: number, what: string) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

test("barChart: bar heights follow the value scale, error bars span mean +- error", async () => {
  const spec = barChart(
    [
      { category: "pos", value: 0.25 },
      { category: "dep", value: 0.5, error: 0.1 },
      { category: "trec50", value: 1 },
    ],
    { domain: [0, 1], height: 200, title: "t" },
  );
  const marks = await dataMarks(spec);
  const bars = itemsOf(marks, "rect");
  assert.equal(bars.length, 3);
  for (const b of bars) {
    const v = b.datum!.value as number;
    close(b.height, 200 * v, `bar ${b.datum!.category} height`);
    close((b.y ?? NaN) + (b.height ?? NaN), 200, "bars start at zero");
  }
  assert.deepEqual(bars.map((b) => b.datum!.category), ["pos", "dep", "trec50"], "categories keep the caller's order");
  const rules = itemsOf(marks, "rule");
  assert.equal(rules.length, 1, "only bars with an error get an error bar");
  close(Math.min(rules[0].y!, rules[0].y2!), 200 * (1 - 0.6), "error bar top");
  close(Math.max(rules[0].y!, rules[0].y2!), 200 * (1 - 0.4), "error bar bottom");
  const svg = await renderSvg(spec);
  assert.equal(svgCount(svg, "rect", "path"), 3);
  assert.equal(svgCount(svg, "rule", "line"), 1);
});

test("barChart grouped: one bar per (category, series), side by side, series in the caller's order", async () => {
  const data = ["pos", "dep"].flatMap((category, c) =>
    ["original", "fine-tuned", "control"].map((series, s) => ({ category, series, value: 0.5 + 0.1 * s + 0.05 * c, error: 0.01 })),
  );
  const spec = barChart(data, { domain: [0, 1] });
  const marks = await dataMarks(spec);
  const bars = itemsOf(marks, "rect");
  assert.equal(bars.length, 6);
  for (const category of ["pos", "dep"]) {
    const xs = ["original", "fine-tuned", "control"].map((s) => bars.find((b) => b.datum!.category === category && b.datum!.series === s)!.x!);
    assert.ok(xs[0] < xs[1] && xs[1] < xs[2], `series left to right in the given order for ${category}: ${xs}`);
  }
  const fillOf = (s: string) => new Set(bars.filter((b) => b.datum!.series === s).map((b) => b.fill));
  assert.deepEqual([...fillOf("original")], ["#4c78a8"], "the first series gets the first colour of the scheme");
  assert.equal(itemsOf(marks, "rule").length, 6);
  const svg = await renderSvg(spec);
  assert.equal(svgCount(svg, "rect", "path"), 6);
});

test("barChart horizontal: bars grow along x", async () => {
  const marks = await dataMarks(barChart([{ category: "a", value: 2 }, { category: "b", value: 4 }], { horizontal: true, width: 100 }));
  const bars = itemsOf(marks, "rect");
  close(bars.find((b) => b.datum!.category === "b")!.width, 100, "largest bar spans the width (zero-based scale, nice domain 0..4)");
  close(bars.find((b) => b.datum!.category === "a")!.width, 50, "half the value, half the width");
});

test("lineChart: one line per series and facet, a dot per point, dashes kept apart", async () => {
  const points = ["layer 1", "layer 12"].flatMap((facet) =>
    ["NOUN", "VERB", "ADP"].flatMap((series, s) => [0, 100, 200, 300].map((x) => ({ x, y: s + x / 1000, series, facet }))),
  );
  const spec = lineChart(points, { xTitle: "step", yTitle: "min distance", columns: 2 });
  const marks = await dataMarks(spec);
  assert.equal(marks.filter((m) => m.marktype === "line").length, 6, "3 series x 2 facets");
  for (const m of marks.filter((m) => m.marktype === "line")) {
    assert.equal(m.items.length, 4);
    const xs = m.items.map((i) => i.x!);
    assert.deepEqual(xs, [...xs].sort((a, b) => a - b), "points joined left to right");
  }
  assert.equal(itemsOf(marks, "symbol").length, 24);
  const svg = await renderSvg(spec);
  assert.equal((svg.match(/class="mark-line role-mark/g) ?? []).length, 6);
  assert.equal(svgCount(svg, "symbol", "path"), 24);

  const dashed = await dataMarks(
    lineChart(
      ["train", "test"].flatMap((dash) => [1, 2, 3].map((x) => ({ x, y: x * (dash === "train" ? 2 : 1), series: "pos", dash }))),
      { points: false },
    ),
  );
  const lines = dashed.filter((m) => m.marktype === "line");
  assert.equal(lines.length, 2, "the two dashes of one series are two lines, not one zig-zag");
  assert.equal(new Set(lines.map((l) => String(l.items[0].strokeDash))).size, 2);
  assert.equal(itemsOf(dashed, "symbol").length, 0);
});

test("learningCurveChart: runs x splits lines; without runs, one line per split", async () => {
  const pts = ["pos", "dep"].flatMap((run) =>
    ["subtrain", "subtest"].flatMap((split) => [1, 2, 3, 4].map((step) => ({ step, value: 0.5 + step / 10 - (split === "subtest" ? 0.1 : 0), split, run }))),
  );
  const marks = await dataMarks(learningCurveChart(pts));
  assert.equal(marks.filter((m) => m.marktype === "line").length, 4);
  const single = await dataMarks(learningCurveChart(pts.filter((p) => p.run === "pos").map(({ run: _run, ...p }) => p)));
  assert.equal(single.filter((m) => m.marktype === "line").length, 2);
});

test("pathChart: points joined in `order` whatever the input order, the name written at each path's end", async () => {
  const orders = [3, 0, 2, 1];
  const points = ["first layer", "last layer"].flatMap((facet) =>
    ["NOUN", "PROPN"].flatMap((path, p) => orders.map((order) => ({ x: order * (p + 1), y: Math.sin(order + p), path, order, facet }))),
  );
  const marks = await dataMarks(pathChart(points));
  const lines = marks.filter((m) => m.marktype === "line");
  assert.equal(lines.length, 4, "2 paths x 2 facets");
  for (const l of lines) assert.deepEqual(l.items.map((i) => i.datum!.order), [0, 1, 2, 3]);
  assert.equal(itemsOf(marks, "symbol").length, 16);
  const labels = itemsOf(marks, "text");
  assert.equal(labels.length, 4);
  for (const t of labels) {
    assert.equal(t.datum!.order, 3);
    assert.equal(t.text, t.datum!.path);
  }
  assert.throws(() => pathChart([{ x: 0, y: 0, path: "a", order: 1 }, { x: 1, y: 1, path: "a", order: 1 }]), /points\[1\].*two points with order 1/);
});

test("heatmapChart: a cell per (row, column), colours from the scheme's ends, readable value text", async () => {
  const labels = ["NOUN", "VERB", "ADJ"];
  const cells = labels.flatMap((row, i) => labels.map((col, j) => ({ row, col, value: Math.abs(i - j) })));
  const spec = heatmapChart(cells, { valueTitle: "distance" });
  const marks = await dataMarks(spec);
  const rects = itemsOf(marks, "rect");
  assert.equal(rects.length, 9);
  const fill = (v: number) => new Set(rects.filter((r) => r.datum!.value === v).map((r) => r.fill));
  assert.deepEqual([...fill(0)], ["rgb(68, 1, 84)"], "minimum = first viridis colour (#440154)");
  assert.deepEqual([...fill(2)], ["rgb(253, 231, 37)"], "maximum = last viridis colour (#fde725)");
  const texts = itemsOf(marks, "text");
  assert.equal(texts.length, 9);
  const t = texts.find((x) => x.datum!.row === "NOUN" && x.datum!.col === "ADJ")!;
  assert.equal(t.text, "2.00");
  assert.equal(t.fill, "black");
  assert.equal(texts.find((x) => x.datum!.row === "VERB" && x.datum!.col === "VERB")!.fill, "white");
  const svg = await renderSvg(spec);
  assert.equal(svgCount(svg, "rect", "path"), 9);
  assert.equal(svgCount(svg, "text", "text"), 9);
});

test("builders reject bad input naming the argument at fault", () => {
  assert.throws(() => barChart([]), (e: unknown) => e instanceof FtgeoError && /argument data: expected a non-empty array/.test(e.message));
  assert.throws(() => barChart([{ category: "a", value: 1 }, { category: "b", value: NaN }]), /argument data\[1\]\.value: expected a finite number, got NaN/);
  assert.throws(() => barChart([{ category: "a", value: 1, error: -1 }]), /data\[0\]\.error/);
  assert.throws(() => barChart([{ category: "a", value: 1 }], { domain: [1, 0] }), /options\.domain/);
  assert.throws(() => barChart([{ category: "a", value: 1 }], { width: 0 }), /options\.width/);
  assert.throws(() => lineChart([{ x: 0, y: 1, series: "a" }], { logX: true }), /points\[0\]\.x/);
  assert.throws(() => lineChart([{ x: 0, y: 1, series: "" }]), /points\[0\]\.series: expected a non-empty string/);
  assert.throws(() => heatmapChart([{ row: "a", col: "b", value: 1 }, { row: "a", col: "b", value: 2 }]), /cells\[1\].*appears twice/);
});

test("compileVegaLite: collects warnings, turns errors into messages naming the chart", async () => {
  const warned = compileVegaLite({ data: { values: [{ a: "x", b: 1 }] }, mark: "bar", encoding: { shape: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } } });
  assert.equal(warned.warnings.length, 1);
  assert.match(warned.warnings[0], /shape/);
  assert.throws(
    () => compileVegaLite({ title: "broken", data: { values: [] }, mark: "nope" } as unknown as TopLevelSpec),
    (e: unknown) => e instanceof FtgeoError && /Vega-Lite spec "broken" does not compile: ./.test(e.message),
  );
  const svg = await renderSvg(barChart([{ category: "a", value: 1 }], { width: 150, height: 100 }));
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* width="\d+" height="\d+"/);
});

test("writeChartSvg: the same SVG as renderSvg, in a file", async () => {
  const spec = barChart([{ category: "a", value: 1 }, { category: "b", value: 2 }]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-fig-"));
  try {
    const file = path.join(dir, "sub", "chart.svg");
    await writeChartSvg(spec, file);
    assert.equal(fs.readFileSync(file, "utf8"), await renderSvg(spec));
    assert.deepEqual(fs.readdirSync(path.join(dir, "sub")), ["chart.svg"], "no temporary file left behind");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
