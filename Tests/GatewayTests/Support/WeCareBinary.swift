import Foundation
import XCTest

/// The built `wecare` executable, next to the test bundle in the build folder.
enum WeCareBinary {
    static func url() throws -> URL {
        for start in [Bundle(for: Marker.self).bundleURL, Bundle.main.bundleURL] {
            var dir = start
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("wecare")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
        }
        throw XCTSkip("wecare binary not built next to the tests; run `swift build` before `swift test`")
    }
    private final class Marker {}
}
