import Foundation

extension FilesystemReport {
    /// A bar chart as SVG text: one group per workload, one bar per system, each bar the
    /// system's speed relative to gocryptfs (or, without it, the first system) on a log scale,
    /// so that a bar above the 1.0 line was faster and one below was slower.
    public func svg() -> String {
        let reference = result(Self.reference) != nil ? Self.reference : systems.first?.name ?? ""
        let workloads = self.workloads
        let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
        let barWidth = 14.0
        let groupGap = 22.0
        let groupWidth = Double(max(systems.count, 1)) * barWidth + groupGap
        let left = 64.0
        let top = 70.0
        let plotHeight = 340.0
        let width = left + Double(workloads.count) * groupWidth + 24
        let height = top + plotHeight + 90

        // Powers of two around every ratio, at least 0.5 to 2, at most 1/32 to 64.
        let ratios = workloads.flatMap { workload in
            systems.compactMap { speedup($0.name, over: reference, workload) }
        }
        let logs = ratios.map { log2($0) }
        let low = max(-5, min(-1, (logs.min() ?? 0).rounded(.down)))
        let high = min(6, max(1, (logs.max() ?? 0).rounded(.up)))
        func y(_ ratio: Double) -> Double {
            let clamped = min(max(log2(ratio), low), high)
            return top + (high - clamped) / (high - low) * plotHeight
        }

        var out: [String] = []
        out.append(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" "
                + "height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
                + "font-family=\"sans-serif\">")
        out.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        out.append(
            text(
                left, 24,
                "claude-env bench fs: speed relative to \(reference) = 1.0 "
                    + "(log scale; above the line is faster)", size: 15, weight: "bold"))
        out.append(
            text(
                left, 42,
                "seq \(formatBytes(setup.sequentialBytes)), \(setup.files) small files, "
                    + "tree of \(setup.treeEntries) entries; median of \(setup.samples)", size: 11,
                fill: "#555"))

        for power in stride(from: low, through: high, by: 1) {
            let ratio = pow(2, power)
            let lineY = y(ratio)
            let isOne = power == 0
            out.append(
                "<line x1=\"\(fmt(left))\" y1=\"\(fmt(lineY))\" x2=\"\(fmt(width - 16))\" "
                    + "y2=\"\(fmt(lineY))\" stroke=\"\(isOne ? "#000" : "#ddd")\" "
                    + "stroke-width=\"\(isOne ? 1.5 : 1)\""
                    + (isOne ? " stroke-dasharray=\"6 3\"" : "") + "/>")
            out.append(
                text(left - 6, lineY + 4, ratioLabel(ratio), size: 11, anchor: "end", fill: "#333"))
        }

        let baseY = y(1)
        for (group, workload) in workloads.enumerated() {
            let groupX = left + Double(group) * groupWidth + groupGap / 2
            for (index, system) in systems.enumerated() {
                guard let ratio = speedup(system.name, over: reference, workload) else { continue }
                let barX = groupX + Double(index) * barWidth
                let barY = y(ratio)
                let colour = colours[index % colours.count]
                let barHeight = max(abs(baseY - barY), 1)
                let tip = "\(system.name), \(workload.label): \(String(format: "%.2f", ratio))x"
                out.append(
                    "<rect x=\"\(fmt(barX))\" y=\"\(fmt(min(barY, baseY)))\" "
                        + "width=\"\(fmt(barWidth - 2))\" height=\"\(fmt(barHeight))\" "
                        + "fill=\"\(colour)\"><title>\(escape(tip))</title></rect>")
                // The value reads upwards beside the bar's outer end.
                let labelX = barX + barWidth / 2 + 3
                let labelY = ratio >= 1 ? barY - 3 : barY + 3
                out.append(
                    "<text x=\"\(fmt(labelX))\" y=\"\(fmt(labelY))\" font-size=\"9\" "
                        + "text-anchor=\"\(ratio >= 1 ? "start" : "end")\" "
                        + "transform=\"rotate(-90 \(fmt(labelX)) \(fmt(labelY)))\">"
                        + String(format: "%.2f", ratio) + "</text>")
            }
            let centre = groupX + Double(systems.count) * barWidth / 2
            out.append(
                text(centre, top + plotHeight + 18, workload.label, size: 11, anchor: "middle"))
            out.append(
                text(
                    centre, top + plotHeight + 32, workload.unit.higherIsBetter ? "rate" : "time",
                    size: 9, anchor: "middle", fill: "#777"))
        }

        var legendX = left
        let legendY = top + plotHeight + 62
        for (index, system) in systems.enumerated() {
            out.append(
                "<rect x=\"\(fmt(legendX))\" y=\"\(fmt(legendY - 10))\" width=\"12\" height=\"12\" "
                    + "fill=\"\(colours[index % colours.count])\"/>")
            out.append(text(legendX + 16, legendY, system.name, size: 12))
            legendX += 28 + Double(system.name.count) * 7.5
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private func text(
        _ x: Double, _ y: Double, _ content: String, size: Int, anchor: String = "start",
        weight: String = "normal", fill: String = "#000"
    ) -> String {
        "<text x=\"\(fmt(x))\" y=\"\(fmt(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" "
            + "font-weight=\"\(weight)\" fill=\"\(fill)\">\(escape(content))</text>"
    }

    private func ratioLabel(_ ratio: Double) -> String {
        ratio >= 1 ? "\(Int(ratio))x" : "1/\(Int((1 / ratio).rounded()))x"
    }

    private func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(
            of: "<", with: "&lt;"
        )
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
