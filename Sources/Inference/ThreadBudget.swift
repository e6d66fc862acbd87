import Synchronization

/// The threads that concurrent jobs share: with k jobs at work each may use `total / k` of
/// them (at least its own minimum), so a job running alone takes the cores the idle workers
/// leave, step by step (`InferenceSession.run(_:threadsPerStep:)`), and gives them back as
/// soon as another job begins.
public final class ThreadBudget: Sendable {
    public let total: Int
    private let jobs = Atomic<Int>(0)

    public init(total: Int) {
        self.total = max(1, total)
    }

    /// Counts `body` as one job at work while it runs.
    public func working<T>(_ body: () throws -> T) rethrows -> T {
        jobs.add(1, ordering: .relaxed)
        defer { jobs.subtract(1, ordering: .relaxed) }
        return try body()
    }

    /// Threads for the next step of one job: its share of the total, and at least `minimum`.
    public func share(minimum: Int) -> Int {
        max(minimum, total / max(1, jobs.load(ordering: .relaxed)))
    }
}
