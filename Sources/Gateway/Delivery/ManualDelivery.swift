import Foundation

/// `wecare send`: files pushed by hand through the same deliverers the service uses.
public enum ManualDelivery {
    public static func send(_ files: [URL], to destination: DestinationSettings) -> [DeliveryResult] {
        var results: [DeliveryResult] = []
        var items: [DeliveryItem] = []
        for file in files {
            let uids = DatasetPeek.uids(in: file)
            let item = DeliveryItem(file: file, fileName: file.lastPathComponent, kind: .json,
                                    studyInstanceUID: uids.studyInstanceUID, sourceSOPInstanceUID: uids.sopInstanceUID)
            if FileManager.default.isReadableFile(atPath: file.path) {
                items.append(item)
            } else {
                results.append(DeliveryResult(item: item, outcome: .refused("cannot read the file; check the path")))
            }
        }
        if !items.isEmpty {
            let deliverer = Deliverers.make(destination)
            results += deliverer.deliver(items)
            deliverer.closeAllConnections()
        }
        return results
    }
}
