import VaultStore

/// What a full walk of the tree found.
public struct TreeReport: Sendable, Equatable {
    /// Every page the tree's nodes occupy.
    public var nodePages: Set<UInt64> = []
    public var records = 0
    public var depth = 0
    /// Problems found, each with where it was.
    public var problems: [String] = []
}

extension RecordTree {
    /// Reads every node from its page and checks the tree's invariants (§12 of the spec): keys
    /// strictly increasing, each within its parent's bounds, all leaves at level 0, no page
    /// referenced twice. Damaged nodes are reported and their subtrees skipped.
    ///
    /// Walks the committed pages, not unflushed changes: flush first.
    public func verify(root: PagePointer) -> TreeReport {
        var report = TreeReport()
        guard !root.isNull else { return report }
        walk(root, level: nil, lower: nil, upper: nil, into: &report)
        return report
    }

    private func walk(
        _ pointer: PagePointer, level: UInt8?, lower: [UInt8]?, upper: [UInt8]?,
        into report: inout TreeReport
    ) {
        guard report.nodePages.insert(pointer.page).inserted else {
            report.problems.append("page \(pointer.page) is referenced twice")
            return
        }
        let node: Node
        do {
            node = try Node.decode(try store.read(pointer, kind: .treeNode), pointer: pointer)
        } catch {
            report.problems.append("tree node at page \(pointer.page): \(error)")
            return
        }
        if let level, node.level != level {
            report.problems.append(
                "node at page \(pointer.page) has level \(node.level), expected \(level)")
            return
        }
        report.depth = max(report.depth, Int(node.level) + 1)
        for index in (node.isLeaf ? 0 : 1)..<node.entryCount {
            let key = node.key(at: index)
            if let lower, KeyOrder.precedes(key, lower) {
                report.problems.append("node at page \(pointer.page) holds a key below its range")
            }
            if let upper, !KeyOrder.precedes(key, upper) {
                report.problems.append("node at page \(pointer.page) holds a key above its range")
            }
        }
        if node.isLeaf {
            report.records += node.records.count
            return
        }
        for index in node.children.indices {
            let childLower = index == 0 ? lower : node.keys[index]
            let childUpper = index + 1 < node.keys.count ? node.keys[index + 1] : upper
            walk(
                node.children[index].pointer, level: node.level - 1, lower: childLower,
                upper: childUpper, into: &report)
        }
    }
}

extension RecordTree {
    /// Every record in a leaf that verifies, in key order, and the pages of the tree nodes
    /// that did not (whose records are lost). For repair.
    public func salvageRecords(root: PagePointer) -> (
        records: [([UInt8], [UInt8])], damagedPages: [UInt64]
    ) {
        var records: [([UInt8], [UInt8])] = []
        var damaged: [UInt64] = []
        func visit(_ pointer: PagePointer) {
            guard !pointer.isNull else { return }
            guard let page = try? store.read(pointer, kind: .treeNode),
                let node = try? Node.decode(page, pointer: pointer)
            else {
                damaged.append(pointer.page)
                return
            }
            if node.isLeaf {
                for index in 0..<node.records.count {
                    records.append((node.records.key(at: index), node.records.value(at: index)))
                }
            } else {
                for child in node.children { visit(child.pointer) }
            }
        }
        visit(root)
        return (records, damaged)
    }
}
