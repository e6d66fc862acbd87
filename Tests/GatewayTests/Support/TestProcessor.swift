import Foundation
@testable import Gateway
import DICOM

/// A processor for tests: writes a small JSON result, an SVG, and (optionally) a DICOM object
/// derived with dcmodify under a deterministic UID, and counts calls per instance.
final class TestProcessor: InstanceProcessor, @unchecked Sendable {
    let producerVersion = "test-processor 1"
    private let lock = NSLock()
    private var calls: [String: Int] = [:]
    private let makeDICOM: Bool
    /// Fail this many first calls per instance with a transient error.
    private let transientFailures: Int
    private let permanentFailure: Bool
    private var asked: [Set<OutputKind>] = []

    init(makeDICOM: Bool = false, transientFailures: Int = 0, permanentFailure: Bool = false) {
        self.makeDICOM = makeDICOM
        self.transientFailures = transientFailures
        self.permanentFailure = permanentFailure
    }

    func callCount(_ sopInstanceUID: String) -> Int {
        lock.lock(); defer { lock.unlock() }
        return calls[sopInstanceUID] ?? 0
    }

    /// The kinds each call was asked to make, in order.
    var kindsAsked: [Set<OutputKind>] {
        lock.lock(); defer { lock.unlock() }
        return asked
    }

    var totalCalls: Int {
        lock.lock(); defer { lock.unlock() }
        return calls.values.reduce(0, +)
    }

    private func count(_ uid: String, _ kinds: Set<OutputKind>) -> Int {
        lock.lock(); defer { lock.unlock() }
        asked.append(kinds)
        calls[uid, default: 0] += 1
        return calls[uid]!
    }

    static func derivedUID(_ source: String, _ kind: String) -> String {
        let bytes = SHA256.hash(Array("\(source)/\(kind)".utf8))
        let n = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return "2.25.\(n)"
    }

    /// Makes every kind whatever it is asked (the runner keeps only what is taken).
    func process(_ instance: ReceivedInstance, making kinds: Set<OutputKind>) async throws -> [ProducedObject] {
        let n = count(instance.sopInstanceUID, kinds)
        if permanentFailure { throw ProcessingError.permanent("test: undecodable pixel data") }
        if n <= transientFailures { throw ProcessingError.transient("test: model busy (call \(n))") }
        guard FileManager.default.fileExists(atPath: instance.spoolFile.path) else {
            throw ProcessingError.permanent("spool file missing")
        }
        let json = #"{"source":"\#(UIDHash.short(instance.sopInstanceUID))","class":"benign"}"#
        var out = [ProducedObject(kind: .json, fileName: "result.json", data: Data(json.utf8)),
                   ProducedObject(kind: .svg, fileName: "lesion.svg", data: Data("<svg xmlns=\"http://www.w3.org/2000/svg\"/>".utf8))]
        if makeDICOM {
            let uid = Self.derivedUID(instance.sopInstanceUID, "seg")
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("derived-\(UUID().uuidString).dcm")
            defer { try? FileManager.default.removeItem(at: tmp) }
            try FileManager.default.copyItem(at: instance.spoolFile, to: tmp)
            let r = try Tools.run("dcmodify", ["-nb", "-m", "(0008,0018)=\(uid)", "-i", "(0008,103E)=WeCare test", tmp.path])
            guard r.status == 0 else { throw ProcessingError.transient("dcmodify failed: \(r.output)") }
            out.append(ProducedObject(kind: .seg, fileName: "seg.dcm", data: try Data(contentsOf: tmp), sopInstanceUID: uid))
        }
        return out
    }
}
