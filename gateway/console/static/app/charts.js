// @ts-check
/** Bar charts (Chart.js, vendored) with the same numbers as a table for screen readers. */

import { h, table } from "./dom.js";

// Distinguishable in colour and print; contrast ≥ 3:1 on white (WCAG non-text contrast).
export const COLORS = ["#1f5f99", "#c2571a", "#2f7d4f", "#7a4fa3", "#a3293d", "#5b6770"];

/**
 * @typedef {{label: string, values: number[]}} Series
 * @typedef {{
 *   title: string,
 *   labels: string[],
 *   series: Series[],
 *   format: (value: number) => string,
 *   tick?: (value: number) => string,
 *   horizontal?: boolean,
 *   stacked?: boolean,
 *   max?: number,
 *   height?: number,
 * }} BarChart
 */

/**
 * A figure: the chart (an image to assistive technology, described by its caption) and, under
 * a disclosure, the data as a table.
 * @param {BarChart} spec
 * @returns {{element: HTMLElement, destroy: () => void}}
 */
export function barChart(spec) {
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { role: "img", "aria-label": spec.title }));
  const size = spec.height || (spec.horizontal ? Math.max(160, 26 * spec.labels.length + 60) : 240);
  const box = h("div", { class: `chart h-${Math.min(Math.ceil(size / 40) * 40, 1200)}` }, canvas);
  const data = table(
    `${spec.title}: data`,
    [{ label: "" }, ...spec.series.map((s) => ({ label: s.label, num: true }))],
    spec.labels.map((label, i) => [label, ...spec.series.map((s) => spec.format(s.values[i]))]),
  );
  const element = h(
    "figure",
    { class: "figure" },
    h("figcaption", {}, spec.title),
    box,
    h("details", { class: "chart-data" }, h("summary", {}, "Show the numbers"), data),
  );
  /** @type {any} */
  const ChartJs = /** @type {any} */ (window).Chart;
  if (!ChartJs) return { element, destroy: () => {} };
  const chart = new ChartJs(canvas, {
    type: "bar",
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s, i) => ({
        label: s.label,
        data: s.values,
        backgroundColor: COLORS[i % COLORS.length],
        borderRadius: 2,
      })),
    },
    options: {
      indexAxis: spec.horizontal ? "y" : "x",
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: spec.series.length > 1, position: "bottom" },
        tooltip: { callbacks: { label: (/** @type {any} */ c) => `${c.dataset.label}: ${spec.format(c.raw)}` } },
      },
      scales: {
        [spec.horizontal ? "x" : "y"]: {
          beginAtZero: true,
          stacked: spec.stacked,
          max: spec.max,
          ticks: { callback: (/** @type {number} */ v) => (spec.tick || spec.format)(v), maxTicksLimit: 6 },
        },
        [spec.horizontal ? "y" : "x"]: { stacked: spec.stacked, ticks: { autoSkip: false } },
      },
    },
  });
  return { element, destroy: () => chart.destroy() };
}
