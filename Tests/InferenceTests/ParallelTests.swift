import Foundation
import XCTest
@testable import Inference

/// The dynamic split: every item exactly once, runs contiguous, idle workers take over work.
final class ParallelTests: XCTestCase {
    /// (worker, items of one run) for every run of `forEachRun`, with worker 0 stalled on its
    /// first item so the others must take from its share.
    private func runs(count: Int, threads: Int, minimumSteal: Int) -> [(Int, [Int])] {
        let lock = NSLock()
        var runs: [(Int, [Int])] = []
        Parallel(threads: threads).forEachRun(count, minimumSteal: minimumSteal) { worker, run in
            var items: [Int] = []
            while let i = run.next() {
                if i == 0 { Thread.sleep(forTimeInterval: 0.1) }
                items.append(i)
            }
            lock.lock(); runs.append((worker, items)); lock.unlock()
        }
        return runs
    }

    func testEveryItemOnceInContiguousRuns() {
        for (count, threads) in [(1000, 4), (7, 3), (2, 8), (1, 2)] {
            let all = runs(count: count, threads: threads, minimumSteal: 1)
            XCTAssertEqual(all.flatMap(\.1).sorted(), Array(0..<count), "\(count) items on \(threads) threads")
            for (_, items) in all where !items.isEmpty {
                XCTAssertEqual(items, Array(items[0]...items[items.count - 1]), "a run skipped or reordered items")
            }
        }
    }

    func testIdleWorkersTakeOverAStalledShare() {
        let all = runs(count: 1000, threads: 4, minimumSteal: 1)
        // Worker 0 stalls 100 ms on item 0 while the rest of its 250 take microseconds.
        let byZero = all.filter { $0.0 == 0 }.flatMap(\.1)
        XCTAssertLessThan(byZero.count, 50, "the stalled worker still did \(byZero.count) of its 250 items")
        XCTAssertGreaterThan(all.count, 4, "no share was split")
    }

    func testStolenRunsAreAtLeastTheMinimum() {
        let minimum = 16
        let all = runs(count: 1000, threads: 4, minimumSteal: minimum)
        let starts = Set((0..<4).map { 1000 * $0 / 4 })
        let stolen = all.filter { !$0.1.isEmpty && !starts.contains($0.1[0]) }
        XCTAssertFalse(stolen.isEmpty, "no share was split")
        for (_, items) in stolen { XCTAssertGreaterThanOrEqual(items.count, minimum, "a run of \(items.count) items was split off") }
    }

    func testForEachCoversEveryItemOnce() {
        let lock = NSLock()
        var seen = [Int](repeating: 0, count: 777)
        Parallel(threads: 3).forEach(777) { _, range in
            lock.lock(); for i in range { seen[i] += 1 }; lock.unlock()
        }
        XCTAssertEqual(seen, [Int](repeating: 1, count: 777))
    }
}
