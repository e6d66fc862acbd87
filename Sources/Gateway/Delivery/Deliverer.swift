import DICOM
import Foundation

/// One file to hand to a destination.
public struct DeliveryItem: Sendable {
    public var file: URL
    public var fileName: String
    public var kind: OutputKind
    /// Folder layout keys; nil study goes to `unknown-study`.
    public var studyInstanceUID: String?
    public var sourceSOPInstanceUID: String?

    public init(file: URL, fileName: String, kind: OutputKind, studyInstanceUID: String?, sourceSOPInstanceUID: String?) {
        self.file = file
        self.fileName = fileName
        self.kind = kind
        self.studyInstanceUID = studyInstanceUID
        self.sourceSOPInstanceUID = sourceSOPInstanceUID
    }
}

/// nil error means delivered.
public struct DeliveryResult: Sendable {
    public var item: DeliveryItem
    public var error: String?
}

/// Sends a batch of files to one destination; never throws: each item gets its own result.
public protocol Deliverer: Sendable {
    func deliver(_ items: [DeliveryItem]) -> [DeliveryResult]
}

public enum Deliverers {
    public static func make(_ destination: DestinationSettings) -> Deliverer {
        switch destination.kind {
        case .folder(let path): return FolderDeliverer(root: path)
        case .dicom(let settings): return DICOMDeliverer(peer: settings.peer)
        }
    }
}

extension TLSSettings {
    var dicom: TLSConfiguration {
        TLSConfiguration(certificateFile: certificateFile, privateKeyFile: privateKeyFile,
                         trustedCertificatesFile: trustedCertificatesFile, requirePeerCertificate: requirePeerCertificate)
    }
}

extension DICOMDestinationSettings {
    public var peer: DICOMPeer {
        DICOMPeer(aeTitle: aeTitle, host: host, port: port, callingAETitle: callingAETitle, tls: tls?.dicom,
                  timeoutSeconds: timeoutSeconds)
    }
}

/// `<root>/<study-hash>/<sop-hash>/<file>`, each file written atomically (tmp, fsync, rename).
public struct FolderDeliverer: Deliverer {
    public var root: URL
    public init(root: URL) { self.root = root }

    public func directory(for item: DeliveryItem) -> URL {
        root.appendingPathComponent(item.studyInstanceUID.map(UIDHash.short) ?? "unknown-study")
            .appendingPathComponent(item.sourceSOPInstanceUID.map(UIDHash.short) ?? "unknown-instance")
    }

    /// The files of one source instance share a folder and one directory sync.
    public func deliver(_ items: [DeliveryItem]) -> [DeliveryResult] {
        var errors = [String?](repeating: nil, count: items.count)
        var groups: [URL: [Int]] = [:]
        var order: [URL] = []
        for (index, item) in items.enumerated() {
            let folder = directory(for: item)
            if groups[folder] == nil { order.append(folder) }
            groups[folder, default: []].append(index)
        }
        for folder in order {
            var files: [(name: String, data: Data)] = []
            var readable: [Int] = []
            for index in groups[folder] ?? [] {
                do {
                    files.append((items[index].fileName, try Data(contentsOf: items[index].file)))
                    readable.append(index)
                } catch {
                    errors[index] = "\(error)"
                }
            }
            do {
                try DurableFile.write(files, into: folder)
            } catch {
                for index in readable { errors[index] = "\(error)" }
            }
        }
        return zip(items, errors).map { DeliveryResult(item: $0, error: $1) }
    }
}

/// C-STORE of the DICOM objects over one association per batch.
public struct DICOMDeliverer: Deliverer {
    public var peer: DICOMPeer
    public init(peer: DICOMPeer) { self.peer = peer }

    public func deliver(_ items: [DeliveryItem]) -> [DeliveryResult] {
        let outcomes: [StoreOutcome]
        do {
            outcomes = try StorageSCU.send(items.map(\.file), to: peer)
        } catch {
            return items.map { DeliveryResult(item: $0, error: "\(error)") }
        }
        return items.enumerated().map { index, item in
            let outcome = outcomes.first { $0.file.standardizedFileURL == item.file.standardizedFileURL }
                ?? (index < outcomes.count ? outcomes[index] : nil)
            guard let outcome else { return DeliveryResult(item: item, error: "no answer from the peer for this file") }
            if let status = outcome.status, status.isSuccessOrWarning { return DeliveryResult(item: item, error: nil) }
            let detail = outcome.status.map { String(format: "peer answered status %04X", $0.code) } ?? "no status"
            return DeliveryResult(item: item, error: [detail, outcome.error].compactMap { $0 }.joined(separator: ": "))
        }
    }
}
