import Foundation
import XCTest

/// The built `wecare` executable, next to the test bundle in the build folder.
enum WeCareBinary {
    static func url() throws -> URL {
        var dir = Bundle(for: Marker.self).bundleURL
        for _ in 0..<3 {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent("wecare")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("wecare binary not built next to the tests; run `swift build` before `swift test`")
    }
    private final class Marker {}
}
