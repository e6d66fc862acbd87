import Foundation

/// Exponential backoff with full jitter: attempt n waits a random time between the base and
/// min(max, base * 2^(n-1)), so a PACS that comes back is not hit by every retry at once.
public struct RetryPolicy: Sendable {
    public var baseSeconds: Double
    public var maxSeconds: Double

    public init(baseSeconds: Double, maxSeconds: Double) {
        self.baseSeconds = baseSeconds
        self.maxSeconds = max(maxSeconds, baseSeconds)
    }

    public init(_ settings: DeliverySettings) {
        self.init(baseSeconds: settings.retryBaseSeconds, maxSeconds: settings.retryMaxSeconds)
    }

    /// Delay after the `attempt`-th failure (1-based).
    public func delay(afterAttempt attempt: Int) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 40))
        let cap = min(maxSeconds, baseSeconds * pow(2, exponent))
        return cap <= baseSeconds ? baseSeconds : Double.random(in: baseSeconds...cap)
    }

    public func retryDate(afterAttempt attempt: Int, now: Date = Date()) -> Date {
        now.addingTimeInterval(delay(afterAttempt: attempt))
    }
}
