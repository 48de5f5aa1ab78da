package dev.entrokit.bench.suite;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

/** Throughput per workload and implementation (log scale), one panel per thread count, with the ceilings as lines. */
final class ThroughputChart {
    /** One color per implementation, the same in every panel (order of {@link Args#ALL_IMPLS}). */
    private static final Color[] COLORS = {new Color(150, 150, 150), new Color(31, 119, 180), new Color(255, 127, 14),
        new Color(214, 39, 40), new Color(44, 160, 44), new Color(148, 103, 189), new Color(140, 86, 75)};

    private ThroughputChart() {
    }

    static void write(Path png, List<Report.Result> results, Report.Ceilings c) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<String> workloads = new ArrayList<>();
        for (Report.Result r : results) {
            if (!workloads.contains(r.workload())) {
                workloads.add(r.workload());
            }
        }
        TreeSet<Integer> threads = new TreeSet<>();
        results.forEach(r -> threads.add(r.threads()));
        List<Chart<?, ?>> panels = new ArrayList<>();
        for (int t : threads) {
            CategoryChart chart = new CategoryChartBuilder().width(1400).height(520)
                    .title("Throughput, " + t + (t == 1 ? " thread" : " threads") + " (GB/s over the bytes each op must touch; higher is better)")
                    .xAxisTitle("workload").yAxisTitle("GB/s").build();
            chart.getStyler().setYAxisLogarithmic(true);
            // Bars start at the axis minimum, which a log axis needs above 0: a decade below the slowest result.
            double lowest = results.stream().mapToDouble(Report.Result::gbps).filter(v -> v > 0).min().orElse(1);
            chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(lowest))));
            chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
            chart.getStyler().setXAxisLabelRotation(20);
            chart.getStyler().setAvailableSpaceFill(0.85);
            chart.getStyler().setOverlapped(false);
            for (String impl : Args.ALL_IMPLS) {
                List<Double> ys = new ArrayList<>();
                boolean any = false;
                for (String w : workloads) {
                    Double y = null;
                    for (Report.Result r : results) {
                        if (r.workload().equals(w) && r.impl().equals(impl) && r.threads() == t) {
                            y = r.gbps();
                        }
                    }
                    any |= y != null;
                    ys.add(y);  // null: a gap where the implementation is absent
                }
                if (any) {
                    chart.addSeries(impl, workloads, ys).setFillColor(COLORS[Args.ALL_IMPLS.indexOf(impl) % COLORS.length]);
                }
            }
            line(chart, "copy ceiling (1 thread)", workloads, c.copyGbps(), new Color(160, 0, 0));
            line(chart, "read ceiling (1 thread)", workloads, c.readGbps(), new Color(0, 0, 160));
            panels.add(chart);
        }
        if (panels.isEmpty()) {
            return;
        }
        Path parent = png.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        String name = png.toString();
        String base = name.endsWith(".png") ? name.substring(0, name.length() - 4) : name;
        BitmapEncoder.saveBitmap(panels, panels.size(), 1, base, BitmapEncoder.BitmapFormat.PNG);
    }

    private static void line(CategoryChart chart, String name, List<String> xs, double y, Color color) {
        if (!Double.isFinite(y)) {
            return;
        }
        CategorySeries s = chart.addSeries(name, xs, new ArrayList<>(Collections.nCopies(xs.size(), y)));
        s.setChartCategorySeriesRenderStyle(org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle.Line);
        s.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        s.setLineColor(color);
    }
}
