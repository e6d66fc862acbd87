import Dispatch
import Synchronization

/// Splits a kernel's items over `threads` workers (our own split; OpenBLAS stays at 1 thread).
///
/// The split is dynamic: each worker starts on its own contiguous share and takes items from
/// its front; a worker whose share is done takes the back half of the largest share left.
/// With a fixed split into halves, the worker with a layer's second half finished 10-20% after
/// the other in most layers at 2 threads (whichever thread had it; one thread takes equally long
/// on both halves), and the UNet run spent 7 of 49 ms waiting for it.
struct Parallel {
    let threads: Int

    /// Independent items: `body(worker, range)` on contiguous pieces, several per worker.
    func forEach(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
        guard threads > 1 else { if count > 0 { body(0, 0..<count) }; return }
        let piece = max(1, count / (threads * 8))
        forEachRun(count) { worker, run in
            while let range = run.next(upTo: piece) { body(worker, range) }
        }
    }

    /// Items that are cheaper taken in order (a row window carried from row to row):
    /// `body(worker, &run)` is called once per contiguous run of items, which `run.next()` hands
    /// out in increasing order. A share is only split when the thief gets `minimumSteal` items,
    /// so a run's start-up cost is paid on enough items.
    func forEachRun(_ count: Int, minimumSteal: Int = 1, _ body: (Int, inout WorkRun) -> Void) {
        let workers = min(threads, count)
        guard workers > 1 else {
            if count > 0 { var run = WorkRun(0..<count); body(0, &run) }
            return
        }
        let shares = WorkShares(count: count, workers: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            repeat {
                var run = WorkRun(shares, w)
                body(w, &run)
            } while shares.steal(into: w, minimum: max(1, minimumSteal))
        }
    }
}

/// The items one worker is taking, in increasing order.
struct WorkRun {
    private let shares: WorkShares?
    private let worker: Int
    private var lower: Int, upper: Int     // one worker: the run itself, no atomics

    fileprivate init(_ range: Range<Int>) {
        shares = nil; worker = 0; lower = range.lowerBound; upper = range.upperBound
    }

    fileprivate init(_ shares: WorkShares, _ worker: Int) {
        self.shares = shares; self.worker = worker; lower = 0; upper = 0
    }

    /// The next item, or nil when the run is over.
    mutating func next() -> Int? { next(upTo: 1)?.lowerBound }

    /// The next up to `n` items, or nil when the run is over.
    mutating func next(upTo n: Int) -> Range<Int>? {
        if let shares { return shares.take(worker, upTo: n) }
        guard lower < upper else { return nil }
        let end = min(upper, lower + n)
        defer { lower = end }
        return lower..<end
    }
}

/// Each worker's share as one atomic word (front << 32 | back), one cache line apiece. The owner
/// advances the front; a thief lowers the back. Both by compare-and-swap on the same word, so
/// no item is handed out twice. The items' results need no ordering from here:
/// `concurrentPerform` returns after every worker has finished.
private final class WorkShares: @unchecked Sendable {
    private static let line = 64
    private let memory: UnsafeMutableRawPointer
    private let workers: Int

    init(count: Int, workers: Int) {
        precondition(count < 1 << 32)
        self.workers = workers
        memory = .allocate(byteCount: Self.line * workers, alignment: Self.line)
        for w in 0..<workers {
            let front = count * w / workers, back = count * (w + 1) / workers
            (memory + Self.line * w).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
                .initialize(to: Atomic(Self.pack(front, back)))
        }
    }

    deinit {
        for w in 0..<workers { share(w).deinitialize(count: 1) }
        memory.deallocate()
    }

    private func share(_ w: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (memory + Self.line * w).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    private static func pack(_ front: Int, _ back: Int) -> UInt64 { UInt64(front) << 32 | UInt64(back) }
    private static func unpack(_ s: UInt64) -> (front: Int, back: Int) { (Int(s >> 32), Int(s & 0xFFFF_FFFF)) }

    /// Up to `n` items from the front of worker `w`'s share.
    func take(_ w: Int, upTo n: Int) -> Range<Int>? {
        var s = share(w).pointee.load(ordering: .relaxed)
        while true {
            let (front, back) = Self.unpack(s)
            guard front < back else { return nil }
            let end = min(back, front + n)
            let (done, now) = share(w).pointee.compareExchange(expected: s, desired: Self.pack(end, back), ordering: .relaxed)
            if done { return front..<end }
            s = now
        }
    }

    /// Moves the back half of the largest other share into worker `w`'s (which is empty).
    /// False when no share has 2 x `minimum` items left.
    func steal(into w: Int, minimum: Int) -> Bool {
        while true {
            var victim = -1, most = 0, seen: UInt64 = 0
            for v in 0..<workers where v != w {
                let s = share(v).pointee.load(ordering: .relaxed)
                let (front, back) = Self.unpack(s)
                if back - front > most { victim = v; most = back - front; seen = s }
            }
            guard victim >= 0, most >= 2 * minimum else { return false }
            let (front, back) = Self.unpack(seen)
            let middle = back - most / 2
            if share(victim).pointee.compareExchange(expected: seen, desired: Self.pack(front, middle), ordering: .relaxed).exchanged {
                share(w).pointee.store(Self.pack(middle, back), ordering: .relaxed)
                return true
            }
        }
    }
}
